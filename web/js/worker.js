// The upres Web Worker: runs Upscalers off the main thread. Spoken to by
// worker-client.js (createWorkerUpscaler); pixels travel as transferred
// ArrayBuffers, never copied.

import init, { Upscaler, loadWeightsBytes, wasmModule } from "./index.js";

const upscalers = new Map();
const runs = new Map();

function errorMessage(e) {
  return { name: e?.name ?? "Error", message: e?.message ?? String(e) };
}

function transferablesOf(value, list = []) {
  if (value == null || typeof value !== "object") return list;
  if (ArrayBuffer.isView(value.data) && typeof value.width === "number") {
    list.push(value.data.buffer);
    if (value.bicubic !== undefined) transferablesOf(value.bicubic, list);
    return list;
  }
  if (Array.isArray(value)) value.forEach((v) => transferablesOf(v, list));
  else for (const v of Object.values(value)) transferablesOf(v, list);
  return list;
}

function plain(image) {
  const out = { data: image.data, width: image.width, height: image.height };
  if (image.modelScale !== undefined) out.modelScale = image.modelScale;
  if (image.notes !== undefined) out.notes = image.notes;
  if (image.bicubic !== undefined) out.bicubic = plain(image.bicubic);
  return out;
}

function plainResult(value) {
  if (value == null || typeof value !== "object") return value;
  if (ArrayBuffer.isView(value.data) && typeof value.width === "number") return plain(value);
  if (Array.isArray(value)) return value.map(plainResult);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainResult(v)]));
}

self.onmessage = async ({ data: msg }) => {
  const { id } = msg;
  const reply = (body, transfer = []) => self.postMessage({ id, ...body }, transfer);
  try {
    switch (msg.type) {
      case "create": {
        await init(msg.wasm);
        const weights = await loadWeightsBytes(msg.weights, {
          integrity: msg.integrity,
          onProgress: (loaded, total) => reply({ type: "download", loaded, total }),
        });
        const up = await Upscaler.create({ weights, backend: msg.backend });
        upscalers.set(msg.upscaler, up);
        // A pool's first worker hands the weights (a copy) and the compiled wasm on to the others.
        const share = msg.share ? { weights, wasm: wasmModule() } : {};
        reply({ type: "done", value: up.info, ...share });
        break;
      }
      case "upscale":
      case "evaluate":
      case "features":
      case "bicubic": {
        const up = upscalers.get(msg.upscaler);
        if (!up) throw Object.assign(new Error("this Upscaler has been disposed"), { name: "InvalidStateError" });
        const controller = new AbortController();
        runs.set(id, controller);
        try {
          const options = { ...msg.options, signal: controller.signal, onProgress: (done, total) => reply({ type: "progress", done, total }) };
          // Rows go to the page as they are finished, transferred: the worker keeps none.
          if (msg.rows) options.onRows = (rows, top, outputHeight) => reply({ type: "rows", data: rows.data, width: rows.width, height: rows.height, top, outputHeight }, [rows.data.buffer]);
          const value = plainResult(await up[msg.type](msg.input, options));
          reply({ type: "done", value, info: up.info }, transferablesOf(value));
        } finally {
          runs.delete(id);
        }
        break;
      }
      case "abort":
        runs.get(msg.run)?.abort();
        break;
      case "info":
        reply({ type: "done", value: upscalers.get(msg.upscaler)?.info });
        break;
      case "simulateDeviceLoss":
        upscalers.get(msg.upscaler)?._simulateDeviceLoss();
        reply({ type: "done" });
        break;
      case "dispose":
        upscalers.get(msg.upscaler)?.dispose();
        upscalers.delete(msg.upscaler);
        reply({ type: "done" });
        break;
      default:
        throw new Error(`unknown message type ${msg.type}`);
    }
  } catch (e) {
    reply({ type: "error", error: errorMessage(e) });
  }
};
