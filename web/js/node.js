// upres for Node.js: the package's one implementation (index.js), given
// Node's file system, so that weights and the .wasm load from file paths and
// file: URLs. package.json's exports send Node here and every other runtime
// (browsers, bundlers) to index.js, which imports no Node module.

import { readFile } from "node:fs/promises";
import { useFileSystem } from "./platform.js";

useFileSystem({ readFile });

export * from "./index.js";
export { default } from "./index.js";
