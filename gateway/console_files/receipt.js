// Printable receipts (S-3): consume, recharge and refund, with the chain's footer and a
// signature line. 80 mm thermal or A4 is chosen by which print stylesheet is enabled.

import { clear, formatTime, h } from './dom.js';
import { yuan, zhe } from './money.js';

const TITLES = { consume: '消费小票', recharge: '充值小票', refund: '退款小票' };

export function renderReceipt(area, kind, answer, { chain, store, operator, employeeName }) {
  const row = (label, value, id) => h('div', { class: 'r-row' }, h('span', {}, label), h('span', { id }, value));
  const body = [];
  if (kind === 'consume') {
    body.push(h('table', { class: 'r-lines' },
      h('thead', {}, h('tr', {}, h('th', {}, '项目'), h('th', {}, '数量'), h('th', { class: 'num' }, '金额'))),
      h('tbody', {}, answer.lines.map((l) => h('tr', {},
        h('td', {}, l.name || l.item_code, l.discount ? h('small', {}, ` ${zhe(l.discount_bp)}`) : '',
          l.counts_used ? h('small', {}, ` 套餐扣 ${l.counts_used} 次`) : ''),
        h('td', {}, `${l.quantity} × ${yuan(l.unit_price)}`), h('td', { class: 'num' }, yuan(l.net)))))));
    body.push(row('原价合计', yuan(answer.gross)), row('折扣', yuan(-answer.discount), 'r-discount'),
      row('实收', yuan(answer.amount_due), 'r-due'),
      row('储值支付', yuan(answer.paid.cash), 'r-cash'), row('赠送金支付', yuan(answer.paid.bonus), 'r-bonus'));
    if (answer.paid.credit) body.push(row('挂账', yuan(answer.paid.credit)));
    if (answer.paid.external) body.push(row('柜台收款', yuan(answer.paid.external)));
    if (employeeName) body.push(row('服务员工', employeeName));
  } else if (kind === 'recharge') {
    body.push(row('充值金额', yuan(answer.amount), 'r-amount'), row('赠送金额', yuan(answer.bonus), 'r-bonus-given'),
      row('支付方式', answer.payment_method || ''));
  } else if (kind === 'refund') {
    body.push(row('退款金额', yuan(answer.amount), 'r-amount'), row('退回储值', yuan(answer.refunded.cash)),
      row('退回赠送金', yuan(answer.refunded.bonus)), row('原因', answer.reason));
  }
  if (answer.remark) body.push(row('备注', answer.remark));
  const receipt = h('article', { class: 'receipt', id: 'receipt', 'aria-label': TITLES[kind] },
    h('h2', {}, chain.name), h('p', { class: 'r-title' }, `${TITLES[kind]}　${store ? store.name : ''}`),
    row('时间', formatTime(answer.created_at)), row('单号', answer.transaction_id.slice(0, 8)),
    row('会员', `${answer.card.member_name} ${answer.card.masked_phone}`), row('卡号', answer.card.card_no),
    h('hr'), ...body, h('hr'),
    row('储值余额', yuan(answer.balances.cash), 'r-bal-cash'), row('赠送金余额', yuan(answer.balances.bonus), 'r-bal-bonus'),
    row('收银员', operator),
    h('p', { class: 'signature' }, '会员签名：＿＿＿＿＿＿＿＿'),
    h('p', { class: 'footer' }, chain.settings?.receipt_footer || ''));
  const print = (size) => () => {
    // one print stylesheet at a time decides the paper: 80 mm thermal roll or A4
    document.getElementById('print-80').disabled = size !== '80';
    document.getElementById('print-a4').disabled = size !== 'a4';
    window.print();
  };
  const print80 = h('button', { type: 'button', class: 'primary', id: 'print-80mm', onclick: print('80') }, '打印小票（80mm）');
  const printA4 = h('button', { type: 'button', id: 'print-a4-button', onclick: print('a4') }, '打印 A4');
  const again = h('button', { type: 'button', onclick: () => { area.hidden = true; document.getElementById('desk-search').focus(); } }, '下一位（Esc）');
  area.hidden = false;
  clear(area).append(h('div', { class: 'no-print toolbar' }, print80, printA4, again), receipt);
  area.onkeydown = (e) => { if (e.key === 'Escape') again.click(); };
  print80.focus();
}
