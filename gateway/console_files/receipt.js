// The receipt frame (S-3): every printable receipt the console shows is the page the API
// renders (wallet: recharge, consume, refund; gift: a redemption), laid out once in
// services/kit/receipts.py. The page needs the token, so it is fetched, parsed inert, and its
// body shown here; each paper (80 mm thermal, A4) is fetched in that format before printing.

import { ApiError, session } from './api.js';
import { clear, describe, h, notice } from './dom.js';

const PAPERS = { '80mm': { sheet: 'print-80', label: '打印小票（80mm）', id: 'print-80mm' }, a4: { sheet: 'print-a4', label: '打印 A4', id: 'print-a4-button' } };

/** The API's receipt page at `url` (under /api/v1) in `paper`, as nodes; null after a refusal
 * (shown in the status line in the API's words, after `before` when given). */
async function fetchReceipt(url, paper, before = '') {
  const response = await fetch(`/api/v1${url}?format=${paper}`, {
    headers: { Authorization: `Bearer ${session.get()?.token}` },
  });
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    notice(`${before}${describe(new ApiError(response.status, data))}`, 'error');
    return null;
  }
  // DOMParser builds an inert document (no scripts run, nothing loads); only its body is kept
  const page = new DOMParser().parseFromString(await response.text(), 'text/html');
  return [...page.body.childNodes].map((node) => document.importNode(node, true));
}

/** Shows the receipt at `url` in `area` (80 mm first), with a print button per paper and a
 * close button (`closeLabel`, Esc too) that calls `onClose`. The 80 mm button takes the focus,
 * so Enter prints at once. When the receipt cannot be had, the status line says so after
 * `before` (what was done: a sale stands even when its receipt does not come). */
export async function showReceipt(area, url, { label, closeLabel = '关闭', onClose = () => {}, before = '' }) {
  const nodes = await fetchReceipt(url, '80mm', before ? `${before}；小票未能取得：` : '');
  if (!nodes) return false;
  const receipt = h('article', { class: 'receipt api-receipt', id: 'receipt', 'aria-label': label, dataset: { paper: '80mm' } }, nodes);
  const print = (paper) => async () => {
    if (receipt.dataset.paper !== paper) {
      // the API lays the page out for its paper: show that one before printing it
      const again = await fetchReceipt(url, paper);
      if (!again) return;
      receipt.replaceChildren(...again);
      receipt.dataset.paper = paper;
    }
    // one print stylesheet at a time decides the paper
    for (const [name, { sheet }] of Object.entries(PAPERS)) document.getElementById(sheet).disabled = name !== paper;
    window.print();
  };
  const buttons = Object.entries(PAPERS).map(([paper, { label: text, id }], i) =>
    h('button', { type: 'button', id, class: i === 0 ? 'primary' : null, onclick: print(paper) }, text));
  const close = h('button', { type: 'button', id: 'receipt-close', onclick: () => { area.hidden = true; clear(area); onClose(); } }, closeLabel);
  area.hidden = false;
  clear(area).append(h('div', { class: 'no-print toolbar' }, ...buttons, close), receipt);
  area.onkeydown = (e) => { if (e.key === 'Escape') close.click(); };
  buttons[0].focus();
  return true;
}
