// upres for Node.js: the package's one implementation (index.js), given
// Node's file system, so that weights and the .wasm load from file paths and
// file: URLs, and worker_threads for createWorkerUpscaler. package.json's
// exports send Node here and every other runtime (browsers, bundlers) to
// index.js, which imports no Node module.

import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { useFileSystem, useThreads } from "./platform.js";

useFileSystem({ readFile });

/**
 * A worker_threads Worker running node-worker.js, with the part of the Web
 * Worker interface that createWorkerUpscaler speaks: message and error
 * listeners, postMessage with a transfer list, terminate.
 */
class ThreadWorker {
  #thread;
  #listeners = { message: [], error: [] };

  constructor(url) {
    this.#thread = new Worker(url);
    this.#thread.on("message", (data) => this.#listeners.message.forEach((f) => f({ data })));
    this.#thread.on("error", (e) => this.#listeners.error.forEach((f) => f({ message: e.message })));
  }

  addEventListener(type, listener) {
    this.#listeners[type]?.push(listener);
  }

  postMessage(message, transfer = []) {
    this.#thread.postMessage(message, transfer);
  }

  terminate() {
    this.#thread.terminate();
  }
}

useThreads({
  cores: availableParallelism(),
  start: (workerUrl) => new ThreadWorker(workerUrl ?? new URL("./node-worker.js", import.meta.url)),
});

export * from "./index.js";
export { default } from "./index.js";
