// Shared set-up for the JS tests: the demo server, Debian's Chromium driven
// by playwright-core (never a downloaded browser), the trainer binary, data.

import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../www/serve.mjs";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const data = resolve(process.env.UPRES_DATA ?? join(root, "..", "shared", "data"));
export const trainer = process.env.UPRES_TRAINER ?? join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, ".cache", "upres-target"), "release", "trainer");
export const artifacts = join(root, "artifacts", "e2e");
mkdirSync(artifacts, { recursive: true });

export const set5 = (name) => join(data, "benchmark", "Set5", "HR", `${name}.png`);
export const weights = (file) => join(root, "www", "pkg", "weights", file);

/** The www/ folder on a free localhost port. */
export async function startServer() {
  const server = await serve(join(root, "www"), 0, "127.0.0.1");
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

/** Headless Debian Chromium, with or without a WebGPU adapter (SwiftShader). */
export async function launch({ webgpu }) {
  const args = ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
  if (webgpu) args.push("--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-webgpu-adapter=swiftshader");
  else args.push("--disable-gpu");
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args });
}

/** A page that fails the test on any uncaught error. */
export async function openPage(browser, url, errors) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console error: ${m.text()}`);
  });
  await page.goto(url);
  return page;
}

export function runTrainer(args) {
  return execFileSync(trainer, args, { encoding: "utf8", env: { ...process.env, UPRES_DATA: data } });
}

/** PNG width and height from the IHDR chunk, after checking the signature. */
export function pngSize(bytes) {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!sig.every((b, i) => bytes[i] === b)) throw new Error("not a PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20), colorType: bytes[25] };
}

/** Drop a file on an element as a user would (a real DataTransfer with a File). */
export async function dropFile(page, selector, bytes, name, type) {
  await page.evaluate(
    ({ selector, data, name, type }) => {
      const file = new File([new Uint8Array(data)], name, { type });
      const dt = new DataTransfer();
      dt.items.add(file);
      const target = document.querySelector(selector);
      target.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { selector, data: [...bytes], name, type },
  );
}

/**
 * A copy of a weights file with the first `count` values of its first tensor
 * (by name) set to NaN, as a damaged or hostile file would hold them.
 */
export function weightsWithNaN(bytes, count) {
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(out.subarray(8, 8 + headerLength)));
  const tensor = Object.keys(header).filter((k) => k !== "__metadata__").sort()[0];
  const { dtype, data_offsets: [start] } = header[tensor];
  const at = 8 + headerLength + start;
  for (let i = 0; i < count; i++) {
    if (dtype === "F16") view.setUint16(at + 2 * i, 0x7e00, true);
    else if (dtype === "F32") view.setFloat32(at + 4 * i, NaN, true);
    else throw new Error(`weightsWithNaN: ${tensor} is ${dtype}`);
  }
  return { bytes: out, tensor };
}
