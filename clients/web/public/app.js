// The Hehe web client: chats (street chief, home, inbox, living rooms), issues from the report
// to the rating, the grid worker's inbox, the street chief's board and the living room. It
// speaks the protocol only through the SDK (served at /sdk/), keeps UI state in memory and the
// tokens in sessionStorage, and lets the SDK resume every channel after a reconnect.

import { HeheClient, HeheHttp } from '/sdk/hehe.js';
import { h, mount } from './dom.js';
import { t, setLang, getLang, placeName, duration } from './i18n.js';
import { barChart } from './charts.js';

const DEMO_ACCOUNTS = [
  ['resident', 'Wang Fang 王芳'],
  ['resident2', 'Li Wei 李伟'],
  ['lead', 'Zhao Min 赵敏'],
  ['worker', 'Chen Jie 陈杰'],
  ['official', 'Liu Yang 刘洋'],
  ['chief', 'Zhou Hua 周华'],
  ['lakeside', 'Sun Li 孙丽'],
  ['admin', 'Admin 管理员'],
];
const OPEN_STATES = ['submitted', 'accepted', 'dispatched', 'in_progress', 'escalated', 'resolved', 'awaiting_rating'];
const STEP = { submitted: 0, accepted: 1, dispatched: 2, escalated: 2, in_progress: 3, resolved: 4, awaiting_rating: 5, closed: 6, rejected: 6, duplicate: 6 };

/** Everything the UI knows, in memory; survives reconnects (the SDK resumes the channels). */
const S = {
  /** @type {HeheHttp | null} */ http: null,
  /** @type {HeheClient | null} */ client: null,
  me: /** @type {any} */ (null),
  connState: 'idle',
  /** @type {Map<string, any>} */ chats: new Map(),
  categories: /** @type {any[]} */ ([]),
  /** @type {Map<number, any>} */ places: new Map(),
  /** @type {Map<number, string>} */ names: new Map(),
  /** @type {Map<string, string>} */ photoUrls: new Map(),
  view: /** @type {{ cleanup?: () => void, refresh?: () => void } | null} */ (null),
};
// For the end-to-end tests and for debugging from the console.
globalThis.hehe = S;

const root = /** @type {HTMLElement} */ (document.getElementById('app'));
setLang(getLang());

// ---------------------------------------------------------------- helpers

function toast(text) {
  const el = h('div.toast', { role: 'status', testid: 'toast' }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 3500);
}

function errText(err) {
  return t('error', { code: (err && err.code) || 'network' });
}

function hasRole(...roles) {
  return (S.me?.grants || []).some((g) => roles.includes(g.role));
}

function grantPlace(...roles) {
  return (S.me?.grants || []).find((g) => roles.includes(g.role))?.place;
}

/** A JSON request with the bearer token, refreshed once when it expired. */
async function api(method, path, body, retried = false) {
  const init = { method, headers: { accept: 'application/json', authorization: `Bearer ${S.http?.accessToken}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw Object.assign(new Error('network'), { code: 'network' });
  }
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    if (!retried && json?.code === 'token_expired') {
      await S.http.refresh();
      saveSession();
      return api(method, path, body, true);
    }
    throw Object.assign(new Error(json?.message || `HTTP ${res.status}`), { code: json?.code || `http_${res.status}` });
  }
  return json;
}

/** A photo's bytes fetched with the token, shown from a blob URL (an <img> cannot send it). */
async function photoSrc(url) {
  if (S.photoUrls.has(url)) return S.photoUrls.get(url);
  const res = await fetch(url, { headers: { authorization: `Bearer ${S.http?.accessToken}` } });
  if (!res.ok) throw Object.assign(new Error('photo'), { code: `http_${res.status}` });
  const src = URL.createObjectURL(await res.blob());
  S.photoUrls.set(url, src);
  return src;
}

function photoImg(photo) {
  const img = h('img', { alt: photo.kind, testid: `photo-${photo.kind}` });
  photoSrc(photo.url).then((src) => (img.src = src)).catch(() => {});
  return img;
}

async function uploadPhoto(issueId, file, kind) {
  const form = new FormData();
  form.append('kind', kind);
  form.append('file', file);
  return api('POST', `/api/issues/${issueId}/photos`, form);
}

function fmtTime(ms) {
  const d = new Date(ms);
  return d.toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function stateText(issue) {
  let text = t(`state.${issue.state}`);
  if (issue.state === 'closed' && issue.closure_reason) {
    text += ` · ${t(`closure.${issue.closure_reason}`)}`;
    if (issue.rated === false) text += t('closure.notRated');
  }
  return text;
}

function dueText(dueAt) {
  const left = dueAt - Date.now();
  return left >= 0 ? t('issue.due', { left: duration(left) }) : t('issue.overdueBy', { left: duration(-left) });
}

// Deadline countdowns tick in place.
setInterval(() => {
  for (const el of document.querySelectorAll('[data-due]')) {
    const due = Number(/** @type {HTMLElement} */ (el).dataset.due);
    el.textContent = dueText(due);
    el.classList.toggle('late', due < Date.now());
  }
}, 1000);

function issueCard(issue, extra) {
  return h(
    'button.card',
    { testid: `issue-card-${issue.id}`, dataset: { state: issue.state }, onclick: () => go(`#issue/${issue.id}`) },
    h('div.card-head', h(`span.prio.${issue.priority}`), h('span.card-title', issue.title), h(`span.chip.${issue.state}`, { testid: 'chip' }, stateText(issue))),
    h(
      'div.card-meta',
      h('span', issue.reference),
      issue.place_id && placeTag(issue.place_id, { testid: 'issue-place' }),
      issue.assignee && h('span', t('issue.assignee', { name: issue.assignee.name })),
      issue.due_at && OPEN_STATES.includes(issue.state) && h('span.due', { dataset: { due: String(issue.due_at) } }, dueText(issue.due_at)),
      issue.overdue && h('span.due.late', t('issue.overdue')),
      issue.reopen_count > 0 && h('span', t('issue.reopened', { n: issue.reopen_count })),
    ),
    h('div.progress', h(`div.p${STEP[issue.state] ?? 0}`)),
    extra,
  );
}

function sheet(title, build) {
  const close = () => backdrop.remove();
  const body = h('div.sheet', { role: 'dialog', 'aria-label': title, onclick: (e) => e.stopPropagation() }, h('h2', title));
  const backdrop = h('div.sheet-backdrop', { onclick: close }, body);
  build(body, close);
  document.body.append(backdrop);
  return close;
}

function field(label, input) {
  return h('div.field', h('label', label), input);
}

// ---------------------------------------------------------------- places

/** `GET /api/places/{id}` answers, by id: each fetched once (a promise of the detail or null). */
const placeDetails = new Map();

function knowPlace(place) {
  if (place?.id) S.places.set(place.id, place);
}

/** The place, its ancestors and its children (all named in S.places), fetched once per id. */
function placeDetail(id) {
  if (!id) return Promise.resolve(null);
  if (!placeDetails.has(id)) {
    const once = api('GET', `/api/places/${id}`).then(
      (d) => {
        knowPlace(d.place);
        for (const p of [...(d.ancestors || []), ...(d.children || [])]) knowPlace(p);
        return d;
      },
      (e) => {
        // A place the caller may not look up stays unnamed; a network error may be retried.
        if (e.code !== 'not_found') placeDetails.delete(id);
        return null;
      },
    );
    placeDetails.set(id, once);
  }
  return placeDetails.get(id);
}

/** Names the places of `ids` not yet known (one request per id, at most once). */
function namePlaces(ids) {
  return Promise.all([...new Set(ids)].filter((id) => id && !S.places.has(id)).map(placeDetail));
}

/** A place's name in the current language, or its number while (or if) it is unknown. */
function placeLabel(id) {
  const place = S.places.get(id);
  return place ? placeName(place) : `#${id}`;
}

/** A span naming a place; filled in when the name arrives. */
function placeTag(id, attrs = {}) {
  const el = h('span.place', { ...attrs, dataset: { placeId: String(id) } }, placeLabel(id));
  if (!S.places.has(id)) {
    placeDetail(id).then(() => {
      for (const x of document.querySelectorAll(`[data-place-id="${id}"]`)) x.textContent = placeLabel(id);
    });
  }
  return el;
}

// ---------------------------------------------------------------- session

function saveSession() {
  if (!S.http) return;
  sessionStorage.setItem(
    'hehe.session',
    JSON.stringify({ access: S.http.accessToken, refresh: S.http.refreshToken, expires: S.http.accessExpiresAt }),
  );
}

async function boot() {
  const saved = JSON.parse(sessionStorage.getItem('hehe.session') || 'null');
  if (saved?.refresh) {
    S.http = new HeheHttp({ baseUrl: location.origin, accessToken: saved.access, refreshToken: saved.refresh });
    S.http.accessExpiresAt = saved.expires || 0;
    try {
      if (S.http.accessExpiresAt && S.http.accessExpiresAt - Date.now() < 60_000) await S.http.refresh();
      saveSession();
      await start();
      return;
    } catch {
      sessionStorage.removeItem('hehe.session');
    }
  }
  showLogin();
}

function showLogin(error = '') {
  const user = h('input', { name: 'username', autocomplete: 'username', testid: 'login-username', required: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', testid: 'login-password', required: true });
  const err = h('div.error', { testid: 'login-error' }, error);
  const form = h(
    'form.login',
    {
      testid: 'login',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        S.http = new HeheHttp({ baseUrl: location.origin });
        try {
          await S.http.login(user.value.trim(), pass.value);
          saveSession();
          await start();
        } catch (e2) {
          err.textContent = t('login.failed', { code: e2.code || 'network' });
        }
      },
    },
    h('img.logo', { src: '/web/icon.svg', alt: '' }),
    h('h1', t('login.title')),
    field(t('login.username'), user),
    field(t('login.password'), pass),
    h('button.btn', { type: 'submit', testid: 'login-submit' }, t('login.submit')),
    err,
    h(
      'div.demo',
      { testid: 'demo-accounts' },
      h('div', t('login.demo')),
      h(
        'ul',
        DEMO_ACCOUNTS.map(([u, name]) =>
          h('li', h('button', { type: 'button', onclick: () => ((user.value = u), (pass.value = 'hehe-demo'), pass.focus()) }, `${u} · ${name}`)),
        ),
      ),
    ),
    h('button.btn.secondary', { type: 'button', onclick: () => (setLang(getLang() === 'zh' ? 'en' : 'zh'), showLogin()) }, t('lang.toggle')),
  );
  root.className = 'app';
  mount(root, form);
}

function logout() {
  S.client?.close();
  S.client = null;
  S.me = null;
  S.chats.clear();
  S.places.clear();
  placeDetails.clear();
  sessionStorage.removeItem('hehe.session');
  history.replaceState(null, '', location.pathname);
  showLogin();
}

async function start() {
  S.me = await S.http.me();
  S.names.set(S.me.id, S.me.display_name);
  for (const g of S.me.grants) knowPlace(g.place);
  // Name the places the chats are about: the grants' places with what lies above and under
  // them (a street chief's communities), then any channel's place still unnamed.
  await Promise.all(S.me.grants.map((g) => g.place && placeDetail(g.place.id)));
  await namePlaces(['home', 'street'].flatMap((k) => channelsOf(k)).map((c) => Number(c.split(':')[1])));
  const provider = S.http.tokenProvider();
  S.client = new HeheClient({
    url: location.origin,
    getToken: async (reason) => {
      const token = await provider(reason);
      saveSession();
      return token;
    },
  });
  S.client.on('state', (st) => {
    S.connState = st;
    for (const el of document.querySelectorAll('.conn')) setConn(el);
  });
  S.client.on('closed', ({ error }) => {
    if (error && ['invalid_token', 'token_expired', 'unauthenticated'].includes(error.code)) logout();
  });
  addEventListener('online', () => S.client?.reconnectNow());
  api('GET', '/api/categories').then((c) => (S.categories = c)).catch(() => {});
  buildChats();
  renderShell();
  await Promise.all([...S.chats.values()].map((c) => c.load?.().catch(() => {})));
  renderList();
  route();
}

// ---------------------------------------------------------------- chats

function channelsOf(kind) {
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

function buildChats() {
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
  for (const channel of channelsOf('user')) chat(channel, { kind: 'user', channel, title: () => t('chat.user') });
  chat('rooms', { kind: 'rooms', hidden: true });

  for (const c of S.chats.values()) {
    if (!c.channel) continue;
    c.load = async () => {
      if (c.kind !== 'user') {
        const page = await S.http.messages(c.channel, { limit: 30 });
        c.items = page.messages.reverse().map((m) => ({ type: 'msg', id: m.id, author: m.author, text: m.text, time: m.time }));
      }
      if (c.kind === 'home') {
        const issues = await S.http.issues({ community: Number(c.channel.split(':')[1]), limit: 10 });
        for (const issue of issues.reverse()) addIssueItem(c, issue, issue.updated_at, false);
        c.items.sort((a, b) => a.time - b.time);
      }
      if (c.kind === 'user') {
        const issues = await S.http.issues(hasRole('resident', 'building_lead') ? { mine: true, limit: 10 } : { assignee: S.me.id, limit: 10 });
        for (const issue of issues.reverse()) addIssueItem(c, issue, issue.updated_at, false);
      }
      updateLast(c);
      const sub = await S.client.subscribe(c.channel, { onEvent: (ev) => onChannelEvent(c, ev), onReset: () => c.load?.() });
      c.sub = sub;
    };
  }
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

function isOpen(c) {
  return location.hash === `#chat/${c.key}` || (c.route && location.hash === c.route);
}

function onChannelEvent(c, ev) {
  if (ev.kind === 'message') {
    c.items.push({ type: 'msg', id: ev.data.id, author: ev.data.author, text: ev.data.text, time: ev.time });
    bump(c);
  } else if (['issue.summary', 'inbox.issue', 'issue.escalated'].includes(ev.kind)) {
    addIssueItem(c, ev.data.issue, ev.time);
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

// ---------------------------------------------------------------- shell and list

let listPane, mainPane;

function renderShell() {
  listPane = h('section.pane-list', { testid: 'chat-list' });
  mainPane = h('section.pane-main', { testid: 'main' });
  root.className = 'app';
  mount(root, listPane, mainPane);
  renderList();
}

function setConn(el) {
  el.className = `conn ${S.connState}`;
  el.textContent = t(`conn.${S.connState}`);
  el.dataset.state = S.connState;
}

function connIndicator() {
  const el = h('span.conn', { testid: 'conn' });
  setConn(el);
  return el;
}

function renderList() {
  if (!listPane) return;
  const avatarText = { street: '街', home: '家', user: '我', room: '客', mine: '诉', worker: '办', board: '统' };
  const items = [...S.chats.values()].filter((c) => !c.hidden);
  const raise = hasRole(...RAISERS);
  mount(
    listPane,
    h(
      'div.bar',
      h('button', { testid: 'lang', onclick: () => (setLang(getLang() === 'zh' ? 'en' : 'zh'), renderList(), route()) }, t('lang.toggle')),
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
      h('button', { testid: 'logout', onclick: logout }, t('logout')),
    ),
  );
}

// ---------------------------------------------------------------- routing

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}
addEventListener('hashchange', () => S.me && route());

function route() {
  S.view?.cleanup?.();
  S.view = null;
  const hash = location.hash;
  const [, name, arg] = hash.match(/^#([a-z]+)\/?(.*)$/) || [];
  root.classList.toggle('show-main', Boolean(name));
  let view = null;
  if (name === 'chat' && S.chats.has(arg)) view = chatView(S.chats.get(arg));
  else if (name === 'issue') view = issueView(Number(arg));
  else if (name === 'mine') view = issueListView('mine');
  else if (name === 'worker') view = issueListView('worker');
  else if (name === 'board') view = boardView();
  else if (name === 'room') view = roomView(Number(arg));
  if (!view) mount(mainPane, h('div.empty', t('app.title')));
  S.view = view;
  const c = [...S.chats.values()].find((x) => isOpen(x));
  if (c) c.unread = 0;
  renderList();
}

function header(title, ...extra) {
  return h('div.bar', h('button.back', { testid: 'back', onclick: () => go('#') }, `‹ ${t('back')}`), h('span.title', { testid: 'view-title' }, title), ...extra, connIndicator());
}

// ---------------------------------------------------------------- conversation

function canPost(channel) {
  if (hasRole('admin')) return true;
  if (channel.startsWith('street:')) return hasRole('street_chief');
  if (channel.startsWith('home:')) return hasRole('street_chief', 'community_official');
  return false;
}

function bubble(author, text, time, mine) {
  return h(
    `div.msg${mine ? '.me' : ''}`,
    { testid: 'bubble' },
    h('div.avatar', (author?.name || '?').slice(0, 1)),
    h('div.msg-body', h('div.msg-author', `${author?.name || t('system')} · ${fmtTime(time)}`), h('div.bubble', text)),
  );
}

function chatView(c) {
  const list = h('div.msgs', { testid: 'messages' });
  const scroller = h('div.scroll', list);
  const render = () => {
    mount(
      list,
      c.items.length ? c.items.map((it) => (it.type === 'msg' ? bubble(it.author, it.text, it.time, it.author?.account_id === S.me.id) : issueCard(it.issue))) : h('div.empty', t('chat.empty')),
    );
    scroller.scrollTop = scroller.scrollHeight;
  };
  let composer = null;
  if (canPost(c.channel)) {
    const input = h('input', { testid: 'composer-input', placeholder: t('composer.placeholder'), maxLength: 2000 });
    const err = h('div.error', { testid: 'composer-error' });
    composer = h(
      'form.composer',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const text = input.value.trim();
          if (!text) return;
          err.textContent = '';
          try {
            await S.client.post(c.channel, text);
            input.value = '';
          } catch (e2) {
            toast(errText(e2));
          }
        },
      },
      input,
      h('button.btn', { testid: 'composer-send' }, t('send')),
    );
  }
  mount(mainPane, header(c.title()), scroller, composer);
  render();
  return { refresh: render };
}

// ---------------------------------------------------------------- issue lists

function issueListView(kind) {
  const list = h('div.page', { testid: `${kind}-list` }, h('div.empty', t('loading')));
  const load = async () => {
    const filter = kind === 'mine' ? { mine: true } : hasRole('grid_worker') ? { assignee: S.me.id } : { state: 'submitted,accepted,escalated,dispatched,in_progress,resolved' };
    const issues = await S.http.issues({ ...filter, limit: 50 });
    mount(
      list,
      issues.length
        ? issues.map((issue) => issueCard(issue, kind === 'worker' && issue.state === 'dispatched' && issue.assignee?.account_id === S.me.id && quickAck(issue)))
        : h('div.empty', t('chat.empty')),
    );
  };
  mount(mainPane, header(kind === 'mine' ? t('chat.mine') : t('chat.worker')), h('div.scroll', list));
  load().catch((e) => mount(list, h('div.error', errText(e))));
  return { refresh: () => load().catch(() => {}) };
}

function quickAck(issue) {
  return h(
    'div.actions',
    h(
      'button.btn.small',
      {
        testid: `ack-${issue.id}`,
        onclick: async (e) => {
          e.stopPropagation();
          try {
            await S.client.issueAction(issue.id, { kind: 'acknowledge' });
            S.view?.refresh?.();
          } catch (e2) {
            toast(errText(e2));
          }
        },
      },
      t('act.acknowledge'),
    ),
  );
}

// ---------------------------------------------------------------- issue page

function issueView(id) {
  const page = h('div.page', { testid: 'issue-page' }, h('div.empty', t('loading')));
  let detail = null;
  let sub = null;
  let closed = false;
  const onEvent = (ev) => {
    if (ev.kind !== 'issue.updated' || !detail) return;
    detail.issue = ev.data.issue;
    if (ev.data.event && !detail.timeline.some((e) => e.seq === ev.data.event.seq)) detail.timeline.push(ev.data.event);
    const photo = ev.data.event?.kind === 'photo' && ev.data.event.data?.photo;
    if (photo && !(detail.photos || []).some((p) => p.id === photo.id)) detail.photos = [...(detail.photos || []), photo];
    render();
  };
  const render = () => {
    if (!detail) return;
    const issue = detail.issue;
    const photos = detail.photos || [];
    const byKind = (k) => photos.filter((p) => p.kind === k);
    mount(
      page,
      h(
        'div.section',
        h('div.card-head', h(`span.prio.${issue.priority}`), h('span.card-title', { testid: 'issue-title' }, issue.title), h(`span.chip.${issue.state}`, { testid: 'issue-state', dataset: { state: issue.state } }, stateText(issue))),
        h(
          'div.card-meta',
          h('span', issue.reference),
          issue.place_id && placeTag(issue.place_id, { testid: 'issue-place' }),
          issue.assignee && h('span', { testid: 'issue-assignee' }, t('issue.assignee', { name: issue.assignee.name })),
          issue.due_at && OPEN_STATES.includes(issue.state) && h('span.due', { dataset: { due: String(issue.due_at) } }, dueText(issue.due_at)),
          issue.overdue && h('span.due.late', t('issue.overdue')),
        ),
        h('div.progress', h(`div.p${STEP[issue.state] ?? 0}`)),
        detail.description && h('div', detail.description),
      ),
      actionsFor(detail),
      photos.length > 0 &&
        h(
          'div.section',
          { testid: 'photos' },
          ['before', 'after', 'evidence'].map((k) => byKind(k).length > 0 && [h('h3', t(`issue.${k}`)), h('div.photos', byKind(k).map(photoImg))]),
        ),
      h(
        'div.section',
        h('h3', t('issue.timeline')),
        h(
          'ol.timeline',
          { testid: 'timeline' },
          detail.timeline.map((e) =>
            h(
              'li',
              { dataset: { kind: e.kind } },
              h('div', h('b', e.actor?.name || t('system')), ' ', t(`entry.${e.kind}`), e.to ? ` → ${t(`state.${e.to}`)}` : ''),
              e.text && h('div', { testid: 'entry-text' }, e.text),
              h('div.when', fmtTime(e.time)),
            ),
          ),
        ),
      ),
    );
  };
  const load = async () => {
    detail = await S.http.issue(id);
    render();
  };
  mount(mainPane, header(`#${id}`), h('div.scroll', page));
  (async () => {
    try {
      await load();
      const channel = `issue:${id}`;
      sub = S.client.subscription(channel);
      if (!sub) sub = await S.client.subscribe(channel, { onReset: () => load() });
      if (closed) return;
      sub.on('event', onEvent);
      await load(); // anything that happened while subscribing
    } catch (e) {
      if (!detail) mount(page, h('div.error', errText(e)));
    }
  })();
  return {
    refresh: () => load().catch(() => {}),
    cleanup: () => {
      closed = true;
      sub?.off('event', onEvent);
    },
  };
}

function actionsFor(detail) {
  const issue = detail.issue;
  const me = S.me.id;
  const isAssignee = issue.assignee?.account_id === me;
  const isReporter = detail.reporter ? detail.reporter.account_id === me : false;
  const official = hasRole('community_official', 'street_chief', 'admin');
  const buttons = [];
  const act = (kind, label, action, cls = '') =>
    h(`button.btn.small${cls}`, {
      testid: `act-${kind}`,
      onclick: async () => {
        try {
          await S.client.issueAction(issue.id, action());
        } catch (e) {
          toast(errText(e));
        }
      },
    }, label);
  const withReason = (kind, label, build) =>
    h('button.btn.small.secondary', {
      testid: `act-${kind}`,
      onclick: () =>
        sheet(label, (body, close) => {
          const input = h('textarea', { testid: 'reason', rows: 3 });
          body.append(
            field(kind === 'dispatch' ? t('act.assignee') : t('act.reason'), input),
            h('button.btn', {
              testid: 'sheet-submit',
              onclick: async () => {
                try {
                  await S.client.issueAction(issue.id, build(input.value.trim()));
                  close();
                } catch (e) {
                  toast(errText(e));
                }
              },
            }, label),
          );
        }),
    }, label);
  if (isAssignee && issue.state === 'dispatched') buttons.push(act('acknowledge', t('act.acknowledge'), () => ({ kind: 'acknowledge' })));
  if ((isAssignee || official) && OPEN_STATES.includes(issue.state)) buttons.push(h('button.btn.small', { testid: 'act-progress', onclick: () => openProgressSheet(issue) }, t('act.progress')));
  if (isAssignee && issue.state === 'in_progress') buttons.push(act('complete', t('act.complete'), () => ({ kind: 'complete' })));
  if (isAssignee && ['dispatched', 'in_progress'].includes(issue.state)) buttons.push(withReason('return', t('act.return'), (reason) => ({ kind: 'return', reason })));
  if ((isAssignee || official) && ['accepted', 'dispatched', 'in_progress', 'escalated'].includes(issue.state) && issue.level !== 'street')
    buttons.push(withReason('escalate', t('act.escalate'), (reason) => ({ kind: 'escalate', reason })));
  if (official && issue.state === 'submitted') buttons.push(act('accept', t('act.accept'), () => ({ kind: 'accept' })));
  if (official && ['submitted', 'accepted'].includes(issue.state)) buttons.push(withReason('reject', t('act.reject'), (reason) => ({ kind: 'reject', reason })));
  if (official && ['accepted', 'escalated'].includes(issue.state)) buttons.push(withReason('dispatch', t('act.dispatch'), (v) => ({ kind: 'dispatch', assignee: Number(v) })));
  if (official && issue.state === 'resolved') {
    buttons.push(act('verify_ok', t('act.verify_ok'), () => ({ kind: 'verify_ok' })));
    buttons.push(withReason('verify_fail', t('act.verify_fail'), (reason) => ({ kind: 'verify_fail', reason })));
  }
  if (isReporter && issue.state === 'awaiting_rating') {
    buttons.push(h('button.btn.small', { testid: 'act-rate', onclick: () => openRateSheet(issue, true) }, t('act.rate')));
    buttons.push(h('button.btn.small.danger', { testid: 'act-reopen', onclick: () => openRateSheet(issue, false) }, t('act.reopen')));
  }
  if (isReporter && ['submitted', 'accepted', 'dispatched', 'in_progress', 'escalated'].includes(issue.state)) buttons.push(act('withdraw', t('act.withdraw'), () => ({ kind: 'withdraw' }), '.secondary'));
  if (!isReporter && !detail.following && OPEN_STATES.includes(issue.state)) buttons.push(act('follow', t('act.follow'), () => ({ kind: 'follow' }), '.secondary'));
  return buttons.length ? h('div.section', h('div.actions', { testid: 'issue-actions' }, buttons)) : null;
}

function openProgressSheet(issue) {
  sheet(t('act.progress'), (body, close) => {
    const text = h('textarea', { testid: 'progress-text', rows: 3 });
    const file = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', testid: 'progress-photo' });
    const err = h('div.error');
    const send = h('button.btn', {
      testid: 'progress-submit',
      onclick: async () => {
        send.disabled = true;
        try {
          if (file.files?.[0]) await uploadPhoto(issue.id, file.files[0], issue.assignee?.account_id === S.me.id ? 'after' : 'evidence');
          if (text.value.trim()) await S.client.issueAction(issue.id, { kind: 'post_update', text: text.value.trim() });
          close();
        } catch (e) {
          err.textContent = errText(e);
          send.disabled = false;
        }
      },
    }, t('send'));
    body.append(field(t('act.text'), text), field(t('act.afterPhoto'), file), err, send);
  });
}

function openRateSheet(issue, resolved) {
  sheet(resolved ? t('rate.title') : t('act.reopen'), (body, close) => {
    let stars = resolved ? 5 : 2;
    let satisfaction = resolved ? 'satisfied' : 'unsatisfied';
    const starRow = h('div.stars', { testid: 'stars' });
    const drawStars = () =>
      mount(starRow, [1, 2, 3, 4, 5].map((n) => h(`button${n <= stars ? '.on' : ''}`, { type: 'button', testid: `star-${n}`, 'aria-label': String(n), onclick: () => ((stars = n), drawStars()) }, '★')));
    drawStars();
    const seg = h('div.seg');
    const drawSeg = () =>
      mount(seg, ['satisfied', 'basic', 'unsatisfied'].map((k) => h(`button${k === satisfaction ? '.on' : ''}`, { type: 'button', onclick: () => ((satisfaction = k), drawSeg()) }, t(`rate.${k}`))));
    drawSeg();
    const comment = h('textarea', { testid: 'rate-comment', rows: 3 });
    const err = h('div.error');
    body.append(
      h('div.label', t('rate.stars')),
      starRow,
      h('div.label', t('rate.satisfaction')),
      seg,
      field(t('rate.comment'), comment),
      err,
      h('button.btn', {
        testid: 'rate-submit',
        onclick: async () => {
          const action = { kind: 'rate', resolved, stars, satisfaction };
          if (comment.value.trim()) action.comment = comment.value.trim();
          try {
            await S.client.issueAction(issue.id, action);
            close();
          } catch (e) {
            err.textContent = errText(e);
          }
        },
      }, t('rate.submit')),
    );
  });
}

// ---------------------------------------------------------------- raising an issue

const RAISERS = ['resident', 'building_lead', 'grid_worker', 'community_official', 'street_chief'];

/**
 * The building picker: from the caller's grant place down through its children (street →
 * communities → grids → buildings), one select a level. Issues are raised on a grid or a
 * building (PROTOCOL.md §10), so a grid's select offers "the whole grid" first and a street's or
 * community's asks for a choice; a building lead picks their building or the grid around it.
 * `onChange(id)` gets the chosen grid or building, or null while there is none.
 */
function placePicker(onChange) {
  const box = h('div.picker', { testid: 'raise-place' });
  const roots = [];
  for (const g of S.me.grants) if (RAISERS.includes(g.role) && g.place && !roots.some((p) => p.id === g.place.id)) roots.push(g.place);
  let chosen = null;
  let generation = 0;
  const choose = (id) => {
    const place = S.places.get(id);
    const next = place && ['grid', 'building'].includes(place.kind) ? id : null;
    if (next !== chosen) onChange((chosen = next));
  };
  /** A level: its options ({ place, expand, label }), the kind it lists and its placeholder. */
  const optionsUnder = async (node) => {
    const kids = (await placeDetail(node.id))?.children || [];
    if (node.kind === 'grid') {
      return { kind: 'building', options: [{ place: node, label: t('raise.wholeGrid', { name: placeName(node) }) }, ...kids.map((p) => ({ place: p }))] };
    }
    const kind = node.kind === 'street' ? 'community' : 'grid';
    return { kind, placeholder: t(`raise.pick.${kind}`), options: kids.map((p) => ({ place: p, expand: true })) };
  };
  const addLevel = async (depth, level, preselect) => {
    while (box.children.length > depth) box.lastElementChild?.remove();
    if (!level.options.length) return choose(null);
    const select = h(
      'select',
      { testid: `raise-${level.kind}`, 'aria-label': t(`raise.level.${level.kind}`) },
      level.placeholder && h('option', { value: '' }, level.placeholder),
      level.options.map((o) => h('option', { value: String(o.place.id) }, o.label || placeName(o.place))),
    );
    if (preselect) select.value = String(preselect);
    const picked = async () => {
      generation += 1;
      const id = Number(select.value);
      const option = level.options.find((o) => o.place.id === id);
      while (box.children.length > depth + 1) box.lastElementChild?.remove();
      choose(id || null);
      if (option?.expand) await expandFrom(option.place, depth + 1);
    };
    select.addEventListener('change', picked);
    box.append(select);
    await picked();
  };
  const expandFrom = async (node, depth) => {
    const mine = generation;
    const level = await optionsUnder(node);
    if (mine !== generation) return;
    // Only one grid in a community (or community in a street): it is picked already.
    const only = level.placeholder && level.options.length === 1 ? level.options[0].place.id : null;
    await addLevel(depth, level, only);
  };
  (async () => {
    if (roots.length === 1 && roots[0].kind !== 'building') return expandFrom(roots[0], 0);
    // A building lead: their building or the grid around it; several grants: one of them.
    const options = [];
    for (const root of roots) {
      if (root.kind === 'building') {
        const grid = S.places.get(root.parent_id);
        if (grid && roots.length === 1) options.push({ place: grid, label: t('raise.wholeGrid', { name: placeName(grid) }) });
        options.push({ place: root });
      } else options.push({ place: root, expand: true });
    }
    const kind = roots.length === 1 ? 'building' : 'scope';
    await addLevel(0, { kind, options }, roots.length === 1 ? roots[0].id : null);
  })().catch(() => {});
  return box;
}

function openRaiseSheet() {
  sheet(t('raise'), (body, close) => {
    const category = h('select', { testid: 'raise-category' }, S.categories.map((c) => h('option', { value: c.code }, getLang() === 'zh' ? c.name_zh : c.name)));
    let placeId = null;
    // Staff and building leads may raise an issue for a resident (a building lead must).
    const onBehalf = hasRole('building_lead', 'grid_worker', 'community_official', 'street_chief')
      ? h('input', { type: 'number', min: 1, testid: 'raise-on-behalf', inputMode: 'numeric' })
      : null;
    const leadOnly = !hasRole(...RAISERS.filter((r) => r !== 'building_lead'));
    const title = h('input', { testid: 'raise-title', maxLength: 120 });
    const description = h('textarea', { testid: 'raise-description', rows: 3 });
    const photo = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', testid: 'raise-photo' });
    const pub = h('input', { type: 'checkbox', checked: true });
    const similar = h('div', { testid: 'similar' });
    const err = h('div.error', { testid: 'raise-error' });
    let asked = 0;
    const findSimilar = async () => {
      const mine = ++asked;
      mount(similar);
      if (!placeId || !category.value) return;
      try {
        const list = await api('GET', `/api/issues/similar?category=${encodeURIComponent(category.value)}&place_id=${placeId}`);
        if (!list.length || mine !== asked) return;
        mount(
          similar,
          h('div.label', t('raise.similar')),
          list.map((issue) =>
            h(
              'div.section',
              h('div', h('b', issue.title), ' ', h(`span.chip.${issue.state}`, stateText(issue))),
              h('button.btn.small.secondary', {
                testid: `metoo-${issue.id}`,
                onclick: async (e) => {
                  try {
                    await S.client.issueAction(issue.id, { kind: 'me_too', note: description.value.trim() || undefined });
                    /** @type {HTMLButtonElement} */ (e.target).textContent = t('raise.metooDone');
                  } catch (e2) {
                    toast(errText(e2));
                  }
                },
              }, t('raise.metoo')),
            ),
          ),
        );
      } catch {
        /* similar issues are a hint only */
      }
    };
    category.addEventListener('change', findSimilar);
    const picker = placePicker((id) => {
      placeId = id;
      findSimilar();
    });
    const submit = h('button.btn', {
      testid: 'raise-submit',
      onclick: async () => {
        err.textContent = '';
        if (!placeId || (leadOnly && !Number(onBehalf?.value))) {
          err.textContent = t(placeId ? 'raise.onBehalfNeeded' : 'raise.pickPlace');
          return;
        }
        submit.disabled = true;
        try {
          const issue = await S.http.submitIssue({
            category: category.value,
            title: title.value.trim(),
            description: description.value.trim(),
            place_id: placeId,
            public: pub.checked,
            on_behalf_of: Number(onBehalf?.value) || undefined,
          });
          if (photo.files?.[0]) await uploadPhoto(issue.id, photo.files[0], 'before');
          close();
          go(`#issue/${issue.id}`);
        } catch (e) {
          err.textContent = errText(e);
          submit.disabled = false;
        }
      },
    }, t('raise.submit'));
    body.append(
      field(t('raise.category'), category),
      field(t('raise.place'), picker),
      onBehalf ? field(t(leadOnly ? 'raise.onBehalfLead' : 'raise.onBehalf'), onBehalf) : '',
      field(t('raise.title'), title),
      field(t('raise.description'), description),
      field(t('raise.photo'), photo),
      h('label.check', pub, t('raise.public')),
      similar,
      err,
      h('div.actions', submit, h('button.btn.secondary', { type: 'button', onclick: close }, t('cancel'))),
    );
  });
}

// ---------------------------------------------------------------- street chief board

function boardView() {
  const street = grantPlace('street_chief');
  const community = grantPlace('community_official');
  const place = street || community;
  const page = h('div.page', { testid: 'board' }, h('div.empty', t('loading')));
  let stats = null;
  const gridStats = new Map();
  /** @type {Map<number, number[]>} the places directly under a place, from GET /api/places */
  const under = new Map();
  let escalations = [];
  let overdue = [];
  const label = placeLabel;
  /** A chart's rows: every place under `parent` (none left out for having no issues), then any
   *  other the figures name; `parts` as [id, open, overdue]. */
  const rowsUnder = (parent, parts) => {
    const kids = under.get(parent) || [];
    const ids = [...kids, ...parts.map(([id]) => id).filter((id) => !kids.includes(id))];
    return ids.map((id) => {
      const [, o = 0, d = 0] = parts.find(([pid]) => pid === id) || [];
      return { label: label(id), values: [o, d] };
    });
  };
  const render = () => {
    if (!stats) return;
    const counters = S.counters && street && S.counters.street_id === street.id ? S.counters : null;
    const open = counters ? counters.open : stats.overall.open;
    const od = counters ? counters.overdue : stats.overall.overdue;
    const rows = rowsUnder(
      place.id,
      counters ? counters.communities.map((c) => [c.community_id, c.open, c.overdue]) : stats.parts.map((p) => [p.place_id, p.open, p.overdue]),
    );
    const series = { series: [t('board.open'), t('board.overdue')], classes: ['open', 'overdue'] };
    mount(
      page,
      h(
        'div.section',
        h('h3', `${t('board.title')} · ${placeName(place)}`),
        h(
          'div.figures',
          h('div.figure', h('b', { testid: 'board-open' }, String(open)), t('board.open')),
          h('div.figure', h('b', { testid: 'board-overdue' }, String(od)), t('board.overdue')),
          h('div.figure', h('b', String(stats.overall.fixed)), t('closure.fixed')),
        ),
      ),
      h('div.section', h('h3', street ? t('board.communities') : t('board.grids', { name: placeName(place) })), barChart(rows, series)),
      [...gridStats.entries()].map(([cid, st]) =>
        h('div.section', { testid: `board-grids-${cid}` }, h('h3', t('board.grids', { name: label(cid) })), barChart(rowsUnder(cid, st.parts.map((p) => [p.place_id, p.open, p.overdue])), series)),
      ),
      h('div.section', h('h3', t('board.escalations')), escalations.length ? escalations.map((i) => issueCard(i)) : h('div.empty', t('board.none'))),
      h('div.section', h('h3', t('board.overdueList')), overdue.length ? overdue.map((i) => issueCard(i)) : h('div.empty', t('board.none'))),
    );
  };
  let timer;
  const load = async () => {
    stats = await api('GET', `/api/stats?place=${place.id}`);
    // What lies under the board's place (a street's communities, a community's grids), named.
    under.set(place.id, ((await placeDetail(place.id))?.children || []).map((p) => p.id));
    if (street) {
      const ids = [...new Set([...under.get(place.id), ...stats.parts.map((p) => p.place_id), ...(S.counters?.communities || []).map((c) => c.community_id)])];
      const per = await Promise.all(
        ids.map(async (cid) => {
          const [st, detail] = await Promise.all([api('GET', `/api/stats?place=${cid}`).catch(() => null), placeDetail(cid)]);
          if (detail) under.set(cid, detail.children.map((p) => p.id));
          return [cid, st];
        }),
      );
      gridStats.clear();
      for (const [cid, st] of per) if (st) gridStats.set(cid, st);
    }
    // Name any other place the figures mention (each fetched once, then cached).
    await namePlaces([stats, ...gridStats.values()].flatMap((st) => st.parts.map((p) => p.place_id)));
    const scope = street ? { street: street.id } : { community: place.id };
    escalations = await S.http.issues({ ...scope, state: 'escalated', limit: 20 });
    overdue = (await S.http.issues({ ...scope, state: OPEN_STATES.join(','), limit: 200 })).filter((i) => i.overdue);
    render();
  };
  mount(mainPane, header(t('chat.board')), h('div.scroll', page));
  if (place) load().catch((e) => mount(page, h('div.error', errText(e))));
  return {
    refresh: () => {
      render();
      clearTimeout(timer);
      timer = setTimeout(() => load().catch(() => {}), 300);
    },
    cleanup: () => clearTimeout(timer),
  };
}

// ---------------------------------------------------------------- living room

function roomView(id) {
  const channel = `room:${id}`;
  const page = h('div.page', { testid: 'room' }, h('div.empty', t('loading')));
  let detail = null;
  let sub = null;
  let removed = false;
  let closed = false;
  const said = [];
  const myBallots = new Set();
  const buffered = [];
  const name = (aid) => (aid === S.me.id ? `${S.me.display_name}${t('room.you')}` : S.names.get(aid) || `#${aid}`);
  const input = h('input', { testid: 'composer-input', maxLength: 2000 });
  const sendBtn = h('button.btn', { testid: 'composer-send' }, t('send'));
  const composer = h(
    'form.composer',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        try {
          await S.client.roomAction(id, { kind: 'say', text });
          input.value = '';
        } catch (e2) {
          toast(errText(e2));
        }
      },
    },
    input,
    sendBtn,
  );
  const roomAct = async (action) => {
    try {
      await S.client.roomAction(id, action);
      if (action.kind === 'cast_vote') myBallots.add(action.vote);
    } catch (e) {
      toast(errText(e));
    }
  };
  const apply = (entry) => {
    const room = detail.room;
    if (entry.seq <= room.seq) return;
    room.seq = entry.seq;
    const d = entry.data || {};
    const drop = (list, who) => list.filter((x) => x !== who);
    switch (entry.kind) {
      case 'started': room.state = 'live'; break;
      case 'ended': room.state = 'ended'; room.floor = undefined; room.hands = []; room.votes.forEach((v) => (v.open = false)); break;
      case 'minutes_published': room.state = 'closed'; detail.meeting.minutes = d.text; break;
      case 'minutes_appended': room.minutes.push(d.text); break;
      case 'locked': room.locked = true; break;
      case 'unlocked': room.locked = false; break;
      case 'mode_set': room.mode = d.mode; break;
      case 'hand_raised': room.hands = [...drop(room.hands, d.who), d.who]; break;
      case 'hand_lowered': room.hands = drop(room.hands, d.who); break;
      case 'floor_given': room.floor = d.to; room.hands = drop(room.hands, d.to); break;
      case 'floor_taken': room.floor = undefined; break;
      case 'muted': room.muted = [...drop(room.muted, d.who), d.who]; break;
      case 'unmuted': room.muted = drop(room.muted, d.who); break;
      case 'removed': room.hands = drop(room.hands, d.who); if (room.floor === d.who) room.floor = undefined; break;
      case 'said': said.push(entry); break;
      case 'agenda_item_set': room.agenda_item = d.index; break;
      case 'vote_opened': room.votes.push({ ...d.vote, counts: d.vote.hide_results ? undefined : d.vote.options.map(() => 0), ballots: 0 }); break;
      case 'vote_cast': {
        const v = room.votes.find((x) => x.id === d.vote);
        if (v) v.ballots += 0; // the tally event carries the count
        if (d.voter === S.me.id) myBallots.add(d.vote);
        break;
      }
      case 'vote_closed': { const v = room.votes.find((x) => x.id === d.vote); if (v) v.open = false; break; }
      default: break;
    }
  };
  const onEvent = (ev) => {
    if (!detail) return buffered.push(ev);
    if (ev.kind === 'room.event') apply(ev.data);
    else if (ev.kind === 'room.tally' || ev.kind === 'room.vote_result') {
      const v = detail.room.votes.find((x) => x.id === ev.data.vote);
      if (v) { v.counts = ev.data.counts; v.ballots = ev.data.ballots; if (ev.kind === 'room.vote_result') v.open = false; }
    }
    render();
  };
  const onPresence = (change) => {
    for (const m of change.members) S.names.set(m.account_id, m.name);
    render();
  };
  const onEnded = () => {
    removed = true;
    render();
  };
  const render = () => {
    if (!detail) return;
    const { meeting, room } = detail;
    const listed = S.chats.get(channel);
    if (listed?.meeting && listed.meeting.state !== room.state) {
      listed.meeting = { ...listed.meeting, state: room.state };
      renderList();
    }
    const chair = meeting.chair === S.me.id || (hasRole('admin') && !meeting.private);
    const live = room.state === 'live';
    const muted = room.muted.includes(S.me.id);
    const members = sub ? sub.members : [];
    const ids = [...new Set([...members.map((m) => m.account_id), meeting.chair])];
    input.disabled = muted || removed || !live;
    sendBtn.disabled = input.disabled;
    input.placeholder = muted ? t('composer.muted') : removed ? t('room.removed') : live ? t('composer.placeholder') : t(`room.state.${room.state}`);
    composer.dataset.muted = String(muted);
    const person = (aid) =>
      h(
        'div.person',
        { testid: `person-${aid}`, dataset: { muted: String(room.muted.includes(aid)) } },
        h('span.name', name(aid)),
        aid === meeting.chair && h('span.tag.chair', t('room.chair')),
        room.floor === aid && h('span.tag.floor', t('room.speaking')),
        room.hands.includes(aid) && h('span.tag.hand', t('room.hand')),
        room.muted.includes(aid) && h('span.tag.muted', t('room.muted')),
        chair && live && aid !== meeting.chair && [
          h('button.btn.small.secondary', { testid: `floor-${aid}`, onclick: () => roomAct({ kind: 'give_floor', to: aid }) }, t('room.giveFloor')),
          room.muted.includes(aid)
            ? h('button.btn.small.secondary', { testid: `unmute-${aid}`, onclick: () => roomAct({ kind: 'unmute', who: aid }) }, t('room.unmute'))
            : h('button.btn.small.secondary', { testid: `mute-${aid}`, onclick: () => roomAct({ kind: 'mute', who: aid }) }, t('room.mute')),
          h('button.btn.small.danger', { testid: `remove-${aid}`, onclick: () => roomAct({ kind: 'remove', who: aid }) }, t('room.remove')),
        ],
      );
    const voteBox = (v) =>
      h(
        'div.section',
        { testid: `vote-${v.id}` },
        h('h3', v.question, v.open ? '' : ` · ${t('room.closeVote')}`),
        v.options.map((opt, i) => {
          const count = v.counts?.[i];
          const share = v.ballots && count !== undefined ? Math.round((100 * count) / v.ballots) : 0;
          const meter = h('div.meter', h('div'));
          /** @type {HTMLElement} */ (meter.firstChild).style.width = `${share}%`; // CSSOM, allowed by the CSP
          return h(
            'div.vote-opt',
            v.open && live && !myBallots.has(v.id) && !v.multiple && h('button.btn.small', { testid: `cast-${v.id}-${i}`, onclick: () => roomAct({ kind: 'cast_vote', vote: v.id, choices: [i] }) }, t('room.cast')),
            h('span', opt),
            count !== undefined && meter,
            count !== undefined && h('span', String(count)),
          );
        }),
        v.open && live && !myBallots.has(v.id) && v.multiple && multiBallot(v),
        h('div.card-meta', t('room.ballots', { n: v.ballots }), v.counts ? '' : ` · ${t('room.hidden')}`),
        chair && v.open && h('button.btn.small.secondary', { testid: `close-vote-${v.id}`, onclick: () => roomAct({ kind: 'close_vote', vote: v.id }) }, t('room.closeVote')),
      );
    const multiBallot = (v) => {
      const boxes = v.options.map((opt, i) => h('input', { type: 'checkbox', value: String(i) }));
      return h(
        'div',
        boxes.map((box, i) => h('label.check', box, v.options[i])),
        h('button.btn.small', {
          testid: `cast-${v.id}`,
          onclick: () => roomAct({ kind: 'cast_vote', vote: v.id, choices: boxes.filter((b) => b.checked).map((b) => Number(b.value)) }),
        }, t('room.cast')),
      );
    };
    const minutesInput = h('input', { testid: 'minutes-input' });
    mount(
      page,
      removed && h('div.section.error', { testid: 'removed' }, t('room.removed')),
      h(
        'div.section',
        h('div.card-head', h('span.card-title', meeting.title), h('span.chip', { testid: 'room-state', dataset: { state: room.state } }, t(`room.state.${room.state}`)), room.locked && h('span.chip', t('room.locked'))),
        meeting.description && h('div.card-meta', meeting.description),
        meeting.agenda.length > 0 && h('ol', meeting.agenda.map((a, i) => h(i === room.agenda_item ? 'li.card-title' : 'li', a))),
        h('div', { testid: 'floor' }, room.floor ? t('room.floor', { name: name(room.floor) }) : t('room.noFloor')),
        h(
          'div.actions',
          live && !removed && !chair && (room.hands.includes(S.me.id)
            ? h('button.btn.small.secondary', { testid: 'lower-hand', onclick: () => roomAct({ kind: 'lower_hand' }) }, t('room.lower'))
            : room.floor !== S.me.id && h('button.btn.small', { testid: 'raise-hand', onclick: () => roomAct({ kind: 'raise_hand' }) }, t('room.raise'))),
          chair && room.state === 'published' && h('button.btn.small', { testid: 'room-start', onclick: () => roomAct({ kind: 'start' }) }, t('room.start')),
          chair && live && [
            h('button.btn.small.secondary', { testid: 'room-lock', onclick: () => roomAct({ kind: room.locked ? 'unlock' : 'lock' }) }, room.locked ? t('room.unlock') : t('room.lock')),
            h('button.btn.small.secondary', { testid: 'room-mode', onclick: () => roomAct({ kind: 'set_mode', mode: room.mode === 'open' ? 'floor_only' : 'open' }) }, room.mode === 'open' ? t('room.modeFloor') : t('room.modeOpen')),
            room.floor && h('button.btn.small.secondary', { testid: 'take-floor', onclick: () => roomAct({ kind: 'take_floor' }) }, t('room.takeFloor')),
            room.hands.length > 0 && h('button.btn.small', { testid: 'give-floor-next', onclick: () => roomAct({ kind: 'give_floor' }) }, t('room.giveFloor')),
            h('button.btn.small', { testid: 'open-vote', onclick: openVoteSheet }, t('room.openVote')),
            h('button.btn.small.danger', { testid: 'room-end', onclick: () => roomAct({ kind: 'end' }) }, t('room.end')),
          ],
        ),
      ),
      h(
        'div.room-grid',
        h('div.msgs', { testid: 'room-messages' }, said.length ? said.map((e) => bubble({ name: name(e.data.who) }, e.data.text, e.time, e.data.who === S.me.id)) : h('div.empty', t('chat.empty'))),
        h(
          'div.room-side',
          h('div.section', h('h3', { testid: 'participants' }, t('room.participants', { n: members.length })), h('div.people', ids.map(person))),
          room.votes.map(voteBox),
          h(
            'div.section',
            h('h3', t('room.minutes')),
            (meeting.minutes ? [meeting.minutes] : room.minutes).map((p) => h('p', p)),
            chair && ['live', 'ended'].includes(room.state) && h('div.composer', minutesInput, h('button.btn.small', { onclick: () => minutesInput.value.trim() && roomAct({ kind: 'append_minutes', text: minutesInput.value.trim() }) }, t('room.appendMinutes'))),
            chair && room.state === 'ended' && h('button.btn.small', { onclick: () => roomAct({ kind: 'publish_minutes', text: room.minutes.join('\n\n') || meeting.title }) }, t('room.publishMinutes')),
          ),
        ),
      ),
    );
  };
  const openVoteSheet = () =>
    sheet(t('room.openVote'), (body, close) => {
      const q = h('input', { testid: 'vote-question' });
      const opts = h('textarea', { testid: 'vote-options', rows: 3, value: getLang() === 'zh' ? '同意\n不同意\n弃权' : 'For\nAgainst\nAbstain' });
      const anon = h('input', { type: 'checkbox' });
      const hide = h('input', { type: 'checkbox' });
      body.append(
        field(t('room.question'), q),
        field(t('room.options'), opts),
        h('label.check', anon, t('room.anonymous')),
        h('label.check', hide, t('room.hide')),
        h('button.btn', {
          testid: 'vote-submit',
          onclick: async () => {
            await roomAct({ kind: 'open_vote', vote: { question: q.value.trim(), options: opts.value.split('\n').map((o) => o.trim()).filter(Boolean), anonymous: anon.checked, hide_results: hide.checked } });
            close();
          },
        }, t('room.openVote')),
      );
    });
  mount(mainPane, header(t('chat.room', { name: S.chats.get(channel)?.meeting?.title || `#${id}` })), h('div.scroll', page), composer);
  (async () => {
    try {
      sub = S.client.subscription(channel);
      if (!sub) sub = await S.client.subscribe(channel, { onReset: () => reload() });
      if (closed) return;
      sub.on('event', onEvent);
      sub.on('presence', onPresence);
      sub.on('ended', onEnded);
      for (const m of sub.members) S.names.set(m.account_id, m.name);
      await reload();
    } catch (e) {
      if (e.code === 'forbidden') removed = true;
      mount(page, h('div.error', { testid: 'room-error' }, errText(e)));
      input.disabled = true;
    }
  })();
  async function reload() {
    const fresh = await api('GET', `/api/meetings/${id}`);
    said.length = 0;
    for (const e of fresh.log) {
      if (e.kind === 'said') said.push(e);
      if (e.kind === 'vote_cast' && e.data?.voter === S.me.id) myBallots.add(e.data.vote);
    }
    detail = fresh;
    const title = mainPane.querySelector('[data-testid="view-title"]');
    if (title) title.textContent = t('chat.room', { name: fresh.meeting.title });
    for (const ev of buffered.splice(0)) onEvent(ev);
    render();
  }
  return {
    refresh: () => render(),
    cleanup: () => {
      closed = true;
      sub?.off('event', onEvent);
      sub?.off('presence', onPresence);
      sub?.off('ended', onEnded);
    },
  };
}

boot();
