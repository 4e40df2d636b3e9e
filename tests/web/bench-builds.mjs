// The two builds of the wasm on the CPU path, in Node: the same upscale
// with upres_core_bg.wasm (WebGPU and the CPU) and upres_cpu_bg.wasm (the
// CPU only), each build in a process of its own, alternating, so that both
// see the same machine.
//
//   node tests/web/bench-builds.mjs [--runs N]
//
// --against DIR (a copy of another build's www/pkg, put in www/DIR): the
// WebGPU build of www/pkg against that one's in headless Chromium instead,
// on SwiftShader's WebGPU, each run in a fresh browser, alternating: init
// (fetch and compile), then per model the first upscale (cubecl generating
// its kernels) and the warm one. This is how the size-built WebGPU wasm was
// checked for speed (BENCHMARKS.md, "Wasm size").

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

if (args.includes("--against")) {
  await againstInChromium(args[args.indexOf("--against") + 1]);
} else if (process.env.UPRES_BENCH_BUILD) {
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

async function againstInChromium(other) {
  const { launch, startServer } = await import("./helpers.mjs");
  const { server, url } = await startServer();
  const cases = [["sesr-m5-x2", 64], ["vdsr-small-x2", 48]];
  const dirs = [other, "pkg"];
  const results = Object.fromEntries(dirs.map((d) => [d, []]));
  for (let run = 0; run < runs; run++) {
    for (const dir of dirs) {
      const browser = await launch({ webgpu: true });
      const page = await browser.newPage();
      await page.goto(`${url}index.html`);
      results[dir].push(await page.evaluate(async ({ dir, cases }) => {
        const { default: init, Upscaler, wasmModule } = await import(`/${dir}/index.js`);
        let started = performance.now();
        await init();
        const times = { init: performance.now() - started, build: Object.keys(wasmModule())[0] };
        for (const [name, size] of cases) {
          const up = await Upscaler.create({ weights: `/${dir}/weights/${name}.f16.safetensors`, backend: "webgpu" });
          const image = new ImageData(new Uint8ClampedArray(size * size * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 251)), size, size);
          started = performance.now();
          await up.upscale(image, { scale: 2 });
          times[`${name} first`] = performance.now() - started;
          started = performance.now();
          await up.upscale(image, { scale: 2 });
          times[`${name} warm`] = performance.now() - started;
          up.dispose();
        }
        return times;
      }, { dir, cases }));
      await browser.close();
    }
  }
  server.close();
  const columns = ["init", ...cases.flatMap(([name]) => [`${name} first`, `${name} warm`])];
  console.log(`\nWebGPU backend (SwiftShader), ${runs} runs each (ms, mean); inputs ${cases.map(([n, s]) => `${n} ${s}²`).join(", ")} x2\n`);
  console.log(`| build | ${columns.join(" | ")} |`);
  console.log(`|---|${columns.map(() => "---").join("|")}|`);
  for (const dir of dirs) {
    if (results[dir].some((r) => r.build !== "webgpu")) throw new Error(`www/${dir} did not load its WebGPU build`);
    console.log(`| www/${dir} | ${columns.map((c) => (results[dir].reduce((a, r) => a + r[c], 0) / runs).toFixed(0)).join(" | ")} |`);
  }
}
