// HeheHttp: the HTTP endpoints a live client needs (§15): logging in, refreshing tokens, the
// account, reloading a channel after `recovered: false`, and issues. `fetch` is injectable, so it
// runs on WeChat (see `wxFetch`) and in tests.

import { HeheError } from './errors.js';

/** @typedef {import('./types.js').NewIssue} NewIssue */
/** @typedef {import('./types.js').Action} Action */
/** @typedef {import('./types.js').IssueSummary} IssueSummary */
/** @typedef {import('./types.js').Member} Member */

/**
 * What `HeheHttp` needs of a `fetch` response.
 * @typedef {object} FetchResponse
 * @property {boolean} ok
 * @property {number} status
 * @property {() => Promise<string>} text
 */

/**
 * @typedef {(url: string, init: { method: string, headers: Record<string, string>, body?: string }) => Promise<FetchResponse>} FetchLike
 */

/**
 * `TokenResponse` (§15).
 * @typedef {object} TokenResponse
 * @property {string} access_token
 * @property {number} access_expires_at
 * @property {string} refresh_token
 * @property {number} refresh_expires_at
 * @property {AccountInfo} account
 */

/**
 * @typedef {object} Grant
 * @property {string} role
 * @property {{ id: number, kind: string, name: string, name_zh: string, parent_id?: number }} [place]
 * @property {string[]} channels The channels this grant lets the account read.
 */

/**
 * `AccountInfo` (§15 `GET /api/me`).
 * @typedef {object} AccountInfo
 * @property {number} id
 * @property {string} username
 * @property {string} display_name
 * @property {Grant[]} grants
 */

/**
 * @typedef {object} StoredMessage
 * @property {number} id
 * @property {string} channel
 * @property {Member} author
 * @property {string} text
 * @property {number} time
 */

/**
 * `MessagePage`: newest first; `next_before` is absent on the last page.
 * @typedef {object} MessagePage
 * @property {StoredMessage[]} messages
 * @property {number} [next_before]
 */

/**
 * Filters of `GET /api/issues`.
 * @typedef {object} IssueQuery
 * @property {number} [community]
 * @property {number} [street]
 * @property {number} [grid]
 * @property {number} [assignee]
 * @property {boolean} [mine]
 * @property {string | string[]} [state]
 * @property {string} [category]
 * @property {number} [before]
 * @property {number} [limit]
 */

/**
 * @typedef {object} HttpOptions
 * @property {string} baseUrl e.g. `https://hehe.example.org` (no trailing `/api`).
 * @property {FetchLike} [fetch] The global `fetch` by default.
 * @property {string} [accessToken] A token to start with (else `login`).
 * @property {string} [refreshToken]
 * @property {() => string} [requestId] Id generator for issue commands.
 */

/** Refresh an access token this long before it expires, to cover clock skew and latency. */
const EXPIRY_MARGIN_MS = 30_000;

export class HeheHttp {
  /** @param {HttpOptions} options */
  constructor(options) {
    if (!options || !options.baseUrl) throw new TypeError('HeheHttp: baseUrl is required');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const f = options.fetch ?? /** @type {FetchLike | undefined} */ (/** @type {any} */ (globalThis).fetch);
    if (!f) throw new TypeError('HeheHttp: no global fetch; pass one (e.g. wxFetch(wx))');
    // Called unbound: browsers throw "Illegal invocation" when fetch loses its `this`.
    /** @type {FetchLike} */
    this._fetch = (url, init) => f.call(globalThis, url, init);
    /** @type {string | null} */
    this.accessToken = options.accessToken ?? null;
    /** @type {string | null} */
    this.refreshToken = options.refreshToken ?? null;
    /** Unix ms; 0 when unknown. */
    this.accessExpiresAt = 0;
    /** @type {AccountInfo | null} */
    this.account = null;
    this._requestId = options.requestId ?? defaultRequestIds();
    /** @type {Promise<TokenResponse> | null} */
    this._refreshing = null;
  }

  /**
   * Logs in and keeps both tokens.
   * @param {string} username
   * @param {string} password
   * @returns {Promise<TokenResponse>}
   */
  async login(username, password) {
    /** @type {TokenResponse} */
    const tokens = await this._request('POST', '/api/auth/login', { username, password }, false);
    this._keep(tokens);
    return tokens;
  }

  /**
   * Gets a new access token with the refresh token (the kept one by default). Concurrent calls
   * share one request, since each refresh answers new tokens.
   * @param {string} [refreshToken]
   * @returns {Promise<TokenResponse>}
   */
  refresh(refreshToken) {
    const token = refreshToken ?? this.refreshToken;
    if (!token) return Promise.reject(new HeheError('invalid_token', 'no refresh token: log in first'));
    if (!this._refreshing) {
      this._refreshing = this._request('POST', '/api/auth/refresh', { refresh_token: token }, false)
        .then((/** @type {TokenResponse} */ tokens) => {
          this._keep(tokens);
          return tokens;
        })
        .finally(() => {
          this._refreshing = null;
        });
    }
    return this._refreshing;
  }

  /**
   * A `getToken` for `HeheClient`: the kept access token, refreshed when it is about to expire
   * or the server said it expired.
   * @returns {(reason: import('./client.js').TokenReason) => Promise<string>}
   */
  tokenProvider() {
    return async (reason) => {
      const stale = !this.accessToken || (this.accessExpiresAt && this.accessExpiresAt - Date.now() < EXPIRY_MARGIN_MS);
      if (reason === 'expired' || reason === 'refresh' || stale) await this.refresh();
      if (!this.accessToken) throw new HeheError('invalid_token', 'no access token: log in first');
      return this.accessToken;
    };
  }

  /** @returns {Promise<AccountInfo>} */
  me() {
    return this._request('GET', '/api/me');
  }

  /**
   * Stored messages of a channel, newest first: how a channel is filled at first and reloaded
   * after `recovered: false`.
   * @param {string} channel
   * @param {{ before?: number, limit?: number }} [page]
   * @returns {Promise<MessagePage>}
   */
  messages(channel, page = {}) {
    return this._request('GET', `/api/channels/${channel}/messages${query(page)}`);
  }

  /**
   * @param {IssueQuery} [filter]
   * @returns {Promise<IssueSummary[]>}
   */
  issues(filter = {}) {
    const q = { ...filter, state: Array.isArray(filter.state) ? filter.state.join(',') : filter.state };
    return this._request('GET', `/api/issues${query(q)}`);
  }

  /**
   * `IssueDetail` of one issue.
   * @param {number} id
   * @returns {Promise<{ issue: IssueSummary } & Record<string, any>>}
   */
  issue(id) {
    return this._request('GET', `/api/issues/${encodeURIComponent(String(id))}`);
  }

  /**
   * Raises an issue; a retry with the same `requestId` raises nothing new (§6).
   * @param {NewIssue} issue
   * @param {{ requestId?: string }} [options]
   * @returns {Promise<IssueSummary>}
   */
  submitIssue(issue, options = {}) {
    const requestId = options.requestId ?? this._requestId();
    return this._request('POST', '/api/issues', { request_id: requestId, issue }, true, requestId);
  }

  /**
   * Acts on an issue; a retry with the same `requestId` acts once (§6).
   * @param {number} issueId
   * @param {Action} action
   * @param {{ requestId?: string }} [options]
   * @returns {Promise<IssueSummary>}
   */
  issueAction(issueId, action, options = {}) {
    const requestId = options.requestId ?? this._requestId();
    return this._request(
      'POST',
      `/api/issues/${encodeURIComponent(String(issueId))}/actions`,
      { request_id: requestId, action },
      true,
      requestId,
    );
  }

  /** @param {TokenResponse} tokens */
  _keep(tokens) {
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    this.accessExpiresAt = tokens.access_expires_at;
    this.account = tokens.account ?? this.account;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {boolean} [auth]
   * @param {string} [requestId] Carried by errors, so the caller can retry with it.
   * @returns {Promise<any>}
   */
  async _request(method, path, body, auth = true, requestId) {
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth) {
      if (!this.accessToken) throw new HeheError('unauthenticated', 'no access token: log in first', { requestId });
      headers.authorization = `Bearer ${this.accessToken}`;
    }
    /** @type {FetchResponse} */
    let res;
    try {
      res = await this._fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new HeheError('network', `${method} ${path} failed: ${err instanceof Error ? err.message : 'network error'}`, { requestId, cause: err });
    }
    const text = await res.text();
    /** @type {any} */
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      // Decide by the stable code of the ApiError body, not by status (§15); a proxy's HTML error
      // page has none, so fall back to what the status means.
      const code = json && typeof json.code === 'string' ? json.code : statusCode(res.status);
      throw new HeheError(code, (json && json.message) || `HTTP ${res.status}`, { status: res.status, requestId });
    }
    if (json === null && text) throw new HeheError('bad_response', `${method} ${path}: the answer is not JSON`, { status: res.status });
    return json;
  }
}

/**
 * A `fetch` for WeChat mini-programs, over `wx.request`.
 * @param {{ request: (opts: { url: string, method: string, header: Record<string, string>, data?: string,
 *   dataType: string, responseType: string, success: (res: { statusCode: number, data: unknown }) => void,
 *   fail: (err: { errMsg?: string }) => void }) => void }} wx
 * @returns {FetchLike}
 */
export function wxFetch(wx) {
  return (url, init) =>
    new Promise((resolve, reject) => {
      wx.request({
        url,
        method: init.method,
        header: init.headers,
        data: init.body,
        // Raw text: WeChat's own JSON parsing would hide unreadable bodies.
        dataType: 'text',
        responseType: 'text',
        success: (res) =>
          resolve({
            ok: res.statusCode >= 200 && res.statusCode < 300,
            status: res.statusCode,
            text: async () => (typeof res.data === 'string' ? res.data : JSON.stringify(res.data)),
          }),
        fail: (err) => reject(new Error(err?.errMsg || 'wx.request failed')),
      });
    });
}

/** @param {number} status */
function statusCode(status) {
  if (status === 400) return 'invalid_request';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 503 || status === 502 || status === 504) return 'unavailable';
  return 'internal';
}

/** @param {Record<string, unknown>} params */
function query(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function defaultRequestIds() {
  const prefix = Math.random().toString(36).slice(2, 12);
  let n = 0;
  return () => `${prefix}-h${++n}`;
}
