// Images as users have them (the corpus of tests/src/corpus.rs: 8/16-bit,
// gray, gray+alpha, palette with transparency, interlaced, CMYK JPEG, EXIF
// orientation, animated GIF, a 300x1 strip, broken files) through the
// package in Node and in headless Chromium: each gives trainer upscale's
// pixels within 1/255 and the same notes, or the same refusal.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Upscaler, decodeImage } from "../../pkg/node.js";
import { launch, startServer, trainer, weights, weightsWithNaN } from "./helpers.mjs";

const MODEL = "sesr-m5-x2.f16.safetensors";
const dir = mkdtempSync(join(tmpdir(), "upres-corpus-"));
execFileSync(join(dirname(trainer), "make-image-corpus"), [dir]);
const corpus = JSON.parse(readFileSync(join(dir, "corpus.json"), "utf8"));

// What the native trainer makes of each file: its output as RGBA8, or its error line.
const native = {};
before(async () => {
  for (const file of corpus) {
    const out = join(dir, `${file.name}.native.png`);
    try {
      execFileSync(trainer, ["upscale", "--scale", "2", "--weights", weights(MODEL), join(dir, file.name), out], { stdio: "pipe" });
      native[file.name] = await decodeImage(readFileSync(out));
    } catch (e) {
      native[file.name] = { error: String(e.stderr) };
    }
  }
});

function maxDifference(data, reference) {
  assert.equal(data.length, reference.data.length);
  let max = 0;
  for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(data[i] - reference.data[i]));
  return max;
}

function check(file, result) {
  if (file.refused) {
    assert.ok(native[file.name].error?.includes(file.refused), `${file.name}: trainer: ${native[file.name].error}`);
    assert.equal(result.error?.name, "ImageError", `${file.name}: ${JSON.stringify(result.error)}`);
    assert.ok(result.error.message.includes(file.refused), `${file.name}: ${result.error.message}`);
    return;
  }
  assert.equal(result.error, undefined, `${file.name} (${file.what}): ${JSON.stringify(result.error)}`);
  assert.deepEqual([result.width, result.height], [file.width, file.height], file.name);
  assert.ok(maxDifference(result.data, native[file.name]) <= 1, `${file.name} (${file.what}) differs from trainer upscale`);
  if (file.note) assert.ok(result.notes?.some((n) => n.includes(file.note)), `${file.name}: notes ${JSON.stringify(result.notes)}`);
  else assert.equal(result.notes, undefined, `${file.name}: unexpected notes ${JSON.stringify(result.notes)}`);
}

describe("Node (the package's CPU backend)", () => {
  for (const file of corpus) {
    test(`${file.name}: ${file.what}`, async () => {
      const up = await Upscaler.create({ weights: weights(MODEL), backend: "cpu" });
      let result;
      try {
        const out = await up.upscale(readFileSync(join(dir, file.name)), { scale: 2 });
        result = { width: out.width, height: out.height, data: out.data, notes: out.notes };
      } catch (e) {
        result = { error: { name: e.name, message: e.message } };
      } finally {
        up.dispose();
      }
      check(file, result);
    });
  }
});

describe("Chromium (the package on the page's CPU backend)", () => {
  let browser, server, url, page;
  const errors = [];
  before(async () => {
    ({ server, url } = await startServer());
    browser = await launch({ webgpu: false });
    page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.route(`${url}corpus-test.html`, (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>upres corpus test</title>" }));
    await page.goto(`${url}corpus-test.html`);
  });
  after(async () => {
    await browser?.close();
    server?.close();
    assert.deepEqual(errors, [], "no uncaught errors in the page");
  });

  for (const file of corpus) {
    test(`${file.name}: ${file.what}`, async () => {
      // A File, as a visitor's drop gives one: its name reaches the messages.
      const result = await page.evaluate(
        async ({ bytes, name, model }) => {
          const { Upscaler } = await import("/pkg/index.js");
          const up = await Upscaler.create({ weights: model, backend: "cpu" });
          try {
            const out = await up.upscale(new File([new Uint8Array(bytes)], name), { scale: 2 });
            return { width: out.width, height: out.height, data: [...out.data], notes: out.notes };
          } catch (e) {
            return { error: { name: e.name, message: e.message } };
          } finally {
            up.dispose();
          }
        },
        { bytes: [...readFileSync(join(dir, file.name))], name: file.name, model: `/pkg/weights/${MODEL}` },
      );
      if (file.refused && result.error) assert.ok(result.error.message.includes(file.name), `the error names ${file.name}: ${result.error.message}`);
      check(file, result);
    });
  }

  test("weights holding NaN are a WeightsError naming the tensor", async () => {
    const { bytes, tensor } = weightsWithNaN(readFileSync(weights(MODEL)), 3);
    const error = await page.evaluate(async (bytes) => {
      const { Upscaler } = await import("/pkg/index.js");
      try {
        await Upscaler.create({ weights: new Uint8Array(bytes), backend: "cpu" });
        return null;
      } catch (e) {
        return { name: e.name, message: e.message };
      }
    }, [...bytes]);
    assert.equal(error?.name, "WeightsError");
    assert.ok(error.message.includes(`${tensor} holds 3 NaN values`), error.message);
  });
});
