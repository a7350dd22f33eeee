// The WeChat adapter, with a fake `wx` object: once over a real server (the fake's SocketTask is a
// `ws` socket), once scripted, for the callbacks WeChat calls in odd orders.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { HeheClient, HeheHttp, wxFetch, wxTransport } from '../src/hehe.js';
import { startServer } from './support/server.js';
import { channelOf, login, waitFor } from './support/util.js';

/** @type {import('./support/server.js').TestServer} */
let server;
/** @type {HeheClient[]} */
const clients = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

/**
 * A fake `wx` whose `connectSocket` returns a SocketTask backed by a real WebSocket, shaped like
 * WeChat's: callbacks registered with onOpen/onMessage/onClose/onError, `send({data})`,
 * `close({code, reason})`.
 */
function bridgedWx() {
  /** @type {WebSocket[]} */
  const sockets = [];
  /** @type {string[]} */
  const urls = [];
  const wx = {
    sockets,
    urls,
    /** @param {{ url: string }} opts */
    connectSocket(opts) {
      urls.push(opts.url);
      const ws = new WebSocket(opts.url);
      sockets.push(ws);
      return {
        /** @param {() => void} cb */
        onOpen: (cb) => ws.on('open', () => cb()),
        /** @param {(res: { data: string | ArrayBuffer }) => void} cb */
        onMessage: (cb) => ws.on('message', (data, isBinary) => cb({ data: isBinary ? new ArrayBuffer(0) : data.toString() })),
        /** @param {(res: { code: number, reason: string }) => void} cb */
        onClose: (cb) => ws.on('close', (code, reason) => cb({ code, reason: reason.toString() })),
        /** @param {(res: { errMsg: string }) => void} cb */
        onError: (cb) => ws.on('error', (err) => cb({ errMsg: err.message })),
        /** @param {{ data: string }} o */
        send: (o) => ws.send(o.data),
        /** @param {{ code?: number, reason?: string }} o */
        close: (o) => ws.close(o.code, o.reason),
      };
    },
    /**
     * wx.request, over fetch.
     * @param {any} opts
     */
    request(opts) {
      fetch(opts.url, { method: opts.method, headers: opts.header, body: opts.data })
        .then(async (res) => opts.success({ statusCode: res.status, data: await res.text() }))
        .catch((err) => opts.fail({ errMsg: String(err) }));
    },
  };
  return wx;
}

test('wxTransport over a real server: subscribe, post, reconnect after a drop', async () => {
  const wx = bridgedWx();
  // HTTP over wx.request too, as a mini-program would.
  const http = new HeheHttp({ baseUrl: server.base, fetch: wxFetch(wx) });
  await http.login('resident', 'hehe-demo');
  const home = await channelOf(http, 'home');
  const client = new HeheClient({
    url: server.base,
    getToken: http.tokenProvider(),
    transport: wxTransport(wx),
    reconnectMinMs: 20,
    reconnectMaxMs: 100,
  });
  clients.push(client);
  await client.ready();
  assert.equal(wx.urls[0], `${server.ws}`, 'http base URL mapped to the /ws endpoint');

  /** @type {import('../src/hehe.js').HeheEvent[]} */
  const events = [];
  await client.subscribe(home, { onEvent: (e) => events.push(e) });
  const officialHttp = await login(server.base, 'official');
  const official = new HeheClient({ url: server.ws, getToken: officialHttp.tokenProvider(), transport: wxTransport(bridgedWx()) });
  clients.push(official);

  await official.post(home, 'wx 1');
  await waitFor(() => events.length === 1, 'the first event');
  // Network drop under the SocketTask.
  /** @type {any} */ (wx.sockets[0])._socket.destroy();
  // Posted while the client is (or was just) away: it arrives live or through the resume.
  await official.post(home, 'wx 2');
  await waitFor(() => events.length === 2 && wx.sockets.length === 2 && client.state === 'open', 'the missed event, resumed');
  assert.deepEqual(events.map((e) => e.data.text), ['wx 1', 'wx 2']);
  assert.equal(events[1].offset, events[0].offset + 1);
  assert.equal(wx.sockets.length, 2);
});

test('wxTransport with a scripted fake wx: frames, close codes, failures', async () => {
  /** @type {Array<ReturnType<typeof scriptedTask>>} */
  const tasks = [];
  let failNext = false;
  const wx = {
    /** @param {{ url: string, fail?: (res: { errMsg: string }) => void }} opts */
    connectSocket(opts) {
      const task = scriptedTask(opts.url);
      tasks.push(task);
      if (failNext) {
        failNext = false;
        setTimeout(() => opts.fail?.({ errMsg: 'connectSocket:fail' }), 0);
      } else {
        setTimeout(() => task.fire('open'), 0);
      }
      return task;
    },
  };
  /** @type {string[]} */
  const tokenReasons = [];
  const client = new HeheClient({
    url: 'wss://hehe.example.org',
    getToken: (reason) => {
      tokenReasons.push(reason);
      return `token-${tokenReasons.length}`;
    },
    transport: wxTransport(wx),
    reconnectMinMs: 1,
    reconnectMaxMs: 5,
  });
  clients.push(client);
  await waitFor(() => tasks.length === 1 && tasks[0].sent.length === 1, 'the auth frame');
  assert.equal(tasks[0].url, 'wss://hehe.example.org/ws');
  const auth = JSON.parse(tasks[0].sent[0]);
  assert.deepEqual({ type: auth.type, token: auth.token, version: auth.version }, { type: 'auth', token: 'token-1', version: 1 });
  tasks[0].fire('message', { data: JSON.stringify({ type: 'reply', id: auth.id, result: authenticated() }) });
  await client.ready();

  // ping → pong; binary frames are ignored.
  tasks[0].fire('message', { data: new ArrayBuffer(4) });
  tasks[0].fire('message', { data: '{"type":"ping"}' });
  assert.equal(JSON.parse(tasks[0].sent[1]).type, 'pong');

  // 4003: a fresh token is asked for with reason `expired` before reconnecting. WeChat may report
  // an error and then the close, or the close twice: one reconnect only.
  failNext = true;
  tasks[0].fire('error', { errMsg: 'x' });
  tasks[0].fire('close', { code: 4003, reason: 'token expired' });
  tasks[0].fire('close', { code: 4003, reason: 'token expired' });
  // The next connectSocket fails outright (fail callback, no onClose): the loop goes on.
  await waitFor(() => tasks.length === 3 && tasks[2].sent.length === 1, 'a reconnection after the failed one');
  assert.deepEqual(tokenReasons.slice(0, 2), ['connect', 'expired']);
  const auth3 = JSON.parse(tasks[2].sent[0]);
  tasks[2].fire('message', { data: JSON.stringify({ type: 'reply', id: auth3.id, result: authenticated() }) });
  await client.ready();

  // A terminal code stops the client, with no further connectSocket.
  /** @type {import('../src/client.js').CloseInfo[]} */
  const closed = [];
  client.on('closed', (info) => closed.push(info));
  tasks[2].fire('close', { code: 4502, reason: 'account disabled' });
  assert.equal(client.state, 'closed');
  assert.equal(closed[0].code, 4502);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(tasks.length, 3);
});

function authenticated() {
  return {
    kind: 'authenticated',
    account: { id: 1, username: 'resident', display_name: 'Wang Fang' },
    expires_at: Date.now() + 3_600_000,
    heartbeat_secs: 25,
    protocol: 1,
  };
}

/** @param {string} url */
function scriptedTask(url) {
  /** @type {Record<string, Array<(res: any) => void>>} */
  const cbs = { open: [], message: [], close: [], error: [] };
  /** @type {string[]} */
  const sent = [];
  return {
    url,
    sent,
    /** @param {string} name @param {any} [res] */
    fire(name, res) {
      for (const cb of cbs[name]) cb(res);
    },
    /** @param {() => void} cb */
    onOpen: (cb) => cbs.open.push(cb),
    /** @param {(res: any) => void} cb */
    onMessage: (cb) => cbs.message.push(cb),
    /** @param {(res: any) => void} cb */
    onClose: (cb) => cbs.close.push(cb),
    /** @param {(res: any) => void} cb */
    onError: (cb) => cbs.error.push(cb),
    /** @param {{ data: string }} o */
    send: (o) => sent.push(o.data),
    close: () => {},
  };
}
