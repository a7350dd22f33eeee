// Against a real server: the connection is lost (network drop, server heartbeat timeout) while
// the channel keeps moving; the client reconnects, resumes from its position and delivers every
// event exactly once, in order.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from './support/server.js';
import { channelOf, login, makeClient, sleep, waitFor } from './support/util.js';

/** @type {import('./support/server.js').TestServer} */
let server;
/** @type {Array<import('../src/hehe.js').HeheClient>} */
const clients = [];

before(async () => {
  // A 1 s heartbeat with 1 s of grace lets the server-side timeout (4002) happen in ~2 s.
  // The official posts dozens of notices back to back, past the per-account post limit.
  server = await startServer({
    HEHE_HEARTBEAT_SECS: '1',
    HEHE_HEARTBEAT_TIMEOUT_SECS: '1',
    HEHE_LIMIT_POSTS: 'off',
  });
});

after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

/**
 * Posts `count` messages one after another, calling `during(i)` before each.
 * @param {import('../src/hehe.js').HeheClient} official
 * @param {string} channel
 * @param {number} count
 * @param {string} label
 * @param {(i: number) => void | Promise<void>} during
 */
async function postMany(official, channel, count, label, during) {
  const ids = [];
  for (let i = 0; i < count; i++) {
    await during(i);
    const posted = await official.post(channel, `${label} ${i}`);
    ids.push(posted.message_id);
    await sleep(15);
  }
  return ids;
}

/**
 * @param {import('../src/hehe.js').HeheEvent[]} events
 * @param {number[]} ids
 * @param {import('../src/hehe.js').Position} start
 */
function assertExactlyOnceInOrder(events, ids, start) {
  const mine = events.filter((e) => ids.includes(e.data.id));
  assert.deepEqual(mine.map((e) => e.data.id), ids, 'every message once, in posting order');
  const offsets = events.map((e) => e.offset);
  assert.deepEqual(offsets, offsets.map((_, i) => start.offset + 1 + i), 'consecutive offsets, no duplicate');
  assert.ok(events.every((e) => e.epoch === start.epoch));
}

test('network drop while the official posts: reconnect, resume, exactly once', async () => {
  const officialHttp = await login(server.base, 'official');
  const residentHttp = await login(server.base, 'resident');
  const home = await channelOf(officialHttp, 'home');
  const { client: official } = makeClient(server.ws, officialHttp);
  const { client: resident, net } = makeClient(server.ws, residentHttp);
  clients.push(official, resident);

  /** @type {import('../src/hehe.js').HeheEvent[]} */
  const events = [];
  /** @type {string[]} */
  const states = [];
  /** @type {number[]} */
  const resets = [];
  resident.on('state', (s) => states.push(s));
  resident.on('recoveryFailed', () => resets.push(1));
  const sub = await resident.subscribe(home, { onEvent: (ev) => events.push(ev) });
  const start = /** @type {import('../src/hehe.js').Position} */ ({ ...sub.position });

  const ids = await postMany(official, home, 30, 'drop', async (i) => {
    // Cut the connection three times, mid-stream; after the second, the network stays down
    // while four messages go out, so they can only arrive through the resumed subscription.
    if (i === 5) net.dropNetwork();
    if (i === 22) {
      // Only a connected socket can be cut: wait for the reconnection after the outage.
      await waitFor(() => resident.state === 'open', 'the reconnection after the outage');
      net.dropNetwork();
    }
    if (i === 14) {
      await waitFor(() => resident.state === 'open', 'the reconnection after the first drop');
      net.offline = true;
      net.dropNetwork();
    }
    if (i === 18) net.offline = false;
  });
  await waitFor(() => events.length >= 30, 'all 30 events', 15_000);
  await sleep(100); // anything duplicated would arrive now
  assertExactlyOnceInOrder(events, ids, start);
  assert.equal(resets.length, 0, 'history was recovered every time');
  assert.ok(net.links.length >= 4, `reconnected after each drop (${net.links.length} sockets)`);
  assert.ok(states.includes('reconnecting'));
  assert.equal(resident.state, 'open');
  // Each reconnection resubscribed with `since`.
  assert.ok(net.sentFrames().filter((f) => f.startsWith('subscribe:')).length >= 4);
});

test('server closes a silent client with 4002; the client reconnects and resumes', async () => {
  const officialHttp = await login(server.base, 'official');
  const residentHttp = await login(server.base, 'resident');
  const home = await channelOf(officialHttp, 'home');
  const { client: official } = makeClient(server.ws, officialHttp);
  const { client: resident, net } = makeClient(server.ws, residentHttp);
  clients.push(official, resident);

  /** @type {import('../src/hehe.js').ReconnectInfo[]} */
  const reconnects = [];
  resident.on('reconnecting', (info) => reconnects.push(info));
  /** @type {import('../src/hehe.js').HeheEvent[]} */
  const events = [];
  const sub = await resident.subscribe(home, { onEvent: (ev) => events.push(ev) });
  const start = /** @type {import('../src/hehe.js').Position} */ ({ ...sub.position });
  const auth = await resident.ready();
  assert.equal(auth.heartbeat_secs, 1);

  // Pings are answered while the client talks: a few seconds of quiet keep it connected.
  await sleep(2_500);
  assert.equal(net.links.length, 1, 'pong keeps the connection alive');
  assert.ok(net.sentFrames().includes('pong'));

  const firstLink = net.current;
  const ids = await postMany(official, home, 12, 'heartbeat', async (i) => {
    // Stop answering pings: the server gives up after heartbeat + timeout (~2 s). The network
    // then stays down while messages 3 to 7 go out: they must come back through the resume.
    if (i === 3) {
      net.mute();
      net.offline = true;
      await waitFor(() => firstLink?.closeCode !== null, 'the server to close the silent connection', 8_000);
    }
    if (i === 8) {
      net.offline = false;
      await waitFor(() => net.links.length >= 2 && resident.state === 'open', 'the reconnection', 8_000);
    }
  });
  await waitFor(() => events.length >= 12, 'all 12 events', 10_000);
  await sleep(100);
  assert.equal(firstLink?.closeCode, 4002, 'closed by the server for silence');
  assert.equal(reconnects[0]?.code, 4002);
  assertExactlyOnceInOrder(events, ids, start);
});
