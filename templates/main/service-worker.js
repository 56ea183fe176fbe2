// Duet's service worker (app/main/offline.py, docs/safety.md "What a phone keeps").
// It keeps the shipped static files and the offline page, and, only when the person chose it
// on this device, their signed agreements' PDFs. It never keeps a page or a live answer:
// pages come from the network, and when there is none the offline page shows instead.
// It shows Duet's pushes (app/outbox/senders.py): only "Duet" and "Something new in Duet",
// one at a time, and a tap opens Duet.
const VERSION = {{ version | tojson }};
const STATIC_CACHE = `duet-static-${VERSION}`;
const SIGNED_CACHE = "duet-signed"; // filled and emptied by static/js/offline.js
const PRECACHE = {{ precache | tojson }};
const OFFLINE_URL = {{ offline_url | tojson }};
const EXIT_URL = {{ exit_url | tojson }};
const SIGNED_PDF = /^\/agreements\/(kept\/)?\d+\/pdf$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(STATIC_CACHE);
      // Past the browser's HTTP cache, so a new version never keeps an old file. The offline
      // page is the same for everyone: asked for without the session cookie.
      await cache.addAll(
        PRECACHE.map((url) => new Request(url, { cache: "reload", credentials: "omit" })),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name !== STATIC_CACHE && name !== SIGNED_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function pageOrOffline(request, path) {
  try {
    return await fetch(request);
  } catch (error) {
    if (SIGNED_PDF.test(path)) {
      const kept = await caches.match(request, { cacheName: SIGNED_CACHE });
      if (kept) return kept;
    }
    return (await caches.match(OFFLINE_URL, { cacheName: STATIC_CACHE })) || Response.error();
  }
}

async function signedCopy(request) {
  try {
    return await fetch(request);
  } catch (error) {
    return (await caches.match(request, { cacheName: SIGNED_CACHE })) || Response.error();
  }
}

async function staticFile(request) {
  return (await caches.match(request, { cacheName: STATIC_CACHE })) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  // Quick exit goes straight to the network, whatever happens; so does anything but a GET
  // to this site.
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === EXIT_URL) return;
  if (request.mode === "navigate") {
    event.respondWith(pageOrOffline(request, url.pathname));
  } else if (SIGNED_PDF.test(url.pathname)) {
    event.respondWith(signedCopy(request));
  } else if (PRECACHE.includes(url.pathname) && url.pathname !== OFFLINE_URL) {
    event.respondWith(staticFile(request));
  }
});

// A push says nothing private, and this shows nothing but what it says: no name, no kind.
const NOTIFICATION = { title: "Duet", body: "", url: "/", tag: "duet" };

function pushed(event) {
  try {
    return { ...NOTIFICATION, ...(event.data ? event.data.json() : {}) };
  } catch (error) {
    return NOTIFICATION;
  }
}

self.addEventListener("push", (event) => {
  const message = pushed(event);
  event.waitUntil(
    self.registration.showNotification(message.title, {
      body: message.body,
      icon: {{ icon | tojson }},
      tag: message.tag,
      renotify: false,
      data: { url: new URL(message.url, self.location.origin).pathname },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (open) {
        await open.focus();
        return;
      }
      await self.clients.openWindow(path);
    })(),
  );
});
