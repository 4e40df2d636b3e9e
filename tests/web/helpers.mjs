// Shared set-up for the JS tests: the demo server, Debian's Chromium driven
// by playwright-core (never a downloaded browser), the trainer binary, data.

import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { inflateSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { DEMO_CSP, serve } from "../../www/serve.mjs";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const data = resolve(process.env.UPRES_DATA ?? join(root, "..", "shared", "data"));
export const trainer = process.env.UPRES_TRAINER ?? join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, ".cache", "upres-target"), "release", "trainer");
export const artifacts = join(root, "artifacts", "e2e");
mkdirSync(artifacts, { recursive: true });

export const set5 = (name) => join(data, "benchmark", "Set5", "HR", `${name}.png`);
export const weights = (file) => join(root, "www", "pkg", "weights", file);

/** The www/ folder on a free localhost port. */
export async function startServer({ onRequest } = {}) {
  // With the demo's Content-Security-Policy, as `make demo` serves it.
  const server = await serve(join(root, "www"), 0, "127.0.0.1", { csp: DEMO_CSP, onRequest });
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

/**
 * The RGBA pixels of a `width` x `height` region at (x, y) of an 8-bit,
 * non-interlaced RGB or RGBA PNG (what browsers' canvas.toBlob writes),
 * unfiltered here row by row: a 96-megapixel download is checked without
 * decoding all of it into one more image.
 */
export function pngRegion(bytes, x, y, width, height) {
  const { width: w, height: h, colorType } = pngSize(bytes);
  const channels = { 2: 3, 6: 4 }[colorType];
  if (!channels || bytes[24] !== 8 || bytes[28] !== 0) throw new Error(`pngRegion reads 8-bit RGB(A) non-interlaced PNGs, not colour type ${colorType}, depth ${bytes[24]}`);
  const idat = [];
  for (let at = 8; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString("latin1", at + 4, at + 8);
    if (type === "IDAT") idat.push(bytes.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = w * channels;
  let previous = new Uint8Array(stride);
  let row = new Uint8Array(stride);
  const out = new Uint8ClampedArray(width * height * 4);
  for (let r = 0; r < Math.min(h, y + height); r++) {
    const filter = raw[r * (stride + 1)];
    const line = raw.subarray(r * (stride + 1) + 1, (r + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? row[i - channels] : 0, b = previous[i], c = i >= channels ? previous[i - channels] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      row[i] = (line[i] + predictor) & 255;
    }
    if (r >= y) {
      for (let i = 0; i < width; i++) {
        for (let ch = 0; ch < 4; ch++) out[((r - y) * width + i) * 4 + ch] = ch < channels ? row[(x + i) * channels + ch] : 255;
      }
    }
    [previous, row] = [row, previous];
  }
  return { data: out, width, height };
}
