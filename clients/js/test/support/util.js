// Small helpers shared by the tests.

import { HeheClient, HeheHttp } from '../../src/hehe.js';
import { controlledTransport } from './transport.js';

export const PASSWORD = 'hehe-demo';

/**
 * Logs a demo account in over HTTP.
 * @param {string} base
 * @param {string} username
 */
export async function login(base, username) {
  const http = new HeheHttp({ baseUrl: base });
  await http.login(username, PASSWORD);
  return http;
}

/**
 * The first channel of a kind the account reads, from `GET /api/me`.
 * @param {HeheHttp} http
 * @param {string} kind e.g. `home`
 */
export async function channelOf(http, kind) {
  const me = await http.me();
  for (const grant of me.grants) {
    const ch = grant.channels.find((c) => c.startsWith(`${kind}:`));
    if (ch) return ch;
  }
  throw new Error(`${me.username} reads no ${kind}: channel`);
}

/**
 * A client for a logged-in account, over a controllable transport, with fast reconnects.
 * @param {string} wsUrl
 * @param {HeheHttp} http
 * @param {Partial<import('../../src/client.js').ClientOptions>} [extra]
 */
export function makeClient(wsUrl, http, extra = {}) {
  const net = controlledTransport();
  const client = new HeheClient({
    url: wsUrl,
    getToken: http.tokenProvider(),
    transport: net.transport,
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
    requestTimeoutMs: 5_000,
    ...extra,
  });
  return { client, net };
}

/**
 * Waits until `check` returns true, polling every 10 ms.
 * @param {() => boolean} check
 * @param {string} what For the failure message.
 * @param {number} [timeoutMs]
 */
export async function waitFor(check, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
