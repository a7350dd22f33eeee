// A scripted server for unit tests: the test plays the server's side frame by frame.

import { HeheClient } from '../../src/hehe.js';

export function fakeServer() {
  /** @type {Array<{ url: string, sent: any[], handlers: import('../../src/transport.js').TransportHandlers, closed: boolean }>} */
  const sockets = [];
  const fake = {
    sockets,
    get current() {
      return sockets[sockets.length - 1];
    },
    /** @type {import('../../src/transport.js').Transport} */
    transport: (url, handlers) => {
      const s = { url, sent: /** @type {any[]} */ ([]), handlers, closed: false };
      sockets.push(s);
      setTimeout(() => handlers.onOpen(), 0);
      return {
        send: (data) => s.sent.push(JSON.parse(data)),
        close: () => {
          s.closed = true;
        },
      };
    },
    /** Frames the client sent on the current socket, of one type. @param {string} type */
    sent(type) {
      return fake.current ? fake.current.sent.filter((f) => f.type === type) : [];
    },
    /** @param {any} frame */
    push(frame) {
      fake.current.handlers.onMessage(JSON.stringify(frame));
    },
    /** Answers the pending `auth` of the current socket. */
    async authenticate(heartbeatSecs = 25) {
      await until(() => fake.sent('auth').length === 1);
      fake.push({
        type: 'reply',
        id: fake.sent('auth')[0].id,
        result: {
          kind: 'authenticated',
          account: { id: 42, username: 'wang.fang', display_name: '王芳' },
          expires_at: Date.now() + 3_600_000,
          heartbeat_secs: heartbeatSecs,
          protocol: 1,
        },
      });
    },
    /** @param {number} code @param {string} [reason] */
    close(code, reason = '') {
      fake.current.handlers.onClose(code, reason);
    },
  };
  return fake;
}

/**
 * @param {ReturnType<typeof fakeServer>} fake
 * @param {Partial<import('../../src/client.js').ClientOptions>} [extra]
 */
export function fakeClient(fake, extra = {}) {
  return new HeheClient({
    url: 'ws://fake/ws',
    token: 'secret-token-value',
    transport: fake.transport,
    reconnectMinMs: 1,
    reconnectMaxMs: 5,
    requestTimeoutMs: 1_000,
    ...extra,
  });
}

/** @param {() => boolean} check */
export async function until(check, timeoutMs = 2_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}
