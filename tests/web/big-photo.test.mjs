// A 24-megapixel photo (6000x4000) dropped in the demo, in headless Debian
// Chromium on the CPU backend with the smallest shipped models: at x2 it
// finishes, drawn band by band, with the browser's memory watched (the
// resident memory of all its processes, sampled from /proc) and a region
// of the result equal to `trainer upscale` of that region; at x4 it is
// refused at once with the ImageTooLargeError message and its suggestion;
// the page then upscales the next image. With WebGPU (SwiftShader, a CPU
// emulation too slow for 24 megapixels): the package refuses the photo at
// x4 from its header, before wasm memory grows, and a 1000x1000 image
// upscales to 2000x2000.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeImage } from "../../pkg/node.js";
import { artifacts, launch, openPage, pngRegion, pngSize, set5, startServer, trainer, weights } from "./helpers.mjs";

const [WIDTH, HEIGHT] = [6000, 4000];
// A region across the boundary of two bands (rows of 160 input rows), away from the image's edges.
const CROP = { x: 2900, y: 1500, side: 200 };
const dir = mkdtempSync(join(tmpdir(), "upres-big-"));
const photo = join(dir, "photo.jpg");
const crop = join(dir, "crop.png");
execFileSync(join(dirname(trainer), "make-big-photo"), [photo, String(WIDTH), String(HEIGHT), String(CROP.x), String(CROP.y), String(CROP.side), crop]);
const shipped = JSON.parse(readFileSync(weights("index.json"), "utf8"));

/** The smallest shipped model of `kind` ("clean", "photo") that upscales by `scale` itself. */
function smallest(scale, kind) {
  return shipped.filter((m) => m.scales.includes(scale) && m.input !== "bicubic" && m.kind === kind).sort((a, b) => a.params - b.params)[0];
}

/** Resident memory (bytes) of the descendants of `pid` (the browser this test started), from /proc. */
function treeRss(pid) {
  const children = new Map();
  const rss = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1] ?? 0);
      rss.set(Number(entry), kb * 1024);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  let total = 0, largest = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    if (p !== pid) {
      total += rss.get(p) ?? 0;
      largest = Math.max(largest, rss.get(p) ?? 0);
    }
    stack.push(...(children.get(p) ?? []));
  }
  return { total, largest };
}

/** Samples the browser's memory every 200 ms until stopped; `peak()` since the last `reset()`. */
function memoryWatch(pid) {
  let peak = { total: 0, largest: 0 };
  const sample = () => {
    const now = treeRss(pid);
    peak = { total: Math.max(peak.total, now.total), largest: Math.max(peak.largest, now.largest) };
  };
  const timer = setInterval(sample, 200);
  return {
    reset: () => ((peak = { total: 0, largest: 0 }), sample()),
    peak: () => (sample(), peak),
    now: () => treeRss(pid),
    stop: () => clearInterval(timer),
  };
}

const mb = (bytes) => Math.round(bytes / 1048576);
let server, url;
before(async () => ({ server, url } = await startServer()));
after(() => server.close());

describe("a 24-megapixel photo in the demo, CPU backend", () => {
  let browser, page, memory;
  const errors = [];
  before(async () => {
    browser = await launch({ webgpu: false });
    // Playwright starts Chromium as a child of this process: its tree is the browser.
    memory = memoryWatch(process.pid);
    page = await openPage(browser, `${url}?model=${smallest(2, "clean").file.replace(/\.f16\.safetensors$/, "")}`, errors);
    await page.waitForSelector("#backend[data-backend]", { timeout: 120000 });
  });
  after(async () => {
    memory.stop();
    await browser.close();
    assert.deepEqual(errors, [], "no uncaught errors or console errors");
  });

  test("x2 finishes, drawn band by band, memory bounded by the output, and a region equals trainer upscale of it", { timeout: 1800000 }, async () => {
    const idle = memory.now().total;
    await page.setInputFiles("#file", photo);
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("photo.jpg: 6000×4000"), null, { timeout: 60000 });
    await page.selectOption("#scale", "2");
    assert.equal(shipped[Number(await page.inputValue("#model"))].file, smallest(2, "clean").file, "the model the page was opened with (?model=) stays");
    memory.reset();
    const started = Date.now();
    await page.click("#run");
    // The result shows while it is made: bands arrive before the end.
    const progress = [];
    while (!(await page.textContent("#message")).startsWith("Done")) {
      const text = await page.textContent("#message");
      assert.ok(!/error|too large|cannot/i.test(text), text);
      progress.push(await page.$eval("#progress", (p) => [p.value, p.max]));
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(Date.now() - started < 1700000, "the upscale took more than 28 minutes");
    }
    const seconds = (Date.now() - started) / 1000;
    const peak = memory.peak();
    assert.deepEqual(await page.$eval("#result-size", (e) => [e.dataset.width, e.dataset.height]), ["12000", "8000"]);
    assert.ok(progress.some(([done, total]) => done > 0 && done < total), "progress moved tile by tile");
    // No 96-megapixel bicubic for the comparison: the input, scaled as it is drawn.
    assert.equal(await page.textContent("#before-tag"), "Input (browser-scaled)");
    // The 12000x8000 canvas is 366 MB of RGBA, counted 2.5 times for the
    // bands' RGBA on their way to it. Each worker's wasm holds the input as
    // the decoder's samples (3 bytes a pixel for this RGB JPEG; 4 allowed)
    // and one band's work (about 215 MB by pixels.rs's estimate; 250 allowed),
    // never the input's f32 planes: those would add 12 bytes a pixel (275 MB)
    // a worker, as before 2026-12-05, when CI saw the browser grow by 1882 MB.
    const output = 12000 * 8000 * 4;
    const workers = Number(await page.$eval("#backend", (b) => b.dataset.workers));
    const perWorker = 6000 * 4000 * 4 + 250 * 1048576;
    console.log(`x2 of 6000x4000 on ${workers} workers: ${seconds.toFixed(0)} s; browser memory idle ${mb(idle)} MB, peak ${mb(peak.total)} MB in all, largest process ${mb(peak.largest)} MB; the output's RGBA is ${mb(output)} MB`);
    assert.ok(peak.total - idle < 2.5 * output + workers * perWorker, `the browser grew by ${mb(peak.total - idle)} MB for a ${mb(output)} MB output on ${workers} workers`);
    await page.screenshot({ path: join(artifacts, "big-photo-x2.png") });

    // The PNG the visitor downloads, made on click, holds the region trainer upscale gives.
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 600000 }), page.click("#download")]);
    const png = readFileSync(await download.path());
    assert.deepEqual(pngSize(png), { width: 12000, height: 8000, colorType: pngSize(png).colorType });
    const native = join(dir, "crop.x2.png");
    execFileSync(trainer, ["upscale", "--scale", "2", "--weights", weights(smallest(2, "clean").file), crop, native], { stdio: "pipe" });
    const reference = await decodeImage(readFileSync(native));
    // The crop's own edges see zero padding: compare its middle.
    const margin = 32;
    const ours = pngRegion(png, CROP.x * 2 + margin, CROP.y * 2 + margin, reference.width - 2 * margin, reference.height - 2 * margin);
    let largest = 0;
    for (let y = 0; y < ours.height; y++) {
      for (let x = 0; x < ours.width; x++) {
        for (let c = 0; c < 3; c++) {
          const theirs = reference.data[((y + margin) * reference.width + x + margin) * 4 + c];
          largest = Math.max(largest, Math.abs(ours.data[(y * ours.width + x) * 4 + c] - theirs));
        }
      }
    }
    console.log(`the ${ours.width}x${ours.height} region across a band boundary differs from trainer upscale of its crop by at most ${largest}/255`);
    assert.ok(largest <= 1, `the region differs from trainer upscale by up to ${largest}/255`);
  });

  test("x4 is refused at once with the ImageTooLargeError message and a suggestion, and the next image upscales", { timeout: 600000 }, async () => {
    await page.selectOption("#scale", "4");
    // x4, which sesr-m5-x2 cannot do: the photo model for x4, as the input is a JPEG.
    assert.equal(shipped[Number(await page.inputValue("#model"))].file, smallest(4, "photo").file);
    memory.reset();
    const before = memory.now().total;
    const started = Date.now();
    await page.click("#run");
    await page.waitForFunction(() => /too large/.test(document.getElementById("message").textContent), null, { timeout: 60000 });
    const message = await page.textContent("#message");
    assert.match(message, /24000x16000/);
    assert.match(message, /Try ×2 instead of ×4, or crop the image first\./);
    assert.ok(Date.now() - started < 10000, `the refusal took ${Date.now() - started} ms`);
    assert.ok(memory.peak().total - before < 200 * 1048576, `memory grew by ${mb(memory.peak().total - before)} MB before the refusal`);
    assert.equal(await page.isDisabled("#run"), false);

    await page.setInputFiles("#file", set5("butterfly"));
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("butterfly.png: 256×256"));
    await page.selectOption("#scale", "2");
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("Done"), null, { timeout: 300000 });
    assert.deepEqual(await page.$eval("#result-size", (e) => [e.dataset.width, e.dataset.height]), ["512", "512"]);
  });
});

describe("the package on WebGPU (SwiftShader)", () => {
  let browser, page;
  const errors = [];
  before(async () => {
    browser = await launch({ webgpu: true });
    page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    const small = join(dir, "small.jpg");
    execFileSync(join(dirname(trainer), "make-big-photo"), [small, "1000", "1000"]);
    // The photos are served beside the package, as an app would serve them.
    await page.route(`${url}big-photo-test.html`, (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>upres big photo test</title>" }));
    await page.route(`${url}photo.jpg`, (route) => route.fulfill({ contentType: "image/jpeg", path: photo }));
    await page.route(`${url}small.jpg`, (route) => route.fulfill({ contentType: "image/jpeg", path: small }));
    await page.goto(`${url}big-photo-test.html`);
  });
  after(async () => {
    await browser.close();
    assert.deepEqual(errors, [], "no uncaught errors or console errors");
  });

  test("the photo at x4 is refused from its header before wasm memory grows; 1000x1000 upscales to 2000x2000", { timeout: 1200000 }, async () => {
    const r = await page.evaluate(async ({ x4, x2 }) => {
      const { default: init, Upscaler } = await import("./pkg/index.js");
      const exports = await init();
      const refusal = await Upscaler.create({ weights: `pkg/weights/${x4}`, backend: "webgpu" });
      const grown = () => exports.memory.buffer.byteLength;
      const before = grown();
      let error;
      try {
        await refusal.upscale(await (await fetch("photo.jpg")).blob(), { scale: 4 });
      } catch (e) {
        error = { name: e.name, message: e.message };
      }
      const grewBy = grown() - before;
      refusal.dispose();
      const up = await Upscaler.create({ weights: `pkg/weights/${x2}`, backend: "webgpu" });
      const started = performance.now();
      const out = await up.upscale(await (await fetch("small.jpg")).blob(), { scale: 2 });
      return { error, grewBy, backend: up.info.backend, size: [out.width, out.height], seconds: (performance.now() - started) / 1000 };
    }, { x4: smallest(4, "clean").file, x2: smallest(2, "clean").file });
    console.log(`WebGPU (SwiftShader): refusal grew wasm memory by ${mb(r.grewBy)} MB; 1000x1000 x2 in ${r.seconds.toFixed(1)} s`);
    assert.equal(r.error?.name, "ImageTooLargeError", JSON.stringify(r.error));
    assert.match(r.error.message, /24000x16000 output needs about \d+ MB, more than the 2048 MB/);
    assert.match(r.error.message, /use a smaller scale, or split or shrink the image first/);
    assert.ok(r.grewBy < 64 * 1048576, `wasm memory grew by ${mb(r.grewBy)} MB before the refusal`);
    assert.equal(r.backend, "webgpu");
    assert.deepEqual(r.size, [2000, 2000]);
  });
});
