// A researcher's own weights in the demo: a file this test makes with
// `trainer train` and `trainer export` is dropped on the page, checked,
// added to the model menu with what it says of itself, and run, with nothing
// uploaded; broken and lying files are refused with the trainer's messages
// and the menu stays as it was.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { artifacts, dropFile, launch, openPage, root, runTrainer, set5, startServer, weightsWithNaN } from "./helpers.mjs";

let server, url, exported;
const requests = [];

before(() => {
  const work = mkdtempSync(join(tmpdir(), "upres-own-"));
  const run = join(work, "fsrcnn-x3");
  // One iteration: what is checked is the path from the trainer to the page, not the quality.
  runTrainer(["train", "--config", join(root, "trainer/configs/fsrcnn-x3.json"), "--out", run, "--max-iters", "1", "--set", 'data.dirs=["benchmark/Set5/HR"]']);
  const file = join(work, "my-fsrcnn-x3.safetensors");
  runTrainer(["export", "--run", run, "--checkpoint", "last", "--out", file]);
  exported = readFileSync(file);
});
before(async () => ({ server, url } = await startServer({ onRequest: (req) => requests.push(`${req.method} ${req.url}`) })));
after(() => server.close());

const message = (page) => page.textContent("#message");

test("weights exported by the trainer, dropped on the demo, join the menu and run; broken ones are refused", { timeout: 600000 }, async () => {
  const browser = await launch({ webgpu: false });
  const errors = [];
  try {
    const page = await openPage(browser, url, errors);
    await page.waitForSelector("#backend[data-backend]", { timeout: 120000 });
    const shippedCount = await page.locator("#model option").count();

    // Broken files: refused, naming what is wrong, and the menu unchanged.
    await dropFile(page, "#drop", exported.subarray(0, 200), "cut-short.safetensors", "");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("cut-short.safetensors was not added:"));
    const nan = weightsWithNaN(exported, 5);
    await page.setInputFiles("#weights-file", { name: "nan.safetensors", mimeType: "application/octet-stream", buffer: Buffer.from(nan.bytes) });
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("nan.safetensors was not added:"));
    assert.match(await message(page), new RegExp(`hold non-finite values: .*${nan.tensor.replace(".", "\\.")} holds \\d+ NaN value`));
    assert.equal(await page.locator("#model option").count(), shippedCount);

    // The researcher's file: dropped, checked, described and chosen.
    await dropFile(page, "#drop", exported, "my-fsrcnn-x3.safetensors", "");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("my-fsrcnn-x3.safetensors: FSRCNN for ×3"), null, { timeout: 120000 });
    assert.match(await message(page), /nothing was uploaded/);
    assert.equal(await page.locator("#model option").count(), shippedCount + 1);
    const chosen = await page.$eval("#model", (s) => s.selectedOptions[0].textContent);
    assert.match(chosen, /^yours: my-fsrcnn-x3 · \d+ kB · [\d.]+[KM] MACs\/px/);
    assert.match(await page.textContent("#model-about"), /^FSRCNN for ×3, [\d,]+ parameters, [\d.]+[KM] multiply-adds per low-resolution pixel at ×3/);
    assert.equal(await page.inputValue("#scale"), "3");

    // It runs like a shipped model.
    await dropFile(page, "#drop", readFileSync(set5("butterfly")), "butterfly.png", "image/png");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("butterfly.png: 256×256"));
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("Done"), null, { timeout: 300000 });
    assert.equal(await page.textContent("#result-size"), "768×768");
    assert.equal(await page.textContent("#model-tag"), "my-fsrcnn-x3");
    await page.screenshot({ path: join(artifacts, "demo-own-weights.png"), fullPage: true });
    assert.deepEqual(requests.filter((r) => !r.startsWith("GET ") || /my-fsrcnn|nan\.safetensors|cut-short/.test(r)), [], "the weights went to no server");
  } finally {
    await browser.close();
  }
  assert.deepEqual(errors, []);
});
