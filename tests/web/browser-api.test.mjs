// The npm package's API in headless Chromium, on WebGPU (SwiftShader) and on
// the CPU: parity with the native trainer, fallback, device loss, the worker
// (progress, abort, transfer), a 2000x2000 input through tiles.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeImage, encodePng } from "../../pkg/node.js";
import { launch, runTrainer, set5, startServer, weights } from "./helpers.mjs";

const SMALL = "vdsr-small-x2.f16.safetensors";
// The shipped models the parity checks cover besides the small VDSR: the
// imported reference VDSR and the EDSR trained here.
const PARITY = ["vdsr-reference-x234.f16.safetensors", "edsr-small-x2.f16.safetensors"];
let server, url, crop, native, smallCrop;
const nativeSmall = {};

function cropOf(full, x0, y0, size) {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) data.set(full.data.subarray(((y + y0) * full.width + x0) * 4, ((y + y0) * full.width + x0 + size) * 4), y * size * 4);
  return { data, width: size, height: size };
}

before(async () => {
  ({ server, url } = await startServer());
  // A 96x96 crop of butterfly keeps SwiftShader's WebGPU (a GPU emulated on the CPU) quick.
  const full = await decodeImage(readFileSync(set5("butterfly")));
  crop = cropOf(full, 80, 80, 96);
  const dir = mkdtempSync(join(tmpdir(), "upres-browser-"));
  writeFileSync(join(dir, "crop.png"), await encodePng(crop));
  runTrainer(["upscale", "--weights", weights(SMALL), "--scale", "2", join(dir, "crop.png"), join(dir, "native.png")]);
  native = await decodeImage(readFileSync(join(dir, "native.png")));
  // A 48x48 crop of Set5's head keeps the 64-channel reference VDSR quick on SwiftShader.
  smallCrop = cropOf(await decodeImage(readFileSync(set5("head"))), 110, 90, 48);
  writeFileSync(join(dir, "head-crop.png"), await encodePng(smallCrop));
  for (const file of PARITY) {
    const out = join(dir, `${file}.png`);
    runTrainer(["upscale", "--weights", weights(file), "--scale", "2", join(dir, "head-crop.png"), out]);
    nativeSmall[file] = await decodeImage(readFileSync(out));
  }
});
after(() => server.close());

async function apiPage(browser, errors) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.route(`${url}api-test.html`, (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>upres api test</title>" }));
  await page.goto(`${url}api-test.html`);
  return page;
}

function maxDifference(pixels, reference) {
  assert.equal(pixels.length, reference.data.length);
  let max = 0;
  for (let i = 0; i < pixels.length; i++) max = Math.max(max, Math.abs(pixels[i] - reference.data[i]));
  return max;
}

// Runs in the page: upscale the crop and return its pixels and the upscaler's info.
async function upscaleInPage(page, options, file = SMALL, image = crop) {
  return page.evaluate(async ({ crop, weights, options }) => {
    const { Upscaler } = await import("/pkg/index.js");
    const up = await Upscaler.create({ weights, backend: options.backend });
    if (options.loseDevice) up._simulateDeviceLoss();
    const image = new ImageData(new Uint8ClampedArray(crop.data), crop.width, crop.height);
    const out = await up.upscale(image, { scale: 2, tileSize: options.tileSize ?? 64, overlap: 16 });
    const result = { info: up.info, width: out.width, height: out.height, data: [...out.data], isImageData: out instanceof ImageData };
    up.dispose();
    return result;
  }, { crop: { data: [...image.data], width: image.width, height: image.height }, weights: `/pkg/weights/${file}`, options });
}

for (const webgpu of [true, false]) {
  describe(webgpu ? "Chromium with WebGPU (--enable-unsafe-webgpu)" : "Chromium without WebGPU", () => {
    let browser;
    const errors = [];
    before(async () => (browser = await launch({ webgpu })));
    after(async () => {
      await browser.close();
      assert.deepEqual(errors, [], "no uncaught errors in the page");
    });

    // SwiftShader is the only adapter here: "auto" treats it as no GPU.
    test(`backend "auto" runs on the CPU, saying why (${webgpu ? "a software adapter" : "no adapter"}), and equals trainer upscale within 1/255`, async () => {
      const page = await apiPage(browser, errors);
      const r = await upscaleInPage(page, { backend: "auto" });
      assert.equal(r.info.backend, "cpu");
      assert.match(r.info.fallbackReason, webgpu ? /swiftshader, a software renderer/ : /no WebGPU adapter/);
      assert.ok(r.isImageData);
      assert.deepEqual([r.width, r.height], [192, 192]);
      assert.ok(maxDifference(r.data, native) <= 1);
    });

    for (const file of PARITY) {
      test(`${file} on ${webgpu ? "WebGPU" : "the CPU"} equals trainer upscale within 1/255 (Set5 head crop x2)`, async () => {
        const page = await apiPage(browser, errors);
        const r = await upscaleInPage(page, { backend: webgpu ? "webgpu" : "cpu", tileSize: 192 }, file, smallCrop);
        assert.equal(r.info.backend, webgpu ? "webgpu" : "cpu");
        assert.deepEqual([r.width, r.height], [96, 96]);
        assert.ok(maxDifference(r.data, nativeSmall[file]) <= 1);
      });
    }

    test(`the page loads one build of the wasm: ${webgpu ? "WebGPU's (an adapter is there)" : "the CPU-only one (no adapter)"}; each is under 1.5 MB gzipped`, async () => {
      const page = await apiPage(browser, errors);
      const wasmRequests = [];
      page.on("request", (r) => r.url().endsWith(".wasm") && wasmRequests.push(r.url().split("/").pop()));
      const r = await page.evaluate(async (weights) => {
        const { Upscaler, wasmModule } = await import("/pkg/index.js");
        const up = await Upscaler.create({ weights, backend: "cpu" });
        const out = await up.upscale(new ImageData(16, 16), { scale: 2 });
        up.dispose();
        return { builds: Object.keys(wasmModule()), width: out.width };
      }, `/pkg/weights/${SMALL}`);
      const expected = webgpu ? "webgpu" : "cpu";
      assert.deepEqual(r, { builds: [expected], width: 32 });
      assert.deepEqual(wasmRequests, [expected === "webgpu" ? "upres_core_bg.wasm" : "upres_cpu_bg.wasm"]);
      const sizes = JSON.parse(readFileSync(new URL("../../pkg/build-report.json", import.meta.url), "utf8")).builds;
      const [full, cpu] = ["upres_core_bg.wasm", "upres_cpu_bg.wasm"].map((f) => sizes.find((b) => b.file === f).wasmGzip);
      // The download budget (issue 16), in 10^6 bytes: the WebGPU build is
      // built for size (Cargo.toml's wasm-webgpu profile), the CPU-only one
      // is smaller still because it leaves cubecl's kernel generators out.
      assert.ok(full < 1.5e6, `the WebGPU build is ${full} bytes gzipped, over 1.5 MB`);
      assert.ok(cpu < full * 0.75, `the CPU-only build is ${cpu} bytes gzipped, the WebGPU build ${full}`);
    });

    test('backend "cpu" equals trainer upscale within 1/255', async () => {
      const page = await apiPage(browser, errors);
      const r = await upscaleInPage(page, { backend: "cpu" });
      assert.equal(r.info.backend, "cpu");
      assert.equal(r.info.fallbackReason, undefined);
      assert.ok(maxDifference(r.data, native) <= 1);
    });

    if (webgpu) {
      test("two Upscalers on WebGPU in one page share the device (burn registers it once)", async () => {
        const page = await apiPage(browser, errors);
        const backends = await page.evaluate(async (weights) => {
          const { Upscaler } = await import("/pkg/index.js");
          const a = await Upscaler.create({ weights, backend: "webgpu" });
          const b = await Upscaler.create({ weights, backend: "webgpu" });
          const out = await b.upscale(new ImageData(16, 16), { scale: 2 });
          return [a.info.backend, b.info.backend, out.width];
        }, `/pkg/weights/${SMALL}`);
        assert.deepEqual(backends, ["webgpu", "webgpu", 32]);
      });

      test("a device lost during a run: the run finishes on the CPU and info says why", async () => {
        const page = await apiPage(browser, errors);
        const r = await upscaleInPage(page, { backend: "webgpu", loseDevice: true });
        assert.equal(r.info.backend, "cpu");
        assert.match(r.info.fallbackReason, /WebGPU failed during a run/);
        assert.ok(maxDifference(r.data, native) <= 1);
      });
    } else {
      test('backend "webgpu" without WebGPU is a BackendError', async () => {
        const page = await apiPage(browser, errors);
        const e = await page.evaluate(async (weights) => {
          const { Upscaler } = await import("/pkg/index.js");
          try {
            await Upscaler.create({ weights, backend: "webgpu" });
            return null;
          } catch (e) {
            return { name: e.name, message: e.message, isError: e instanceof Error };
          }
        }, `/pkg/weights/${SMALL}`);
        assert.deepEqual({ name: e.name, isError: e.isError }, { name: "BackendError", isError: true });
        assert.match(e.message, /no WebGPU adapter/);
      });

      test("the worker: download and tile progress, abort within one tile, ImageData out, main thread free", async () => {
        const page = await apiPage(browser, errors);
        const r = await page.evaluate(async (weights) => {
          const { createWorkerUpscaler } = await import("/pkg/index.js");
          const downloads = [];
          const up = await createWorkerUpscaler({ weights, backend: "cpu", onDownloadProgress: (l, t) => downloads.push([l, t]) });
          const image = new ImageData(256, 256);
          for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 7) % 251;
          const tiles = [];
          // The main thread keeps running timers while the worker computes (timed
          // over the whole upscale: the aborted one below may end within 10 ms).
          let ticks = 0;
          const timer = setInterval(() => ticks++, 10);
          const out = await up.upscale(image, { scale: 2, tileSize: 64, overlap: 16, onProgress: (d, t) => tiles.push([d, t]) });
          clearInterval(timer);
          const controller = new AbortController();
          let seen = 0;
          const aborted = await up
            .upscale(image, { scale: 2, tileSize: 32, overlap: 8, signal: controller.signal, onProgress: () => ++seen === 2 && controller.abort() })
            .then(() => "resolved", (e) => e.name);
          const stillWorks = await up.upscale(new ImageData(20, 20), { scale: 2 });
          up.dispose();
          return { downloads, tiles, out: [out.width, out.height, out instanceof ImageData, image.data.length], aborted, seen, ticks, stillWorks: stillWorks.width, workers: up.workers };
        }, `/pkg/weights/${SMALL}`);
        assert.ok(r.downloads.length >= 1 && r.downloads.at(-1)[0] === r.downloads.at(-1)[1]);
        assert.deepEqual(r.tiles.map(([d]) => d), r.tiles.map((_, i) => i + 1));
        assert.equal(r.tiles.at(-1)[1], r.tiles.length);
        assert.deepEqual(r.out, [512, 512, true, 256 * 256 * 4], "the caller's ImageData is not detached");
        assert.equal(r.aborted, "AbortError");
        // Each worker of the pool (one a core by default) stops within a tile of
        // hearing of the abort; a 32-pixel tile is so quick that one more may
        // end while the abort message is on its way.
        assert.ok(r.seen <= 2 + 2 * r.workers, `${r.seen - 2} tiles reported after abort, ${r.workers} workers`);
        assert.ok(r.ticks > 0);
        assert.equal(r.stillWorks, 40);
      });

      test("a 2000x2000 input goes through tiles in the worker", async () => {
        const page = await apiPage(browser, errors);
        const r = await page.evaluate(async (weights) => {
          const { createWorkerUpscaler } = await import("/pkg/index.js");
          const up = await createWorkerUpscaler({ weights, backend: "cpu" });
          const image = new ImageData(2000, 2000);
          for (let i = 0; i < image.data.length; i++) image.data[i] = i % 4 === 3 ? 255 : (i >> 6) % 256;
          let tiles = 0;
          const out = await up.upscale(image, { scale: 1, transfer: true, onProgress: (d, t) => (tiles = t) });
          up.dispose();
          return { width: out.width, height: out.height, tiles, detached: image.data.length === 0 };
        }, `/pkg/weights/${SMALL}`);
        assert.deepEqual([r.width, r.height], [2000, 2000]);
        assert.ok(r.tiles >= 100, `${r.tiles} tiles`);
        assert.ok(r.detached, "transfer: true hands the buffer over without a copy");
      });
    }
  });
}
