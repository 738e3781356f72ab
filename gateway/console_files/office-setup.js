// Back office: what HQ sets up the chain with. Tiers and their rules (member service), the
// item, category and payment dictionaries and the chain's settings (org), credit on a card
// and settlement between stores (wallet). Every form sends what the API accepts and shows the
// API's refusals beside the field it names; a value the console cannot read as a number is
// sent as typed, so the API's reason is the one shown.

import { allPages, api, ApiError, newKey } from './api.js';
import { clear, dataTable, describe, field, h, keyedSubmit, notice, showErrors, today } from './dom.js';
import { parseYuan, yuan, zhe } from './money.js';

const BP = 10000;

/** "12.5" (percent) -> 1250 basis points; blank -> null; anything else is sent as typed. */
export function percentToBp(text) {
  const value = String(text).trim();
  if (!value) return null;
  const match = /^(\d{1,5})(?:\.(\d{1,2}))?$/.exec(value);
  return match ? Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0')) : value;
}

function bpToPercent(bp) {
  if (bp === null || bp === undefined) return '';
  return (bp / 100).toFixed(2).replace(/\.?0+$/, '');
}

/** Yuan as typed -> fen; blank -> null; what is not an amount is sent as typed. */
function money(text) {
  const value = String(text).trim();
  if (!value) return null;
  const fen = parseYuan(value);
  return fen === null ? value : fen;
}

function fenToYuan(fen) {
  if (fen === null || fen === undefined) return '';
  return (fen / 100).toFixed(2);
}

function wholeNumber(text) {
  const value = String(text).trim();
  if (!value) return null;
  return /^\d{1,9}$/.test(value) ? Number(value) : value;
}

/** Recharge bonus rules, one a line: "500=20" (recharge 500 yuan, 20 yuan bonus) or "1000=5%". */
export function parseBonusRules(text) {
  return String(text).split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
    const [threshold, bonus = ''] = line.split(/[=＝]/).map((p) => p.trim());
    const rule = { threshold: money(threshold) };
    if (bonus.endsWith('%')) rule.bonus_rate_bp = percentToBp(bonus.slice(0, -1));
    else rule.bonus_fixed = money(bonus);
    return rule;
  });
}

function formatBonusRules(rules) {
  return (rules || []).map((r) => `${fenToYuan(r.threshold)}=${r.bonus_fixed !== null && r.bonus_fixed !== undefined
    ? fenToYuan(r.bonus_fixed) : `${bpToPercent(r.bonus_rate_bp)}%`}`).join('\n');
}

function bonusText(rules) {
  return (rules || []).map((r) => `满${yuan(r.threshold)}送${r.bonus_fixed !== null && r.bonus_fixed !== undefined
    ? yuan(r.bonus_fixed) : `${bpToPercent(r.bonus_rate_bp)}%`}`).join('，');
}

const METRICS = { cumulative_spend: '累计消费（元）', lifetime_points: '累计积分' };

/** A form that adds (`entry` null) or changes one entry: `send(body, key)` makes the request. */
function editForm(title, id, controls, send, onDone) {
  const form = h('form', { class: 'action wide', id, 'aria-label': title, novalidate: true });
  const button = h('button', { type: 'submit', class: 'primary', id: `${id}-save` }, '保存');
  const cancel = h('button', { type: 'button', onclick: () => form.remove() }, '取消');
  form.append(h('h2', {}, title), ...controls.map((c) => c.wrap), h('p', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'toolbar' }, button, cancel));
  const submit = keyedSubmit(form, button, send, newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answer = await submit();
    if (answer) await onDone(answer);
  });
  return form;
}

// ---- tiers -------------------------------------------------------------------------------------

export async function tiersScreen(body, { path }) {
  const [tiers, categories] = await Promise.all([
    api('GET', path('/tiers'), { query: { include_inactive: true } }),
    api('GET', path('/categories'), { query: { include_inactive: true } }),
  ]);
  const reload = async () => { clear(body); await tiersScreen(body, { path }); };
  const holder = h('div');
  const rows = tiers.items.map((t) => [t.code, t.name, String(t.rank), zhe(t.default_discount_bp),
    Object.entries(t.category_discounts).map(([c, bp]) => `${c} ${zhe(bp)}`).join('，'),
    `${bpToPercent(t.points_multiplier_bp / 100)}倍`, t.upgrade_threshold ? `${METRICS[t.upgrade_metric]} ${t.upgrade_metric === 'cumulative_spend' ? yuan(t.upgrade_threshold) : t.upgrade_threshold}` : '—',
    bonusText(t.recharge_bonus_rules),
    [t.per_transaction_limit === null ? '不限' : yuan(t.per_transaction_limit), t.daily_limit === null ? '不限' : yuan(t.daily_limit)].join(' / '),
    t.active ? '在用' : '停用',
    h('button', { type: 'button', 'aria-label': `编辑等级 ${t.name}`, dataset: { tier: t.code },
      onclick: () => clear(holder).append(tierForm(t, categories.items, path, reload)) }, '编辑')]);
  body.append(dataTable(['编码', '名称', '级别', '默认折扣', '分类折扣', '积分倍数', '升级门槛', '充值赠送', '单笔/每日限额', '状态', ''], rows),
    h('div', { class: 'toolbar' }, h('button', { type: 'button', id: 'tier-new',
      onclick: () => clear(holder).append(tierForm(null, categories.items, path, reload)) }, '新增等级')),
    holder);
}

function tierForm(tier, categories, path, reload) {
  const t = tier || {};
  const value = (v) => (v === null || v === undefined ? '' : String(v));
  const code = field('等级编码', h('input', { id: 'tier-code', maxlength: 40, value: value(t.code), disabled: Boolean(tier) }), 'code');
  const name = field('名称', h('input', { id: 'tier-name', maxlength: 100, value: value(t.name) }), 'name');
  const rank = field('级别（1 最低）', h('input', { id: 'tier-rank', inputmode: 'numeric', value: value(t.rank) }), 'rank');
  const discount = field('默认折扣（减免 %，10 即 9 折）', h('input', { id: 'tier-discount', inputmode: 'decimal', value: bpToPercent(t.default_discount_bp ?? 0) }), 'default_discount_bp');
  // one box a category: blank uses the default discount
  // a retired category keeps its box while the tier still names it, so saving does not drop it
  const perCategory = categories.filter((c) => c.active || c.code in (t.category_discounts || {})).map((c) => ({ code: c.code, f: field(`「${c.name}」折扣（减免 %，空为默认）`,
    h('input', { inputmode: 'decimal', dataset: { category: c.code }, value: bpToPercent((t.category_discounts || {})[c.code]) })) }));
  const categoryErrors = h('div', { class: 'field' }, h('span', { class: 'field-error', id: 'tier-categories-error', role: 'alert' }));
  const categoryAnchor = h('input', { type: 'hidden', id: 'tier-categories', dataset: { field: 'category_discounts' } });
  const multiplier = field('积分倍数（1.5 即 1.5 倍）', h('input', { id: 'tier-multiplier', inputmode: 'decimal', value: t.points_multiplier_bp ? String(t.points_multiplier_bp / BP) : '1' }), 'points_multiplier_bp');
  const metric = field('升级依据', h('select', { id: 'tier-metric' }, Object.entries(METRICS).map(([v, label]) =>
    h('option', { value: v, selected: v === (t.upgrade_metric || 'cumulative_spend') }, label))), 'upgrade_metric');
  const threshold = field('升级门槛（元或积分，0 为不自动升级）', h('input', { id: 'tier-threshold', inputmode: 'decimal',
    value: t.upgrade_metric === 'lifetime_points' ? value(t.upgrade_threshold) : fenToYuan(t.upgrade_threshold ?? 0) }), 'upgrade_threshold');
  const months = field('有效期（月，空为长期）', h('input', { id: 'tier-months', inputmode: 'numeric', value: value(t.validity_months) }), 'validity_months');
  const fees = [['issue_fee', '开卡费（元）'], ['renewal_fee', '续期费（元）'], ['reissue_fee', '重新开卡费（元）'], ['replacement_fee', '补卡费（元）']]
    .map(([name_, label]) => ({ name: name_, f: field(label, h('input', { id: `tier-${name_}`, inputmode: 'decimal', value: fenToYuan(t[name_] ?? 0) }), name_) }));
  const rules = field('充值赠送规则（每行一条：500=20 或 1000=5%）', h('textarea', { id: 'tier-bonus', rows: 3 }, formatBonusRules(t.recharge_bonus_rules)), 'recharge_bonus_rules');
  const perTx = field('单笔限额（元，空为不限）', h('input', { id: 'tier-per-tx', inputmode: 'decimal', value: fenToYuan(t.per_transaction_limit) }), 'per_transaction_limit');
  const daily = field('每日限额（元，空为不限）', h('input', { id: 'tier-daily', inputmode: 'decimal', value: fenToYuan(t.daily_limit) }), 'daily_limit');
  const active = field('在用', h('input', { type: 'checkbox', id: 'tier-active', checked: tier ? tier.active : true }), 'active');
  const controls = [code, name, rank, discount, ...perCategory.map((c) => c.f), { wrap: h('div', {}, categoryAnchor, categoryErrors) },
    multiplier, metric, threshold, months, ...fees.map((f) => f.f), rules, perTx, daily, ...(tier ? [active] : [])];
  categoryAnchor.setAttribute('aria-describedby', 'tier-categories-error');
  const read = () => {
    const category_discounts = {};
    for (const c of perCategory) {
      const bp = percentToBp(c.f.input.value);
      if (bp !== null) category_discounts[c.code] = bp;
    }
    const multiplierBp = percentToBp(multiplier.input.value);
    const body = {
      name: name.input.value.trim(), rank: wholeNumber(rank.input.value), default_discount_bp: percentToBp(discount.input.value) ?? 0,
      category_discounts, points_multiplier_bp: typeof multiplierBp === 'number' ? multiplierBp * 100 : multiplierBp,
      upgrade_metric: metric.input.value,
      upgrade_threshold: (metric.input.value === 'lifetime_points' ? wholeNumber : money)(threshold.input.value) ?? 0,
      validity_months: wholeNumber(months.input.value),
      recharge_bonus_rules: parseBonusRules(rules.input.value),
      per_transaction_limit: money(perTx.input.value), daily_limit: money(daily.input.value),
    };
    for (const f of fees) body[f.name] = money(f.f.input.value) ?? 0;
    if (tier) body.active = active.input.checked;
    else body.code = code.input.value.trim();
    return body;
  };
  const send = (key) => (tier
    ? api('PATCH', path(`/tiers/${tier.id}`), { body: read() })
    : api('POST', path('/tiers'), { body: read(), key }));
  const form = editForm(tier ? `编辑等级：${tier.name}` : '新增等级', 'tier-form', controls, send, async (saved) => {
    notice(`等级已保存：${saved.name}，默认${zhe(saved.default_discount_bp)}`, 'ok');
    await reload();
  });
  queueMicrotask(() => (tier ? name : code).input.focus());
  return form;
}

// ---- dictionaries ----------------------------------------------------------------------------

const DICTIONARIES = [
  { name: 'categories', title: '分类', url: '/categories' },
  { name: 'items', title: '项目与商品', url: '/items' },
  { name: 'payment_methods', title: '支付方式', url: '/payment-methods' },
];

export async function dictionariesScreen(body, ctx) {
  const { path } = ctx;
  const lists = await Promise.all(DICTIONARIES.map((d) => api('GET', path(d.url), { query: { include_inactive: true } })));
  const reload = async () => { clear(body); await dictionariesScreen(body, ctx); };
  const [categories] = lists;
  DICTIONARIES.forEach((d, i) => {
    const holder = h('div');
    const entries = lists[i].items;
    const open = (entry) => clear(holder).append(dictionaryForm(d, entry, categories.items, path, reload));
    const toggle = (entry) => async () => {
      try {
        await api('PATCH', path(`${d.url}/${entry.id}`), { body: { active: !entry.active } });
        notice(`${entry.name} 已${entry.active ? '停用' : '启用'}`, 'ok');
        await reload();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        notice(describe(error), 'error');
      }
    };
    const actions = (e) => h('span', { class: 'toolbar' },
      h('button', { type: 'button', 'aria-label': `编辑 ${e.name}`, onclick: () => open(e) }, '编辑'),
      h('button', { type: 'button', 'aria-label': `${e.active ? '停用' : '启用'} ${e.name}`, dataset: { toggle: `${d.name}:${e.code}` }, onclick: toggle(e) }, e.active ? '停用' : '启用'));
    const table = d.name === 'items'
      ? dataTable(['编码', '名称', '类型', '分类', '价格', '状态', ''], entries.map((e) => [e.code, e.name, e.kind === 'goods' ? '商品' : '服务',
        e.category_code, yuan(e.price), e.active ? '在用' : '停用', actions(e)]), { numeric: [4] })
      : dataTable(['编码', '名称', '状态', ''], entries.map((e) => [e.code, e.name, e.active ? '在用' : '停用', actions(e)]));
    body.append(h('section', { class: 'part', id: `dict-${d.name}`, 'aria-label': d.title }, h('h2', {}, d.title), table,
      h('div', { class: 'toolbar' }, h('button', { type: 'button', id: `dict-new-${d.name}`, onclick: () => open(null) }, `新增${d.title}`)), holder));
  });
}

function dictionaryForm(dictionary, entry, categories, path, reload) {
  const e = entry || {};
  const prefix = `dict-${dictionary.name}`;
  const code = field('编码', h('input', { id: `${prefix}-code`, maxlength: 40, value: e.code || '', disabled: Boolean(entry) }), 'code');
  const name = field('名称', h('input', { id: `${prefix}-name`, maxlength: 100, value: e.name || '' }), 'name');
  const controls = [code, name];
  let read = () => ({ name: name.input.value.trim() });
  if (dictionary.name === 'items') {
    const kind = field('类型', h('select', { id: `${prefix}-kind` }, [['service', '服务'], ['goods', '商品']].map(([v, label]) =>
      h('option', { value: v, selected: v === (e.kind || 'service') }, label))), 'kind');
    const category = field('分类', h('select', { id: `${prefix}-category` }, categories.filter((c) => c.active || c.code === e.category_code)
      .map((c) => h('option', { value: c.code, selected: c.code === e.category_code }, `${c.name}（${c.code}）`))), 'category_code');
    const price = field('价格（元）', h('input', { id: `${prefix}-price`, inputmode: 'decimal', value: entry ? fenToYuan(e.price) : '' }), 'price');
    controls.push(kind, category, price);
    read = () => ({ name: name.input.value.trim(), kind: kind.input.value, category_code: category.input.value, price: money(price.input.value) });
  }
  const send = (key) => (entry
    ? api('PATCH', path(`${dictionary.url}/${entry.id}`), { body: read() })
    : api('POST', path(dictionary.url), { body: { code: code.input.value.trim(), ...read() }, key }));
  const form = editForm(entry ? `编辑${dictionary.title}：${entry.name}` : `新增${dictionary.title}`, `${prefix}-form`, controls, send, async (saved) => {
    notice(`已保存：${saved.name}`, 'ok');
    await reload();
  });
  queueMicrotask(() => (entry ? name : code).input.focus());
  return form;
}

// ---- chain settings --------------------------------------------------------------------------

const CURRENCIES = ['CNY', 'HKD', 'MOP', 'TWD', 'USD', 'EUR', 'SGD', 'MYR'];

export async function settingsScreen(body, { path }) {
  const settings = await api('GET', path('/settings'));
  const footer = field('小票页脚', h('textarea', { id: 'settings-footer', rows: 3 }, settings.receipt_footer || ''), 'receipt_footer');
  const signature = field('短信签名', h('input', { id: 'settings-signature', value: settings.sms_signature || '' }), 'sms_signature');
  const zone = field('时区（如 Asia/Shanghai）', h('input', { id: 'settings-zone', value: settings.time_zone || '' }), 'time_zone');
  const currency = field('币种', h('select', { id: 'settings-currency' }, CURRENCIES.map((c) => h('option', { value: c, selected: c === settings.currency }, c))), 'currency');
  const form = h('form', { class: 'action wide', id: 'settings-form', 'aria-label': '连锁设置', novalidate: true });
  const button = h('button', { type: 'submit', class: 'primary', id: 'settings-save' }, '保存设置');
  form.append(footer.wrap, signature.wrap, zone.wrap, currency.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  const submit = keyedSubmit(form, button, () => api('PATCH', path('/settings'), { body: {
    receipt_footer: footer.input.value, sms_signature: signature.input.value.trim(), time_zone: zone.input.value.trim(), currency: currency.input.value,
  } }), newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await submit()) notice('连锁设置已保存', 'ok');
  });
  body.append(form);
  footer.input.focus();
}

// ---- credit and settlement -------------------------------------------------------------------

function balancesLine(b) {
  return `额度 ${yuan(b.credit_limit)}，已用 ${yuan(b.credit_used)}，可用 ${yuan(b.credit_available)}`;
}

export async function creditScreen(body, { current, path }) {
  const isHq = current.principal.role === 'hq_admin';
  const [storeList, methods, chain] = await Promise.all([
    allPages(path('/stores'), { status: 'active' }), api('GET', path('/payment-methods')), api('GET', path('')),
  ]);
  const myStores = storeList.filter((s) => isHq || current.principal.store_ids.includes(s.id));
  const names = Object.fromEntries(storeList.map((s) => [s.id, s.name]));
  const result = h('p', { id: 'credit-result', role: 'status' });

  if (isHq) {
    // W-7: HQ grants, changes or withdraws (0) a card's credit limit
    const card = field('卡号', h('input', { id: 'credit-card', inputmode: 'numeric', autocomplete: 'off' }), 'card_no');
    const limit = field('信用额度（元，0 为取消）', h('input', { id: 'credit-limit', inputmode: 'decimal' }), 'credit_limit');
    const reason = field('原因', h('input', { id: 'credit-reason', maxlength: 200 }), 'reason');
    const form = h('form', { class: 'action', id: 'credit-limit-form', 'aria-label': '设置信用额度', novalidate: true });
    const button = h('button', { type: 'submit', class: 'primary', id: 'credit-limit-save' }, '设置额度');
    form.append(h('h2', {}, '设置信用额度'), card.wrap, limit.wrap, reason.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
    const submit = keyedSubmit(form, button, (key) => api('POST', path('/wallet/credit-limits'), { key, body: {
      card_no: card.input.value.replace(/[\s-]/g, ''), credit_limit: money(limit.input.value) ?? '', reason: reason.input.value.trim(),
    } }), newKey);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const answer = await submit();
      if (answer) { result.textContent = `卡 ${answer.card.card_no}：${balancesLine(answer.balances)}`; notice('信用额度已设置', 'ok'); }
    });
    body.append(form);
  }

  // paying back credit used, at the counter of one of the caller's stores
  const card = field('卡号', h('input', { id: 'settle-card', inputmode: 'numeric', autocomplete: 'off' }), 'card_no');
  const amount = field('还款金额（元）', h('input', { id: 'settle-amount', inputmode: 'decimal' }), 'amount');
  const store = field('门店', h('select', { id: 'settle-store' }, myStores.map((s) => h('option', { value: s.id }, s.name))), 'store_id');
  const method = field('支付方式', h('select', { id: 'settle-method' }, methods.items.map((m) => h('option', { value: m.code }, m.name))), 'payment_method');
  const form = h('form', { class: 'action', id: 'credit-settle-form', 'aria-label': '挂账还款', novalidate: true });
  const button = h('button', { type: 'submit', class: 'primary', id: 'credit-settle-save' }, '还款');
  form.append(h('h2', {}, '挂账还款'), card.wrap, amount.wrap, store.wrap, method.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  const submit = keyedSubmit(form, button, (key) => api('POST', path('/wallet/credit-settlements'), { key, body: {
    card_no: card.input.value.replace(/[\s-]/g, ''), amount: money(amount.input.value) ?? '', store_id: store.input.value, payment_method: method.input.value,
  } }), newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answer = await submit();
    if (answer) { result.textContent = `卡 ${answer.card.card_no} 已还款 ${yuan(answer.amount)}：${balancesLine(answer.balances)}`; notice('还款成功', 'ok'); }
  });
  body.append(form, result);

  if (!isHq) return;
  // R-8: cash taken in at one store and spent at another, what one owes the other
  // the API counts days in the chain's calendar: today is the chain's today
  const zone = chain.settings?.time_zone;
  const since = field('开始日期', h('input', { id: 'settlement-since', type: 'date', value: today(-30, zone) }), 'since');
  const until = field('结束日期', h('input', { id: 'settlement-until', type: 'date', value: today(0, zone) }), 'until');
  const out = h('div', { id: 'settlement-out' });
  const report = h('form', { class: 'action wide', id: 'settlement-form', 'aria-label': '门店间结算', novalidate: true },
    h('h2', {}, '门店间结算'), since.wrap, until.wrap, h('p', { class: 'form-error', role: 'alert' }),
    h('button', { type: 'submit', id: 'settlement-show' }, '查询'));
  report.addEventListener('submit', async (e) => {
    e.preventDefault();
    showErrors(report, null);
    clear(out);
    try {
      const answer = await api('GET', path('/wallet/settlement'), { query: { since: since.input.value, until: until.input.value } });
      out.append(h('p', {}, `${answer.since} 至 ${answer.until}（${answer.time_zone}）`),
        dataTable(['收款门店', '消费门店', '应结金额'], answer.rows.map((r) => [names[r.received_store_id] || r.received_store_id,
          names[r.spent_store_id] || r.spent_store_id, yuan(r.amount)]), { numeric: [2] }));
      if (!answer.rows.length) out.append(h('p', {}, '此期间没有跨店消费。'));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(report, error);
    }
  });
  body.append(report, out);
}
