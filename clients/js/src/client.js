// HeheClient: one logical session over a succession of WebSocket connections. It authenticates
// each connection, keeps every subscription resumed from its last position across reconnects
// (§5), pairs commands with their answers by request id and resends unanswered ones with the same
// id after a reconnect, which the server applies at most once (§6).

import { Backoff } from './backoff.js';
import { Emitter } from './emitter.js';
import { CLOSE_CODES, HeheError, closeAction } from './errors.js';
import { Subscription } from './subscription.js';
import { webSocketTransport } from './transport.js';

/** @typedef {import('./types.js').Position} Position */
/** @typedef {import('./types.js').HeheEvent} HeheEvent */
/** @typedef {import('./types.js').Member} Member */
/** @typedef {import('./types.js').ResetInfo} ResetInfo */
/** @typedef {import('./types.js').ServerFrame} ServerFrame */
/** @typedef {import('./types.js').ClientFrame} ClientFrame */
/** @typedef {import('./types.js').AuthenticatedResult} AuthenticatedResult */
/** @typedef {import('./types.js').SubscribedResult} SubscribedResult */
/** @typedef {import('./types.js').PostedResult} PostedResult */
/** @typedef {import('./types.js').PresenceResult} PresenceResult */
/** @typedef {import('./types.js').IssueResult} IssueResult */
/** @typedef {import('./types.js').RoomDoneResult} RoomDoneResult */
/** @typedef {import('./types.js').RefreshedResult} RefreshedResult */
/** @typedef {import('./types.js').NewIssue} NewIssue */
/** @typedef {import('./types.js').Action} Action */
/** @typedef {import('./types.js').Logger} Logger */
/** @typedef {import('./transport.js').Transport} Transport */
/** @typedef {import('./transport.js').TransportSocket} TransportSocket */
/** @typedef {import('./subscription.js').SubscribeOptions} SubscribeOptions */

/** The protocol version this SDK speaks (§2). */
export const PROTOCOL_VERSION = 1;

/**
 * Why a token is asked for: the first connection, a reconnection, after the server said the
 * token expired (4003: a cached token will not do), or ahead of expiry for a `refresh` frame.
 * @typedef {'connect' | 'reconnect' | 'expired' | 'refresh'} TokenReason
 */

/**
 * @typedef {object} ClientOptions
 * @property {string} url The server (`https://host`) or its WebSocket endpoint (`wss://host/ws`).
 * @property {string} [token] A fixed access token. Without `getToken`, a 4003 close is terminal.
 * @property {(reason: TokenReason) => string | Promise<string>} [getToken] Returns an access
 *   token; called before every connection and when the token needs replacing. With it the client
 *   also refreshes the connection's token before it expires (§3.3).
 * @property {Transport} [transport] How sockets are opened; the global `WebSocket` by default.
 * @property {Logger} [logger]
 * @property {number} [requestTimeoutMs] How long a command waits for its answer (default 10 s),
 *   counted from the call, time spent offline included.
 * @property {number} [heartbeatTimeoutMs] Silence tolerated beyond the server's ping interval
 *   before the connection is considered dead (default 10 s, §3.2).
 * @property {number} [reconnectMinMs] Backoff: bound of the first delay (default 500 ms).
 * @property {number} [reconnectMaxMs] Backoff: largest bound (default 30 s).
 * @property {number} [refreshMarginMs] Refresh the token this long before it expires (default 60 s).
 * @property {boolean} [autoConnect] Connect right away (default true); else call `connect()`.
 * @property {(channel: string, info: ResetInfo) => void} [onRecoveryFailed] Shortcut for the
 *   `recoveryFailed` event.
 */

/** @typedef {'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'} ConnectionState */

/**
 * @typedef {object} CloseInfo
 * @property {number} code The close code (§13), 1000 when the app closed the client.
 * @property {string} reason
 * @property {HeheError} [error] Why a terminal close happened (e.g. `invalid_token`).
 */

/**
 * @typedef {object} ReconnectInfo
 * @property {number} code The close code of the lost connection (1006: lost without one).
 * @property {string} reason
 * @property {number} delayMs Wait before the next attempt.
 * @property {number} attempt 1 for the first retry.
 */

/**
 * @typedef {object} ClientEvents
 * @property {[ConnectionState]} state
 * @property {[]} connecting
 * @property {[AuthenticatedResult]} open
 * @property {[ReconnectInfo]} reconnecting
 * @property {[CloseInfo]} closed
 * @property {[ResetInfo]} recoveryFailed
 * @property {[{ channel: string, error: HeheError }]} subscriptionEnded
 * @property {[HeheError]} error Errors that answer no command (e.g. `bad_frame`).
 */

/**
 * @typedef {object} CommandOptions
 * @property {string} [requestId] Send again with the id of an earlier attempt (its
 *   `HeheError.requestId`) to retry without applying twice.
 * @property {number} [timeoutMs]
 */

/**
 * A command waiting for its answer.
 * @typedef {object} Pending
 * @property {string} id
 * @property {ClientFrame} frame
 * @property {(result: any) => void} resolve
 * @property {(err: HeheError) => void} reject
 * @property {Connection | null} sentOn The connection it was last sent on.
 * @property {boolean} connectionScoped Belongs to one connection (auth, subscribe,
 *   unsubscribe): dropped with it instead of being resent.
 * @property {ReturnType<typeof setTimeout> | undefined} timer
 * @property {number} busyRetries `request_in_progress` answers so far.
 * @property {() => void} [onLost] For connection-scoped commands: their connection is gone.
 */

/**
 * One WebSocket connection.
 * @typedef {object} Connection
 * @property {TransportSocket} socket
 * @property {boolean} authenticated
 * @property {string} authId
 * @property {string | null} authError The code of an `error` answering `auth`.
 * @property {number} openedAt When it was authenticated, 0 before.
 * @property {number} lastFrameAt
 * @property {number} deadAfterMs Silence after which it is considered dead (0: not yet known).
 * @property {ReturnType<typeof setTimeout> | undefined} watchdog
 */

/** A connection that lived this long counts as a success: the backoff starts over. */
const STABLE_MS = 5_000;

/** @extends {Emitter<ClientEvents>} */
export class HeheClient extends Emitter {
  /** @param {ClientOptions} options */
  constructor(options) {
    super();
    if (!options || !options.url) throw new TypeError('HeheClient: url is required');
    if (!options.token && !options.getToken) throw new TypeError('HeheClient: token or getToken is required');
    /** @readonly */
    this.url = wsUrl(options.url);
    this._token = options.token;
    this._getToken = options.getToken;
    this._transport = options.transport ?? webSocketTransport();
    /** @type {Logger} */
    this._log = options.logger ?? {};
    this._requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this._heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 10_000;
    this._refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this._backoff = new Backoff({ minMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs });
    /** @type {ConnectionState} */
    this.state = 'idle';
    /** The `authenticated` reply of the current connection. @type {AuthenticatedResult | null} */
    this.session = null;
    /** @type {Map<string, Subscription>} */
    this._subs = new Map();
    /** @type {Map<string, Pending>} */
    this._pending = new Map();
    /** @type {Connection | null} */
    this._conn = null;
    /** Bumped whenever an attempt is superseded, so late async steps of older ones stop. */
    this._attemptGen = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._retryTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._refreshTimer = undefined;
    /** Why the next attempt needs a token. @type {TokenReason} */
    this._nextReason = 'reconnect';
    /** @type {Array<{ resolve: (s: AuthenticatedResult) => void, reject: (e: HeheError) => void }>} */
    this._readyWaiters = [];
    // A random prefix per client plus a counter makes request ids unique for good, which the
    // server's idempotency memory needs (§6).
    this._idPrefix = randomId(10);
    this._idCounter = 0;
    if (options.onRecoveryFailed) {
      const cb = options.onRecoveryFailed;
      this.on('recoveryFailed', (info) => cb(info.channel, info));
    }
    if (options.autoConnect ?? true) {
      // Deferred so that listeners attached right after construction see `connecting`.
      Promise.resolve().then(() => {
        if (this.state === 'idle') this.connect().catch(() => {});
      });
    }
  }

  /** A fresh request id, unique for good. */
  nextRequestId() {
    this._idCounter += 1;
    return `${this._idPrefix}-${this._idCounter}`;
  }

  /**
   * Starts connecting (again, after a terminal close or `close()`); resolves once authenticated.
   * @returns {Promise<AuthenticatedResult>}
   */
  connect() {
    if (this.state === 'idle' || this.state === 'closed') {
      this._backoff.reset();
      this._setState('connecting');
      this.emit('connecting');
      this._attempt('connect');
    }
    return this.ready();
  }

  /**
   * Resolves when the client is authenticated (at once if it is); rejects if it closes first.
   * @returns {Promise<AuthenticatedResult>}
   */
  ready() {
    if (this.state === 'open' && this.session) return Promise.resolve(this.session);
    if (this.state === 'closed') return Promise.reject(new HeheError('connection_closed', 'the client is closed'));
    return new Promise((resolve, reject) => this._readyWaiters.push({ resolve, reject }));
  }

  /**
   * While waiting to reconnect, tries at once: for when the app knows the network is back (the
   * browser's `online` event, a mini-program's `onShow`, `wx.onNetworkStatusChange`).
   */
  reconnectNow() {
    if (this.state !== 'reconnecting' || this._conn) return;
    clearTimeout(this._retryTimer);
    this._backoff.reset();
    this._attempt(this._nextReason);
  }

  /**
   * Ends the session: closes the socket (1000), drops subscriptions' live delivery and rejects
   * waiting commands with `connection_closed`. Subscriptions are kept, so `connect()` resumes them.
   */
  close() {
    if (this.state === 'closed') return;
    this._stop(1000, 'closed by the client', undefined);
  }

  // ---- commands -------------------------------------------------------------------------------

  /**
   * Follows a channel. Resolves with the subscription once the server confirmed it; rejects with
   * `forbidden`, `not_found`, … (the subscription is then dropped).
   * @param {string} channel e.g. `home:12`
   * @param {SubscribeOptions} [options]
   * @returns {Promise<Subscription>}
   */
  subscribe(channel, options = {}) {
    if (this._subs.has(channel)) {
      return Promise.reject(new HeheError('already_subscribed', `already subscribed to ${channel}`, { channel }));
    }
    const sub = new Subscription(channel, options, (s) => this._unsubscribe(s));
    this._subs.set(channel, sub);
    const timer = setTimeout(() => {
      if (sub._everSubscribed) return;
      this._endSubscription(sub, new HeheError('timeout', `no answer to subscribing to ${channel}`, { channel }), false);
    }, this._requestTimeoutMs);
    sub.ready.then(() => clearTimeout(timer), () => clearTimeout(timer));
    if (this._conn?.authenticated) this._sendSubscribe(sub, this._conn);
    else if (this.state === 'closed') {
      this._endSubscription(sub, new HeheError('connection_closed', 'the client is closed', { channel }), false);
    }
    return sub.ready;
  }

  /**
   * The subscription of a channel, if the client follows it.
   * @param {string} channel
   */
  subscription(channel) {
    return this._subs.get(channel);
  }

  /**
   * The last position seen of every followed channel, e.g. to save and pass as `since` later.
   * @returns {Record<string, Position>}
   */
  positions() {
    /** @type {Record<string, Position>} */
    const out = {};
    for (const [channel, sub] of this._subs) if (sub.position) out[channel] = { ...sub.position };
    return out;
  }

  /**
   * Posts a text message. Applied at most once per request id, also across reconnects.
   * @param {string} channel
   * @param {string} text
   * @param {CommandOptions} [options]
   * @returns {Promise<PostedResult>}
   */
  post(channel, text, options = {}) {
    return this._command({ type: 'post', channel, text }, options, true);
  }

  /**
   * Raises an issue (§10); resolves with its summary.
   * @param {NewIssue} issue
   * @param {CommandOptions} [options]
   * @returns {Promise<IssueResult['issue']>}
   */
  async submitIssue(issue, options = {}) {
    /** @type {IssueResult} */
    const result = await this._command({ type: 'submit_issue', issue }, options, true);
    return result.issue;
  }

  /**
   * Acts on an issue (§10.3); resolves with its summary after the action.
   * @param {number} issueId
   * @param {Action} action e.g. `{ kind: 'accept' }`
   * @param {CommandOptions} [options]
   * @returns {Promise<IssueResult['issue']>}
   */
  async issueAction(issueId, action, options = {}) {
    /** @type {IssueResult} */
    const result = await this._command({ type: 'issue_action', issue: issueId, action }, options, true);
    return result.issue;
  }

  /**
   * Acts in a meeting's living room (§11).
   * @param {number} meetingId
   * @param {Action} action e.g. `{ kind: 'raise_hand' }`
   * @param {CommandOptions} [options]
   * @returns {Promise<RoomDoneResult>}
   */
  roomAction(meetingId, action, options = {}) {
    return this._command({ type: 'room_action', meeting: meetingId, action }, options, true);
  }

  /**
   * Who is present in a room now.
   * @param {string} channel
   * @param {CommandOptions} [options]
   * @returns {Promise<Member[]>}
   */
  async presence(channel, options = {}) {
    /** @type {PresenceResult} */
    const result = await this._command({ type: 'presence', channel }, options, false);
    return result.members;
  }

  /**
   * Replaces the connection's access token (§3.3); the token is also used for reconnecting.
   * @param {string} token
   * @param {CommandOptions} [options]
   * @returns {Promise<RefreshedResult>}
   */
  async refreshToken(token, options = {}) {
    /** @type {RefreshedResult} */
    const result = await this._command({ type: 'refresh', token }, options, false);
    this._token = token;
    if (this.session) this.session = { ...this.session, expires_at: result.expires_at };
    this._scheduleRefresh(result.expires_at);
    return result;
  }

  /**
   * Sends a command and waits for its answer. A command still unanswered when the connection is
   * lost is sent again, with the same id, on the next one.
   * @param {Record<string, unknown> & { type: string }} body
   * @param {CommandOptions} options
   * @param {boolean} idempotent Retried by the client on `request_in_progress`.
   * @returns {Promise<any>}
   */
  _command(body, options, idempotent) {
    const id = options.requestId ?? this.nextRequestId();
    const inFlight = this._pending.get(id);
    if (inFlight && !inFlight.connectionScoped) {
      // The same id already waits: a second copy would only get the same answer.
      return new Promise((resolve, reject) => {
        const { resolve: r0, reject: j0 } = inFlight;
        inFlight.resolve = (v) => (r0(v), resolve(v));
        inFlight.reject = (e) => (j0(e), reject(e));
      });
    }
    if (this.state === 'closed') {
      return Promise.reject(new HeheError('connection_closed', 'the client is closed', { requestId: id }));
    }
    return new Promise((resolve, reject) => {
      /** @type {Pending} */
      const pending = {
        id,
        frame: { ...body, id },
        resolve,
        reject,
        sentOn: null,
        connectionScoped: false,
        timer: undefined,
        busyRetries: idempotent ? 0 : Infinity,
      };
      pending.timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new HeheError('timeout', `no answer to ${body.type} within the timeout; retry with the same requestId`, { requestId: id }));
      }, options.timeoutMs ?? this._requestTimeoutMs);
      this._pending.set(id, pending);
      const conn = this._conn;
      if (conn?.authenticated) this._sendPending(pending, conn);
    });
  }

  /**
   * @param {Pending} pending
   * @param {Connection} conn
   */
  _sendPending(pending, conn) {
    pending.sentOn = conn;
    this._send(conn, pending.frame);
  }

  /**
   * @param {Connection} conn
   * @param {ClientFrame} frame
   */
  _send(conn, frame) {
    if (this._conn !== conn) return;
    try {
      conn.socket.send(JSON.stringify(frame));
    } catch (err) {
      // A socket that is closing refuses; its close follows and the frame is resent then.
      this._log.debug?.('send failed', { type: frame.type, error: String(err) });
    }
  }

  // ---- connections ----------------------------------------------------------------------------

  /**
   * One connection attempt: token, socket, `auth`.
   * @param {TokenReason} reason
   */
  async _attempt(reason) {
    const gen = ++this._attemptGen;
    let token;
    try {
      token = await this._tokenFor(reason);
    } catch (err) {
      if (gen !== this._attemptGen || this.state === 'closed') return;
      const error = err instanceof HeheError ? err : new HeheError('network', 'getToken failed', { cause: err });
      if (!error.retryable) {
        // A refresh token that is refused needs the user to log in again: retrying cannot help.
        this._stop(reason === 'expired' ? 4003 : 4501, 'no usable token', error);
        return;
      }
      this._log.warn?.('getToken failed; will retry', { code: error.code });
      this._scheduleReconnect(1006, 'getToken failed', reason === 'expired' ? 'expired' : 'reconnect');
      return;
    }
    if (gen !== this._attemptGen || this.state === 'closed') return;

    /** @type {Connection} */
    const conn = {
      socket: /** @type {TransportSocket} */ (/** @type {unknown} */ (null)),
      authenticated: false,
      authId: this.nextRequestId(),
      authError: null,
      openedAt: 0,
      lastFrameAt: Date.now(),
      deadAfterMs: 0,
      watchdog: undefined,
    };
    this._conn = conn;
    // Until authenticated, the request timeout bounds the handshake: a server that accepts the
    // socket but never answers `auth` must not hang the client.
    this._armWatchdog(conn, this._requestTimeoutMs);
    try {
      conn.socket = this._transport(this.url, {
        onOpen: () => {
          if (this._conn !== conn) return;
          this._log.debug?.('socket open');
          this._send(conn, { type: 'auth', id: conn.authId, token, version: PROTOCOL_VERSION });
        },
        onMessage: (data) => {
          if (this._conn !== conn) return;
          conn.lastFrameAt = Date.now();
          this._onFrame(conn, data);
        },
        onClose: (code, why) => {
          if (this._conn !== conn) return;
          this._lost(conn, code, why);
        },
        onError: (err) => {
          if (this._conn !== conn) return;
          this._log.debug?.('socket error', { error: describe(err) });
        },
      });
    } catch (err) {
      // A transport throws for what retrying cannot fix (no WebSocket on this platform, a
      // malformed URL); looping on it would only burn battery.
      this._log.error?.('transport failed to open a socket', { error: describe(err) });
      if (this._conn === conn) {
        this._stop(1006, 'transport failed', new HeheError('connection_closed', `the transport failed: ${describe(err)}`, { cause: err }));
      }
    }
  }

  /**
   * @param {TokenReason} reason
   * @returns {Promise<string>}
   */
  async _tokenFor(reason) {
    if (this._getToken) {
      const token = await this._getToken(reason);
      this._token = token;
      return token;
    }
    if (reason === 'expired') {
      throw new HeheError('token_expired', 'the access token expired and there is no getToken to replace it');
    }
    return /** @type {string} */ (this._token);
  }

  /**
   * (Re)arms the dead-connection check: it fires after `ms` without a frame from the server.
   * @param {Connection} conn
   * @param {number} ms
   */
  _armWatchdog(conn, ms) {
    conn.deadAfterMs = ms;
    clearTimeout(conn.watchdog);
    const check = () => {
      if (this._conn !== conn) return;
      const silent = Date.now() - conn.lastFrameAt;
      if (silent >= conn.deadAfterMs) {
        this._log.info?.('no frame from the server in time; dropping the connection', { silent_ms: silent });
        this._drop(conn, conn.authenticated ? 'heartbeat timeout' : 'auth timeout');
      } else {
        // Re-armed lazily instead of on every frame: one timer per silence, not per message.
        conn.watchdog = setTimeout(check, conn.deadAfterMs - silent);
      }
    };
    conn.watchdog = setTimeout(check, ms);
  }

  /**
   * Abandons a connection from this side (dead, or superseded) and goes on as if it was lost.
   * The close handshake is not awaited: a dead peer would never complete it.
   * @param {Connection} conn
   * @param {string} why
   */
  _drop(conn, why) {
    this._lost(conn, 1006, why);
    try {
      conn.socket?.close(1000, why);
    } catch {
      // gone already
    }
  }

  /**
   * A connection ended. Decide by its close code (§13) whether and how to reconnect.
   * @param {Connection} conn
   * @param {number} code
   * @param {string} why
   */
  _lost(conn, code, why) {
    if (this._conn !== conn) return;
    this._conn = null;
    clearTimeout(conn.watchdog);
    clearTimeout(this._refreshTimer);
    this.session = null;
    this._forgetConnection(conn);
    if (this.state === 'closed') return;

    let action = closeAction(code);
    // The auth error explains the close that follows it; trust it if the close code got lost.
    if (conn.authError === 'token_expired') action = 'refresh';
    else if (conn.authError === 'invalid_token' || conn.authError === 'unsupported_version') action = 'terminal';
    this._log.info?.('connection closed', { code, name: closeName(code), reason: why, action });

    if (action === 'terminal') {
      const error = new HeheError(
        conn.authError ?? 'connection_closed',
        `the server closed the connection with ${code} (${closeName(code)})${why ? `: ${why}` : ''}`,
      );
      this._stop(code, why, error);
      return;
    }
    if (conn.openedAt && Date.now() - conn.openedAt >= STABLE_MS) this._backoff.reset();
    this._scheduleReconnect(code, why, action === 'refresh' ? 'expired' : 'reconnect');
  }

  /**
   * Forgets what belonged to a lost connection: its subscribes and unsubscribes (subscriptions
   * are resubscribed on the next one), while commands wait to be sent again.
   * @param {Connection} conn
   */
  _forgetConnection(conn) {
    for (const [id, p] of this._pending) {
      if (p.connectionScoped) {
        this._pending.delete(id);
        clearTimeout(p.timer);
        p.onLost?.();
      } else if (p.sentOn === conn) {
        p.sentOn = null;
      }
    }
    for (const sub of this._subs.values()) if (sub.state === 'live') sub.state = 'pending';
  }

  /**
   * @param {number} code
   * @param {string} why
   * @param {TokenReason} reason
   */
  _scheduleReconnect(code, why, reason) {
    const delayMs = this._backoff.next();
    this._setState('reconnecting');
    this.emit('reconnecting', { code, reason: why, delayMs, attempt: this._backoff.attempt });
    clearTimeout(this._retryTimer);
    this._nextReason = reason;
    const gen = ++this._attemptGen;
    this._retryTimer = setTimeout(() => {
      if (gen === this._attemptGen && this.state === 'reconnecting') this._attempt(reason);
    }, delayMs);
  }

  /**
   * Stops for good (until `connect()`): after `close()` or a terminal close code.
   * @param {number} code
   * @param {string} why
   * @param {HeheError | undefined} error
   */
  _stop(code, why, error) {
    this._attemptGen += 1;
    clearTimeout(this._retryTimer);
    clearTimeout(this._refreshTimer);
    const conn = this._conn;
    this._conn = null;
    this.session = null;
    if (conn) {
      clearTimeout(conn.watchdog);
      this._forgetConnection(conn);
      try {
        conn.socket?.close(1000, 'bye');
      } catch {
        // gone already
      }
    }
    this._setState('closed');
    const reason = error ?? new HeheError('connection_closed', 'the client is closed');
    for (const [id, p] of this._pending) {
      this._pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new HeheError('connection_closed', reason.message, { requestId: p.id, cause: reason }));
    }
    for (const sub of this._subs.values()) {
      if (!sub._everSubscribed) this._endSubscription(sub, reason, false);
    }
    for (const w of this._readyWaiters.splice(0)) w.reject(reason);
    if (error) this._log.warn?.('stopped', { code, error: error.code });
    this.emit('closed', { code, reason: why, error });
  }

  /** @param {ConnectionState} state */
  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  /**
   * Refreshes the connection's token some time before it expires, when `getToken` can supply one.
   * @param {number} expiresAt Unix ms, server clock.
   */
  _scheduleRefresh(expiresAt) {
    clearTimeout(this._refreshTimer);
    if (!this._getToken) return;
    const remaining = expiresAt - Date.now();
    // Half the lifetime at most, so short-lived tokens are refreshed in time too; clamped to what
    // setTimeout can wait.
    const delay = Math.min(2 ** 31 - 1, Math.max(1_000, remaining - Math.min(this._refreshMarginMs, remaining / 2)));
    this._refreshTimer = setTimeout(async () => {
      if (this.state !== 'open' || !this._getToken) return;
      try {
        const token = await this._getToken('refresh');
        if (this.state === 'open') await this.refreshToken(token);
      } catch (err) {
        // Not fatal: if the token expires first, the server closes with 4003 and the reconnect
        // asks for a fresh one.
        this._log.warn?.('token refresh failed', { code: err instanceof HeheError ? err.code : 'error' });
      }
    }, delay);
  }

  // ---- frames ---------------------------------------------------------------------------------

  /**
   * @param {Connection} conn
   * @param {string} data
   */
  _onFrame(conn, data) {
    /** @type {ServerFrame} */
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      this._log.warn?.('unreadable frame from the server');
      return;
    }
    if (!frame || typeof frame !== 'object') return;
    switch (frame.type) {
      case 'event': {
        // Delivered without `type`, like the events of a `subscribed` reply.
        const { type: _type, ...ev } = frame;
        this._onEvent(conn, ev);
        break;
      }
      case 'reply':
        if (frame.id === conn.authId) this._onAuthenticated(conn, /** @type {AuthenticatedResult} */ (frame.result));
        else this._settle(frame.id, frame.result, null);
        break;
      case 'error': {
        const error = new HeheError(frame.code, frame.message, { requestId: frame.id });
        if (frame.id && frame.id === conn.authId) {
          conn.authError = frame.code;
          this._log.warn?.('authentication refused', { code: frame.code });
        } else if (frame.id && this._pending.has(frame.id)) {
          this._settle(frame.id, null, error);
        } else {
          this._log.warn?.('error from the server', { code: frame.code });
          this.emit('error', error);
        }
        break;
      }
      case 'presence':
        this._subs.get(frame.channel)?._onPresence(frame);
        break;
      case 'unsubscribed': {
        const sub = this._subs.get(frame.channel);
        if (sub) {
          this._endSubscription(sub, new HeheError(frame.code, frame.message, { channel: frame.channel }), true);
        }
        break;
      }
      case 'ping':
        this._send(conn, { type: 'pong' });
        break;
      case 'pong':
        break;
      default:
        // Unknown frame types come only with a new version (§2); ignore rather than fail.
        this._log.debug?.('unknown frame type', { type: /** @type {{type: unknown}} */ (frame).type });
    }
  }

  /**
   * @param {Connection} conn
   * @param {AuthenticatedResult} result
   */
  _onAuthenticated(conn, result) {
    conn.authenticated = true;
    conn.openedAt = Date.now();
    this.session = result;
    // §3.2: consider the connection dead after the ping interval plus a margin of silence.
    this._armWatchdog(conn, (result.heartbeat_secs || 25) * 1000 + this._heartbeatTimeoutMs);
    this._setState('open');
    this._log.info?.('authenticated', { account: result.account?.id, protocol: result.protocol });
    // Resume every subscription from its position before anything else goes out, then resend
    // the commands that went unanswered, with their original ids.
    for (const sub of this._subs.values()) this._sendSubscribe(sub, conn);
    for (const p of this._pending.values()) {
      if (!p.connectionScoped && p.sentOn !== conn) this._sendPending(p, conn);
    }
    this._scheduleRefresh(result.expires_at);
    this.emit('open', result);
    for (const w of this._readyWaiters.splice(0)) w.resolve(result);
  }

  /**
   * @param {Connection} conn
   * @param {HeheEvent} ev
   */
  _onEvent(conn, ev) {
    const sub = this._subs.get(ev.channel);
    if (!sub) return; // unsubscribed meanwhile: events already on their way may still arrive
    const verdict = sub._onEvent(ev);
    if (verdict === 'gap') {
      this._log.info?.('gap or new epoch in a channel; resubscribing', { channel: ev.channel });
      this._resync(sub, conn);
    }
  }

  /**
   * Answers a pending command.
   * @param {string | undefined} id
   * @param {any} result
   * @param {HeheError | null} error
   */
  _settle(id, result, error) {
    if (!id) return;
    const p = this._pending.get(id);
    if (!p) return; // answered already, or timed out
    if (error && error.code === 'request_in_progress' && p.busyRetries < 20 && this._conn) {
      // The first attempt is still being applied elsewhere (§6): ask again shortly, same id.
      const conn = this._conn;
      const delay = Math.min(2_000, 100 * 2 ** p.busyRetries);
      p.busyRetries += 1;
      setTimeout(() => {
        if (this._pending.get(id) === p && this._conn === conn && conn.authenticated) this._sendPending(p, conn);
      }, delay);
      return;
    }
    this._pending.delete(id);
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(result);
  }

  // ---- subscriptions --------------------------------------------------------------------------

  /**
   * Subscribes on this connection, resuming from the subscription's position if it has one.
   * @param {Subscription} sub
   * @param {Connection} conn
   */
  _sendSubscribe(sub, conn) {
    if (sub.state === 'ended') return;
    sub.state = 'pending';
    const since = sub.position ? { ...sub.position } : null;
    /** @type {ClientFrame & { id: string }} */
    const frame = { type: 'subscribe', id: this.nextRequestId(), channel: sub.channel };
    if (since) frame.since = since;
    this._connectionCommand(conn, frame, {
      resolve: (/** @type {SubscribedResult} */ result) => {
        if (this._subs.get(sub.channel) !== sub) return;
        const reset = sub._onSubscribed(result, since);
        if (reset) {
          this._log.info?.('history not recovered; the app must reload the channel', { channel: sub.channel });
          this.emit('recoveryFailed', reset);
        }
      },
      reject: (err) => this._onSubscribeRefused(sub, conn, err),
    });
  }

  /**
   * @param {Subscription} sub
   * @param {Connection} conn
   * @param {HeheError} err
   */
  _onSubscribeRefused(sub, conn, err) {
    if (this._subs.get(sub.channel) !== sub) return;
    if (err.retryable) {
      // rate_limited, unavailable, internal: the same subscribe may work a little later.
      setTimeout(() => {
        if (this._conn === conn && conn.authenticated && this._subs.get(sub.channel) === sub) this._sendSubscribe(sub, conn);
      }, this._backoff.minMs + Math.floor(Math.random() * 1000));
      return;
    }
    if (err.code === 'already_subscribed') {
      // The server still holds an older subscription of ours; start it over from our position.
      this._resync(sub, conn);
      return;
    }
    this._endSubscription(sub, new HeheError(err.code, err.message, { channel: sub.channel, requestId: err.requestId }), true);
  }

  /**
   * Resubscribes from the last position after a gap or an epoch change (§5).
   * @param {Subscription} sub
   * @param {Connection} conn
   */
  _resync(sub, conn) {
    if (!conn.authenticated || this._conn !== conn) return;
    sub.state = 'pending';
    this._connectionCommand(conn, { type: 'unsubscribe', id: this.nextRequestId(), channel: sub.channel }, {
      resolve: () => {},
      reject: () => {},
    });
    this._sendSubscribe(sub, conn);
  }

  /**
   * @param {Subscription} sub
   * @returns {Promise<void>}
   */
  _unsubscribe(sub) {
    if (this._subs.get(sub.channel) === sub) this._subs.delete(sub.channel);
    sub._end();
    const conn = this._conn;
    // Sent even while the subscribe is still on its way: the server handles frames in order, so
    // this undoes it instead of leaving a subscription nobody reads.
    if (!conn?.authenticated) return Promise.resolve();
    return new Promise((resolve) => {
      // Errors (not_subscribed: the server ended it first) and a lost connection all leave the
      // same outcome: not subscribed.
      this._connectionCommand(conn, { type: 'unsubscribe', id: this.nextRequestId(), channel: sub.channel }, {
        resolve: () => resolve(),
        reject: () => resolve(),
        onLost: () => resolve(),
      });
    });
  }

  /**
   * @param {Subscription} sub
   * @param {HeheError} error
   * @param {boolean} announce Emit `subscriptionEnded` (a live subscription ended by the server).
   */
  _endSubscription(sub, error, announce) {
    if (this._subs.get(sub.channel) === sub) this._subs.delete(sub.channel);
    const wasConfirmed = sub._everSubscribed;
    sub._end(error);
    if (announce && wasConfirmed) this.emit('subscriptionEnded', { channel: sub.channel, error });
  }

  /**
   * A command that lives and dies with one connection; resolved or silently dropped with it.
   * @param {Connection} conn
   * @param {ClientFrame & { id: string }} frame
   * @param {{ resolve: (result: any) => void, reject: (err: HeheError) => void, onLost?: () => void }} handlers
   */
  _connectionCommand(conn, frame, handlers) {
    /** @type {Pending} */
    const pending = {
      id: frame.id,
      frame,
      resolve: handlers.resolve,
      reject: handlers.reject,
      onLost: handlers.onLost,
      sentOn: conn,
      connectionScoped: true,
      timer: undefined,
      busyRetries: Infinity,
    };
    pending.timer = setTimeout(() => {
      // An unanswered subscribe means the connection is not working: start over.
      if (this._pending.get(frame.id) === pending) {
        this._pending.delete(frame.id);
        pending.onLost?.();
        if (this._conn === conn) this._drop(conn, `no answer to ${frame.type}`);
      }
    }, this._requestTimeoutMs);
    this._pending.set(frame.id, pending);
    this._send(conn, frame);
  }
}

/**
 * The WebSocket endpoint for a server URL: `https://h` → `wss://h/ws`, `ws://h/ws` unchanged.
 * Done with strings, as WeChat mini-programs have no `URL`.
 * @param {string} url
 */
export function wsUrl(url) {
  let u = url.trim();
  if (u.startsWith('https://')) u = 'wss://' + u.slice(8);
  else if (u.startsWith('http://')) u = 'ws://' + u.slice(7);
  const schemeEnd = u.indexOf('://');
  const pathStart = schemeEnd >= 0 ? u.indexOf('/', schemeEnd + 3) : -1;
  if (pathStart < 0) return u + '/ws';
  if (u.length === pathStart + 1) return u + 'ws';
  return u;
}

/** @param {number} length */
function randomId(length) {
  let s = '';
  while (s.length < length) s += Math.random().toString(36).slice(2);
  return s.slice(0, length);
}

/** @param {number} code */
function closeName(code) {
  return /** @type {Record<number, string>} */ (CLOSE_CODES)[code] ?? String(code);
}

/** @param {unknown} err */
function describe(err) {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'errMsg' in err) return String(/** @type {{errMsg: unknown}} */ (err).errMsg);
  if (err && typeof err === 'object' && 'message' in err) return String(/** @type {{message: unknown}} */ (err).message);
  return 'socket error';
}
