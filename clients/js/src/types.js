// JSDoc typedefs of the Hehe wire protocol (protocol/PROTOCOL.md, version 1). Only the shapes a
// client needs to route frames are spelled out in full; payloads that the app interprets (issue
// summaries, room log entries, …) stay open objects, because unknown fields and kinds must be
// tolerated anyway (§1, §2).

export {};

/**
 * A place in a channel's stream (§5). Offsets of different epochs cannot be compared.
 * @typedef {object} Position
 * @property {string} epoch
 * @property {number} offset
 */

/**
 * Who wrote a message, or a member of a room's presence (§9).
 * @typedef {object} Member
 * @property {number} account_id
 * @property {string} name
 * @property {string} [role]
 */

/**
 * An event of a channel (§8.3). `kind` decides the shape of `data`; unknown kinds are passed on.
 * @typedef {object} HeheEvent
 * @property {string} channel
 * @property {number} offset
 * @property {string} epoch
 * @property {string} kind
 * @property {number} time Unix ms, when the server published it.
 * @property {any} data
 */

/**
 * `data` of a `message` event.
 * @typedef {object} MessageData
 * @property {number} id
 * @property {Member} author
 * @property {string} text
 */

/** @typedef {{ account_id: number, name: string, role?: string }} Author */

/**
 * The account of an `authenticated` reply.
 * @typedef {object} AccountRef
 * @property {number} id
 * @property {string} username
 * @property {string} display_name
 */

/**
 * @typedef {object} AuthenticatedResult
 * @property {'authenticated'} kind
 * @property {AccountRef} account
 * @property {number} expires_at
 * @property {number} heartbeat_secs
 * @property {number} [protocol]
 */

/**
 * @typedef {object} SubscribedResult
 * @property {'subscribed'} kind
 * @property {string} channel
 * @property {string} epoch
 * @property {number} offset
 * @property {boolean} recovered
 * @property {Array<Omit<HeheEvent, never>>} events
 * @property {Member[]} [presence]
 */

/**
 * @typedef {object} PostedResult
 * @property {'posted'} kind
 * @property {string} channel
 * @property {number} message_id
 * @property {string} epoch
 * @property {number} offset
 */

/**
 * @typedef {object} PresenceResult
 * @property {'presence'} kind
 * @property {string} channel
 * @property {Member[]} members
 */

/**
 * An action on an issue, as `allowed_actions` names it (§10.2): the `kind`s of `issue_action`,
 * with `post_note` for a `post_update` with `internal: true`. A newer server may name others.
 * @typedef {'acknowledge' | 'post_update' | 'post_note' | 'complete' | 'return' | 'escalate'
 *   | 'accept' | 'reject' | 'merge' | 'dispatch' | 'declare_unfixable' | 'verify_ok' | 'verify_fail'
 *   | 'rate' | 'withdraw' | 'me_too' | 'follow' | 'unfollow' | (string & {})} IssueActionKind
 */

/**
 * An issue summary (§8.1 `issue` reply). Only the fields every client relies on are typed.
 * @typedef {object} IssueSummary
 * @property {number} id
 * @property {string} reference
 * @property {string} category
 * @property {string} title
 * @property {string} state
 * @property {string} priority
 * @property {string} level
 * @property {boolean} public
 * @property {number} created_at
 * @property {number} updated_at
 * @property {IssueActionKind[]} [allowed_actions] What the caller may do to the issue now, in
 *   the order a client shows the buttons (§10.2): show those and no others. Present in answers
 *   to one caller (`GET /api/issues`, `/api/issues/{id}`, `/api/issues/similar`, the `issue`
 *   reply); absent in events of shared channels (`issue.updated`, `issue.summary`,
 *   `inbox.issue`), whose readers differ: keep the last list or read the issue again.
 */

/**
 * @typedef {object} IssueResult
 * @property {'issue'} kind
 * @property {IssueSummary & Record<string, any>} issue
 */

/**
 * @typedef {object} RoomDoneResult
 * @property {'room_done'} kind
 * @property {number} meeting
 * @property {number} seq
 */

/**
 * @typedef {object} RefreshedResult
 * @property {'refreshed'} kind
 * @property {number} expires_at
 */

/**
 * @typedef {object} UnsubscribedResult
 * @property {'unsubscribed'} kind
 * @property {string} channel
 */

/**
 * The `issue` of `submit_issue` (§7).
 * @typedef {object} NewIssue
 * @property {string} category
 * @property {string} title
 * @property {string} description
 * @property {number} place_id
 * @property {{ lat: number, lon: number }} [location]
 * @property {boolean} [public]
 * @property {'red' | 'yellow' | 'blue'} [priority]
 * @property {number} [on_behalf_of]
 */

/**
 * An `issue_action` or `room_action` action: tagged by `kind`, fields as in §7.
 * @typedef {{ kind: string } & Record<string, unknown>} Action
 */

/**
 * Frames the server sends (§8).
 * @typedef {{ type: 'reply', id: string, result: { kind: string } & Record<string, any> }} ReplyFrame
 * @typedef {{ type: 'error', id?: string, code: string, message?: string }} ErrorFrame
 * @typedef {{ type: 'event' } & HeheEvent} EventFrame
 * @typedef {{ type: 'presence', channel: string, joins: Member[], leaves: Member[] }} PresenceFrame
 * @typedef {{ type: 'unsubscribed', channel: string, code: string, message?: string }} UnsubscribedFrame
 * @typedef {{ type: 'ping' } | { type: 'pong' }} HeartbeatFrame
 * @typedef {ReplyFrame | ErrorFrame | EventFrame | PresenceFrame | UnsubscribedFrame | HeartbeatFrame} ServerFrame
 */

/**
 * Frames the client sends (§7). Commands carry an `id`.
 * @typedef {{ type: string, id?: string } & Record<string, unknown>} ClientFrame
 */

/**
 * A change of a room's presence, or its snapshot (`snapshot: true`, from `subscribed`).
 * @typedef {object} PresenceChange
 * @property {string} channel
 * @property {Member[]} joins
 * @property {Member[]} leaves
 * @property {Member[]} members Everyone present after the change.
 * @property {boolean} snapshot
 */

/**
 * What a `reset` reports: the channel's history could not be recovered (`recovered: false`), so
 * the app reloads it over HTTP and follows it from `position` on.
 * @typedef {object} ResetInfo
 * @property {string} channel
 * @property {Position | null} since The position the client asked to resume from.
 * @property {Position} position The channel's top position; live events follow it.
 */

/**
 * Minimal logger; every method optional. The SDK never logs tokens or message contents.
 * @typedef {object} Logger
 * @property {(msg: string, fields?: Record<string, unknown>) => void} [debug]
 * @property {(msg: string, fields?: Record<string, unknown>) => void} [info]
 * @property {(msg: string, fields?: Record<string, unknown>) => void} [warn]
 * @property {(msg: string, fields?: Record<string, unknown>) => void} [error]
 */
