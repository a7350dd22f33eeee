// The server's permission rules, re-implemented in the client: who may act on an issue, in a
// living room, on a channel, and who may raise an issue. The server decides anyway (a refused
// action comes back as an error); these only choose which buttons to show.
//
// TO BE REPLACED by the server's `allowed_actions` (on issue details and summaries, and on
// meeting details): `issueActions` and `roomActions` then return what the server sent, and the
// role rule and state table below go. The views ask these functions, never roles or states,
// which action buttons to show, so that swap changes this module only. The originals are the
// server's `may` and issue state machine (domain/issue.rs) and its meeting rules.

import { S, hasRole } from './state.js';
import { OPEN_STATES } from './cards.js';

// ---------------------------------------------------------------- issues (allowed_actions)

/**
 * The issue state table: the states each action may be taken in. Its order is the order of the
 * buttons on the issue page. `rate` covers both verdicts (rate, and "not fixed", which reopens).
 */
const ISSUE_ACTION_STATES = {
  acknowledge: ['dispatched'],
  post_update: OPEN_STATES,
  complete: ['in_progress'],
  return: ['dispatched', 'in_progress'],
  escalate: ['accepted', 'dispatched', 'in_progress', 'escalated'],
  accept: ['submitted'],
  reject: ['submitted', 'accepted'],
  dispatch: ['accepted', 'escalated'],
  verify_ok: ['resolved'],
  verify_fail: ['resolved'],
  rate: ['awaiting_rating'],
  withdraw: ['submitted', 'accepted', 'dispatched', 'in_progress', 'escalated'],
  follow: OPEN_STATES,
};

/**
 * The role rule alone, whatever the state: the client's copy of the server's `may`. The roles
 * are not checked against the issue's place (the grants' scopes), so an official may see a
 * button the server then refuses.
 */
function may(kind, detail) {
  const issue = detail.issue;
  const assignee = issue.assignee?.account_id === S.me.id;
  const reporter = detail.reporter ? detail.reporter.account_id === S.me.id : false;
  const official = hasRole('community_official', 'street_chief', 'admin');
  switch (kind) {
    case 'acknowledge':
    case 'complete':
    case 'return':
      return assignee;
    case 'post_update':
      return assignee || official;
    // An issue at the street's level has nowhere higher to go.
    case 'escalate':
      return (assignee || official) && issue.level !== 'street';
    case 'accept':
    case 'reject':
    case 'dispatch':
    case 'verify_ok':
    case 'verify_fail':
      return official;
    case 'rate':
    case 'withdraw':
      return reporter;
    case 'follow':
      return !reporter && !detail.following;
    default:
      return false;
  }
}

/**
 * The issue actions the signed-in person may take now, in button order. `detail` is an issue
 * detail (`GET /api/issues/{id}`) or `{ issue }` for a summary, which names no reporter.
 * @returns {string[]}
 */
export function issueActions(detail) {
  return Object.keys(ISSUE_ACTION_STATES).filter((kind) => ISSUE_ACTION_STATES[kind].includes(detail.issue.state) && may(kind, detail));
}

// ---------------------------------------------------------------- living room (allowed_actions)

/** The chair's powers: the meeting's chair, or an admin on a meeting that is not private. */
function chairs(meeting) {
  return meeting.chair === S.me.id || (hasRole('admin') && !meeting.private);
}

/**
 * The room actions the signed-in person may take now. The room view adds what only the screen
 * knows: whether she was removed, whose hand is up, who has the floor, her own ballots.
 * @returns {Set<string>}
 */
export function roomActions(meeting, room) {
  const chair = chairs(meeting);
  const live = room.state === 'live';
  const kinds = [];
  if (live && !room.muted.includes(S.me.id)) kinds.push('say');
  if (live && !chair) kinds.push('raise_hand', 'lower_hand');
  if (live) kinds.push('cast_vote');
  if (chair && room.state === 'published') kinds.push('start');
  if (chair && live) kinds.push('lock', 'unlock', 'set_mode', 'give_floor', 'take_floor', 'mute', 'unmute', 'remove', 'open_vote', 'end');
  if (chair) kinds.push('close_vote');
  if (chair && ['live', 'ended'].includes(room.state)) kinds.push('append_minutes');
  if (chair && room.state === 'ended') kinds.push('publish_minutes');
  return new Set(kinds);
}

// ---------------------------------------------------------------- channels and raising issues
// (not covered by allowed_actions: these stay until the server says them some other way)

export function canPost(channel) {
  if (hasRole('admin')) return true;
  if (channel.startsWith('street:')) return hasRole('street_chief');
  if (channel.startsWith('home:')) return hasRole('street_chief', 'community_official');
  return false;
}

/** The roles that may raise an issue; their grants' places are where the picker starts. */
export const RAISERS = ['resident', 'building_lead', 'grid_worker', 'community_official', 'street_chief'];

export function mayRaise() {
  return hasRole(...RAISERS);
}

/** Staff and building leads may raise an issue for a resident; a building lead must. */
export function raiseOnBehalf() {
  return {
    offered: hasRole('building_lead', 'grid_worker', 'community_official', 'street_chief'),
    required: !hasRole(...RAISERS.filter((r) => r !== 'building_lead')),
  };
}
