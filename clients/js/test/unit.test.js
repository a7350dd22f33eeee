// Unit tests without a server: backoff, close codes, URLs, ordering and deduplication against the
// protocol's golden fixtures, timeouts and retries, HTTP error mapping.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Backoff, HeheError, HeheHttp, closeAction, wsUrl } from '../src/hehe.js';
import { fakeClient, fakeServer, until } from './support/fake.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../../../protocol/tests/fixtures');
/** @param {string} name e.g. `server/event.json` */
const fixture = (name) => JSON.parse(readFileSync(resolve(fixtures, name), 'utf8'));

test('backoff: full jitter under a doubling, capped bound', () => {
  let r = 0.999;
  const b = new Backoff({ minMs: 100, maxMs: 1000, random: () => r });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [99, 199, 399, 799, 999]);
  r = 0;
  assert.equal(b.next(), 0);
  b.reset();
  r = 0.5;
  assert.equal(b.next(), 50);
});

test('close codes by range (§13)', () => {
  for (const code of [4000, 4001, 4002, 4004, 4005, 4006, 4499, 1000, 1001, 1006, 1011, 1012, 1013]) {
    assert.equal(closeAction(code), 'reconnect', String(code));
  }
  assert.equal(closeAction(4003), 'refresh');
  for (const code of [4500, 4501, 4502, 4503, 4504, 4999, 1002, 1003, 1008, 3000]) {
    assert.equal(closeAction(code), 'terminal', String(code));
  }
});

test('URLs: server base or endpoint', () => {
  assert.equal(wsUrl('https://hehe.example.org'), 'wss://hehe.example.org/ws');
  assert.equal(wsUrl('http://127.0.0.1:8080/'), 'ws://127.0.0.1:8080/ws');
  assert.equal(wsUrl('wss://hehe.example.org/ws'), 'wss://hehe.example.org/ws');
  assert.equal(wsUrl('ws://h:1/custom/ws'), 'ws://h:1/custom/ws');
});

test('fixtures: resume delivers recovered events, drops duplicates, resubscribes on a gap', async () => {
  const fake = fakeServer();
  const client = fakeClient(fake);
  await fake.authenticate();
  /** @type {any[]} */
  const events = [];
  const subscribing = client.subscribe('home:12', { since: { epoch: 'xkqbmwtz', offset: 41 }, onEvent: (e) => events.push(e) });
  await until(() => fake.sent('subscribe').length === 1);
  const sub1 = fake.sent('subscribe')[0];
  assert.deepEqual(sub1.since, fixture('client/subscribe_since.json').since);
  fake.push({ ...fixture('server/reply_subscribed_recovered.json'), id: sub1.id });
  const sub = await subscribing;
  assert.deepEqual(events.map((e) => e.offset), [42, 43]);
  assert.deepEqual(sub.position, { epoch: 'xkqbmwtz', offset: 43 });

  const ev44 = fixture('server/event.json'); // offset 44
  fake.push(ev44);
  fake.push(ev44); // duplicate
  fake.push({ ...ev44, offset: 43 }); // older
  assert.deepEqual(events.map((e) => e.offset), [42, 43, 44]);

  // A gap (46 after 44): not delivered; unsubscribe, then subscribe since 44.
  fake.push({ ...ev44, offset: 46 });
  assert.equal(events.length, 3);
  await until(() => fake.sent('subscribe').length === 2);
  assert.equal(fake.sent('unsubscribe').length, 1);
  const sub2 = fake.sent('subscribe')[1];
  assert.deepEqual(sub2.since, { epoch: 'xkqbmwtz', offset: 44 });
  // Live events of the old subscription still in flight are held back until the reply.
  fake.push({ ...ev44, offset: 45 });
  fake.push({
    type: 'reply',
    id: sub2.id,
    result: { kind: 'subscribed', channel: 'home:12', epoch: 'xkqbmwtz', offset: 46, recovered: true, events: [45, 46].map((o) => ({ ...ev44, type: undefined, offset: o })) },
  });
  fake.push({ ...ev44, offset: 47 });
  assert.deepEqual(events.map((e) => e.offset), [42, 43, 44, 45, 46, 47]);
  client.close();
});

test('fixtures: a reset is reported when history is gone, and issue channels may skip', async () => {
  const fake = fakeServer();
  /** @type {string[]} */
  const failed = [];
  const client = fakeClient(fake, { onRecoveryFailed: (ch) => failed.push(ch) });
  await fake.authenticate();
  /** @type {any[]} */
  const resets = [];
  const p = client.subscribe('home:12', { since: { epoch: 'xkqbmwtz', offset: 41 }, onReset: (r) => resets.push(r) });
  await until(() => fake.sent('subscribe').length === 1);
  fake.push({ ...fixture('server/reply_subscribed_not_recovered.json'), id: fake.sent('subscribe')[0].id });
  const sub = await p;
  assert.deepEqual(failed, ['home:12']);
  assert.deepEqual(resets[0].position, { epoch: 'pdnrhcaw', offset: 5 });
  assert.deepEqual(sub.position, { epoch: 'pdnrhcaw', offset: 5 });

  /** @type {number[]} */
  const issueOffsets = [];
  const q = client.subscribe('issue:7', { onEvent: (e) => issueOffsets.push(e.offset) });
  await until(() => fake.sent('subscribe').length === 2);
  fake.push({ type: 'reply', id: fake.sent('subscribe')[1].id, result: { kind: 'subscribed', channel: 'issue:7', epoch: 'tgwbnqse', offset: 3, recovered: false, events: [] } });
  await q;
  const ev = fixture('server/event_issue_updated.json'); // offset 6 on issue:7
  fake.push({ ...ev, offset: 4 });
  fake.push(ev); // 4 → 6: internal entry skipped, no gap
  assert.deepEqual(issueOffsets, [4, 6]);
  assert.equal(fake.sent('unsubscribe').length, 0);
  client.close();
});

test('fixtures: presence snapshot, joins and leaves; server-ended subscription', async () => {
  const fake = fakeServer();
  const client = fakeClient(fake);
  await fake.authenticate();
  /** @type {any[]} */
  const changes = [];
  const p = client.subscribe('room:7', { onPresence: (c) => changes.push(c) });
  await until(() => fake.sent('subscribe').length === 1);
  fake.push({ ...fixture('server/reply_subscribed_room.json'), id: fake.sent('subscribe')[0].id });
  const room = await p;
  assert.equal(changes[0].snapshot, true);
  assert.deepEqual(room.members.map((m) => m.account_id), [7, 42]);
  fake.push(fixture('server/presence.json'));
  fake.push({ type: 'presence', channel: 'room:7', joins: [{ account_id: 42, name: '王芳' }], leaves: [{ account_id: 7, name: '李伟' }] });
  assert.deepEqual(room.members.map((m) => m.account_id).sort(), [108, 42]);

  const presence = client.presence('room:7');
  await until(() => fake.sent('presence').length === 1);
  fake.push({ ...fixture('server/reply_presence.json'), id: fake.sent('presence')[0].id });
  assert.equal((await presence).length, 3);

  /** @type {HeheError[]} */
  const ended = [];
  room.on('ended', (e) => ended.push(e));
  fake.push({ ...fixture('server/unsubscribed.json'), channel: 'room:7' });
  assert.equal(ended[0].code, 'forbidden');
  assert.equal(client.subscription('room:7'), undefined);
  client.close();
});

test('commands: reply by id, error with code, timeout then retry with the same id', async () => {
  const fake = fakeServer();
  const client = fakeClient(fake, { requestTimeoutMs: 100 });
  await fake.authenticate();
  const posting = client.post('home:12', 'hello');
  const [post] = fake.sent('post');
  fake.push({ ...fixture('server/reply_posted.json'), id: post.id });
  assert.equal((await posting).message_id, 9031);

  const refused = client.post('home:12', 'no');
  fake.push({ ...fixture('server/error.json'), id: fake.sent('post')[1].id });
  await assert.rejects(refused, (err) => err instanceof HeheError && err.code === 'forbidden' && !err.retryable);

  const timedOut = client.post('home:12', 'slow');
  /** @type {HeheError} */
  let timeout = /** @type {any} */ (null);
  await timedOut.catch((e) => (timeout = e));
  assert.equal(timeout.code, 'timeout');
  assert.ok(timeout.retryable);
  const retry = client.post('home:12', 'slow', { requestId: timeout.requestId, timeoutMs: 3_000 });
  const frames = fake.sent('post');
  assert.equal(frames[frames.length - 1].id, timeout.requestId);

  // request_in_progress: asked again shortly, same id, transparently.
  fake.push({ type: 'error', id: timeout.requestId, code: 'request_in_progress', message: 'busy' });
  await until(() => fake.sent('post').filter((f) => f.id === timeout.requestId).length === 3);
  fake.push({ ...fixture('server/reply_posted.json'), id: timeout.requestId });
  assert.equal((await retry).kind, 'posted');
  client.close();
});

test('a silent server is detected after heartbeat + timeout, and the client reconnects', async () => {
  const fake = fakeServer();
  const client = fakeClient(fake, { heartbeatTimeoutMs: 50 });
  /** @type {any[]} */
  const reconnects = [];
  client.on('reconnecting', (r) => reconnects.push(r));
  await fake.authenticate(1);
  await until(() => fake.sockets.length === 2, 3_000);
  assert.equal(fake.sockets[0].closed, true);
  assert.equal(reconnects.length, 1);
  client.close();
});

test('an unanswered command is resent on the next connection, once, with its id', async () => {
  const fake = fakeServer();
  const client = fakeClient(fake);
  await fake.authenticate();
  const p = client.submitIssue(fixture('client/submit_issue.json').issue);
  const [first] = fake.sent('submit_issue');
  fake.close(1006);
  await until(() => fake.sockets.length === 2);
  await fake.authenticate();
  const again = fake.sent('submit_issue');
  assert.equal(again.length, 1);
  assert.equal(again[0].id, first.id);
  fake.push({ ...fixture('server/reply_issue.json'), id: first.id });
  assert.equal((await p).reference, 'HH-000007');
  client.close();
});

test('logs never carry tokens', async () => {
  const fake = fakeServer();
  /** @type {string[]} */
  const lines = [];
  const log = (/** @type {string} */ msg, /** @type {unknown} */ fields) => lines.push(msg + JSON.stringify(fields ?? {}));
  const client = fakeClient(fake, { logger: { debug: log, info: log, warn: log, error: log } });
  await until(() => fake.sent('auth').length === 1);
  fake.push({ type: 'error', id: fake.sent('auth')[0].id, code: 'token_expired', message: 'expired' });
  fake.close(4003);
  await until(() => client.state === 'closed');
  assert.ok(lines.length > 0);
  assert.ok(lines.every((l) => !l.includes('secret-token-value')));
});

test('HTTP: errors by code, proxies without a body, token provider refreshes', async () => {
  /** @type {Array<{ url: string, init: any }>} */
  const calls = [];
  /** @type {Array<{ status: number, body: string }>} */
  const answers = [];
  const http = new HeheHttp({
    baseUrl: 'https://h.example/',
    fetch: async (url, init) => {
      calls.push({ url, init });
      const a = answers.shift() ?? { status: 500, body: '' };
      return { ok: a.status < 300, status: a.status, text: async () => a.body };
    },
  });
  const tokens = fixture('http/token_response.json');
  answers.push({ status: 200, body: JSON.stringify(tokens) });
  await http.login('wang.fang', 'pw');
  assert.equal(calls[0].url, 'https://h.example/api/auth/login');
  assert.equal(http.accessToken, tokens.access_token);

  answers.push({ status: 403, body: JSON.stringify({ code: 'forbidden', message: 'no' }) });
  await assert.rejects(http.messages('home:12', { limit: 5 }), { code: 'forbidden', status: 403 });
  assert.equal(calls[1].url, 'https://h.example/api/channels/home:12/messages?limit=5');
  assert.equal(calls[1].init.headers.authorization, `Bearer ${tokens.access_token}`);

  answers.push({ status: 502, body: '<html>bad gateway</html>' });
  await assert.rejects(http.issues({ state: ['dispatched', 'in_progress'] }), { code: 'unavailable' });
  assert.equal(calls[2].url, 'https://h.example/api/issues?state=dispatched%2Cin_progress');

  const fresh = { ...tokens, access_token: 'new-access', access_expires_at: Date.now() + 3_600_000 };
  answers.push({ status: 200, body: JSON.stringify(fresh) });
  const provide = http.tokenProvider();
  assert.equal(await provide('expired'), 'new-access');
  assert.deepEqual(JSON.parse(calls[3].init.body), { refresh_token: tokens.refresh_token });
  assert.equal(await provide('reconnect'), 'new-access');
  assert.equal(calls.length, 4, 'a fresh token is reused');

  answers.push({ status: 200, body: JSON.stringify(fixture('http/issue_summary.json')) });
  await http.submitIssue(fixture('http/new_issue.json'), { requestId: 'abc-1' });
  assert.equal(JSON.parse(calls[4].init.body).request_id, 'abc-1');
});

test('reconnectNow skips the backoff; unsubscribing a pending subscribe undoes it', async () => {
  const fake = fakeServer();
  const client = fakeClient(fake, { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
  await fake.authenticate();
  /** @type {string[]} */
  const states = [];
  client.on('state', (s) => states.push(s));
  fake.close(1006);
  assert.equal(client.state, 'reconnecting');
  client.reconnectNow();
  await until(() => fake.sockets.length === 2);
  await fake.authenticate();
  assert.deepEqual(states, ['reconnecting', 'open']);

  const p = client.subscribe('home:12');
  await until(() => fake.sent('subscribe').length === 1);
  const sub = client.subscription('home:12');
  const unsubscribing = sub?.unsubscribe();
  await until(() => fake.sent('unsubscribe').length === 1);
  fake.push({ type: 'reply', id: fake.sent('unsubscribe')[0].id, result: { kind: 'unsubscribed', channel: 'home:12' } });
  await unsubscribing;
  await assert.rejects(p, { code: 'connection_closed' });
  assert.equal(fake.sent('unsubscribe').length, 1, 'the server is told, so it keeps no orphan');
  client.close();
});

test('an unsubscribe still waiting when the connection drops settles', async () => {
  const fake = fakeServer();
  const client = fakeClient(fake);
  await fake.authenticate();
  const p = client.subscribe('home:12');
  await until(() => fake.sent('subscribe').length === 1);
  fake.push({ ...fixture('server/reply_subscribed.json'), id: fake.sent('subscribe')[0].id });
  const sub = await p;
  const unsubscribing = sub.unsubscribe();
  fake.close(1006);
  await unsubscribing;
  assert.equal(sub.state, 'ended');
  client.close();
});

test('the SDK has no runtime dependencies and imports only its own modules', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
  assert.equal(pkg.type, 'module');
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}), []);
  for (const file of ['hehe.js', 'client.js', 'subscription.js', 'transport.js', 'http.js', 'errors.js', 'emitter.js', 'backoff.js', 'types.js']) {
    const src = readFileSync(resolve(root, 'src', file), 'utf8');
    for (const m of src.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
      assert.ok(m[1].startsWith('./'), `${file} imports ${m[1]}`);
    }
    assert.ok(!/\bprocess\.|\brequire\(|\bBuffer\b/.test(src), `${file} uses a Node-only global`);
  }
});

test('without a WebSocket on the platform the client stops with a clear error', async () => {
  const g = /** @type {any} */ (globalThis);
  const saved = g.WebSocket;
  delete g.WebSocket;
  try {
    const client = new (await import('../src/hehe.js')).HeheClient({ url: 'ws://nowhere/ws', token: 't' });
    await assert.rejects(client.ready(), (err) => err instanceof HeheError && err.code === 'connection_closed' && /transport/.test(err.message));
    assert.equal(client.state, 'closed');
  } finally {
    if (saved) g.WebSocket = saved;
  }
});
