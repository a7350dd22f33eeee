// Transports: the one thing that differs between browsers, Node and WeChat mini-programs is how a
// WebSocket is opened. A transport opens one socket per call and reports what happens to it
// through four callbacks; the client does everything else.

/**
 * Callbacks a transport calls for one socket. After `onClose` nothing more is called.
 * @typedef {object} TransportHandlers
 * @property {() => void} onOpen
 * @property {(data: string) => void} onMessage One text frame.
 * @property {(code: number, reason: string) => void} onClose 1006 when the connection was lost
 *   without a close frame, or could not be opened at all.
 * @property {(error: unknown) => void} onError Informational; `onClose` follows.
 */

/**
 * @typedef {object} TransportSocket
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 */

/**
 * Opens a socket to `url` and reports through `handlers`.
 * @typedef {(url: string, handlers: TransportHandlers) => TransportSocket} Transport
 */

/**
 * What the SDK needs of a WHATWG WebSocket (the browser's, Node ≥ 22's, or the `ws` package's).
 * @typedef {object} WebSocketLike
 * @property {((ev: any) => void) | null} onopen
 * @property {((ev: { data: unknown }) => void) | null} onmessage
 * @property {((ev: { code: number, reason: string }) => void) | null} onclose
 * @property {((ev: unknown) => void) | null} onerror
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 */

/** @typedef {new (url: string) => WebSocketLike} WebSocketConstructor */

/**
 * A transport over a WHATWG WebSocket class: the global `WebSocket` by default (browsers,
 * Node ≥ 22). In Node 20 pass one, e.g. `webSocketTransport(WebSocket)` with `import WebSocket
 * from 'ws'`.
 * @param {WebSocketConstructor} [WebSocketClass]
 * @returns {Transport}
 */
export function webSocketTransport(WebSocketClass) {
  return (url, handlers) => {
    const Ctor =
      WebSocketClass ??
      /** @type {WebSocketConstructor | undefined} */ (/** @type {any} */ (globalThis).WebSocket);
    if (!Ctor) {
      throw new Error(
        'no global WebSocket: pass a transport (webSocketTransport(WebSocketClass) or wxTransport(wx))',
      );
    }
    const once = closeOnce(handlers);
    const socket = new Ctor(url);
    socket.onopen = () => handlers.onOpen();
    socket.onmessage = (ev) => {
      // The protocol has only text frames (§1); anything else is not ours to interpret.
      if (typeof ev.data === 'string') handlers.onMessage(ev.data);
    };
    socket.onerror = (ev) => handlers.onError(ev);
    socket.onclose = (ev) => once(ev.code || 1006, ev.reason || '');
    return {
      send: (data) => socket.send(data),
      close: (code, reason) => {
        try {
          socket.close(code, reason);
        } catch {
          // Closing a socket that never opened throws in some engines; it is gone either way.
        }
      },
    };
  };
}

/**
 * The part of WeChat's `wx` object the SDK uses (`wx.connectSocket` and its `SocketTask`).
 * @typedef {object} WxSocketTask
 * @property {(cb: () => void) => void} onOpen
 * @property {(cb: (res: { data: string | ArrayBuffer }) => void) => void} onMessage
 * @property {(cb: (res: { code?: number, reason?: string }) => void) => void} onClose
 * @property {(cb: (res: { errMsg?: string }) => void) => void} onError
 * @property {(opts: { data: string, fail?: (res: { errMsg?: string }) => void }) => void} send
 * @property {(opts: { code?: number, reason?: string }) => void} close
 *
 * @typedef {object} WxLike
 * @property {(opts: { url: string, header?: Record<string, string>, protocols?: string[],
 *   fail?: (res: { errMsg?: string }) => void }) => WxSocketTask} connectSocket
 */

/**
 * A transport for WeChat mini-programs, over `wx.connectSocket`. The mini-program's socket
 * domain must be listed in its "socket legal domains" (wss only in production).
 * @param {WxLike} wx
 * @param {{ header?: Record<string, string> }} [options]
 * @returns {Transport}
 */
export function wxTransport(wx, options = {}) {
  return (url, handlers) => {
    const once = closeOnce(handlers);
    const task = wx.connectSocket({
      url,
      header: options.header,
      // A socket that cannot even be created gets no onClose from WeChat; report one so the
      // client's reconnect loop goes on.
      fail: (res) => {
        handlers.onError(res);
        once(1006, res?.errMsg || 'connectSocket failed');
      },
    });
    task.onOpen(() => handlers.onOpen());
    task.onMessage((res) => {
      if (typeof res.data === 'string') handlers.onMessage(res.data);
    });
    task.onError((res) => handlers.onError(res));
    task.onClose((res) => once(res?.code || 1006, res?.reason || ''));
    return {
      send: (data) =>
        task.send({
          data,
          // A send on a dying socket fails; onClose follows, and the client resends then.
          fail: (res) => handlers.onError(res),
        }),
      close: (code, reason) => task.close({ code, reason }),
    };
  };
}

/**
 * Some platforms report a close twice (an error path and the close event); the client must see
 * exactly one.
 * @param {TransportHandlers} handlers
 * @returns {(code: number, reason: string) => void}
 */
function closeOnce(handlers) {
  let closed = false;
  return (code, reason) => {
    if (closed) return;
    closed = true;
    handlers.onClose(code, reason);
  };
}
