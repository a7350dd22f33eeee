// A tiny event emitter: EventTarget is missing in WeChat mini-programs, and Node's EventEmitter
// is not in browsers, so the SDK carries its own.

/**
 * @template {Record<string, any[]>} Events
 */
export class Emitter {
  constructor() {
    /** @type {Map<keyof Events, Set<(...args: any[]) => void>>} */
    this._listeners = new Map();
  }

  /**
   * Adds a listener; returns a function that removes it.
   * @template {keyof Events} K
   * @param {K} name
   * @param {(...args: Events[K]) => void} listener
   * @returns {() => void}
   */
  on(name, listener) {
    let set = this._listeners.get(name);
    if (!set) this._listeners.set(name, (set = new Set()));
    set.add(/** @type {(...args: any[]) => void} */ (listener));
    return () => this.off(name, listener);
  }

  /**
   * @template {keyof Events} K
   * @param {K} name
   * @param {(...args: Events[K]) => void} listener
   */
  off(name, listener) {
    this._listeners.get(name)?.delete(/** @type {(...args: any[]) => void} */ (listener));
  }

  /**
   * Calls every listener. A throwing listener must not break the SDK's frame loop (that would
   * lose the events behind it), so its error is reported and the others still run.
   * @template {keyof Events} K
   * @param {K} name
   * @param {Events[K]} args
   */
  emit(name, ...args) {
    const set = this._listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        reportListenerError(err);
      }
    }
  }
}

/** @param {unknown} err */
export function reportListenerError(err) {
  // Rethrown asynchronously so it still reaches the platform's error reporting.
  setTimeout(() => {
    throw err;
  }, 0);
}
