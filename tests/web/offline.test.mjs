// Weights downloaded once per browser (the package's Cache API store), the
// demo reusing its worker across models, and the demo offline after the
// first visit (its service worker), in headless Chromium. Each test has its
// own server, which counts what it is asked for, and a browser of its own.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { dropFile, launch, openPage, set5, startServer, weights } from "./helpers.mjs";

const shipped = JSON.parse(readFileSync(weights("index.json"), "utf8"));
const SMALL = "vdsr-small-x2.f16.safetensors";
// Each request as it arrives, and its status once the response is out. (Kept
// when the response finished, a request could be missed: the page may read
// the last byte and answer the test before the server hears that its write
// is done; CI saw a first download counted as none.)
const requests = [];
let server, url;
before(async () => {
  ({ server, url } = await startServer({
    onRequest: (req, res) => {
      const request = { path: new URL(req.url, "http://x").pathname, status: undefined };
      request.sent = new Promise((resolve) => res.on("close", () => resolve((request.status = res.statusCode))));
      requests.push(request);
    },
  }));
});
after(() => server.close());

/** The requests for `path` since request number `since`, once their responses are out, as `{ path, status }`. */
async function asked(path, since) {
  const matching = requests.slice(since).filter((r) => r.path === path);
  await Promise.all(matching.map((r) => r.sent));
  return matching.map(({ path, status }) => ({ path, status }));
}

test("weights are downloaded once: cached with their hash, revalidated with a 304 without integrity, no request with it, a WeightsError for other bytes", async () => {
  const browser = await launch({ webgpu: false });
  try {
    // One context: its pages share the browser's storage, as a visitor's tabs do.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.route(`${url}cache-test.html`, (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>cache</title>" }));
    await page.goto(`${url}cache-test.html`);
    const load = (options) =>
      page.evaluate(async (options) => {
        const { Upscaler } = await import("/pkg/index.js");
        try {
          const up = await Upscaler.create({ backend: "cpu", ...options });
          const arch = up.info.arch;
          up.dispose();
          return arch;
        } catch (e) {
          return `${e.name}: ${e.message}`;
        }
      }, options);
    const file = `/pkg/weights/${SMALL}`;
    const { integrity } = shipped.find((m) => m.file === SMALL);
    assert.match(integrity, /^sha256-[A-Za-z0-9+/]{43}=$/, "weights/index.json gives each file's hash");

    let mark = requests.length;
    assert.equal(await load({ weights: file }), "vdsr");
    assert.deepEqual((await asked(file, mark)).map((r) => r.status), [200], "the first load downloads");

    mark = requests.length;
    assert.equal(await load({ weights: file }), "vdsr");
    assert.deepEqual((await asked(file, mark)).map((r) => r.status), [304], "without integrity the cached copy is revalidated, not downloaded");

    mark = requests.length;
    assert.equal(await load({ weights: file, integrity }), "vdsr");
    assert.deepEqual(await asked(file, mark), [], "with integrity the cached copy needs no request");

    // By name the package takes the hash from its index: a new page (a second visit) asks nothing of the weights.
    const second = await context.newPage();
    await second.route(`${url}cache-test.html`, (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>cache</title>" }));
    await second.goto(`${url}cache-test.html`);
    mark = requests.length;
    assert.equal(await second.evaluate(async (name) => {
      const { Upscaler } = await import("/pkg/index.js");
      return (await Upscaler.create({ weights: name, backend: "cpu" })).info.arch;
    }, SMALL.replace(".f16.safetensors", "")), "vdsr");
    assert.deepEqual(await asked(file, mark), [], "a shipped model by name comes from the cache");
    assert.equal((await asked("/pkg/weights/index.json", mark)).length, 1);

    const wrong = `sha256-${"A".repeat(43)}=`;
    assert.match(await load({ weights: file, integrity: wrong }), /^WeightsError: the weights at \/pkg\/weights\/vdsr-small-x2\.f16\.safetensors are not the expected file \(their SHA-256 is .*, integrity asks for A+=\)/);
    assert.match(await load({ weights: file, integrity: "md5-abc" }), /^TypeError: integrity must be "sha256-"/);
  } finally {
    await browser.close();
  }
});

test("the demo: another model loads into the same worker (the wasm is fetched once), and after the first visit the page works offline", { timeout: 900000 }, async () => {
  const browser = await launch({ webgpu: false });
  const errors = [];
  try {
    const mark = requests.length;
    const page = await openPage(browser, url, errors);
    await page.waitForSelector("#backend[data-backend]", { timeout: 120000 });
    await page.waitForFunction(() => document.getElementById("offline").textContent.startsWith("Works offline"), null, { timeout: 300000 });
    // The service worker keeps the one build of the wasm this browser loads (no WebGPU adapter here: the CPU-only one).
    const storedWasm = await page.evaluate(async () => (await (await caches.open("upres-demo-v1")).keys()).map((r) => new URL(r.url).pathname).filter((p) => p.endsWith(".wasm")));
    assert.deepEqual(storedWasm, ["/pkg/upres_cpu_bg.wasm"]);

    // The quick x2 models in turn, twice: one worker, one wasm download, each weights file once.
    const quick = ["sesr-m5-x2.f16.safetensors", "vdsr-small-x2.f16.safetensors", "sesr-m5-x2.f16.safetensors", "edsr-small-x2.f16.safetensors"].filter((f) => shipped.some((m) => m.file === f));
    await page.selectOption("#scale", "2");
    await dropFile(page, "#drop", readFileSync(set5("butterfly")), "butterfly.png", "image/png");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("butterfly.png: 256×256"));
    for (const file of quick) {
      await page.selectOption("#model", String(shipped.findIndex((m) => m.file === file)));
      await page.click("#run");
      await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("Done"), null, { timeout: 300000 });
    }
    await Promise.all(requests.slice(mark).map((r) => r.sent));
    const wasm = requests.slice(mark).filter((r) => r.path.endsWith(".wasm") && r.status === 200);
    // One for the page's worker, one for the service worker's copy.
    assert.ok(wasm.length <= 2, `the wasm was downloaded ${wasm.length} times`);
    for (const m of shipped) assert.ok((await asked(`/pkg/weights/${m.file}`, mark)).length <= 1, `${m.file} downloaded more than once`);

    // The server goes away: the page reloads from the browser's copy and upscales.
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await page.reload();
    await page.waitForSelector("#backend[data-backend]", { timeout: 120000 });
    await dropFile(page, "#drop", readFileSync(set5("butterfly")), "butterfly.png", "image/png");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("butterfly.png: 256×256"));
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("Done"), null, { timeout: 300000 });
    assert.match(await page.textContent("#offline"), /^Works offline/);
  } finally {
    await browser.close();
  }
  // Offline, the browser itself reports what it could not fetch (the favicon): nothing else may fail.
  assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
});
