// The demo's service worker: after the first visit the page works offline.
// Installing it stores the page, the package's code, the build of its .wasm
// this browser loads (of the files pkg/package.json lists) and the models' index; what the page fetches later
// (the samples) is stored as it goes. The weights themselves are kept by the
// package in the Cache API (weights-download.js), so they are not stored twice.
// Every request goes to the network first, so a new version of the demo shows
// at once; the stored copy answers only when the network does not.

const CACHE = "upres-demo-v1";
const PAGE = ["./", "app.js", "models.js", "photo.js", "viewer.js", "style.css", "pkg/weights/index.json"];

// The package's code, as its package.json lists it (read here, not stored:
// the page never loads it), and one of its two builds of the wasm, chosen as
// the package's init chooses: the WebGPU build where there is an adapter.
async function packageFiles() {
  const manifest = await (await fetch("pkg/package.json", { cache: "no-cache" })).json();
  const adapter = await Promise.resolve(self.navigator.gpu?.requestAdapter()).catch(() => null);
  const wasm = adapter ? "upres_core_bg.wasm" : "upres_cpu_bg.wasm";
  return manifest.files.filter((f) => f.endsWith(".js") || f === wasm).map((f) => `pkg/${f}`);
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll([...PAGE, ...(await packageFiles())]);
      await self.skipWaiting();
    })(),
  );
});

// Control the page that installed it, so that what it fetches from now on is stored too.
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function storable(request, url) {
  return request.method === "GET" && url.origin === self.location.origin && !url.pathname.endsWith(".safetensors");
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (!storable(request, url)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(request);
        if (response.status === 200) await cache.put(request, response.clone());
        return response;
      } catch (offline) {
        // The page with any query (?model=...) is the same page.
        const stored = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
        if (stored !== undefined) return stored;
        throw offline;
      }
    })(),
  );
});
