// The upres worker (worker.js) in a Node.js worker_threads thread: Node's
// file system for the .wasm and weights, and `self` as worker.js expects it,
// over the thread's parentPort.

import { readFile } from "node:fs/promises";
import { parentPort } from "node:worker_threads";
import { useFileSystem } from "./platform.js";

useFileSystem({ readFile });
globalThis.self = {
  postMessage: (message, transfer) => parentPort.postMessage(message, transfer),
  set onmessage(handler) {
    parentPort.on("message", (data) => handler({ data }));
  },
};
await import("./worker.js");
