// The stored inbox (我的通知, `#inbox`): the person's notifications from
// `GET /api/me/notifications`, one row per issue or meeting like a chat list (the latest title
// and text, the time, that subject's unread count), kept live by `notification.new` and
// `notification.read` on `user:<id>` so that every open tab and device agrees on what is read.
// The chat list reads `inbox.unread` for its badge; 'inbox' is emitted on every change.

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { S, api, emit, hasRole, on } from './state.js';
import { header, errText, fmtTime, go, toast } from './ui.js';

const PAGE = 30;
const TITLE = '和合 Hehe';

/** What the client knows of the inbox: loaded pages plus live arrivals, and the server's counts. */
export const inbox = {
  loaded: false,
  /** @type {Map<number, any>} notifications by id */
  byId: new Map(),
  /** Unread in the whole inbox, as the server last said (plus live arrivals since). */
  unread: 0,
  /** @type {Map<string, { subject: any, unread: number, latest_at: number }>} by `kind:id` */
  subjects: new Map(),
  /** @type {number | null} */
  nextBefore: null,
};

const keyOf = (s) => `${s.kind}:${s.id}`;

/** Marks being sent, by subject key: a second tap (or the route change) sends no second one. */
const marking = new Set();

function changed() {
  S.inboxUnread = inbox.unread;
  document.title = inbox.unread > 0 ? `(${inbox.unread}) ${TITLE}` : TITLE;
  emit('inbox');
  S.view?.inboxChanged?.();
}

function takePage(page) {
  for (const n of page.notifications) inbox.byId.set(n.id, n);
  inbox.unread = page.unread;
  inbox.subjects = new Map(page.subjects.map((s) => [keyOf(s.subject), { ...s }]));
  inbox.nextBefore = page.next_before ?? null;
  inbox.loaded = true;
}

/** The newest page, in place of what was known (after a reconnect lost history too). */
export async function loadInbox() {
  const page = await api('GET', `/api/me/notifications?limit=${PAGE}`);
  inbox.byId.clear();
  takePage(page);
  changed();
  readShown();
}

/** The next older page, added to what is known. */
export async function loadMore() {
  if (inbox.nextBefore == null) return;
  const page = await api('GET', `/api/me/notifications?limit=${PAGE}&before=${inbox.nextBefore}`);
  takePage(page);
  changed();
}

/** The screen a subject opens, or null (appraisals have none yet). */
export function subjectRoute(subject) {
  if (subject.kind === 'issue') return `#issue/${subject.id}`;
  if (subject.kind === 'meeting') return `#room/${subject.id}`;
  if (subject.kind === 'place' && hasRole('street_chief', 'community_official')) return '#board';
  return null;
}

/**
 * `POST /api/me/notifications/read` with `what` (`{ subject }` or `{ all: true }`); the answer
 * is applied as the live `notification.read` will be (applying both is harmless).
 */
export async function markRead(what) {
  const key = what.subject ? keyOf(what.subject) : 'all';
  if (marking.has(key)) return;
  marking.add(key);
  try {
    applyRead(await api('POST', '/api/me/notifications/read', what));
  } finally {
    marking.delete(key);
  }
}

/** A `ReadMarked` (the answer, or the event from another tab or device). */
function applyRead(rm) {
  const now = Date.now();
  const ids = new Set(rm.ids || []);
  const key = rm.subject ? keyOf(rm.subject) : null;
  for (const n of inbox.byId.values()) {
    if (n.read_at) continue;
    if (rm.all || (key && keyOf(n.subject) === key) || ids.has(n.id)) {
      n.read_at = now;
      if (ids.has(n.id)) {
        const s = inbox.subjects.get(keyOf(n.subject));
        if (s) s.unread -= 1;
      }
    }
  }
  if (rm.all) inbox.subjects.clear();
  if (key) inbox.subjects.delete(key);
  for (const [k, s] of inbox.subjects) if (s.unread <= 0) inbox.subjects.delete(k);
  inbox.unread = rm.unread;
  if (inbox.unread === 0) inbox.subjects.clear();
  changed();
}

function applyNew(n) {
  if (inbox.byId.has(n.id)) return;
  inbox.byId.set(n.id, n);
  if (!n.read_at) {
    inbox.unread += 1;
    const key = keyOf(n.subject);
    const s = inbox.subjects.get(key) || { subject: n.subject, unread: 0, latest_at: 0 };
    s.unread += 1;
    s.latest_at = Math.max(s.latest_at, n.created_at);
    inbox.subjects.set(key, s);
  }
  changed();
  S.view?.inboxArrived?.(n);
  readShown();
}

/** A live event of `user:<id>`; true when it was the inbox's. */
export function onInboxEvent(ev) {
  if (ev.kind === 'notification.new') applyNew(ev.data);
  else if (ev.kind === 'notification.read') applyRead(ev.data);
  else return false;
  return true;
}

/**
 * The subject on screen is being read: its unread notifications are marked read (as a chat
 * open in WeChat gathers no unread count), unless the page is in the background.
 */
function readShown() {
  if (!inbox.loaded || document.visibilityState === 'hidden') return;
  for (const s of inbox.subjects.values()) {
    if (s.unread > 0 && subjectRoute(s.subject) === location.hash) {
      markRead({ subject: s.subject }).catch(() => {});
    }
  }
}

addEventListener('hashchange', readShown);
document.addEventListener('visibilitychange', readShown);
on('logout', () => {
  inbox.loaded = false;
  inbox.byId.clear();
  inbox.subjects.clear();
  inbox.unread = 0;
  inbox.nextBefore = null;
  changed();
});

/** The newest notification known, for the chat list's line under "我的通知". */
export function latestNotification() {
  let best = null;
  for (const n of inbox.byId.values()) if (!best || n.created_at > best.created_at || (n.created_at === best.created_at && n.id > best.id)) best = n;
  return best;
}

/** One row per subject, the most recent first: its latest notification and unread count. */
function rows() {
  const by = new Map();
  for (const n of inbox.byId.values()) {
    const key = keyOf(n.subject);
    const row = by.get(key);
    if (!row || n.created_at > row.latest.created_at || (n.created_at === row.latest.created_at && n.id > row.latest.id)) {
      by.set(key, { key, subject: n.subject, latest: n });
    }
  }
  // A subject with unread notifications older than the pages loaded still gets its row.
  for (const [key, s] of inbox.subjects) if (!by.has(key)) by.set(key, { key, subject: s.subject, latest: null, at: s.latest_at });
  const list = [...by.values()].map((r) => ({ ...r, at: Math.max(r.latest?.created_at || 0, inbox.subjects.get(r.key)?.latest_at || 0), unread: inbox.subjects.get(r.key)?.unread || 0 }));
  return list.sort((a, b) => b.at - a.at);
}

// ---------------------------------------------------------------- the screen

export function inboxView(main) {
  const status = h('p.hint', { testid: 'inbox-count', role: 'status' });
  const announce = h('div.sr-only', { role: 'status', 'aria-live': 'polite' });
  const err = h('div.error', { role: 'alert', testid: 'inbox-error' });
  const list = h('ul.inbox-list', { testid: 'inbox-list', 'aria-label': t('inbox.list') });
  const foot = h('div.inbox-foot');
  const heading = h('h2.sr-only', { tabindex: '-1' }, t('inbox.title'));
  const markAll = h(
    'button.btn.small.secondary',
    {
      type: 'button',
      testid: 'inbox-mark-all',
      onclick: async () => {
        err.textContent = '';
        try {
          await markRead({ all: true });
          announce.textContent = t('inbox.markedAll');
        } catch (e) {
          err.textContent = errText(e);
        }
      },
    },
    t('inbox.markAll'),
  );
  let loading = true;

  const open = async (row) => {
    err.textContent = '';
    const route = subjectRoute(row.subject);
    try {
      if (row.unread > 0) {
        // Marked before leaving: the subject's screen may not be one that marks it again.
        const done = markRead({ subject: row.subject });
        if (route) done.catch((e) => toast(errText(e)));
        else await done;
      }
    } catch (e) {
      err.textContent = errText(e);
      return;
    }
    if (route) go(route);
  };

  const rowEl = (row) => {
    const n = row.latest;
    const title = n ? n.title : t(`inbox.subject.${row.subject.kind}`, { id: row.subject.id });
    return h(
      'li',
      h(
        'button.inbox-row',
        {
          type: 'button',
          testid: `inbox-row-${row.subject.kind}-${row.subject.id}`,
          dataset: { unread: String(row.unread), key: row.key },
          class: `inbox-row${row.unread ? ' unread' : ''}`,
          onclick: () => open(row),
        },
        h(`span.avatar.${row.subject.kind}`, { 'aria-hidden': 'true' }, t(`inbox.avatar.${row.subject.kind}`)),
        h(
          'span.inbox-text',
          h('span.inbox-top', h('span.inbox-title', title), h('span.inbox-time', fmtTime(row.at))),
          h('span.inbox-bottom', h('span.inbox-body', n ? n.body : ''), row.unread > 0 && h('span.badge', { testid: 'row-unread', 'aria-hidden': 'true' }, String(row.unread))),
          row.unread > 0 && h('span.sr-only', t('inbox.unread', { n: row.unread })),
        ),
      ),
    );
  };

  const render = () => {
    // A redraw must not drop the keyboard's place: the focused row is focused again after it.
    const focused = document.activeElement?.closest?.('.inbox-row')?.dataset.key;
    status.textContent = inbox.unread > 0 ? t('inbox.unread', { n: inbox.unread }) : t('inbox.allRead');
    const all = rows();
    if (loading && !inbox.loaded) mount(list, h('li.empty', t('loading')));
    else mount(list, all.length ? all.map(rowEl) : h('li.empty', { testid: 'inbox-empty' }, t('inbox.empty')));
    mount(
      foot,
      inbox.loaded && all.length > 0 &&
        (inbox.nextBefore != null
          ? h('button.btn.secondary', { type: 'button', testid: 'inbox-more', onclick: more }, t('inbox.more'))
          : h('p.hint', { testid: 'inbox-end' }, t('inbox.end'))),
    );
    if (focused) list.querySelector(`.inbox-row[data-key="${focused}"]`)?.focus();
  };

  const more = async () => {
    err.textContent = '';
    const before = new Set(inbox.byId.keys());
    try {
      await loadMore();
    } catch (e) {
      err.textContent = errText(e);
      return;
    }
    // The first row the page added takes the focus (the button it was on may be gone).
    const added = rows().find((r) => r.latest && !before.has(r.latest.id));
    const target = added && list.querySelector(`.inbox-row[data-key="${added.key}"]`);
    (target || foot.querySelector('button, p'))?.focus?.();
  };

  const reload = () =>
    loadInbox()
      .catch((e) => {
        err.textContent = errText(e);
        mount(foot, h('button.btn.secondary', { type: 'button', testid: 'inbox-retry', onclick: reload }, t('inbox.retry')));
      })
      .finally(() => {
        loading = false;
        render();
      });

  main.classList.add('aa');
  mount(
    main,
    header(t('inbox.title')),
    h(
      'main.scroll',
      h(
        'div.page',
        { testid: 'inbox' },
        heading,
        h('div.inbox-tools', status, markAll, h('a.link', { href: '#account/notify', testid: 'inbox-settings' }, t('inbox.settings'))),
        err,
        announce,
        list,
        foot,
      ),
    ),
  );
  heading.focus({ preventScroll: true });
  render();
  reload();
  return {
    inboxChanged: render,
    inboxArrived: (n) => (announce.textContent = t('inbox.new', { title: n.title })),
    cleanup: () => main.classList.remove('aa'),
  };
}
