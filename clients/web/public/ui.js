// Small pieces every screen shares: navigation, the screen header with the connection
// indicator, toasts, form fields, bottom sheets, message bubbles and place names.

import { h } from './dom.js';
import { t, getLang } from './i18n.js';
import { S, emit, placeDetail, placeLabel } from './state.js';

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

export function errText(err) {
  return t('error', { code: (err && err.code) || 'network' });
}

export function fmtTime(ms) {
  const d = new Date(ms);
  return d.toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function field(label, input) {
  return h('div.field', h('label', label), input);
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

/** A screen's top bar: back to the chat list, the title, `extra`, the connection state. */
export function header(title, ...extra) {
  return h('div.bar', h('button.back', { testid: 'back', onclick: () => go('#') }, `‹ ${t('back')}`), h('span.title', { testid: 'view-title' }, title), ...extra, connIndicator());
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
