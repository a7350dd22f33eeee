// Small pieces every screen shares: navigation, the screen header with the connection
// indicator, toasts, form fields, bottom sheets, message bubbles and place names.

import { h } from './dom.js';
import { t, getLang } from './i18n.js';
import { S, emit, on, placeDetail, placeLabel } from './state.js';

/** Opens a screen; the same hash again shows it afresh (a hashchange would not fire). */
export function go(hash) {
  if (location.hash === hash) emit('route');
  else location.hash = hash;
}

export function toast(text) {
  const el = h('div.toast', { role: 'status', testid: 'toast' }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 3500);
}

/** The SDK's own codes, which never come from the server: shown in the client's words. */
const LOCAL_CODES = ['network', 'timeout', 'connection_closed', 'bad_response'];

/**
 * What went wrong, for people: the server's sentence (its `message`, Chinese first, English
 * beside it) when it gave one; the client's own words when the server never answered.
 */
export function errText(err) {
  const code = (err && err.code) || 'network';
  const message = err?.message || '';
  // An answer without a body (a route this server lacks, a proxy's error page).
  if (/^http_\d+$/.test(code)) return t('err.http', { status: code.slice(5) });
  if (LOCAL_CODES.includes(code) || !message || message === code || /^HTTP \d+$/.test(message) || /log in first/.test(message)) {
    return t(`err.${code}`) === `err.${code}` ? t('error', { code }) : t(`err.${code}`);
  }
  return message;
}

export function fmtTime(ms) {
  const d = new Date(ms);
  return d.toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

let fieldIds = 0;

/** A labelled form field: the label names the input (for screen readers and a tap on it). */
export function field(label, input, hint) {
  if (!input.id) input.id = `f${++fieldIds}`;
  const help = hint && h('div.hint', { id: `${input.id}-hint` }, hint);
  if (help) input.setAttribute('aria-describedby', help.id);
  // A picker is a box of selects, which are labelled one by one (aria-label).
  const labelFor = ['INPUT', 'SELECT', 'TEXTAREA'].includes(input.tagName) ? { htmlFor: input.id } : { id: `${input.id}-label` };
  if (!labelFor.htmlFor) {
    if (!input.getAttribute('role')) input.setAttribute('role', 'group');
    input.setAttribute('aria-labelledby', labelFor.id);
  }
  return h('div.field', h('label', labelFor, label), input, help);
}

/** A value shown once (an invite code, a reset code) with a button that copies it. */
export function secretBox(label, value, testid) {
  const out = h('output.secret', { testid }, value);
  const copy = h('button.btn.small.secondary', {
    type: 'button',
    testid: `${testid}-copy`,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(value);
        toast(t('copied'));
      } catch {
        // No clipboard (an insecure origin, a refused permission): select it for a manual copy.
        getSelection()?.selectAllChildren(out);
        toast(t('copy.manual'));
      }
    },
  }, t('copy'));
  return h('div.field', h('span.label', label), h('div.secret-row', out, copy));
}

/** A bottom sheet: `build(body, close)` fills it; a tap on the backdrop closes it. */
export function sheet(title, build) {
  const close = () => backdrop.remove();
  const body = h('div.sheet', { role: 'dialog', 'aria-label': title, onclick: (e) => e.stopPropagation() }, h('h2', title));
  const backdrop = h('div.sheet-backdrop', { onclick: close }, body);
  build(body, close);
  document.body.append(backdrop);
  return close;
}

/** Shows the SDK's connection state on an indicator made by `connIndicator`. */
export function setConn(el) {
  el.className = `conn ${S.connState}`;
  el.textContent = t(`conn.${S.connState}`);
  el.dataset.state = S.connState;
}

export function connIndicator() {
  const el = h('span.conn', { testid: 'conn' });
  setConn(el);
  return el;
}

/**
 * The unread notifications beside "back" (a phone shows one pane, so the chat list's badge is
 * out of sight), kept current by the 'inbox' event.
 */
function setBackUnread(el) {
  const n = S.inboxUnread || 0;
  el.replaceChildren(...(n > 0 ? [h('span.badge', { 'aria-hidden': 'true' }, String(n)), h('span.sr-only', t('inbox.unread', { n }))] : []));
}

on('inbox', () => {
  for (const el of document.querySelectorAll('.back-unread')) setBackUnread(el);
});

/** A screen's top bar: back to the chat list, the title, `extra`, the connection state. */
export function header(title, ...extra) {
  const unread = h('span.back-unread', { testid: 'back-unread' });
  setBackUnread(unread);
  return h('div.bar', h('button.back', { testid: 'back', onclick: () => go('#') }, `‹ ${t('back')}`, unread), h('span.title', { testid: 'view-title' }, title), ...extra, connIndicator());
}

export function bubble(author, text, time, mine) {
  return h(
    `div.msg${mine ? '.me' : ''}`,
    { testid: 'bubble' },
    h('div.avatar', (author?.name || '?').slice(0, 1)),
    h('div.msg-body', h('div.msg-author', `${author?.name || t('system')} · ${fmtTime(time)}`), h('div.bubble', text)),
  );
}

/** A span naming a place; filled in when the name arrives. */
export function placeTag(id, attrs = {}) {
  const el = h('span.place', { ...attrs, dataset: { placeId: String(id) } }, placeLabel(id));
  if (!S.places.has(id)) {
    placeDetail(id).then(() => {
      for (const x of document.querySelectorAll(`[data-place-id="${id}"]`)) x.textContent = placeLabel(id);
    });
  }
  return el;
}
