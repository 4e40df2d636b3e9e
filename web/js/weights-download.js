// Weights over HTTP, downloaded once per browser. Each file is kept in the
// Cache API under its URL, with the SHA-256 of its bytes:
// - a load that names the content it expects (`integrity: "sha256-..."`, as
//   weights/index.json does for the shipped models) is served from the cache
//   with no request at all, and refetched if the hash differs;
// - a load that does not name it asks the server whether the file changed
//   (If-None-Match / If-Modified-Since, same origin only: cross-origin those
//   headers would need a CORS preflight) and reuses the bytes on a 304.
// Where there is no Cache API (Node, insecure origins, storage blocked), or
// the cache is full, the file is downloaded as before.

import { WeightsError } from "./errors.js";

const CACHE_NAME = "upres-weights-v1";
const HASH_HEADER = "x-upres-sha256";

async function openCache() {
  if (typeof caches === "undefined" || globalThis.crypto?.subtle === undefined) return null;
  try {
    return await caches.open(CACHE_NAME);
  } catch {
    return null;
  }
}

/** The SHA-256 of `bytes`, base64, as Subresource Integrity writes it. */
export async function sha256Base64(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let binary = "";
  for (const b of digest) binary += String.fromCharCode(b);
  return btoa(binary);
}

function expectedHash(integrity) {
  if (integrity === undefined) return undefined;
  const found = typeof integrity === "string" ? /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(integrity) : null;
  if (found === null) throw new TypeError(`integrity must be "sha256-" followed by the base64 SHA-256 of the weights file, got ${JSON.stringify(integrity)}`);
  return found[1];
}

function sameOrigin(url) {
  return globalThis.location !== undefined && new URL(url, globalThis.location.href).origin === globalThis.location.origin;
}

async function readWhole(response, onProgress) {
  const bytes = new Uint8Array(await response.arrayBuffer());
  onProgress?.(bytes.length, bytes.length);
  return bytes;
}

/**
 * The bytes of the weights at `url`, from this browser's cache where they
 * are the expected ones, else downloaded (streamed, with progress) and cached.
 */
export async function downloadWeights(url, { onProgress, signal, integrity } = {}) {
  const expected = expectedHash(integrity);
  let href;
  try {
    href = new URL(url, globalThis.location?.href).href;
  } catch {
    throw new WeightsError(`cannot download weights from ${url}: not a URL`);
  }
  const cache = await openCache();
  const cached = cache === null ? undefined : await cache.match(href).catch(() => undefined);
  const headers = {};
  if (cached !== undefined) {
    if (expected !== undefined && cached.headers.get(HASH_HEADER) === expected) return readWhole(cached, onProgress);
    if (expected === undefined && sameOrigin(href)) {
      const etag = cached.headers.get("etag");
      const modified = cached.headers.get("last-modified");
      if (etag) headers["if-none-match"] = etag;
      if (modified) headers["if-modified-since"] = modified;
    }
  }
  let response;
  try {
    response = await fetch(href, { signal, headers });
  } catch (e) {
    if (e?.name === "AbortError") throw e;
    throw new WeightsError(`cannot download weights from ${url}: ${e.message}`);
  }
  if (response.status === 304 && cached !== undefined) return readWhole(cached, onProgress);
  if (!response.ok) throw new WeightsError(`cannot download weights from ${url}: HTTP ${response.status} ${response.statusText}`);
  const bytes = await readWithProgress(response, onProgress);
  // Hashed to be checked against integrity or to be cached (a cache implies crypto.subtle: openCache).
  const canHash = globalThis.crypto?.subtle !== undefined;
  if (!canHash || (cache === null && expected === undefined)) return bytes;
  const hash = await sha256Base64(bytes);
  if (expected !== undefined && hash !== expected) {
    throw new WeightsError(`the weights at ${url} are not the expected file (their SHA-256 is ${hash}, integrity asks for ${expected}): it changed on the server or was damaged on the way`);
  }
  if (cache === null) return bytes;
  const stored = { "content-type": "application/octet-stream", [HASH_HEADER]: hash };
  for (const name of ["etag", "last-modified"]) {
    const value = response.headers.get(name);
    if (value) stored[name] = value;
  }
  // A full or blocked cache costs the next visit a download, nothing more.
  await cache.put(href, new Response(bytes, { headers: stored })).catch(() => {});
  return bytes;
}

async function readWithProgress(response, onProgress) {
  const total = Number(response.headers.get("content-length")) || 0;
  if (!response.body) return readWhole(response, onProgress);
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress?.(loaded, Math.max(total, loaded));
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}
