//! Degradations of real photos, for training and measuring models on the
//! images people have rather than on clean bicubic downscales: blur kernels
//! (Gaussian, generalized, plateau, sinc), resizes (area, bilinear,
//! bicubic), Gaussian and Poisson noise, and JPEG through real codecs.
//!
//! A [`Degradation`] is either
//! * [`Degradation::AfterBicubic`]: the papers' LR (MATLAB bicubic) followed
//!   by steps in order; what `trainer eval --degrade jpeg:75` measures and
//!   the `jpeg` preset trains on; or
//! * [`Degradation::Classical`]: blur, resize to LR, noise, JPEG from the HR
//!   image, once (a camera's photo; the `camera` preset); or
//! * [`Degradation::SecondOrder`]: Real-ESRGAN's second-order model from the
//!   HR image (the `real` preset).
//!
//! Everything is on planes of values in [0, 1] (1 plane for gray, 3 for
//! RGB), drawn from a generator the caller seeds, so a (seed, iteration)
//! always gives the same image. The result is rounded to 8-bit levels.

mod classical;
mod jpeg;
mod kernels;
mod noise;
mod resize;
mod second_order;

use rand::Rng;
use serde::{Deserialize, Serialize};

pub use classical::Classical;
pub use jpeg::{encode as encode_jpeg, jpeg_image, round_trip as jpeg_round_trip};
pub use kernels::{BlurConfig, Kernel, KernelMix, Shape, bessel_j1};
pub use noise::{add_gaussian, add_poisson};
pub use resize::{ResizeMode, resize_plane};
pub use second_order::{Order, SecondOrder};

use crate::error::ImageError;
use crate::planar::{BitDepth, Layout, PlanarImage, Plane};

/// A value drawn uniformly from `[lo, hi]`; written as one number when fixed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
}

impl Range {
    pub const fn new(lo: f64, hi: f64) -> Self {
        Range { lo, hi }
    }
    pub const fn fixed(v: f64) -> Self {
        Range { lo: v, hi: v }
    }
    pub fn sample<R: Rng + ?Sized>(self, rng: &mut R) -> f64 {
        if self.hi > self.lo { rng.random_range(self.lo..=self.hi) } else { self.lo }
    }
    fn validate(self, name: &str, min: f64, max: f64) -> Result<(), String> {
        if !(self.lo >= min && self.hi <= max && self.lo <= self.hi) {
            return Err(format!("{name} [{}, {}]: must lie in [{min}, {max}], smallest first", self.lo, self.hi));
        }
        Ok(())
    }
}

impl Serialize for Range {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.lo == self.hi { s.serialize_f64(self.lo) } else { [self.lo, self.hi].serialize(s) }
    }
}

impl<'de> Deserialize<'de> for Range {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a number or [lowest, highest]")]
        enum Repr {
            One(f64),
            Two([f64; 2]),
        }
        Ok(match Repr::deserialize(d)? {
            Repr::One(v) => Range::fixed(v),
            Repr::Two([lo, hi]) => Range::new(lo, hi),
        })
    }
}

fn check_probability(name: &str, p: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) { Ok(()) } else { Err(format!("{name} is {p}; a probability lies in [0, 1]")) }
}

fn quality_of(q: f64) -> u8 {
    q.round().clamp(1.0, 100.0) as u8
}

fn one() -> f64 {
    1.0
}

/// Sensor noise: Gaussian of `sigma` 8-bit levels, or Poisson `scale`d.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    Gaussian { sigma: f64, gray: bool },
    Poisson { scale: f64, gray: bool },
}

pub fn add_noise<R: Rng + ?Sized>(planes: &mut [Plane], noise: Noise, rng: &mut R) {
    match noise {
        Noise::Gaussian { sigma, gray } => add_gaussian(planes, sigma, gray, rng),
        Noise::Poisson { scale, gray } => add_poisson(planes, scale, gray, rng),
    }
}

/// One step of an [`Degradation::AfterBicubic`] chain, taken with its `probability`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    Blur {
        #[serde(default = "one")]
        probability: f64,
        kernel: BlurConfig,
    },
    /// Gaussian noise of `sigma` 8-bit levels, the same on every channel
    /// with `gray_probability`.
    Noise {
        #[serde(default = "one")]
        probability: f64,
        sigma: Range,
        #[serde(default)]
        gray_probability: f64,
    },
    Poisson {
        #[serde(default = "one")]
        probability: f64,
        scale: Range,
        #[serde(default)]
        gray_probability: f64,
    },
    /// A JPEG round trip at a quality in `quality` (1-100, IJG scale, 4:2:0).
    Jpeg {
        #[serde(default = "one")]
        probability: f64,
        quality: Range,
    },
}

impl Step {
    fn probability(&self) -> f64 {
        match self {
            Step::Blur { probability, .. } | Step::Noise { probability, .. } | Step::Poisson { probability, .. } | Step::Jpeg { probability, .. } => {
                *probability
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        check_probability("probability", self.probability())?;
        match self {
            Step::Blur { kernel, .. } => kernel.validate(),
            Step::Noise { sigma, gray_probability, .. } => {
                sigma.validate("noise sigma", 0.0, 255.0).and(check_probability("gray_probability", *gray_probability))
            }
            Step::Poisson { scale, gray_probability, .. } => {
                scale.validate("poisson scale", 0.0, 20.0).and(check_probability("gray_probability", *gray_probability))
            }
            Step::Jpeg { quality, .. } => quality.validate("jpeg quality", 1.0, 100.0),
        }
    }

    fn apply<R: Rng + ?Sized>(&self, planes: &mut [Plane], rng: &mut R) -> Result<(), ImageError> {
        // Every draw is made whether or not the step is taken, so that one
        // step's probability does not shift the next step's random numbers.
        let taken = rng.random::<f64>() < self.probability();
        match self {
            Step::Blur { kernel, .. } => {
                let k = kernel.sample(rng);
                if taken {
                    k.apply(planes);
                }
            }
            Step::Noise { sigma, gray_probability, .. } => {
                let (sigma, gray) = (sigma.sample(rng), rng.random::<f64>() < *gray_probability);
                if taken {
                    add_gaussian(planes, sigma, gray, rng);
                }
            }
            Step::Poisson { scale, gray_probability, .. } => {
                let (scale, gray) = (scale.sample(rng), rng.random::<f64>() < *gray_probability);
                if taken {
                    add_poisson(planes, scale, gray, rng);
                }
            }
            Step::Jpeg { quality, .. } => {
                let q = quality_of(quality.sample(rng));
                if taken {
                    jpeg::round_trip(planes, q)?;
                }
            }
        }
        Ok(())
    }
}

/// What happens to an HR image on its way to a network's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Degradation {
    /// The papers' LR (MATLAB bicubic of the HR), then `steps` in order;
    /// with `clean_probability` the LR is left clean.
    AfterBicubic {
        #[serde(default)]
        clean_probability: f64,
        steps: Vec<Step>,
    },
    /// Blur, resize to the LR size, noise and JPEG, once, from the HR image.
    Classical(Classical),
    /// Real-ESRGAN's second-order model, from the HR image.
    SecondOrder(SecondOrder),
}

/// Where a degradation starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The MATLAB bicubic LR of the protocol.
    BicubicLr,
    /// The HR image.
    Hr,
}

impl Degradation {
    pub fn source(&self) -> Source {
        match self {
            Degradation::AfterBicubic { .. } => Source::BicubicLr,
            Degradation::Classical(_) | Degradation::SecondOrder(_) => Source::Hr,
        }
    }

    pub fn validate(&self) -> Result<(), ImageError> {
        let checked = match self {
            Degradation::AfterBicubic { clean_probability, steps } => {
                check_probability("clean_probability", *clean_probability).and_then(|_| steps.iter().try_for_each(Step::validate))
            }
            Degradation::Classical(c) => c.validate(),
            Degradation::SecondOrder(s) => s.validate(),
        };
        checked.map_err(ImageError::InvalidDegradation)
    }

    /// Degrade `input` (planes in [0, 1]: the bicubic LR or the HR, as
    /// [`source`](Self::source) says) to an LR of `lr_width` x `lr_height`
    /// (an `AfterBicubic` chain keeps its input's size), rounded to 8 bits.
    pub fn apply<R: Rng + ?Sized>(&self, input: &[Plane], lr_width: usize, lr_height: usize, rng: &mut R) -> Result<Vec<Plane>, ImageError> {
        let mut planes = match self {
            Degradation::AfterBicubic { clean_probability, steps } => {
                let clean = rng.random::<f64>() < *clean_probability;
                let mut planes = input.to_vec();
                if !clean {
                    for step in steps {
                        step.apply(&mut planes, rng)?;
                    }
                }
                planes
            }
            Degradation::Classical(c) => c.apply(input, lr_width, lr_height, rng)?,
            Degradation::SecondOrder(s) => s.apply(input, lr_width, lr_height, rng)?,
        };
        for p in &mut planes {
            p.data.iter_mut().for_each(|v| *v = (*v * 255.0).round().clamp(0.0, 255.0) / 255.0);
        }
        Ok(planes)
    }

    /// [`apply`](Self::apply) to an 8-bit image (gray stays gray; alpha is
    /// dropped): the LR a model is given in `trainer eval --degrade`.
    pub fn apply_to_image<R: Rng + ?Sized>(
        &self,
        input: &PlanarImage,
        lr_width: usize,
        lr_height: usize,
        rng: &mut R,
    ) -> Result<PlanarImage, ImageError> {
        let max = input.depth.max_value();
        let planes: Vec<Plane> = input.color_planes().iter().map(|p| p.map(|v| v / max)).collect();
        let out = self.apply(&planes, lr_width, lr_height, rng)?;
        let layout = if out.len() == 1 { Layout::Gray } else { Layout::Rgb };
        Ok(PlanarImage::new(layout, BitDepth::Eight, out.into_iter().map(|p| p.map(|v| (v * 255.0).round())).collect()))
    }

    /// A preset by name, or a chain written as `jpeg:75+noise:2` (see
    /// [`Degradation::parse`]).
    pub fn parse(spec: &str) -> Result<Self, ImageError> {
        if let Some(preset) = Preset::from_name(spec.trim()) {
            return Ok(preset.degradation());
        }
        let bad = |why: String| ImageError::InvalidDegradation(format!("{spec:?}: {why}"));
        let mut steps = Vec::new();
        for item in spec.split('+') {
            let (op, value) = item.trim().split_once(':').ok_or_else(|| {
                bad(format!(
                    "'{item}' is neither a preset ({}) nor OP:VALUE (jpeg:Q, noise:SIGMA, gray-noise:SIGMA, poisson:SCALE, blur:SIGMA)",
                    Preset::names().join(", ")
                ))
            })?;
            let range = parse_range(value).ok_or_else(|| bad(format!("'{value}' is not a number or LO..HI")))?;
            steps.push(match op.trim() {
                "jpeg" => Step::Jpeg { probability: 1.0, quality: range },
                "noise" => Step::Noise { probability: 1.0, sigma: range, gray_probability: 0.0 },
                "gray-noise" => Step::Noise { probability: 1.0, sigma: range, gray_probability: 1.0 },
                "poisson" => Step::Poisson { probability: 1.0, scale: range, gray_probability: 0.0 },
                "blur" => {
                    let side = 2 * (3.0 * range.hi).ceil().max(1.0) as usize + 1;
                    let mix = KernelMix { iso: 1.0, aniso: 0.0, generalized_iso: 0.0, generalized_aniso: 0.0, plateau_iso: 0.0, plateau_aniso: 0.0 };
                    let kernel = BlurConfig {
                        sizes: [side, side],
                        sigma: range,
                        mix,
                        generalized_beta: Range::fixed(1.0),
                        plateau_beta: Range::fixed(1.0),
                        sinc_probability: 0.0,
                    };
                    Step::Blur { probability: 1.0, kernel }
                }
                other => return Err(bad(format!("unknown operation '{other}' (jpeg, noise, gray-noise, poisson, blur)"))),
            });
        }
        let d = Degradation::AfterBicubic { clean_probability: 0.0, steps };
        d.validate().map_err(|e| bad(e.to_string()))?;
        Ok(d)
    }
}

fn parse_range(text: &str) -> Option<Range> {
    let num = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    match text.split_once("..") {
        Some((lo, hi)) => Some(Range::new(num(lo)?, num(hi)?)),
        None => num(text).map(Range::fixed),
    }
}

/// The named degradations recipes and `--degrade` accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// The papers' LR saved as a JPEG of quality 30-95 (4:2:0), after mild
    /// sensor noise in a third of the images; one image in ten left clean.
    Jpeg,
    /// A camera's photo ([`Classical::camera`]).
    Camera,
    /// Real-ESRGAN's second-order model with its published settings.
    Real,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Jpeg, Preset::Camera, Preset::Real];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Jpeg => "jpeg",
            Preset::Camera => "camera",
            Preset::Real => "real",
        }
    }
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|p| p.name()).collect()
    }
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn degradation(self) -> Degradation {
        match self {
            Preset::Jpeg => Degradation::AfterBicubic {
                clean_probability: 0.1,
                steps: vec![
                    Step::Noise { probability: 1.0 / 3.0, sigma: Range::new(1.0, 5.0), gray_probability: 0.4 },
                    Step::Jpeg { probability: 1.0, quality: Range::new(30.0, 95.0) },
                ],
            },
            Preset::Camera => Degradation::Classical(Classical::camera()),
            Preset::Real => Degradation::SecondOrder(SecondOrder::real_esrgan()),
        }
    }
}

/// A recipe's `data.degradation`: a preset's name or a whole [`Degradation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DegradationRecipe {
    Preset(Preset),
    Custom(Degradation),
}

impl DegradationRecipe {
    pub fn degradation(&self) -> Degradation {
        match self {
            DegradationRecipe::Preset(p) => p.degradation(),
            DegradationRecipe::Custom(d) => d.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
