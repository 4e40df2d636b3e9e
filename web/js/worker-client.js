// createWorkerUpscaler: the Upscaler API, with the work in a Web Worker so
// the page never freezes.

import { BackendError, abortError, errorFrom } from "./errors.js";
import { PooledUpscaler, workerCount } from "./worker-pool.js";
import { platformThreads } from "./platform.js";
import { isBuildChoice, isModelName, onRowsError, weightsOrDefault } from "./choices.js";
import { REPLY, REQUEST, newId, wrapImage } from "./protocol.js";

export { SHIPPED_MODELS } from "./choices.js";

class WorkerConnection {
  constructor(worker) {
    this.worker = worker;
    this.pending = new Map();
    // Listeners, not `onmessage`: a second connection to the same worker adds its own.
    worker.addEventListener("message", ({ data }) => {
      const p = this.pending.get(data.id);
      if (!p) return;
      if (data.type === REPLY.progress) p.onProgress?.(data.done, data.total);
      else if (data.type === REPLY.rows) p.onRows?.(wrapImage({ data: data.data, width: data.width, height: data.height }), data.top, data.outputHeight);
      else if (data.type === REPLY.download) p.onDownload?.(data.loaded, data.total);
      else {
        this.pending.delete(data.id);
        if (data.type === REPLY.error) p.reject(errorFrom(data.error));
        else p.resolve(data);
      }
    });
    worker.addEventListener("error", (event) => {
      const error = new BackendError(`the upres worker failed: ${event.message || "it could not be loaded (check workerUrl)"}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
  }

  call(message, { transfer = [], onProgress, onDownload, onRows } = {}) {
    const id = newId();
    return {
      id,
      promise: new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject, onProgress, onDownload, onRows });
        this.worker.postMessage({ ...message, id }, transfer);
      }),
    };
  }

  /** Stop the call `id` within a tile; it rejects with an AbortError. */
  abort(id) {
    this.worker.postMessage({ type: REQUEST.abort, id: newId(), run: id });
  }
}

// Pixels go to the worker as one RGBA buffer. ImageBitmaps are transferred;
// ImageData is copied unless `transfer: true` (its buffer is then detached).
async function prepareInput(input, transfer) {
  if (typeof ImageBitmap !== "undefined" && input instanceof ImageBitmap) return { input, transfer: [input] };
  if (typeof Blob !== "undefined" && input instanceof Blob) return { input, transfer: [] };
  if (input && ArrayBuffer.isView(input.data) && typeof input.width === "number") {
    const data = transfer ? input.data : input.data.slice();
    return { input: { data, width: input.width, height: input.height }, transfer: [data.buffer] };
  }
  if (typeof HTMLImageElement !== "undefined" && input instanceof HTMLImageElement) {
    await input.decode();
    const bitmap = await createImageBitmap(input);
    return { input: bitmap, transfer: [bitmap] };
  }
  if ((typeof HTMLCanvasElement !== "undefined" && input instanceof HTMLCanvasElement) || (typeof OffscreenCanvas !== "undefined" && input instanceof OffscreenCanvas)) {
    const bitmap = await createImageBitmap(input);
    return { input: bitmap, transfer: [bitmap] };
  }
  if (input instanceof ArrayBuffer || input instanceof Uint8Array) return { input, transfer: [] };
  throw new TypeError("input must be ImageData, an ImageBitmap, an HTMLImageElement, a canvas, a Blob or encoded image bytes");
}

class WorkerUpscaler {
  #connection;
  #id;
  #info;
  #ownsWorker;

  constructor(connection, id, info, ownsWorker) {
    this.#connection = connection;
    this.#id = id;
    this.#info = info;
    this.#ownsWorker = ownsWorker;
  }

  get info() {
    return Object.freeze(this.#info);
  }

  /** How many workers share the upscales: this one. */
  get workers() {
    return 1;
  }

  async #run(type, input, options = {}) {
    const { signal, onProgress, onRows, transfer: transferInput, ...rest } = options;
    if (signal?.aborted) throw abortError(signal);
    const badRows = onRowsError(onRows);
    if (badRows) throw badRows;
    const prepared = await prepareInput(input, transferInput);
    // An abort while the input was read fired before the listener below.
    if (signal?.aborted) throw abortError(signal);
    const message = { type, upscaler: this.#id, input: prepared.input, options: rest, rows: onRows !== undefined };
    const { id, promise } = this.#connection.call(message, { transfer: prepared.transfer, onProgress, onRows });
    const onAbort = () => this.#connection.abort(id);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const reply = await promise;
      this.#info = reply.info ?? this.#info;
      return wrapImage(reply.value);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  upscale(input, options) {
    return this.#run("upscale", input, options);
  }
  evaluate(input, options) {
    return this.#run("evaluate", input, options);
  }
  features(input, options) {
    return this.#run("features", input, options);
  }

  bicubic(input, options) {
    return this.#run("bicubic", input, options);
  }

  async _simulateDeviceLoss() {
    await this.#connection.call({ type: REQUEST.simulateDeviceLoss, upscaler: this.#id }).promise;
  }

  dispose() {
    this.#connection.call({ type: REQUEST.dispose, upscaler: this.#id });
    if (this.#ownsWorker) this.#connection.worker.terminate();
  }
}

/**
 * Like `Upscaler.create`, but the model lives in Web Workers: same options,
 * same methods (all asynchronous), and the page stays responsive. With
 * `workers` above 1 (the default: one per core, up to 4) each worker holds
 * its own copy of the model and an upscale is split among them.
 */
export async function createWorkerUpscaler(options) {
  const weights = weightsOrDefault(options, "createWorkerUpscaler");
  const { backend = "auto", onDownloadProgress, worker, workerUrl, wasm, integrity, workers } = options;
  // In Node (through node.js) worker_threads stand in for Web Workers.
  const threads = platformThreads();
  if (typeof Worker === "undefined" && threads === null) {
    throw new BackendError("createWorkerUpscaler needs Web Workers, which this runtime lacks (in Node.js import \"upres\", whose Node entry runs it on worker_threads): use `Upscaler.create` here");
  }
  const given = worker === undefined ? undefined : Array.isArray(worker) ? worker : [worker];
  if (given !== undefined && (given.length === 0 || given.some((w) => typeof w?.postMessage !== "function"))) {
    throw new TypeError("worker must be a Worker made from upres's worker.js, or an array of them");
  }
  const count = workerCount(workers, given?.length, threads?.cores);
  // `workerUrl`: where the app serves upres's worker.js. The default stays the
  // literal `new Worker(new URL("./worker.js", import.meta.url))`: the form
  // bundlers (Vite, webpack 5) recognise and bundle the worker from.
  const makeWorker = () =>
    threads !== null
      ? threads.start(workerUrl)
      : workerUrl !== undefined
      ? new Worker(workerUrl, { type: "module", name: "upres" })
      : new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "upres" });
  const owned = [];
  const workerAt = (i) => {
    if (given !== undefined) return given[i];
    const w = makeWorker();
    owned.push(w);
    return w;
  };
  const resolvedUrl = (u) => (u instanceof URL ? u.href : typeof u === "string" ? new URL(u, globalThis.location?.href).href : u);
  // `wasm` may be `{ webgpu, cpu }`: each build's URL resolved here, against the page.
  const resolved = (u) => (isBuildChoice(u) ? Object.fromEntries(Object.entries(u).map(([k, v]) => [k, resolvedUrl(v)])) : resolvedUrl(u));
  const create = async (connection, message, onDownload) => {
    const upscaler = newId();
    // `wasm`: the .wasm's URL (or a WebAssembly.Module, or its bytes), or `{ webgpu, cpu }`, as for `init(wasm)`.
    const full = { type: REQUEST.create, upscaler, ...(wasm !== undefined ? { wasm: resolved(wasm) } : {}), ...message };
    const reply = await connection.call(full, { onDownload }).promise;
    return { connection, id: upscaler, reply };
  };
  try {
    // The first worker downloads the weights (or reads them from the cache)
    // and the wasm, and hands both to the others: a pool fetches each once.
    const first = await create(
      new WorkerConnection(workerAt(0)),
      {
        backend,
        // Bare model names ("edsr-small-x2") are resolved in the worker, against the package.
        weights: isModelName(weights) ? weights : resolved(weights),
        ...(integrity !== undefined ? { integrity } : {}),
        share: count > 1,
      },
      onDownloadProgress,
    );
    const info = first.reply.value;
    // Workers share the CPU's cores; a GPU is one device, which one worker drives.
    const poolSize = info.backend === "cpu" ? count : 1;
    const single = new WorkerUpscaler(first.connection, first.id, info, poolSize === 1 && given === undefined);
    if (poolSize === 1) {
      for (const w of owned.slice(1)) w.terminate();
      return single;
    }
    const others = await Promise.all(
      Array.from({ length: poolSize - 1 }, (_, i) => create(new WorkerConnection(workerAt(i + 1)), { backend: "cpu", weights: first.reply.weights, ...(first.reply.wasm ? { wasm: first.reply.wasm } : {}) })),
    );
    return new PooledUpscaler(single, [first, ...others], owned);
  } catch (e) {
    for (const w of owned) w.terminate();
    throw e;
  }
}
