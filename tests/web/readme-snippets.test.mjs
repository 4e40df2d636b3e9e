// Every JavaScript snippet of the top-level README and of the package's
// README runs as written: browser snippets as a module in headless Chromium
// (with `upres` mapped to the built package, and photo.png served), Node
// snippets with `node` in a folder where `upres` is the package. A snippet
// without a `<!-- snippet: browser|node -->` marker fails the test, so a new
// one cannot go untested.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeImage, encodePng } from "../../pkg/node.js";
import { launch, pngSize, root, set5, startServer } from "./helpers.mjs";

function snippets(file) {
  const text = readFileSync(join(root, file), "utf8");
  const all = [...text.matchAll(/```js\n/g)].length;
  const marked = [...text.matchAll(/<!-- snippet: (browser|node)[^>]*-->\s*```js\n([\s\S]*?)```/g)].map((m, i) => ({ file, index: i + 1, where: m[1], code: m[2] }));
  assert.equal(marked.length, all, `${file}: every \`\`\`js block needs a <!-- snippet: browser|node --> marker before it`);
  return marked;
}

const all = [...snippets("README.md"), ...snippets("web/js/README.md")];

// What each snippet must print, beyond running without an error.
const expected = {
  "README.md#1": [/^128 128$/],
  "web/js/README.md#1": [/^edsr cpu /, /^1\/1 tiles$/],
  "web/js/README.md#2": [/^192 2 the network upscales x2 itself/, /^true invalid option: tileSize must be between 16 and 4096 pixels, got 8$/, /^true$/],
  "web/js/README.md#3": [/^128x128 drawn band by band$/],
  "web/js/README.md#4": [/^128x128 on the cpu$/],
};

let photo;
before(async () => {
  // A 64x64 crop of Set5's butterfly as the snippets' photo.png: quick even for the reference VDSR.
  const full = await decodeImage(readFileSync(set5("butterfly")));
  const data = new Uint8ClampedArray(64 * 64 * 4);
  for (let y = 0; y < 64; y++) data.set(full.data.subarray(((y + 96) * full.width + 96) * 4, ((y + 96) * full.width + 160) * 4), y * 64 * 4);
  photo = await encodePng({ data, width: 64, height: 64 });
});

test("the READMEs have the snippets this test knows what to expect of", () => {
  assert.deepEqual(all.map((s) => `${s.file}#${s.index}`), Object.keys(expected));
});

describe("browser snippets in Chromium", () => {
  let server, url, browser;
  before(async () => {
    ({ server, url } = await startServer());
    browser = await launch({ webgpu: false });
  });
  after(async () => {
    await browser.close();
    server.close();
  });

  for (const s of all.filter((s) => s.where === "browser")) {
    test(`${s.file} snippet ${s.index} runs as written`, { timeout: 300000 }, async () => {
      const page = await browser.newPage();
      const logs = [];
      const errors = [];
      // A snippet may fetch a missing model on purpose (the WeightsError it shows): the browser logs that 404 itself.
      page.on("console", (m) => (m.type() !== "error" ? logs.push(m.text()) : /^Failed to load resource/.test(m.text()) || errors.push(m.text())));
      page.on("pageerror", (e) => errors.push(e.message));
      const html = `<!doctype html><title>snippet</title>
<script type="importmap">{ "imports": { "upres": "/pkg/index.js" } }</script>
<script type="module">
${s.code}
window.snippetDone = true;
</script>`;
      await page.route(`${url}snippet.html`, (route) => route.fulfill({ contentType: "text/html", body: html }));
      await page.route(`${url}photo.png`, (route) => route.fulfill({ contentType: "image/png", body: Buffer.from(photo) }));
      await page.goto(`${url}snippet.html`);
      await page.waitForFunction(() => window.snippetDone === true || document.title === "failed", null, { timeout: 280000, polling: 200 }).catch(() => {});
      assert.deepEqual(errors, [], `${s.file} snippet ${s.index} threw`);
      assert.equal(await page.evaluate(() => window.snippetDone), true, "the snippet ran to its end");
      for (const pattern of expected[`${s.file}#${s.index}`]) assert.ok(logs.some((l) => pattern.test(l)), `no log matches ${pattern}: ${JSON.stringify(logs)}`);
      await page.close();
    });
  }
});

describe("Node snippets", () => {
  for (const s of all.filter((s) => s.where === "node")) {
    test(`${s.file} snippet ${s.index} runs as written`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "upres-snippet-"));
      mkdirSync(join(dir, "node_modules"));
      symlinkSync(join(root, "pkg"), join(dir, "node_modules", "upres"), "dir");
      writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
      writeFileSync(join(dir, "photo.png"), photo);
      writeFileSync(join(dir, "snippet.js"), s.code);
      const stdout = execFileSync(process.execPath, ["snippet.js"], { cwd: dir, encoding: "utf8" });
      for (const pattern of expected[`${s.file}#${s.index}`]) assert.ok(stdout.split("\n").some((l) => pattern.test(l)), `no line matches ${pattern}: ${stdout}`);
      assert.deepEqual(pngSize(readFileSync(join(dir, "photo-x2.png"))).width, 128);
    });
  }
});
