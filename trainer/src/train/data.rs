//! The training data pipeline: every image decoded once and kept in memory,
//! each scale's LR made once with MATLAB bicubic (and, for bicubic-input
//! networks, upscaled back once), random aligned LR/HR patch pairs, flips and
//! 90-degree rotations, batches cut on worker threads ahead of the step.
//!
//! With `data.degradation`, each LR patch is degraded on the fly (JPEG,
//! noise, blur, Real-ESRGAN's chain: upres_image::degrade) from the clean
//! LR or the HR kept in memory, on the same worker threads.
//!
//! A batch depends only on (seed, iteration): runs are reproducible and a
//! resumed run sees the very batches an uninterrupted one would, degradations
//! included.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use upres_image::degrade::{Degradation, Source};
use upres_image::{ColorSpace, DecodeLimits, InputKind, Layout, PlanarImage, Plane, ResizeTarget, imresize, modcrop, network_planes, read_image};

use super::config::DataConfig;

/// One image at one scale, as the network sees it (values in [0, 1]).
struct Sample {
    /// Network input planes (bicubic-upscaled for bicubic-input networks).
    input: Vec<Plane>,
    /// Target planes (HR).
    target: Vec<Plane>,
    /// What a degradation starts from, colour planes in [0, 1] (the clean LR
    /// or the HR, as the degradation's source says); empty without one.
    degradation_source: Vec<Plane>,
}

/// LR pixels around a patch that an LR-side degradation also sees, so that
/// its blur and JPEG blocks at the patch's edges are those of a whole image.
const DEGRADATION_MARGIN: usize = 8;

pub struct Dataset {
    /// samples[scale index][image index]
    samples: Vec<Vec<Sample>>,
    pub scales: Vec<usize>,
    pub image_names: Vec<String>,
    input_kind: InputKind,
    channels: usize,
    patch: usize,
    batch: usize,
    augment: bool,
    degradation: Option<Degradation>,
    color: ColorSpace,
}

/// A batch, channels-first, ready to become tensors.
#[derive(Clone)]
pub struct Batch {
    pub scale: usize,
    pub input: Vec<f32>,
    pub input_dims: [usize; 4],
    pub target: Vec<f32>,
    pub target_dims: [usize; 4],
}

pub fn resolve(root: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_owned() } else { root.join(p) }
}

impl Dataset {
    /// Load every image of `config.dirs`; corrupt files and images smaller
    /// than a patch are skipped with a warning naming them; an empty set, or
    /// a patch larger than every image, is an error before training starts.
    pub fn load(config: &DataConfig, root: &Path, input_kind: InputKind, color: ColorSpace) -> Result<Self> {
        let mut files = Vec::new();
        for dir in &config.dirs {
            let dir = resolve(root, dir);
            files.extend(crate::files::list_images(&dir).with_context(|| "training data (data.dirs)".to_string())?);
        }
        let max_scale = *config.scales.iter().max().expect("validated non-empty");
        // HR side a patch needs.
        let hr_patch = match input_kind {
            InputKind::Bicubic => config.patch,
            InputKind::LowRes => config.patch * max_scale,
        };
        let mut images = Vec::new();
        let mut names = Vec::new();
        let mut too_small = Vec::new();
        for f in &files {
            match read_image(f, DecodeLimits::default()) {
                Ok(img) => {
                    let img = img.to_depth8();
                    if img.width < hr_patch + max_scale || img.height < hr_patch + max_scale {
                        too_small.push(format!("{} ({}x{})", f.display(), img.width, img.height));
                        continue;
                    }
                    images.push(img);
                    names.push(crate::files::stem(f));
                }
                Err(e) => eprintln!("warning: skipping training image {e}"),
            }
        }
        if !too_small.is_empty() {
            let what = format!("smaller than a training patch ({hr_patch}x{hr_patch} HR pixels at x{max_scale})");
            if images.is_empty() {
                anyhow::bail!("every training image is {what}, e.g. {}; lower data.patch", too_small[0]);
            }
            eprintln!("warning: skipping {} training image(s) {what}: {}", too_small.len(), too_small.join(", "));
        }
        anyhow::ensure!(!images.is_empty(), "no readable training images in {:?}", config.dirs);

        let degradation = config.degradation.as_ref().map(|d| d.degradation());
        let source = degradation.as_ref().map(Degradation::source);
        let mut samples = Vec::new();
        for &s in &config.scales {
            let per_scale = std::thread::scope(|scope| {
                let handles: Vec<_> = images
                    .chunks(images.len().div_ceil(config.workers.max(1)))
                    .map(|chunk| {
                        scope.spawn(move || chunk.iter().map(|img| make_sample(img, s, input_kind, color, source)).collect::<Result<Vec<_>>>())
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("sample worker")).collect::<Result<Vec<Vec<_>>>>()
            })?;
            samples.push(per_scale.into_iter().flatten().collect());
        }
        Ok(Self {
            samples,
            scales: config.scales.clone(),
            image_names: names,
            input_kind,
            channels: color.channels(),
            patch: config.patch,
            batch: config.batch,
            augment: config.augment,
            degradation,
            color,
        })
    }

    pub fn len(&self) -> usize {
        self.image_names.len()
    }

    /// Patches a grid over the images would give at the first scale.
    pub fn grid_patches(&self) -> u64 {
        self.samples[0].iter().map(|s| ((s.input[0].width / self.patch) * (s.input[0].height / self.patch)) as u64).sum::<u64>().max(1)
    }

    /// The batch for `iteration` (deterministic in seed and iteration).
    pub fn batch(&self, seed: u64, iteration: u64) -> Batch {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ iteration.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mixed = self.input_kind == InputKind::Bicubic;
        let batch_scale = rng.random_range(0..self.scales.len());
        let (p, c, n) = (self.patch, self.channels, self.batch);
        let target_side = |si: usize| if mixed { p } else { p * self.scales[si] };
        let ts = target_side(batch_scale);
        let mut input = Vec::with_capacity(n * c * p * p);
        let mut target = Vec::with_capacity(n * c * ts * ts);
        for _ in 0..n {
            // Bicubic-input networks mix scales within a batch; the others cannot (sizes differ).
            let si = if mixed { rng.random_range(0..self.scales.len()) } else { batch_scale };
            let s = self.scales[si];
            let sample = &self.samples[si][rng.random_range(0..self.samples[si].len())];
            let (iw, ih) = (sample.input[0].width, sample.input[0].height);
            let (x, y) = (rng.random_range(0..=iw - p), rng.random_range(0..=ih - p));
            let aug = if self.augment { rng.random_range(0..8u8) } else { 0 };
            let (tx, ty, tscale) = if mixed { (x, y, 1) } else { (x * s, y * s, s) };
            match &self.degradation {
                None => sample.input.iter().for_each(|plane| push_patch(&mut input, plane, x, y, p, aug)),
                Some(d) => {
                    let planes = self.degraded_patch(d, sample, s, x, y, &mut rng);
                    planes.iter().for_each(|plane| push_patch(&mut input, plane, 0, 0, p, aug));
                }
            }
            for plane in &sample.target {
                push_patch(&mut target, plane, tx, ty, p * tscale, aug);
            }
        }
        Batch { scale: self.scales[batch_scale], input, input_dims: [n, c, p, p], target, target_dims: [n, c, ts, ts] }
    }
}

impl Dataset {
    /// The `p` x `p` network input at LR (x, y), degraded: an LR-side chain
    /// sees the patch and up to [`DEGRADATION_MARGIN`] pixels around it, an
    /// HR-side one the patch's HR footprint.
    fn degraded_patch(&self, d: &Degradation, sample: &Sample, scale: usize, x: usize, y: usize, rng: &mut ChaCha8Rng) -> Vec<Plane> {
        let p = self.patch;
        let src = &sample.degradation_source;
        let (planes, (ox, oy)) = match d.source() {
            Source::BicubicLr => {
                let (w, h) = (src[0].width, src[0].height);
                let (x0, y0) = (x.saturating_sub(DEGRADATION_MARGIN), y.saturating_sub(DEGRADATION_MARGIN));
                let (x1, y1) = ((x + p + DEGRADATION_MARGIN).min(w), (y + p + DEGRADATION_MARGIN).min(h));
                let region: Vec<Plane> = src.iter().map(|pl| pl.crop(x0, y0, x1 - x0, y1 - y0)).collect();
                (d.apply(&region, x1 - x0, y1 - y0, rng), (x - x0, y - y0))
            }
            Source::Hr => {
                let region: Vec<Plane> = src.iter().map(|pl| pl.crop(x * scale, y * scale, p * scale, p * scale)).collect();
                (d.apply(&region, p, p, rng), (0, 0))
            }
        };
        // Only a JPEG of over 65535 pixels a side fails, and patches are far smaller.
        let planes = planes.expect("a patch-sized degradation");
        let layout = if planes.len() == 1 { Layout::Gray } else { Layout::Rgb };
        let net = network_planes(&planes, layout, 1.0, self.color).0;
        net.iter().map(|pl| pl.crop(ox, oy, p, p)).collect()
    }
}

fn make_sample(image: &PlanarImage, scale: usize, kind: InputKind, color: ColorSpace, degradation: Option<Source>) -> Result<Sample> {
    let hr = modcrop(image, scale as f64);
    let lr = imresize(&hr, ResizeTarget::Scale(1.0 / scale as f64))?;
    let unit = |img: &PlanarImage| img.color_planes().iter().map(|pl| pl.map(|v| v / img.depth.max_value())).collect();
    let degradation_source = match degradation {
        None => Vec::new(),
        Some(Source::BicubicLr) => unit(&lr),
        Some(Source::Hr) => unit(&hr),
    };
    let input_image = match kind {
        InputKind::Bicubic => imresize(&lr, ResizeTarget::Scale(scale as f64))?,
        InputKind::LowRes => lr,
    };
    let planes = |img: &PlanarImage| network_planes(&img.planes, img.layout, img.depth.max_value(), color).0;
    Ok(Sample { input: planes(&input_image), target: planes(&hr), degradation_source })
}

/// Copy a `side` x `side` patch at (x, y), transformed by one of the 8
/// symmetries of the square (bit 0: flip x, bit 1: flip y, bit 2: transpose).
fn push_patch(out: &mut Vec<f32>, plane: &Plane, x: usize, y: usize, side: usize, aug: u8) {
    for r in 0..side {
        for c in 0..side {
            let (mut i, mut j) = if aug & 4 != 0 { (c, r) } else { (r, c) };
            if aug & 1 != 0 {
                j = side - 1 - j;
            }
            if aug & 2 != 0 {
                i = side - 1 - i;
            }
            out.push(plane.data[(y + i) * plane.width + x + j]);
        }
    }
}

/// Batches made on `workers` threads, delivered in iteration order.
pub struct Prefetcher {
    receiver: Receiver<(u64, Batch)>,
    pending: BTreeMap<u64, Batch>,
    /// Nanoseconds the workers spent making batches, and how many they made.
    made_ns: Arc<AtomicU64>,
    made: Arc<AtomicU64>,
    _workers: Vec<JoinHandle<()>>,
}

impl Prefetcher {
    pub fn new(dataset: Arc<Dataset>, seed: u64, start: u64, end: u64, workers: usize) -> Self {
        let (tx, rx) = sync_channel(2 * workers + 2);
        let (made_ns, made) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let handles = (0..workers as u64)
            .map(|w| {
                let (tx, dataset, made_ns, made) = (tx.clone(), dataset.clone(), made_ns.clone(), made.clone());
                std::thread::spawn(move || {
                    let mut it = start + w;
                    while it < end {
                        let t0 = Instant::now();
                        let batch = dataset.batch(seed, it);
                        made_ns.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                        made.fetch_add(1, Ordering::Relaxed);
                        if tx.send((it, batch)).is_err() {
                            return; // the trainer stopped
                        }
                        it += workers as u64;
                    }
                })
            })
            .collect();
        Self { receiver: rx, pending: BTreeMap::new(), made_ns, made, _workers: handles }
    }

    /// Mean milliseconds a worker took to make one batch so far (the CPU
    /// time the data pipeline costs, whether or not the step waited for it).
    pub fn mean_batch_ms(&self) -> Option<f64> {
        let n = self.made.load(Ordering::Relaxed);
        (n > 0).then(|| self.made_ns.load(Ordering::Relaxed) as f64 / n as f64 / 1e6)
    }

    pub fn get(&mut self, iteration: u64) -> Batch {
        loop {
            if let Some(b) = self.pending.remove(&iteration) {
                return b;
            }
            let (it, b) = self.receiver.recv().expect("data workers run until the last iteration");
            self.pending.insert(it, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder of two photo-like training images.
    fn images() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (i, (w, h)) in [(150usize, 120usize), (133, 171)].into_iter().enumerate() {
            let planes = (0..3)
                .map(|c| {
                    Plane::new(
                        w,
                        h,
                        (0..w * h)
                            .map(|p| (127.0 + 100.0 * ((p % w) as f32 * 0.19 + (p / w) as f32 * 0.07 + c as f32 + i as f32).sin()).round())
                            .collect(),
                    )
                })
                .collect();
            let img = PlanarImage::new(Layout::Rgb, upres_image::BitDepth::Eight, planes);
            upres_image::write_png_atomic(&img, &dir.path().join(format!("{i}.png"))).unwrap();
        }
        dir
    }

    fn dataset(dir: &Path, degradation: Option<&str>) -> Dataset {
        let mut config = serde_json::json!({"dirs": [dir], "scales": [2], "patch": 24, "batch": 3});
        if let Some(d) = degradation {
            config["degradation"] = serde_json::from_str(d).unwrap();
        }
        Dataset::load(&serde_json::from_value(config).unwrap(), dir, InputKind::LowRes, ColorSpace::Y).unwrap()
    }

    #[test]
    fn a_degradation_that_leaves_patches_clean_gives_the_clean_patch_where_it_was() {
        // The LR region with its margin, the degradation and the crop back
        // must land on the very pixels the clean pipeline cuts (the first
        // patch of a batch: later ones draw their place after the
        // degradation's random numbers).
        let dir = images();
        let clean = dataset(dir.path(), None);
        let identity = dataset(dir.path(), Some(r#"{"kind": "after_bicubic", "clean_probability": 1.0, "steps": []}"#));
        let jpeg = dataset(dir.path(), Some(r#""jpeg""#));
        let patch = 24 * 24;
        let mut differs = 0;
        for it in 0..20 {
            let (a, b, c) = (clean.batch(5, it), identity.batch(5, it), jpeg.batch(5, it));
            assert_eq!(a.target[..4 * patch], b.target[..4 * patch]);
            let max = a.input[..patch].iter().zip(&b.input[..patch]).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            assert!(max < 1e-5, "iteration {it}: {max}");
            assert_eq!(a.target[..4 * patch], c.target[..4 * patch]);
            differs += (a.input[..patch] != c.input[..patch]) as usize;
        }
        // JPEG 30-95 on nine patches in ten.
        assert!(differs >= 14, "{differs} of 20 first patches were degraded");
    }

    #[test]
    fn the_eight_augmentations_are_distinct_symmetries() {
        let plane = Plane::new(3, 3, (0..9).map(|v| v as f32).collect());
        let mut seen = std::collections::HashSet::new();
        for aug in 0..8 {
            let mut out = Vec::new();
            push_patch(&mut out, &plane, 0, 0, 3, aug);
            let mut sorted = out.clone();
            sorted.sort_by(f32::total_cmp);
            assert_eq!(sorted, plane.data, "aug {aug} must permute the patch");
            seen.insert(out.iter().map(|v| *v as u8).collect::<Vec<_>>());
        }
        assert_eq!(seen.len(), 8);
    }
}
