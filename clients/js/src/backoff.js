// Exponential backoff with full jitter: the delay is uniform in [0, min(max, base·2^attempt)],
// so a whole neighbourhood reconnecting after a restart spreads out instead of stampeding.

/**
 * @typedef {object} BackoffOptions
 * @property {number} [minMs] Upper bound of the first delay (default 500 ms, as §3.4 suggests).
 * @property {number} [maxMs] Cap of the upper bound (default 30 s).
 * @property {() => number} [random] A source of numbers in [0, 1); `Math.random` by default.
 */

export class Backoff {
  /** @param {BackoffOptions} [options] */
  constructor(options = {}) {
    this.minMs = options.minMs ?? 500;
    this.maxMs = Math.max(options.maxMs ?? 30_000, this.minMs);
    this.random = options.random ?? Math.random;
    this.attempt = 0;
  }

  /** The delay before the next attempt, in ms; each call doubles the next bound. */
  next() {
    const bound = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.floor(this.random() * bound);
  }

  reset() {
    this.attempt = 0;
  }
}
