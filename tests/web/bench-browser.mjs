// Browser benchmark (not a test): VDSR and EDSR-baseline at x2 and x4 on a
// 256x256 input, per backend, in headless Debian Chromium. Prints a table
// (first call and warm mean separately) with the wasm and weights sizes.
//
//   node tests/web/bench-browser.mjs [--runs 3] [--webgpu-size 64] [--shipped [--only NAME]] [--workers 1,2]
// --workers: the worker pool instead (createWorkerUpscaler({ workers })):
// a 1024x1024 input at x2 on the CPU backend for the smallest shipped model
// and the small VDSR, each pool size in the same Chromium, with the speed-up
// over one worker.
// --shipped: every model the package ships, at x2 on the CPU backend only
// (with the default tile), on the page's main thread and then through
// createWorkerUpscaler's default pool, and each one's GFLOP/s from its multiply-adds;
// then, in the same Chromium, the peer a web developer would pick:
// UpscalerJS with esrgan-slim x2 (npm dev dependencies `upscaler`,
// `@upscalerjs/esrgan-slim`, `@tensorflow/tfjs`, served from node_modules,
// never a CDN: every other request is refused), on the same image, with
// the ratio of each of ours to it.
// Headless Chromium's WebGPU adapter is SwiftShader, a GPU emulated on the
// CPU; it gets a smaller input (64x64 by default) to finish in minutes.
// EDSR-baseline weights are made by the trainer (1 iteration: timing does
// not depend on the values).
// It serves www/ as the demo does, so the package measured is www/pkg
// (`make site` copies pkg/ there): to compare builds, copy each build's
// pkg/ to www/pkg in turn.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { launch, root, runTrainer, startServer, weights } from "./helpers.mjs";

const runs = Number(process.argv.includes("--runs") ? process.argv[process.argv.indexOf("--runs") + 1] : 3);
const webgpuSize = Number(process.argv.includes("--webgpu-size") ? process.argv[process.argv.indexOf("--webgpu-size") + 1] : 64);
const shippedOnly = process.argv.includes("--shipped");
const poolSizes = process.argv.includes("--workers") ? process.argv[process.argv.indexOf("--workers") + 1].split(",").map(Number) : null;
const work = mkdtempSync(join(tmpdir(), "upres-bench-"));

function edsrBaseline(scale) {
  const out = join(work, `edsr-baseline-x${scale}`);
  runTrainer(["train", "--config", join(root, "trainer/configs", `edsr-baseline-x${scale}.json`), "--out", out, "--max-iters", "1", "--set", "data.dirs=[\"benchmark/Set5/HR\"]"]);
  const file = join(work, `edsr-baseline-x${scale}.f16.safetensors`);
  runTrainer(["export", "--run", out, "--checkpoint", "last", "--f16", "--out", file]);
  return file;
}

// --only NAME: just the shipped models whose file name contains NAME, and no peer (with --shipped).
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : "";
const shipped = JSON.parse(readFileSync(weights("index.json"), "utf8"));
if (poolSizes) {
  await benchPool();
  process.exit(0);
}
const cases = shippedOnly
  ? shipped.filter((m) => m.file.includes(only)).map((m) => {
      // Each at its own scale (the fast models ship one file a scale); bicubic-input networks at x2.
      const scale = m.input === "bicubic" ? 2 : m.scales[0];
      return { model: m.file.replace(/\.f16\.safetensors$/, ""), file: weights(m.file), scale, macs: m.macsPerLrPixel[`x${scale}`] };
    })
  : [
      { model: "VDSR (reference)", file: weights("vdsr-reference-x234.f16.safetensors"), scale: 2 },
      { model: "VDSR (reference)", file: weights("vdsr-reference-x234.f16.safetensors"), scale: 4 },
      { model: "EDSR-baseline", file: edsrBaseline(2), scale: 2 },
      { model: "EDSR-baseline", file: edsrBaseline(4), scale: 4 },
    ];
const tileSize = shippedOnly ? undefined : 512;

const { server, url } = await startServer();
const rows = [];
for (const backend of shippedOnly ? ["cpu"] : ["cpu", "webgpu"]) {
  const browser = await launch({ webgpu: backend === "webgpu" });
  const page = await browser.newPage();
  await page.route(`${url}bench.html`, (r) => r.fulfill({ contentType: "text/html", body: "<!doctype html><title>bench</title>" }));
  await page.goto(`${url}bench.html`);
  for (const c of cases) {
    const bytes = [...readFileSync(c.file)];
    const size = backend === "webgpu" ? webgpuSize : 256;
    const r = await page.evaluate(async ({ bytes, backend, scale, runs, size, tileSize, pool }) => {
      const { Upscaler, createWorkerUpscaler } = await import("/pkg/index.js");
      const up = await Upscaler.create({ weights: new Uint8Array(bytes), backend });
      const image = new ImageData(size, size);
      for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 31) % 253;
      // The first call, then the mean of `runs` warm ones, of one upscaler on this image.
      const timeCalls = async (upscaler, options) => {
        const once = async () => {
          const t = performance.now();
          await upscaler.upscale(image, options);
          return performance.now() - t;
        };
        const first = await once();
        let total = 0;
        for (let i = 0; i < runs; i++) total += await once();
        return { first, warm: total / runs };
      };
      const { first, warm } = await timeCalls(up, tileSize ? { scale, tileSize } : { scale });
      const backendUsed = up.info.backend;
      up.dispose();
      if (!pool) return { first, warm, backendUsed };
      // The same image through the worker pool, as many workers as the page's default.
      const workers = await createWorkerUpscaler({ weights: new Uint8Array(bytes), backend });
      const pooled = await timeCalls(workers, { scale });
      const poolSize = workers.workers;
      workers.dispose();
      return { first, warm, backendUsed, poolSize, poolFirst: pooled.first, poolWarm: pooled.warm };
    }, { bytes, backend, scale: c.scale, runs, size, tileSize, pool: shippedOnly });
    rows.push({ ...c, size, backend: r.backendUsed, first: r.first, warm: r.warm, weightsBytes: statSync(c.file).size });
    console.error(`${c.model} x${c.scale} ${r.backendUsed}: first ${r.first.toFixed(0)} ms, warm ${r.warm.toFixed(0)} ms`);
    if (r.poolSize) {
      rows.push({ ...c, model: `${c.model} (${r.poolSize} workers)`, size, backend: r.backendUsed, first: r.poolFirst, warm: r.poolWarm, weightsBytes: statSync(c.file).size });
      console.error(`${c.model} x${c.scale} on ${r.poolSize} workers: first ${r.poolFirst.toFixed(0)} ms, warm ${r.poolWarm.toFixed(0)} ms`);
    }
  }
  await browser.close();
}
if (shippedOnly && !only) {
  // tfjs runs on WebGL: with --disable-gpu that is SwiftShader GL (tens of seconds), with
  // the GPU flags ANGLE on SwiftShader Vulkan; both CPU emulations here, the faster reported.
  for (const webgpu of [false, true]) {
    const browser = await launch({ webgpu });
    rows.push({ ...(await upscalerJs(browser, url)), launch: webgpu ? "GPU flags" : "--disable-gpu" });
    await browser.close();
  }
}
server.close();

/** UpscalerJS esrgan-slim x2 on the same 256x256 image, tfjs's default backend. */
async function upscalerJs(browser, url) {
  const page = await browser.newPage();
  const files = {
    "tf.js": "@tensorflow/tfjs/dist/tf.min.js",
    "upscaler.js": "upscaler/dist/browser/umd/upscaler.js",
    "esrgan-slim-x2.js": "@upscalerjs/esrgan-slim/dist/umd/models/esrgan-slim/src/x2/index.min.js",
  };
  await page.route("**/*", (r) => {
    const u = new URL(r.request().url());
    if (u.origin !== new URL(url).origin) return r.abort(); // no CDN, no model download
    if (u.pathname === "/ujs.html") {
      const scripts = Object.keys(files).map((f) => `<script src="/vendor/${f}"></script>`).join("");
      return r.fulfill({ contentType: "text/html", body: `<!doctype html><title>upscalerjs</title>${scripts}` });
    }
    if (u.pathname.startsWith("/vendor/models/")) {
      return r.fulfill({ path: join(root, "node_modules/@upscalerjs/esrgan-slim/models", u.pathname.slice("/vendor/models/".length)) });
    }
    const name = u.pathname.replace("/vendor/", "");
    if (files[name]) return r.fulfill({ path: join(root, "node_modules", files[name]), contentType: "text/javascript" });
    return r.continue();
  });
  await page.goto(`${url}ujs.html`);
  const r = await page.evaluate(async ({ runs }) => {
    const model = { ...globalThis.ESRGANSlim2x, path: "/vendor/models/x2/model.json" };
    const upscaler = new globalThis.Upscaler({ model });
    await upscaler.getModel();
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 256;
    const ctx = canvas.getContext("2d");
    const image = new ImageData(256, 256);
    for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 31) % 253;
    for (let i = 3; i < image.data.length; i += 4) image.data[i] = 255;
    ctx.putImageData(image, 0, 0);
    const time = async () => {
      const t = performance.now();
      // tfjs runs asynchronously on WebGL: read the pixels back, as a page must to show them.
      const out = await upscaler.execute(canvas, { output: "tensor" });
      await out.data();
      out.dispose();
      return performance.now() - t;
    };
    const first = await time();
    const warm = [];
    for (let i = 0; i < runs; i++) warm.push(await time());
    return { first, warm: warm.reduce((a, b) => a + b, 0) / warm.length, backend: globalThis.tf.getBackend() };
  }, { runs });
  await page.close();
  console.error(`UpscalerJS esrgan-slim x2 (tfjs ${r.backend}): first ${r.first.toFixed(0)} ms, warm ${r.warm.toFixed(0)} ms`);
  const weightsBytes = statSync(join(root, "node_modules/@upscalerjs/esrgan-slim/models/x2/group1-shard1of1.bin")).size;
  return { model: `UpscalerJS esrgan-slim x2 (tfjs ${r.backend})`, peer: true, scale: 2, size: 256, backend: r.backend, first: r.first, warm: r.warm, weightsBytes };
}

const mb = (n) => (n / 1048576).toFixed(2);
const wasmSizes = ["upres_core_bg.wasm", "upres_cpu_bg.wasm"].map((file) => {
  const bytes = readFileSync(join(root, "www", "pkg", file));
  return `${file} ${mb(bytes.length)} MB, ${mb(gzipSync(bytes, { level: 9 }).length)} MB gzipped`;
});
console.log(`wasm: ${wasmSizes.join("; ")}; Chromium ${execFileSync("/usr/bin/chromium", ["--version"], { encoding: "utf8" }).trim()}\n`);
if (shippedOnly) {
  // Multiply-adds per LR pixel x input pixels x 2 FLOPs, over the warm time (tile overlap not counted).
  const vdsr = rows.find((r) => r.model.startsWith("vdsr-reference"));
  const peer = rows.filter((r) => r.peer).sort((a, b) => a.warm - b.warm)[0];
  console.log("| model, scale | multiply-adds per LR pixel | input | weights | first call (ms) | warm mean (ms) | GFLOP/s | time vs the reference VDSR | UpscalerJS esrgan-slim time over ours |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const gflops = r.macs ? ((2 * r.macs * r.size * r.size) / (r.warm * 1e6)).toFixed(1) : "";
    const ratio = peer && !r.peer ? `${(peer.warm / r.warm).toFixed(2)}x` : "";
    console.log(`| ${r.model}${r.launch ? ` (Chromium with ${r.launch})` : ""} x${r.scale} | ${r.macs ? r.macs.toLocaleString("en") : "?"} | ${r.size}x${r.size} | ${mb(r.weightsBytes)} MB | ${r.first.toFixed(0)} | ${r.warm.toFixed(0)} | ${gflops} | ${vdsr ? (r.warm / vdsr.warm).toFixed(3) + "x" : ""} | ${ratio} |`);
  }
  process.exit(0);
}
console.log("| model | scale | backend | input | weights (f16) | first call (ms) | warm mean (ms) | warm µs per input pixel | vs CPU |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const cpu = rows.find((x) => x.file === r.file && x.scale === r.scale && x.backend === "cpu");
  const perPixel = (x) => (x.warm * 1000) / (x.size * x.size);
  console.log(`| ${r.model} | x${r.scale} | ${r.backend} | ${r.size}x${r.size} | ${mb(r.weightsBytes)} MB | ${r.first.toFixed(0)} | ${r.warm.toFixed(0)} | ${perPixel(r).toFixed(1)} | ${(perPixel(r) / perPixel(cpu)).toFixed(2)}x |`);
}

/** The worker pool's scaling: each model at each pool size, 1024x1024 at x2, warm mean. */
async function benchPool() {
  const smallest = shipped.filter((m) => m.macsPerLrPixel.x2).sort((a, b) => a.macsPerLrPixel.x2 - b.macsPerLrPixel.x2)[0];
  const models = [smallest.file.replace(/\.f16\.safetensors$/, ""), "vdsr-small-x2"];
  const { server, url } = await startServer();
  const browser = await launch({ webgpu: false });
  const page = await browser.newPage();
  await page.route(`${url}bench.html`, (r) => r.fulfill({ contentType: "text/html", body: "<!doctype html><title>bench</title>" }));
  await page.goto(`${url}bench.html`);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  console.log(`| model | workers | first call (ms) | warm mean of ${runs} (ms) | GFLOP/s | speed-up over 1 worker |`);
  console.log("|---|---|---|---|---|---|");
  for (const model of models) {
    let one;
    for (const workers of poolSizes) {
      const r = await page.evaluate(async ({ model, workers, runs }) => {
        const { createWorkerUpscaler } = await import("/pkg/index.js");
        const up = await createWorkerUpscaler({ weights: model, backend: "cpu", workers });
        const image = new ImageData(1024, 1024);
        for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 31) % 253;
        const time = async () => {
          const t = performance.now();
          await up.upscale(image, { scale: 2 });
          return performance.now() - t;
        };
        const first = await time();
        const warm = [];
        for (let i = 0; i < runs; i++) warm.push(await time());
        const used = up.workers;
        up.dispose();
        return { first, warm: warm.reduce((a, b) => a + b, 0) / warm.length, used };
      }, { model, workers, runs });
      one ??= r.warm;
      // Multiply-adds per LR pixel x LR pixels x 2 FLOPs over the warm time (tile overlap not counted).
      const macs = shipped.find((m) => m.file.startsWith(`${model}.`)).macsPerLrPixel.x2;
      const gflops = (2 * macs * 1024 * 1024) / (r.warm * 1e6);
      console.log(`| ${model} | ${r.used} | ${r.first.toFixed(0)} | ${r.warm.toFixed(0)} | ${gflops.toFixed(1)} | ${(one / r.warm).toFixed(2)}x |`);
    }
  }
  console.log(`\n1024x1024 at x2, CPU backend, navigator.hardwareConcurrency ${cores}; Chromium ${execFileSync("/usr/bin/chromium", ["--version"], { encoding: "utf8" }).trim()}`);
  await browser.close();
  server.close();
}
