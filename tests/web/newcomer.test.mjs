// What a newcomer to the npm package ran into, each as a test, in Node and in
// headless Chromium: `auto` picking SwiftShader's software WebGPU, error
// classes that `instanceof` did not see, shipped models by name, Node paths,
// where the worker and the .wasm live, the main thread blocked by a tile,
// and the scale a network really ran.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import * as upres from "../../pkg/node.js";
import { execFileSync } from "node:child_process";
import { launch, root, set5, startServer } from "./helpers.mjs";

const { Upscaler, WeightsError, ScaleError, ImageError, BackendError, UpresError, InvalidStateError, createWorkerUpscaler } = upres;

describe("in Node", () => {
  test("the error classes are exported, and every failure is an instance of one (or a real TypeError)", async () => {
    for (const C of [WeightsError, ScaleError, ImageError, upres.ImageTooLargeError, BackendError, InvalidStateError]) {
      assert.ok(new C("x") instanceof UpresError && new C("x") instanceof Error);
      assert.equal(new C("x").name, C.name);
    }
    await assert.rejects(Upscaler.create({ weights: new Uint8Array([1, 2, 3]) }), (e) => e instanceof WeightsError && e.name === "WeightsError");
    await assert.rejects(Upscaler.create({ weights: "edsr-small-x2", backend: "tpu" }), (e) => e instanceof TypeError && /backend must be/.test(e.message));
    const up = await Upscaler.create({ weights: "edsr-small-x2" });
    await assert.rejects(up.upscale(new Uint8Array([1, 2, 3, 4])), (e) => e instanceof ImageError);
    await assert.rejects(up.upscale({ data: new Uint8ClampedArray(16), width: 2, height: 2 }, { scale: 2, tileSize: 8 }), (e) => e instanceof TypeError && /tileSize/.test(e.message));
    await assert.rejects(up.upscale({ data: new Uint8ClampedArray(16), width: 2, height: 2 }, { scael: 2 }), (e) => e instanceof TypeError && /unknown option `scael`/.test(e.message));
    up.dispose();
    assert.throws(() => up.info, (e) => e instanceof InvalidStateError);
  });

  test("weights by a shipped model's name, by import.meta.resolve, and a clear error for an unknown name", async () => {
    const byName = await Upscaler.create({ weights: "vdsr-small-x2" });
    assert.equal(byName.info.arch, "vdsr");
    // The README's Node way to name a file inside the package.
    const url = new URL("../../pkg/weights/edsr-small-x2.f16.safetensors", import.meta.url).href;
    const byUrl = await Upscaler.create({ weights: url });
    assert.equal(byUrl.info.arch, "edsr");
    await assert.rejects(Upscaler.create({ weights: "sesr-m99-x7" }), (e) => {
      assert.ok(e instanceof WeightsError);
      assert.match(e.message, /no model named "sesr-m99-x7" is shipped with upres \(shipped: .*edsr-small-x2.*vdsr-small-x2/);
      return true;
    });
  });

  test("no weights but a scale loads the fast model shipped for that scale, one file a scale", async () => {
    for (const scale of [2, 3, 4]) {
      const up = await Upscaler.create({ scale });
      assert.equal(up.info.arch, "sesr");
      assert.deepEqual(up.info.scales, [scale]);
      const out = await up.upscale({ data: new Uint8ClampedArray(16 * 16 * 4).fill(128), width: 16, height: 16 }, { scale });
      assert.deepEqual([out.width, out.modelScale], [16 * scale, scale], "the network itself made the scale");
      up.dispose();
    }
    await assert.rejects(Upscaler.create({ scale: 8 }), (e) => e instanceof ScaleError && /no clean model is shipped for scale 8: the clean models are x2, x3, x4/.test(e.message));
    await assert.rejects(Upscaler.create({}), (e) => e instanceof TypeError && /needs \{ weights \}.* or \{ scale \}/.test(e.message));
  });

  test("createWorkerUpscaler in Node runs on worker_threads: a pool equals Upscaler.create within 1/255, and dispose ends the threads", async () => {
    const png = readFileSync(set5("bird"));
    const here = await Upscaler.create({ weights: "sesr-m5-x2" });
    const reference = await here.upscale(png, { scale: 2 });
    here.dispose();
    const pool = await createWorkerUpscaler({ weights: "sesr-m5-x2", workers: 2 });
    assert.equal(pool.workers, 2);
    const tiles = [];
    const out = await pool.upscale(png, { scale: 2, onProgress: (done, total) => tiles.push([done, total]) });
    pool.dispose();
    assert.deepEqual([out.width, out.height], [reference.width, reference.height]);
    let diff = 0;
    for (let i = 0; i < out.data.length; i++) diff = Math.max(diff, Math.abs(out.data[i] - reference.data[i]));
    assert.ok(diff <= 1, `${diff}/255`);
    assert.equal(tiles.at(-1)[0], tiles.at(-1)[1]);
    // The browser entry alone (no Node entry installed its threads) says what to import.
    const script = 'import("./pkg/index.js").then((u) => u.createWorkerUpscaler({ weights: "edsr-small-x2" })).catch((e) => console.log(e.name, e.message))';
    const said = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    assert.match(said, /^BackendError createWorkerUpscaler needs Web Workers.*import "upres".*Upscaler\.create/);
  });

  test("an x3 request of an x2-only network says the network made x2 (modelScale, info.scaleNote)", async () => {
    const edsr = await Upscaler.create({ weights: "edsr-small-x2" });
    const image = await upres.decodeImage(readFileSync(set5("bird")));
    const small = { data: image.data.slice(0, 64 * 64 * 4), width: 64, height: 64 };
    const x3 = await edsr.upscale(small, { scale: 3 });
    assert.deepEqual([x3.width, x3.height, x3.modelScale], [192, 192, 2]);
    assert.equal((await edsr.upscale(small, { scale: 2 })).modelScale, 2);
    assert.match(edsr.info.scaleNote, /^the network upscales x2 itself; any other scale resizes its x2 output with bicubic/);
    assert.deepEqual(edsr.info.macsPerLrPixel, { x2: 3 * 32 * 9 + 13 * 9 * 32 * 32 + 9 * 32 * 128 + 4 * 9 * 32 * 3 });
    const vdsr = await Upscaler.create({ weights: "vdsr-small-x2" });
    assert.equal((await vdsr.upscale(small, { scale: 3 })).modelScale, undefined, "a bicubic-input network runs at any scale");
    assert.match(vdsr.info.scaleNote, /runs at any scale/);
  });

  test("info is frozen: the backend it reports cannot be overwritten", async () => {
    const up = await Upscaler.create({ weights: "vdsr-small-x2" });
    assert.throws(() => {
      "use strict";
      up.info.backend = "webgpu";
    }, TypeError);
    assert.equal(up.info.backend, "cpu");
  });
});

describe("in Chromium", () => {
  let server, url, browser, gpuBrowser;
  const errors = [];
  before(async () => {
    ({ server, url } = await startServer());
    [browser, gpuBrowser] = await Promise.all([launch({ webgpu: false }), launch({ webgpu: true })]);
  });
  after(async () => {
    await Promise.all([browser.close(), gpuBrowser.close()]);
    server.close();
    assert.deepEqual(errors, [], "no uncaught errors in the pages");
  });

  async function page(b = browser) {
    const p = await b.newPage();
    p.on("pageerror", (e) => errors.push(e.message));
    await p.route(`${url}newcomer.html`, (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>newcomer</title>" }));
    await p.goto(`${url}newcomer.html`);
    return p;
  }

  test('with only SwiftShader\'s WebGPU, "auto" runs on the CPU and says why; "webgpu" still uses it', async () => {
    const p = await page(gpuBrowser);
    const r = await p.evaluate(async () => {
      const { Upscaler, createWorkerUpscaler } = await import("/pkg/index.js");
      const adapter = await navigator.gpu.requestAdapter();
      const auto = await Upscaler.create({ weights: "vdsr-small-x2", backend: "auto" });
      const worker = await createWorkerUpscaler({ weights: "vdsr-small-x2" });
      const gpu = await Upscaler.create({ weights: "vdsr-small-x2", backend: "webgpu" });
      const out = await gpu.upscale(new ImageData(16, 16), { scale: 2 });
      const r = { architecture: adapter.info.architecture, auto: auto.info, worker: worker.info, gpu: gpu.info.backend, gpuReason: gpu.info.fallbackReason ?? null, out: out.width };
      worker.dispose();
      return r;
    });
    assert.equal(r.architecture, "swiftshader", "this test needs Chromium's SwiftShader adapter");
    assert.equal(r.auto.backend, "cpu");
    assert.match(r.auto.fallbackReason, /the only WebGPU adapter is swiftshader, a software renderer/);
    assert.equal(r.worker.backend, "cpu");
    assert.match(r.worker.fallbackReason, /software renderer/);
    assert.deepEqual([r.gpu, r.gpuReason, r.out], ["webgpu", null, 32]);
  });

  test("errors are instances of the exported classes on the main thread and from the worker", async () => {
    const p = await page();
    const r = await p.evaluate(async () => {
      const upres = await import("/pkg/index.js");
      const kind = (e) => ({
        name: e.name,
        weights: e instanceof upres.WeightsError,
        type: e instanceof TypeError,
        upres: e instanceof upres.UpresError,
        abort: e instanceof DOMException && e.name === "AbortError",
      });
      const out = {};
      out.mainWeights = await upres.Upscaler.create({ weights: new Uint8Array([1, 2, 3]) }).catch(kind);
      out.workerWeights = await upres.createWorkerUpscaler({ weights: new Uint8Array([1, 2, 3]) }).catch(kind);
      out.mainName = await upres.Upscaler.create({ weights: "no-such-model" }).catch(kind);
      const main = await upres.Upscaler.create({ weights: "vdsr-small-x2" });
      const worker = await upres.createWorkerUpscaler({ weights: "vdsr-small-x2" });
      out.mainOption = await main.upscale(new ImageData(8, 8), { scale: 2, tileSize: 8 }).catch(kind);
      out.workerOption = await worker.upscale(new ImageData(8, 8), { scale: 2, tileSize: 8 }).catch(kind);
      const c = new AbortController();
      c.abort();
      out.workerAbort = await worker.upscale(new ImageData(8, 8), { signal: c.signal }).catch(kind);
      worker.dispose();
      return out;
    });
    assert.deepEqual(r.mainWeights, { name: "WeightsError", weights: true, type: false, upres: true, abort: false });
    assert.deepEqual(r.workerWeights, r.mainWeights);
    assert.deepEqual(r.mainName, r.mainWeights);
    assert.deepEqual(r.mainOption, { name: "TypeError", weights: false, type: true, upres: false, abort: false });
    assert.deepEqual(r.workerOption, r.mainOption);
    assert.equal(r.workerAbort.abort, true);
  });

  test("createWorkerUpscaler takes workerUrl and wasm: the worker and the .wasm served elsewhere", async () => {
    const p = await page();
    // The app serves the package's files under /assets/ with its own names, and
    // the two builds of the .wasm only under /binaries/ (what a bundler may do).
    await p.route(`${url}assets/**`, async (route) => {
      const name = new URL(route.request().url()).pathname.split("/").pop();
      if (name.endsWith(".wasm")) return route.fulfill({ status: 404, body: "not here" });
      const file = name === "upres-worker.js" ? "worker.js" : name;
      return route.fulfill({ response: await p.request.fetch(`${url}pkg/${file}`) });
    });
    await p.route(`${url}binaries/core.wasm`, async (route) => route.fulfill({ response: await p.request.fetch(`${url}pkg/upres_core_bg.wasm`) }));
    await p.route(`${url}binaries/cpu.wasm`, async (route) => route.fulfill({ response: await p.request.fetch(`${url}pkg/upres_cpu_bg.wasm`) }));
    const r = await p.evaluate(async () => {
      const { createWorkerUpscaler } = await import("/pkg/index.js");
      const weights = "/pkg/weights/vdsr-small-x2.f16.safetensors";
      const withoutWasm = await createWorkerUpscaler({ weights, workerUrl: "/assets/upres-worker.js" }).then(() => "loaded", (e) => e.message);
      const up = await createWorkerUpscaler({ weights, workerUrl: "/assets/upres-worker.js", wasm: "/binaries/core.wasm" });
      const out = await up.upscale(new ImageData(10, 10), { scale: 2 });
      up.dispose();
      // Either build by name, its URL resolved against the page (not the worker).
      const cpu = await createWorkerUpscaler({ weights, workerUrl: "/assets/upres-worker.js", wasm: { cpu: "binaries/cpu.wasm" } });
      const outCpu = await cpu.upscale(new ImageData(10, 10), { scale: 2 });
      cpu.dispose();
      return { withoutWasm, width: out.width, widthCpu: outCpu.width };
    });
    assert.notEqual(r.withoutWasm, "loaded", "without `wasm` the worker looks beside itself, where there is no .wasm");
    assert.equal(r.width, 20);
    assert.equal(r.widthCpu, 20);
  });

  test("two upscalers on one worker each get their own replies", async () => {
    const p = await page();
    const r = await p.evaluate(async () => {
      const { createWorkerUpscaler } = await import("/pkg/index.js");
      const worker = new Worker("/pkg/worker.js", { type: "module" });
      const a = await createWorkerUpscaler({ weights: "vdsr-small-x2", worker });
      const b = await createWorkerUpscaler({ weights: "edsr-small-x2", worker });
      const [x, y] = await Promise.all([a.upscale(new ImageData(12, 12), { scale: 2 }), b.upscale(new ImageData(12, 12), { scale: 3 })]);
      worker.terminate();
      return [a.info.arch, x.width, b.info.arch, y.width, y.modelScale];
    });
    assert.deepEqual(r, ["vdsr", 24, "edsr", 36, 2]);
  });

  test("on the main thread a heavy model gets small tiles, and a due timer and an abort are served at the next tile", async () => {
    const p = await page();
    const r = await p.evaluate(async () => {
      const { Upscaler } = await import("/pkg/index.js");
      const up = await Upscaler.create({ weights: "vdsr-reference-x234", backend: "cpu" });
      const image = new ImageData(128, 128);
      for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 13) % 256;
      const controller = new AbortController();
      const tileEnds = [];
      let total = 0;
      let tilesWhenFired = null;
      const start = performance.now();
      setTimeout(() => {
        tilesWhenFired = tileEnds.length;
        controller.abort();
      }, 300);
      const onProgress = (_, t) => {
        total = t;
        tileEnds.push(performance.now() - start);
      };
      const outcome = await up.upscale(image, { scale: 2, signal: controller.signal, onProgress }).then(() => "finished", (e) => e.name);
      return { outcome, total, tileEnds, tilesWhenFired };
    });
    // VDSR's network input is the 256x256 bicubic image: 96-pixel tiles (stepping by 64) make 16 of them; 192-pixel ones made 4.
    assert.equal(r.total, 16);
    assert.equal(r.outcome, "AbortError");
    // Timing-free: the timer runs at the first break between tiles after it is due, and the abort ends the run there.
    const tilesBeforeDue = r.tileEnds.filter((t) => t < 300).length;
    assert.ok(r.tilesWhenFired <= tilesBeforeDue + 1, `the timer was due after ${tilesBeforeDue} tile(s) but ran after ${r.tilesWhenFired}`);
    assert.ok(r.tileEnds.length <= r.tilesWhenFired + 1, `${r.tileEnds.length - r.tilesWhenFired} tiles after the abort`);
  });
});
