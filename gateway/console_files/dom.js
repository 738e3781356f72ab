// A few DOM helpers: build elements without innerHTML (no markup from data is ever parsed),
// labelled form fields, and errors shown next to the field the API names.

/** h('button', {type: 'button', onclick: fn}, '确认') */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name in el && typeof value !== 'string') el[name] = value;
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let unique = 0;
/** A labelled control with a place for its error: {wrap, input, error}. `name` is the API
 * field the control fills, so `showErrors` can put the API's reason beside it. */
export function field(label, control, name) {
  const id = control.id || `f${++unique}`;
  control.id = id;
  if (name) control.dataset.field = name;
  const error = h('span', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  control.setAttribute('aria-describedby', error.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), control, error);
  return { wrap, input: control, error };
}

/** Clears old errors in `form`, then writes each of the API's field reasons beside the
 * control for that field; what no control names goes to the form's general message. */
export function showErrors(form, apiError) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const general = form.querySelector('.form-error');
  if (general) general.textContent = '';
  if (!apiError) return;
  let firstBad = null;
  const unplaced = [];
  for (const [name, reasons] of Object.entries(apiError.fields || {})) {
    const control = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    const text = reasonText(reasons);
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      document.getElementById(`${control.id}-error`).textContent = text;
      firstBad = firstBad || control;
    } else unplaced.push(`${name}: ${text}`);
  }
  if (general) general.textContent = [describe(apiError), ...unplaced].join(' ');
  if (firstBad) firstBad.focus();
}

/** The API's reasons for one field as text: a list of sentences, or for a nested field (a
 * map's key, a list's entry) each part named before its reasons: "wash: Must be ...". */
function reasonText(reasons) {
  if (Array.isArray(reasons)) return reasons.map(reasonText).join(' ');
  if (reasons && typeof reasons === 'object') {
    return Object.entries(reasons).map(([part, inner]) => `${/^\d+$/.test(part) ? `第${Number(part) + 1}条` : part}：${reasonText(inner)}`).join(' ');
  }
  return String(reasons);
}

const CODES = {
  not_authenticated: '未登录或登录已失效',
  account_locked: '账号已锁定',
  forbidden: '无权限',
  not_found: '未找到',
  validation_failed: '输入有误',
  insufficient_funds: '余额不足',
  insufficient_points: '积分不足',
  card_not_active: '卡不可用',
  limit_exceeded: '超出消费限额',
  idempotency_mismatch: '重复提交的内容不一致',
  invalid_state: '当前状态不允许此操作',
  already_exists: '已存在',
  outcome_unknown: '结果未知，请用同一操作重试',
  service_unavailable: '服务暂不可用',
  dependency_unavailable: '服务暂不可用，未做任何操作，请稍后重试',
  deadline_exceeded: '超时未处理，请重试',
  network: '网络错误',
};

/** "余额不足：<the API's own message>" */
export function describe(apiError) {
  const label = CODES[apiError.code];
  return label ? `${label}：${apiError.message}` : apiError.message;
}

export function clear(el) { el.replaceChildren(); return el; }

/** A short message in the shared status line (read out by screen readers). */
export function notice(text, kind = 'info') {
  const el = document.getElementById('notice');
  el.textContent = text;
  el.className = `notice ${kind}`;
  el.hidden = !text;
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A back-office form that sends one change: `send(key)` makes the request. The key is made
 * once per confirmation and kept for a retry after a network error, a 503 or a 504 (the same
 * operation); a refusal (4xx) is final for its key, and a change to the form starts anew.
 * The API's reasons are written beside the fields they name. Returns what `send` answered. */
export function keyedSubmit(form, button, send, newKey) {
  let key = null;
  form.addEventListener('input', () => { key = null; });
  return async () => {
    key = key || newKey();
    button.disabled = true;
    showErrors(form, null);
    try {
      return await send(key);
    } catch (error) {
      if (error && error.status >= 400 && error.status < 500) key = null;
      if (error && error.fields !== undefined) { showErrors(form, error); return null; }
      throw error;
    } finally {
      button.disabled = false;
    }
  };
}

/** A table with a header row; cells are text or nodes; `numeric` names columns to align right. */
export function dataTable(headers, rows, { numeric = [], caption = '' } = {}) {
  return h('table', { class: 'list' },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((t, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null }, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) => h('td', { class: numeric.includes(i) ? 'num' : null }, c))))));
}

/** Today (plus `offsetDays`) in the chain's time zone, as the API's days are written
 * (YYYY-MM-DD): the reports count days in the chain's calendar, not the browser's. */
export function today(offsetDays = 0, timeZone = undefined) {
  const when = new Date(Date.now() + offsetDays * 86400000);
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(when);
  } catch {
    return when.toISOString().slice(0, 10); // an unknown zone: the UTC day
  }
}
