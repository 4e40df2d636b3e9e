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

test("npm pack of pkg/ installs into a new Vite app and upscales in Chromium (in a worker too)", { timeout: 600000 }, async () => {
  const app = mkdtempSync(join(tmpdir(), "upres-fresh-app-"));
  const tarball = execFileSync("npm", ["pack", join(root, "pkg"), "--pack-destination", app, "--silent"], { encoding: "utf8" }).trim().split("\n").pop();
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true, type: "module", scripts: { build: "vite build" } }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--silent", join(app, tarball), "vite@^7"], { cwd: app, stdio: "inherit" });
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
