// Builds the npm package `upres` into pkg/: wasm-pack for the Rust side,
// binaryen's wasm-opt when it is installed, then the JavaScript wrapper,
// its types, the package README and the shipped weights.
//
//   node web/build.mjs [--dev] [--weights DIR]

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = join(root, "pkg");
const args = process.argv.slice(2);
const dev = args.includes("--dev");
const weightsDir = args.includes("--weights") ? resolve(args[args.indexOf("--weights") + 1]) : join(root, "weights", "dist");

function run(cmd, argv, env = {}) {
  console.error(`$ ${cmd} ${argv.join(" ")}`);
  execFileSync(cmd, argv, { stdio: "inherit", cwd: root, env: { ...process.env, ...env } });
}

rmSync(pkg, { recursive: true, force: true });

const wasmOpt = [join(root, "node_modules", ".bin", "wasm-opt"), "wasm-opt"].find((p) => {
  try {
    execFileSync(p, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});
if (!wasmOpt && !dev) console.error("wasm-opt not found (npm install binaryen): the .wasm is not optimised further");

/**
 * One build of the wasm into pkg/ as `${name}.js` and `${name}_bg.wasm`, with
 * a cargo profile and cargo's `features` arguments; returns its sizes. Two
 * builds ship: upres_core (WebGPU and the CPU, built for size) and upres_cpu
 * (the CPU only, for pages without WebGPU and for Node: cubecl's kernel
 * generators are most of the other's code).
 */
function buildWasm(name, profile, cargoArgs, optLevel) {
  // Each build in a folder of its own (wasm-pack may clear its out-dir), then beside the other.
  const out = join(root, "target-wasm-pack", name);
  rmSync(out, { recursive: true, force: true });
  run("wasm-pack", ["build", "web", ...(dev ? ["--dev"] : profile === "release" ? ["--release"] : ["--profile", profile]), "--target", "web", "--out-dir", out, "--out-name", name, "--no-pack", ...(cargoArgs.length > 0 ? ["--", ...cargoArgs] : [])]);
  mkdirSync(pkg, { recursive: true });
  for (const f of [`${name}.js`, `${name}.d.ts`, `${name}_bg.wasm`, `${name}_bg.wasm.d.ts`]) cpSync(join(out, f), join(pkg, f));
  rmSync(join(root, "target-wasm-pack"), { recursive: true, force: true });
  // wasm-bindgen keeps the compiled WebAssembly.Module in a variable of its
  // glue; exported, a worker pool's first worker hands it to the others, which
  // then neither fetch nor compile the .wasm again.
  const glue = join(pkg, `${name}.js`);
  const glueText = readFileSync(glue, "utf8");
  if (!/^let wasmModule, wasmInstance, wasm;$/m.test(glueText)) throw new Error(`${name}.js no longer keeps \`wasmModule\` as this build expects: update web/build.mjs for this wasm-bindgen`);
  writeFileSync(glue, `${glueText}\n// Added by web/build.mjs: the compiled module, once init has run.\nexport { wasmModule as __upres_wasm_module };\n`);
  const wasmFile = join(pkg, `${name}_bg.wasm`);
  const beforeOpt = statSync(wasmFile).size;
  if (wasmOpt && !dev) {
    // The features rustc enables for wasm32 by default, plus SIMD (.cargo/config.toml).
    run(wasmOpt, [...optLevel, "--enable-simd", "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue", wasmFile, "-o", wasmFile]);
  }
  return { file: `${name}_bg.wasm`, wasm: statSync(wasmFile).size, wasmBeforeOpt: beforeOpt, wasmGzip: gzipSync(readFileSync(wasmFile), { level: 9 }).length };
}

// The WebGPU build for size, the CPU-only one for speed: see the
// `wasm-webgpu` profile in Cargo.toml.
// wasm-opt: the WebGPU build for size too (-Oz, to a fixed point: 1.49 MB
// gzipped where -O2 gives 1.50), the CPU-only one for speed (-O2).
const builds = [buildWasm("upres_core", "wasm-webgpu", [], ["-Oz", "--converge"]), buildWasm("upres_cpu", "release", ["--no-default-features"], ["-O2"])];

for (const f of ["index.js", "node.js", "platform.js", "weights-download.js", "index.d.ts", "errors.js", "choices.js", "protocol.js", "worker.js", "worker-client.js", "worker-pool.js", "node-worker.js", "README.md"]) cpSync(join(root, "web", "js", f), join(pkg, f));
writeFileSync(join(pkg, "worker.d.ts"), "// The module worker behind createWorkerUpscaler; see index.d.ts.\nexport {};\n");

const shipped = [];
if (existsSync(weightsDir)) {
  mkdirSync(join(pkg, "weights"), { recursive: true });
  for (const f of readdirSync(weightsDir).filter((f) => f.endsWith(".safetensors"))) {
    cpSync(join(weightsDir, f), join(pkg, "weights", f));
    shipped.push(f);
  }
}

// weights/index.json: what each shipped file is, so a page can list the
// models without downloading them. Read through the package itself
// (readWeightsInfo, in the wasm just built), so the facts derived from a
// model's config (its input, its multiply-adds per pixel) come from the Rust
// side, also for files written before the metadata carried them.
const { readWeightsInfo } = await import(pathToFileURL(join(pkg, "node.js")).href);
// What a model is for, from the recipe it was trained with: "gan" (an
// adversarial loss), "photo" (degraded inputs: data.degradation), else
// "clean" (the papers' bicubic downscales; imported weights too). The
// package's { scale, kind } and the demo's menu groups read it.
function modelKind(provenance) {
  const recipe = provenance?.training_config;
  if (recipe?.gan) return "gan";
  if (recipe?.data?.degradation) return "photo";
  return "clean";
}
// The paper's configuration each file is (upres_models::presets) and that
// paper's Set5 PSNR. Files say it since save_weights writes it; for those
// written before, the native trainer recognises it from the config (the
// wasm leaves presets out: their table and a map of floats cost 3 kB of
// the WebGPU build's gzip budget).
const trainer = process.env.UPRES_TRAINER ?? join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, ".cache", "upres-target"), "release", "trainer");
function nativeInfo(file) {
  return JSON.parse(execFileSync(trainer, ["info", "--json", file], { encoding: "utf8" }));
}
async function weightsMetadata(file) {
  const bytes = readFileSync(file);
  const info = await readWeightsInfo(new Uint8Array(bytes));
  const native = nativeInfo(file);
  return {
    file: file.split("/").pop(),
    bytes: bytes.length,
    arch: info.arch,
    config: info.config,
    // The paper's configuration (upres_models::presets), and its Set5 PSNR.
    preset: native.preset ?? null,
    publishedSet5: native.published_set5,
    scales: info.scales,
    colorSpace: info.colorSpace,
    input: info.input,
    params: info.params,
    macsPerLrPixel: info.macsPerLrPixel,
    dtype: info.dtype,
    provenance: info.provenance,
    kind: modelKind(info.provenance),
    // Subresource Integrity of the file: a browser that cached it loads it again with no request.
    integrity: `sha256-${createHash("sha256").update(bytes).digest("base64")}`,
  };
}
if (shipped.length > 0) {
  const index = await Promise.all(shipped.sort().map((f) => weightsMetadata(join(pkg, "weights", f))));
  writeFileSync(join(pkg, "weights", "index.json"), JSON.stringify(index, null, 2) + "\n");
}

const workspace = readFileSync(join(root, "Cargo.toml"), "utf8");
const version = /\[workspace\.package\][^[]*?version\s*=\s*"([^"]+)"/.exec(workspace)[1];
const manifest = {
  name: "upres",
  version,
  description: "Super-resolution (SRCNN, FSRCNN, SESR, VDSR, EDSR, SRResNet) in the browser through WebGPU, with a CPU (wasm SIMD) fallback, and in Node.js",
  license: "MIT OR Apache-2.0",
  type: "module",
  main: "./index.js",
  module: "./index.js",
  types: "./index.d.ts",
  exports: {
    // Node gets node.js (index.js with Node's file system); browsers and
    // bundlers get index.js, which imports no Node module.
    ".": { types: "./index.d.ts", node: "./node.js", default: "./index.js" },
    "./worker": { types: "./worker.d.ts", default: "./worker.js" },
    "./upres_core_bg.wasm": "./upres_core_bg.wasm",
    "./upres_cpu_bg.wasm": "./upres_cpu_bg.wasm",
    "./weights/*": "./weights/*",
    "./package.json": "./package.json",
  },
  files: ["index.js", "node.js", "platform.js", "weights-download.js", "index.d.ts", "errors.js", "choices.js", "protocol.js", "worker.js", "worker.d.ts", "worker-client.js", "worker-pool.js", "node-worker.js", "upres_core.js", "upres_core.d.ts", "upres_core_bg.wasm", "upres_core_bg.wasm.d.ts", "upres_cpu.js", "upres_cpu.d.ts", "upres_cpu_bg.wasm", "upres_cpu_bg.wasm.d.ts", "weights/", "README.md"],
  sideEffects: ["./worker.js", "./node.js", "./node-worker.js"],
  engines: { node: ">=20" },
  keywords: ["super-resolution", "upscale", "webgpu", "wasm", "vdsr", "edsr", "srcnn", "fsrcnn", "sesr"],
};
writeFileSync(join(pkg, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
rmSync(join(pkg, ".gitignore"), { force: true });

// Sizes in 10^6 bytes, as BENCHMARKS.md gives them.
const mb = (n) => (n / 1e6).toFixed(2) + " MB";
const report = { wasmOpt: Boolean(wasmOpt && !dev), builds, weights: Object.fromEntries(shipped.map((f) => [f, statSync(join(pkg, "weights", f)).size])) };
writeFileSync(join(pkg, "build-report.json"), JSON.stringify(report, null, 2) + "\n");
for (const b of builds) console.error(`pkg/: ${b.file} ${mb(b.wasm)} (before wasm-opt ${mb(b.wasmBeforeOpt)}), gzip ${mb(b.wasmGzip)}`);
console.error(`pkg/ weights: ${shipped.join(", ") || "none"}`);
