// Against a real server: live events in order, request/reply, idempotent retries, error codes.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HeheError, HeheHttp } from '../src/hehe.js';
import { startServer } from './support/server.js';
import { channelOf, login, makeClient, waitFor } from './support/util.js';

/** @type {import('./support/server.js').TestServer} */
let server;
/** @type {HeheHttp} */
let officialHttp;
/** @type {HeheHttp} */
let residentHttp;
/** @type {string} */
let home;
/** @type {Array<{ client: import('../src/hehe.js').HeheClient }>} */
const clients = [];

before(async () => {
  server = await startServer();
  officialHttp = await login(server.base, 'official');
  residentHttp = await login(server.base, 'resident');
  home = await channelOf(officialHttp, 'home');
  assert.equal(await channelOf(residentHttp, 'home'), home, 'resident and official share a community');
});

after(async () => {
  for (const { client } of clients) client.close();
  await server?.stop();
});

/**
 * @param {HeheHttp} http
 * @param {Partial<import('../src/client.js').ClientOptions>} [extra]
 */
function connect(http, extra) {
  const c = makeClient(server.ws, http, extra);
  clients.push(c);
  return c;
}

describe('live channel', () => {
  test('subscribe, then every posted message arrives once, in order', async () => {
    const { client: resident } = connect(residentHttp);
    const { client: official } = connect(officialHttp);
    /** @type {string[]} */
    const states = [];
    resident.on('state', (s) => states.push(s));
    const auth = await resident.ready();
    assert.equal(auth.kind, 'authenticated');
    assert.equal(auth.account.username, 'resident');
    assert.equal(resident.state, 'open');

    /** @type {import('../src/hehe.js').HeheEvent[]} */
    const events = [];
    const sub = await resident.subscribe(home, { onEvent: (ev) => events.push(ev) });
    assert.ok(sub.position, 'the subscribed reply gives a position');
    const start = /** @type {import('../src/hehe.js').Position} */ (sub.position);

    const posted = [];
    for (let i = 0; i < 10; i++) posted.push(await official.post(home, `notice ${i}`));
    await waitFor(() => events.length >= 10, '10 events');

    assert.deepEqual(
      events.map((e) => e.offset),
      posted.map((_, i) => start.offset + 1 + i),
      'consecutive offsets after the subscribe position',
    );
    assert.deepEqual(events.map((e) => e.data.id), posted.map((p) => p.message_id));
    assert.deepEqual(events.map((e) => e.data.text), posted.map((_, i) => `notice ${i}`));
    assert.ok(events.every((e) => e.kind === 'message' && e.epoch === start.epoch));
    assert.deepEqual(sub.position, { epoch: start.epoch, offset: start.offset + 10 });
    assert.deepEqual(resident.positions()[home], sub.position);
    assert.deepEqual(states.slice(0, 2), ['connecting', 'open']);

    // After unsubscribing nothing more is delivered.
    await sub.unsubscribe();
    assert.equal(resident.subscription(home), undefined);
    await official.post(home, 'after unsubscribe');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.length, 10);
  });

  test('HTTP reload of a channel: newest first, paged', async () => {
    const page = await residentHttp.messages(home, { limit: 3 });
    assert.equal(page.messages.length, 3);
    assert.ok(page.messages[0].id > page.messages[1].id, 'newest first');
    assert.ok(page.next_before);
    const older = await residentHttp.messages(home, { before: page.next_before, limit: 3 });
    assert.ok(older.messages[0].id < page.messages[2].id);
  });
});

describe('idempotent commands', () => {
  test('the same requestId twice gives one message, same offset', async () => {
    const { client: official } = connect(officialHttp);
    const { client: resident } = connect(residentHttp);
    /** @type {import('../src/hehe.js').HeheEvent[]} */
    const events = [];
    await resident.subscribe(home, { onEvent: (ev) => events.push(ev) });

    const requestId = `${official.nextRequestId()}-idem`;
    const first = await official.post(home, 'exactly once', { requestId });
    const second = await official.post(home, 'exactly once', { requestId });
    assert.deepEqual(second, first, 'the retry gets the first reply');

    // A retry on a brand-new connection is still the same post.
    const { client: other } = connect(officialHttp);
    const third = await other.post(home, 'exactly once', { requestId });
    assert.deepEqual(third, first);

    const marker = await official.post(home, 'marker');
    await waitFor(() => events.some((e) => e.data.id === marker.message_id), 'the marker event');
    assert.equal(events.filter((e) => e.data.text === 'exactly once').length, 1);
    const stored = await residentHttp.messages(home, { limit: 20 });
    assert.equal(stored.messages.filter((m) => m.text === 'exactly once').length, 1);
  });

  test('a post unanswered when the connection drops is resent with its id, applied once', async () => {
    const { client: official, net } = connect(officialHttp);
    await official.ready();
    // Swallow the frame on this socket so the post goes unanswered, then cut the connection.
    net.mute();
    const pending = official.post(home, 'resent after reconnect');
    await new Promise((r) => setTimeout(r, 50));
    net.dropNetwork();
    const posted = await pending;
    const stored = await residentHttp.messages(home, { limit: 20 });
    assert.equal(stored.messages.filter((m) => m.text === 'resent after reconnect').length, 1);
    assert.equal(stored.messages.find((m) => m.text === 'resent after reconnect')?.id, posted.message_id);
    const postFrames = net.sentFrames().filter((f) => f.startsWith('post:'));
    assert.equal(postFrames.length, 1, 'sent once on the wire by the second socket (the first swallowed it)');
    assert.ok(net.links.length >= 2);
  });

  test('issue commands: submit and act, retried with the same id, applied once', async () => {
    const { client: resident } = connect(residentHttp);
    const { client: official } = connect(officialHttp);
    const me = await residentHttp.me();
    const community = me.grants.find((g) => g.place?.kind === 'community')?.place;
    assert.ok(community);
    // A grid of the resident's community, for the issue's place.
    const categories = await (await fetch(`${server.base}/api/categories`)).json();
    const issue = {
      category: categories[0].code,
      title: 'Stairwell light broken',
      description: 'The light on the third floor has been out for a week.',
      place_id: community.id + 1,
    };
    const requestId = `${resident.nextRequestId()}-issue`;
    let summary;
    try {
      summary = await resident.submitIssue(issue, { requestId });
    } catch (err) {
      // The place guess may be wrong in another seed; report it clearly.
      assert.fail(`submit_issue failed: ${err instanceof HeheError ? err.code : err}`);
    }
    assert.equal(summary.state, 'submitted');
    const again = await resident.submitIssue(issue, { requestId });
    assert.equal(again.id, summary.id, 'the retry raises no second issue');

    const accepted = await official.issueAction(summary.id, { kind: 'accept' });
    assert.equal(accepted.state, 'accepted');
    await assert.rejects(official.issueAction(summary.id, { kind: 'accept' }), (err) => {
      assert.ok(err instanceof HeheError);
      assert.equal(err.code, 'conflict');
      return true;
    });
    const detail = await residentHttp.issue(summary.id);
    assert.equal(detail.issue.state, 'accepted');
    const viaHttp = await officialHttp.issueAction(summary.id, { kind: 'post_update', text: 'on it' });
    assert.equal(viaHttp.id, summary.id);
  });
});

describe('errors carry stable codes', () => {
  test('forbidden, invalid_request, invalid_credentials, token errors', async () => {
    const lakesideHttp = await login(server.base, 'lakeside');
    const { client: lakeside } = connect(lakesideHttp);
    await assert.rejects(lakeside.post(home, 'not my community'), (err) => {
      assert.ok(err instanceof HeheError);
      assert.equal(err.code, 'forbidden');
      assert.equal(err.retryable, false);
      assert.ok(err.requestId, 'the error names the request');
      return true;
    });
    await assert.rejects(lakeside.subscribe(home), { code: 'forbidden', channel: home });
    assert.equal(lakeside.subscription(home), undefined, 'a refused subscription is dropped');
    await assert.rejects(lakeside.subscribe('home:x'), { code: 'invalid_request' });
    await assert.rejects(lakeside.presence(home), (err) => err instanceof HeheError && ['invalid_request', 'forbidden'].includes(err.code));
    // The connection survives refusals.
    assert.equal(lakeside.state, 'open');

    const http = new HeheHttp({ baseUrl: server.base });
    await assert.rejects(http.login('resident', 'wrong'), { code: 'invalid_credentials', status: 401 });
    await assert.rejects(http.me(), { code: 'unauthenticated' });
    const bad = new HeheHttp({ baseUrl: server.base, accessToken: 'not-a-token' });
    await assert.rejects(bad.me(), (err) => err instanceof HeheError && ['invalid_token', 'unauthenticated'].includes(err.code));
    await assert.rejects(residentHttp.messages('home:999999'), (err) => err instanceof HeheError && ['forbidden', 'not_found'].includes(err.code));
  });

  test('an invalid token is terminal: the client stops and says why', async () => {
    const { client } = connect(residentHttp, { getToken: () => 'not-a-token' });
    /** @type {import('../src/client.js').CloseInfo[]} */
    const closes = [];
    client.on('closed', (info) => closes.push(info));
    await assert.rejects(client.ready(), { code: 'invalid_token' });
    assert.equal(client.state, 'closed');
    assert.equal(closes[0].code, 4501);
    assert.equal(closes[0].error?.code, 'invalid_token');
    await assert.rejects(client.post(home, 'x'), { code: 'connection_closed' });
  });

  test('refreshing the token on an open connection', async () => {
    const http = await login(server.base, 'resident');
    const { client } = connect(http);
    await client.ready();
    const tokens = await http.refresh();
    const refreshed = await client.refreshToken(tokens.access_token);
    assert.equal(refreshed.kind, 'refreshed');
    assert.ok(refreshed.expires_at >= tokens.access_expires_at - 1000);
    await assert.rejects(client.refreshToken('garbage'), { code: 'invalid_token' });
    assert.equal(client.state, 'open', 'a refused refresh keeps the connection');
  });
});

describe('living room', () => {
  // The seeded hearing in Riverside, chaired by the street chief (README: `room:1`).
  const meeting = 1;
  const room = `room:${meeting}`;

  test('presence snapshot, joins and leaves; room actions', async () => {
    const chiefHttp = await login(server.base, 'chief');
    const { client: resident } = connect(residentHttp);
    /** @type {import('../src/hehe.js').PresenceChange[]} */
    const changes = [];
    /** @type {import('../src/hehe.js').HeheEvent[]} */
    const events = [];
    const sub = await resident.subscribe(room, { onPresence: (c) => changes.push(c), onEvent: (e) => events.push(e) });
    assert.equal(sub.hasPresence, true);
    assert.equal(changes[0].snapshot, true);
    const residentId = (await residentHttp.me()).id;
    await waitFor(() => sub.members.some((m) => m.account_id === residentId), 'oneself among the members');

    const { client: chief } = connect(chiefHttp);
    await chief.subscribe(room);
    const chiefId = (await chiefHttp.me()).id;
    await waitFor(() => sub.members.some((m) => m.account_id === chiefId), 'the chief to join');
    const members = await resident.presence(room);
    assert.ok(members.some((m) => m.account_id === chiefId));

    const started = await chief.roomAction(meeting, { kind: 'start' });
    assert.equal(started.kind, 'room_done');
    const raised = await resident.roomAction(meeting, { kind: 'raise_hand' });
    assert.ok(raised.seq > started.seq);
    await waitFor(() => events.some((e) => e.kind === 'room.event' && e.data.seq === raised.seq), 'the hand_raised entry');
    const entry = events.find((e) => e.data.seq === raised.seq);
    assert.equal(entry?.data.kind, 'hand_raised');
    assert.ok(events.every((e) => !('type' in e)), 'events are delivered without the frame type');
    await assert.rejects(resident.roomAction(meeting, { kind: 'start' }), { code: 'forbidden' });

    chief.close();
    await waitFor(() => !sub.members.some((m) => m.account_id === chiefId), 'the chief to leave');
    assert.ok(changes.some((c) => c.leaves.some((m) => m.account_id === chiefId)));
  });

  test(
    'a room action retried with its request id gets the first reply (§11.8)',
    async () => {
      const { client: resident } = connect(residentHttp);
      const chiefHttp = await login(server.base, 'chief');
      const { client: chief } = connect(chiefHttp);
      await chief.roomAction(meeting, { kind: 'start' }).catch(() => {});
      await resident.roomAction(meeting, { kind: 'lower_hand' }).catch(() => {});
      const requestId = `${resident.nextRequestId()}-hand`;
      const first = await resident.roomAction(meeting, { kind: 'raise_hand' }, { requestId });
      const retry = await resident.roomAction(meeting, { kind: 'raise_hand' }, { requestId });
      assert.deepEqual(retry, first);
    },
  );
});
