// The tile overlap on the CPU path, in Node, one process: each shipped
// model's default overlap (info.defaultOverlap, from its receptive radius)
// against the former fixed 32, alternating call by call so that both see the
// same machine; warm calls, after one untimed call of each.
//
//   node tests/web/bench-overlap.mjs [--runs N]

import { readFileSync, readdirSync } from "node:fs";

const args = process.argv.slice(2);
const runs = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 5;
const pkg = new URL("../../pkg/", import.meta.url);
const { default: init, Upscaler } = await import(new URL("node.js", pkg));
await init();

const sizes = [256, 512];
console.log(`warm x2 upscale on the CPU in Node, ${runs} runs each (ms, median)\n`);
console.log("| model | receptive radius | default overlap | input | overlap 32 | default | default over 32 |");
console.log("|---|---|---|---|---|---|---|");
for (const file of readdirSync(new URL("weights/", pkg)).filter((f) => f.endsWith(".safetensors") && !f.startsWith("vdsr-reference")).sort()) {
  const up = await Upscaler.create({ weights: readFileSync(new URL(`weights/${file}`, pkg)), backend: "cpu" });
  const { receptiveRadius, defaultOverlap } = up.info;
  for (const size of sizes) {
    const image = { data: new Uint8ClampedArray(size * size * 4).map((_, i) => (i * 37) % 251), width: size, height: size };
    const variants = { fixed: { scale: 2, overlap: 32 }, model: { scale: 2 } };
    const times = { fixed: [], model: [] };
    for (const options of Object.values(variants)) await up.upscale(image, options);
    for (let run = 0; run < runs; run++) {
      for (const [name, options] of Object.entries(variants)) {
        const started = performance.now();
        await up.upscale(image, options);
        times[name].push(performance.now() - started);
      }
    }
    const median = (t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)];
    const [fixed, model] = [median(times.fixed), median(times.model)];
    console.log(`| ${file.replace(/\.f16\.safetensors$/, "")} | ${receptiveRadius} | ${defaultOverlap} | ${size}² | ${fixed.toFixed(0)} | ${model.toFixed(0)} | ${(model / fixed).toFixed(2)} |`);
  }
  up.dispose();
}
