// A pool of workers behind one upscaler: each worker has its own
// single-threaded wasm instance and copy of the model, and one upscale is
// split into bands that the workers run side by side (the `part` option of
// the wasm upscale: worker i runs bands i, i + n, i + 2n, ...). No
// SharedArrayBuffer: it works on any page, cross-origin isolated or not.

import { InvalidStateError, abortError } from "./errors.js";
import { platformThreads } from "./platform.js";
import { onRowsError } from "./choices.js";
import { REQUEST, wrapImage } from "./protocol.js";

/** The most workers one upscaler uses. */
export const MAX_WORKERS = 16;

// What one worker holds besides the image: its wasm instance and model
// (tens of MB), and a tile's activations: three f32 buffers of up to 64
// channels, at the tile's side in network-input pixels.
const WORKER_BASE_BYTES = 96e6;
const tileBytes = (tile) => 3 * 64 * 4 * tile * tile;

/**
 * The default pool size: one worker per core, at most 4, and no more than a
 * quarter of the device's memory (`navigator.deviceMemory`, where the
 * browser tells it) holds, at the tile size the upscales will use.
 */
export function defaultWorkerCount(cores = platformThreads()?.cores ?? globalThis.navigator?.hardwareConcurrency ?? 1, tileSize = 192) {
  // 192: the default tile (defaultTileSize(), which needs the wasm this thread does not load).
  const memory = globalThis.navigator?.deviceMemory;
  const byMemory = memory === undefined ? Infinity : Math.floor((memory * 2 ** 30) / 4 / (WORKER_BASE_BYTES + tileBytes(tileSize)));
  return Math.max(1, Math.min(cores, 4, byMemory));
}

/** The pool size asked for, checked. */
export function workerCount(workers, given, cores) {
  if (given !== undefined) {
    if (workers !== undefined && workers !== given) throw new TypeError(`workers (${workers}) and the ${given} worker(s) given in \`worker\` disagree: give one of them`);
    return given;
  }
  if (workers === undefined) return defaultWorkerCount(cores);
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new TypeError(`workers must be a whole number from 1 to ${MAX_WORKERS}, got ${workers}`);
  return workers;
}

// One input for several workers: a Blob or encoded bytes as they are (each
// worker decodes them itself, at once, so the decode costs no wall time),
// RGBA pixels copied to each; bitmaps, images and canvases read once here
// (an image once it has loaded, as one worker's upscale waits for it too).
async function sharedInput(input) {
  if (typeof HTMLImageElement !== "undefined" && input instanceof HTMLImageElement) await input.decode();
  const drawable = (typeof ImageBitmap !== "undefined" && input instanceof ImageBitmap)
    || (typeof HTMLImageElement !== "undefined" && input instanceof HTMLImageElement)
    || (typeof HTMLCanvasElement !== "undefined" && input instanceof HTMLCanvasElement)
    || (typeof OffscreenCanvas !== "undefined" && input instanceof OffscreenCanvas);
  if (!drawable) return input;
  const width = input.naturalWidth ?? input.width;
  const height = input.naturalHeight ?? input.height;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(input, 0, 0);
  return context.getImageData(0, 0, width, height);
}

function plainImage(input) {
  if (input && ArrayBuffer.isView(input.data) && typeof input.width === "number") return { data: input.data, width: input.width, height: input.height };
  return input;
}

/** Whether the wasm splits an upscale with these options into bands (an integer factor). */
function splittable(options) {
  return options.width === undefined && options.height === undefined && Number.isInteger(options.scale ?? 2);
}

/**
 * An upscaler over several workers. `first` is the WorkerUpscaler of the
 * first worker: evaluate, features, bicubic and what cannot be split into
 * bands (a non-integer scale, an exact size) run there.
 */
export class PooledUpscaler {
  #first;
  #members;
  #ownedWorkers;
  #count;
  #queue = Promise.resolve();

  /** `members`: `{ connection, id }` for each worker, the first worker's first. */
  constructor(first, members, ownedWorkers) {
    this.#first = first;
    this.#members = members;
    this.#count = members.length;
    this.#ownedWorkers = ownedWorkers;
  }

  get info() {
    return this.#first.info;
  }

  /** How many workers share the upscales. */
  get workers() {
    return this.#count;
  }

  upscale(input, options = {}) {
    const { signal, onProgress, onRows, transfer, ...rest } = options;
    if (!splittable(rest)) return this.#first.upscale(input, options);
    if (this.#members === null) return Promise.reject(new InvalidStateError("this Upscaler has been disposed"));
    // One upscale at a time: each takes every worker.
    const run = () => this.#pooled(input, rest, { signal, onProgress, onRows, transfer });
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #pooled(input, rest, { signal, onProgress, onRows, transfer }) {
    if (signal?.aborted) throw abortError(signal);
    const badRows = onRowsError(onRows);
    if (badRows) throw badRows;
    const members = this.#members;
    if (members === null) throw new InvalidStateError("this Upscaler has been disposed");
    const image = plainImage(await sharedInput(input));
    // An abort while the image was read fired before the listener below.
    if (signal?.aborted) throw abortError(signal);
    const of = members.length;
    const done = new Array(of).fill(0);
    let output = null;
    // With onRows, bands are handed on top to bottom as the workers finish them.
    const waiting = new Map();
    let nextTop = 0;
    const deliver = (rows, top, outputHeight) => {
      if (onRows === undefined) {
        // Each band is copied once, into the result.
        output ??= new Uint8ClampedArray(rows.width * outputHeight * 4);
        output.set(rows.data, top * rows.width * 4);
        return;
      }
      waiting.set(top, rows);
      while (waiting.has(nextTop)) {
        const band = waiting.get(nextTop);
        waiting.delete(nextTop);
        onRows(band, nextTop, outputHeight);
        nextTop += band.height;
      }
    };
    // `transfer: true`: the pixels are copied to all workers but the last, which gets the buffer itself.
    const last = transfer && ArrayBuffer.isView(image?.data) ? [image.data.buffer] : [];
    const calls = members.map(({ connection, id: upscaler }, index) =>
      connection.call(
        // The bicubic "before" is made once, by the first part.
        { type: "upscale", upscaler, input: image, options: { ...rest, bicubic: index === 0 && rest.bicubic === true, part: { index, of } }, rows: true },
        {
          transfer: index === of - 1 ? last : [],
          onProgress: (d, total) => {
            done[index] = d;
            onProgress?.(done.reduce((a, b) => a + b, 0), total);
          },
          onRows: deliver,
        },
      ),
    );
    const abortAll = () => calls.forEach((call, i) => members[i].connection.abort(call.id));
    signal?.addEventListener("abort", abortAll, { once: true });
    try {
      // The first failure stops the other workers within a tile.
      const settled = await Promise.allSettled(calls.map((c) => c.promise.catch((e) => {
        abortAll();
        throw e;
      })));
      const failed = settled.filter((s) => s.status === "rejected").map((s) => s.reason);
      if (failed.length > 0) throw failed.find((e) => e?.name !== "AbortError") ?? failed[0];
      const { value } = settled[0].value;
      const extra = {};
      if (value.modelScale !== undefined) extra.modelScale = value.modelScale;
      if (value.notes !== undefined) extra.notes = value.notes;
      if (value.bicubic !== undefined) extra.bicubic = wrapImage(value.bicubic);
      if (onRows !== undefined) return { width: value.width, height: value.height, ...extra };
      const result = typeof ImageData !== "undefined" ? new ImageData(output, value.width, value.height) : { data: output, width: value.width, height: value.height };
      return Object.assign(result, extra);
    } finally {
      signal?.removeEventListener("abort", abortAll);
    }
  }

  evaluate(input, options) {
    return this.#first.evaluate(input, options);
  }

  features(input, options) {
    return this.#first.features(input, options);
  }

  bicubic(input, options) {
    return this.#first.bicubic(input, options);
  }

  _simulateDeviceLoss() {
    return this.#first._simulateDeviceLoss();
  }

  dispose() {
    if (this.#members === null) return;
    this.#first.dispose();
    for (const { connection, id } of this.#members.slice(1)) connection.call({ type: REQUEST.dispose, upscaler: id });
    for (const worker of this.#ownedWorkers) worker.terminate();
    this.#members = null;
  }
}
