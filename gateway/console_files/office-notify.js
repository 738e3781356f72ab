// Back office for messages (N-1..N-5), HQ only as the API allows: each kind's switch and texts
// with the variables it offers, the provider settings (secrets are written, never shown),
// marketing campaigns (draft, send now or at a time, progress), and the message boxes with
// search and retrying a failed message.

import { api, ApiError, newKey } from './api.js';
import { clear, dataTable, field, formatTime, h, keyedSubmit, notice, showErrors } from './dom.js';

const KIND_NAMES = { consume: '消费通知', recharge: '充值通知', tier_change: '等级变更', birthday: '生日祝福', test: '测试', marketing: '营销' };
const STATUS = { draft: '草稿', queued: '待发送', sending: '发送中', sent: '已发送', failed: '失败' };
const CAMPAIGN_STATUS = { draft: '草稿', scheduled: '已预约', running: '发送中', done: '已完成' };
const CHANNEL = { sms: '短信', email: '邮件' };
const errorLine = () => h('p', { class: 'form-error', role: 'alert' });
const option = (value, text, selected = false) => h('option', { value, selected }, text);

export async function notificationsScreen(body, context) {
  const tabs = [['kinds', '模板与开关', kindsPart], ['provider', '服务商设置', providerPart],
    ['campaigns', '营销群发', campaignsPart], ['messages', '消息记录', messagesPart]];
  const out = h('div');
  const open = async (id) => {
    for (const b of bar.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.tab === id));
    clear(out);
    try {
      await tabs.find((t) => t[0] === id)[2](out, context);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      out.append(h('p', { class: 'form-error', role: 'alert' }, error.message));
    }
  };
  const bar = h('div', { class: 'tabs', role: 'toolbar', 'aria-label': '消息设置' },
    tabs.map(([id, title]) => h('button', { type: 'button', dataset: { tab: id }, onclick: () => open(id) }, title)));
  body.append(bar, out);
  await open('kinds');
}

/** Per kind: on/off and its texts; `{variable}` names only what the kind lists (the API says
 * which name it does not know, beside the text that uses it). */
async function kindsPart(out, { path }) {
  const { items } = await api('GET', path('/notifications/kinds'));
  for (const kind of items) {
    const id = (name) => `kind-${kind.kind}-${name}`;
    const form = h('form', { class: 'action wide kind', 'aria-label': `${KIND_NAMES[kind.kind] || kind.kind}模板`, novalidate: true });
    const enabled = h('input', { type: 'checkbox', id: id('enabled'), checked: kind.enabled });
    enabled.dataset.field = 'enabled';
    const sms = field('短信内容', h('textarea', { id: id('sms_text'), rows: 3, maxlength: 1000 }, kind.sms_text), 'sms_text');
    const subject = field('邮件标题', h('input', { id: id('email_subject'), maxlength: 200, value: kind.email_subject }), 'email_subject');
    const email = field('邮件内容', h('textarea', { id: id('email_text'), rows: 3, maxlength: 1000 }, kind.email_text), 'email_text');
    const button = h('button', { type: 'submit', class: 'primary', id: id('save') }, '保存');
    const reset = h('button', { type: 'button', id: id('reset') }, '恢复默认文字');
    form.append(
      h('h2', {}, KIND_NAMES[kind.kind] || kind.kind, kind.customised ? h('span', { class: 'badge' }, '已自定义') : null),
      h('p', { class: 'muted' }, kind.description),
      h('p', { class: 'hint', id: id('variables') }, '可用变量：', kind.variables.map((v) => h('code', {}, `{${v}}`, ' '))),
      h('div', { class: 'field check' }, enabled, h('label', { for: enabled.id }, kind.automatic ? '自动发送' : '启用'),
        h('span', { class: 'muted' }, `　渠道：${CHANNEL[kind.channel] || kind.channel}`)),
      sms.wrap, subject.wrap, email.wrap, errorLine(), h('div', { class: 'toolbar' }, button, reset));
    const save = keyedSubmit(form, button, () => api('PATCH', path(`/notifications/kinds/${kind.kind}`), {
      body: { enabled: enabled.checked, sms_text: sms.input.value, email_subject: subject.input.value, email_text: email.input.value },
    }), newKey);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (await save()) notice(`已保存：${KIND_NAMES[kind.kind] || kind.kind}`, 'ok');
    });
    reset.addEventListener('click', async () => {
      try {
        await api('PATCH', path(`/notifications/kinds/${kind.kind}`), { body: { reset_texts: true } });
        notice(`已恢复默认文字：${KIND_NAMES[kind.kind] || kind.kind}`, 'ok');
        clear(out);
        await kindsPart(out, { path });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        showErrors(form, error);
      }
    });
    out.append(form);
  }
}

/** How SMS and e-mail leave; the secrets are only ever written ("已设置" says one is kept). */
async function providerPart(out, { path }) {
  const p = await api('GET', path('/notifications/provider'));
  const form = h('form', { class: 'action wide', 'aria-label': '服务商设置', novalidate: true });
  const input = (label, name, attrs = {}) => field(label, h('input', { id: `prov-${name}`, ...attrs }), name);
  const smsProvider = field('短信服务商', h('select', { id: 'prov-sms_provider' }, option('record', '仅记录（不发送）', p.sms_provider === 'record'),
    option('http', 'HTTP 接口', p.sms_provider === 'http')), 'sms_provider');
  const baseUrl = input('接口地址', 'http_base_url', { value: p.http_base_url || '', inputmode: 'url' });
  const account = input('账号', 'http_account', { value: p.http_account || '', autocomplete: 'off' });
  const secret = input('密钥（只写）', 'http_secret', { type: 'password', autocomplete: 'new-password', placeholder: p.http_secret_set ? '已设置，留空不变' : '未设置' });
  const timeout = input('超时（毫秒）', 'http_timeout_ms', { type: 'number', value: p.http_timeout_ms });
  const emailProvider = field('邮件服务商', h('select', { id: 'prov-email_provider' }, option('record', '仅记录（不发送）', p.email_provider === 'record'),
    option('smtp', 'SMTP', p.email_provider === 'smtp')), 'email_provider');
  const host = input('SMTP 主机', 'smtp_host', { value: p.smtp_host || '' });
  const port = input('SMTP 端口', 'smtp_port', { type: 'number', value: p.smtp_port });
  const security = field('加密方式', h('select', { id: 'prov-smtp_security' }, ['none', 'starttls', 'ssl'].map((s) => option(s, s, p.smtp_security === s))), 'smtp_security');
  const user = input('SMTP 用户名', 'smtp_username', { value: p.smtp_username || '', autocomplete: 'off' });
  const password = input('SMTP 密码（只写）', 'smtp_password', { type: 'password', autocomplete: 'new-password', placeholder: p.smtp_password_set ? '已设置，留空不变' : '未设置' });
  const from = input('发件地址', 'email_from', { value: p.email_from || '', inputmode: 'email' });
  const attempts = input('最多尝试次数', 'max_attempts', { type: 'number', value: p.max_attempts });
  const retry = input('重试间隔起点（毫秒）', 'retry_base_ms', { type: 'number', value: p.retry_base_ms });
  const quietStart = input('免打扰开始（HH:MM）', 'quiet_start', { value: p.quiet_start || '' });
  const quietEnd = input('免打扰结束（HH:MM）', 'quiet_end', { value: p.quiet_end || '' });
  const rate = input('营销每分钟上限', 'marketing_per_minute', { type: 'number', value: p.marketing_per_minute });
  const button = h('button', { type: 'submit', class: 'primary', id: 'prov-save' }, '保存设置');
  form.append(h('h2', {}, '短信'), h('div', { class: 'row' }, smsProvider.wrap, baseUrl.wrap, account.wrap, secret.wrap, timeout.wrap),
    h('h2', {}, '邮件'), h('div', { class: 'row' }, emailProvider.wrap, host.wrap, port.wrap, security.wrap),
    h('div', { class: 'row' }, user.wrap, password.wrap, from.wrap),
    h('h2', {}, '发送'), h('div', { class: 'row' }, attempts.wrap, retry.wrap, quietStart.wrap, quietEnd.wrap, rate.wrap),
    errorLine(), button);
  const save = keyedSubmit(form, button, () => {
    const body = { sms_provider: smsProvider.input.value, email_provider: emailProvider.input.value, smtp_security: security.input.value,
      quiet_start: quietStart.input.value.trim() || null, quiet_end: quietEnd.input.value.trim() || null };
    // only what is filled in: an empty box leaves the setting (and a secret) as it is
    for (const [f, name] of [[baseUrl, 'http_base_url'], [account, 'http_account'], [secret, 'http_secret'], [host, 'smtp_host'],
      [user, 'smtp_username'], [password, 'smtp_password'], [from, 'email_from']]) {
      if (f.input.value.trim()) body[name] = f.input.value.trim();
    }
    for (const [f, name] of [[timeout, 'http_timeout_ms'], [port, 'smtp_port'], [attempts, 'max_attempts'], [retry, 'retry_base_ms'], [rate, 'marketing_per_minute']]) {
      if (f.input.value.trim()) body[name] = Number(f.input.value);
    }
    return api('PATCH', path('/notifications/provider'), { body });
  }, newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await save()) { notice('服务商设置已保存', 'ok'); clear(out); await providerPart(out, { path }); }
  });
  out.append(form);
}

/** Campaigns (N-4): a draft to a segment, sent now or at a time; progress as it goes. */
async function campaignsPart(out, { path }) {
  const page = await api('GET', path('/notifications/campaigns'), { query: { limit: 50 } });
  const progress = (c) => `${c.progress.sent} 已发 / ${c.progress.failed} 失败 / ${c.progress.queued + c.progress.sending} 待发` + (c.total !== null ? `（共 ${c.total}）` : '');
  out.append(dataTable(['创建时间', '名称', '内容', '状态', '预约时间', '进度', ''], page.items.map((c) => [
    formatTime(c.created_at), c.name, c.text, CAMPAIGN_STATUS[c.status] || c.status, formatTime(c.send_at), progress(c),
    c.status === 'draft' ? sendForm(out, path, c) : '']), { caption: '营销活动' }));
  const form = h('form', { class: 'action wide', 'aria-label': '新建营销草稿', novalidate: true });
  const name = field('活动名称', h('input', { id: 'camp-name', maxlength: 200 }), 'name');
  const text = field('短信内容（可用 {member_name}、{chain_name}）', h('textarea', { id: 'camp-text', rows: 3, maxlength: 1000 }), 'text');
  const tiers = field('会员等级编码（空格分隔，空为全部）', h('input', { id: 'camp-tiers' }), 'segment');
  const month = field('生日月份（空为不限）', h('input', { id: 'camp-month', type: 'number', min: 1, max: 12 }));
  const button = h('button', { type: 'submit', class: 'primary' }, '保存草稿');
  form.append(h('h2', {}, '新建营销草稿'), name.wrap, text.wrap, h('div', { class: 'row' }, tiers.wrap, month.wrap), errorLine(), button);
  const save = keyedSubmit(form, button, (key) => {
    const segment = {};
    const codes = tiers.input.value.split(/\s+/).filter(Boolean);
    if (codes.length) segment.tier_codes = codes;
    if (month.input.value) segment.birthday_month = Number(month.input.value);
    return api('POST', path('/notifications/campaigns'), { key, body: { name: name.input.value.trim(), text: text.input.value, segment } });
  }, newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await save()) { notice('草稿已保存', 'ok'); clear(out); await campaignsPart(out, { path }); }
  });
  out.append(form);
}

function sendForm(out, path, campaign) {
  const form = h('form', { class: 'row', 'aria-label': `发送 ${campaign.name}`, novalidate: true });
  const at = field('预约时间（空为立即）', h('input', { type: 'datetime-local', id: `camp-at-${campaign.id}` }), 'send_at');
  const button = h('button', { type: 'submit', class: 'primary' }, '发送');
  form.append(at.wrap, button, errorLine());
  const send = keyedSubmit(form, button, (key) => api('POST', path(`/notifications/campaigns/${campaign.id}/sends`), {
    key, body: { send_at: at.input.value ? new Date(at.input.value).toISOString() : null },
  }), newKey);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await send()) { notice(`已开始发送：${campaign.name}`, 'ok'); clear(out); await campaignsPart(out, { path }); }
  });
  return form;
}

/** The boxes (N-5): search by phone (exact), kind, channel, status, days; retry a failure. */
async function messagesPart(out, { path }) {
  const phone = field('手机号（完整）', h('input', { id: 'msg-phone', inputmode: 'tel' }), 'phone');
  const kind = field('类型', h('select', { id: 'msg-kind' }, option('', '全部'), Object.entries(KIND_NAMES).map(([k, v]) => option(k, v))), 'kind');
  const status = field('状态', h('select', { id: 'msg-status' }, option('', '全部'), Object.entries(STATUS).map(([k, v]) => option(k, v))), 'status');
  const channel = field('渠道', h('select', { id: 'msg-channel' }, option('', '全部'), Object.entries(CHANNEL).map(([k, v]) => option(k, v))), 'channel');
  const form = h('form', { role: 'search', class: 'row', novalidate: true, 'aria-label': '消息筛选' },
    phone.wrap, kind.wrap, status.wrap, channel.wrap, h('button', { type: 'submit', class: 'primary' }, '查询'), errorLine());
  const list = h('div');
  const load = async () => {
    clear(list);
    showErrors(form, null);
    let page;
    try {
      page = await api('GET', path('/notifications/messages'), { query: {
        phone: phone.input.value.trim(), kind: kind.input.value, status: status.input.value, channel: channel.input.value, limit: 100,
      } });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error);
      return;
    }
    list.append(dataTable(['时间', '类型', '渠道', '收件人', '内容', '状态', '尝试', '错误', ''], page.items.map((m) => [
      formatTime(m.created_at), KIND_NAMES[m.kind] || m.kind, CHANNEL[m.channel] || m.channel, m.recipient || '', m.body || '',
      STATUS[m.status] || m.status, String(m.attempts), m.last_error || '',
      m.status === 'failed' ? h('button', { type: 'button', 'aria-label': `重发 ${m.recipient || ''}`, onclick: async () => {
        try {
          await api('POST', path(`/notifications/messages/${m.id}/retries`), { key: newKey() });
          notice('已重新放入发送队列', 'ok');
          await load();
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          notice(error.message, 'error');
        }
      } }, '重发') : '']), { numeric: [6] }));
    if (!page.items.length) list.append(h('p', { class: 'muted' }, '没有消息。'));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  out.append(form, list);
  await load();
}
