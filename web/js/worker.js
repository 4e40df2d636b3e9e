// The upres Web Worker: runs Upscalers off the main thread. Spoken to by
// worker-client.js (createWorkerUpscaler) in the messages of protocol.js;
// pixels travel as transferred ArrayBuffers, never copied.

import init, { Upscaler, loadWeightsBytes, wasmModule } from "./index.js";
import { REPLY, REQUEST, RUNS, errorMessage, plainResult, transferablesOf } from "./protocol.js";

const upscalers = new Map();
const runs = new Map();

self.onmessage = async ({ data: msg }) => {
  const { id } = msg;
  const reply = (body, transfer = []) => self.postMessage({ id, ...body }, transfer);
  try {
    if (RUNS.includes(msg.type)) {
      const up = upscalers.get(msg.upscaler);
      if (!up) throw Object.assign(new Error("this Upscaler has been disposed"), { name: "InvalidStateError" });
      const controller = new AbortController();
      runs.set(id, controller);
      try {
        const options = { ...msg.options, signal: controller.signal, onProgress: (done, total) => reply({ type: REPLY.progress, done, total }) };
        // Rows go to the page as they are finished, transferred: the worker keeps none.
        if (msg.rows) options.onRows = (rows, top, outputHeight) => reply({ type: REPLY.rows, data: rows.data, width: rows.width, height: rows.height, top, outputHeight }, [rows.data.buffer]);
        const value = plainResult(await up[msg.type](msg.input, options));
        reply({ type: REPLY.done, value, info: up.info }, transferablesOf(value));
      } finally {
        runs.delete(id);
      }
      return;
    }
    switch (msg.type) {
      case REQUEST.create: {
        await init(msg.wasm);
        const weights = await loadWeightsBytes(msg.weights, {
          integrity: msg.integrity,
          onProgress: (loaded, total) => reply({ type: REPLY.download, loaded, total }),
        });
        const up = await Upscaler.create({ weights, backend: msg.backend });
        upscalers.set(msg.upscaler, up);
        // A pool's first worker hands the weights (a copy) and the compiled wasm on to the others.
        const share = msg.share ? { weights, wasm: wasmModule() } : {};
        reply({ type: REPLY.done, value: up.info, ...share });
        break;
      }
      case REQUEST.abort:
        runs.get(msg.run)?.abort();
        break;
      case REQUEST.simulateDeviceLoss:
        upscalers.get(msg.upscaler)?._simulateDeviceLoss();
        reply({ type: REPLY.done });
        break;
      case REQUEST.dispose:
        upscalers.get(msg.upscaler)?.dispose();
        upscalers.delete(msg.upscaler);
        reply({ type: REPLY.done });
        break;
      default:
        throw new Error(`unknown message type ${msg.type}`);
    }
  } catch (e) {
    reply({ type: REPLY.error, error: errorMessage(e) });
  }
};
