// One channel followed by the client: its position (§5), the order and deduplication of its
// events, and its presence list (§9). The client feeds it frames; it decides what reaches the app.

import { Emitter } from './emitter.js';
import { HeheError } from './errors.js';

/** @typedef {import('./types.js').Position} Position */
/** @typedef {import('./types.js').HeheEvent} HeheEvent */
/** @typedef {import('./types.js').Member} Member */
/** @typedef {import('./types.js').PresenceChange} PresenceChange */
/** @typedef {import('./types.js').ResetInfo} ResetInfo */
/** @typedef {import('./types.js').SubscribedResult} SubscribedResult */

/**
 * @typedef {object} SubscribeOptions
 * @property {(event: HeheEvent) => void} [onEvent] Each event once, in offset order.
 * @property {(change: PresenceChange) => void} [onPresence] Room channels only.
 * @property {(info: ResetInfo) => void} [onReset] History was lost (`recovered: false`): reload
 *   the channel over HTTP, then keep following it.
 * @property {(error: HeheError) => void} [onEnded] The server ended the subscription
 *   (`unsubscribed`, or a refused resubscribe); nothing more arrives.
 * @property {Position} [since] Resume from this position (one saved earlier) instead of now.
 */

/**
 * @typedef {object} SubscriptionEvents
 * @property {[HeheEvent]} event
 * @property {[PresenceChange]} presence
 * @property {[ResetInfo]} reset
 * @property {[HeheError]} ended
 */

/**
 * What became of an incoming live event.
 * @typedef {'delivered' | 'duplicate' | 'gap' | 'ignored'} Acceptance
 */

/** @extends {Emitter<{ event: [HeheEvent], presence: [PresenceChange], reset: [ResetInfo], ended: [HeheError] }>} */
export class Subscription extends Emitter {
  /**
   * @param {string} channel
   * @param {SubscribeOptions} options
   * @param {(sub: Subscription) => Promise<void>} unsubscribe How the client drops it.
   */
  constructor(channel, options, unsubscribe) {
    super();
    /** @readonly */
    this.channel = channel;
    /**
     * The position of the last event seen (or the top the server reported): where a resume
     * starts. `null` until the first `subscribed` reply unless `since` was given.
     * @type {Position | null}
     */
    this.position = options.since ? { epoch: options.since.epoch, offset: options.since.offset } : null;
    /**
     * `pending`: a subscribe is on its way, live events are held back (the reply covers them);
     * `live`: events flow; `ended`: dropped by the app or the server.
     * @type {'pending' | 'live' | 'ended'}
     */
    this.state = 'pending';
    /** Who is present, for channels with presence (`room:`); empty otherwise. @type {Member[]} */
    this.members = [];
    /** Whether the channel has presence (the `subscribed` reply said so). */
    this.hasPresence = false;
    // On issue channels internal entries, and on street channels escalations, take offsets
    // that non-staff never see (§10.6): a skip there is no gap.
    this._skipsAllowed = channel.startsWith('issue:') || channel.startsWith('street:');
    this._unsubscribe = unsubscribe;
    /** @type {(sub: Subscription) => void} */
    let resolveReady = () => {};
    /** @type {(err: HeheError) => void} */
    let rejectReady = () => {};
    /** Settles with the first `subscribed` reply, or the refusal. @type {Promise<Subscription>} */
    this.ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    // An app that never awaits `ready` should not see an unhandled rejection.
    this.ready.catch(() => {});
    this._resolveReady = resolveReady;
    this._rejectReady = rejectReady;
    this._everSubscribed = false;
    if (options.onEvent) this.on('event', options.onEvent);
    if (options.onPresence) this.on('presence', options.onPresence);
    if (options.onReset) this.on('reset', options.onReset);
    if (options.onEnded) this.on('ended', options.onEnded);
  }

  /** Stops following the channel. Safe to call more than once. */
  unsubscribe() {
    if (this.state === 'ended') return Promise.resolve();
    return this._unsubscribe(this);
  }

  /**
   * Handles the `subscribed` reply to a subscribe sent with `since` (or without).
   * @param {SubscribedResult} result
   * @param {Position | null} since What the subscribe asked to resume from.
   * @returns {ResetInfo | null} The reset to report, when history was not recovered.
   */
  _onSubscribed(result, since) {
    if (this.state === 'ended') return null;
    this.state = 'live';
    /** @type {ResetInfo | null} */
    let reset = null;
    if (since && result.recovered) {
      for (const ev of result.events || []) {
        // Recovery is authoritative and in order: only what was already delivered is skipped.
        if (ev.epoch === result.epoch && (!this.position || this.position.epoch !== ev.epoch || ev.offset > this.position.offset)) {
          this.position = { epoch: ev.epoch, offset: ev.offset };
          this.emit('event', ev);
        }
      }
    } else if (since) {
      reset = { channel: this.channel, since, position: { epoch: result.epoch, offset: result.offset } };
    }
    // Live events continue right after the reply's top, which may lie past the last event seen
    // (skipped internal entries), so the top becomes the position. The server is authoritative
    // the other way too: a saved position beyond the top must not swallow the next events.
    this.position = { epoch: result.epoch, offset: result.offset };
    if (Array.isArray(result.presence)) {
      this.hasPresence = true;
      this.members = result.presence.slice();
      this.emit('presence', {
        channel: this.channel,
        joins: [],
        leaves: [],
        members: this.members.slice(),
        snapshot: true,
      });
    }
    if (reset) this.emit('reset', reset);
    if (!this._everSubscribed) {
      this._everSubscribed = true;
      this._resolveReady(this);
    }
    return reset;
  }

  /**
   * Handles a live event: delivers it once and in order, or says why not.
   * @param {HeheEvent} ev
   * @returns {Acceptance}
   */
  _onEvent(ev) {
    // While a subscribe is pending, whatever still arrives of the previous subscription is
    // covered by the reply's events, so it is dropped rather than delivered out of order.
    if (this.state !== 'live') return 'ignored';
    const pos = this.position;
    if (pos && pos.epoch === ev.epoch) {
      if (ev.offset <= pos.offset) return 'duplicate';
      if (ev.offset > pos.offset + 1 && !this._skipsAllowed) return 'gap';
    } else if (pos) {
      return 'gap'; // another epoch: the stream was reset under us
    }
    this.position = { epoch: ev.epoch, offset: ev.offset };
    this.emit('event', ev);
    return 'delivered';
  }

  /** @param {{ joins?: Member[], leaves?: Member[] }} frame */
  _onPresence(frame) {
    if (this.state === 'ended') return;
    const joins = frame.joins || [];
    const leaves = frame.leaves || [];
    // Apply in frame order, by account id; a repeated join changes nothing (§9).
    const byId = new Map(this.members.map((m) => [m.account_id, m]));
    for (const m of joins) byId.set(m.account_id, m);
    for (const m of leaves) byId.delete(m.account_id);
    this.hasPresence = true;
    this.members = [...byId.values()];
    this.emit('presence', { channel: this.channel, joins, leaves, members: this.members.slice(), snapshot: false });
  }

  /**
   * The subscription is over: dropped by the app (`error` absent) or by the server.
   * @param {HeheError} [error]
   */
  _end(error) {
    if (this.state === 'ended') return;
    this.state = 'ended';
    if (!this._everSubscribed) {
      this._rejectReady(error ?? new HeheError('connection_closed', 'unsubscribed before the subscription was confirmed', { channel: this.channel }));
    }
    if (error) this.emit('ended', error);
  }
}
