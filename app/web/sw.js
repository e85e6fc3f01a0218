// The service worker: keeps the app's files so it starts with no network, and installs a new
// version beside the old one; the new version takes over only when the app is next started
// (or the monitor presses "Restart now"). The API is never cached: data moves only by sync.

const VERSION = '__VERSION__';
const CACHE = 'accredit-app-' + VERSION;
const FILES = __FILES__;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('accredit-app-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (request.method !== 'GET' || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) {
    return;
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // Every page of the app is the one page: the screens are drawn by the app itself.
    const key = request.mode === 'navigate' ? scope.href : request;
    const hit = await cache.match(key);
    if (hit) return hit;
    return fetch(request);
  })());
});
