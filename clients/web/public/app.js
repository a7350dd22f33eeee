// The Hehe web client: chats (street chief, home, living rooms), the stored inbox of
// notifications, issues from the report to the rating, the grid worker's inbox, the street
// chief's board and the living room. It speaks the protocol only through the SDK (served at
// /sdk/), keeps UI state in memory and the tokens in sessionStorage, and lets the SDK resume
// every channel after a reconnect.
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
import { adminView } from './admin.js';
import { accountView } from './account.js';
import { inboxView } from './inbox.js';
import { notifyPrefsView } from './notify-prefs.js';
import { showSignup } from './signup.js';
import { showInvite } from './invite.js';
import { showForgot } from './password.js';
import { showPending } from './residency.js';

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
  routePublic();
}

/** `location.hash` as [screen, argument]: `#issue/12`, and `#/invite/<code>` (the invite link). */
function parseHash() {
  const [, name, arg] = location.hash.match(/^#\/?([a-z]+)\/?(.*)$/) || [];
  return [name, arg];
}

/** Before signing in: sign-up, an invite, "forgot password", or the sign-in form. */
function routePublic() {
  const [name, arg] = parseHash();
  if (name === 'signup') showSignup(root, start, arg);
  else if (name === 'invite') showInvite(root, start, decodeURIComponent(arg || ''));
  else if (name === 'forgot') showForgot(root);
  else showLogin(root, start);
}

/** Signs out; an invite link keeps its address, so that it can be accepted next. */
function logout() {
  endSession();
  if (parseHash()[0] !== 'invite') history.replaceState(null, '', location.pathname);
  routePublic();
}

async function start() {
  S.me = await S.http.me();
  // A signed-up resident not yet approved has no role: the waiting screen, live.
  if (!S.me.grants.length) {
    connect();
    mainPane = null;
    await showPending(root, start);
    return;
  }
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
  const shown = routes;
  await Promise.all([...S.chats.values()].map((c) => c.load?.().catch(() => {})));
  renderList();
  // A screen opened while the chats loaded stays as it is (drawing it again would drop what
  // was typed into it).
  if (routes === shown) route();
}

function renderShell() {
  const listPane = h('section.pane-list', { testid: 'chat-list' });
  mainPane = h('section.pane-main', { testid: 'main' });
  setListPane(listPane);
  root.className = 'app';
  mount(root, listPane, mainPane);
  renderList();
}

/** How many times a screen was drawn. */
let routes = 0;

function route() {
  if (!mainPane) return;
  routes += 1;
  S.view?.cleanup?.();
  S.view = null;
  const [name, arg] = parseHash();
  // On a phone one pane shows at a time: the open screen, or the chat list.
  root.classList.toggle('show-main', Boolean(name));
  let view = null;
  if (name === 'chat' && S.chats.has(arg)) view = chatView(mainPane, S.chats.get(arg));
  else if (name === 'issue') view = issueView(mainPane, Number(arg));
  else if (name === 'mine') view = issueListView(mainPane, 'mine');
  else if (name === 'worker') view = issueListView(mainPane, 'worker');
  else if (name === 'board') view = boardView(mainPane);
  else if (name === 'room') view = roomView(mainPane, Number(arg));
  else if (name === 'admin') view = adminView(mainPane, arg);
  else if (name === 'account' && arg === 'notify') view = notifyPrefsView(mainPane);
  else if (name === 'account') view = accountView(mainPane);
  else if (name === 'inbox') view = inboxView(mainPane);
  else if (name === 'invite') view = signedInInvite(mainPane);
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
/** An invite link opened while signed in: it is accepted as a new account, after signing out. */
function signedInInvite(main) {
  mount(
    main,
    h(
      'div.page.aa',
      h('div.section', h('h2', t('accept.title')), h('p', t('accept.signOutFirst', { name: S.me.display_name })), h('button.btn', { testid: 'invite-logout', onclick: logout }, t('logout'))),
    ),
  );
  return {};
}

addEventListener('hashchange', () => {
  if (!S.me) routePublic();
  else if (mainPane) route();
});

boot();
