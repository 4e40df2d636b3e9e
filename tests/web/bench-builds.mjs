// The two builds of the wasm on the CPU path, in Node: the same upscale
// with upres_core_bg.wasm (WebGPU and the CPU) and upres_cpu_bg.wasm (the
// CPU only), each build in a process of its own, alternating, so that both
// see the same machine.
//
//   node tests/web/bench-builds.mjs [--runs N]

import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";

const args = process.argv.slice(2);
const runs = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 3;
const pkg = new URL("../../pkg/", import.meta.url);
const CASES = [
  { weights: "sesr-m5-x2.f16.safetensors", size: 512 },
  { weights: "vdsr-small-x2.f16.safetensors", size: 256 },
];

if (process.env.UPRES_BENCH_BUILD) {
  // The child: one build, every case, warm runs after a first call.
  const { default: init, Upscaler } = await import(new URL("node.js", pkg));
  const build = process.env.UPRES_BENCH_BUILD;
  await init({ [build]: readFileSync(new URL(build === "cpu" ? "upres_cpu_bg.wasm" : "upres_core_bg.wasm", pkg)) });
  const times = {};
  for (const { weights, size } of CASES) {
    const up = await Upscaler.create({ weights: readFileSync(new URL(`weights/${weights}`, pkg)), backend: "cpu" });
    const data = new Uint8ClampedArray(size * size * 4).map((_, i) => (i * 37) % 251);
    const image = { data, width: size, height: size };
    await up.upscale(image, { scale: 2 });
    const started = performance.now();
    await up.upscale(image, { scale: 2 });
    times[weights] = performance.now() - started;
    up.dispose();
  }
  console.log(JSON.stringify(times));
} else {
  const builds = ["webgpu", "cpu"];
  const results = Object.fromEntries(builds.map((b) => [b, []]));
  for (let run = 0; run < runs; run++) {
    for (const build of builds) {
      const out = execFileSync(process.execPath, [new URL(import.meta.url).pathname], { env: { ...process.env, UPRES_BENCH_BUILD: build }, encoding: "utf8" });
      results[build].push(JSON.parse(out.trim().split("\n").pop()));
    }
  }
  const mb = (n) => (n / 1e6).toFixed(2);
  for (const [build, file] of [["webgpu", "upres_core_bg.wasm"], ["cpu", "upres_cpu_bg.wasm"]]) {
    const bytes = readFileSync(new URL(file, pkg));
    console.log(`${file}: ${mb(statSync(new URL(file, pkg)).size)} MB, ${mb(gzipSync(bytes, { level: 9 }).length)} MB gzipped`);
  }
  console.log(`\nwarm upscale on the CPU in Node, ${runs} runs each (ms, mean)\n`);
  console.log("| model, input x2 | WebGPU build | CPU-only build | CPU-only time over WebGPU build's |");
  console.log("|---|---|---|---|");
  for (const { weights, size } of CASES) {
    const mean = (b) => results[b].reduce((a, r) => a + r[weights], 0) / runs;
    console.log(`| ${weights.replace(/\.f16\.safetensors$/, "")}, ${size}² | ${mean("webgpu").toFixed(0)} | ${mean("cpu").toFixed(0)} | ${(mean("cpu") / mean("webgpu")).toFixed(2)} |`);
  }
}
