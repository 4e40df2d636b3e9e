//! The training data pipeline: every image decoded once and kept in memory,
//! each scale's LR made once with MATLAB bicubic (and, for bicubic-input
//! networks, upscaled back once), random aligned LR/HR patch pairs, flips and
//! 90-degree rotations, batches cut on worker threads ahead of the step.
//!
//! A batch depends only on (seed, iteration): runs are reproducible and a
//! resumed run sees the very batches an uninterrupted one would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use upres_image::{imresize, modcrop, network_planes, read_image, ColorSpace, DecodeLimits, InputKind, PlanarImage, Plane, ResizeTarget};

use super::config::DataConfig;

/// One image at one scale, as the network sees it (values in [0, 1]).
struct Sample {
    /// Network input planes (bicubic-upscaled for bicubic-input networks).
    input: Vec<Plane>,
    /// Target planes (HR).
    target: Vec<Plane>,
}

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

        let mut samples = Vec::new();
        for &s in &config.scales {
            let per_scale = std::thread::scope(|scope| {
                let handles: Vec<_> = images
                    .chunks(images.len().div_ceil(config.workers.max(1)))
                    .map(|chunk| scope.spawn(move || chunk.iter().map(|img| make_sample(img, s, input_kind, color)).collect::<Result<Vec<_>>>()))
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
            for plane in &sample.input {
                push_patch(&mut input, plane, x, y, p, aug);
            }
            for plane in &sample.target {
                push_patch(&mut target, plane, tx, ty, p * tscale, aug);
            }
        }
        Batch {
            scale: self.scales[batch_scale],
            input,
            input_dims: [n, c, p, p],
            target,
            target_dims: [n, c, ts, ts],
        }
    }
}

fn make_sample(image: &PlanarImage, scale: usize, kind: InputKind, color: ColorSpace) -> Result<Sample> {
    let hr = modcrop(image, scale as f64);
    let lr = imresize(&hr, ResizeTarget::Scale(1.0 / scale as f64))?;
    let input_image = match kind {
        InputKind::Bicubic => imresize(&lr, ResizeTarget::Scale(scale as f64))?,
        InputKind::LowRes => lr,
    };
    let planes = |img: &PlanarImage| network_planes(&img.planes, img.layout, img.depth.max_value(), color).0;
    Ok(Sample { input: planes(&input_image), target: planes(&hr) })
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
    _workers: Vec<JoinHandle<()>>,
}

impl Prefetcher {
    pub fn new(dataset: Arc<Dataset>, seed: u64, start: u64, end: u64, workers: usize) -> Self {
        let (tx, rx) = sync_channel(2 * workers + 2);
        let handles = (0..workers as u64)
            .map(|w| {
                let (tx, dataset) = (tx.clone(), dataset.clone());
                std::thread::spawn(move || {
                    let mut it = start + w;
                    while it < end {
                        if tx.send((it, dataset.batch(seed, it))).is_err() {
                            return; // the trainer stopped
                        }
                        it += workers as u64;
                    }
                })
            })
            .collect();
        Self { receiver: rx, pending: BTreeMap::new(), _workers: handles }
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
