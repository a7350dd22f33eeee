// What the client knows and how it reaches the server: the shared state `S`, the session (tokens
// in sessionStorage), JSON requests with the token, the places cache, the SDK client and a tiny
// event registry. Views import from here; this module imports no view, so modules that must
// reach the entry point (the router, sign-out) do it through `emit` rather than an import cycle.

import { HeheClient, HeheHttp } from '/sdk/hehe.js';
import { placeName } from './i18n.js';

/** Everything the UI knows, in memory; survives reconnects (the SDK resumes the channels). */
export const S = {
  /** @type {HeheHttp | null} */ http: null,
  /** @type {HeheClient | null} */ client: null,
  me: /** @type {any} */ (null),
  connState: 'idle',
  /** @type {Map<string, any>} */ chats: new Map(),
  categories: /** @type {any[]} */ ([]),
  /** @type {Map<number, any>} */ places: new Map(),
  /** @type {Map<number, string>} */ names: new Map(),
  /** @type {Map<string, string>} */ photoUrls: new Map(),
  /** Unread notifications in the stored inbox (inbox.js keeps it). */
  inboxUnread: 0,
  view: /** @type {{ cleanup?: () => void, refresh?: () => void } | null} */ (null),
};
// For the end-to-end tests and for debugging from the console.
globalThis.hehe = S;

// ---------------------------------------------------------------- events

/** @type {Map<string, Set<Function>>} */
const listeners = new Map();

/**
 * Listens to an app event: 'route' (show the screen of location.hash), 'logout' (sign out),
 * 'conn' (the connection state changed), 'inbox' (the stored inbox changed).
 */
export function on(name, fn) {
  if (!listeners.has(name)) listeners.set(name, new Set());
  listeners.get(name).add(fn);
}

/** Calls the listeners of `name` at once, in order (callers rely on it being synchronous). */
export function emit(name, ...args) {
  for (const fn of listeners.get(name) || []) fn(...args);
}

// ---------------------------------------------------------------- roles

export function hasRole(...roles) {
  return (S.me?.grants || []).some((g) => roles.includes(g.role));
}

export function grantPlace(...roles) {
  return (S.me?.grants || []).find((g) => roles.includes(g.role))?.place;
}

// ---------------------------------------------------------------- session

const SESSION_KEY = 'hehe.session';

export function saveSession() {
  if (!S.http) return;
  sessionStorage.setItem(
    SESSION_KEY,
    JSON.stringify({ access: S.http.accessToken, refresh: S.http.refreshToken, expires: S.http.accessExpiresAt }),
  );
}

/** The tokens kept by an earlier page of this tab, or null. */
export function savedSession() {
  return JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
}

/** Takes up a saved session, refreshing its access token when it is about to expire. */
export async function resumeSession(saved) {
  S.http = new HeheHttp({ baseUrl: location.origin, accessToken: saved.access, refreshToken: saved.refresh });
  S.http.accessExpiresAt = saved.expires || 0;
  if (S.http.accessExpiresAt && S.http.accessExpiresAt - Date.now() < 60_000) await S.http.refresh();
  saveSession();
}

export function forgetSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

export async function signIn(username, password) {
  S.http = new HeheHttp({ baseUrl: location.origin });
  await S.http.login(username, password);
  saveSession();
}

/** Takes up the tokens of a sign-up or an accepted invite (a `TokenResponse`), as a login would. */
export function adoptTokens(tokens) {
  S.http = new HeheHttp({ baseUrl: location.origin, accessToken: tokens.access_token, refreshToken: tokens.refresh_token });
  S.http.accessExpiresAt = tokens.access_expires_at || 0;
  saveSession();
}

/** Drops the connection, the caller's state and the tokens. */
export function endSession() {
  S.client?.close();
  S.client = null;
  // The screens before sign-in (sign-up, reset) must not send the old token.
  S.http = null;
  S.me = null;
  S.chats.clear();
  S.places.clear();
  placeDetails.clear();
  forgetSession();
}

/** The SDK client: it keeps the saved tokens fresh and reports its state through 'conn'. */
export function connect() {
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
    emit('conn');
  });
  S.client.on('closed', ({ error }) => {
    if (error && ['invalid_token', 'token_expired', 'unauthenticated'].includes(error.code)) emit('logout');
  });
  addEventListener('online', () => S.client?.reconnectNow());
}

// ---------------------------------------------------------------- HTTP

/**
 * A JSON request with the bearer token (none before sign-in), refreshed once when it expired.
 * A refusal throws an Error whose `message` is the server's sentence, with its `code`, the
 * HTTP `status` and the answer's `body` (an import's report comes with its 422).
 * A `Blob` body is sent as it is (a CSV file: `new Blob([text], { type: 'text/csv' })`).
 */
export async function api(method, path, body, retried = false) {
  const init = { method, headers: { accept: 'application/json' } };
  if (S.http?.accessToken) init.headers.authorization = `Bearer ${S.http.accessToken}`;
  if (body instanceof FormData) init.body = body;
  else if (body instanceof Blob) {
    init.headers['content-type'] = body.type;
    init.body = body;
  } else if (body !== undefined) {
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
    throw Object.assign(new Error(json?.message || `HTTP ${res.status}`), { code: json?.code || `http_${res.status}`, status: res.status, body: json });
  }
  return json;
}

/** A photo's bytes fetched with the token, shown from a blob URL (an <img> cannot send it). */
export async function photoSrc(url) {
  if (S.photoUrls.has(url)) return S.photoUrls.get(url);
  const res = await fetch(url, { headers: { authorization: `Bearer ${S.http?.accessToken}` } });
  if (!res.ok) throw Object.assign(new Error('photo'), { code: `http_${res.status}` });
  const src = URL.createObjectURL(await res.blob());
  S.photoUrls.set(url, src);
  return src;
}

export async function uploadPhoto(issueId, file, kind) {
  const form = new FormData();
  form.append('kind', kind);
  form.append('file', file);
  return api('POST', `/api/issues/${issueId}/photos`, form);
}

// ---------------------------------------------------------------- places

/** `GET /api/places/{id}` answers, by id: each fetched once (a promise of the detail or null). */
const placeDetails = new Map();

export function knowPlace(place) {
  if (place?.id) S.places.set(place.id, place);
}

/** The place, its ancestors and its children (all named in S.places), fetched once per id. */
export function placeDetail(id) {
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
export function namePlaces(ids) {
  return Promise.all([...new Set(ids)].filter((id) => id && !S.places.has(id)).map(placeDetail));
}

/** A place's name in the current language, or its number while (or if) it is unknown. */
export function placeLabel(id) {
  const place = S.places.get(id);
  return place ? placeName(place) : `#${id}`;
}
