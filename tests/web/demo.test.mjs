// The demo page end to end in headless Debian Chromium: every shipped model
// at x2 with a PNG download, ground-truth PSNR against trainer eval, both
// backends, cancel, a non-image file, feature maps, screenshots.

import assert from "node:assert/strict";
import { mkdtempSync, copyFileSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { artifacts, dropFile, launch, openPage, pngSize, runTrainer, set5, startServer, weights } from "./helpers.mjs";

const shipped = JSON.parse(readFileSync(weights("index.json"), "utf8"));
const butterfly = readFileSync(set5("butterfly"));
let server, url;
before(async () => ({ server, url } = await startServer()));
after(() => server.close());

async function ready(page) {
  await page.waitForSelector("#backend[data-backend]", { timeout: 120000 });
}

async function chooseModel(page, file) {
  await page.selectOption("#model", String(shipped.findIndex((m) => m.file === file)));
}

async function upscaleButterfly(page) {
  await dropFile(page, "#drop", butterfly, "butterfly.png", "image/png");
  await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("butterfly.png: 256×256"));
  assert.equal(await page.isDisabled("#run"), false);
  await page.click("#run");
  await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("Done"), null, { timeout: 300000 });
}

describe("the demo without WebGPU (CPU backend)", () => {
  let browser, page;
  const errors = [];
  before(async () => {
    browser = await launch({ webgpu: false });
    page = await openPage(browser, url, errors);
    await ready(page);
  });
  after(async () => {
    await browser.close();
    assert.deepEqual(errors, [], "no uncaught errors or console errors");
  });

  test("the page says the CPU runs and why", async () => {
    await page.screenshot({ path: join(artifacts, "demo-idle.png"), fullPage: true });
    // The reason is said once, as a reason: not "...; running on the CPU" after "CPU because".
    assert.equal(await page.textContent("#backend"), "Backend: CPU (WebAssembly SIMD) because no WebGPU adapter is available (the GPU may be blocklisted or WebGPU disabled)");
  });

  test("the menu gives the paper's Set5 figure for a paper's network (recognised from its config) and none for sizes of our own", async () => {
    const label = (file) => page.$eval(`#model option[data-file="${file}"]`, (o) => o.textContent);
    assert.match(await label("sesr-m5-x2.f16.safetensors"), /Set5 x2 37\.23 dB \(paper 37\.39 dB\)$/);
    assert.match(await label("sesr-xl-x2.f16.safetensors"), /\(paper 37\.77 dB\)$/);
    assert.match(await label("vdsr-reference-x234.f16.safetensors"), /\(paper 37\.53 dB\)$/);
    // 6x32 VDSR and 6x32 EDSR are not the papers' networks: no paper figure (the old menu gave EDSR-baseline's 37.99).
    for (const own of ["vdsr-small-x2.f16.safetensors", "edsr-small-x2.f16.safetensors"]) assert.doesNotMatch(await label(own), /paper/, own);
    assert.deepEqual(shipped.find((m) => m.file === "sesr-m5-x4.f16.safetensors").publishedSet5, {}, "SESR's paper gives x2 only");
    assert.equal(shipped.find((m) => m.file === "sesr-m5-x4.f16.safetensors").preset, "sesr-m5");
  });

  test("the page is served under a Content-Security-Policy of its own scripts and wasm only (a violation is a console error, which fails this suite)", async () => {
    const policy = (await page.request.get(url)).headers()["content-security-policy"];
    assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    assert.match(policy, /connect-src 'self'(;|$)/);
    assert.equal(await page.evaluate(() => document.querySelectorAll("script:not([src])").length), 0, "no inline script, which the policy would block");
  });

  test("choosing a scale the current model does not do switches to the fast model shipped for it", async () => {
    for (const scale of [2, 3, 4]) {
      // The cheapest network per scale, what the package's { scale } loads:
      // SESR-M5 also at x2, where the larger SESR-M11 ships too (and sorts first).
      const fast = shipped.find((m) => m.file === `sesr-m5-x${scale}.f16.safetensors`);
      if (!fast) continue;
      const other = shipped.find((m) => m.input !== "bicubic" && !m.scales.includes(scale));
      if (other) await chooseModel(page, other.file);
      await page.selectOption("#scale", String(scale));
      assert.equal(await page.inputValue("#model"), String(shipped.indexOf(fast)), `x${scale}`);
    }
    await page.selectOption("#scale", "2");
  });

  for (const model of shipped) {
    // Each at its own first scale (the fast models ship one file per scale).
    const scale = model.input === "bicubic" ? 2 : model.scales[0];
    const side = String(256 * scale);
    test(`${model.file}: dropped butterfly.png upscaled x${scale} is ${side}x${side}, the download is a PNG of that size, and the menu gives its time`, async () => {
      await chooseModel(page, model.file);
      await page.selectOption("#scale", String(scale));
      assert.equal(await page.inputValue("#model"), String(shipped.indexOf(model)), "the scale is the model's own: the model stays");
      await upscaleButterfly(page);
      assert.deepEqual(await page.$eval("#result-size", (e) => [e.dataset.width, e.dataset.height]), [side, side]);
      const label = await page.$eval("#model", (s) => s.selectedOptions[0].textContent);
      assert.match(label, /· [\d.]+ s per 512×512 here$/);
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
      const bytes = readFileSync(await download.path());
      assert.deepEqual(pngSize(bytes).width, Number(side));
      assert.deepEqual(pngSize(bytes).height, Number(side));
      await page.screenshot({ path: join(artifacts, `demo-result-${model.file.replace(/\.safetensors$/, "")}.png`), fullPage: true });
    });
  }

  test("ground-truth mode: the PSNR shown for bicubic and the model equals trainer eval within 0.01 dB", async () => {
    const model = shipped.find((m) => m.file.startsWith("vdsr-reference")) ?? shipped[0];
    await chooseModel(page, model.file);
    await page.check("input[name=mode][value=truth]");
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("Done"), null, { timeout: 300000 });
    const shown = async (id) => Number(await page.textContent(id));
    const dir = mkdtempSync(join(tmpdir(), "upres-truth-"));
    copyFileSync(set5("butterfly"), join(dir, "butterfly.png"));
    const native = JSON.parse(runTrainer(["eval", "--weights", weights(model.file), "--scale", "2", "--data", dir, "--json"]));
    assert.ok(Math.abs((await shown("#psnr-bicubic")) - native.bicubic_psnr) <= 0.01, `bicubic ${await shown("#psnr-bicubic")} vs ${native.bicubic_psnr}`);
    assert.ok(Math.abs((await shown("#psnr-model")) - native.psnr) <= 0.01, `model ${await shown("#psnr-model")} vs ${native.psnr}`);
    await page.screenshot({ path: join(artifacts, "demo-ground-truth.png"), fullPage: true });
    await page.check("input[name=mode][value=upscale]");
  });

  test("feature maps of VDSR: one grid per layer", async () => {
    const model = shipped.find((m) => m.arch === "vdsr");
    await chooseModel(page, model.file);
    await page.click("#features");
    await page.waitForSelector("#feature-maps figure", { timeout: 120000 });
    const names = await page.$$eval("#feature-maps figcaption", (f) => f.map((c) => c.textContent.split(" · ")[0]));
    // The input, the ReLU output of layers 1..L-1, the residual (layer L) and the output.
    const hidden = Array.from({ length: model.config.layers - 1 }, (_, i) => `layer${String(i + 1).padStart(2, "0")}`);
    assert.deepEqual(names, ["input", ...hidden, "residual", "output"]);
    await page.screenshot({ path: join(artifacts, "demo-feature-maps.png"), fullPage: true });
  });

  test("the slider moves with the keyboard", async () => {
    await page.focus("#split");
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.inputValue("#split"), "51");
  });

  test("cancel during a large image stops the work", async () => {
    await chooseModel(page, shipped.find((m) => m.file.startsWith("vdsr-reference"))?.file ?? shipped[0].file);
    // A 1500x1500 image made in the page, dropped as a PNG file.
    await page.evaluate(async () => {
      const c = new OffscreenCanvas(1500, 1500);
      const ctx = c.getContext("2d");
      for (let i = 0; i < 300; i++) {
        ctx.fillStyle = `hsl(${i * 37} 70% 50%)`;
        ctx.fillRect((i * 97) % 1500, (i * 53) % 1500, 120, 80);
      }
      const blob = await c.convertToBlob({ type: "image/png" });
      const dt = new DataTransfer();
      dt.items.add(new File([blob], "large.png", { type: "image/png" }));
      document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("large.png: 1500×1500"), null, { timeout: 60000 });
    await page.click("#run");
    await page.waitForFunction(() => / \/ \d+ tiles/.test(document.getElementById("progress-text").textContent), null, { timeout: 120000 });
    await page.screenshot({ path: join(artifacts, "demo-progress.png"), fullPage: true });
    const total = await page.$eval("#progress", (p) => p.max);
    await page.click("#cancel");
    await page.waitForFunction(() => document.getElementById("message").textContent === "Cancelled.", null, { timeout: 60000 });
    const done = await page.$eval("#progress-text", (p) => p.textContent);
    assert.equal(done, "Cancelled");
    assert.ok(total > 10, `${total} tiles`);
    assert.equal(await page.isDisabled("#run"), false, "the page is usable again");
  });

  test("an image too large for the browser gets a message with a suggestion, and the page stays usable", async () => {
    await chooseModel(page, shipped.find((m) => m.file.startsWith("vdsr-reference"))?.file ?? shipped[0].file);
    // 8000x6000 at x4 is a 32000x24000 output, at x3 24000x18000: past what a canvas holds.
    await page.evaluate(async () => {
      const c = new OffscreenCanvas(8000, 6000);
      const ctx = c.getContext("2d");
      ctx.fillStyle = "#3a6";
      ctx.fillRect(0, 0, 8000, 6000);
      const blob = await c.convertToBlob({ type: "image/png" });
      const dt = new DataTransfer();
      dt.items.add(new File([blob], "huge.png", { type: "image/png" }));
      document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    // What broke in CI: Run was still enabled for the last image while this one
    // was being decoded, so the click ran the 1500x1500 image instead.
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("huge.png: 8000×6000"), null, { timeout: 60000 });
    assert.equal(await page.isDisabled("#run"), false);
    await page.selectOption("#scale", "4");
    await page.click("#run");
    await page.waitForFunction(() => /too large/.test(document.getElementById("message").textContent), null, { timeout: 120000 });
    const message = await page.textContent("#message");
    assert.match(message, /32000x24000 result of huge.png is more than a browser canvas can hold/);
    assert.match(message, /Try ×2 instead of ×4, or crop the image first/);
    assert.equal(await page.textContent("#progress-text"), "", "no run is left looking as if it were starting");
    // The suggestion names the scale that was asked for.
    await page.selectOption("#scale", "3");
    await page.click("#run");
    await page.waitForFunction(() => /24000x18000 result/.test(document.getElementById("message").textContent), null, { timeout: 120000 });
    assert.match(await page.textContent("#message"), /Try ×2 instead of ×3, or crop the image first/);
    await page.screenshot({ path: join(artifacts, "demo-too-large.png") });
    assert.equal(await page.isDisabled("#run"), false, "the page is usable again");
    await page.selectOption("#scale", "2");
  });

  test("a text file dropped on the page shows an error message", async () => {
    await dropFile(page, "#drop", Buffer.from("hello, not an image"), "notes.txt", "text/plain");
    await page.waitForFunction(() => /not an image this browser can read/.test(document.getElementById("message").textContent));
    assert.equal(await page.isVisible("#message"), true);
    // Nothing is lost: the last image (huge.png) stays, ready to run again.
    assert.equal(await page.isDisabled("#run"), false);
    assert.equal(await page.getAttribute("#input-preview", "alt"), "The image to upscale: huge.png");
  });

  test("a narrow (phone) screen shows the page without horizontal scrolling", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.screenshot({ path: join(artifacts, "demo-phone.png"), fullPage: true });
    assert.ok(overflow <= 0, `${overflow}px wider than the screen`);
  });
});

describe("the demo with WebGPU (--enable-unsafe-webgpu, SwiftShader)", () => {
  test("Auto runs on the CPU and says the only adapter is a software renderer", async () => {
    const browser = await launch({ webgpu: true });
    const errors = [];
    try {
      const page = await openPage(browser, `${url}?model=vdsr-small`, errors);
      await ready(page);
      assert.match(await page.textContent("#backend"), /^Backend: CPU \(WebAssembly SIMD\) because the only WebGPU adapter is swiftshader, a software renderer/);
    } finally {
      await browser.close();
    }
    assert.deepEqual(errors, []);
  });

  test("with WebGPU chosen, the same x2 run completes and the page says WebGPU ran", async () => {
    const browser = await launch({ webgpu: true });
    const errors = [];
    try {
      const page = await openPage(browser, `${url}?model=vdsr-small&backend=webgpu`, errors);
      await ready(page);
      assert.match(await page.textContent("#backend"), /WebGPU/);
      await upscaleButterfly(page);
      assert.match(await page.textContent("#message"), /on WebGPU/);
      assert.deepEqual(await page.$eval("#result-size", (e) => [e.dataset.width, e.dataset.height]), ["512", "512"]);
      await page.screenshot({ path: join(artifacts, "demo-webgpu-result.png"), fullPage: true });
    } finally {
      await browser.close();
    }
    assert.deepEqual(errors, []);
  });
});
