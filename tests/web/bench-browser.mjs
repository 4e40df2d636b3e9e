// Browser benchmark (not a test): VDSR and EDSR-baseline at x2 and x4 on a
// 256x256 input, per backend, in headless Debian Chromium. Prints a table
// (first call and warm mean separately) with the wasm and weights sizes.
//
//   node tests/web/bench-browser.mjs [--runs 3] [--webgpu-size 64] [--shipped]
// --shipped: every model the package ships, at x2 on the CPU backend only
// (with the default tile), and each one's GFLOP/s from its multiply-adds.
// Headless Chromium's WebGPU adapter is SwiftShader, a GPU emulated on the
// CPU; it gets a smaller input (64x64 by default) to finish in minutes.
// EDSR-baseline weights are made by the trainer (1 iteration: timing does
// not depend on the values).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { launch, root, runTrainer, startServer, weights } from "./helpers.mjs";

const runs = Number(process.argv.includes("--runs") ? process.argv[process.argv.indexOf("--runs") + 1] : 3);
const webgpuSize = Number(process.argv.includes("--webgpu-size") ? process.argv[process.argv.indexOf("--webgpu-size") + 1] : 64);
const shippedOnly = process.argv.includes("--shipped");
const work = mkdtempSync(join(tmpdir(), "upres-bench-"));

function edsrBaseline(scale) {
  const out = join(work, `edsr-baseline-x${scale}`);
  runTrainer(["train", "--config", join(root, "trainer/configs", `edsr-baseline-x${scale}.json`), "--out", out, "--max-iters", "1", "--set", "data.dirs=[\"benchmark/Set5/HR\"]"]);
  const file = join(work, `edsr-baseline-x${scale}.f16.safetensors`);
  runTrainer(["export", "--run", out, "--checkpoint", "last", "--f16", "--out", file]);
  return file;
}

const shipped = JSON.parse(readFileSync(weights("index.json"), "utf8"));
const cases = shippedOnly
  ? shipped.map((m) => ({ model: m.file.replace(/\.f16\.safetensors$/, ""), file: weights(m.file), scale: 2, macs: m.macsPerLrPixel.x2 }))
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
    const r = await page.evaluate(async ({ bytes, backend, scale, runs, size, tileSize }) => {
      const { Upscaler } = await import("/pkg/index.js");
      const up = await Upscaler.create({ weights: new Uint8Array(bytes), backend });
      const image = new ImageData(size, size);
      for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 31) % 253;
      const time = async () => {
        const t = performance.now();
        await up.upscale(image, tileSize ? { scale, tileSize } : { scale });
        return performance.now() - t;
      };
      const first = await time();
      const warm = [];
      for (let i = 0; i < runs; i++) warm.push(await time());
      const backendUsed = up.info.backend;
      up.dispose();
      return { first, warm: warm.reduce((a, b) => a + b, 0) / warm.length, backendUsed };
    }, { bytes, backend, scale: c.scale, runs, size, tileSize });
    rows.push({ ...c, size, backend: r.backendUsed, first: r.first, warm: r.warm, weightsBytes: statSync(c.file).size });
    console.error(`${c.model} x${c.scale} ${r.backendUsed}: first ${r.first.toFixed(0)} ms, warm ${r.warm.toFixed(0)} ms`);
  }
  await browser.close();
}
server.close();

const wasm = join(root, "www", "pkg", "upres_core_bg.wasm");
const wasmBytes = readFileSync(wasm);
const mb = (n) => (n / 1048576).toFixed(2);
console.log(`wasm: ${mb(wasmBytes.length)} MB, ${mb(gzipSync(wasmBytes, { level: 9 }).length)} MB gzipped; Chromium ${execFileSync("/usr/bin/chromium", ["--version"], { encoding: "utf8" }).trim()}\n`);
if (shippedOnly) {
  // Multiply-adds per LR pixel x input pixels x 2 FLOPs, over the warm time (tile overlap not counted).
  const vdsr = rows.find((r) => r.model.startsWith("vdsr-reference"));
  console.log("| model | multiply-adds per LR pixel (x2) | input | weights (f16) | first call (ms) | warm mean (ms) | GFLOP/s | time vs the reference VDSR |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const gflops = (2 * r.macs * r.size * r.size) / (r.warm * 1e6);
    console.log(`| ${r.model} | ${r.macs.toLocaleString("en")} | ${r.size}x${r.size} | ${mb(r.weightsBytes)} MB | ${r.first.toFixed(0)} | ${r.warm.toFixed(0)} | ${gflops.toFixed(1)} | ${vdsr ? (r.warm / vdsr.warm).toFixed(3) + "x" : ""} |`);
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
