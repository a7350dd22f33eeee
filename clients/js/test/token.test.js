// Against a real server whose access tokens live 3 s: the client refreshes its connection's token
// in time, and when it cannot, the server's 4003 makes it fetch a fresh token and resume.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HeheError } from '../src/hehe.js';
import { startServer } from './support/server.js';
import { channelOf, login, makeClient, sleep, waitFor } from './support/util.js';

/** @type {import('./support/server.js').TestServer} */
let server;
/** @type {Array<import('../src/hehe.js').HeheClient>} */
const clients = [];

before(async () => {
  server = await startServer({ HEHE_ACCESS_TOKEN_TTL_SECS: '3' });
});

after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

test('tokens: refreshed on the open connection, or replaced after 4003', async () => {
  const officialHttp = await login(server.base, 'official');
  const home = await channelOf(officialHttp, 'home');

  // Client A refreshes ahead of expiry: one connection throughout.
  const httpA = await login(server.base, 'resident');
  /** @type {string[]} */
  const reasonsA = [];
  const providerA = httpA.tokenProvider();
  const { client: a, net: netA } = makeClient(server.ws, httpA, {
    getToken: (reason) => {
      reasonsA.push(reason);
      return providerA(reason);
    },
  });
  // Client B cannot refresh in time (its refresh fails): the server closes it with 4003, and it
  // must ask for a fresh token before reconnecting, then resume.
  const httpB = await login(server.base, 'resident');
  /** @type {string[]} */
  const reasonsB = [];
  const providerB = httpB.tokenProvider();
  const { client: b, net: netB } = makeClient(server.ws, httpB, {
    getToken: (reason) => {
      reasonsB.push(reason);
      if (reason === 'refresh') throw new HeheError('unavailable', 'refresh service down');
      return providerB(reason);
    },
  });
  const { client: official } = makeClient(server.ws, officialHttp);
  clients.push(a, b, official);

  /** @type {string[]} */
  const textsA = [];
  /** @type {string[]} */
  const textsB = [];
  await a.subscribe(home, { onEvent: (e) => textsA.push(e.data.text) });
  await b.subscribe(home, { onEvent: (e) => textsB.push(e.data.text) });

  await waitFor(() => netB.links[0]?.closeCode === 4003, 'the server to close B for its expired token', 8_000);
  await official.post(home, 'while B reconnects');
  await waitFor(() => b.state === 'open' && netB.links.length >= 2, 'B to reconnect');
  await waitFor(() => textsB.includes('while B reconnects'), 'B to resume');
  assert.ok(reasonsB.includes('expired'), `B asked for a fresh token (${reasonsB.join(',')})`);

  await sleep(500);
  assert.ok(netA.sentFrames().some((f) => f.startsWith('refresh:')), 'A sent a refresh frame');
  assert.ok(reasonsA.includes('refresh'));
  assert.equal(netA.links.length, 1, 'A kept its connection past the first token expiry');
  assert.ok(textsA.includes('while B reconnects'));
});
