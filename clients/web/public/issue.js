// The issue screens: the lists ("my issues", the grid worker inbox) and the issue page with its
// live timeline, photos and the actions the signed-in person may take.

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { S, hasRole, photoSrc } from './state.js';
import { issueActions } from './rules.js';
import { header, toast, errText, fmtTime, placeTag } from './ui.js';
import { OPEN_STATES, STEP, stateText, dueText, issueCard } from './cards.js';
import { openReasonSheet, openProgressSheet, openRateSheet } from './sheets.js';
import { openDispatchSheet } from './dispatch.js';

// ---------------------------------------------------------------- issue lists

/** `kind` 'mine' (the caller's reports) or 'worker' (the grid worker inbox), drawn into `main`. */
export function issueListView(main, kind) {
  const list = h('div.page', { testid: `${kind}-list` }, h('div.empty', t('loading')));
  const load = async () => {
    // A grid worker's inbox is what was dispatched to them; an official's, the open issues.
    const filter = kind === 'mine' ? { mine: true } : hasRole('grid_worker') ? { assignee: S.me.id } : { state: 'submitted,accepted,escalated,dispatched,in_progress,resolved' };
    const issues = await S.http.issues({ ...filter, limit: 50 });
    mount(
      list,
      issues.length
        ? issues.map((issue) => issueCard(issue, kind === 'worker' && issueActions({ issue }).includes('acknowledge') && quickAck(issue)))
        : h('div.empty', t('chat.empty')),
    );
  };
  mount(main, header(kind === 'mine' ? t('chat.mine') : t('chat.worker')), h('div.scroll', list));
  load().catch((e) => mount(list, h('div.error', errText(e))));
  return { refresh: () => load().catch(() => {}) };
}

/** One tap acknowledges, without opening the issue. */
function quickAck(issue) {
  return h(
    'div.actions',
    h(
      'button.btn.small',
      {
        testid: `ack-${issue.id}`,
        onclick: async (e) => {
          // The button sits in the card, which would open the issue.
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

function photoImg(photo) {
  const img = h('img', { alt: photo.kind, testid: `photo-${photo.kind}` });
  photoSrc(photo.url).then((src) => (img.src = src)).catch(() => {});
  return img;
}

/** Issue `id`, drawn into `main` and kept live by its `issue:<id>` channel. */
export function issueView(main, id) {
  const page = h('div.page', { testid: 'issue-page' }, h('div.empty', t('loading')));
  let detail = null;
  let sub = null;
  let closed = false;
  const onEvent = (ev) => {
    if (ev.kind !== 'issue.updated' || !detail) return;
    // The event's summary is the same for every reader, so it says nothing of what this caller
    // may do: the last list known stays on the buttons until the issue is read again.
    detail.issue = { ...ev.data.issue, allowed_actions: detail.issue.allowed_actions };
    if (ev.data.event && !detail.timeline.some((e) => e.seq === ev.data.event.seq)) detail.timeline.push(ev.data.event);
    const photo = ev.data.event?.kind === 'photo' && ev.data.event.data?.photo;
    if (photo && !(detail.photos || []).some((p) => p.id === photo.id)) detail.photos = [...(detail.photos || []), photo];
    render();
    reread();
  };
  // One read at a time; events during a read ask for one more after it, so the last read
  // starts after the last event and the page ends up as the server has it.
  let reading = false;
  let again = false;
  const reread = () => {
    if (closed) return;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    load()
      .catch(() => {})
      .finally(() => {
        reading = false;
        if (again) {
          again = false;
          reread();
        }
      });
  };
  /** A command's reply: the summary after the caller's own action, with their allowed_actions. */
  const settle = (summary) => {
    if (!detail || summary?.id !== detail.issue.id || summary.updated_at < detail.issue.updated_at) return;
    detail.issue = summary;
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
      actionsFor(detail, settle),
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
  mount(main, header(`#${id}`), h('div.scroll', page));
  (async () => {
    try {
      await load();
      const channel = `issue:${id}`;
      sub = S.client.subscription(channel);
      if (!sub) sub = await S.client.subscribe(channel, { onReset: () => reread() });
      if (closed) return;
      sub.on('event', onEvent);
      reread(); // anything that happened while subscribing
    } catch (e) {
      if (!detail) mount(page, h('div.error', errText(e)));
    }
  })();
  return {
    refresh: reread,
    cleanup: () => {
      closed = true;
      sub?.off('event', onEvent);
    },
  };
}

/**
 * A button per action `issueActions` allows (the server's `allowed_actions`), in its order; null
 * when there is none. `settle(summary)` takes the reply of a one-tap action.
 */
function actionsFor(detail, settle) {
  const issue = detail.issue;
  const act = (kind, label, action, cls = '') =>
    h(`button.btn.small${cls}`, {
      testid: `act-${kind}`,
      onclick: async () => {
        try {
          settle(await S.client.issueAction(issue.id, action()));
        } catch (e) {
          toast(errText(e));
        }
      },
    }, label);
  const withReason = (kind, label, build) =>
    h('button.btn.small.secondary', { testid: `act-${kind}`, onclick: () => openReasonSheet(issue, kind, label, build) }, label);
  /** @type {Record<string, () => any>} */
  const buttons = {
    acknowledge: () => act('acknowledge', t('act.acknowledge'), () => ({ kind: 'acknowledge' })),
    post_update: () => h('button.btn.small', { testid: 'act-progress', onclick: () => openProgressSheet(issue) }, t('act.progress')),
    complete: () => act('complete', t('act.complete'), () => ({ kind: 'complete' })),
    return: () => withReason('return', t('act.return'), (reason) => ({ kind: 'return', reason })),
    escalate: () => withReason('escalate', t('act.escalate'), (reason) => ({ kind: 'escalate', reason })),
    accept: () => act('accept', t('act.accept'), () => ({ kind: 'accept' })),
    reject: () => withReason('reject', t('act.reject'), (reason) => ({ kind: 'reject', reason })),
    dispatch: () => h('button.btn.small.secondary', { testid: 'act-dispatch', onclick: () => openDispatchSheet(issue, t('act.dispatch')) }, t('act.dispatch')),
    verify_ok: () => act('verify_ok', t('act.verify_ok'), () => ({ kind: 'verify_ok' })),
    verify_fail: () => withReason('verify_fail', t('act.verify_fail'), (reason) => ({ kind: 'verify_fail', reason })),
    rate: () => [
      h('button.btn.small', { testid: 'act-rate', onclick: () => openRateSheet(issue, true) }, t('act.rate')),
      h('button.btn.small.danger', { testid: 'act-reopen', onclick: () => openRateSheet(issue, false) }, t('act.reopen')),
    ],
    withdraw: () => act('withdraw', t('act.withdraw'), () => ({ kind: 'withdraw' }), '.secondary'),
    follow: () => act('follow', t('act.follow'), () => ({ kind: 'follow' }), '.secondary'),
  };
  // Kinds this screen has no button for are left out: `post_note` (an internal update), `merge`,
  // `declare_unfixable`, `me_too` (offered in the raise sheet instead), `unfollow`, and any kind
  // of a newer server.
  const shown = issueActions(detail).filter((kind) => buttons[kind]).flatMap((kind) => buttons[kind]());
  return shown.length ? h('div.section', h('div.actions', { testid: 'issue-actions' }, shown)) : null;
}
