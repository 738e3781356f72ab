// Reports (R-1..R-7) as the reporting service offers them: pick a report, the days and the
// store (and by day or month where it groups), see the figures, download the CSV or Excel
// file the API makes of the same query. The API scopes each to the caller's stores.

import { allPages, api, ApiError, newKey, session } from './api.js';
import { clear, dataTable, describe, field, formatTime, h, keyedSubmit, notice, showErrors, today } from './dom.js';
import { parseYuan, yuan } from './money.js';

const M = 'yuan';
const T = 'time';
const N = 'int';
const col = (key, label, kind = 'text') => ({ key, label, kind });
const SUMMARY = [col('consume_count', '消费笔数', N), col('gross', '原价', M), col('discount', '折扣', M), col('actual', '实收', M),
  col('paid_cash', '储值支付', M), col('paid_bonus', '赠送金支付', M), col('paid_credit', '挂账', M), col('paid_external', '现场支付', M),
  col('refund_count', '退款笔数', N), col('refunded', '退款', M), col('net', '净额', M),
  col('recharge_count', '充值笔数', N), col('recharged', '充值', M), col('bonus_issued', '赠送', M)];
const WHO = [col('occurred_at', '时间', T), col('store_name', '门店'), col('member_name', '会员'), col('card_no', '卡号'),
  col('tier_code', '等级'), col('operator_name', '操作员')];

const DASH = [col('consume_count', '消费笔数', N), col('actual', '实收', M), col('refunded', '退款', M), col('net', '净额', M),
  col('recharge_count', '充值笔数', N), col('recharged', '充值', M), col('bonus_issued', '赠送', M)];

// what each report takes: range (since/until), group (day/month), store, as_of, limit
export const REPORTS = [
  { id: 'store-summary', title: '门店营业汇总 (R-1)', filters: ['range', 'group', 'store'],
    tables: (a) => [{ caption: '按期间与门店', rows: a.rows, columns: [col('period', '期间'), col('store_name', '门店'), ...SUMMARY] },
      { caption: '合计', rows: [a.totals], columns: SUMMARY, id: 'report-totals' }] },
  { id: 'consumptions', title: '消费明细 (R-2)', filters: ['range', 'store'], paged: true,
    tables: (a) => [{ rows: a.items, columns: [...WHO, col('items', '项目'), col('gross', '原价', M), col('discount', '折扣', M),
      col('actual', '实收', M), col('paid_cash', '储值', M), col('paid_bonus', '赠送金', M), col('refunded', '已退', M), col('points_earned', '积分', N)] }] },
  { id: 'recharges', title: '充值明细 (R-2)', filters: ['range', 'store'], paged: true,
    tables: (a) => [{ rows: a.items, columns: [...WHO, col('amount', '金额', M), col('bonus', '赠送', M), col('payment_method', '支付方式')] }] },
  { id: 'member-totals', title: '会员充值消费汇总 (R-2)', filters: ['range', 'store'], paged: true,
    tables: (a) => [{ rows: a.items, columns: [col('member_no', '会员号'), col('member_name', '会员'), col('tier_code', '等级'),
      col('recharge_count', '充值笔数', N), col('recharged', '充值', M), col('bonus_issued', '赠送', M), col('consume_count', '消费笔数', N),
      col('consumed', '消费', M), col('refunded', '退款', M)] }] },
  { id: 'liability', title: '储值负债 (R-3)', filters: ['as_of', 'store'],
    tables: (a) => [{ caption: `${a.date} 全连锁：储值 ${yuan(a.chain.cash)}，赠送金 ${yuan(a.chain.bonus)}`, rows: a.stores,
      columns: [col('store_name', '门店'), col('cash', '储值', M), col('bonus', '赠送金', M)] }] },
  { id: 'settlement', title: '跨店结算 (R-3)', filters: ['range', 'group', 'store'],
    tables: (a) => [{ rows: a.rows, columns: [col('period', '期间'), col('debtor_store_name', '应付门店'), col('creditor_store_name', '应收门店'), col('amount', '金额', M)] }] },
  { id: 'member-stats', title: '会员统计 (R-4)', filters: ['range', 'group', 'store'],
    tables: (a) => [{ caption: '按门店与等级', rows: a.by_store_and_tier, columns: [col('store_name', '门店'), col('tier_code', '等级'), col('members', '会员数', N)] },
      { caption: '新增与活跃', rows: a.periods, columns: [col('period', '期间'), col('new_members', '新增会员', N), col('active_members', '活跃会员', N)] }] },
  { id: 'rankings', title: '会员消费排行 (R-5)', filters: ['range', 'store'],
    tables: (a) => [{ rows: a.by_consumption, columns: [col('rank', '名次', N), col('member_no', '会员号'), col('member_name', '会员'),
      col('tier_code', '等级'), col('consume_count', '消费笔数', N), col('consumed', '消费', M)] }] },
  { id: 'points-rankings', title: '会员积分排行 (R-5)', filters: ['range', 'store'],
    tables: (a) => [{ rows: a.by_points, columns: [col('rank', '名次', N), col('member_no', '会员号'), col('member_name', '会员'),
      col('points_earned', '获得积分', N), col('points_reversed', '扣回', N), col('points', '合计', N)] }] },
  { id: 'employees', title: '员工业绩与提成 (R-7)', filters: ['range', 'store'],
    tables: (a) => [{ rows: a.rows, columns: [col('employee_name', '员工'), col('level', '级别'), col('consume_count', '笔数', N),
      col('services', '服务', M), col('sales', '销售', M), col('commission_sales', '销售提成', M), col('commission_fixed', '固定提成', M), col('commission', '提成合计', M)] }] },
  { id: 'gift-redemptions', title: '礼品兑换明细 (R-6)', filters: ['range', 'store'], paged: true,
    tables: (a) => [{ rows: a.items, columns: [col('redeemed_at', '时间', T), col('store_name', '门店'), col('member_name', '会员'), col('card_no', '卡号'),
      col('gift_name', '礼品'), col('quantity', '数量', N), col('points', '积分', N), col('operator_name', '操作员'), col('status', '状态')] }] },
  { id: 'gift-stats', title: '礼品兑换统计 (R-6)', filters: ['range', 'group', 'store'],
    tables: (a) => [{ rows: a.rows, columns: [col('period', '期间'), col('store_name', '门店'), col('gift_name', '礼品'),
      col('redemptions', '兑换次数', N), col('quantity', '数量', N), col('points', '积分', N)] },
    { caption: '合计', rows: [a.totals], columns: [col('redemptions', '兑换次数', N), col('quantity', '数量', N), col('points', '积分', N)] }] },
  { id: 'dashboard', title: '总部看板', filters: [], roles: ['hq_admin'],
    tables: (a) => [{ caption: `今日（${a.date}）`, rows: [a.today], columns: DASH, id: 'dash-today' },
      { caption: '本月', rows: [a.month], columns: DASH, id: 'dash-month' },
      { caption: '本月各门店', rows: a.by_store, columns: [col('store_name', '门店'), ...DASH] },
      { caption: '本月消费前列会员', rows: a.top_members, columns: [col('rank', '名次', N), col('member_name', '会员'), col('consumed', '消费', M)] },
      { caption: `储值负债：储值 ${yuan(a.liability.chain.cash)}，赠送金 ${yuan(a.liability.chain.bonus)}`, rows: a.liability.stores,
        columns: [col('store_name', '门店'), col('cash', '储值', M), col('bonus', '赠送金', M)] }],
    noExport: true },
];

function cell(row, column) {
  const value = row[column.key];
  if (value === null || value === undefined) return '';
  if (column.kind === M) return yuan(value);
  if (column.kind === T) return formatTime(value);
  return String(value);
}

function render(spec, answer) {
  return spec.tables(answer).map((t) => {
    const numeric = t.columns.map((c, i) => (c.kind === M || c.kind === N ? i : -1)).filter((i) => i >= 0);
    const table = dataTable(t.columns.map((c) => c.label), t.rows.map((r) => t.columns.map((c) => cell(r, c))), { numeric, caption: t.caption || '' });
    if (t.id) table.id = t.id;
    table.dataset.report = spec.id;
    return table;
  });
}

export async function reportsScreen(body, { current, path }) {
  const [storeList, chain] = await Promise.all([allPages(path('/stores')), api('GET', path(''))]);
  const zone = chain.settings?.time_zone;
  const role = current.principal.role;
  const mine = storeList.filter((s) => role === 'hq_admin' || current.principal.store_ids.includes(s.id));
  const option = (value, text) => h('option', { value }, text);
  const offered = REPORTS.filter((r) => !r.roles || r.roles.includes(role));
  const which = field('报表', h('select', { id: 'report-kind' }, offered.map((r) => option(r.id, r.title))));
  const since = field('起始日', h('input', { type: 'date', id: 'report-since', value: today(-30, zone) }), 'since');
  const until = field('截止日', h('input', { type: 'date', id: 'report-until', value: today(0, zone) }), 'until');
  const asOf = field('截至日', h('input', { type: 'date', id: 'report-as-of', value: today(0, zone) }), 'as_of');
  const group = field('汇总方式', h('select', { id: 'report-group' }, option('day', '按日'), option('month', '按月')), 'group');
  const store = field('门店', h('select', { id: 'report-store' }, role === 'hq_admin' ? option('', '全部门店') : null,
    mine.map((s) => option(s.id, s.name))), 'store_id');
  const run = h('button', { type: 'submit', class: 'primary', id: 'report-run' }, '查询');
  const csv = h('button', { type: 'button', id: 'report-csv' }, '下载 CSV');
  const xlsx = h('button', { type: 'button', id: 'report-xlsx' }, '下载 Excel');
  const form = h('form', { role: 'search', class: 'row report-filters', novalidate: true, 'aria-label': '报表条件' },
    which.wrap, since.wrap, until.wrap, asOf.wrap, group.wrap, store.wrap,
    h('div', { class: 'toolbar' }, run, csv, xlsx), h('p', { class: 'form-error', role: 'alert', id: 'report-error' }));
  const out = h('div', { class: 'report', 'aria-live': 'polite' });
  const spec = () => REPORTS.find((r) => r.id === which.input.value);
  const query = () => {
    const s = spec();
    const q = s.filters.includes('store') ? { store_id: store.input.value } : {};
    if (s.filters.includes('range')) Object.assign(q, { since: since.input.value, until: until.input.value });
    if (s.filters.includes('group')) q.group = group.input.value;
    if (s.filters.includes('as_of')) q.as_of = asOf.input.value;
    return q;
  };
  const showFilters = () => {
    const s = spec();
    since.wrap.hidden = until.wrap.hidden = !s.filters.includes('range');
    group.wrap.hidden = !s.filters.includes('group');
    asOf.wrap.hidden = !s.filters.includes('as_of');
    store.wrap.hidden = !s.filters.includes('store');
    csv.hidden = xlsx.hidden = !!s.noExport;
  };
  const load = async () => {
    const s = spec();
    clear(out);
    showErrors(form, null);
    let answer;
    try {
      answer = await api('GET', path(`/reports/${s.id}`), { query: { ...query(), ...(s.paged ? { limit: 200 } : {}) } });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error);
      return;
    }
    const lag = answer.as_of?.newest_event_at ? `数据截至 ${formatTime(answer.as_of.newest_event_at)}` : '';
    out.append(h('h2', {}, s.title), h('p', { class: 'muted' }, `时区 ${answer.time_zone}　${lag}`), ...render(s, answer));
    if (answer.next_cursor) out.append(h('p', { class: 'muted' }, '仅显示前 200 行，完整数据请下载文件。'));
  };
  const download = async (format) => {
    const s = spec();
    const params = new URLSearchParams(Object.entries({ ...query(), format }).filter(([, v]) => v));
    const response = await fetch(`/api/v1${path(`/reports/${s.id}/export`)}?${params}`, {
      headers: { Authorization: `Bearer ${session.get()?.token}` },
    });
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch { data = null; }
      const error = new ApiError(response.status, data);
      showErrors(form, error);
      notice(describe(error), 'error');
      return;
    }
    const disposition = response.headers.get('Content-Disposition') || '';
    const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] || `${s.id}.${format}`;
    const link = h('a', { href: URL.createObjectURL(await response.blob()), download: name, id: 'report-file' }, name);
    link.click();
    notice(`已下载：${name}`, 'ok');
  };
  which.input.addEventListener('change', () => { showFilters(); load(); });
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  csv.addEventListener('click', () => download('csv'));
  xlsx.addEventListener('click', () => download('xlsx'));
  body.append(form, out);
  showFilters();
  await load();
  if (role === 'hq_admin') body.append(await commissionPart(path));
}

/** R-7's commission rules per employee level (HQ): a share of sales, and a fixed amount per
 * item code. Setting a level replaces its rule. */
async function commissionPart(path) {
  const section = h('section', { class: 'part', 'aria-label': '提成规则' }, h('h2', {}, '提成规则 (R-7)'));
  const list = h('div');
  const draw = async () => {
    const { items } = await api('GET', path('/commission-rules'));
    clear(list).append(items.length
      ? dataTable(['员工级别', '销售提成', '按项目固定提成'], items.map((r) => [r.level, `${r.sales_bp / 100}%`,
        Object.entries(r.item_fixed).map(([code, fen]) => `${code} ${yuan(fen)}`).join('，')]))
      : h('p', { class: 'muted' }, '还没有提成规则。'));
  };
  const form = h('form', { class: 'action', 'aria-label': '设置提成规则', novalidate: true });
  const level = field('员工级别', h('input', { id: 'comm-level', maxlength: 40 }), 'level');
  const percent = field('销售提成（%）', h('input', { id: 'comm-percent', inputmode: 'decimal' }), 'sales_bp');
  const fixed = field('固定提成（如 W01=5 PAD=10.50，元）', h('input', { id: 'comm-fixed' }), 'item_fixed');
  const button = h('button', { type: 'submit', class: 'primary', id: 'comm-save' }, '保存提成规则');
  form.append(h('div', { class: 'row' }, level.wrap, percent.wrap, fixed.wrap), h('p', { class: 'form-error', role: 'alert' }), button);
  const save = keyedSubmit(form, button, () => {
    const itemFixed = {};
    for (const pair of fixed.input.value.split(/\s+/).filter(Boolean)) {
      const [code, amount] = pair.split('=');
      const fen = parseYuan(amount || '');
      itemFixed[code] = fen === null ? amount : fen; // not an amount: the API says so beside the field
    }
    const bp = Math.round(Number(percent.input.value || 0) * 100);
    return api('PUT', path('/commission-rules'), {
      body: { level: level.input.value.trim(), sales_bp: Number.isFinite(bp) ? bp : percent.input.value, item_fixed: itemFixed },
    });
  }, newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await save()) { notice(`提成规则已保存：${level.input.value.trim()}`, 'ok'); await draw(); }
  });
  await draw();
  section.append(list, form);
  return section;
}
