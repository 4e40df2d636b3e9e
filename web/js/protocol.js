// The messages between the page and an upres worker, written down once (as
// onnxruntime-web's proxy-messages.ts does). The page side is
// worker-client.js and worker-pool.js; the worker side is worker.js. Pixels
// travel as transferred ArrayBuffers, never copied.
//
// Requests (page -> worker). Each carries an `id` that is unique across
// connections, so several upscalers can share one worker and each
// connection only answers the calls it made:
//
//   { type: "create", id, upscaler, weights, backend, wasm?, integrity?, share? }
//       Load the wasm and the weights, make Upscaler `upscaler`. With
//       `share`, the reply hands on the weights bytes and the compiled wasm
//       (a pool's first worker to the others).
//   { type: "upscale" | "evaluate" | "features" | "bicubic", id, upscaler, input, options, rows }
//       Run the method of that name; with `rows`, finished rows are sent as
//       they come ("rows" replies) and not kept in the worker.
//   { type: "abort", id, run }            Abort the run whose request id is `run`.
//   { type: "simulateDeviceLoss", id, upscaler }   Test hook: the next GPU tile fails.
//   { type: "dispose", id, upscaler }
//
// Replies (worker -> page), each with the request's `id`:
//
//   { type: "download", loaded, total }    weights download progress (create)
//   { type: "progress", done, total }      tiles done (runs)
//   { type: "rows", data, width, height, top, outputHeight }   finished rows (runs with `rows`)
//   { type: "done", value, info?, weights?, wasm? }             the result; `info` after a run
//   { type: "error", error: { name, message } }                 rebuilt as the named Error on the page

/** Request types. */
export const REQUEST = Object.freeze({
  create: "create",
  abort: "abort",
  simulateDeviceLoss: "simulateDeviceLoss",
  dispose: "dispose",
});

/** The request types that run one of the Upscaler's methods of that name. */
export const RUNS = Object.freeze(["upscale", "evaluate", "features", "bicubic"]);

/** Reply types. */
export const REPLY = Object.freeze({
  download: "download",
  progress: "progress",
  rows: "rows",
  done: "done",
  error: "error",
});

let nextId = 1;

/** A new request or Upscaler id, unique in this page. */
export function newId() {
  return nextId++;
}

/** An error as it crosses to the page: its class name and message. */
export function errorMessage(e) {
  return { name: e?.name ?? "Error", message: e?.message ?? String(e) };
}

const isImage = (value) => value != null && ArrayBuffer.isView(value.data) && typeof value.width === "number";

/** The buffers of the images in a result, to transfer rather than copy. */
export function transferablesOf(value, list = []) {
  if (value == null || typeof value !== "object") return list;
  if (isImage(value)) {
    list.push(value.data.buffer);
    if (value.bicubic !== undefined) transferablesOf(value.bicubic, list);
    return list;
  }
  if (Array.isArray(value)) value.forEach((v) => transferablesOf(v, list));
  else for (const v of Object.values(value)) transferablesOf(v, list);
  return list;
}

function plainImage(image) {
  const out = { data: image.data, width: image.width, height: image.height };
  if (image.modelScale !== undefined) out.modelScale = image.modelScale;
  if (image.notes !== undefined) out.notes = image.notes;
  if (image.bicubic !== undefined) out.bicubic = plainImage(image.bicubic);
  return out;
}

/** A result with its images as plain objects, which structured clone can send (worker side). */
export function plainResult(value) {
  if (value == null || typeof value !== "object") return value;
  if (isImage(value)) return plainImage(value);
  if (Array.isArray(value)) return value.map(plainResult);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainResult(v)]));
}

/** Images from a worker as ImageData (in browsers), with what they carry (page side). */
export function wrapImage(image) {
  if (isImage(image) && typeof ImageData !== "undefined") {
    const out = new ImageData(image.data, image.width, image.height);
    if (image.modelScale !== undefined) out.modelScale = image.modelScale;
    if (image.notes !== undefined) out.notes = image.notes;
    if (image.bicubic !== undefined) out.bicubic = wrapImage(image.bicubic);
    return out;
  }
  if (Array.isArray(image)) return image.map(wrapImage);
  if (image && typeof image === "object" && !ArrayBuffer.isView(image)) {
    return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, wrapImage(v)]));
  }
  return image;
}
