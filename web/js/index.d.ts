/** RGBA pixels, 4 bytes per pixel, rows top to bottom. `ImageData` is one. */
export interface RgbaImage {
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/**
 * Where weights come from: bytes, a URL fetched with progress (in Node also a
 * file path or a `file:` URL), or the bare name of a model this package ships
 * (`"edsr-small-x2"`: `weights/edsr-small-x2.f16.safetensors` inside the package).
 */
export type WeightsSource = Uint8Array | ArrayBuffer | Blob | URL | string;

/** Anything `upscale` accepts. */
export type ImageInput =
  | RgbaImage
  | ImageData
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | Blob
  | ArrayBuffer
  | Uint8Array;

export type BackendChoice = "auto" | "webgpu" | "cpu";
export type Backend = "webgpu" | "cpu";

/**
 * The shipped models, by what they were trained on. "clean": the papers'
 * clean bicubic downscales (SESR-M5 at x2, x3 and x4), the sharpest on PNGs,
 * renders and screenshots. "photo": JPEG artifacts and sensor noise as phones
 * and websites leave them (x2: SESR-M11, x4: SESR-M5), which it removes
 * instead of sharpening them.
 */
export type ModelKind = "clean" | "photo";

/**
 * The name of the model `{ scale, kind }` loads, by kind and scale (e.g.
 * `SHIPPED_MODELS.photo[2]` is "sesr-m11-x2-photo"; its file is
 * `weights/<name>.f16.safetensors`, described in `weights/index.json`). A
 * scale missing from a kind has no model of that kind.
 */
export const SHIPPED_MODELS: Readonly<Record<ModelKind, Readonly<Partial<Record<2 | 3 | 4, string>>>>>;

export interface UpscalerOptions {
  /** An upres weights file (safetensors with upres metadata), f32 or f16. Leave it out to get the model shipped for `scale` and `kind`. */
  weights?: WeightsSource;
  /** Without `weights`: the scale (2, 3 or 4) whose shipped model to load. */
  scale?: 2 | 3 | 4;
  /** Without `weights`: which shipped model for `scale` (default "clean"); see {@link ModelKind}. */
  kind?: ModelKind;
  /** "auto" (default) tries WebGPU and falls back to the CPU, saying why in `info.fallbackReason`. */
  backend?: BackendChoice;
  /** Called as the weights download: bytes so far and in all (0 if unknown). */
  onDownloadProgress?: (loaded: number, total: number) => void;
  /** Stops the weights download. */
  signal?: AbortSignal;
  /**
   * The weights file's expected content, as Subresource Integrity writes it:
   * `"sha256-"` and the base64 SHA-256 of the file (`weights/index.json`
   * gives it for the shipped models, which use it by themselves). Browsers
   * keep downloaded weights in the Cache API; with `integrity` a cached copy
   * is used without any request, and a download of other bytes is a
   * `WeightsError`. Without it, a cached copy is revalidated with the server.
   */
  integrity?: string;
  /** Where to load the .wasm from, if not beside this file: see {@link init}. */
  wasm?: WasmSource | WasmBuilds;
}

export interface Provenance {
  author: string;
  training_data: string;
  iterations?: number | null;
  /** Set5 PSNR on the published protocol per scale, e.g. `{ x2: 37.56 }`. */
  set5_psnr: Record<string, number>;
  notes: string;
  training_config?: unknown;
}

export interface UpscalerInfo {
  /** "srcnn" | "vdsr" | "edsr" | "mdsr" | "srresnet" | "fsrcnn" | "sesr" */
  readonly arch: string;
  /** The scales the weights were trained for. */
  readonly scales: number[];
  /** "y": the network sees luma only (Cb/Cr go through bicubic); "rgb": all three channels. */
  readonly colorSpace: "y" | "rgb";
  /** "bicubic": the network refines a bicubic upscale (any scale); "low_res": it upsamples by itself. */
  readonly input: "bicubic" | "low_res";
  /** Number of parameters. */
  readonly params: number;
  /** Multiply-adds per low-resolution input pixel at each scale, e.g. `{ x2: 13520 }`: the cost to compare models by. */
  readonly macsPerLrPixel: Record<string, number>;
  /** How the weights file stores them. */
  readonly dtype: "f32" | "f16";
  /** The backend running the model now. */
  readonly backend: Backend;
  /** Why the CPU runs although WebGPU was tried (no adapter, device lost, ...). */
  readonly fallbackReason?: string;
  /** The model's configuration, as stored in the weights. */
  readonly config: Record<string, unknown> & { arch: string };
  readonly provenance: Provenance;
  /** Which scales the network makes itself, in a sentence (other scales resize its output with bicubic). */
  readonly scaleNote: string;
  /**
   * How far an output pixel reads around the input pixel it lies over, in
   * network-input pixels (9 for SESR-M5, 20 for VDSR); `null` when a layer
   * reads the whole image.
   */
  readonly receptiveRadius: number | null;
  /** The `overlap` used when none is given: twice the receptive radius plus two (tiles then equal the untiled output), at most 32. */
  readonly defaultOverlap: number;
}

export interface UpscaleOptions {
  /** Output size as a factor (default 2; non-integer allowed). Give `scale` or `width`/`height`. */
  scale?: number;
  /** Exact output width; with only one of width/height the aspect ratio is kept. */
  width?: number;
  /** Exact output height. */
  height?: number;
  /**
   * Largest tile side in network-input pixels: memory is bounded by it, not
   * by the image. Each side is cut into the fewest equal tiles of at most
   * this size (a 256x256 input to SESR-M5 is four tiles of 138). Default 192 (as trainer upscale) in workers and Node; on a page's
   * main thread, where each tile blocks the page, the largest tile of at most
   * 192 that keeps one tile near a billion multiply-adds, and at least the
   * overlap plus 64 (96 for VDSR, 192 for the fast models).
   */
  tileSize?: number;
  /**
   * Overlap between tiles in network-input pixels, blended without seams.
   * Default: the model's `info.defaultOverlap` (20 for SESR-M5, 32 for
   * VDSR), with which the tiles give the untiled output.
   */
  overlap?: number;
  /** Called after each tile. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting stops the work within one tile; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /** Worker upscalers only: transfer an ImageData's buffer instead of copying it (it is detached). */
  transfer?: boolean;
  /**
   * Run only part `index` of `of` (the bands i with i % of == index, with
   * `onRows`): how a worker pool splits one upscale. The parts together give
   * the whole upscale's rows; progress counts this part's tiles of all parts'.
   */
  part?: { index: number; of: number };
  /**
   * Also return MATLAB's bicubic of the same decoded pixels at the output
   * size, as `result.bicubic` (the "before" of a comparison): the input is
   * decoded once for both.
   */
  bicubic?: boolean;
}

/**
 * `upscale` with `onRows`: the output goes to `onRows` band by band, top to
 * bottom, as each band is finished (a band is a row of tiles or more), and is
 * never held whole: for outputs too large to keep in memory (a 24-megapixel
 * photo at x4 is 384 megapixels), drawn into a canvas or encoded piece by piece.
 */
export interface UpscaleRowsOptions extends UpscaleOptions {
  /** `rows`: RGBA of the full output width; `top`: the output row it starts at; `height`: the whole output's. */
  onRows: (rows: ImageData, top: number, height: number) => void;
}

/** What `upscale` with `onRows` resolves to: the output's size, no pixels. */
export interface UpscaledRows {
  readonly width: number;
  readonly height: number;
  readonly modelScale?: number;
  readonly notes?: string[];
  /** With `bicubic: true`: MATLAB's bicubic of the input at the output size. */
  readonly bicubic?: ImageData;
}

/** An upscaled image: `ImageData` in browsers, the same shape in Node. */
export interface UpscaledImage extends ImageData {
  /** With `bicubic: true`: MATLAB's bicubic of the input at the output size. */
  readonly bicubic?: ImageData;
  /**
   * The scale the network itself produced, for networks that take the
   * low-resolution image (EDSR, SESR, ...): 2 when x3 was asked of an
   * x2-only model (its x2 output was then resized with bicubic). Absent for
   * networks that refine a bicubic upscale (VDSR, SRCNN), which run at any scale.
   */
  readonly modelScale?: number;
  /**
   * What decoding the input file did to its pixels, one line each, when it
   * did something: "photo.jpg: turned as its EXIF orientation 6 asks
   * (rotated 90 degrees clockwise)", "anim.gif: an animated image; only its
   * first frame is used". Absent otherwise.
   */
  readonly notes?: string[];
}

export interface Quality {
  /** dB, on the Y channel of MATLAB's rgb2ycbcr, `round(scale)` pixels shaved. */
  psnr: number;
  ssim: number;
}

export interface EvaluateOptions {
  /** The scale to degrade and restore by (one the weights support; default 2). */
  scale?: number;
  /**
   * Save the low-resolution image as a JPEG of this quality (1-100, 4:2:0
   * chroma) before restoring it, as a photo is: what the "photo" models are
   * for. The same LR as `trainer eval --degrade jpeg:Q`.
   */
  jpegQuality?: number;
  tileSize?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface Evaluation {
  /** The input, modcropped to the scale: the ground truth. */
  hr: ImageData;
  /** The low-resolution image made with MATLAB's bicubic (and saved as a JPEG, with `jpegQuality`). */
  lr: ImageData;
  bicubic: ImageData;
  model: ImageData;
  bicubicQuality: Quality;
  modelQuality: Quality;
}

export interface FeaturesOptions {
  scale?: number;
  /** Largest network input in pixels (default 512*512): every layer is kept at once. */
  maxPixels?: number;
  /** Channels shown per layer (default 64). */
  maxChannels?: number;
}

export interface FeatureMap {
  /** "input", "layer1", ... */
  name: string;
  channels: number;
  width: number;
  height: number;
  /** The channels as a gray grid, each normalised to its own range. */
  image: ImageData;
}

/** The base class of the package's errors; `name` is the subclass's name. */
export declare class UpresError extends Error {}
/** Not an upres weights file, a damaged one, one that cannot be downloaded, or an unknown model name. */
export declare class WeightsError extends UpresError {}
/** A scale these weights cannot produce. */
export declare class ScaleError extends UpresError {}
/** An undecodable or empty image. */
export declare class ImageError extends UpresError {}
/** The output would not fit in the memory the library allows itself; the message suggests what to do. */
export declare class ImageTooLargeError extends UpresError {}
/** `backend: "webgpu"` without WebGPU, a worker that cannot start, no Web Worker in this runtime. */
export declare class BackendError extends UpresError {}
/** The Upscaler was used after `dispose()`. */
export declare class InvalidStateError extends UpresError {}

/** The `name` of every error the package throws: its classes, `TypeError` (bad options) and `AbortError` (a `DOMException`). */
export type UpresErrorName =
  | "WeightsError"
  | "ScaleError"
  | "ImageError"
  | "ImageTooLargeError"
  | "BackendError"
  | "AbortError"
  | "InvalidStateError"
  | "TypeError";

export interface UpscalerApi {
  readonly info: UpscalerInfo;
  upscale(input: ImageInput, options: UpscaleRowsOptions): Promise<UpscaledRows>;
  upscale(input: ImageInput, options?: UpscaleOptions): Promise<UpscaledImage>;
  evaluate(input: ImageInput, options?: EvaluateOptions): Promise<Evaluation>;
  features(input: ImageInput, options?: FeaturesOptions): Promise<FeatureMap[]>;
  /** The input resized with MATLAB's bicubic (the "before" of a comparison). */
  bicubic(input: ImageInput, options?: { scale?: number; width?: number; height?: number }): Promise<ImageData>;
  dispose(): void;
}

/** A model on WebGPU or the CPU, in this thread. Its methods are those of
 * `UpscalerApi` (merged below); `upscale` gives an `ImageData` in browsers and
 * an object of the same shape in Node. */
export declare class Upscaler {
  private constructor();
  static create(options: UpscalerOptions): Promise<Upscaler>;
}
export interface Upscaler extends UpscalerApi {}

export interface WorkerUpscalerOptions extends Omit<UpscalerOptions, "signal" | "wasm"> {
  /**
   * How many workers share the upscales, each with its own copy of the model
   * (default: one per core, at most 4, fewer where `navigator.deviceMemory`
   * is short). Upscales by an integer factor are split among them band by
   * band; the rest runs in the first. On WebGPU one worker drives the GPU.
   */
  workers?: number;
  /**
   * Workers made from `upres/worker` yourself (one, or an array: the pool);
   * by default they are made. Several upscalers may share them.
   */
  worker?: Worker | Worker[];
  /** Where your app serves the package's `worker.js`, if not beside `index.js` (ignored with `worker`). */
  workerUrl?: string | URL;
  /** Where the worker loads the .wasm from (a URL, or a `WebAssembly.Module`), if not beside `index.js`: see {@link init}. */
  wasm?: string | URL | WebAssembly.Module | BufferSource | { webgpu?: string | URL | WebAssembly.Module | BufferSource; cpu?: string | URL | WebAssembly.Module | BufferSource };
}

/** The same API with the model in a Web Worker; pixels are transferred, not copied. Browsers only (a `BackendError` in Node). */
export declare function createWorkerUpscaler(options: WorkerUpscalerOptions): Promise<WorkerUpscaler>;

/** The default pool size of createWorkerUpscaler: one worker a core, at most 4, fewer where `navigator.deviceMemory` is short. */
export declare function defaultWorkerCount(): number;

/** An upscaler in Web Workers. */
export interface WorkerUpscaler extends UpscalerApi {
  /** How many workers share its upscales (1 on WebGPU). */
  readonly workers: number;
}

/** A .wasm file: its URL, a Response, its bytes or the compiled module. */
export type WasmSource = string | URL | Response | BufferSource | WebAssembly.Module;

/**
 * The two builds of the wasm: `webgpu` (upres_core_bg.wasm: WebGPU and the
 * CPU) and `cpu` (upres_cpu_bg.wasm: the CPU only, less than half the size).
 */
export interface WasmBuilds {
  webgpu?: WasmSource;
  cpu?: WasmSource;
}

/** The compiled module of the build `init` loaded, as `{ webgpu }` or `{ cpu }` (for handing to workers), else undefined. */
export declare function wasmModule(): { webgpu: WebAssembly.Module } | { cpu: WebAssembly.Module } | undefined;

/**
 * Load the WebAssembly module now (it loads by itself on first use). With
 * no argument it loads the WebGPU build where the browser has a WebGPU
 * adapter and the CPU-only build elsewhere (Node, browsers without WebGPU),
 * each from beside this file. A single source is the WebGPU build's .wasm;
 * `{ webgpu, cpu }` gives either build or both (both: chosen as above).
 */
export default function init(wasm?: WasmSource | WasmBuilds): Promise<unknown>;

export declare function decodeImage(bytes: Uint8Array | ArrayBuffer): Promise<ImageData & { notes?: string[] }>;
export declare function encodePng(image: RgbaImage): Promise<Uint8Array>;
export declare function resizeBicubic(input: ImageInput, options?: { scale?: number; width?: number; height?: number }): Promise<ImageData>;
export declare function readWeightsInfo(weights: WeightsSource): Promise<UpscalerInfo>;
export declare function toPixels(input: ImageInput): Promise<RgbaImage>;
/** The URL of a model shipped in this package, by name (`"edsr-small-x2"`). */
export declare function shippedWeightsUrl(name: string): URL;
export declare function loadWeightsBytes(
  weights: WeightsSource,
  options?: { onProgress?: (loaded: number, total: number) => void; signal?: AbortSignal },
): Promise<Uint8Array>;
