// Photos and clean images: which kind of model suits a dropped file, and the
// ground-truth mode's JPEG (what the photo models are for, made visible).

/**
 * "photo" for a file saved with lossy compression as cameras and websites
 * save photos (JPEG, lossy WebP, AVIF, HEIC), else "clean" (PNG, GIF, BMP,
 * lossless WebP: screenshots, renders, drawings). Read from the file's first
 * bytes, not its name or type, which may lie.
 */
export async function inputKind(blob) {
  let head;
  try {
    head = new Uint8Array(await blob.slice(0, 32).arrayBuffer());
  } catch {
    return "clean"; // unreadable: the decode says what is wrong
  }
  const ascii = (from, to) => String.fromCharCode(...head.subarray(from, to));
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "photo";
  // RIFF....WEBPVP8 : the lossy WebP bitstream (VP8L is lossless, VP8X says it in a later chunk).
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return ascii(12, 16) === "VP8 " ? "photo" : "clean";
  // ISO-BMFF: ....ftypavif / heic / heix / mif1.
  if (ascii(4, 8) === "ftyp" && /^(avi[fs]|hei[cx]|hev[cx]|mif1)$/.test(ascii(8, 12))) return "photo";
  return "clean";
}

/** Why the model changed with the dropped file, in a visitor's words. */
export function kindReason(kind, modelName) {
  return kind === "photo"
    ? ` It is a photo saved with lossy compression: ${modelName}, trained on JPEGs and sensor noise, is chosen, as it removes their blocks and speckle instead of sharpening them.`
    : ` It is a lossless image: ${modelName}, trained on clean images, is chosen.`;
}

/** The ground-truth mode's JPEG quality, or undefined when the low-res image stays clean. */
export function jpegQualityChoice(document) {
  return document.getElementById("jpeg-on").checked ? Number(document.getElementById("jpeg-quality").value) : undefined;
}

/** Wires the JPEG controls: shown in ground-truth mode, the quality written beside its slider. */
export function wireJpegControls(document, mode) {
  const $ = (id) => document.getElementById(id);
  const show = () => ($("jpeg-field").hidden = mode() !== "truth");
  const say = () => {
    $("jpeg-quality-value").textContent = $("jpeg-quality").value;
    $("jpeg-quality").disabled = !$("jpeg-on").checked;
  };
  for (const r of document.querySelectorAll("input[name=mode]")) r.addEventListener("change", show);
  $("jpeg-on").addEventListener("change", say);
  $("jpeg-quality").addEventListener("input", say);
  show();
  say();
}
