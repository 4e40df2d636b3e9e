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

/** The model menu's entry for model `i`: name, size, cost, Set5 PSNR (measured, and the paper's). */
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
  select.append(option);
}

// index.json says what input each network takes (web/build.mjs reads it from the weights):
// one that refines a bicubic upscale runs at any scale.
export function canUpscale(m, scale) {
  return m.input === "bicubic" || m.scales.includes(scale);
}

/**
 * The index of the fast model shipped for `scale` (of the LR-space networks,
 * SESR and FSRCNN, the one with the fewest multiply-adds: sesr-m5 rather than
 * the larger sesr-m11), else of any model that does it, else -1.
 */
export function fastModelFor(models, scale) {
  const cost = (m) => m.macsPerLrPixel?.[`x${scale}`] ?? Infinity;
  let fast = -1;
  models.forEach((m, i) => {
    const lrSpace = (m.arch === "sesr" || m.arch === "fsrcnn") && m.scales.includes(scale);
    if (lrSpace && (fast < 0 || cost(m) < cost(models[fast]))) fast = i;
  });
  return fast >= 0 ? fast : models.findIndex((m) => canUpscale(m, scale));
}

