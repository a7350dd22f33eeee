// What the signed-in person may do, as far as the buttons go. The server decides every action
// anyway (a refused one comes back as an error); this only chooses which buttons to show.
//
// Issue and room actions are what the server says (`allowed_actions`, PROTOCOL.md 10.2 and
// 11.2): the client keeps no copy of those rules. The views ask these functions, never roles or
// states, which action buttons to show.

import { hasRole } from './state.js';

// ---------------------------------------------------------------- issues (allowed_actions)

/**
 * The issue actions the signed-in person may take now, in button order: the summary's
 * `allowed_actions`, as the server sent it to this caller. `detail` is an issue detail
 * (`GET /api/issues/{id}`) or `{ issue }` for a summary of a listing or a command's reply.
 * Summaries from live events carry none (their readers differ): the caller keeps the last list
 * it was given for the issue, or reads the issue again; a summary without one allows nothing.
 * @returns {string[]}
 */
export function issueActions(detail) {
  return detail.issue.allowed_actions || [];
}

// ---------------------------------------------------------------- living room (allowed_actions)

/**
 * The room actions the signed-in person may take now: `allowed_actions[room.state]` of the
 * meeting detail (`GET /api/meetings/{id}`), the state followed from the room's entries. What
 * only the screen knows stays with the room view: whose hand is up, who has the floor, her own
 * ballots, whether she was removed.
 * @param {{ room: { state: string }, allowed_actions?: Record<string, string[]> }} detail
 * @returns {Set<string>}
 */
export function roomActions(detail) {
  return new Set(detail.allowed_actions?.[detail.room.state] || []);
}

// ---------------------------------------------------------------- channels and raising issues
// Not covered by allowed_actions: the client's own copy of these rules stays until the server
// says them some other way.

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
