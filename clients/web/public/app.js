// The Hehe web client: chats (street chief, home, inbox, living rooms), issues from the report
// to the rating, the grid worker's inbox, the street chief's board and the living room. It
// speaks the protocol only through the SDK (served at /sdk/), keeps UI state in memory and the
// tokens in sessionStorage, and lets the SDK resume every channel after a reconnect.
//
// This entry point signs in, lays out the two panes and routes `location.hash` to a screen; the
// modules it wires are listed in README.md.

import { h, mount } from './dom.js';
import { t, setLang, getLang } from './i18n.js';
import { S, on, api, connect, endSession, forgetSession, knowPlace, namePlaces, placeDetail, resumeSession, savedSession } from './state.js';
import { setConn } from './ui.js';
import { tickDeadlines } from './cards.js';
import { showLogin } from './login.js';
import { buildChats, channelsOf, isOpen, renderList, setListPane } from './chats.js';
import { chatView } from './channel.js';
import { issueListView, issueView } from './issue.js';
import { boardView } from './board.js';
import { roomView } from './room.js';

const root = /** @type {HTMLElement} */ (document.getElementById('app'));
setLang(getLang());
tickDeadlines();

/** @type {HTMLElement} */
let mainPane;

async function boot() {
  const saved = savedSession();
  if (saved?.refresh) {
    try {
      await resumeSession(saved);
      await start();
      return;
    } catch {
      forgetSession();
    }
  }
  showLogin(root, start);
}

function logout() {
  endSession();
  history.replaceState(null, '', location.pathname);
  showLogin(root, start);
}

async function start() {
  S.me = await S.http.me();
  S.names.set(S.me.id, S.me.display_name);
  for (const g of S.me.grants) knowPlace(g.place);
  // Name the places the chats are about: the grants' places with what lies above and under
  // them (a street chief's communities), then any channel's place still unnamed.
  await Promise.all(S.me.grants.map((g) => g.place && placeDetail(g.place.id)));
  await namePlaces(['home', 'street'].flatMap((k) => channelsOf(k)).map((c) => Number(c.split(':')[1])));
  connect();
  api('GET', '/api/categories').then((c) => (S.categories = c)).catch(() => {});
  buildChats();
  renderShell();
  await Promise.all([...S.chats.values()].map((c) => c.load?.().catch(() => {})));
  renderList();
  route();
}

function renderShell() {
  const listPane = h('section.pane-list', { testid: 'chat-list' });
  mainPane = h('section.pane-main', { testid: 'main' });
  setListPane(listPane);
  root.className = 'app';
  mount(root, listPane, mainPane);
  renderList();
}

function route() {
  S.view?.cleanup?.();
  S.view = null;
  const hash = location.hash;
  const [, name, arg] = hash.match(/^#([a-z]+)\/?(.*)$/) || [];
  // On a phone one pane shows at a time: the open screen, or the chat list.
  root.classList.toggle('show-main', Boolean(name));
  let view = null;
  if (name === 'chat' && S.chats.has(arg)) view = chatView(mainPane, S.chats.get(arg));
  else if (name === 'issue') view = issueView(mainPane, Number(arg));
  else if (name === 'mine') view = issueListView(mainPane, 'mine');
  else if (name === 'worker') view = issueListView(mainPane, 'worker');
  else if (name === 'board') view = boardView(mainPane);
  else if (name === 'room') view = roomView(mainPane, Number(arg));
  if (!view) mount(mainPane, h('div.empty', t('app.title')));
  S.view = view;
  const c = [...S.chats.values()].find((x) => isOpen(x));
  if (c) c.unread = 0;
  renderList();
}

on('route', route);
on('logout', logout);
on('conn', () => {
  for (const el of document.querySelectorAll('.conn')) setConn(el);
});
addEventListener('hashchange', () => S.me && route());

boot();
