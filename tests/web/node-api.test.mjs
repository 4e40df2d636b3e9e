// The npm package's API in Node.js (CPU backend): parity with the native
// trainer, alpha, gray, progress, abort, tiling, sizes, and every bad input.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { Upscaler, decodeImage, encodePng, readWeightsInfo, resizeBicubic, wasmModule } from "../../pkg/node.js";
import { runTrainer, set5, trainer, weights, weightsWithNaN } from "./helpers.mjs";

const SMALL_VDSR = weights("vdsr-small-x2.f16.safetensors");
const REFERENCE_VDSR = weights("vdsr-reference-x234.f16.safetensors");
const EDSR = readdirSync(join(SMALL_VDSR, "..")).find((f) => f.startsWith("edsr"));

function maxDifference(a, b) {
  assert.equal(a.width, b.width);
  assert.equal(a.height, b.height);
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
  return max;
}

async function nativeUpscale(weightsFile, imageFile, scale) {
  const out = join(mkdtempSync(join(tmpdir(), "upres-parity-")), "out.png");
  runTrainer(["upscale", "--weights", weightsFile, "--scale", String(scale), imageFile, out]);
  return decodeImage(readFileSync(out));
}

async function parity(weightsFile, name, scale) {
  const up = await Upscaler.create({ weights: weightsFile, backend: "cpu" });
  const image = await decodeImage(readFileSync(set5(name)));
  const ours = await up.upscale(image, { scale });
  const native = await nativeUpscale(weightsFile, set5(name), scale);
  up.dispose();
  return maxDifference(ours, native);
}

test("the reference VDSR in wasm equals trainer upscale within 1/255 on every pixel (Set5 butterfly x2)", async () => {
  assert.ok(await parity(REFERENCE_VDSR, "butterfly", 2) <= 1);
});

test("an EDSR in wasm equals trainer upscale within 1/255 on every pixel (Set5 bird x2)", { skip: EDSR === undefined && "no EDSR weights shipped" }, async () => {
  assert.ok(await parity(weights(EDSR), "bird", 2) <= 1);
});

test("info describes the weights and says why the CPU runs", async () => {
  const up = await Upscaler.create({ weights: readFileSync(REFERENCE_VDSR) });
  assert.equal(up.info.arch, "vdsr");
  assert.deepEqual(up.info.scales, [2, 3, 4]);
  assert.equal(up.info.colorSpace, "y");
  assert.equal(up.info.params, 664704);
  assert.equal(up.info.dtype, "f16");
  assert.equal(up.info.backend, "cpu");
  assert.match(up.info.fallbackReason, /WebGPU is not available/);
  assert.deepEqual(await readWeightsInfo(REFERENCE_VDSR).then((i) => i.params), 664704);
  up.dispose();
  assert.throws(() => up.info, { name: "InvalidStateError" });
});

test("Node loads the CPU-only build of the wasm (Node has no WebGPU)", async () => {
  await Upscaler.create({ weights: readFileSync(REFERENCE_VDSR), backend: "cpu" }).then((up) => up.dispose());
  assert.deepEqual(Object.keys(wasmModule()), ["cpu"]);
  assert.ok(wasmModule().cpu instanceof WebAssembly.Module);
});

test("tiles blend without seams: small tiles equal one whole-image tile within 1/255", async () => {
  const up = await Upscaler.create({ weights: SMALL_VDSR, backend: "cpu" });
  const image = await decodeImage(readFileSync(set5("butterfly")));
  const whole = await up.upscale(image, { scale: 2, tileSize: 1024 });
  let calls = [];
  const tiled = await up.upscale(image, { scale: 2, tileSize: 64, overlap: 16, onProgress: (d, t) => calls.push([d, t]) });
  assert.ok(maxDifference(whole, tiled) <= 1);
  assert.equal(calls.length, calls[0][1]);
  assert.ok(calls.length >= 16, `${calls.length} tiles`);
  assert.deepEqual(calls.map(([d]) => d), calls.map((_, i) => i + 1));
  up.dispose();
});

test("each model's default overlap comes from its receptive radius, and with it small tiles give the untiled output", async () => {
  const sesr = await Upscaler.create({ weights: weights("sesr-m5-x2.f16.safetensors"), backend: "cpu" });
  const vdsr = await Upscaler.create({ weights: REFERENCE_VDSR, backend: "cpu" });
  // 5x5, five 3x3, 5x5: 9 LR pixels, overlap 2 * 9 + 2. VDSR's 20 layers
  // would need 42: capped at 32.
  assert.deepEqual([sesr.info.receptiveRadius, sesr.info.defaultOverlap], [9, 20]);
  assert.deepEqual([vdsr.info.receptiveRadius, vdsr.info.defaultOverlap], [20, 32]);
  vdsr.dispose();
  const image = await decodeImage(readFileSync(set5("butterfly")));
  const whole = await sesr.upscale(image, { scale: 2, tileSize: 1024 });
  // Share of output bytes that differ from the whole image's (a float sum in
  // another order may round a level the other way, rarely).
  const differing = (out) => out.data.filter((v, i) => v !== whole.data[i]).length / out.data.length;
  const exact = await sesr.upscale(image, { scale: 2, tileSize: 48 });
  const short = await sesr.upscale(image, { scale: 2, tileSize: 48, overlap: 8 });
  assert.ok(maxDifference(whole, exact) <= 1 && differing(exact) < 1e-3, `default overlap: ${differing(exact)} of the bytes differ`);
  assert.ok(differing(short) > 1e-2, `overlap 8 (under the radius) should show: ${differing(short)} differ`);
  sesr.dispose();
});

test("abort stops within one tile and rejects with an AbortError", async () => {
  const up = await Upscaler.create({ weights: SMALL_VDSR, backend: "cpu" });
  const image = await decodeImage(readFileSync(set5("butterfly")));
  const controller = new AbortController();
  let tiles = 0;
  const run = up.upscale(image, { scale: 2, tileSize: 32, overlap: 8, signal: controller.signal, onProgress: () => { tiles++; if (tiles === 2) controller.abort(); } });
  await assert.rejects(run, { name: "AbortError" });
  assert.equal(tiles, 2);
  // The upscaler still works afterwards.
  const out = await up.upscale({ data: new Uint8ClampedArray(16 * 16 * 4).fill(200), width: 16, height: 16 }, { scale: 2 });
  assert.equal(out.width, 32);
  await assert.rejects(up.upscale(image, { signal: AbortSignal.abort() }), { name: "AbortError" });
  up.dispose();
});

test("alpha is kept: transparent pixels stay transparent, opaque ones opaque", async () => {
  const up = await Upscaler.create({ weights: SMALL_VDSR, backend: "cpu" });
  const [w, h] = [40, 30];
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 4;
    data.set([x * 6, y * 8, 120, x < w / 2 ? 0 : 255], i);
  }
  const out = await up.upscale({ data, width: w, height: h }, { scale: 2 });
  const alpha = (x, y) => out.data[(y * out.width + x) * 4 + 3];
  assert.equal(alpha(2, 30), 0);
  assert.equal(alpha(out.width - 3, 30), 255);
  // Colour came through the network, not black.
  assert.ok(out.data[(30 * out.width + out.width - 3) * 4] > 100);
  // Alpha is MATLAB's bicubic of the input's alpha.
  const bicubic = await resizeBicubic({ data, width: w, height: h }, { scale: 2 });
  for (let i = 3; i < out.data.length; i += 4) assert.equal(out.data[i], bicubic.data[i]);
  up.dispose();
});

test("gray stays gray (R = G = B), and an EDSR on RGB keeps it gray too", async () => {
  const bytes = readFileSync(set5("head"));
  const color = await decodeImage(bytes);
  const gray = { ...color, data: new Uint8ClampedArray(color.data) };
  for (let i = 0; i < gray.data.length; i += 4) gray.data.fill(gray.data[i + 1], i, i + 3);
  const up = await Upscaler.create({ weights: SMALL_VDSR, backend: "cpu" });
  const out = await up.upscale(gray, { scale: 2 });
  for (let i = 0; i < out.data.length; i += 4) {
    assert.equal(out.data[i], out.data[i + 1]);
    assert.equal(out.data[i + 1], out.data[i + 2]);
  }
  up.dispose();
});

test("any output size: a non-integer scale and an exact width x height", async () => {
  const up = await Upscaler.create({ weights: SMALL_VDSR, backend: "cpu" });
  const image = { data: new Uint8ClampedArray(50 * 40 * 4).fill(90), width: 50, height: 40 };
  const a = await up.upscale(image, { scale: 2.5 });
  assert.deepEqual([a.width, a.height], [125, 100]);
  const b = await up.upscale(image, { width: 173, height: 91 });
  assert.deepEqual([b.width, b.height], [173, 91]);
  const c = await up.upscale(image, { width: 100 });
  assert.deepEqual([c.width, c.height], [100, 80]);
  up.dispose();
});

test("encodePng writes a PNG of the image, alpha kept", async () => {
  const image = { data: new Uint8ClampedArray([255, 0, 0, 128, 0, 255, 0, 255]), width: 2, height: 1 };
  const png = await encodePng(image);
  const back = await decodeImage(png);
  assert.deepEqual([...back.data], [...image.data]);
});

test("weights holding NaN are a WeightsError naming the tensor, not a garbage image", async () => {
  const { bytes, tensor } = weightsWithNaN(readFileSync(SMALL_VDSR), 7);
  await assert.rejects(Upscaler.create({ weights: bytes, backend: "cpu" }), (e) => e.name === "WeightsError" && e.message.includes(`${tensor} holds 7 NaN values`));
});

test("bad inputs are Errors with readable messages, never panics", async () => {
  await assert.rejects(Upscaler.create({ weights: new Uint8Array([1, 2, 3]) }), { name: "WeightsError", message: /not an upres weights file/ });
  await assert.rejects(Upscaler.create({ weights: readFileSync(set5("bird")) }), { name: "WeightsError" });
  await assert.rejects(Upscaler.create({ weights: "/no/such/weights.safetensors" }), { name: "WeightsError", message: /cannot read weights file/ });
  await assert.rejects(Upscaler.create({ weights: SMALL_VDSR, backend: "tpu" }), { name: "TypeError", message: /backend must be/ });
  await assert.rejects(Upscaler.create({ weights: SMALL_VDSR, backend: "webgpu" }), { name: "BackendError", message: /"webgpu" was asked for/ });
  await assert.rejects(Upscaler.create({}), TypeError);

  const up = await Upscaler.create({ weights: SMALL_VDSR, backend: "cpu" });
  await assert.rejects(up.upscale(new TextEncoder().encode("not an image")), { name: "ImageError", message: /not a decodable image/ });
  await assert.rejects(up.upscale(readFileSync(set5("bird")).subarray(0, 300)), { name: "ImageError" });
  await assert.rejects(up.upscale({ data: new Uint8ClampedArray(10), width: 2, height: 2 }), { name: "ImageError", message: /needs 16 bytes/ });
  const small = { data: new Uint8ClampedArray(64 * 64 * 4).fill(9), width: 64, height: 64 };
  // Band by band, only the RGBA result grows with the output: 32000x24000 is 3 GB of it.
  const big = { data: new Uint8ClampedArray(8000 * 6000 * 4).fill(9), width: 8000, height: 6000 };
  await assert.rejects(up.upscale(big, { scale: 4 }), { name: "ImageTooLargeError", message: /32000x24000 output needs about \d+ MB/ });
  await assert.rejects(up.upscale(small, { scale: 0.5 }), { name: "TypeError", message: /at least 1/ });
  await assert.rejects(up.upscale(small, { scale: 40 }), { name: "ScaleError" });
  await assert.rejects(up.upscale(small, { tileSize: 4 }), { name: "TypeError", message: /tileSize/ });
  await assert.rejects(up.upscale(small, { scale: 2, width: 10 }), { name: "TypeError", message: /either scale or width/ });
  await assert.rejects(up.upscale(small, { sclae: 2 }), { name: "TypeError", message: /sclae/ });
  await assert.rejects(up.evaluate(small, { scale: 0.5 }), { name: "ScaleError", message: /x0.5 is not supported/ });
  up.dispose();
});

test("EDSR weights refuse a scale they would mostly leave to bicubic", { skip: EDSR === undefined && "no EDSR weights shipped" }, async () => {
  const up = await Upscaler.create({ weights: weights(EDSR), backend: "cpu" });
  const small = { data: new Uint8ClampedArray(32 * 32 * 4).fill(9), width: 32, height: 32 };
  await assert.rejects(up.upscale(small, { scale: 6 }), { name: "ScaleError", message: /upscale x2; x6 would be mostly bicubic/ });
  const out = await up.upscale(small, { scale: 3 });
  assert.equal(out.width, 96);
  // Ground-truth mode measures the network's own scale only.
  await assert.rejects(up.evaluate(small, { scale: 3 }), { name: "ScaleError", message: /x3 is not supported by this edsr model \(it supports x2\)/ });
  up.dispose();
});

/** `image` tiled (mirrored) to `width` x `height`: a large image with real content. */
function mirroredTo(image, width, height) {
  const data = new Uint8ClampedArray(width * height * 4);
  const mirror = (v, n) => { const p = v % (2 * n); return p < n ? p : 2 * n - 1 - p; };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (mirror(y, image.height) * image.width + mirror(x, image.width)) * 4;
      data.set(image.data.subarray(from, from + 4), (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

test("onRows hands the output over band by band, top to bottom, and the bands are the whole result's pixels", async () => {
  const up = await Upscaler.create({ weights: weights("sesr-m5-x2.f16.safetensors"), backend: "cpu" });
  // 1600x800 at x2 is 5.1 megapixels out: more than one band of about 4.
  const butterfly = await decodeImage(readFileSync(set5("butterfly")));
  const image = mirroredTo(butterfly, 1600, 800);
  const whole = await up.upscale(image, { scale: 2 });
  const rows = [];
  const summary = await up.upscale(image, { scale: 2, onRows: (band, top) => rows.push({ band, top }) });
  assert.deepEqual(summary, { width: 3200, height: 1600, modelScale: 2 });
  assert.ok(rows.length >= 2, `${rows.length} bands`);
  let next = 0;
  for (const { band, top } of rows) {
    assert.equal(top, next);
    assert.equal(band.width, 3200);
    const start = top * 3200 * 4;
    assert.deepEqual(band.data, whole.data.subarray(start, start + band.data.length), `band at row ${top}`);
    next += band.height;
  }
  assert.equal(next, 1600);
  await assert.rejects(up.upscale(image, { onRows: "draw" }), { name: "TypeError", message: /onRows must be a function/ });
  up.dispose();
});

test("a 24-megapixel photo at x4 is refused from its JPEG header, before it is decoded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "upres-big-"));
  const photo = join(dir, "photo.jpg");
  execFileSync(join(dirname(trainer), "make-big-photo"), [photo, "6000", "4000"]);
  const up = await Upscaler.create({ weights: weights("sesr-m5-x4.f16.safetensors"), backend: "cpu" });
  const bytes = readFileSync(photo);
  const started = performance.now();
  await assert.rejects(up.upscale(bytes, { scale: 4 }), {
    name: "ImageTooLargeError",
    message: /^image too large: the 24000x16000 output needs about \d+ MB, more than the 2048 MB this library allows itself in the browser; use a smaller scale, or split or shrink the image first$/,
  });
  // From the header: decoding 24 megapixels alone takes longer than this.
  assert.ok(performance.now() - started < 500, `${(performance.now() - started).toFixed(0)} ms`);
  up.dispose();
});
