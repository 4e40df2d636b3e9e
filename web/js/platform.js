// What the package takes from its runtime where it is not a browser: the file
// system, and threads for createWorkerUpscaler. The
// browser entry (index.js) names no Node module, so every bundler takes it as
// it is; Node's entry (node.js, chosen by the "node" condition of the
// package's exports) installs Node's file system here before anything runs.

import { BackendError } from "./errors.js";

let fileSystem = null;

/** Called once by node.js: `{ readFile }` of `node:fs/promises`. */
export function useFileSystem(fs) {
  fileSystem = fs;
}

/** Node's `readFile`, or a clear error where index.js was loaded in Node.js without node.js. */
export function readFile(path, encoding) {
  if (fileSystem === null) {
    throw new BackendError('upres in Node.js reads files through its Node entry: import "upres" (or its node.js), not index.js, which is the browser entry');
  }
  return fileSystem.readFile(path, encoding);
}

let threads = null;

/** Called once by node.js: `{ cores, start(workerUrl?) }`, worker_threads behind the Web Worker interface. */
export function useThreads(t) {
  threads = t;
}

/** Node's worker threads where node.js installed them, else null (browsers have Web Workers). */
export function platformThreads() {
  return threads;
}
