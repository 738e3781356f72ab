// The front desk: one search box, the member's card at a glance, and the counter's actions
// (consume, recharge, enrol and issue a card, freeze/unfreeze, refund), keyboard first.
// Look-up -> consume -> receipt is three Enters: search, the items, confirm; then print.

import { allPages, api, ApiError, newKey } from './api.js';
import { clear, describe, field, formatTime, h, notice, showErrors } from './dom.js';
import { parseYuan, previewConsume, rechargeBonus, yuan, zhe } from './money.js';
import { showReceipt } from './receipt.js';
import { showGiftReceipt } from './office-loyalty.js';

const STATUS = { active: '正常', frozen: '已冻结', replaced: '已换卡', returned: '已退卡', expired: '已过期' };
const KINDS = {
  recharge: '充值', bonus_grant: '赠送', consume: '消费', refund: '退款', package_sale: '购买套餐',
  card_return: '退卡', credit_limit: '信用额度', credit_settlement: '还款', fee: '费用',
};

export async function renderDesk(root, current) {
  const chainId = current.principal.chain_id;
  const path = (rest) => `/chains/${chainId}${rest}`;
  const desk = {
    current, path, storeId: current.principal.store_ids[0] || null,
    member: null, card: null, cart: [], consumeKey: null, busy: false,
  };
  const parts = {
    stores: h('div', { class: 'store-pick' }),
    results: h('div', { class: 'results', 'aria-live': 'polite' }),
    member: h('section', { class: 'member card', 'aria-label': '会员卡信息', hidden: true }),
    actions: h('section', { class: 'actions card', 'aria-label': '收银操作', hidden: true }),
    receipt: h('section', { class: 'receipt-area', 'aria-label': '小票', hidden: true }),
  };
  desk.parts = parts;

  const search = h('input', {
    id: 'desk-search', type: 'search', autocomplete: 'off', enterkeyhint: 'search',
    placeholder: '手机号后四位 / 手机号 / 卡号 / 车牌，回车查找',
  });
  const searchForm = h('form', { class: 'search card', role: 'search' },
    h('label', { for: 'desk-search' }, '会员查找'), search,
    h('button', { type: 'submit', class: 'primary' }, '查找'),
    h('button', { type: 'button', onclick: () => showEnrol(desk) }, '新会员入会'));
  searchForm.addEventListener('submit', (e) => { e.preventDefault(); find(desk, search.value); });
  desk.search = search;

  root.append(h('div', { class: 'desk' }, parts.stores, searchForm, parts.results,
    h('div', { class: 'desk-grid' }, parts.member, parts.actions), parts.receipt));
  search.focus();
  // the counter's dictionaries load while the cashier types; every action waits for them
  desk.ready = loadReference(desk);
  await desk.ready;
}

/** What every screen of the desk needs once: the chain (name, receipt footer), the store,
 * the item dictionary, payment methods, tiers and who can serve. */
async function loadReference(desk) {
  const { path, current } = desk;
  const [chain, items, categories, methods, tiers] = await Promise.all([
    api('GET', path('')),
    api('GET', path('/items')),
    api('GET', path('/categories')),
    api('GET', path('/payment-methods')),
    api('GET', path('/tiers')).catch(() => ({ items: [] })),
  ]);
  Object.assign(desk, {
    chain, items: items.items, categories: categories.items, methods: methods.items, tiers: tiers.items,
  });
  if (!desk.storeId || current.principal.role === 'hq_admin' || current.principal.role === 'franchisee') {
    // HQ and franchisees work the counter of a store they pick
    const stores = (await api('GET', path('/stores'), { query: { status: 'active' } })).items;
    desk.storeId = desk.storeId || stores[0]?.id || null;
    const select = h('select', { onchange: (e) => { desk.storeId = e.target.value; loadStore(desk); } },
      stores.map((s) => h('option', { value: s.id, selected: s.id === desk.storeId }, s.name)));
    desk.parts.stores.append(field('门店', select).wrap);
  }
  await loadStore(desk);
}

async function loadStore(desk) {
  if (!desk.storeId) return;
  desk.store = await api('GET', desk.path(`/stores/${desk.storeId}`));
  try {
    desk.staff = (await api('GET', desk.path('/staff'), { query: { store_id: desk.storeId, status: 'active' } })).items;
  } catch {
    desk.staff = []; // a role that may not list staff serves alone
  }
}

// ---- finding a member --------------------------------------------------------------------

/** One box: 4 digits are the end of a phone within this store (O-7); 12 digits a card (a card
 * reader types it and Enter); 11 digits or +... a full phone; anything else a plate. */
export function classify(text) {
  const compact = text.replace(/[\s-]/g, '');
  if (/^\d{4}$/.test(compact)) return { kind: 'tail', value: compact };
  if (/^\d{12}$/.test(compact)) return { kind: 'card_no', value: compact };
  if (/^(\+|00)?\d{7,15}$/.test(compact)) return { kind: 'phone', value: compact };
  return { kind: 'plate', value: text.trim() };
}

async function find(desk, text) {
  await desk.ready;
  const results = clear(desk.parts.results);
  if (!text.trim()) return;
  const query = classify(text);
  let members;
  try {
    if (query.kind === 'tail') {
      // the last four digits find only the store's own members (O-7); the API scopes them to
      // the caller's stores, and the counter's store narrows HQ's and a franchisee's the same way
      const page = await api('GET', desk.path('/members'), { query: { phone_last4: query.value, store_id: desk.storeId, limit: 50 } });
      members = page.items;
    } else {
      members = (await api('GET', desk.path('/members'), { query: { [query.kind]: query.value } })).items;
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    results.append(h('p', { class: 'form-error', role: 'alert' }, describe(error)));
    return;
  }
  if (!members.length) {
    results.append(h('p', { role: 'alert' }, `没有找到会员：${text}`));
    return;
  }
  if (members.length === 1) {
    await openMember(desk, members[0], query.kind === 'card_no' ? query.value : null);
    return;
  }
  const list = h('ul', { class: 'pick', 'aria-label': '找到多位会员，请选择' });
  for (const member of members) {
    const button = h('button', { type: 'button', onclick: () => openMember(desk, member) },
      `${member.name}　${member.phone}　${member.cards.map((c) => c.card_no).join(' ')}`);
    list.append(h('li', {}, button));
  }
  results.append(h('p', {}, `找到 ${members.length} 位会员：`), list);
  list.querySelector('button').focus();
}

/** The card to work on: the one typed, else the member's active card, else the newest. */
function chooseCard(member, cardNo) {
  const cards = member.cards || [];
  return cards.find((c) => c.card_no === cardNo) || cards.find((c) => c.status === 'active') || cards.at(-1) || null;
}

async function openMember(desk, member, cardNo = null) {
  clear(desk.parts.results);
  desk.member = member;
  desk.card = chooseCard(member, cardNo);
  desk.cart = [];
  desk.consumeKey = null;
  desk.parts.receipt.hidden = true;
  try {
    await refreshCard(desk);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // e.g. a mistyped card number (its check digit) or a service away: say so by the search box
    desk.parts.member.hidden = true;
    desk.parts.actions.hidden = true;
    desk.parts.results.append(h('p', { class: 'form-error', role: 'alert' }, describe(error)));
    return;
  }
  showConsume(desk);
}

/** The card at a glance: terms of its tier, balances, points, packages, recent visits. */
async function refreshCard(desk) {
  const box = desk.parts.member;
  box.hidden = false;
  if (!desk.card) {
    clear(box).append(h('h2', {}, desk.member.name), h('p', {}, '该会员还没有会员卡。'),
      h('button', { type: 'button', onclick: () => showIssue(desk) }, '开卡'));
    desk.parts.actions.hidden = true;
    return;
  }
  const no = encodeURIComponent(desk.card.card_no);
  const [context, balances, packages, statement, points] = await Promise.all([
    api('GET', desk.path('/card-lookup'), { query: { card_no: desk.card.card_no } }),
    api('GET', desk.path(`/wallet/cards/${no}/balances`)),
    api('GET', desk.path(`/wallet/cards/${no}/packages`)).catch(() => ({ items: [] })),
    api('GET', desk.path(`/wallet/cards/${no}/statement`), { query: { limit: 200 } }).catch(() => ({ items: [] })),
    api('GET', desk.path(`/points/cards/${no}/balance`)).catch(() => null),
  ]);
  Object.assign(desk, { context, balances: balances.balances, packages: packages.items });
  const b = balances.balances;
  const recent = statement.items.slice().sort((x, y) => (x.created_at < y.created_at ? 1 : -1)).slice(0, 5);
  desk.recent = recent;
  const figure = (label, value, id) => h('div', { class: 'figure' }, h('dt', {}, label), h('dd', { id }, value));
  clear(box).append(
    h('h2', {}, `${context.member_name}　`, h('span', { class: `badge ${context.status}` }, STATUS[context.status] || context.status)),
    h('p', { class: 'meta' }, `卡号 ${context.card_no}　手机 ${context.masked_phone}　等级 `,
      h('strong', { id: 'card-tier' }, context.tier.name), `（${discounts(desk, context.tier)}）`),
    h('dl', { class: 'figures' },
      figure('储值余额', yuan(b.cash), 'bal-cash'),
      figure('赠送金', yuan(b.bonus), 'bal-bonus'),
      figure('可用信用', `${yuan(b.credit_available)} / ${yuan(b.credit_limit)}`, 'bal-credit'),
      figure('积分', points ? String(points.balance) : '—', 'bal-points')),
    h('h3', {}, '套餐 / 限时卡'),
    packages.items.length
      ? h('ul', { class: 'packages' }, packages.items.map((p) => h('li', {},
        `${p.name}　${p.kind === 'pass' ? '不限次' : `剩余 ${p.remaining_count}/${p.total_count} 次`}` +
        `　有效期至 ${p.valid_until || '长期'}`)))
      : h('p', { class: 'muted' }, '无'),
    h('h3', {}, '最近交易'),
    recent.length
      ? h('table', { class: 'recent' }, h('thead', {}, h('tr', {}, h('th', {}, '时间'), h('th', {}, '类型'),
        h('th', { class: 'num' }, '金额'), h('th', { class: 'num' }, '储值余额'), h('th', {}, ''))),
      h('tbody', {}, recent.map((t) => h('tr', {}, h('td', {}, formatTime(t.created_at)),
        h('td', {}, KINDS[t.kind] || t.kind), h('td', { class: 'num' }, yuan(t.amount)),
        h('td', { class: 'num' }, yuan(t.cash_after)),
        h('td', {}, t.kind === 'consume'
          ? h('button', { type: 'button', onclick: () => showRefund(desk, t) }, '退款') : '')))))
      : h('p', { class: 'muted' }, '暂无交易'));
  renderActionTabs(desk);
}

/** "全场9.5折，洗车9折": the tier's default and its categories that differ, by their names. */
function discounts(desk, tier) {
  const names = Object.fromEntries((desk.categories || []).map((c) => [c.code, c.name]));
  const parts = Object.entries(tier.category_discounts || {})
    .filter(([, bp]) => bp !== tier.default_discount_bp)
    .map(([code, bp]) => `${names[code] || code}${zhe(bp)}`);
  return [tier.default_discount_bp ? `全场${zhe(tier.default_discount_bp)}` : '', ...parts].filter(Boolean).join('，') || '无折扣';
}

// ---- actions -------------------------------------------------------------------------------

function renderActionTabs(desk) {
  const box = desk.parts.actions;
  box.hidden = false;
  const tabs = [['consume', '消费', showConsume], ['recharge', '充值', showRecharge], ['package', '售套餐', showPackageSale],
    ['points', '积分', showPoints], ['gift', '礼品兑换', showGifts], ['card', '卡操作', showCardActions]];
  const bar = h('div', { class: 'tabs', role: 'toolbar', 'aria-label': '操作' },
    tabs.map(([id, title, show]) => h('button', { type: 'button', dataset: { tab: id }, onclick: () => show(desk) }, title)));
  desk.panel = h('div', { class: 'panel' });
  clear(box).append(bar, desk.panel);
}

function panel(desk, tab, title) {
  for (const b of desk.parts.actions.querySelectorAll('[data-tab]')) {
    b.setAttribute('aria-pressed', String(b.dataset.tab === tab));
  }
  return clear(desk.panel).appendChild(h('form', { class: 'action', 'aria-label': title, novalidate: true }));
}

const methodOptions = (desk, none) => [
  ...(none ? [h('option', { value: '' }, none)] : []),
  ...desk.methods.filter((m) => m.active).map((m) => h('option', { value: m.code }, m.name)),
];

/** Consume (W-4): items from the dictionary by code or name + Enter, quantities, the tier's
 * discount and the split shown before confirming; Enter on an empty item box goes to confirm. */
function showConsume(desk) {
  if (!desk.card || !desk.context) return;
  const form = panel(desk, 'consume', '消费');
  const options = h('datalist', { id: 'item-options' },
    desk.items.filter((i) => i.active).map((i) => h('option', { value: i.code }, `${i.name} ${yuan(i.price)}`)));
  const item = field('商品/服务（编码或名称，W01*2 为两份，回车添加）', h('input', { list: 'item-options', autocomplete: 'off', id: 'item-input' }), 'lines');
  const qty = field('数量', h('input', { type: 'number', min: 1, max: 10000, value: 1, id: 'item-qty', inputmode: 'numeric' }));
  const lines = h('tbody');
  const employee = field('服务员工', h('select', { id: 'serving-employee' },
    h('option', { value: '' }, '（无）'),
    desk.staff.map((s) => h('option', { value: s.id }, s.display_name))), 'serving_employee_id');
  const remark = field('备注', h('input', { id: 'consume-remark', maxlength: 200 }), 'remark');
  const external = field('余额不足时柜台收款', h('select', { id: 'external-method' }, methodOptions(desk, '不收（余额不足则拒绝）')), 'external_payment_method');
  const credit = h('input', { type: 'checkbox', id: 'allow-credit' });
  const summary = h('div', { class: 'summary', 'aria-live': 'polite', id: 'consume-summary' });
  const confirm = h('button', { type: 'submit', class: 'primary big', id: 'confirm-consume' }, '确认收款（回车）');
  form.append(options,
    h('div', { class: 'row' }, item.wrap, qty.wrap),
    h('table', { class: 'lines' }, h('caption', {}, '消费明细'),
      h('thead', {}, h('tr', {}, ['项目', '单价', '数量', '折扣', '小计', ''].map((t) => h('th', {}, t)))), lines),
    summary,
    h('div', { class: 'row' }, employee.wrap, remark.wrap),
    h('div', { class: 'row' }, external.wrap,
      desk.balances.credit_limit > 0 ? h('div', { class: 'field check' }, credit, h('label', { for: 'allow-credit' }, '允许挂账')) : ''),
    h('p', { class: 'form-error', role: 'alert' }), confirm);

  // any change to what would be sent makes it a different request: a new key next time
  const changed = () => { desk.consumeKey = null; draw(); };
  const draw = () => {
    clear(lines);
    desk.cart.forEach((line, index) => {
      const quantity = h('input', { type: 'number', min: 1, max: 10000, value: line.quantity, 'aria-label': `${line.name} 数量`,
        onchange: (e) => { line.quantity = Math.max(1, parseInt(e.target.value, 10) || 1); changed(); } });
      const remove = h('button', { type: 'button', 'aria-label': `删除 ${line.name}`,
        onclick: () => { desk.cart.splice(index, 1); changed(); item.input.focus(); } }, '删除');
      lines.append(h('tr', { dataset: { code: line.item_code } }, h('td', {}, line.name), h('td', { class: 'num' }, yuan(line.unit_price)),
        h('td', {}, quantity), h('td', { class: 'line-discount' }), h('td', { class: 'num line-net' }), h('td', {}, remove)));
    });
    const p = previewConsume(desk.cart, desk.context.tier, desk.balances, credit.checked);
    p.lines.forEach((l, i) => {
      lines.children[i].querySelector('.line-discount').textContent = l.discount ? `${zhe(l.discount_bp)} ${yuan(-l.discount)}` : '—';
      lines.children[i].querySelector('.line-net').textContent = yuan(l.net);
    });
    const row = (label, value, id) => h('div', { class: 'sum-row' }, h('span', {}, label), h('strong', { id }, value));
    const covered = desk.packages.some((pk) => desk.cart.some((l) => l.item_code === pk.item_code) && pk.status === 'active');
    clear(summary).append(
      row('原价合计', yuan(p.gross), 'sum-gross'),
      row(`会员折扣（${desk.context.tier.name}）`, yuan(-p.discount), 'sum-discount'),
      row('应付', yuan(p.due), 'sum-due'),
      row('扣储值余额', yuan(p.split.cash), 'sum-cash'),
      row('扣赠送金', yuan(p.split.bonus), 'sum-bonus'),
      ...(p.split.credit ? [row('挂账', yuan(p.split.credit), 'sum-credit')] : []),
      ...(p.remainder ? [row(external.input.value ? '柜台收款' : '余额不足', yuan(p.remainder), 'sum-remainder')] : []),
      ...(covered ? [h('p', { class: 'muted' }, '含套餐项目：将优先扣次数，以结算小票为准。')] : []));
    confirm.disabled = !desk.cart.length;
  };

  item.input.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    const text = item.input.value.trim();
    if (!text) { if (desk.cart.length) confirm.focus(); return; }
    // "W01*2" (or W01×2) types the quantity with the code, so the hands stay on the keys
    const typed = /^(.+?)\s*[*×]\s*(\d{1,5})$/.exec(text);
    const found = matchItem(desk.items, typed ? typed[1] : text);
    item.error.textContent = found ? '' : `没有找到唯一的项目：${text}`;
    if (!found) return;
    const quantity = Math.max(1, parseInt(typed ? typed[2] : qty.input.value, 10) || 1);
    const same = desk.cart.find((l) => l.item_code === found.code);
    if (same) same.quantity += quantity;
    else desk.cart.push({ item_code: found.code, name: found.name, category: found.category_code, quantity, unit_price: found.price });
    item.input.value = '';
    qty.input.value = 1;
    changed();
  });
  for (const control of [employee.input, remark.input, external.input, credit]) control.addEventListener('change', changed);
  // typing in any field but the item box changes the request: drop the key at once (redrawing
  // waits for 'change', so a quantity being typed keeps its focus)
  form.addEventListener('input', (event) => {
    if (event.target !== item.input && event.target !== qty.input) desk.consumeKey = null;
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy || !desk.cart.length) return; // a second click while the first is on its way
    desk.consumeKey = desk.consumeKey || newKey(); // kept until answered: a retry is the same consume
    const body = {
      card_no: desk.card.card_no, store_id: desk.storeId,
      lines: desk.cart.map(({ item_code, name, category, quantity, unit_price }) => ({ item_code, name, category, quantity, unit_price })),
      serving_employee_id: employee.input.value || null, remark: remark.input.value,
      allow_credit: credit.checked, external_payment_method: external.input.value || null,
    };
    const receipt = await submit(desk, form, confirm, 'POST', desk.path('/wallet/consumes'), body, desk.consumeKey,
      () => { desk.consumeKey = null; });
    if (!receipt) return;
    desk.consumeKey = null;
    desk.cart = [];
    await done(desk, 'consume', receipt);
  });
  draw();
  item.input.focus();
}

/** An item by exact code, or the one item whose name contains the text. */
export function matchItem(items, text) {
  const active = items.filter((i) => i.active);
  const code = text.split(/\s/)[0].toUpperCase();
  const exact = active.find((i) => i.code.toUpperCase() === code);
  if (exact) return exact;
  const named = active.filter((i) => i.name.toLowerCase().includes(text.toLowerCase()));
  return named.length === 1 ? named[0] : null;
}

/** Sends one money action under its key; shows the API's errors beside the fields it names.
 * The button stays disabled while the request is out, so a double click sends once. A refusal
 * (4xx) is the key's final answer, so `forgetKey` is called and the next confirmation gets a
 * new one; after a network error, a 503 or a 504 the key is kept, so the retry is the same
 * operation and can never charge twice. */
async function submit(desk, form, button, method, url, body, key, forgetKey = () => {}) {
  desk.busy = true;
  button.disabled = true;
  showErrors(form, null);
  try {
    return await api(method, url, { body, key });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status >= 400 && error.status < 500) forgetKey();
    showErrors(form, error);
    return null;
  } finally {
    desk.busy = false;
    button.disabled = false;
  }
}

const RECEIPT_TITLES = { consume: '消费小票', recharge: '充值小票', refund: '退款小票' };

/** After a consume, recharge or refund: the card redrawn, and the wallet's receipt of it
 * (chain footer, signature line) ready to print, its 80 mm button focused. */
async function done(desk, kind, answer) {
  const success = kind === 'consume' ? `收款成功：${yuan(answer.amount_due)}` : '操作成功';
  const [, shown] = await Promise.all([
    refreshCard(desk),
    showReceipt(desk.parts.receipt, desk.path(`/wallet/transactions/${answer.transaction_id}/receipt`), {
      label: RECEIPT_TITLES[kind], closeLabel: '下一位（Esc）', before: success,
      onClose: () => document.getElementById('desk-search').focus(),
    }),
  ]);
  if (shown) notice(success, 'ok');
}

/** Recharge (W-3): the tier's bonus shown before confirming. */
function showRecharge(desk) {
  const form = panel(desk, 'recharge', '充值');
  let key = null;
  const amount = field('充值金额（元）', h('input', { id: 'recharge-amount', inputmode: 'decimal', autocomplete: 'off' }), 'amount');
  const method = field('支付方式', h('select', { id: 'recharge-method' }, methodOptions(desk)), 'payment_method');
  const remark = field('备注', h('input', { maxlength: 200 }), 'remark');
  const preview = h('p', { class: 'summary', 'aria-live': 'polite', id: 'recharge-preview' });
  const confirm = h('button', { type: 'submit', class: 'primary big' }, '确认充值（回车）');
  const draw = () => {
    key = null;
    const fen = parseYuan(amount.input.value);
    const bonus = fen ? rechargeBonus(fen, desk.context.tier.recharge_bonus_rules) : 0;
    preview.textContent = fen ? `充值 ${yuan(fen)}，赠送 ${yuan(bonus)}，共到账 ${yuan(fen + bonus)}` : '请输入金额，例如 1000 或 99.50';
  };
  // any change makes a different request, so the next confirmation gets a key of its own
  form.addEventListener('input', draw);
  form.append(amount.wrap, method.wrap, remark.wrap, preview, h('p', { class: 'form-error', role: 'alert' }), confirm);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    const fen = parseYuan(amount.input.value);
    if (!fen) { amount.error.textContent = '金额格式：整数或两位小数的元'; amount.input.focus(); return; }
    key = key || newKey();
    const body = { card_no: desk.card.card_no, store_id: desk.storeId, amount: fen, payment_method: method.input.value, remark: remark.input.value };
    const answer = await submit(desk, form, confirm, 'POST', desk.path('/wallet/recharges'), body, key, () => { key = null; });
    if (answer) await done(desk, 'recharge', answer);
  });
  draw();
  amount.input.focus();
}

/** Freeze and unfreeze (M-3). Unfreezing is for managers: the API says so to anyone else. */
function showCardActions(desk) {
  const form = panel(desk, 'card', '卡操作');
  const reason = field('原因', h('input', { id: 'card-reason', maxlength: 200 }), 'reason');
  const frozen = desk.context.status === 'frozen';
  const action = frozen ? 'unfreeze' : 'freeze';
  const button = h('button', { type: 'submit', class: 'primary', id: 'card-action' }, frozen ? '解冻（需店长权限）' : '冻结 / 挂失');
  let key = null;
  reason.input.addEventListener('input', () => { key = null; });
  form.append(h('p', {}, `当前状态：${STATUS[desk.context.status] || desk.context.status}`), reason.wrap,
    h('p', { class: 'form-error', role: 'alert', id: 'card-error' }), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    key = key || newKey();
    const body = { reason: reason.input.value, store_id: desk.storeId };
    const answer = await submit(desk, form, button, 'POST', desk.path(`/cards/${desk.card.id}/${action}`), body, key, () => { key = null; });
    if (!answer) return;
    desk.card = answer;
    await refreshCard(desk);
    notice(frozen ? '已解冻' : '已冻结', 'ok');
    showCardActions(desk);
  });
  desk.panel.append(replaceForm(desk), tierForm(desk), returnForm(desk));
  reason.input.focus();
}

/** Report a loss and replace (M-5): a new number; balances, points and packages follow the
 * member. The tier's replacement fee is paid at the counter. */
function replaceForm(desk) {
  const form = h('form', { class: 'action', 'aria-label': '挂失补卡', novalidate: true });
  const fee = desk.tiers.find((t) => t.code === desk.context.tier.code)?.replacement_fee ?? 0;
  const reason = field('补卡原因', h('input', { id: 'replace-reason', maxlength: 200 }), 'reason');
  const method = field('补卡费支付方式', h('select', {}, methodOptions(desk)), 'payment_method');
  const button = h('button', { type: 'submit', id: 'replace-card' }, `挂失补卡（补卡费 ${yuan(fee)}）`);
  let key = null;
  form.addEventListener('input', () => { key = null; });
  form.append(h('h3', {}, '挂失补卡'), reason.wrap, method.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    key = key || newKey();
    const body = { reason: reason.input.value, payment_method: method.input.value, store_id: desk.storeId };
    const card = await submit(desk, form, button, 'POST', desk.path(`/cards/${desk.card.id}/replace`), body, key, () => { key = null; });
    if (!card) return;
    desk.card = card;
    await refreshCard(desk);
    showCardActions(desk);
    notice(`已补卡，新卡号 ${card.card_no}`, 'ok');
  });
  return form;
}

/** Return the card (W-7): the cash is paid back at the counter, the bonus is forfeited and
 * the card closes. Both figures are shown before confirming. */
function returnForm(desk) {
  const form = h('form', { class: 'action', 'aria-label': '退卡', novalidate: true });
  const reason = field('退卡原因', h('input', { id: 'return-reason', maxlength: 200 }), 'reason');
  const method = field('退款方式', h('select', { id: 'return-method' }, methodOptions(desk)), 'payment_method');
  const button = h('button', { type: 'submit', id: 'return-card' }, '确认退卡');
  let key = null;
  form.addEventListener('input', () => { key = null; });
  form.append(h('h3', {}, '退卡'),
    h('p', { id: 'return-preview' }, `退还储值 ${yuan(desk.balances.cash)}，作废赠送金 ${yuan(desk.balances.bonus)}`),
    reason.wrap, method.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    key = key || newKey();
    const body = { card_no: desk.card.card_no, store_id: desk.storeId, payment_method: method.input.value, reason: reason.input.value };
    const answer = await submit(desk, form, button, 'POST', desk.path('/wallet/returns'), body, key, () => { key = null; });
    if (!answer) return;
    notice(`已退卡：退还储值 ${yuan(answer.cash_paid_back)}，作废赠送金 ${yuan(answer.bonus_forfeited)}`, 'ok');
    await refreshCard(desk);
    showCardActions(desk);
  });
  return form;
}

/** Change the card's tier (M-4, M-7): same number, version + 1; managers only, as the API says. */
function tierForm(desk) {
  const form = h('form', { class: 'action', 'aria-label': '变更等级', novalidate: true });
  const tier = field('新等级', h('select', { id: 'tier-change' },
    desk.tiers.filter((t) => t.code !== desk.context.tier.code).map((t) => h('option', { value: t.code }, `${t.name}（换卡费 ${yuan(t.reissue_fee)}）`))), 'tier_code');
  const waive = h('input', { type: 'checkbox', id: 'waive-fee' });
  const method = field('换卡费支付方式', h('select', {}, methodOptions(desk)), 'payment_method');
  const button = h('button', { type: 'submit' }, '变更等级（需店长权限）');
  let key = null;
  for (const control of [tier.input, waive, method.input]) control.addEventListener('change', () => { key = null; });
  form.append(h('h3', {}, '变更等级'), tier.wrap, h('div', { class: 'field check' }, waive, h('label', { for: 'waive-fee' }, '免收换卡费')),
    method.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    key = key || newKey();
    const body = { tier_code: tier.input.value, waive_fee: waive.checked, payment_method: method.input.value, store_id: desk.storeId, reason: '' };
    const card = await submit(desk, form, button, 'POST', desk.path(`/cards/${desk.card.id}/tier`), body, key, () => { key = null; });
    if (!card) return;
    desk.card = card;
    await refreshCard(desk);
    showCardActions(desk);
    notice(`等级已变更为 ${card.tier_name}`, 'ok');
  });
  return form;
}

/** Sell a package (a count of one service) or a pass (unlimited between two dates) (W-5). */
function showPackageSale(desk) {
  const form = panel(desk, 'package', '售套餐');
  const item = field('服务项目', h('select', { id: 'package-item' },
    desk.items.filter((i) => i.active && i.kind === 'service').map((i) => h('option', { value: i.code }, `${i.name}（${yuan(i.price)}）`))), 'item_code');
  const kind = field('类型', h('select', { id: 'package-kind' }, h('option', { value: 'package' }, '次卡（按次数）'), h('option', { value: 'pass' }, '限时卡（期内不限次）')), 'kind');
  const count = field('次数', h('input', { id: 'package-count', type: 'number', min: 1, value: 10 }), 'count');
  const price = field('售价（元）', h('input', { id: 'package-price', inputmode: 'decimal' }), 'price');
  const from = field('生效日期', h('input', { type: 'date', id: 'package-from' }), 'valid_from');
  const until = field('到期日期', h('input', { type: 'date', id: 'package-until' }), 'valid_until');
  const method = field('支付方式', h('select', { id: 'package-method' }, h('option', { value: 'card' }, '会员卡余额（先本金后赠送）'), methodOptions(desk)), 'payment_method');
  const button = h('button', { type: 'submit', class: 'primary big' }, '确认售出');
  let key = null;
  form.addEventListener('input', () => { key = null; count.wrap.hidden = kind.input.value === 'pass'; });
  form.append(h('div', { class: 'row' }, item.wrap, kind.wrap, count.wrap), h('div', { class: 'row' }, price.wrap, from.wrap, until.wrap),
    method.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    const fen = parseYuan(price.input.value);
    if (fen === null) { price.error.textContent = '金额格式：整数或两位小数的元'; price.input.focus(); return; }
    key = key || newKey();
    const chosen = desk.items.find((i) => i.code === item.input.value);
    const pass = kind.input.value === 'pass';
    const body = {
      card_no: desk.card.card_no, store_id: desk.storeId, kind: kind.input.value, item_code: chosen.code,
      name: pass ? `${chosen.name} 限时卡` : `${chosen.name} ${count.input.value}次卡`,
      count: pass ? null : parseInt(count.input.value, 10) || null, price: fen,
      valid_from: from.input.value || null, valid_until: until.input.value || null, payment_method: method.input.value,
    };
    const answer = await submit(desk, form, button, 'POST', desk.path('/wallet/packages'), body, key, () => { key = null; });
    if (!answer) return;
    await refreshCard(desk);
    showPackageSale(desk);
    notice(`已售出：${answer.entitlement.name}，${yuan(answer.entitlement.price)}`, 'ok');
  });
  item.input.focus();
}

/** Redeem points for something (P-6): oldest points first, never below zero (the API says
 * how many are missing). */
function redeemForm(desk) {
  const form = h('form', { class: 'action', 'aria-label': '积分兑换', novalidate: true });
  const points = field('兑换积分', h('input', { id: 'redeem-points', type: 'number', min: 1, step: 1 }), 'points');
  const reference = field('兑换内容', h('input', { id: 'redeem-reference', maxlength: 120 }), 'reference');
  const button = h('button', { type: 'submit', class: 'primary' }, '确认兑换');
  let key = null;
  form.addEventListener('input', () => { key = null; });
  form.append(h('h3', {}, '积分兑换'), h('div', { class: 'row' }, points.wrap, reference.wrap),
    h('p', { class: 'form-error', role: 'alert', id: 'redeem-error' }), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    key = key || newKey();
    const body = { card_no: desk.card.card_no, store_id: desk.storeId, points: parseInt(points.input.value, 10), reference: reference.input.value.trim() };
    const answer = await submit(desk, form, button, 'POST', desk.path('/points/redemptions'), body, key, () => { key = null; });
    if (!answer) return;
    await refreshCard(desk);
    await showPoints(desk);
    notice(`已兑换 ${-answer.points} 积分：${body.reference}`, 'ok');
  });
  return form;
}

const POINT_KINDS = {
  earn: '消费积分', reverse: '退款扣回', cash: '现金积分', gift: '赠送', rebate: '返还', referral: '推荐奖励',
  redeem: '兑换', redeem_cancel: '取消兑换', expire: '过期', reset: '年度清零', adjust: '调整',
};

/** Points (P-3): the history, and giving or adjusting points (HQ and store managers). */
async function showPoints(desk) {
  const form = panel(desk, 'points', '积分');
  const no = encodeURIComponent(desk.card.card_no);
  let history;
  try {
    history = await api('GET', desk.path(`/points/cards/${no}/history`), { query: { limit: 20 } });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    form.append(h('p', { class: 'form-error', role: 'alert' }, describe(error)));
    return;
  }
  const kind = field('类型', h('select', { id: 'grant-kind' }, h('option', { value: 'gift' }, '赠送'), h('option', { value: 'rebate' }, '返还'), h('option', { value: 'adjust' }, '调整（可为负）')), 'kind');
  const points = field('积分', h('input', { id: 'grant-points', type: 'number', step: 1 }), 'points');
  const reason = field('原因', h('input', { id: 'grant-reason', maxlength: 200 }), 'reason');
  const button = h('button', { type: 'submit', class: 'primary' }, '发放积分（需店长权限）');
  let key = null;
  form.addEventListener('input', () => { key = null; });
  form.append(
    h('table', { class: 'list' }, h('caption', {}, '积分明细（最近 20 条）'),
      h('thead', {}, h('tr', {}, ['时间', '类型', '积分', '结余', '说明'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, history.items.map((e) => h('tr', {}, h('td', {}, formatTime(e.created_at)), h('td', {}, POINT_KINDS[e.kind] || e.kind),
        h('td', { class: 'num' }, e.points > 0 ? `+${e.points}` : String(e.points)), h('td', { class: 'num' }, String(e.balance_after)),
        h('td', {}, e.reason || e.reference || ''))))),
    h('h3', {}, '发放 / 调整积分'), h('div', { class: 'row' }, kind.wrap, points.wrap, reason.wrap),
    h('p', { class: 'form-error', role: 'alert' }), button);
  desk.panel.append(redeemForm(desk));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    key = key || newKey();
    const body = { card_no: desk.card.card_no, store_id: desk.storeId, kind: kind.input.value, points: parseInt(points.input.value, 10), reason: reason.input.value };
    const answer = await submit(desk, form, button, 'POST', desk.path('/points/grants'), body, key, () => { key = null; });
    if (!answer) return;
    await refreshCard(desk);
    await showPoints(desk);
    notice(`积分已变更：${answer.points > 0 ? '+' : ''}${answer.points}`, 'ok');
  });
}

/** Redeem a gift (G-3): what this store offers today, with its points and stock; the card's
 * points and the stock left are shown again from the API's answer. */
async function showGifts(desk) {
  const form = panel(desk, 'gift', '礼品兑换');
  let offered;
  try {
    offered = await allPages(desk.path('/gifts'), { store_id: desk.storeId });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    form.append(h('p', { class: 'form-error', role: 'alert' }, describe(error)));
    return;
  }
  const stockHere = (g) => (g.stock_mode === 'store' ? (g.stocks.find((s) => s.store_id === desk.storeId)?.quantity ?? 0) : g.stock);
  const gift = field('礼品', h('select', { id: 'gift-pick' }, offered.map((g) =>
    h('option', { value: g.id }, `${g.name}　${g.points_cost} 积分　库存 ${stockHere(g)}`))), 'gift_id');
  const quantity = field('数量', h('input', { id: 'gift-quantity', type: 'number', min: 1, max: 100, value: 1, inputmode: 'numeric' }), 'quantity');
  const remark = field('备注', h('input', { id: 'gift-remark', maxlength: 200 }), 'remark');
  const preview = h('p', { id: 'gift-preview', 'aria-live': 'polite', class: 'summary' });
  const button = h('button', { type: 'submit', class: 'primary big', id: 'confirm-gift' }, '确认兑换');
  const update = () => {
    const g = offered.find((x) => x.id === gift.input.value);
    const n = parseInt(quantity.input.value, 10) || 0;
    preview.textContent = g ? `${g.name} × ${n}，需 ${g.points_cost * n} 积分，门店库存 ${stockHere(g)}` : '本店今天没有可兑换的礼品。';
  };
  let key = null;
  form.addEventListener('input', () => { key = null; update(); });
  form.addEventListener('change', update);
  form.append(h('div', { class: 'row' }, gift.wrap, quantity.wrap, remark.wrap), preview,
    h('p', { class: 'form-error', role: 'alert', id: 'gift-error' }), button);
  update();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy || !gift.input.value) return;
    key = key || newKey();
    const body = { gift_id: gift.input.value, card_no: desk.card.card_no, store_id: desk.storeId,
      quantity: parseInt(quantity.input.value, 10), remark: remark.input.value.trim() };
    const answer = await submit(desk, form, button, 'POST', desk.path('/gift-redemptions'), body, key, () => { key = null; });
    if (!answer) return;
    key = null;
    await refreshCard(desk);
    await showGifts(desk);
    const receipt = h('button', { type: 'button', id: 'gift-receipt', onclick: () => showGiftReceipt(desk.parts.receipt, desk.path, answer.id) }, '兑换小票');
    desk.panel.append(h('p', { id: 'gift-done', role: 'status' }, `已兑换：${answer.gift_name} × ${answer.quantity}，扣 ${answer.points} 积分`), receipt);
    notice(`已兑换：${answer.gift_name} × ${answer.quantity}，扣 ${answer.points} 积分`, 'ok');
    receipt.focus();
  });
  gift.input.focus();
}

/** Refund a whole consume (W-6): money goes back where it came from. */
function showRefund(desk, transaction) {
  const form = panel(desk, 'refund', '退款');
  let key = null; // one confirmation of this refund, made at its first submit
  const reason = field('退款原因', h('input', { id: 'refund-reason', maxlength: 200, required: true }), 'reason');
  reason.input.addEventListener('input', () => { key = null; });
  const button = h('button', { type: 'submit', class: 'primary' }, '确认退款');
  form.append(h('p', {}, `退 ${formatTime(transaction.created_at)} 的消费 ${yuan(transaction.amount)}（原路退回）`),
    reason.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    key = key || newKey();
    const body = { transaction_id: transaction.transaction_id, store_id: desk.storeId, reason: reason.input.value };
    const answer = await submit(desk, form, button, 'POST', desk.path('/wallet/refunds'), body, key, () => { key = null; });
    if (answer) await done(desk, 'refund', answer);
  });
  reason.input.focus();
}

// ---- enrolment ------------------------------------------------------------------------------

/** Enrol a member and issue their first card; each step has its own key, so a retry after
 * the member was enrolled only issues the card. */
async function showEnrol(desk, existing = null) {
  await desk.ready;
  const box = desk.parts.actions;
  box.hidden = false;
  desk.parts.member.hidden = true;
  const form = h('form', { class: 'action', 'aria-label': '新会员入会', novalidate: true });
  clear(box).append(h('h2', {}, existing ? `为 ${existing.name} 开卡` : '新会员入会'), form);
  const name = field('姓名', h('input', { id: 'enrol-name', maxlength: 100 }), 'name');
  const phone = field('手机号', h('input', { id: 'enrol-phone', inputmode: 'tel' }), 'phone');
  const plates = field('车牌（多个用空格分开）', h('input', { id: 'enrol-plates' }), 'plates');
  const tier = field('会员等级', h('select', { id: 'enrol-tier' },
    desk.tiers.filter((t) => t.active !== false).map((t) => h('option', { value: t.code }, `${t.name}（开卡费 ${yuan(t.issue_fee)}）`))), 'tier_code');
  const method = field('开卡费支付方式', h('select', {}, methodOptions(desk)), 'payment_method');
  const button = h('button', { type: 'submit', class: 'primary big' }, existing ? '开卡' : '入会并开卡');
  form.append(...(existing ? [] : [name.wrap, phone.wrap, plates.wrap]), tier.wrap, method.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  let member = existing;
  // a key per step, renewed when what that step would send changes (a different request)
  const keys = { member: newKey(), card: newKey() };
  form.addEventListener('input', (event) => {
    if ([tier.input, method.input].includes(event.target)) keys.card = newKey();
    else if (!member) keys.member = newKey();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (desk.busy) return;
    if (!member) {
      const body = { name: name.input.value.trim(), phone: phone.input.value.trim(), plates: plates.input.value.split(/\s+/).filter(Boolean) };
      member = await submit(desk, form, button, 'POST', desk.path('/members'), body, keys.member,
        () => { keys.member = newKey(); });
      if (!member) return;
    }
    const card = await submit(desk, form, button, 'POST', desk.path(`/members/${member.id}/cards`),
      { tier_code: tier.input.value || null, payment_method: method.input.value, store_id: desk.storeId }, keys.card,
      () => { keys.card = newKey(); });
    if (!card) return;
    notice(`入会成功，卡号 ${card.card_no}`, 'ok');
    await openMember(desk, { ...member, cards: [card] }, card.card_no);
  });
  (existing ? tier.input : name.input).focus();
}

function showIssue(desk) {
  showEnrol(desk, desk.member);
}
