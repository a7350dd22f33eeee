// How an issue is shown at a glance: its state in words, its deadline, its place in the
// lifecycle (the progress bar) and the card that chats, lists and the board show.

import { h } from './dom.js';
import { t, duration } from './i18n.js';
import { go, placeTag } from './ui.js';

/** The states an issue is not finished in: only these show a deadline. */
export const OPEN_STATES = ['submitted', 'accepted', 'dispatched', 'in_progress', 'escalated', 'resolved', 'awaiting_rating'];
/** How far along the lifecycle a state is, as the progress bar draws it (`.p0` to `.p6`). */
export const STEP = { submitted: 0, accepted: 1, dispatched: 2, escalated: 2, in_progress: 3, resolved: 4, awaiting_rating: 5, closed: 6, rejected: 6, duplicate: 6 };

export function stateText(issue) {
  let text = t(`state.${issue.state}`);
  if (issue.state === 'closed' && issue.closure_reason) {
    text += ` · ${t(`closure.${issue.closure_reason}`)}`;
    if (issue.rated === false) text += t('closure.notRated');
  }
  return text;
}

export function dueText(dueAt) {
  const left = dueAt - Date.now();
  return left >= 0 ? t('issue.due', { left: duration(left) }) : t('issue.overdueBy', { left: duration(-left) });
}

/** Makes every deadline on the page (`data-due`) count down in place, once a second. */
export function tickDeadlines() {
  setInterval(() => {
    for (const el of document.querySelectorAll('[data-due]')) {
      const due = Number(/** @type {HTMLElement} */ (el).dataset.due);
      el.textContent = dueText(due);
      el.classList.toggle('late', due < Date.now());
    }
  }, 1000);
}

/** A card opening the issue page; `extra` goes at its foot (the grid worker's quick action). */
export function issueCard(issue, extra) {
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
