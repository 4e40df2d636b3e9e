// The package's named errors, as real classes: `err instanceof WeightsError`
// works on the main thread and from the worker alike, and `err.name` stays
// the same string as before. Errors thrown inside the wasm carry only a
// `name`; `asUpresError` turns them into instances of these classes once, at
// the boundary. AbortError stays a DOMException, as the platform makes it.

export class UpresError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Not an upres weights file, a damaged one, one that cannot be downloaded, or an unknown model name. */
export class WeightsError extends UpresError {}
/** A scale these weights cannot produce. */
export class ScaleError extends UpresError {}
/** An undecodable or empty image. */
export class ImageError extends UpresError {}
/** The output would not fit in the memory the library allows itself. */
export class ImageTooLargeError extends UpresError {}
/** `backend: "webgpu"` without a WebGPU adapter, a worker that cannot start, and other runtime failures. */
export class BackendError extends UpresError {}
/** The Upscaler was used after `dispose()`. */
export class InvalidStateError extends UpresError {}

const classes = { WeightsError, ScaleError, ImageError, ImageTooLargeError, BackendError, InvalidStateError };

/** An error made from a `{ name, message }` (from the wasm or a worker): the matching class, a TypeError, or an AbortError. */
export function errorFrom({ name, message }) {
  if (name === "AbortError") return new DOMException(message, "AbortError");
  if (name === "TypeError") return new TypeError(message);
  if (name === "RangeError") return new RangeError(message);
  const Class = classes[name];
  if (Class) return new Class(message);
  const e = new Error(message);
  if (name) e.name = name;
  return e;
}

/** The AbortError of an aborted upscale: the signal's reason when it is one, as the platform's own APIs throw. */
export function abortError(signal) {
  const reason = signal?.reason;
  if (reason instanceof Error && reason.name === "AbortError") return reason;
  return new DOMException("The upscale was aborted", "AbortError");
}

/** `e` as an instance of its class, if it is one of ours that lost its class (thrown by the wasm or a worker). */
export function asUpresError(e) {
  if (e == null || typeof e !== "object") return e;
  if (e instanceof UpresError || e instanceof TypeError || e instanceof RangeError || e instanceof DOMException) return e;
  if (e.name === "TypeError" || e.name === "AbortError" || e.name in classes) return errorFrom(e);
  return e;
}
