// Photos and clean images in the product: the package's `{ scale, kind }`,
// ground truth with a JPEG (`evaluate({ jpegQuality })`) against trainer eval
// --degrade, and the demo choosing the photo model for a dropped JPEG and
// showing the JPEG's cost in ground-truth mode, in headless Chromium.

import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Upscaler, decodeImage } from "../../pkg/node.js";
import { SHIPPED_MODELS } from "../../pkg/worker-client.js";
import { dropFile, launch, openPage, runTrainer, set5, startServer, weights } from "./helpers.mjs";

const shipped = JSON.parse(readFileSync(weights("index.json"), "utf8"));
const nameOf = (m) => m.file.replace(/\.f16\.safetensors$/, "");
const indexOf = (name) => shipped.findIndex((m) => nameOf(m) === name);

/** `trainer eval --degrade jpeg:Q --json` of one Set5 image. */
function nativeEval(model, name, scale, quality) {
  const dir = mkdtempSync(join(tmpdir(), "upres-jpeg-truth-"));
  copyFileSync(set5(name), join(dir, `${name}.png`));
  return JSON.parse(runTrainer(["eval", "--weights", weights(`${model}.f16.safetensors`), "--scale", String(scale), "--data", dir, "--degrade", `jpeg:${quality}`, "--json"]));
}

test("every model { scale, kind } names is shipped, and index.json says its kind as its recipe does", () => {
  for (const [kind, byScale] of Object.entries(SHIPPED_MODELS)) {
    for (const [scale, name] of Object.entries(byScale)) {
      const m = shipped[indexOf(name)];
      assert.ok(m, `${name} (kind ${kind}, x${scale}) is not in weights/index.json`);
      assert.equal(m.kind, kind, name);
      assert.ok(m.scales.includes(Number(scale)), `${name} does x${scale}`);
      // A photo model's recipe degrades its LR; a clean one's does not.
      assert.equal(Boolean(m.provenance.training_config?.data?.degradation), kind === "photo", name);
    }
  }
});

test("Upscaler.create({ scale, kind }) loads the shipped model of that kind, and says what is wrong with a bad kind", async () => {
  const photo = await Upscaler.create({ scale: 2, kind: "photo", backend: "cpu" });
  assert.deepEqual(photo.info.config, shipped[indexOf(SHIPPED_MODELS.photo[2])].config);
  photo.dispose();
  const clean = await Upscaler.create({ scale: 2, backend: "cpu" });
  assert.deepEqual(clean.info.config, shipped[indexOf(SHIPPED_MODELS.clean[2])].config, "kind defaults to clean");
  clean.dispose();
  await assert.rejects(Upscaler.create({ scale: 2, kind: "jpeg" }), { name: "TypeError", message: /kind must be "clean" or "photo", not "jpeg"/ });
  await assert.rejects(Upscaler.create({ scale: 3, kind: "photo" }), { name: "ScaleError", message: /no photo model is shipped for scale 3: the photo models are x2, x4/ });
  await assert.rejects(Upscaler.create({ weights: "sesr-m5-x2", kind: "photo" }), { name: "TypeError", message: /not both/ });
});

describe("ground truth with a JPEG: evaluate({ jpegQuality })", () => {
  let photo, clean, image;
  before(async () => {
    photo = await Upscaler.create({ scale: 2, kind: "photo", backend: "cpu" });
    clean = await Upscaler.create({ scale: 2, kind: "clean", backend: "cpu" });
    image = await decodeImage(readFileSync(set5("butterfly")));
  });
  after(() => {
    photo.dispose();
    clean.dispose();
  });

  test("bicubic and the photo model score as trainer eval --degrade jpeg:50 does, within 0.01 dB", async () => {
    const r = await photo.evaluate(image, { scale: 2, jpegQuality: 50 });
    const native = nativeEval(SHIPPED_MODELS.photo[2], "butterfly", 2, 50);
    assert.ok(Math.abs(r.bicubicQuality.psnr - native.bicubic_psnr) <= 0.01, `bicubic ${r.bicubicQuality.psnr} vs ${native.bicubic_psnr}`);
    assert.ok(Math.abs(r.modelQuality.psnr - native.psnr) <= 0.01, `model ${r.modelQuality.psnr} vs ${native.psnr}`);
    // The LR handed back is the JPEG's: not the clean LR.
    const plain = await photo.evaluate(image, { scale: 2 });
    assert.ok(plain.bicubicQuality.psnr > r.bicubicQuality.psnr + 0.5, `clean LR ${plain.bicubicQuality.psnr}, JPEG 50 ${r.bicubicQuality.psnr}`);
    assert.notDeepEqual(r.lr.data, plain.lr.data);
  });

  test("on a JPEG of quality 50 the photo model beats the clean one (what it is for), on a clean LR the clean one wins", async () => {
    const [p50, c50] = [await photo.evaluate(image, { jpegQuality: 50 }), await clean.evaluate(image, { jpegQuality: 50 })];
    assert.ok(p50.modelQuality.psnr > c50.modelQuality.psnr + 0.3, `photo ${p50.modelQuality.psnr}, clean ${c50.modelQuality.psnr}`);
    const [p, c] = [await photo.evaluate(image), await clean.evaluate(image)];
    assert.ok(c.modelQuality.psnr > p.modelQuality.psnr, `clean LR: clean model ${c.modelQuality.psnr}, photo ${p.modelQuality.psnr}`);
  });

  test("a jpegQuality that is not a whole number from 1 to 100 is a clear error", async () => {
    for (const q of [0, 101, 50.5, Number.NaN]) {
      await assert.rejects(photo.evaluate(image, { jpegQuality: q }), { name: "TypeError", message: /jpegQuality must be a whole number from 1 to 100/ }, String(q));
    }
    await assert.rejects(photo.evaluate(image, { jpegQuality: "75" }), { name: "TypeError", message: /jpegQuality must be a number/ });
  });
});

describe("the demo with photos", () => {
  let server, url, browser, page;
  const errors = [];
  before(async () => {
    ({ server, url } = await startServer());
    browser = await launch({ webgpu: false });
    page = await openPage(browser, url, errors);
    await page.waitForSelector("#backend[data-backend]", { timeout: 120000 });
  });
  after(async () => {
    await browser.close();
    server.close();
    assert.deepEqual(errors, [], "no uncaught errors or console errors");
  });

  // butterfly as the browser's own JPEG encoder writes it.
  async function butterflyJpeg(quality) {
    const png = [...readFileSync(set5("butterfly"))];
    return Buffer.from(
      await page.evaluate(async ({ png, quality }) => {
        const bitmap = await createImageBitmap(new Blob([new Uint8Array(png)], { type: "image/png" }));
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        canvas.getContext("2d").drawImage(bitmap, 0, 0);
        const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
        return [...new Uint8Array(await blob.arrayBuffer())];
      }, { png, quality }),
    );
  }

  async function drop(bytes, name, type) {
    await dropFile(page, "#drop", bytes, name, type);
    await page.waitForFunction((name) => document.getElementById("message").textContent.startsWith(`${name}: 256×256`), name);
  }

  test("the menu groups the models by what they are for, in a visitor's words", async () => {
    const groups = await page.$$eval("#model optgroup", (gs) => gs.map((g) => [g.label, [...g.querySelectorAll("option")].map((o) => o.dataset.file)]));
    const photos = groups.find(([label]) => label.startsWith("Photos"));
    assert.ok(photos, JSON.stringify(groups));
    assert.deepEqual(photos[1].sort(), shipped.filter((m) => m.kind === "photo").map((m) => m.file).sort());
    assert.ok(groups.find(([label]) => label.startsWith("Clean images"))[1].includes("sesr-m5-x2.f16.safetensors"));
  });

  test("a dropped JPEG gets the photo model for the scale and a PNG the clean one, until the visitor picks a model", async () => {
    const jpeg = await butterflyJpeg(0.7);
    await drop(jpeg, "photo.jpg", "image/jpeg");
    assert.equal(await page.inputValue("#model"), String(indexOf(SHIPPED_MODELS.photo[2])));
    assert.match(await page.textContent("#message"), /lossy compression: sesr-m11-x2-photo/);
    await page.selectOption("#scale", "4");
    assert.equal(await page.inputValue("#model"), String(indexOf(SHIPPED_MODELS.photo[4])), "x4 keeps to photos");
    // The file's bytes decide, not its name or type.
    await drop(readFileSync(set5("butterfly")), "butterfly.jpg", "image/jpeg");
    assert.equal(await page.inputValue("#model"), String(indexOf(SHIPPED_MODELS.clean[4])));
    await page.selectOption("#scale", "2");
    await page.selectOption("#model", String(indexOf("sesr-xl-x2")));
    await drop(jpeg, "photo.jpg", "image/jpeg");
    assert.equal(await page.inputValue("#model"), String(indexOf("sesr-xl-x2")), "a model picked by hand stays");
  });

  test("ground truth with the JPEG slider: the PSNRs shown equal trainer eval --degrade jpeg:Q within 0.01 dB", async () => {
    const model = SHIPPED_MODELS.photo[2];
    await page.selectOption("#model", String(indexOf(model)));
    await drop(readFileSync(set5("butterfly")), "butterfly.png", "image/png");
    await page.check("input[name=mode][value=truth]");
    assert.equal(await page.isVisible("#jpeg-field"), true);
    await page.check("#jpeg-on");
    await page.fill("#jpeg-quality", "60");
    assert.equal(await page.textContent("#jpeg-quality-value"), "60");
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("Done"), null, { timeout: 300000 });
    const native = nativeEval(model, "butterfly", 2, 60);
    const shown = async (id) => Number(await page.textContent(id));
    assert.ok(Math.abs((await shown("#psnr-bicubic")) - native.bicubic_psnr) <= 0.01, `bicubic ${await shown("#psnr-bicubic")} vs ${native.bicubic_psnr}`);
    assert.ok(Math.abs((await shown("#psnr-model")) - native.psnr) <= 0.01, `model ${await shown("#psnr-model")} vs ${native.psnr}`);
    assert.match(await page.textContent("#metrics-protocol"), /saved as a JPEG of quality 60/);
    await page.check("input[name=mode][value=upscale]");
    assert.equal(await page.isVisible("#jpeg-field"), false);
  });
});
