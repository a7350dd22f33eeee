// Against a real server keeping only 3 events per channel: a client that missed more cannot be
// caught up, and the SDK must say so (`reset` / `recoveryFailed`) so the app reloads over HTTP.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from './support/server.js';
import { channelOf, login, makeClient, sleep, waitFor } from './support/util.js';

/** @type {import('./support/server.js').TestServer} */
let server;
/** @type {Array<import('../src/hehe.js').HeheClient>} */
const clients = [];

before(async () => {
  server = await startServer({ HEHE_HISTORY_SIZE: '3' });
});

after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

test('missing more than the history holds surfaces recovered: false for that channel', async () => {
  const officialHttp = await login(server.base, 'official');
  const residentHttp = await login(server.base, 'resident');
  const home = await channelOf(officialHttp, 'home');
  const street = await channelOf(residentHttp, 'street');
  const { client: official } = makeClient(server.ws, officialHttp);
  /** @type {Array<{ channel: string, info: import('../src/hehe.js').ResetInfo }>} */
  const failed = [];
  const { client: resident, net } = makeClient(server.ws, residentHttp, {
    onRecoveryFailed: (channel, info) => failed.push({ channel, info }),
  });
  clients.push(official, resident);

  /** @type {import('../src/hehe.js').HeheEvent[]} */
  const events = [];
  /** @type {import('../src/hehe.js').ResetInfo[]} */
  const resets = [];
  const sub = await resident.subscribe(home, { onEvent: (ev) => events.push(ev) });
  sub.on('reset', (info) => resets.push(info));
  // A quiet channel loses nothing: its resume must succeed.
  /** @type {import('../src/hehe.js').ResetInfo[]} */
  const streetResets = [];
  await resident.subscribe(street, { onReset: (info) => streetResets.push(info) });

  const before1 = await official.post(home, 'seen live');
  await waitFor(() => events.length === 1, 'the live event');
  const seen = /** @type {import('../src/hehe.js').Position} */ ({ ...sub.position });
  assert.equal(seen.offset, before1.offset);

  // Network down; five messages go out, more than the 3 the server keeps.
  net.offline = true;
  net.dropNetwork();
  await waitFor(() => resident.state === 'reconnecting', 'the client to notice');
  const missed = [];
  for (let i = 0; i < 5; i++) missed.push(await official.post(home, `missed ${i}`));
  net.offline = false;

  await waitFor(() => resets.length === 1, 'the reset of the channel');
  assert.equal(failed.length, 1);
  assert.equal(failed[0].channel, home);
  assert.deepEqual(resets[0].since, seen, 'it tried to resume from the last position seen');
  assert.deepEqual(resets[0].position, { epoch: seen.epoch, offset: missed[4].offset }, 'the top to follow from');
  assert.deepEqual(sub.position, resets[0].position);
  assert.equal(streetResets.length, 0, 'the quiet channel was recovered');
  assert.equal(events.length, 1, 'nothing partial was delivered');

  // The app reloads over HTTP; the missed messages are there.
  const page = await residentHttp.messages(home, { limit: 10 });
  const texts = page.messages.map((m) => m.text);
  for (let i = 0; i < 5; i++) assert.ok(texts.includes(`missed ${i}`));

  // Live delivery goes on right after the reported top.
  const next = await official.post(home, 'after the reset');
  await waitFor(() => events.length === 2, 'the next live event');
  assert.equal(events[1].offset, next.offset);
  assert.equal(events[1].offset, missed[4].offset + 1);
  await sleep(50);
  assert.equal(events.length, 2);
});

test('a saved position from another epoch resumes with a reset', async () => {
  const residentHttp = await login(server.base, 'resident');
  const home = await channelOf(residentHttp, 'home');
  const { client } = makeClient(server.ws, residentHttp);
  clients.push(client);
  /** @type {import('../src/hehe.js').ResetInfo[]} */
  const resets = [];
  const sub = await client.subscribe(home, { since: { epoch: 'nosuchepoch', offset: 1 }, onReset: (i) => resets.push(i) });
  assert.equal(resets.length, 1);
  assert.notEqual(sub.position?.epoch, 'nosuchepoch');
});
