// Errors with stable codes (§12) and the meaning of close codes (§13).

/**
 * Server codes (§12) plus the SDK's own, which never come from the server:
 * - `timeout`: no answer within the request timeout; retry with the same request id.
 * - `connection_closed`: the client was closed (by the app or a terminal close code) while the
 *   request waited.
 * - `network`: an HTTP request failed before any answer (offline, DNS, CORS).
 * - `bad_response`: the server answered something that is not the protocol.
 * @typedef {'bad_frame' | 'unknown_frame_type' | 'invalid_request' | 'unauthenticated'
 *   | 'already_authenticated' | 'invalid_token' | 'token_expired' | 'invalid_credentials'
 *   | 'forbidden' | 'not_found' | 'already_subscribed' | 'not_subscribed'
 *   | 'too_many_subscriptions' | 'conflict' | 'request_in_progress' | 'rate_limited'
 *   | 'unavailable' | 'internal' | 'unsupported_version' | 'payload_too_large' | 'invalid_code'
 *   | 'invite_expired' | 'invite_used' | 'invite_revoked'
 *   | 'timeout' | 'connection_closed' | 'network' | 'bad_response'} KnownErrorCode
 */

/** Codes whose very same request may succeed later (§12); unknown codes are not retryable (§2). */
const RETRYABLE = new Set([
  'request_in_progress',
  'rate_limited',
  'unavailable',
  'internal',
  'timeout',
  'network',
]);

export class HeheError extends Error {
  /**
   * @param {KnownErrorCode | string} code A stable code; decide on it, never on `message`.
   * @param {string} [message] For developers; not stable, not for end users.
   * @param {{ requestId?: string, status?: number, channel?: string, cause?: unknown }} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = 'HeheError';
    /** @type {string} */
    this.code = code;
    /** The request id of the failed command: pass it again to retry without duplicating. */
    this.requestId = extra.requestId;
    /** HTTP status, for errors of `HeheHttp`. */
    this.status = extra.status;
    /** The channel, for subscription errors. */
    this.channel = extra.channel;
    if (extra.cause !== undefined) this.cause = extra.cause;
  }

  /** Whether sending the very same request again later may succeed. */
  get retryable() {
    return RETRYABLE.has(this.code);
  }
}

/** @param {string} code */
export function isRetryableCode(code) {
  return RETRYABLE.has(code);
}

/** Standard codes after which a client reconnects (§13); any other code below 4000 is terminal. */
const RECONNECT_STANDARD = new Set([1000, 1001, 1005, 1006, 1011, 1012, 1013]);

/**
 * What a close code asks of the client (§13): `reconnect`, `refresh` (4003: a fresh token first)
 * or `terminal` (a person or the app must act).
 * 1005 (no code given) is treated like 1006: the peer vanished without saying why.
 * @param {number} code
 * @returns {'reconnect' | 'refresh' | 'terminal'}
 */
export function closeAction(code) {
  if (code === 4003) return 'refresh';
  if (code >= 4000 && code <= 4499) return 'reconnect';
  if (code >= 4500 && code <= 4999) return 'terminal';
  return RECONNECT_STANDARD.has(code) ? 'reconnect' : 'terminal';
}

/** Names of the documented close codes, for logs and UIs. */
export const CLOSE_CODES = Object.freeze({
  4000: 'shutdown',
  4001: 'slow_consumer',
  4002: 'heartbeat_timeout',
  4003: 'token_expired',
  4004: 'rate_limited',
  4005: 'insufficient_state',
  4006: 'internal_error',
  4007: 'identity_changed',
  4500: 'protocol_violation',
  4501: 'unauthorized',
  4502: 'forbidden',
  4503: 'message_too_big',
  4504: 'unsupported_version',
});
