// The pool of workers behind createWorkerUpscaler({ workers }), in headless
// Chromium: its output equals one worker's within 1/255 (for a network on the
// low-resolution image and one on the bicubic upscale), progress is one count
// that only grows and ends at the total, onRows gets the bands top to bottom,
// one abort stops every worker within a tile, the weights are fetched once,
// and `bicubic: true` brings the "before" from the same decode.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { launch, set5, startServer } from "./helpers.mjs";

let server, url, browser;
const requests = [];
const errors = [];

before(async () => {
  ({ server, url } = await startServer({ onRequest: (req) => requests.push(req.url) }));
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser.close();
  server.close();
  assert.deepEqual(errors, [], "no uncaught errors in the page");
});

async function page() {
  const p = await browser.newPage();
  p.on("pageerror", (e) => errors.push(e.message));
  await p.route(`${url}pool-test.html`, (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>upres pool test</title>" }));
  await p.goto(`${url}pool-test.html`);
  return p;
}

describe("a pool of workers", () => {
  for (const model of ["sesr-m5-x2", "vdsr-small-x2"]) {
    test(`${model}: 2 and 3 workers give 1 worker's pixels within 1/255, with one progress count and the bands in order`, async () => {
      const p = await page();
      const png = [...readFileSync(set5("butterfly"))];
      const r = await p.evaluate(async ({ model, png }) => {
        const { createWorkerUpscaler } = await import("/pkg/index.js");
        const file = new Blob([new Uint8Array(png)], { type: "image/png" });
        const one = await createWorkerUpscaler({ weights: model, backend: "cpu", workers: 1 });
        const serial = await one.upscale(file, { scale: 2 });
        const bicubic = await one.bicubic(file, { scale: 2 });
        one.dispose();
        const runs = [];
        for (const workers of [2, 3]) {
          const pool = await createWorkerUpscaler({ weights: model, backend: "cpu", workers });
          const progress = [];
          const out = await pool.upscale(file, { scale: 2, onProgress: (done, total) => progress.push([done, total]) });
          let diff = 0;
          for (let i = 0; i < out.data.length; i++) diff = Math.max(diff, Math.abs(out.data[i] - serial.data[i]));
          // With onRows: the bands top to bottom, each once, and the same pixels.
          const bands = [];
          let rowsDiff = 0;
          const summary = await pool.upscale(file, {
            scale: 2,
            onRows: (rows, top, height) => {
              bands.push([top, rows.height, height]);
              for (let i = 0; i < rows.data.length; i++) rowsDiff = Math.max(rowsDiff, Math.abs(rows.data[i] - serial.data[top * rows.width * 4 + i]));
            },
          });
          // The bicubic "before" from the same decode, in the same job.
          const both = await pool.upscale(file, { scale: 2, bicubic: true });
          let bicubicDiff = both.bicubic instanceof ImageData ? 0 : 255;
          for (let i = 0; i < bicubic.data.length; i++) bicubicDiff = Math.max(bicubicDiff, Math.abs(both.bicubic.data[i] - bicubic.data[i]));
          runs.push({ bicubicDiff, workers: pool.workers, size: [out.width, out.height, out instanceof ImageData], diff, progress, bands, rowsDiff, summary: [summary.width, summary.height, summary.data] });
          pool.dispose();
        }
        return { serial: [serial.width, serial.height], runs };
      }, { model, png });
      assert.deepEqual(r.serial, [512, 512]);
      for (const run of r.runs) {
        const { workers } = run;
        assert.deepEqual(run.size, [512, 512, true]);
        assert.ok(run.diff <= 1, `${workers} workers: ${run.diff}/255 from one worker's output`);
        const total = run.progress[0][1];
        assert.ok(run.progress.every(([, t]) => t === total), "one total");
        assert.deepEqual(run.progress.map(([d]) => d), run.progress.map((_, i) => i + 1), "the count grows by one a tile");
        assert.equal(run.progress.at(-1)[0], total, "and ends at the total");
        // A band is at least one row of tiles: 256 input rows make two for the fast model (192-pixel tiles).
        assert.ok(run.bands.length >= 2, `${run.bands.length} bands for ${workers} workers`);
        let next = 0;
        for (const [top, rows, height] of run.bands) {
          assert.equal(top, next, "bands come top to bottom, each once");
          assert.equal(height, 512);
          next += rows;
        }
        assert.equal(next, 512);
        assert.ok(run.rowsDiff <= 1);
        assert.equal(run.bicubicDiff, 0, "upscale's bicubic: true gives bicubic()'s pixels");
        assert.deepEqual(run.summary, [512, 512, undefined], "with onRows no pixels are held");
      }
    });
  }

  test("one abort stops every worker within a tile, and the pool runs again at once", async () => {
    const p = await page();
    const r = await p.evaluate(async () => {
      const { createWorkerUpscaler } = await import("/pkg/index.js");
      const pool = await createWorkerUpscaler({ weights: "vdsr-small-x2", backend: "cpu", workers: 2 });
      const image = new ImageData(512, 512);
      for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 7) % 251;
      const controller = new AbortController();
      let seen = 0;
      let total = 0;
      const outcome = await pool
        .upscale(image, { scale: 2, tileSize: 64, overlap: 16, signal: controller.signal, onProgress: (_, t) => ((total = t), ++seen === 4 && controller.abort()) })
        .then(() => "finished", (e) => e.name);
      const atReject = seen;
      // Nothing more comes from the aborted run, and both workers are free.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const again = await pool.upscale(new ImageData(64, 64), { scale: 2 });
      pool.dispose();
      return { outcome, atReject, later: seen, total, again: again.width };
    });
    assert.equal(r.outcome, "AbortError");
    assert.ok(r.total > 40, `${r.total} tiles`);
    // Each worker ends the tile it is in, and may end one more while the abort message is on its way.
    assert.ok(r.atReject <= 4 + 2 * 2, `${r.atReject - 4} tiles after the abort, with 2 workers`);
    assert.equal(r.later, r.atReject, "no progress after the rejection");
    assert.equal(r.again, 128);
  });

  test("the first worker downloads the weights and hands them to the others; info, workers and errors as one worker's", async () => {
    const p = await page();
    requests.length = 0;
    const r = await p.evaluate(async () => {
      const { createWorkerUpscaler } = await import("/pkg/index.js");
      const downloads = [];
      const pool = await createWorkerUpscaler({ weights: "/pkg/weights/edsr-small-x2.f16.safetensors", backend: "cpu", workers: 3, onDownloadProgress: (l, t) => downloads.push([l, t]) });
      const bad = await pool.upscale(new ImageData(8, 8), { scale: 2, tileSize: 8 }).then(() => null, (e) => [e.name, e.message]);
      // A non-integer scale is not split into bands: the first worker runs it.
      const odd = await pool.upscale(new ImageData(10, 10), { scale: 2.5 });
      const info = [pool.info.arch, pool.info.backend, pool.workers];
      pool.dispose();
      const disposed = await pool.upscale(new ImageData(8, 8)).then(() => null, (e) => e.name);
      const wrong = await createWorkerUpscaler({ weights: "edsr-small-x2", workers: 0 }).then(() => null, (e) => [e.name, e.message]);
      return { info, bad, odd: [odd.width, odd.height], disposed, wrong, lastDownload: downloads.at(-1) };
    });
    assert.deepEqual(r.info, ["edsr", "cpu", 3]);
    assert.equal(r.bad[0], "TypeError");
    assert.match(r.bad[1], /tileSize must be between 16 and 4096/);
    assert.deepEqual(r.odd, [25, 25]);
    assert.equal(r.disposed, "InvalidStateError");
    assert.deepEqual(r.wrong, ["TypeError", "workers must be a whole number from 1 to 16, got 0"]);
    assert.equal(r.lastDownload[0], r.lastDownload[1]);
    assert.equal(requests.filter((u) => u.includes("edsr-small-x2.f16.safetensors")).length, 1, "the weights are fetched once for 3 workers");
  });
});
