// The console's one door to the public API (/api/v1): the bearer token, the shared JSON
// error shape, idempotency keys, and signing out when the API stops accepting the token.

const BASE = '/api/v1';
// sessionStorage: the token lives as long as this tab and is never sent by the browser on
// its own (unlike a cookie), so another site cannot make requests with it
const STORE = 'huiyuan.session';

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || 'http_' + status;
    // {field: [reasons]}: shown next to the control that names the field
    this.fields = error.fields || {};
  }
}

export const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || 'null'); } catch { return null; }
  },
  set(value) { sessionStorage.setItem(STORE, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(STORE); },
};

let signedOutHandler = () => {};
/** Called once when a request is refused with 401: the token was revoked or expired. */
export function onSignedOut(handler) { signedOutHandler = handler; }

/** A fresh idempotency key. Made once per confirmation and reused on every retry of it, so
 * a double click or a retry after a network error is the same operation to the API. */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function api(method, path, { body, query, key } = {}) {
  const current = session.get();
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (current && current.token) headers.Authorization = `Bearer ${current.token}`;
  if (key) headers['Idempotency-Key'] = key;
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(name, value);
    }
    if ([...params].length) url += '?' + params;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: '网络连接失败，请重试（重试不会重复扣款）。' } });
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    if (response.status === 401 && current && path !== '/auth/sign-in') {
      session.clear();
      signedOutHandler(new ApiError(401, data));
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

/** Every page of a listing (cursor pages), up to `most` items. */
export async function allPages(path, query = {}, most = 1000) {
  const items = [];
  let after = null;
  do {
    const page = await api('GET', path, { query: { ...query, limit: 200, after } });
    items.push(...page.items);
    after = page.next_cursor;
  } while (after && items.length < most);
  return items;
}
