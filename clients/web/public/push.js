// Web Push in this browser: whether it can, whether it is on, and turning it on and off.
// Permission is asked only from `enablePush`, which a click must call: never on load.
// The settings screen imports these; errors thrown carry a sentence from `t('push.*')`.

import { t } from './i18n.js';

const WORKER = '/sw.js';

/** Whether this browser can receive Web Push at all (a secure page, a service worker, push). */
export function pushSupported() {
  return (
    typeof window !== 'undefined' &&
    window.isSecureContext &&
    'serviceWorker' in navigator &&
    'PushManager' in window &&
    'Notification' in window
  );
}

async function registration() {
  return navigator.serviceWorker.register(WORKER, { scope: '/' });
}

/** 'unsupported' | 'denied' | 'off' | 'on' */
export async function pushState() {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg ? await reg.pushManager.getSubscription() : null;
  return sub && Notification.permission === 'granted' ? 'on' : 'off';
}

/** base64url (padding optional) to bytes, for `applicationServerKey`. */
export function base64UrlToBytes(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  const raw = atob(padded);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function sameKey(sub, key) {
  const current = sub.options?.applicationServerKey;
  if (!current) return true;
  const a = new Uint8Array(current);
  return a.length === key.length && a.every((b, i) => b === key[i]);
}

/**
 * Turns push on for this browser and the signed-in account: asks permission (call it from a
 * click), subscribes with the server's key and sends the subscription. `api` is state.js's
 * `api(method, path, body)`. Resolves to 'on'; throws an Error with a sentence otherwise.
 */
export async function enablePush(api) {
  if (!pushSupported()) throw new Error(t('push.unsupported'));
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error(t(permission === 'denied' ? 'push.denied' : 'push.dismissed'));
  const reg = await registration();
  await navigator.serviceWorker.ready;
  const { public_key } = await api('GET', '/api/push/key');
  const key = base64UrlToBytes(public_key);
  let sub = await reg.pushManager.getSubscription();
  // A subscription made under another server key cannot be pushed to by this server.
  if (sub && !sameKey(sub, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) {
    try {
      sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    } catch {
      throw new Error(t('push.failed'));
    }
  }
  await api('POST', '/api/me/push-subscriptions', sub.toJSON());
  return 'on';
}

/** Turns push off for this browser: forgets it on the server, then unsubscribes. Resolves to 'off'. */
export async function disablePush(api) {
  if (!pushSupported()) return 'unsupported';
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg ? await reg.pushManager.getSubscription() : null;
  if (!sub) return 'off';
  try {
    await api('DELETE', '/api/me/push-subscriptions', { endpoint: sub.endpoint });
  } finally {
    await sub.unsubscribe();
  }
  return 'off';
}
