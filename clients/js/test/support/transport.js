// A Node transport over the `ws` package (a dev dependency only) that tests can misbehave with:
// cut the TCP connection without a close frame, stop sending (so pings go unanswered), or refuse
// new connections as if the network were down.

import WebSocket from 'ws';
import { webSocketTransport } from '../../src/hehe.js';

/**
 * @typedef {object} Link One socket the client opened.
 * @property {WebSocket} ws
 * @property {boolean} muted Outgoing frames are swallowed.
 * @property {string[]} sent Types of the frames sent, e.g. `auth`, `post:<id>`.
 * @property {number | null} closeCode
 */

export function controlledTransport() {
  /** @type {WebSocket | null} */
  let created = null;
  // Subclassed only to learn which `ws` instance the SDK's transport created.
  class TrackedWebSocket extends WebSocket {
    /** @param {string} url */
    constructor(url) {
      super(url);
      created = this;
    }
  }
  const base = webSocketTransport(/** @type {any} */ (TrackedWebSocket));

  const ctl = {
    offline: false,
    /** @type {Link[]} */
    links: [],
    /** @type {Link | null} */
    get current() {
      return this.links.length ? this.links[this.links.length - 1] : null;
    },
    /** Destroys the TCP socket: the client sees 1006, the server sees a vanished peer. */
    dropNetwork() {
      const link = ctl.current;
      const raw = /** @type {any} */ (link?.ws)?._socket;
      if (raw) raw.destroy();
    },
    /** The current socket sends nothing more (pongs included). */
    mute() {
      if (ctl.current) ctl.current.muted = true;
    },
    /** Every frame type sent on every socket, in order. */
    sentFrames() {
      return ctl.links.flatMap((l) => l.sent);
    },
    /** @type {import('../../src/transport.js').Transport} */
    transport: (url, handlers) => {
      if (ctl.offline) {
        // Like a refused TCP connection: an error, then a close without a frame.
        setTimeout(() => {
          handlers.onError(new Error('offline'));
          handlers.onClose(1006, 'offline');
        }, 5);
        return { send() {}, close() {} };
      }
      /** @type {Link} */
      const link = { ws: /** @type {any} */ (null), muted: false, sent: [], closeCode: null };
      const inner = base(url, {
        ...handlers,
        onClose: (code, reason) => {
          link.closeCode = code;
          handlers.onClose(code, reason);
        },
      });
      link.ws = /** @type {WebSocket} */ (/** @type {unknown} */ (created));
      ctl.links.push(link);
      return {
        send: (data) => {
          if (link.muted) return;
          const frame = JSON.parse(data);
          link.sent.push(frame.id && frame.type !== 'auth' ? `${frame.type}:${frame.id}` : frame.type);
          inner.send(data);
        },
        close: (code, reason) => inner.close(code, reason),
      };
    },
  };
  return ctl;
}
