// A fresh web app, outside the workspace, installs the packed package with
// npm, bundles it with Vite and upscales an image in headless Chromium.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { serve } from "../../www/serve.mjs";
import { launch, root } from "./helpers.mjs";

test("npm pack of pkg/ installs into a new Vite app, type-checks with tsc, and upscales in Chromium (in a worker too)", { timeout: 600000 }, async () => {
  const app = mkdtempSync(join(tmpdir(), "upres-fresh-app-"));
  const tarball = execFileSync("npm", ["pack", join(root, "pkg"), "--pack-destination", app, "--silent"], { encoding: "utf8" }).trim().split("\n").pop();
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true, type: "module", scripts: { build: "vite build" } }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--silent", join(app, tarball), "vite@^7", "typescript@^5"], { cwd: app, stdio: "inherit" });
  // The weights are served as static files of the app.
  mkdirSync(join(app, "public"));
  cpSync(join(app, "node_modules", "upres", "weights", "vdsr-small-x2.f16.safetensors"), join(app, "public", "model.safetensors"));
  writeFileSync(join(app, "index.html"), '<!doctype html><title>fresh</title><script type="module" src="/main.js"></script>');
  writeFileSync(
    join(app, "main.js"),
    `import { Upscaler, createWorkerUpscaler } from "upres";
window.runUpscale = async () => {
  const image = new ImageData(40, 30);
  image.data.fill(180);
  const up = await Upscaler.create({ weights: "/model.safetensors" });
  const out = await up.upscale(image, { scale: 2 });
  const worker = await createWorkerUpscaler({ weights: "/model.safetensors", backend: "cpu" });
  const outWorker = await worker.upscale(image, { scale: 3 });
  worker.dispose();
  return [out.width, out.height, outWorker.width, outWorker.height, up.info.arch];
};
`,
  );
  execFileSync("npm", ["run", "build", "--silent"], { cwd: app, stdio: "inherit" });

  // The package's types, used as a TypeScript app would (strict, DOM lib).
  writeFileSync(
    join(app, "check.ts"),
    `import init, { Upscaler, createWorkerUpscaler, WeightsError, UpresError, type UpscalerInfo, type Evaluation, type UpscaledImage } from "upres";
export async function typed(): Promise<number> {
  await init();
  const up = await Upscaler.create({ weights: "/model.safetensors", backend: "auto", onDownloadProgress: (l, t) => l / t });
  const info: UpscalerInfo = up.info;
  // @ts-expect-error UpscalerInfo is read-only
  up.info.backend = "cpu";
  const out: UpscaledImage = await up.upscale(new ImageData(2, 2), { scale: 2, onProgress: (d, t) => d / t, signal: new AbortController().signal });
  const modelScale: number | undefined = out.modelScale;
  const worker = await createWorkerUpscaler({ weights: "edsr-small-x2", workerUrl: "/assets/worker.js", wasm: new URL("http://localhost/core.wasm") });
  const e: Evaluation = await worker.evaluate(out, { scale: 2 });
  up.dispose();
  const caught = await Upscaler.create({ weights: "nope" }).catch((err: unknown) => err instanceof WeightsError && err instanceof UpresError && err.name === "WeightsError");
  return e.modelQuality.psnr + (info.fallbackReason?.length ?? 0) + (modelScale ?? 0) + info.scaleNote.length + Number(caught);
}
`,
  );
  execFileSync("npx", ["tsc", "--noEmit", "--strict", "--lib", "es2022,dom", "--module", "es2022", "--moduleResolution", "bundler", "check.ts"], { cwd: app, stdio: "inherit" });
  assert.ok(readdirSync(join(app, "dist", "assets")).some((f) => f.endsWith(".wasm")), "Vite emitted the .wasm as an asset");

  const server = await serve(join(app, "dist"), 0, "127.0.0.1");
  const browser = await launch({ webgpu: false });
  const errors = [];
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const result = await page.evaluate(() => window.runUpscale());
    assert.deepEqual(result, [80, 60, 120, 90, "vdsr"]);
  } finally {
    await browser.close();
    server.close();
  }
  assert.deepEqual(errors, []);
});
