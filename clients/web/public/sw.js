// The service worker: it only shows Web Push notifications and opens what they are about.
// Served at /sw.js so its scope is the whole client. The payload (PROTOCOL.md, "Web Push") is
// {"id", "kind", "title", "body", "url", "tag", "urgent"}.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const title = data.title || '和合 Hehe';
  const options = {
    body: data.body || '',
    tag: data.tag || undefined,
    data: { url: data.url || '/', id: data.id },
    icon: '/web/icon.svg',
    // A repeat of the same tag alerts again only when it is urgent.
    renotify: Boolean(data.urgent && data.tag),
    requireInteraction: Boolean(data.urgent),
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || '/', self.location.origin);
  // Only this origin's pages: a payload cannot send the person elsewhere.
  const target = url.origin === self.location.origin ? url.href : self.location.origin + '/';
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const client of windows) {
        if (new URL(client.url).origin !== self.location.origin) continue;
        await client.focus();
        if ('navigate' in client && client.url !== target) {
          try {
            await client.navigate(target);
          } catch {
            // An uncontrolled window cannot be navigated; tell it instead.
            client.postMessage({ type: 'hehe.open', url: target });
          }
        }
        return;
      }
      await self.clients.openWindow(target);
    })(),
  );
});
