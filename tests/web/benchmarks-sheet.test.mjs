// BENCHMARKS.md is a current sheet, not a diary: every command it gives must
// still run as written (the scripts, recipes, run folders and make targets
// it names exist; every `trainer` flag it uses is one the binary accepts),
// and the wasm sizes it states must be those of the package `make pkg` just
// built (pkg/build-report.json). A renamed flag, a deleted script or a build
// that grew without the sheet saying so fails here.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { root, trainer } from "./helpers.mjs";

const SHEETS = ["BENCHMARKS.md", "docs/perf-notes.md"];

/** Fenced blocks and inline code spans (which may wrap lines) of a markdown file. */
function codeOf(file) {
  const text = readFileSync(join(root, file), "utf8");
  const blocks = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]);
  const inline = [...text.replace(/```[\s\S]*?```/g, "").matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\s+/g, " "));
  return [...blocks, ...inline];
}

/** `a/{x,y}.json` -> [`a/x.json`, `a/y.json`], as the shell expands it. */
function expandBraces(path) {
  const m = path.match(/^(.*)\{([^}]*)\}(.*)$/);
  return m ? m[2].split(",").flatMap((part) => expandBraces(m[1] + part + m[3])) : [path];
}

// Placeholders the sheet writes in capitals (NAME, W..., F.csv) are not paths.
const isPlaceholder = (path) => path.split("/").some((part) => /^[A-Z][A-Z0-9_]*(\.\.\.|\.[a-z0-9]+)*$/.test(part));

const spans = SHEETS.flatMap((file) => codeOf(file).map((code) => ({ file, code })));

test("the benchmark sheet exists and is a sheet (not the old diary)", () => {
  const lines = readFileSync(join(root, "BENCHMARKS.md"), "utf8").split("\n").length;
  assert.ok(lines < 300, `BENCHMARKS.md has ${lines} lines: keep it a current sheet, history goes to git and docs/perf-notes.md`);
  assert.ok(spans.length > 40, "the sheets' commands were found");
});

test("every script, recipe, run folder and weights file the sheets name exists", () => {
  const missing = [];
  for (const { file, code } of spans) {
    const paths = code.match(/(?:tests\/(?:web|bench)|tools|trainer\/configs|weights\/runs|weights|docs)\/[\w./{},-]+/g) ?? [];
    for (const raw of paths) {
      for (const path of expandBraces(raw.replace(/[.,]$/, ""))) {
        if (isPlaceholder(path)) continue;
        if (!existsSync(join(root, path))) missing.push(`${file}: ${path} (in \`${code}\`)`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test("every make target the sheets name is in the Makefile", () => {
  const makefile = readFileSync(join(root, "Makefile"), "utf8");
  const targets = new Set([...makefile.matchAll(/^([\w-]+):/gm)].map((m) => m[1]));
  const used = spans.flatMap(({ code }) => [...code.matchAll(/\bmake ([\w-]+)/g)].map((m) => m[1]));
  assert.ok(used.length > 0);
  assert.deepEqual(used.filter((t) => !targets.has(t)), []);
});

test("every trainer subcommand and flag the sheets use is one the binary accepts", () => {
  const helps = new Map();
  const help = (sub) => {
    if (!helps.has(sub)) {
      try {
        helps.set(sub, execFileSync(trainer, [sub, "--help"], { encoding: "utf8" }));
      } catch {
        helps.set(sub, null);
      }
    }
    return helps.get(sub);
  };
  const wrong = [];
  let checked = 0;
  for (const { file, code } of spans) {
    for (const m of code.matchAll(/(?:^|[\s/])trainer (\w[\w-]*)((?: +[^|;&]*)?)/g)) {
      const [sub, rest] = [m[1], m[2] ?? ""];
      const text = help(sub);
      if (text === null) {
        wrong.push(`${file}: \`trainer ${sub}\` is not a subcommand (in \`${code}\`)`);
        continue;
      }
      checked++;
      for (const flag of rest.match(/--[a-z][\w-]*/g) ?? []) {
        if (!new RegExp(`${flag}\\b`).test(text)) wrong.push(`${file}: \`trainer ${sub}\` has no ${flag} (in \`${code}\`)`);
      }
    }
  }
  assert.ok(checked >= 8, `only ${checked} trainer commands found`);
  assert.deepEqual(wrong, []);
});

test("the wasm sizes in the sheet are those of the package just built", () => {
  const report = JSON.parse(readFileSync(join(root, "pkg", "build-report.json"), "utf8"));
  const sheet = readFileSync(join(root, "BENCHMARKS.md"), "utf8");
  for (const build of report.builds) {
    const row = sheet.split("\n").find((line) => line.startsWith(`| \`${build.file}\``));
    assert.ok(row, `BENCHMARKS.md has a row for ${build.file}`);
    const cells = row.split("|").map((c) => c.trim());
    const [wasm, gzip] = [cells.at(-3), cells.at(-2)].map((c) => Number.parseFloat(c) * 1e6);
    // Within 3%: another rustc or a small change moves a few kB; a new
    // feature or a lost optimisation moves more, and the sheet must say so.
    for (const [name, stated, built] of [["wasm", wasm, build.wasm], ["gzipped", gzip, build.wasmGzip]]) {
      assert.ok(Math.abs(stated - built) / built < 0.03, `${build.file} ${name}: the sheet says ${stated / 1e6} MB, make pkg built ${(built / 1e6).toFixed(3)} MB`);
    }
  }
});
