// The Hehe JavaScript SDK: a live client over WebSocket (HeheClient), the HTTP endpoints it
// needs (HeheHttp) and transports for browsers, Node and WeChat mini-programs. No dependencies.

export { HeheClient, PROTOCOL_VERSION, wsUrl } from './client.js';
export { Subscription } from './subscription.js';
export { HeheHttp, wxFetch } from './http.js';
export { HeheError, closeAction, isRetryableCode, CLOSE_CODES } from './errors.js';
export { webSocketTransport, wxTransport } from './transport.js';
export { Backoff } from './backoff.js';

/** @typedef {import('./types.js').Position} Position */
/** @typedef {import('./types.js').HeheEvent} HeheEvent */
/** @typedef {import('./types.js').Member} Member */
/** @typedef {import('./types.js').PresenceChange} PresenceChange */
/** @typedef {import('./types.js').ResetInfo} ResetInfo */
/** @typedef {import('./types.js').ServerFrame} ServerFrame */
/** @typedef {import('./types.js').ClientFrame} ClientFrame */
/** @typedef {import('./types.js').Logger} Logger */
/** @typedef {import('./types.js').NewIssue} NewIssue */
/** @typedef {import('./types.js').Action} Action */
/** @typedef {import('./client.js').ClientOptions} ClientOptions */
/** @typedef {import('./client.js').ConnectionState} ConnectionState */
/** @typedef {import('./client.js').TokenReason} TokenReason */
/** @typedef {import('./client.js').ReconnectInfo} ReconnectInfo */
/** @typedef {import('./client.js').CloseInfo} CloseInfo */
/** @typedef {import('./subscription.js').SubscribeOptions} SubscribeOptions */
/** @typedef {import('./transport.js').Transport} Transport */
/** @typedef {import('./transport.js').TransportHandlers} TransportHandlers */
/** @typedef {import('./http.js').TokenResponse} TokenResponse */
/** @typedef {import('./http.js').AccountInfo} AccountInfo */
/** @typedef {import('./http.js').MessagePage} MessagePage */
