// The demo page. All model work runs in the upres workers (createWorkerUpscaler);
// this file only handles input, display and the comparison viewer.

import { createWorkerUpscaler, defaultWorkerCount, ImageTooLargeError } from "./pkg/index.js";
import { centreCrop, drawInto, fitZoom, imageDataCanvas, renderFeatureMaps } from "./viewer.js";
import { addModelOption, canUpscale, fastModelFor, humanBytes, humanCount } from "./models.js";
import { inputKind, jpegQualityChoice, kindReason, wireJpegControls } from "./photo.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const SAMPLES = ["butterfly.png", "baby.png", "bird.png", "head.png", "woman.png"];

const state = {
  models: [],
  upscaler: null,
  upscalerKey: null,
  workers: null, // the upres workers: their wasm instances serve every model
  input: null, // { blob, name, bitmap, kind: "photo" | "clean" }
  modelByHand: false, // the visitor chose a model: a dropped file no longer picks one
  inputGeneration: 0, // counts dropped files, so that only the latest one's decode lands
  readingInput: false, // a dropped file is being decoded: Run waits for it
  result: null, // { before: canvas, after: canvas, image: ImageData, label }
  controller: null,
  view: { zoom: 1, cx: 0.5, cy: 0.5, fitted: true },
  busy: false,
};

function showMessage(text, kind = "error") {
  const m = $("message");
  m.textContent = text;
  m.className = `message ${kind === "info" ? "info" : ""}`;
  m.hidden = !text;
}

async function loadModels() {
  const response = await fetch("pkg/weights/index.json");
  if (!response.ok) throw new Error("the list of shipped weights (pkg/weights/index.json) is missing: run `make demo`");
  state.models = await response.json();
  for (const [i, m] of state.models.entries()) addModelOption($("model"), m, i);
  // The default is the fast low-resolution network (SESR, FSRCNN) shipped for the scale asked for.
  const wanted = params.get("model");
  const i = wanted ? state.models.findIndex((m) => m.file.startsWith(wanted)) : fastModelFor(state.models, Number($("scale").value));
  if (i >= 0) $("model").value = String(i);
  // A model named in the address is the visitor's choice: a dropped file does not change it.
  state.modelByHand = wanted !== null && i >= 0;
  describeModel();
}

/**
 * A weights file of the visitor's own (from `trainer export` or `trainer
 * import`): loaded in the page's workers, which check it as strictly as the
 * trainer does, then added to the model menu and chosen. It never leaves the
 * page: the bytes go to the workers, not to any server.
 */
async function addOwnWeights(file) {
  if (state.busy) return;
  setBusy(true);
  showMessage(`Checking ${file.name}…`, "info");
  try {
    const weights = new Uint8Array(await file.arrayBuffer());
    const backend = $("backend-choice").value;
    let up;
    try {
      up = await createWorkerUpscaler({ weights, worker: pageWorkers(), backend });
    } catch (e) {
      showMessage(`${file.name} was not added: ${e.message}`);
      return;
    }
    const m = { ...up.info, file: file.name, own: true, weights, bytes: weights.length };
    state.models.push(m);
    const i = state.models.length - 1;
    addModelOption($("model"), m, i);
    $("model").value = String(i);
    state.modelByHand = true; // the visitor's own weights stay chosen whatever is dropped next
    state.upscaler?.dispose();
    state.upscaler = up;
    state.upscalerKey = upscalerKey(i, backend);
    describeModel();
    showBackend(up.info, up.workers);
    const scales = m.scales.map((s) => `×${s}`).join(", ");
    showMessage(`${file.name}: ${m.arch.toUpperCase()} for ${scales}, added to the models and chosen. It stays in this page: nothing was uploaded.`, "info");
  } finally {
    setBusy(false);
  }
}

/** A scale the current model cannot do switches to the fast model for that scale. */
function scaleChanged() {
  const scale = Number($("scale").value);
  if (currentModel() && !canUpscale(currentModel(), scale)) {
    const i = fastModelFor(state.models, scale, state.input?.kind);
    if (i >= 0) $("model").value = String(i);
  }
  describeModel();
}

/** After a run, the model's menu entry says how long a 512x512 output took on this machine. */
function noteTiming(m, seconds, outputPixels) {
  const option = [...$("model").options].find((o) => o.dataset.file === m.file);
  if (!option || outputPixels <= 0) return;
  const per512 = (seconds * 512 * 512) / outputPixels;
  option.textContent = `${option.dataset.label} · ${per512 < 10 ? per512.toFixed(2) : per512.toFixed(0)} s per 512×512 here`;
}

function currentModel() {
  return state.models[Number($("model").value)];
}

function describeModel() {
  const m = currentModel();
  if (!m) return;
  const p = m.provenance ?? {};
  const scales = m.scales.map((s) => `×${s}`).join(", ");
  const trained = p.iterations ? `${p.iterations} iterations` : "";
  const macs = m.macsPerLrPixel?.[`x${m.scales[0]}`];
  const cost = macs ? `, ${humanCount(macs)} multiply-adds per low-resolution pixel at ×${m.scales[0]}` : "";
  $("model-about").textContent = `${m.arch.toUpperCase()} for ${scales}, ${m.params.toLocaleString("en")} parameters${cost}, ${m.colorSpace === "y" ? "on luma (Y)" : "on RGB"}. ${p.author ?? ""}${p.training_data ? ", trained on " + p.training_data : ""}${trained ? ", " + trained : ""}. ${p.notes ?? ""}`;
  // Scales: the weights' own, plus any for networks that refine a bicubic input.
  const scaleSelect = $("scale");
  // A scale stays selectable if any shipped model does it: choosing it switches to that model.
  for (const o of scaleSelect.options) o.disabled = !state.models.some((x) => canUpscale(x, Number(o.value)));
  if (!canUpscale(m, Number(scaleSelect.value))) scaleSelect.value = String(m.scales[0]);
  $("features").disabled = !canRun();
}

function upscalerKey(modelIndex, backend) {
  return `${modelIndex}|${backend}`;
}

/**
 * One pool of workers for the page (one a core, up to 4): another model or
 * backend loads into the same wasm instances.
 */
function pageWorkers() {
  state.workers ??= Array.from({ length: defaultWorkerCount() }, () => new Worker(new URL("./pkg/worker.js", import.meta.url), { type: "module", name: "upres" }));
  return state.workers;
}

async function getUpscaler() {
  const m = currentModel();
  const backend = $("backend-choice").value;
  const key = upscalerKey(Number($("model").value), backend);
  if (state.upscaler && state.upscalerKey === key) return state.upscaler;
  state.upscaler?.dispose();
  state.upscaler = null;
  $("backend").textContent = `Loading ${m.file}…`;
  // Shipped weights come from the browser's cache after the first download
  // (their hash is in weights/index.json); the first worker hands them to the others.
  let up;
  try {
    up = await createWorkerUpscaler({
      weights: m.own ? m.weights : `pkg/weights/${m.file}`,
      integrity: m.integrity,
      worker: pageWorkers(),
      backend,
      onDownloadProgress: (loaded, total) => setProgress(loaded, total, `Downloading weights: ${humanBytes(loaded)}${total ? " of " + humanBytes(total) : ""}`),
    });
  } catch (e) {
    // The next attempt starts from new workers, in case these are what failed.
    for (const w of state.workers) w.terminate();
    state.workers = null;
    throw e;
  }
  state.upscaler = up;
  state.upscalerKey = key;
  showBackend(up.info, up.workers);
  return up;
}

function showBackend(info, workers = 1) {
  const b = $("backend");
  b.dataset.backend = info.backend;
  b.dataset.workers = workers;
  b.title = info.backend === "cpu" ? `${workers} worker${workers > 1 ? "s" : ""}, one a core` : "";
  b.classList.toggle("cpu", info.backend === "cpu");
  b.textContent = info.backend === "webgpu" ? "Backend: WebGPU (your GPU)" : `Backend: CPU (WebAssembly SIMD)${info.fallbackReason ? " because " + info.fallbackReason : ""}`;
}

function setProgress(done, total, text) {
  $("progress").max = Math.max(total, 1);
  $("progress").value = done;
  $("progress-text").textContent = text ?? (total ? `${done} / ${total} tiles` : "");
}

/** An image is loaded and nothing is running or being read. */
function canRun() {
  return !state.busy && !state.readingInput && state.input !== null;
}

function setBusy(busy) {
  state.busy = busy;
  $("run").disabled = !canRun();
  $("cancel").disabled = !busy;
  $("features").disabled = !canRun();
  for (const id of ["model", "scale", "backend-choice"]) $(id).disabled = busy;
}

async function setInput(blob, name) {
  if (state.busy) {
    showMessage(`Still working on ${state.input?.name ?? "the last image"}: cancel it first, then drop ${name} again.`);
    return;
  }
  // Until the new image is decoded, Run must not start on the previous one,
  // and a slow decode must not replace an image dropped after it.
  const generation = ++state.inputGeneration;
  state.readingInput = true;
  setBusy(false);
  showMessage(`Reading ${name}…`, "info");
  let bitmap, kind;
  try {
    [bitmap, kind] = await Promise.all([createImageBitmap(blob), inputKind(blob)]);
  } catch {
    if (generation !== state.inputGeneration) return;
    // A file that is not an image loses nothing: the last image stays, with its result.
    state.readingInput = false;
    setBusy(false);
    showMessage(`“${name}” is not an image this browser can read. Use a PNG, JPEG, WebP, GIF or BMP file.`);
    return;
  }
  if (generation !== state.inputGeneration) {
    bitmap.close();
    return;
  }
  state.readingInput = false;
  state.input?.bitmap.close();
  state.input = { blob, name, bitmap, kind };
  const chose = state.modelByHand ? "" : chooseModelFor(kind);
  // A new image: show it, and put away what was shown for the last one.
  const preview = $("input-preview");
  if (preview.src.startsWith("blob:")) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(blob);
  preview.alt = `The image to upscale: ${name}`;
  preview.hidden = false;
  state.result = null;
  $("result").hidden = true;
  $("metrics").hidden = true;
  $("feature-panel").hidden = true;
  $("run").textContent = mode() === "truth" ? "Measure" : "Upscale";
  showMessage(`${name}: ${bitmap.width}×${bitmap.height}.${chose} Choose a model and scale, then ${mode() === "truth" ? "Measure" : "Upscale"}.`, "info");
  setBusy(false);
}

/**
 * Until the visitor picks a model, a dropped photo gets the photo model for
 * the scale and a lossless image the clean one; returns what to tell them.
 */
function chooseModelFor(kind) {
  const i = fastModelFor(state.models, Number($("scale").value), kind);
  if (i < 0 || String(i) === $("model").value) return "";
  $("model").value = String(i);
  describeModel();
  return kindReason(kind, state.models[i].file.replace(/\.f16\.safetensors$|\.safetensors$/, ""));
}

function mode() {
  return document.querySelector("input[name=mode]:checked").value;
}

async function run() {
  if (!canRun()) return;
  const scale = Number($("scale").value);
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  showMessage("");
  const started = performance.now();
  const timer = setInterval(() => ($("elapsed").textContent = `${((performance.now() - started) / 1000).toFixed(1)} s`), 100);
  let decodeNotes;
  try {
    const up = await getUpscaler();
    setProgress(0, 0, "Starting…");
    const onProgress = (done, total) => setProgress(done, total);
    const label = currentModel().file.replace(/\.f16\.safetensors$|\.safetensors$/, "");
    if (mode() === "truth") {
      const jpegQuality = jpegQualityChoice(document);
      const r = await up.evaluate(state.input.blob, { scale, jpegQuality, onProgress, signal: controller.signal });
      showResult(r.bicubic, r.model, label);
      showMetrics(r, scale, label, jpegQuality);
      decodeNotes = r.notes;
    } else {
      const { before, out, seconds } = await upscaleIntoCanvas(up, scale, onProgress, controller.signal, label);
      // The upscale alone (not the worker's start or the weights' download).
      noteTiming(currentModel(), seconds, out.width * out.height);
      decodeNotes = out.notes;
      // The panel has shown the bands as they came: only the "before" changes, the view stays.
      state.result.before = before;
      nameBefore(before);
      draw();
      $("metrics").hidden = true;
    }
    showBackend(up.info, up.workers);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    $("elapsed").textContent = `${seconds} s`;
    // What decoding did to the file (an EXIF orientation applied, an animation's first frame taken).
    const notes = (decodeNotes ?? []).map((line) => ` Note: ${line.replace(/^[^:]*: /, "")}.`).join("");
    const where = up.info.backend === "webgpu" ? "WebGPU" : up.workers > 1 ? `the CPU (${up.workers} workers)` : "the CPU";
    showMessage(`Done in ${seconds} s on ${where}.${notes}`, "info");
  } catch (e) {
    if (e.name === "AbortError") {
      showMessage("Cancelled.", "info");
      setProgress(0, 0, "Cancelled");
    } else {
      setProgress(0, 0, "");
      const suggestion = scale > 2 ? `Try ×2 instead of ×${scale}, or crop the image first.` : "Crop or shrink the image first.";
      showMessage(e.name === "ImageTooLargeError" ? `${e.message}. ${suggestion}` : e.message || String(e));
    }
  } finally {
    clearInterval(timer);
    state.controller = null;
    setBusy(false);
  }
}

// Chromium's canvas limits: a side of 32767 pixels, an area of 2^28 pixels.
const CANVAS_MAX_SIDE = 32767;
const CANVAS_MAX_PIXELS = 268435456;
// Up to this output size the "before" is MATLAB's bicubic, computed in the
// worker; past it (a photo of many megapixels) the input itself, scaled by
// the browser as it is drawn: a bicubic of 96 megapixels would hold another
// gigabyte or two for a comparison image.
const BICUBIC_BEFORE_MAX_PIXELS = 16e6;

/**
 * Upscale the current input into a canvas, drawn band by band as the worker
 * finishes them: neither the worker nor this page holds the output in any
 * other form, so a 24-megapixel photo at x2 (96 megapixels) fits.
 */
async function upscaleIntoCanvas(up, scale, onProgress, signal, label) {
  const { bitmap, name } = state.input;
  const [width, height] = [bitmap.width * scale, bitmap.height * scale];
  if (width > CANVAS_MAX_SIDE || height > CANVAS_MAX_SIDE || width * height > CANVAS_MAX_PIXELS) {
    throw new ImageTooLargeError(`image too large: the ${width}x${height} result of ${name} is more than a browser canvas can hold (${CANVAS_MAX_SIDE} pixels a side, ${Math.round(CANVAS_MAX_PIXELS / 1e6)} megapixels), so it could not be shown`);
  }
  const after = document.createElement("canvas");
  [after.width, after.height] = [width, height];
  const ctx = after.getContext("2d");
  if (ctx === null) throw new ImageTooLargeError(`image too large: this browser cannot make a ${width}x${height} canvas for the result`);
  // The result panel shows the bands as they come, beside the input.
  showResult(bitmap, after, label);
  let drawing = false;
  const onRows = (rows, top) => {
    ctx.putImageData(rows, 0, top);
    if (!drawing) {
      drawing = true;
      requestAnimationFrame(() => ((drawing = false), draw()));
    }
  };
  const started = performance.now();
  // One job: the file is decoded once in the workers, and the bicubic "before" comes with the rows.
  const bicubic = width * height <= BICUBIC_BEFORE_MAX_PIXELS;
  const out = await up.upscale(state.input.blob, { scale, bicubic, onProgress, signal, onRows });
  const seconds = (performance.now() - started) / 1000;
  const before = out.bicubic ? imageDataCanvas(out.bicubic) : bitmap;
  return { before, after, out, seconds };
}

/** What the left of the comparison shows: MATLAB's bicubic, or the input as the browser scales it. */
function nameBefore(before) {
  const text = before instanceof ImageBitmap ? "Input (browser-scaled)" : "Bicubic";
  $("before-tag").textContent = text;
  $("side-left-caption").textContent = text;
  $("view").setAttribute("aria-label", `${text} on the left, the model on the right; drag to pan, wheel to zoom`);
}

/** `before` and `after`: anything drawImage draws (the before may be smaller: it is drawn at the after's size). */
function showResult(before, after, label) {
  if (!(before instanceof HTMLCanvasElement || before instanceof ImageBitmap)) before = imageDataCanvas(before);
  if (!(after instanceof HTMLCanvasElement)) after = imageDataCanvas(after);
  nameBefore(before);
  state.result = { before, after, label };
  $("result").hidden = false;
  $("result-size").textContent = `${after.width}×${after.height}`;
  $("result-size").dataset.width = after.width;
  $("result-size").dataset.height = after.height;
  $("model-tag").textContent = label;
  $("side-right-caption").textContent = label;
  state.view = { zoom: 1, cx: 0.5, cy: 0.5, fitted: true };
  // The PNG is made when the link is first clicked: encoding tens of megapixels takes a while.
  const a = $("download");
  if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
  a.href = "#";
  a.download = `${state.input?.name.replace(/\.[^.]+$/, "") ?? "image"}-${label}-x${$("scale").value}.png`;
  draw();
}

/** The first click on the link makes the PNG, then follows the link. */
function download(e) {
  const a = $("download");
  if (a.href.startsWith("blob:") || !state.result) return;
  e.preventDefault();
  if (a.dataset.encoding) return;
  a.dataset.encoding = "yes";
  const canvas = state.result.after;
  showMessage(`Encoding the ${canvas.width}×${canvas.height} PNG…`, "info");
  canvas.toBlob((blob) => {
    delete a.dataset.encoding;
    if (blob === null || state.result?.after !== canvas) return showMessage(blob === null ? "This browser could not encode the result as a PNG." : "");
    a.href = URL.createObjectURL(blob);
    showMessage(`The PNG is ${humanBytes(blob.size)}.`, "info");
    a.click();
  }, "image/png");
}

function showMetrics(r, scale, label, jpegQuality) {
  $("metrics").hidden = false;
  const jpeg = jpegQuality === undefined ? "" : ` saved as a JPEG of quality ${jpegQuality} (4:2:0)`;
  $("metrics-protocol").textContent = `modcrop to ${scale}, ${Math.round(scale)} pixels shaved, LR by MATLAB bicubic${jpeg}`;
  $("metrics-model-name").textContent = label;
  for (const [key, q] of [["bicubic", r.bicubicQuality], ["model", r.modelQuality]]) {
    $(`psnr-${key}`).textContent = q.psnr.toFixed(2);
    $(`psnr-${key}`).dataset.value = String(q.psnr);
    $(`ssim-${key}`).textContent = q.ssim.toFixed(4);
  }
}

// --- the comparison viewer: one zoom/pan state for the slider and the side-by-side canvases

function draw() {
  if (!state.result) return;
  const side = document.querySelector("input[name=view]:checked").value === "side";
  $("slider-view").hidden = side;
  $("side-view").hidden = !side;
  document.querySelector(".split-label").hidden = side;
  let zoom;
  if (side) {
    zoom = drawInto($("side-left"), [{ image: state.result.before }], state.result.after, state.view);
    drawInto($("side-right"), [{ image: state.result.after }], state.result.after, state.view);
  } else {
    const canvas = $("view");
    const split = (canvas.clientWidth * Number($("split").value)) / 100;
    zoom = drawInto(canvas, [{ image: state.result.before, to: split }, { image: state.result.after, from: split }], state.result.after, state.view);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(split - 1, 0, 2, canvas.clientHeight);
  }
  $("zoom-level").textContent = `${zoom >= 1 ? zoom.toFixed(zoom % 1 ? 1 : 0) : zoom.toFixed(2)}×`;
}

function setZoom(zoom, canvas = $("view")) {
  const current = state.view.fitted ? fitZoom(canvas, state.result.after) : state.view.zoom;
  state.view.zoom = Math.min(32, Math.max(0.05, zoom ?? current));
  state.view.fitted = false;
  draw();
}

function attachPanZoom(canvas) {
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    if (!state.result) return;
    drag = { x: e.clientX, y: e.clientY, cx: state.view.cx, cy: state.view.cy };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const zoom = state.view.fitted ? fitZoom(canvas, state.result.after) : state.view.zoom;
    state.view.cx = drag.cx - (e.clientX - drag.x) / (state.result.after.width * zoom);
    state.view.cy = drag.cy - (e.clientY - drag.y) / (state.result.after.height * zoom);
    draw();
  });
  canvas.addEventListener("pointerup", () => (drag = null));
  canvas.addEventListener("wheel", (e) => {
    if (!state.result) return;
    e.preventDefault();
    const zoom = state.view.fitted ? fitZoom(canvas, state.result.after) : state.view.zoom;
    setZoom(zoom * (e.deltaY < 0 ? 1.25 : 0.8), canvas);
  }, { passive: false });
}

// --- feature maps (the VDSR paper's Figure 2)

async function showFeatures() {
  if (!canRun()) return;
  setBusy(true);
  showMessage("");
  try {
    const up = await getUpscaler();
    // A centre crop: every layer's activations are kept at once.
    const crop = centreCrop(state.input.bitmap, 64);
    const side = crop.width;
    const scale = Number($("scale").value);
    const maps = await up.features(crop, { scale, maxChannels: 16 });
    renderFeatureMaps($("feature-maps"), maps, 16);
    $("feature-about").textContent = `${currentModel().arch.toUpperCase()}, ${side}×${side} centre crop at ×${scale}; each channel scaled to its own range`;
    $("feature-panel").hidden = false;
    showBackend(up.info, up.workers);
  } catch (e) {
    showMessage(e.message || String(e));
  } finally {
    setBusy(false);
  }
}

// --- wiring

/** A dropped or picked file: weights join the model menu, anything else is the input image. */
function takeFile(file) {
  if (/\.safetensors$/i.test(file.name)) addOwnWeights(file);
  else setInput(file, file.name);
}

function wire() {
  const drop = $("drop");
  drop.addEventListener("click", (e) => {
    if (e.target.tagName !== "LABEL") $("file").click();
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      $("file").click();
    }
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer?.files?.[0];
    if (file) takeFile(file);
  });
  $("file").addEventListener("change", (e) => {
    const file = e.target.files?.[0];
    if (file) takeFile(file);
  });
  document.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === "file");
    const file = item?.getAsFile();
    if (file) setInput(file, file.name || "pasted image");
  });
  for (const name of SAMPLES) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = name.replace(".png", "");
    b.addEventListener("click", async () => {
      const r = await fetch(`samples/${name}`);
      if (r.ok) setInput(await r.blob(), name);
      else showMessage(`sample ${name} is missing`);
    });
    $("samples").append(b);
  }
  $("run").addEventListener("click", run);
  $("download").addEventListener("click", download);
  $("cancel").addEventListener("click", () => state.controller?.abort());
  $("features").addEventListener("click", showFeatures);
  $("model").addEventListener("change", () => {
    state.modelByHand = true;
    describeModel();
  });
  $("weights-file").addEventListener("change", (e) => {
    const file = e.target.files?.[0];
    if (file) addOwnWeights(file);
    e.target.value = "";
  });
  $("scale").addEventListener("change", scaleChanged);
  for (const r of document.querySelectorAll("input[name=mode]")) {
    r.addEventListener("change", () => ($("run").textContent = mode() === "truth" ? "Measure" : "Upscale"));
  }
  wireJpegControls(document, mode);
  for (const r of document.querySelectorAll("input[name=view]")) r.addEventListener("change", draw);
  $("split").addEventListener("input", draw);
  $("zoom-in").addEventListener("click", () => setZoom((state.view.fitted ? fitZoom($("view"), state.result.after) : state.view.zoom) * 1.5));
  $("zoom-out").addEventListener("click", () => setZoom((state.view.fitted ? fitZoom($("view"), state.result.after) : state.view.zoom) / 1.5));
  $("zoom-fit").addEventListener("click", () => {
    state.view = { zoom: 1, cx: 0.5, cy: 0.5, fitted: true };
    draw();
  });
  $("zoom-pixel").addEventListener("click", () => setZoom(1));
  for (const c of [$("view"), $("side-left"), $("side-right")]) attachPanZoom(c);
  window.addEventListener("resize", draw);
  const backend = params.get("backend");
  if (backend) $("backend-choice").value = backend;
}

/** After the first visit the page works offline (sw.js stores it, the package and its wasm); say so once it is stored. */
async function offerOffline() {
  if (!("serviceWorker" in navigator)) {
    $("offline").textContent = "This browser cannot keep the page for offline use.";
    return;
  }
  try {
    await navigator.serviceWorker.register("sw.js");
    await navigator.serviceWorker.ready;
    $("offline").textContent = "Works offline: this page, upres and the models you have used are stored in your browser.";
  } catch (e) {
    $("offline").textContent = `Offline use is not available here: ${e.message}`;
  }
}

wire();
offerOffline();
loadModels()
  .then(async () => {
    // Load the default model now, so the page says which backend runs.
    await getUpscaler();
    setProgress(0, 0, "");
  })
  .catch((e) => showMessage(e.message || String(e)));
