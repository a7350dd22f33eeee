// The chat list: which chats a person has (from their grants), what each holds (messages and
// issue cards, loaded then kept live by the channel's events), unread counts, and the list pane.
// "我的通知" (`user:<id>`) is the stored inbox (inbox.js): its badge is the inbox's unread count.

import { h, mount } from './dom.js';
import { t, setLang, getLang, placeName } from './i18n.js';
import { S, api, emit, hasRole, namePlaces, on, placeLabel } from './state.js';
import { mayRaise } from './rules.js';
import { go, connIndicator } from './ui.js';
import { openRaiseSheet } from './sheets.js';
import { inbox, latestNotification, loadInbox, onInboxEvent } from './inbox.js';

/** The grants' channels of one kind (`home`, `street`, `user`), each once. */
export function channelsOf(kind) {
  const seen = new Set();
  for (const g of S.me.grants) for (const c of g.channels) if (c.startsWith(`${kind}:`)) seen.add(c);
  return [...seen];
}

function placeOf(channel) {
  const id = Number(channel.split(':')[1]);
  return S.places.get(id) || null;
}

/** "Home · Riverside", or just "Home" when no grant names the place. */
function channelTitle(key, channel) {
  const place = placeOf(channel);
  return place ? t(key, { name: placeName(place) }) : t(key, { name: '' }).replace(/ · $/, '');
}

function chat(key, props) {
  const c = { key, items: [], unread: 0, last: '', ...props };
  S.chats.set(key, c);
  return c;
}

/** Fills S.chats for the signed-in person; each chat's `load` fetches it and subscribes. */
export function buildChats() {
  S.chats.clear();
  for (const channel of channelsOf('street')) {
    chat(channel, { kind: 'street', channel, title: () => channelTitle('chat.street', channel) });
  }
  for (const channel of channelsOf('home')) {
    chat(channel, { kind: 'home', channel, title: () => channelTitle('chat.home', channel) });
  }
  chat('mine', { kind: 'mine', title: () => t('chat.mine'), route: '#mine' });
  if (hasRole('grid_worker', 'community_official', 'street_chief')) chat('worker', { kind: 'worker', title: () => t('chat.worker'), route: '#worker' });
  if (hasRole('street_chief', 'community_official')) chat('board', { kind: 'board', title: () => t('chat.board'), route: '#board' });
  for (const channel of channelsOf('user')) inboxChat(channel);
  chat('rooms', { kind: 'rooms', hidden: true });

  for (const c of S.chats.values()) {
    if (!c.channel || c.load) continue;
    c.load = async () => {
      const page = await S.http.messages(c.channel, { limit: 30 });
      c.items = page.messages.reverse().map((m) => ({ type: 'msg', id: m.id, author: m.author, text: m.text, time: m.time }));
      if (c.kind === 'home') {
        const issues = await S.http.issues({ community: Number(c.channel.split(':')[1]), limit: 10 });
        for (const issue of issues.reverse()) addIssueItem(c, issue, issue.updated_at, false);
        c.items.sort((a, b) => a.time - b.time);
      }
      updateLast(c);
      const sub = await S.client.subscribe(c.channel, { onEvent: (ev) => onChannelEvent(c, ev), onReset: () => c.load?.() });
      c.sub = sub;
    };
  }
  // A hidden chat whose load adds one chat per meeting.
  const rooms = S.chats.get('rooms');
  rooms.load = async () => {
    // Those of the caller's communities and street: for a street chief, every community's.
    const meetings = (await api('GET', '/api/meetings')).filter((m) => !['draft', 'cancelled'].includes(m.state));
    await namePlaces(meetings.map((m) => m.place_id));
    for (const m of meetings) {
      const c = chat(`room:${m.id}`, { kind: 'room', meeting: m, title: () => t('chat.room', { name: m.title }), route: `#room/${m.id}` });
      c.last = () => [c.meeting.place_id && placeLabel(c.meeting.place_id), t(`room.state.${c.meeting.state}`)].filter(Boolean).join(' · ');
    }
  };
}

/**
 * "我的通知": the stored inbox, on `user:<id>`. Subscribed before the first page is read, so no
 * notification falls between the two; its unread count is the inbox's, which only a mark read
 * (here or on another device) lowers, not opening the list.
 */
function inboxChat(channel) {
  const c = chat(channel, { kind: 'user', channel, title: () => t('chat.user'), route: '#inbox' });
  Object.defineProperty(c, 'unread', { get: () => inbox.unread, set: () => {}, enumerable: true });
  c.last = () => latestNotification()?.title || '';
  c.load = async () => {
    if (!c.sub) c.sub = await S.client.subscribe(channel, { onEvent: (ev) => onChannelEvent(c, ev), onReset: () => loadInbox().catch(() => {}) });
    await loadInbox();
  };
}

on('inbox', () => renderList());

/** An issue's card in a chat, replacing its older card; `count` marks it unread. */
function addIssueItem(c, issue, time, count = true) {
  c.items = c.items.filter((it) => !(it.type === 'issue' && it.issue.id === issue.id));
  c.items.push({ type: 'issue', issue, time });
  if (count) bump(c);
}

function bump(c) {
  if (!isOpen(c)) c.unread += 1;
  updateLast(c);
  renderList();
  if (isOpen(c)) S.view?.refresh?.();
}

function updateLast(c) {
  const last = c.items[c.items.length - 1];
  if (!last) return;
  c.last = last.type === 'msg' ? `${last.author.name}: ${last.text}` : `[${t(`state.${last.issue.state}`)}] ${last.issue.title}`;
}

/** Whether the chat is the screen shown now. */
export function isOpen(c) {
  return location.hash === `#chat/${c.key}` || (c.route && location.hash === c.route);
}

/** A live event of a chat's channel: into the chat, and into the screens it concerns. */
function onChannelEvent(c, ev) {
  if (ev.kind === 'message') {
    c.items.push({ type: 'msg', id: ev.data.id, author: ev.data.author, text: ev.data.text, time: ev.time });
    bump(c);
  } else if (c.kind === 'user' && onInboxEvent(ev)) {
    // The inbox redrew what shows it.
  } else if (['issue.summary', 'inbox.issue', 'issue.escalated'].includes(ev.kind)) {
    // On `user:<id>` an issue's news reaches the inbox as notifications; the card goes to the
    // issue lists it belongs to.
    if (c.kind !== 'user') addIssueItem(c, ev.data.issue, ev.time);
    if (ev.kind === 'inbox.issue') {
      const worker = S.chats.get('worker');
      const mine = S.chats.get('mine');
      if (worker && ev.data.issue.assignee?.account_id === S.me.id) bump(worker);
      else if (mine && ev.data.issue.assignee?.account_id !== S.me.id) bump(mine);
    }
    if (ev.kind === 'issue.escalated' && S.chats.get('board')) S.view?.refresh?.();
  } else if (ev.kind === 'stats.counters') {
    S.counters = ev.data;
    const board = S.chats.get('board');
    if (board && location.hash === '#board') S.view?.refresh?.();
  }
}

// ---------------------------------------------------------------- the list pane

/** @type {HTMLElement | null} */
let listPane = null;

/** Where `renderList` draws, from the first sign-in on (before it, nothing is drawn). */
export function setListPane(el) {
  listPane = el;
}

export function renderList() {
  if (!listPane) return;
  const avatarText = { street: '街', home: '家', user: '我', room: '客', mine: '诉', worker: '办', board: '统' };
  const items = [...S.chats.values()].filter((c) => !c.hidden);
  const raise = mayRaise();
  mount(
    listPane,
    h(
      'div.bar',
      h('button', { testid: 'lang', onclick: () => (setLang(getLang() === 'zh' ? 'en' : 'zh'), renderList(), emit('route')) }, t('lang.toggle')),
      h('span.title', `${t('chats')} · ${S.me.display_name}`),
      connIndicator(),
    ),
    h(
      'div.scroll',
      items.map((c) =>
        h(
          'button.chat-item',
          {
            testid: `chat-${c.key}`,
            class: `chat-item${isOpen(c) ? ' active' : ''}`,
            onclick: () => go(c.route || `#chat/${c.key}`),
          },
          h(`div.avatar.${c.kind}`, avatarText[c.kind] || '·'),
          h('div.chat-text', h('div.chat-name', c.title()), h('div.chat-last', (typeof c.last === 'function' ? c.last() : c.last) || '')),
          c.unread > 0 && h('span.badge', { testid: 'unread' }, String(c.unread)),
        ),
      ),
    ),
    h(
      'div.bar',
      raise && h('button.primary', { testid: 'raise-issue', onclick: openRaiseSheet }, `＋ ${t('raise')}`),
      h('span.title'),
      hasRole('admin', 'street_chief', 'community_official') && h('button', { testid: 'open-admin', onclick: () => go('#admin/places') }, t('admin.open')),
      h('button', { testid: 'open-account', onclick: () => go('#account') }, t('account.open')),
      h('button', { testid: 'logout', onclick: () => emit('logout') }, t('logout')),
    ),
  );
}
