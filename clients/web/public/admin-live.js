// The console's live events: the street and home channels the chat list reads already, or,
// for an admin (who has no such chat), the channels of the streets and communities he sees,
// subscribed here and dropped when the section closes.

import { S, api, hasRole } from './state.js';
import { channelsOf } from './chats.js';

/** An admin's own subscriptions stop here: past it, "refresh" does (too_many_subscriptions). */
const MOST = 30;

/**
 * Calls `onEvent(ev)` for every event of the `kinds` channels (`street`, `home`); answers
 * { live: Promise<boolean>, stop() }. `live` says whether events will come.
 */
export function listen(kinds, onEvent) {
  const subs = [];
  const own = [];
  let stopped = false;
  const attach = (sub) => {
    sub.on('event', onEvent);
    subs.push(sub);
  };
  const live = (async () => {
    const chats = kinds.flatMap((k) => channelsOf(k));
    for (const c of chats) {
      const sub = S.client?.subscription(c);
      if (sub) attach(sub);
    }
    if (chats.length || !hasRole('admin') || !S.client) return subs.length > 0;
    const streets = await api('GET', '/api/places');
    const channels = kinds.includes('street') ? streets.map((s) => `street:${s.id}`) : [];
    if (kinds.includes('home')) {
      for (const s of streets) {
        const d = await api('GET', `/api/places/${s.id}`);
        channels.push(...d.children.filter((p) => p.kind === 'community').map((p) => `home:${p.id}`));
      }
    }
    if (channels.length > MOST) return false;
    for (const c of channels) {
      if (stopped) break;
      const existing = S.client.subscription(c);
      const sub = existing || (await S.client.subscribe(c));
      if (!existing) own.push(sub);
      attach(sub);
    }
    if (stopped) stop();
    return subs.length > 0;
  })().catch(() => subs.length > 0);
  const stop = () => {
    stopped = true;
    for (const sub of subs.splice(0)) sub.off('event', onEvent);
    for (const sub of own.splice(0)) sub.unsubscribe()?.catch?.(() => {});
  };
  return { live, stop };
}
