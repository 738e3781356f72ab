// Back office for loyalty: the chain's points rules (P-1, P-4, P-5) and a card's points
// (P-3), the gift catalogue with its stock and stores (G-1, G-2) and the redemption record
// (G-3, G-4). HQ changes rules and the catalogue; managers see them and their stores' record.

import { allPages, api, ApiError, newKey } from './api.js';
import { clear, dataTable, describe, field, formatTime, h, keyedSubmit, notice, showErrors } from './dom.js';
import { parseYuan, yuan } from './money.js';
import { showReceipt } from './receipt.js';

const POINT_KINDS = {
  earn: '消费积分', reverse: '退款扣回', cash: '现金积分', gift: '赠送', rebate: '返还', referral: '推荐奖励',
  redeem: '兑换', redeem_cancel: '取消兑换', expire: '过期', reset: '年度清零', adjust: '调整',
};
const GIFT_STATUS = { pending: '处理中', completed: '已完成', refused: '已拒绝', cancelling: '取消中', cancelled: '已取消' };
const errorLine = (id) => h('p', { class: 'form-error', role: 'alert', id });

// ---- points ------------------------------------------------------------------------------

/** A rule list as a table, or its caption and "none" when the chain has none. */
function listOrNone(caption, headers, rows) {
  return rows.length ? dataTable(headers, rows, { caption }) : h('p', { class: 'muted' }, `${caption}：无`);
}

/** The earning rules: HQ edits the plain settings (the rate lists are shown as they are and
 * sent back unchanged); anyone else reads them. Then a card's points, and grants. */
export async function pointsScreen(body, { current, path }) {
  const hq = current.principal.role === 'hq_admin';
  const rules = await api('GET', path('/points/rules'));
  const form = h('form', { class: 'action', 'aria-label': '积分规则', novalidate: true });
  const num = (label, name, value, extra = {}) => field(label, h('input', { id: `rule-${name}`, inputmode: 'numeric', value: value ?? '', disabled: !hq, ...extra }), name);
  const baseRate = num('每元积分（基础倍率）', 'base_rate', rules.base_rate, { inputmode: 'decimal' });
  const expiry = num('积分有效期（月，空为不过期）', 'expiry_months', rules.expiry_months);
  const resetMonth = num('年度清零月（空为不清零）', 'reset_month', rules.reset_month);
  const resetDay = num('年度清零日', 'reset_day', rules.reset_day);
  const remind = num('到期提前提醒（天）', 'remind_days', rules.remind_days);
  const referral = num('推荐奖励积分', 'referral_points', rules.referral_points);
  const bonusEarns = h('input', { type: 'checkbox', id: 'rule-bonus_earns', checked: rules.bonus_earns, disabled: !hq });
  const bonusWrap = h('div', { class: 'field check' }, bonusEarns, h('label', { for: 'rule-bonus_earns' }, '赠送金支付也积分'));
  bonusEarns.dataset.field = 'bonus_earns';
  const button = h('button', { type: 'submit', class: 'primary', id: 'rules-save' }, '保存积分规则');
  form.append(h('h2', {}, '积分规则'),
    h('div', { class: 'row' }, baseRate.wrap, expiry.wrap, remind.wrap),
    h('div', { class: 'row' }, resetMonth.wrap, resetDay.wrap, referral.wrap), bonusWrap,
    listOrNone('分类倍率', ['分类', '每元积分'], rules.category_rates.map((r) => [r.category, r.rate])),
    listOrNone('等级倍数', ['等级', '倍数'], rules.tier_multipliers.map((r) => [r.tier_code, r.multiplier])),
    listOrNone('消费档位', ['年累计消费起', '倍数'], rules.spend_levels.map((r) => [yuan(r.from_spend), r.multiplier])),
    h('p', { class: 'muted' }, rules.updated_at ? `最近修改：${formatTime(rules.updated_at)}` : '使用默认规则'),
    errorLine('rules-error'), hq ? button : null);
  const optionalInt = (input) => (input.value.trim() === '' ? null : Number(input.value));
  const save = keyedSubmit(form, button, (key) => api('POST', path('/points/rules'), {
    key,
    body: {
      base_rate: baseRate.input.value.trim(), category_rates: rules.category_rates, tier_multipliers: rules.tier_multipliers,
      spend_levels: rules.spend_levels, bonus_earns: bonusEarns.checked, expiry_months: optionalInt(expiry.input),
      reset_month: optionalInt(resetMonth.input), reset_day: optionalInt(resetDay.input),
      remind_days: optionalInt(remind.input) ?? 7, referral_points: optionalInt(referral.input) ?? 0,
    },
  }), newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await save()) {
      clear(body);
      await pointsScreen(body, { current, path });
      notice('积分规则已保存', 'ok');
    }
  });
  body.append(form, await promotionsPart(hq, path), cardPoints(current, path));
}

/** Promotions (P-2): days, and a multiplier or extra points; HQ adds, ends and resumes them. */
async function promotionsPart(hq, path) {
  const section = h('section', { class: 'part', 'aria-label': '积分活动' }, h('h2', {}, '积分活动'));
  const list = h('div');
  const draw = async () => {
    const { items } = await api('GET', path('/points/promotions'), { query: { include_inactive: true } });
    clear(list).append(items.length ? dataTable(['名称', '起止日期', '效果', '状态', ''], items.map((p) => [p.name,
      `${p.starts_on} ~ ${p.ends_on}`, p.multiplier ? `${p.multiplier} 倍积分` : `额外 ${p.extra_points} 积分`,
      p.active ? '进行中' : '已停止',
      hq ? h('button', { type: 'button', 'aria-label': `${p.active ? '停止' : '恢复'} ${p.name}`, onclick: async () => {
        try {
          await api('PATCH', path(`/points/promotions/${p.id}`), { body: { active: !p.active } });
          await draw();
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          notice(describe(error), 'error');
        }
      } }, p.active ? '停止' : '恢复') : ''])) : h('p', { class: 'muted' }, '没有积分活动。'));
  };
  await draw();
  section.append(list);
  if (!hq) return section;
  const form = h('form', { class: 'action wide', 'aria-label': '新增积分活动', novalidate: true });
  const name = field('活动名称', h('input', { id: 'promo-name', maxlength: 100 }), 'name');
  const starts = field('开始日期', h('input', { id: 'promo-starts_on', type: 'date' }), 'starts_on');
  const ends = field('结束日期', h('input', { id: 'promo-ends_on', type: 'date' }), 'ends_on');
  const multiplier = field('积分倍数（如 2）', h('input', { id: 'promo-multiplier', inputmode: 'decimal' }), 'multiplier');
  const extra = field('或额外积分', h('input', { id: 'promo-extra_points', type: 'number', min: 1, step: 1 }), 'extra_points');
  const button = h('button', { type: 'submit', class: 'primary', id: 'promo-save' }, '新增活动');
  form.append(h('h3', {}, '新增积分活动'), h('div', { class: 'row' }, name.wrap, starts.wrap, ends.wrap, multiplier.wrap, extra.wrap),
    errorLine('promo-error'), button);
  const save = keyedSubmit(form, button, (key) => api('POST', path('/points/promotions'), {
    key,
    body: { name: name.input.value.trim(), starts_on: starts.input.value || null, ends_on: ends.input.value || null,
      multiplier: multiplier.input.value.trim() || null, extra_points: extra.input.value ? Number(extra.input.value) : null },
  }), newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const made = await save();
    if (made) { notice(`积分活动已新增：${made.name}`, 'ok'); await draw(); }
  });
  section.append(form);
  return section;
}

/** One card's points: balance, open lots, history; HQ and store managers give or adjust. */
function cardPoints(current, path) {
  const wrap = h('section', { 'aria-label': '会员积分', class: 'part' }, h('h2', {}, '会员积分'));
  const input = h('input', { id: 'points-card', inputmode: 'numeric', autocomplete: 'off' });
  const form = h('form', { role: 'search', class: 'row', novalidate: true }, field('卡号', input, 'card_no').wrap,
    h('button', { type: 'submit' }, '查询积分'), errorLine('points-card-error'));
  const out = h('div');
  const show = async () => {
    clear(out);
    showErrors(form, null);
    const no = encodeURIComponent(input.value.replace(/[\s-]/g, ''));
    let balance, history;
    try {
      [balance, history] = await Promise.all([
        api('GET', path(`/points/cards/${no}/balance`)),
        api('GET', path(`/points/cards/${no}/history`), { query: { limit: 50 } }),
      ]);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error);
      return;
    }
    out.append(h('p', {}, '积分余额 ', h('strong', { id: 'points-balance' }, String(balance.balance))),
      dataTable(['时间', '类型', '积分', '结余', '说明'], history.items.map((e) => [formatTime(e.created_at),
        POINT_KINDS[e.kind] || e.kind, e.points > 0 ? `+${e.points}` : String(e.points), String(e.balance_after),
        e.reason || e.reference || '']), { numeric: [2, 3], caption: '积分明细（最近 50 条）' }));
    if (['hq_admin', 'store_manager'].includes(current.principal.role)) out.append(grantForm(current, path, input.value, show));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); show(); });
  wrap.append(form, out);
  return wrap;
}

function grantForm(current, path, cardNo, after) {
  const form = h('form', { class: 'action', 'aria-label': '发放或调整积分', novalidate: true });
  const kind = field('类型', h('select', { id: 'office-grant-kind' }, h('option', { value: 'gift' }, '赠送'),
    h('option', { value: 'rebate' }, '返还'), h('option', { value: 'adjust' }, '调整（可为负）')), 'kind');
  const points = field('积分', h('input', { id: 'office-grant-points', type: 'number', step: 1 }), 'points');
  const reason = field('原因', h('input', { id: 'office-grant-reason', maxlength: 200 }), 'reason');
  const stores = current.principal.store_ids;
  const store = field('门店', h('select', { id: 'office-grant-store' }), 'store_id');
  allPages(path('/stores')).then((list) => store.input.append(...list
    .filter((s) => s.status === 'active' && (current.principal.role === 'hq_admin' || stores.includes(s.id)))
    .map((s) => h('option', { value: s.id }, s.name)))).catch(() => {});
  const button = h('button', { type: 'submit', class: 'primary' }, '确认发放');
  form.append(h('h3', {}, '发放 / 调整积分'), h('div', { class: 'row' }, kind.wrap, points.wrap, reason.wrap, store.wrap), errorLine(''), button);
  const send = keyedSubmit(form, button, (key) => api('POST', path('/points/grants'), {
    key,
    body: { card_no: cardNo.replace(/[\s-]/g, ''), store_id: store.input.value, kind: kind.input.value,
      points: parseInt(points.input.value, 10), reason: reason.input.value.trim() },
  }), newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answer = await send();
    if (answer) { notice(`积分已变更：${answer.points > 0 ? '+' : ''}${answer.points}`, 'ok'); await after(); }
  });
  return form;
}

// ---- gifts ---------------------------------------------------------------------------------

/** The catalogue: every gift with its points, stock and stores; HQ adds, edits, restocks and
 * retires (a gift never redeemed is deleted, one redeemed is retired and kept). */
export async function giftsScreen(body, { current, path }) {
  const hq = current.principal.role === 'hq_admin';
  const [list, storeList] = await Promise.all([
    allPages(path('/gifts'), hq ? { include_inactive: true } : {}),
    allPages(path('/stores')),
  ]);
  const names = Object.fromEntries(storeList.map((s) => [s.id, s.name]));
  const editor = h('div');
  const rows = list.map((g) => [g.name, String(g.points_cost), yuan(g.market_price),
    h('span', { id: `gift-stock-${g.id}` }, String(g.stock)),
    g.stock_mode === 'store' ? '按门店' : '全连锁',
    g.store_ids.length ? g.store_ids.map((id) => names[id] || id).join('、') : '全部门店',
    [g.valid_from, g.valid_to].some(Boolean) ? `${g.valid_from || ''} ~ ${g.valid_to || ''}` : '长期',
    g.retired ? '已下架' : g.active ? '上架' : '停用',
    hq && !g.retired ? h('button', { type: 'button', onclick: () => giftForm(editor, current, path, storeList, g, reload), 'aria-label': `编辑 ${g.name}` }, '编辑') : '']);
  const reload = async () => { clear(body); await giftsScreen(body, { current, path }); };
  body.append(dataTable(['礼品', '所需积分', '市场价', '库存', '库存方式', '兑换门店', '有效期', '状态', ''], rows,
    { numeric: [1, 2, 3], caption: `共 ${list.length} 种礼品` }));
  if (!list.length) body.append(h('p', { class: 'muted' }, '还没有礼品。'));
  if (hq) {
    body.append(h('button', { type: 'button', id: 'gift-new', onclick: () => giftForm(editor, current, path, storeList, null, reload) }, '新增礼品'));
  }
  body.append(editor);
  if (hq) body.append(await giftSettingsForm(path));
}

/** How long after a redemption it may still be cancelled (HQ). */
async function giftSettingsForm(path) {
  const settings = await api('GET', path('/gift-settings'));
  const form = h('form', { class: 'action', 'aria-label': '兑换设置', novalidate: true });
  const hours = field('兑换后可取消的小时数', h('input', { id: 'gift-cancel_hours', type: 'number', min: 0, step: 1, value: settings.cancel_hours }), 'cancel_hours');
  const button = h('button', { type: 'submit', class: 'primary', id: 'gift-settings-save' }, '保存兑换设置');
  form.append(h('h2', {}, '兑换设置'), hours.wrap, errorLine('gift-settings-error'), button);
  const save = keyedSubmit(form, button, (key) => api('POST', path('/gift-settings'), {
    key, body: { cancel_hours: hours.input.value.trim() === '' ? null : Number(hours.input.value) },
  }), newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answer = await save();
    if (answer) notice(`兑换设置已保存：${answer.cancel_hours} 小时内可取消`, 'ok');
  });
  return form;
}

function giftForm(box, current, path, storeList, gift, reload) {
  const form = h('form', { class: 'action wide', 'aria-label': gift ? `编辑礼品 ${gift.name}` : '新增礼品', novalidate: true });
  const input = (label, name, attrs = {}) => field(label, h('input', { id: `gift-${name}`, ...attrs }), name);
  const name = input('名称', 'name', { maxlength: 100, value: gift?.name || '' });
  const description = input('说明', 'description', { maxlength: 2000, value: gift?.description || '' });
  const price = input('市场价（元）', 'market_price', { inputmode: 'decimal', value: gift ? (gift.market_price / 100).toFixed(2) : '' });
  const cost = input('所需积分', 'points_cost', { type: 'number', min: 1, step: 1, value: gift?.points_cost ?? '' });
  const mode = field('库存方式', h('select', { id: 'gift-stock_mode', disabled: !!gift },
    h('option', { value: 'chain' }, '全连锁共用'), h('option', { value: 'store', selected: gift?.stock_mode === 'store' }, '按门店')), 'stock_mode');
  const stock = input(gift ? '库存增减（正数入库，负数出库）' : '初始库存', gift ? 'change' : 'stock', { type: 'number', step: 1, value: gift ? '' : '0' });
  const validFrom = input('有效期自', 'valid_from', { type: 'date', value: gift?.valid_from || '' });
  const validTo = input('有效期至', 'valid_to', { type: 'date', value: gift?.valid_to || '' });
  const limit = input('每人限兑数量（空为不限）', 'limit_quantity', { type: 'number', min: 1, value: gift?.limit_quantity ?? '' });
  const period = field('限兑周期', h('select', { id: 'gift-limit_period' }, h('option', { value: '' }, '—'),
    h('option', { value: 'year', selected: gift?.limit_period === 'year' }, '每年'),
    h('option', { value: 'ever', selected: gift?.limit_period === 'ever' }, '永久')), 'limit_period');
  const low = input('低库存提醒', 'low_stock_threshold', { type: 'number', min: 0, value: gift?.low_stock_threshold ?? 0 });
  const active = h('input', { type: 'checkbox', id: 'gift-active', checked: gift ? gift.active : true });
  active.dataset.field = 'active';
  const stores = h('fieldset', { class: 'stores', 'data-field': 'store_ids', id: 'gift-store_ids' },
    h('legend', {}, '兑换门店（不选为全部门店）'),
    storeList.filter((s) => s.status === 'active').map((s) => {
      const box = h('input', { type: 'checkbox', value: s.id, id: `gift-store-${s.id}`, checked: gift?.store_ids.includes(s.id) });
      return h('span', { class: 'check' }, box, h('label', { for: box.id }, s.name));
    }),
    h('span', { class: 'field-error', id: 'gift-store_ids-error', role: 'alert' }));
  const stockStore = field('入库门店（按门店库存时）', h('select', { id: 'gift-stock-store' }, h('option', { value: '' }, '—'),
    storeList.filter((s) => s.status === 'active').map((s) => h('option', { value: s.id }, s.name))), 'store_id');
  const button = h('button', { type: 'submit', class: 'primary', id: 'gift-save' }, gift ? '保存' : '新增礼品');
  const retire = gift ? h('button', { type: 'button', id: 'gift-retire' }, '下架 / 删除') : null;
  form.append(h('h2', {}, gift ? `编辑：${gift.name}` : '新增礼品'),
    h('div', { class: 'row' }, name.wrap, cost.wrap, price.wrap),
    description.wrap,
    h('div', { class: 'row' }, mode.wrap, stock.wrap, gift ? stockStore.wrap : null, low.wrap),
    h('div', { class: 'row' }, validFrom.wrap, validTo.wrap, limit.wrap, period.wrap),
    stores, h('div', { class: 'field check' }, active, h('label', { for: 'gift-active' }, '上架')),
    errorLine('gift-error'), h('div', { class: 'toolbar' }, button, retire));
  const intOrNull = (el) => (el.value.trim() === '' ? null : Number(el.value));
  const fields = () => {
    const amount = parseYuan(price.input.value);
    return {
      name: name.input.value.trim(), description: description.input.value.trim(),
      market_price: amount === null ? price.input.value : amount, points_cost: intOrNull(cost.input),
      store_ids: [...stores.querySelectorAll('input:checked')].map((b) => b.value),
      valid_from: validFrom.input.value || null, valid_to: validTo.input.value || null,
      limit_quantity: intOrNull(limit.input), limit_period: period.input.value || null,
      low_stock_threshold: intOrNull(low.input) ?? 0, active: active.checked,
    };
  };
  const save = keyedSubmit(form, button, async (key) => {
    if (!gift) {
      return api('POST', path('/gifts'), { key, body: { ...fields(), stock_mode: mode.input.value, stock: intOrNull(stock.input) ?? 0 } });
    }
    const changed = await api('PATCH', path(`/gifts/${gift.id}`), { body: fields() });
    const change = intOrNull(stock.input);
    if (change) {
      const moved = await api('POST', path(`/gifts/${gift.id}/stock`), {
        key, body: { change, store_id: stockStore.input.value || null, reason: '后台调整' },
      });
      return moved;
    }
    return changed;
  }, newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answer = await save();
    if (answer) { notice(gift ? `礼品已保存：${name.input.value.trim()}` : `礼品已新增：${answer.name}`, 'ok'); await reload(); }
  });
  if (retire) {
    retire.addEventListener('click', async () => {
      if (!confirm(`下架礼品「${gift.name}」？从未兑换过的将被删除。`)) return;
      try {
        const gone = await api('DELETE', path(`/gifts/${gift.id}`));
        notice(gone.outcome === 'deleted' ? `已删除：${gift.name}` : `已下架：${gift.name}`, 'ok');
        await reload();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        showErrors(form, error);
      }
    });
  }
  clear(box).append(form);
  name.input.focus();
}

/** The redemption record with filters; a manager cancels (points and stock back) and anyone
 * may open the printable receipt the API renders. */
export async function giftRedemptionsScreen(body, { current, path }) {
  const [gifts, storeList] = await Promise.all([
    allPages(path('/gifts'), current.principal.role === 'hq_admin' ? { include_inactive: true } : {}),
    allPages(path('/stores')),
  ]);
  const names = Object.fromEntries(storeList.map((s) => [s.id, s.name]));
  const option = (value, text) => h('option', { value }, text);
  const store = field('门店', h('select', { id: 'gr-store' }, option('', '全部'), storeList.map((s) => option(s.id, s.name))), 'store_id');
  const gift = field('礼品', h('select', { id: 'gr-gift' }, option('', '全部'), gifts.map((g) => option(g.id, g.name))), 'gift_id');
  const status = field('状态', h('select', { id: 'gr-status' }, option('', '全部'), Object.entries(GIFT_STATUS).map(([k, v]) => option(k, v))), 'status');
  const since = field('起始日', h('input', { type: 'date', id: 'gr-since' }), 'since');
  const until = field('截止日', h('input', { type: 'date', id: 'gr-until' }), 'until');
  const form = h('form', { role: 'search', class: 'row', novalidate: true, 'aria-label': '兑换记录筛选' },
    store.wrap, gift.wrap, status.wrap, since.wrap, until.wrap, h('button', { type: 'submit', class: 'primary' }, '查询'), errorLine('gr-error'));
  const out = h('div');
  const receiptArea = h('section', { class: 'receipt-area', 'aria-label': '小票', hidden: true });
  const canCancel = ['hq_admin', 'store_manager'].includes(current.principal.role);
  const load = async () => {
    clear(out);
    showErrors(form, null);
    let page;
    try {
      page = await api('GET', path('/gift-redemptions'), { query: {
        store_id: store.input.value, gift_id: gift.input.value, status: status.input.value,
        since: since.input.value, until: until.input.value, limit: 100,
      } });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error);
      return;
    }
    out.append(dataTable(['时间', '礼品', '数量', '积分', '卡号', '门店', '操作员', '状态', ''],
      page.items.map((r) => [formatTime(r.created_at), r.gift_name, String(r.quantity), String(r.points), r.card_no,
        names[r.store_id] || r.store_id, r.operator_name,
        (GIFT_STATUS[r.status] || r.status) + (r.cancel_reason ? `（${r.cancel_reason}）` : ''),
        h('span', { class: 'toolbar' },
          h('button', { type: 'button', onclick: () => showGiftReceipt(receiptArea, path, r.id), 'aria-label': `小票 ${r.gift_name}` }, '小票'),
          canCancel && r.status === 'completed'
            ? h('button', { type: 'button', onclick: () => cancelForm(out, path, r, load), 'aria-label': `取消兑换 ${r.gift_name}` }, '取消') : null)]),
      { numeric: [2, 3] }));
    if (!page.items.length) out.append(h('p', { class: 'muted' }, '没有兑换记录。'));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  body.append(form, receiptArea, out);
  await load();
}

function cancelForm(out, path, redemption, reload) {
  const form = h('form', { class: 'action', 'aria-label': '取消兑换', novalidate: true });
  const reason = field('取消原因', h('input', { id: 'gr-cancel-reason', maxlength: 200 }), 'reason');
  const button = h('button', { type: 'submit', class: 'primary' }, '确认取消（积分与库存退回）');
  form.append(h('h3', {}, `取消兑换：${redemption.gift_name} × ${redemption.quantity}（${redemption.points} 积分）`), reason.wrap, errorLine(''), button);
  const send = keyedSubmit(form, button, (key) => api('POST', path(`/gift-redemptions/${redemption.id}/cancel`),
    { key, body: { reason: reason.input.value.trim() } }), newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answer = await send();
    if (answer) { notice(`已取消兑换，退回 ${answer.points} 积分`, 'ok'); await reload(); }
  });
  out.prepend(form);
  reason.input.focus();
}

/** The gift service's receipt of a redemption (S-3), shown in the console's receipt frame. */
export function showGiftReceipt(area, path, redemptionId) {
  return showReceipt(area, path(`/gift-redemptions/${redemptionId}/receipt`), { label: '礼品兑换小票' });
}
