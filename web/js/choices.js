// What the options of Upscaler.create and createWorkerUpscaler choose
// (a shipped model by name or by { scale, kind }, a wasm build), checked
// alike on the main thread and for workers.

import { ScaleError } from "./errors.js";

/** A bare name of a model shipped in the package ("edsr-small-x2"): no slash, no dot, no scheme. */
export function isModelName(weights) {
  return typeof weights === "string" && /^[a-z0-9][a-z0-9_-]*$/i.test(weights);
}

/** Whether `wasm` names the builds (`{ webgpu, cpu }`) rather than being one .wasm (a URL, bytes, a Module). */
export function isBuildChoice(wasm) {
  return wasm !== null && typeof wasm === "object" && Object.getPrototypeOf(wasm) === Object.prototype;
}

/**
 * The models shipped in the package, by kind and scale: what `{ scale, kind }`
 * without `weights` loads. "clean": the fast network trained on the papers'
 * clean bicubic downscales (SESR-M5), sharpest on PNGs, renders and
 * screenshots. "photo": trained on JPEG and sensor noise (docs/degradations.md),
 * for photos as phones and websites save them.
 */
export const SHIPPED_MODELS = Object.freeze({
  clean: Object.freeze({ 2: "sesr-m5-x2", 3: "sesr-m5-x3", 4: "sesr-m5-x4" }),
  photo: Object.freeze({ 2: "sesr-m11-x2-photo", 4: "sesr-m5-x4-photo" }),
});

/** The "clean" models, what `{ scale }` alone loads. */
export const DEFAULT_MODELS = SHIPPED_MODELS.clean;

/** `options.weights`, or the shipped model for `options.scale` and `options.kind`; `who` names the caller in errors. */
export function weightsOrDefault(options, who) {
  if (options == null || (options.weights == null && options.scale == null)) {
    throw new TypeError(`${who} needs { weights } (bytes, a URL or a shipped model's name) or { scale } (2, 3 or 4: the fast model shipped for it)`);
  }
  const kind = options.kind ?? "clean";
  if (!Object.hasOwn(SHIPPED_MODELS, kind)) {
    throw new TypeError(`${who}: kind must be ${Object.keys(SHIPPED_MODELS).map((k) => `"${k}"`).join(" or ")}, not ${JSON.stringify(options.kind)}`);
  }
  if (options.weights != null) {
    if (options.kind != null) throw new TypeError(`${who}: give { weights } or { scale, kind }, not both: kind picks one of the shipped models`);
    return options.weights;
  }
  const name = SHIPPED_MODELS[kind][options.scale];
  if (name === undefined) {
    const scales = Object.keys(SHIPPED_MODELS[kind]).map((s) => `x${s}`).join(", ");
    throw new ScaleError(`no ${kind} model is shipped for scale ${options.scale}: the ${kind} models are ${scales}; pass { weights } for others`);
  }
  return name;
}

/** The TypeError for an `onRows` option that is not a function, else undefined. */
export function onRowsError(onRows) {
  if (onRows === undefined || typeof onRows === "function") return undefined;
  return new TypeError("onRows must be a function (rows: ImageData, top: number, height: number) => void");
}
