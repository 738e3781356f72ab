// Back office: read-only lists of the chain as the signed-in role may see it (the API scopes
// them: HQ the whole chain, a franchisee their stores, a store manager theirs), and opening
// a store. Each screen names the roles it is shown to; the API is what actually refuses.

import { allPages, api, ApiError, newKey } from './api.js';
import { clear, describe, field, formatTime, h, notice, showErrors } from './dom.js';
import { yuan } from './money.js';
import { giftRedemptionsScreen, giftsScreen, pointsScreen } from './office-loyalty.js';
import { notificationsScreen } from './office-notify.js';
import { reportsScreen } from './office-reports.js';
import { creditScreen, dictionariesScreen, settingsScreen, tiersScreen } from './office-setup.js';

const CHAIN_MANAGERS = ['hq_admin', 'franchisee', 'store_manager'];

export const OFFICE_SCREENS = [
  { id: 'stores', title: '门店', roles: ['hq_admin', 'franchisee', 'store_manager'], render: stores },
  { id: 'staff', title: '员工', roles: CHAIN_MANAGERS, render: staff },
  { id: 'members', title: '会员', roles: CHAIN_MANAGERS, render: members },
  { id: 'statement', title: '对账单', roles: CHAIN_MANAGERS, render: statement },
  { id: 'card-log', title: '卡操作日志', roles: CHAIN_MANAGERS, render: cardLog },
  // what HQ sets the chain up with (the member, org and wallet services refuse anyone else)
  { id: 'tiers', title: '会员等级', roles: ['hq_admin'], render: tiersScreen },
  { id: 'items', title: '项目字典', roles: ['hq_admin'], render: dictionariesScreen },
  { id: 'settings', title: '连锁设置', roles: ['hq_admin'], render: settingsScreen },
  { id: 'credit', title: '挂账与结算', roles: CHAIN_MANAGERS, render: creditScreen },
  { id: 'access-log', title: '登录日志', roles: CHAIN_MANAGERS, render: accessLog },
  { id: 'liability', title: '储值负债', roles: ['hq_admin'], render: liability },
  // the loyalty, message and report services: each shown to the roles its API serves (a
  // cashier's menu stays the counter, where points and gifts are redeemed)
  { id: 'points', title: '积分', roles: CHAIN_MANAGERS, render: pointsScreen },
  { id: 'gifts', title: '礼品', roles: CHAIN_MANAGERS, render: giftsScreen },
  { id: 'gift-redemptions', title: '兑换记录', roles: CHAIN_MANAGERS, render: giftRedemptionsScreen },
  { id: 'notifications', title: '消息通知', roles: ['hq_admin'], render: notificationsScreen },
  { id: 'reports', title: '报表', roles: CHAIN_MANAGERS, render: reportsScreen },
];

export async function renderOffice(root, current, id) {
  const screen = OFFICE_SCREENS.find((s) => s.id === id);
  const path = (rest) => `/chains/${current.principal.chain_id}${rest}`;
  root.append(h('h1', {}, screen.title));
  const body = h('div', { class: 'office card' });
  root.append(body);
  try {
    await screen.render(body, { current, path });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    body.append(h('p', { class: 'form-error', role: 'alert' }, describe(error)));
  }
}

function table(headers, rows) {
  return h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))));
}

const STORE_STATUS = { active: '营业', pending_approval: '待审批', rejected: '已拒绝', closed: '已关闭' };
const ROLE = { hq_admin: '总部管理员', franchisee: '加盟商', store_manager: '店长', cashier: '收银员' };

async function stores(body, { current, path }) {
  const list = await allPages(path('/stores'));
  body.append(table(['编码', '名称', '类型', '状态', '电话', '地址'],
    list.map((s) => [s.code, s.name, s.kind === 'direct' ? '直营' : '加盟', STORE_STATUS[s.status] || s.status, s.phone, s.address])));
  if (!['hq_admin', 'franchisee'].includes(current.principal.role)) return;
  // a franchisee opens their own store (O-3); HQ opens any
  const form = h('form', { class: 'action', 'aria-label': '开新门店', novalidate: true });
  const code = field('门店编码', h('input', { maxlength: 40 }), 'code');
  const name = field('门店名称', h('input', { maxlength: 200 }), 'name');
  const kind = field('类型', h('select', {}, h('option', { value: 'franchise' }, '加盟'),
    current.principal.role === 'hq_admin' ? h('option', { value: 'direct' }, '直营') : ''), 'kind');
  const button = h('button', { type: 'submit', class: 'primary' }, '开店');
  let key = null;
  form.addEventListener('input', () => { key = null; });
  form.append(h('h2', {}, '开新门店'), code.wrap, name.wrap, kind.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    key = key || newKey();
    try {
      const store = await api('POST', path('/stores'), { body: { code: code.input.value.trim(), name: name.input.value.trim(), kind: kind.input.value }, key });
      notice(`门店已创建：${store.name}（${STORE_STATUS[store.status] || store.status}）`, 'ok');
      clear(body);
      await stores(body, { current, path });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status >= 400 && error.status < 500) key = null; // a refusal is final for its key
      showErrors(form, error);
    } finally {
      button.disabled = false;
    }
  });
  body.append(form);
}

async function staff(body, { current, path }) {
  const [list, storeList] = await Promise.all([allPages(path('/staff')), allPages(path('/stores'))]);
  const names = Object.fromEntries(storeList.map((s) => [s.id, s.name]));
  body.append(table(['用户名', '姓名', '角色', '门店', '状态', '锁定至', '最近登录'],
    list.map((s) => [s.username, s.display_name, ROLE[s.role] || s.role, names[s.store_id] || '', s.status === 'active' ? '在职' : '停用',
      formatTime(s.locked_until), formatTime(s.last_sign_in_at)])));
  // a manager adds staff within their scope: a store manager only to their own store
  const roles = current.principal.role === 'store_manager' ? ['cashier'] : ['cashier', 'store_manager', ...(current.principal.role === 'hq_admin' ? ['franchisee'] : [])];
  const form = h('form', { class: 'action', 'aria-label': '新增员工', novalidate: true });
  const username = field('用户名', h('input', { maxlength: 60, autocomplete: 'off' }), 'username');
  const display = field('姓名', h('input', { maxlength: 100 }), 'display_name');
  const role = field('角色', h('select', {}, roles.map((r) => h('option', { value: r }, ROLE[r]))), 'role');
  const store = field('门店', h('select', {}, storeList.filter((s) => s.status === 'active').map((s) => h('option', { value: s.id }, s.name))), 'store_id');
  const password = field('初始密码', h('input', { type: 'password', autocomplete: 'new-password' }), 'password');
  const button = h('button', { type: 'submit', class: 'primary' }, '新增员工');
  let key = null;
  form.addEventListener('input', () => { key = null; });
  form.append(h('h2', {}, '新增员工'), username.wrap, display.wrap, role.wrap, store.wrap, password.wrap, h('p', { class: 'form-error', role: 'alert' }), button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    key = key || newKey();
    button.disabled = true;
    try {
      const body = { username: username.input.value.trim(), display_name: display.input.value.trim(), role: role.input.value,
        store_id: role.input.value === 'franchisee' ? null : store.input.value, password: password.input.value };
      const added = await api('POST', path('/staff'), { body, key });
      notice(`已新增员工 ${added.username}`, 'ok');
      clear(body);
      await staff(body, { current, path });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status >= 400 && error.status < 500) key = null; // a refusal is final for its key
      showErrors(form, error);
    } finally {
      button.disabled = false;
    }
  });
  body.append(form);
}

const TX_KINDS = {
  recharge: '充值', bonus_grant: '赠送', consume: '消费', refund: '退款', package_sale: '购买套餐',
  card_return: '退卡', credit_limit: '信用额度', credit_settlement: '还款', fee: '费用',
};

/** A member's statement (W-10): every transaction with the balances after it. */
async function statement(body, { path }) {
  const input = h('input', { inputmode: 'numeric', autocomplete: 'off', id: 'statement-card' });
  const form = h('form', { role: 'search', class: 'row', novalidate: true }, field('卡号', input, 'card_no').wrap,
    h('button', { type: 'submit', class: 'primary' }, '查询'), h('p', { class: 'form-error', role: 'alert' }));
  const out = h('div');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(out);
    showErrors(form, null);
    try {
      const cardNo = input.value.replace(/[\s-]/g, '');
      const items = await allPages(path(`/wallet/cards/${encodeURIComponent(cardNo)}/statement`));
      out.append(table(['时间', '类型', '金额', '储值变动', '赠送金变动', '储值余额', '赠送金余额', '挂账', '备注'],
        items.map((t) => [formatTime(t.created_at), TX_KINDS[t.kind] || t.kind, yuan(t.amount), yuan(t.cash_change), yuan(t.bonus_change),
          yuan(t.cash_after), yuan(t.bonus_after), yuan(t.credit_used_after), t.remark])));
      if (!items.length) out.append(h('p', {}, '没有交易。'));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error);
    }
  });
  body.append(form, out);
  input.focus();
}

const OPS = { issue: '开卡', tier_change: '变更等级', freeze: '冻结', unfreeze: '解冻', replace: '补卡', return: '退卡', renew: '续期', expire: '过期', limits: '限额' };

/** Card operations done at a store (M-8), newest first. */
async function cardLog(body, { current, path }) {
  const storeList = await allPages(path('/stores'));
  const select = h('select', {}, storeList.filter((s) => current.principal.role === 'hq_admin' || current.principal.store_ids.includes(s.id))
    .map((s) => h('option', { value: s.id }, s.name)));
  const out = h('div');
  const load = async () => {
    clear(out);
    try {
      const page = await api('GET', path(`/stores/${select.value}/card-operations`), { query: { limit: 100 } });
      out.append(table(['时间', '操作', '卡号', '操作员', '原因', '费用'],
        page.items.map((o) => [formatTime(o.at), OPS[o.kind] || o.kind, o.card_no, o.operator_name, o.reason, yuan(o.fee)])));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      out.append(h('p', { class: 'form-error', role: 'alert' }, describe(error)));
    }
  };
  select.addEventListener('change', load);
  body.append(field('门店', select).wrap, out);
  if (select.value) await load();
}

async function members(body, { path }) {
  const input = h('input', { type: 'search' });
  const form = h('form', { role: 'search', class: 'row' }, field('姓名开头', input).wrap, h('button', { type: 'submit' }, '搜索'));
  const out = h('div');
  const load = async () => {
    const page = await api('GET', path('/members'), { query: { name: input.value.trim(), limit: 100 } });
    clear(out).append(table(['会员号', '姓名', '手机', '卡号', '累计消费', '累计积分'],
      page.items.map((m) => [m.member_no, m.name, m.phone, m.cards.map((c) => c.card_no).join(' '), yuan(m.cumulative_spend), String(m.lifetime_points)])));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  body.append(form, out);
  await load();
}

const EVENTS = { sign_in: '登录', sign_out: '退出', sign_in_failed: '登录失败', locked: '锁定' };

async function accessLog(body, { path }) {
  const page = await api('GET', path('/access-log'), { query: { limit: 100 } });
  body.append(table(['时间', '事件', '用户名', 'IP', '原因'],
    page.items.map((e) => [formatTime(e.at), EVENTS[e.event] || e.event, e.username, e.ip, e.reason])));
}

async function liability(body, { path }) {
  const [answer, storeList] = await Promise.all([api('GET', path('/wallet/liability')), allPages(path('/stores'))]);
  const names = Object.fromEntries(storeList.map((s) => [s.id, s.name]));
  body.append(h('p', {}, `截至 ${answer.as_of}（${answer.time_zone}）全连锁：储值 ${yuan(answer.chain.cash)}，赠送金 ${yuan(answer.chain.bonus)}`),
    table(['门店', '储值', '赠送金'], answer.stores.map((s) => [names[s.store_id] || s.store_id, yuan(s.cash), yuan(s.bonus)])));
}
