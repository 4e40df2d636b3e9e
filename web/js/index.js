// upres: super-resolution in the browser (WebGPU, or the CPU through wasm
// SIMD) and in Node.js (CPU). The model code is Rust compiled to
// WebAssembly in two builds: upres_core.js (WebGPU and the CPU) and
// upres_cpu.js (the CPU only, less than half the size), of which init loads
// one; this file turns JS inputs into RGBA pixels, fetches weights with
// progress, and adds AbortSignal and progress events.

import * as webgpuBuild from "./upres_core.js";
import * as cpuBuild from "./upres_cpu.js";

import { abortError, asUpresError, ImageError, ImageTooLargeError, InvalidStateError, WeightsError } from "./errors.js";
import { isBuildChoice, isModelName, onRowsError, weightsOrDefault } from "./choices.js";
import { readFile } from "./platform.js";
import { downloadWeights } from "./weights-download.js";

export { UpresError, WeightsError, ScaleError, ImageError, ImageTooLargeError, BackendError, InvalidStateError } from "./errors.js";

const isNode = typeof process !== "undefined" && process.versions != null && process.versions.node != null && typeof window === "undefined";
// A page's main thread (not a worker, not Node): one tile blocks it from start to end.
const onPageMainThread = typeof window !== "undefined" && typeof document !== "undefined";

// The two builds of the wasm: the glue wasm-bindgen made for each, and its
// file (each URL a literal: bundlers follow those, and webpack makes a
// template one into a context of every file in the folder).
const BUILDS = {
  webgpu: { glue: webgpuBuild, file: () => new URL("./upres_core_bg.wasm", import.meta.url) },
  cpu: { glue: cpuBuild, file: () => new URL("./upres_cpu_bg.wasm", import.meta.url) },
};

let ready = null;
// The build init loaded: its name and glue.
let loaded = null;

/**
 * Load the WebAssembly module. Called by everything that needs it; call it
 * yourself to start the download early or to pass the .wasm from elsewhere.
 * `wasm`: the WebGPU build's .wasm (a URL, a Response, bytes or a
 * WebAssembly.Module), or `{ webgpu, cpu }` with either build or both. Left
 * to itself, init loads the WebGPU build where the browser has a WebGPU
 * adapter and the CPU-only build elsewhere (Node, browsers without WebGPU).
 */
export default function init(wasm) {
  if (ready === null) {
    ready = initWasm(wasm).catch((e) => {
      ready = null;
      loaded = null;
      throw e;
    });
  }
  return ready;
}

/**
 * The compiled wasm once `init` has run, as `{ webgpu }` or `{ cpu }` (the
 * build loaded): a worker pool's first worker hands it to the others, which
 * then neither fetch nor compile it, and load the same build.
 */
export function wasmModule() {
  return loaded === null ? undefined : { [loaded.name]: loaded.glue.__upres_wasm_module };
}

/** The wasm's exports, once `init` has run. */
function wasm() {
  if (loaded === null) throw new InvalidStateError("the upres wasm is not loaded yet: `await init()` first");
  return loaded.glue;
}

// Whether a page may use WebGPU: it has an adapter (software ones included:
// `backend: "webgpu"` takes them, and `auto` then says why it does not).
async function hasWebGpuAdapter() {
  try {
    return (await globalThis.navigator?.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
}

async function initWasm(wasm) {
  const given = wasm === undefined ? {} : isBuildChoice(wasm) ? wasm : { webgpu: wasm };
  for (const name of Object.keys(given)) {
    if (!(name in BUILDS)) throw new TypeError(`wasm must be the .wasm of upres's WebGPU build or { webgpu, cpu }, got a key \`${name}\``);
  }
  const names = Object.keys(given).filter((name) => given[name] !== undefined);
  const name = names.length === 1 ? names[0] : !isNode && (await hasWebGpuAdapter()) ? "webgpu" : "cpu";
  const build = BUILDS[name];
  let source = given[name];
  // Node's fetch does not read file: URLs.
  if (source === undefined && isNode) source = await readFile(build.file());
  const exports = await build.glue.default(source === undefined ? undefined : { module_or_path: source });
  loaded = { name, glue: build.glue };
  return exports;
}

// Call into the wasm; its errors become instances of the package's error classes.
function core(call) {
  try {
    return call();
  } catch (e) {
    throw asUpresError(e);
  }
}

// Let the event loop run (messages, abort clicks, repaints) between tiles. On
// a page's main thread a 1 ms timeout, not a message nor a 0 ms timeout:
// Chromium runs those as immediate tasks, before a page's timer that fell
// due during the tile (an abort after N ms waited a second tile, measured).
// A delayed task is queued behind timers already due.
const yieldToEventLoop = typeof MessageChannel !== "undefined" && !isNode && !onPageMainThread
  ? () => new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => resolve();
      channel.port2.postMessage(null);
    })
  : () => new Promise((resolve) => setTimeout(resolve, isNode ? 0 : 1));

// This file's URL, through a variable on purpose: bundlers rewrite
// `new URL(\`./weights/${name}\`, import.meta.url)` into a glob over every
// weights file (Vite then code-splits the worker, which its default worker
// format refuses). Served unbundled, weights/ sits beside this file; a
// bundled app serves the weights itself and passes their URL.
const packageUrl = import.meta.url;

/** The URL of a model shipped in this package's weights/ folder, by name. */
export function shippedWeightsUrl(name) {
  return new URL(`weights/${name}.f16.safetensors`, packageUrl);
}

/** The package's weights/index.json by model name (empty where it cannot be read). */
async function shippedModels() {
  try {
    const url = new URL("weights/index.json", packageUrl);
    const index = isNode ? JSON.parse(await readFile(url, "utf8")) : await (await fetch(url)).json();
    return new Map(index.map((m) => [m.file.replace(/\.f16\.safetensors$|\.safetensors$/, ""), m]));
  } catch {
    return new Map();
  }
}

/**
 * Read weights from bytes, a URL (streamed, with progress, cached by the
 * browser: see weights-download.js), the name of a model this package ships
 * ("edsr-small-x2") or, in Node, a file path. `integrity` ("sha256-...")
 * names the expected content: a cached copy is then used without a request.
 */
export async function loadWeightsBytes(weights, { onProgress, signal, integrity } = {}) {
  if (isModelName(weights)) {
    // In a browser the index gives the file's hash, so a cached copy needs no request.
    const index = isNode ? undefined : await shippedModels();
    const shipped = index?.get(weights);
    try {
      return await loadWeightsBytes(shippedWeightsUrl(weights), { onProgress, signal, integrity: integrity ?? shipped?.integrity });
    } catch (e) {
      if (!(e instanceof WeightsError) || shipped !== undefined) throw e;
      const names = [...(index ?? (await shippedModels())).keys()];
      const where = names.length > 0 ? `shipped: ${names.join(", ")}` : "and the package's weights/ folder is not beside its code here: a bundled app serves the weights file itself";
      throw new WeightsError(`no model named "${weights}" is shipped with upres (${where}); give a URL, a path or the bytes of a weights file`);
    }
  }
  if (weights instanceof Uint8Array) return weights;
  if (weights instanceof ArrayBuffer) return new Uint8Array(weights);
  if (ArrayBuffer.isView(weights)) return new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength);
  if (typeof Blob !== "undefined" && weights instanceof Blob) return new Uint8Array(await weights.arrayBuffer());
  if (typeof weights !== "string" && !(weights instanceof URL)) {
    throw new TypeError("weights must be a Uint8Array, an ArrayBuffer, a Blob, a URL or a string");
  }
  if (isNode) {
    const asString = String(weights);
    if (weights instanceof URL ? weights.protocol === "file:" : !/^https?:/i.test(asString)) {
      // `import.meta.resolve("upres/weights/...")` gives a file: URL string.
      if (typeof weights === "string" && weights.startsWith("file:")) weights = new URL(weights);
      try {
        const bytes = new Uint8Array(await readFile(weights));
        onProgress?.(bytes.length, bytes.length);
        return bytes;
      } catch (e) {
        throw new WeightsError(`cannot read weights file ${asString}: ${e.message}`);
      }
    }
  }
  return downloadWeights(weights, { onProgress, signal, integrity });
}

function isRgbaImage(x) {
  return x != null && typeof x === "object" && typeof x.width === "number" && typeof x.height === "number" && x.data != null && ArrayBuffer.isView(x.data);
}

function rgbaBytes(image) {
  const { data } = image;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function canvasPixels(source, width, height) {
  if (!(width > 0 && height > 0)) throw new ImageError(`the image is ${width}x${height}: it has no pixels (is it loaded?)`);
  const canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(width, height) : Object.assign(document.createElement("canvas"), { width, height });
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (ctx === null) throw new ImageTooLargeError(`cannot make a ${width}x${height} canvas to read the image: it is too large for this browser`);
  ctx.drawImage(source, 0, 0);
  return ctx.getImageData(0, 0, width, height);
}

/**
 * RGBA pixels of any input: ImageData (or any `{ data, width, height }`),
 * ImageBitmap, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, a Blob
 * or the bytes of an encoded image (PNG, JPEG, WebP, BMP, GIF; in browsers
 * also whatever they decode). Decoded files carry `notes`: what was done to
 * their pixels (an EXIF orientation applied, an animation's first frame taken).
 */
export async function toPixels(input) {
  await init();
  if (isRgbaImage(input)) return input;
  if (input instanceof ArrayBuffer || input instanceof Uint8Array) return decodeBytes(new Uint8Array(input), "image");
  if (typeof Blob !== "undefined" && input instanceof Blob) return decodeBytes(new Uint8Array(await input.arrayBuffer()), input.name || "image", input);
  if (typeof HTMLImageElement !== "undefined" && input instanceof HTMLImageElement) {
    if (!input.complete || input.naturalWidth === 0) {
      try {
        await input.decode();
      } catch {
        throw new ImageError(`the image element (${input.src.slice(0, 80)}) could not be decoded`);
      }
    }
    return canvasPixels(input, input.naturalWidth, input.naturalHeight);
  }
  if (typeof ImageBitmap !== "undefined" && input instanceof ImageBitmap) return canvasPixels(input, input.width, input.height);
  if (typeof HTMLCanvasElement !== "undefined" && input instanceof HTMLCanvasElement) return canvasPixels(input, input.width, input.height);
  if (typeof OffscreenCanvas !== "undefined" && input instanceof OffscreenCanvas) return canvasPixels(input, input.width, input.height);
  throw new TypeError("input must be ImageData, an ImageBitmap, an HTMLImageElement, a canvas, a Blob or encoded image bytes");
}

/** The bytes and name of an encoded image in a format this library decodes, else undefined. */
async function encodedFile(input) {
  let bytes, name = "image";
  if (input instanceof ArrayBuffer || input instanceof Uint8Array) bytes = new Uint8Array(input);
  else if (typeof Blob !== "undefined" && input instanceof Blob) [bytes, name] = [new Uint8Array(await input.arrayBuffer()), input.name || "image"];
  else return undefined;
  return wasm().decodableFormat(bytes) === undefined ? undefined : { bytes, name };
}

async function decodeBytes(bytes, name, blob) {
  try {
    return wasm().decodeImage(bytes, name);
  } catch (thrown) {
    const e = asUpresError(thrown);
    // Formats our decoder lacks (AVIF, HEIC, ...) may still be decodable by
    // the browser. A broken file of a format we decode is refused as it is in
    // Node and natively: browsers draw half a truncated PNG without a word.
    if (blob !== undefined && typeof createImageBitmap !== "undefined" && wasm().decodableFormat(bytes) === undefined) {
      let bitmap;
      try {
        bitmap = await createImageBitmap(blob);
      } catch {
        throw e;
      }
      try {
        return canvasPixels(bitmap, bitmap.width, bitmap.height);
      } finally {
        bitmap.close();
      }
    }
    throw e;
  }
}

function toImageData(out, notes = out.notes) {
  const image = typeof ImageData !== "undefined" ? new ImageData(out.data, out.width, out.height) : { data: out.data, width: out.width, height: out.height };
  return withAnnotations(image, out, notes);
}

// What a result carries besides its pixels.
function withAnnotations(target, out, notes) {
  // The scale the network ran, for networks that upscale by themselves.
  if (out.modelScale !== undefined) target.modelScale = out.modelScale;
  // What decoding the input did (EXIF orientation, an animation's first frame).
  if (notes?.length) target.notes = notes;
  return target;
}

// An upscale's result: ImageData, or without pixels (they went to onRows) its
// size and notes; with `bicubic: true`, the bicubic of the same pixels beside.
function finished(out, notes = out.notes) {
  const summary = out.data !== undefined ? toImageData(out, notes) : withAnnotations({ width: out.width, height: out.height }, out, notes);
  if (out.bicubic !== undefined) summary.bicubic = toImageData(out.bicubic);
  return summary;
}

/** Decode an encoded image (PNG, JPEG, WebP, BMP, GIF) to RGBA pixels, upright as its EXIF orientation asks. */
export async function decodeImage(bytes) {
  await init();
  return toImageData(core(() => wasm().decodeImage(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), "image")));
}

/** Encode RGBA pixels as a PNG file (alpha kept). */
export async function encodePng(image) {
  await init();
  return core(() => wasm().encodePng(rgbaBytes(image), image.width, image.height));
}

/** MATLAB's bicubic `imresize` to `{ scale }` or `{ width, height }` (alpha kept). */
export async function resizeBicubic(input, options = {}) {
  const pixels = await toPixels(input);
  const { scale, width, height } = options;
  return toImageData(core(() => wasm().resizeBicubic(rgbaBytes(pixels), pixels.width, pixels.height, { scale, width, height })));
}

/** What a weights file holds (architecture, scales, provenance), without loading it. */
export async function readWeightsInfo(weights) {
  await init();
  const bytes = await loadWeightsBytes(weights);
  return core(() => wasm().readWeightsInfo(bytes));
}

function tileCallback(onProgress, signal) {
  return async (done, total) => {
    if (onProgress) onProgress(done, total);
    await yieldToEventLoop();
    return !signal?.aborted;
  };
}

async function guard(signal, run) {
  try {
    return await run();
  } catch (e) {
    if (e?.name === "AbortError" || signal?.aborted) throw abortError(signal);
    throw asUpresError(e);
  }
}

// On a page's main thread each tile blocks the page (and AbortSignal) until
// it ends, so the default tile there is as large as keeps one tile to about
// a billion multiply-adds (a few tenths of a second on a laptop's core), but
// never smaller than the overlap plus 64 pixels, so that the overlap does
// not dominate: a fast model keeps the 192-pixel tile, the 20-layer VDSR gets
// 96-pixel ones (a quarter of the time per tile, 1.6x the pixels computed
// in all). Workers and Node keep the default (192, from the Rust side).
// Pass `tileSize` to choose.
const MAIN_THREAD_TILE_MACS = 1e9;

function mainThreadTile(info, overlap = info.defaultOverlap) {
  const perPixel = Object.entries(info.macsPerLrPixel ?? {}).map(([scale, macs]) => (info.input === "bicubic" ? macs / Number(scale.slice(1)) ** 2 : macs));
  if (perPixel.length === 0) return wasm().defaultTileSize();
  const side = Math.floor(Math.sqrt(MAIN_THREAD_TILE_MACS / Math.max(...perPixel)) / 16) * 16;
  return Math.max(overlap + 64, Math.min(wasm().defaultTileSize(), side));
}

/** A super-resolution model loaded on WebGPU or the CPU. */
export class Upscaler {
  #core;
  #queue = Promise.resolve();

  constructor(core) {
    if (!(core instanceof wasm().UpscalerCore)) throw new TypeError("use `await Upscaler.create({ weights })`");
    this.#core = core;
  }

  /**
   * @param {import("./index").UpscalerOptions} options
   */
  static async create(options) {
    const weights = weightsOrDefault(options, "Upscaler.create");
    const { backend = "auto", onDownloadProgress, signal, integrity } = options;
    await init(options.wasm);
    const bytes = await loadWeightsBytes(weights, { onProgress: onDownloadProgress, signal, integrity });
    try {
      return new Upscaler(await wasm().UpscalerCore.create(bytes, backend));
    } catch (e) {
      throw asUpresError(e);
    }
  }

  /** Architecture, scales, backend in use and, if it is not WebGPU, why. */
  get info() {
    return Object.freeze(this.#alive().info);
  }

  #alive() {
    if (this.#core === null) throw new InvalidStateError("this Upscaler has been disposed");
    return this.#core;
  }

  // One run at a time per model: calls queue up in order.
  #exclusive(run) {
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  /**
   * Upscale an image; resolves to ImageData (in Node, `{ data, width, height }`).
   * With `onRows(rows, top)`, the output is handed over band by band as it is
   * finished (`rows`: ImageData of the full width, `top`: its first row) and
   * the promise resolves to `{ width, height, modelScale?, notes? }` without
   * pixels, so that an output too large to hold (a 24-megapixel photo at x4)
   * can be drawn or encoded piece by piece.
   */
  upscale(input, options = {}) {
    // The rest goes to the core, which refuses unknown options (a typo is an error, not ignored).
    const { onProgress, onRows, signal, transfer, ...rest } = options;
    const badRows = onRowsError(onRows);
    if (badRows) return Promise.reject(badRows);
    const rowsCallback = onRows && ((data, top, width, outputHeight) => onRows(toImageData({ data, width, height: data.length / (4 * width) }), top, outputHeight));
    return this.#exclusive(() =>
      guard(signal, async () => {
        if (signal?.aborted) throw abortError(signal);
        if (onPageMainThread && rest.tileSize === undefined) rest.tileSize = mainThreadTile(this.#alive().info, rest.overlap);
        // A file of a format we decode goes in as it is: decoded once, at its
        // own bit depth (16-bit PNGs as natively), with its EXIF orientation,
        // and refused from its header if its upscale would not fit in memory.
        const file = await encodedFile(input);
        if (file !== undefined) return finished(await this.#alive().upscaleEncoded(file.bytes, file.name, rest, tileCallback(onProgress, signal), rowsCallback));
        const pixels = await toPixels(input);
        const out = await this.#alive().upscale(rgbaBytes(pixels), pixels.width, pixels.height, rest, tileCallback(onProgress, signal), rowsCallback);
        return finished(out, pixels.notes);
      }),
    );
  }

  /**
   * Ground-truth mode: treat `input` as the high-resolution original, make its
   * low-resolution version with MATLAB's bicubic, upscale it back with bicubic
   * and with the model, and score both as the papers do (PSNR/SSIM on Y).
   * With `jpegQuality` the low-resolution image is first saved as a JPEG of
   * that quality (4:2:0, as cameras and browsers write it), as a photo is.
   */
  evaluate(input, options = {}) {
    const { scale = 2, jpegQuality, tileSize = 1024, onProgress, signal } = options;
    if (jpegQuality !== undefined && typeof jpegQuality !== "number") return Promise.reject(new TypeError(`jpegQuality must be a number from 1 to 100, not ${typeof jpegQuality}`));
    return this.#exclusive(() =>
      guard(signal, async () => {
        const pixels = await toPixels(input);
        const r = await this.#alive().evaluate(rgbaBytes(pixels), pixels.width, pixels.height, scale, jpegQuality, tileSize, tileCallback(onProgress, signal));
        const notes = pixels.notes?.length ? { notes: pixels.notes } : {};
        return { ...r, ...notes, hr: toImageData(r.hr), lr: toImageData(r.lr), bicubic: toImageData(r.bicubic), model: toImageData(r.model) };
      }),
    );
  }

  /** Every layer's activations for `input`, as gray grids of feature maps. */
  features(input, options = {}) {
    const { scale = 2, maxPixels = 512 * 512, maxChannels = 64 } = options;
    return this.#exclusive(() =>
      guard(undefined, async () => {
        const pixels = await toPixels(input);
        const maps = await this.#alive().features(rgbaBytes(pixels), pixels.width, pixels.height, scale, maxPixels, maxChannels);
        return maps.map((m) => ({ ...m, image: toImageData(m.image) }));
      }),
    );
  }

  /** The same image resized with MATLAB's bicubic, for comparisons. */
  bicubic(input, options = {}) {
    return resizeBicubic(input, options);
  }

  /** Release the model's memory (GPU buffers included). */
  dispose() {
    if (this.#core !== null) {
      this.#core.free();
      this.#core = null;
    }
  }

  /** Test hook: the next WebGPU tile fails as if the device had been lost. */
  _simulateDeviceLoss() {
    this.#alive().simulateDeviceLoss();
  }
}

export { createWorkerUpscaler } from "./worker-client.js";
export { SHIPPED_MODELS } from "./choices.js";
export { defaultWorkerCount } from "./worker-pool.js";
