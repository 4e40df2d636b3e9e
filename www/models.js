// The demo's model menu: what each entry says of a model (from
// weights/index.json, or a visitor's own file), and which model does a scale.

// Published Set5 PSNR (dB) per architecture and scale, for the model list.
const PUBLISHED = {
  srcnn: { 2: 36.66, 3: 32.75, 4: 30.48 },
  vdsr: { 2: 37.53, 3: 33.66, 4: 31.35 },
  "edsr-baseline": { 2: 37.99, 3: 34.37, 4: 32.09 },
  edsr: { 2: 38.11, 3: 34.65, 4: 32.46 },
  srresnet: { 4: 32.05 },
  fsrcnn: { 2: 37.0, 3: 33.16, 4: 30.71 },
  // SESR (MLSys 2022), x2, by preset: M5, M11, XL.
  "sesr-m5": { 2: 37.39 },
  "sesr-m11": { 2: 37.58 },
  "sesr-xl": { 2: 37.77 },
};

function family(model) {
  if (model.arch === "sesr") return model.config.features === 32 ? "sesr-xl" : `sesr-m${model.config.blocks}`;
  if (model.arch === "edsr") return model.config.resblocks === 32 || model.config.features === 256 ? "edsr" : "edsr-baseline";
  return model.arch;
}

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
  const published = PUBLISHED[family(m)] ?? {};
  const measured = m.provenance?.set5_psnr ?? {};
  const first = m.scales[0];
  const score = measured[`x${first}`] ? `Set5 x${first} ${measured[`x${first}`].toFixed(2)} dB` : "";
  const paper = published[first] ? `paper ${published[first]} dB` : "";
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
 * The index of the model of `kind` ("clean" or "photo") for `scale` that the
 * package's `{ scale, kind }` would load: of the LR-space networks (SESR,
 * FSRCNN) of that kind, the one with the fewest multiply-adds (sesr-m5
 * rather than the larger sesr-m11); else of any model that does the scale,
 * else -1.
 */
export function fastModelFor(models, scale, kind = "clean") {
  const cost = (m) => m.macsPerLrPixel?.[`x${scale}`] ?? Infinity;
  let fast = -1;
  models.forEach((m, i) => {
    const lrSpace = (m.arch === "sesr" || m.arch === "fsrcnn") && m.scales.includes(scale) && kindOf(m) === kind;
    if (lrSpace && (fast < 0 || cost(m) < cost(models[fast]))) fast = i;
  });
  if (fast >= 0) return fast;
  // No model of that kind for the scale: the clean one, else any that does it.
  return kind !== "clean" ? fastModelFor(models, scale, "clean") : models.findIndex((m) => canUpscale(m, scale));
}
