// docs/photo-comparison.png: why the photo models exist, in one picture.
// A Set14 image downscaled x2 with MATLAB's bicubic and saved as a JPEG
// (the package's evaluate({ jpegQuality }), the LR of `trainer eval
// --degrade jpeg:Q`), then restored by bicubic, the clean model and the
// photo model; a crop of each beside the original, left to right, each
// pixel drawn as 2x2. Prints each panel's Y-PSNR on the whole image.
//
//   node tools/photo_comparison.mjs [IMAGE.png] [--quality Q] [--crop X,Y,SIDE] [--out FILE]
//
// Needs the package built (`make pkg`) and ../shared/data.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Upscaler, decodeImage, encodePng } from "../pkg/node.js";
import { SHIPPED_MODELS } from "../pkg/worker-client.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const data = resolve(process.env.UPRES_DATA ?? join(root, "..", "shared", "data"));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const file = args[0] && !args[0].startsWith("--") ? args[0] : join(data, "benchmark", "Set14", "HR", "lenna.png");
const quality = Number(option("--quality", "50"));
const [cropX, cropY, side] = option("--crop", "250,230,96").split(",").map(Number);
const out = option("--out", join(root, "docs", "photo-comparison.png"));
const ZOOM = 2;
const GAP = 4;

const image = await decodeImage(readFileSync(file));
const panels = [];
for (const kind of ["clean", "photo"]) {
  const up = await Upscaler.create({ scale: 2, kind, backend: "cpu" });
  const r = await up.evaluate(image, { scale: 2, jpegQuality: quality });
  if (kind === "clean") panels.push({ label: `bicubic of the JPEG`, image: r.bicubic, psnr: r.bicubicQuality.psnr });
  panels.push({ label: `${SHIPPED_MODELS[kind][2]} (${kind})`, image: r.model, psnr: r.modelQuality.psnr });
  if (kind === "photo") panels.push({ label: "original", image: r.hr });
  up.dispose();
}

// The crops side by side on white, each pixel as ZOOM x ZOOM.
const cell = side * ZOOM;
const width = panels.length * cell + (panels.length - 1) * GAP;
const canvas = { data: new Uint8ClampedArray(width * cell * 4).fill(255), width, height: cell };
panels.forEach((p, i) => {
  for (let y = 0; y < cell; y++) {
    for (let x = 0; x < cell; x++) {
      const from = ((cropY + Math.floor(y / ZOOM)) * p.image.width + cropX + Math.floor(x / ZOOM)) * 4;
      const to = (y * width + i * (cell + GAP) + x) * 4;
      canvas.data.set(p.image.data.subarray(from, from + 3), to);
    }
  }
  const score = p.psnr === undefined ? "" : `: ${p.psnr.toFixed(2)} dB (Y-PSNR of the whole image)`;
  console.log(`${i + 1}. ${p.label}${score}`);
});
writeFileSync(out, await encodePng(canvas));
console.log(`${out}: ${file.split("/").pop()}, x2, JPEG quality ${quality}, crop ${side}x${side} at (${cropX}, ${cropY}) of the HR, shown at ${ZOOM}x`);
