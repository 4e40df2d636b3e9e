// The demo's model menu: what each entry says of a model (from
// weights/index.json, or a visitor's own file), and which model does a scale.

import { SHIPPED_MODELS } from "./pkg/index.js";

export function humanCount(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}K`;
}

export function humanBytes(n) {
  return n > 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.round(n / 1024)} kB`;
}

// The menu's groups, in a visitor's words: what images each kind of model is for.
const GROUPS = {
  photo: "Photos: JPEG, noise",
  clean: "Clean images: PNG, renders, screenshots",
  gan: "Sharp details (GAN)",
  own: "Your weights",
};

/**
 * What a model was trained for (weights/index.json's `kind`, from its
 * training recipe): "photo" (degraded inputs), "gan", or "clean".
 */
export function kindOf(m) {
  return m.own ? "own" : (m.kind ?? "clean");
}

function groupFor(select, kind) {
  const label = GROUPS[kind] ?? GROUPS.clean;
  let group = [...select.querySelectorAll("optgroup")].find((g) => g.label === label);
  if (!group) {
    group = document.createElement("optgroup");
    group.label = label;
    // Groups in GROUPS' order, whatever order the models come in.
    const order = Object.values(GROUPS);
    const after = [...select.querySelectorAll("optgroup")].find((g) => order.indexOf(g.label) > order.indexOf(label));
    select.insertBefore(group, after ?? null);
  }
  return group;
}

/** The model menu's entry for model `i` (its value), under its kind's group: name, size, cost, Set5 PSNR (measured, and the paper's). */
export function addModelOption(select, m, i) {
  // The paper's figure for the preset the network is (weights/index.json, from upres_models::presets).
  const published = m.publishedSet5 ?? {};
  const measured = m.provenance?.set5_psnr ?? {};
  const first = m.scales[0];
  const score = measured[`x${first}`] ? `Set5 x${first} ${measured[`x${first}`].toFixed(2)} dB` : "";
  const paper = published[`x${first}`] ? `paper ${published[`x${first}`].toFixed(2)} dB` : "";
  const name = m.file.replace(/\.f16\.safetensors$|\.safetensors$/, "");
  const macs = m.macsPerLrPixel?.[`x${first}`];
  const cost = macs ? ` · ${humanCount(macs)} MACs/px` : "";
  const slow = name.startsWith("vdsr-reference") ? " · slow reference" : "";
  const option = new Option("", String(i));
  option.dataset.file = m.file;
  option.dataset.label = `${m.own ? "yours: " : ""}${name}${slow} · ${humanBytes(m.bytes)}${cost}${score ? " · " + score : ""}${paper ? " (" + paper + ")" : ""}`;
  option.textContent = option.dataset.label;
  groupFor(select, kindOf(m)).append(option);
}

// index.json says what input each network takes (web/build.mjs reads it from the weights):
// one that refines a bicubic upscale runs at any scale.
export function canUpscale(m, scale) {
  return m.input === "bicubic" || m.scales.includes(scale);
}

/**
 * The index of the model of `kind` ("clean" or "photo") for `scale`: the one
 * the package's `{ scale, kind }` loads (SHIPPED_MODELS). Without one of
 * that kind, the clean one; else any model that does the scale; else -1.
 */
export function fastModelFor(models, scale, kind = "clean") {
  const name = SHIPPED_MODELS[kind]?.[scale];
  const shipped = name ? models.findIndex((m) => !m.own && m.file === `${name}.f16.safetensors`) : -1;
  if (shipped >= 0) return shipped;
  return kind !== "clean" ? fastModelFor(models, scale, "clean") : models.findIndex((m) => canUpscale(m, scale));
}
