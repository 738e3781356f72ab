// The console's shell: sign-in, the menu a role may see, and the hash routes (#/desk,
// #/office/stores ...). Screens live in desk.js (the counter) and office.js (back office).

import { api, ApiError, onSignedOut, session } from './api.js';
import { clear, describe, field, h, notice, showErrors } from './dom.js';
import { renderDesk } from './desk.js';
import { OFFICE_SCREENS, renderOffice } from './office.js';

const ROLE_NAMES = {
  platform_admin: '平台管理员',
  hq_admin: '总部管理员',
  franchisee: '加盟商',
  store_manager: '店长',
  cashier: '收银员',
};
const DESK_ROLES = ['hq_admin', 'franchisee', 'store_manager', 'cashier'];

/** The screens a role may open: the console hides the rest (and the API refuses them). */
export function screensFor(role) {
  const screens = [];
  if (DESK_ROLES.includes(role)) screens.push({ path: '#/desk', title: '前台收银' });
  for (const screen of OFFICE_SCREENS) {
    if (screen.roles.includes(role)) screens.push({ path: `#/office/${screen.id}`, title: screen.title });
  }
  return screens;
}

function main() { return document.getElementById('main'); }

function renderSignIn(message) {
  document.getElementById('top').hidden = true;
  const remembered = localStorage.getItem('huiyuan.chain') || '';
  const chain = field('连锁编码', h('input', { name: 'chain', autocomplete: 'organization', value: remembered }), 'chain');
  const user = field('用户名', h('input', { name: 'username', autocomplete: 'username', required: true }), 'username');
  const pass = field('密码', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }), 'password');
  const submit = h('button', { type: 'submit', class: 'primary' }, '登录');
  const form = h('form', { class: 'signin card', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, '会员管理控制台'),
    h('p', { class: 'hint' }, '员工登录（平台管理员可不填连锁编码）'),
    chain.wrap, user.wrap, pass.wrap,
    h('p', { class: 'form-error', role: 'alert', id: 'signin-error' }, message || ''),
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showErrors(form, null);
    submit.disabled = true;
    const body = { username: user.input.value.trim(), password: pass.input.value };
    if (chain.input.value.trim()) body.chain = chain.input.value.trim();
    try {
      const answer = await api('POST', '/auth/sign-in', { body });
      localStorage.setItem('huiyuan.chain', body.chain || '');
      session.set({ token: answer.token, principal: answer.principal, chainCode: body.chain || '' });
      location.hash = screensFor(answer.principal.role)[0]?.path || '#/';
      route();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error);
      pass.input.value = '';
      pass.input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  clear(main()).append(form);
  (user.input.value ? pass.input : remembered ? user.input : chain.input).focus();
}

function renderTop(current) {
  const { principal } = current;
  document.getElementById('top').hidden = false;
  document.getElementById('who').textContent =
    `${principal.display_name}（${ROLE_NAMES[principal.role] || principal.role}）`;
  const nav = clear(document.getElementById('nav'));
  for (const screen of screensFor(principal.role)) {
    const link = h('a', { href: screen.path }, screen.title);
    if (location.hash.startsWith(screen.path)) link.setAttribute('aria-current', 'page');
    nav.append(link);
  }
}

async function signOut() {
  try { await api('POST', '/auth/sign-out'); } catch { /* signed out locally either way */ }
  session.clear();
  notice('');
  // drop the screen from the address without a hashchange, which would redraw the sign-in bare
  history.replaceState(null, '', location.pathname);
  renderSignIn('已退出登录。');
}

// a message to show on the screen a refused route is sent on to
let carried = '';

export function route() {
  const current = session.get();
  if (!current) { renderSignIn(); return; }
  const screens = screensFor(current.principal.role);
  if (!screens.length) {
    renderTop(current);
    clear(main()).append(h('p', {}, '此角色没有可用的控制台页面。'));
    return;
  }
  if (!screens.some((s) => location.hash.startsWith(s.path))) {
    // a screen this role may not open (typed or bookmarked): go to its first screen instead
    if (location.hash && location.hash !== '#/') carried = '您的角色无权访问该页面。';
    location.replace(screens[0].path);
    return; // the hash change routes again
  }
  notice(carried, carried ? 'error' : 'info');
  carried = '';
  renderTop(current);
  const root = clear(main());
  if (location.hash.startsWith('#/desk')) renderDesk(root, current);
  else renderOffice(root, current, location.hash.slice('#/office/'.length));
}

onSignedOut((error) => {
  // the API no longer accepts the token (revoked, expired, account disabled): back to sign-in
  renderSignIn(`登录已失效，请重新登录。（${describe(error)}）`);
});

// a refusal no screen handled itself still reaches the cashier, in the API's words (a 401
// has already gone back to the sign-in page)
window.addEventListener('unhandledrejection', (event) => {
  if (!(event.reason instanceof ApiError)) return;
  event.preventDefault();
  if (event.reason.status !== 401) notice(describe(event.reason), 'error');
});

document.getElementById('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', route);
route();
