// The demo's canvases: the comparison viewer (images drawn at one zoom and
// pan, clipped to horizontal ranges: the slider's two sides, or one side of
// two canvases) and the feature maps' figures.

/** The zoom at which `after` fits `canvas`. */
export function fitZoom(canvas, after) {
  return Math.min(canvas.clientWidth / after.width, canvas.clientHeight / after.height);
}

/**
 * Draw `layers` ({ image, from, to }: horizontal CSS-pixel ranges) at the
 * shared zoom and pan (`view`: { zoom, cx, cy, fitted }), each image drawn at
 * the size of `after`; returns the zoom used.
 */
export function drawInto(canvas, layers, after, view) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const v = view;
  const zoom = v.fitted ? fitZoom(canvas, after) : v.zoom;
  const x0 = w / 2 - v.cx * after.width * zoom;
  const y0 = h / 2 - v.cy * after.height * zoom;
  // Past 1:1 show pixels as pixels, not smoothed.
  ctx.imageSmoothingEnabled = zoom < 1;
  for (const { image, from = 0, to = w } of layers) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(from, 0, to - from, h);
    ctx.clip();
    ctx.drawImage(image, x0, y0, after.width * zoom, after.height * zoom);
    ctx.restore();
  }
  return zoom;
}

/** A canvas holding `image` (ImageData). */
export function imageDataCanvas(image) {
  const c = document.createElement("canvas");
  c.width = image.width;
  c.height = image.height;
  c.getContext("2d").putImageData(image, 0, 0);
  return c;
}

/** The centre square of `bitmap`, at most `maxSide` a side, as ImageData. */
export function centreCrop(bitmap, maxSide) {
  const side = Math.min(maxSide, bitmap.width, bitmap.height);
  const canvas = new OffscreenCanvas(side, side);
  canvas.getContext("2d").drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, side, side);
  return canvas.getContext("2d").getImageData(0, 0, side, side);
}

/** The feature maps of `up.features` into `box`: a captioned figure a layer. */
export function renderFeatureMaps(box, maps, shownChannels) {
  box.replaceChildren();
  for (const m of maps) {
    const fig = document.createElement("figure");
    const c = imageDataCanvas(m.image);
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", `${m.name}: ${m.channels} channels of ${m.width}×${m.height}`);
    const cap = document.createElement("figcaption");
    cap.textContent = `${m.name} · ${Math.min(m.channels, shownChannels)} of ${m.channels} channels`;
    fig.append(c, cap);
    box.append(fig);
  }
}
