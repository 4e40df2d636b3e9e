// Fresh web apps, outside the workspace, install the packed package with npm
// and follow the package README's recipe for Vite, esbuild, webpack 5 or no
// bundler, as written; each page then upscales an image in headless Chromium,
// on the main thread and in the worker.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { serve } from "../../www/serve.mjs";
import { launch, root } from "./helpers.mjs";

const readme = readFileSync(join(root, "web", "js", "README.md"), "utf8");

/** The shell commands of the README's recipe for one bundler. */
function recipe(name) {
  const found = new RegExp(`<!-- recipe: ${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  assert.ok(found, `web/js/README.md has no recipe for ${name}`);
  return found[1];
}

// The app's code: the same calls for every bundler; only where the weights come from differs.
const mainJs = (weights) => `import { Upscaler, createWorkerUpscaler } from "upres";
window.runUpscale = async () => {
  const image = new ImageData(40, 30);
  image.data.fill(180);
  const up = await Upscaler.create({ weights: ${JSON.stringify(weights)} });
  const out = await up.upscale(image, { scale: 2 });
  const worker = await createWorkerUpscaler({ weights: ${JSON.stringify(weights)}, backend: "cpu" });
  const outWorker = await worker.upscale(image, { scale: 2 });
  worker.dispose();
  return [out.width, out.height, outWorker.width, outWorker.height, up.info.arch, worker.info.arch];
};
`;

let tarball;
before(() => {
  const dir = mkdtempSync(join(tmpdir(), "upres-pack-"));
  tarball = join(dir, execFileSync("npm", ["pack", join(root, "pkg"), "--pack-destination", dir, "--silent"], { encoding: "utf8" }).trim().split("\n").pop());
});

/** A new app folder with `src/main.js`, `index.html` where the recipe expects it, then the recipe run as written ("upres" installed from the packed tarball). */
function appFollowing(name, { weights, indexHtml }) {
  const app = mkdtempSync(join(tmpdir(), `upres-${name.replace(/\W+/g, "-")}-app-`));
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true, type: "module" }));
  mkdirSync(join(app, "src"));
  writeFileSync(join(app, "src", "main.js"), mainJs(weights));
  for (const [path, html] of Object.entries(indexHtml)) {
    mkdirSync(join(app, path, ".."), { recursive: true });
    writeFileSync(join(app, path), `<!doctype html><title>fresh</title>${html}`);
  }
  const script = recipe(name).replace(/^npm install upres\b/m, `npm install --no-audit --no-fund --silent ${tarball}`);
  execFileSync("bash", ["-euo", "pipefail", "-c", script], { cwd: app, stdio: "inherit" });
  return app;
}

/** Serve `dir`, open it in Chromium, run the app, and return what it returned. */
async function runInChromium(dir) {
  const server = await serve(dir, 0, "127.0.0.1");
  const browser = await launch({ webgpu: false });
  const errors = [];
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    // The browser's own report of a missing file (the favicon every page is asked for) is not the app's error.
    page.on("console", (m) => m.type() === "error" && !/^Failed to load resource/.test(m.text()) && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof window.runUpscale === "function");
    const result = await page.evaluate(() => window.runUpscale());
    assert.deepEqual(errors, []);
    return result;
  } catch (e) {
    throw errors.length > 0 ? new Error(`${e.message}\npage errors: ${errors.join("\n")}`) : e;
  } finally {
    await browser.close();
    server.close();
  }
}

/** Every JavaScript file a bundler wrote: none may name a Node module. */
function assertNoNodeImports(dist) {
  const files = readdirSync(dist, { recursive: true }).filter((f) => f.endsWith(".js"));
  assert.ok(files.length > 0, `no JavaScript in ${dist}`);
  for (const f of files) assert.doesNotMatch(readFileSync(join(dist, f), "utf8"), /["']node:/, `${f} names a Node module`);
}

const SESR = "./sesr-m5-x2.f16.safetensors";
const expected = [80, 60, 80, 60, "sesr", "sesr"];

test("Vite: the README's recipe builds an app that upscales in Chromium (in a worker too), and its types check with tsc", { timeout: 600000 }, async () => {
  const app = appFollowing("vite", { weights: SESR, indexHtml: { "index.html": '<script type="module" src="/src/main.js"></script>' } });
  assert.ok(readdirSync(join(app, "dist", "assets")).some((f) => f.endsWith(".wasm")), "Vite emitted the .wasm as an asset");
  assertNoNodeImports(join(app, "dist"));

  // The package's types, used as a TypeScript app would (strict, DOM lib).
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--silent", "typescript@^5"], { cwd: app, stdio: "inherit" });
  writeFileSync(
    join(app, "check.ts"),
    `import init, { Upscaler, createWorkerUpscaler, SHIPPED_MODELS, WeightsError, UpresError, type UpscalerInfo, type Evaluation, type UpscaledImage } from "upres";
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
  const photoX2: string | undefined = SHIPPED_MODELS.photo[2];
  // @ts-expect-error the table of shipped models is read-only
  SHIPPED_MODELS.clean = {};
  const caught = await Upscaler.create({ weights: "nope" }).catch((err: unknown) => err instanceof WeightsError && err instanceof UpresError && err.name === "WeightsError");
  return e.modelQuality.psnr + (info.fallbackReason?.length ?? 0) + (modelScale ?? 0) + info.scaleNote.length + Number(caught) + (photoX2?.length ?? 0);
}
`,
  );
  execFileSync("npx", ["tsc", "--noEmit", "--strict", "--lib", "es2022,dom", "--module", "es2022", "--moduleResolution", "bundler", "check.ts"], { cwd: app, stdio: "inherit" });

  assert.deepEqual(await runInChromium(join(app, "dist")), expected);
});

test("esbuild: the README's recipe bundles without marking Node modules external, and the app finds its wasm and worker", { timeout: 600000 }, async () => {
  const app = appFollowing("esbuild", { weights: SESR, indexHtml: { "dist/index.html": '<script type="module" src="main.js"></script>' } });
  assertNoNodeImports(join(app, "dist"));
  assert.deepEqual(await runInChromium(join(app, "dist")), expected);
});

test("webpack 5: the README's recipe bundles the worker and the wasm, and the app upscales", { timeout: 600000 }, async () => {
  const app = appFollowing("webpack", { weights: SESR, indexHtml: { "dist/index.html": '<script src="main.js"></script>' } });
  assert.ok(readdirSync(join(app, "dist")).some((f) => f.endsWith(".wasm")), "webpack emitted the .wasm as an asset");
  assertNoNodeImports(join(app, "dist"));
  assert.deepEqual(await runInChromium(join(app, "dist")), expected);
});

test("no bundler: the package served as installed, mapped by an import map, with a shipped model by name", { timeout: 600000 }, async () => {
  const app = appFollowing("no bundler", { weights: "sesr-m5-x2", indexHtml: {} });
  assert.deepEqual(await runInChromium(app), expected);
});
