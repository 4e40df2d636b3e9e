//! Real-ESRGAN's second-order degradation model (Wang et al., ICCVW 2021,
//! section 3.1 and `realesrgan/models/realesrgan_model.py::feed_data`): blur,
//! resize, noise and JPEG twice over, then the final resize to the LR size
//! with a sinc filter before or after the last JPEG. It models a photo that
//! was taken (optics, sensor noise, the camera's JPEG) and then passed on
//! (resized, re-encoded by a site or a messenger), which is what a visitor
//! drops on the demo.
//!
//! Chosen over BSRGAN's random shuffle (Zhang et al., ICCV 2021) because its
//! order is the order photos live through, JPEG always comes last or next to
//! last (as in every image a browser receives), and its published settings
//! are the ones the peers users know were trained with.

use std::f64::consts::PI;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::kernels::{BlurConfig, Kernel};
use super::resize::{RESIZE_MODES, ResizeMode, resize};
use super::{Range, add_noise, check_probability, jpeg, quality_of};
use crate::error::ImageError;
use crate::planar::Plane;

/// One order of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub blur: BlurConfig,
    /// How likely the resize goes up, down, or keeps the size.
    pub resize_up_down_keep: [f64; 3],
    /// The resize factor: below 1 when going down, above when going up.
    pub resize: Range,
    /// Gaussian noise with this probability, Poisson noise otherwise.
    pub gaussian_noise_probability: f64,
    /// Gaussian sigma, in 8-bit levels.
    pub noise_sigma: Range,
    pub poisson_scale: Range,
    pub gray_noise_probability: f64,
    /// JPEG quality (the second order's is the final JPEG).
    pub jpeg: Range,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondOrder {
    pub first: Order,
    pub second: Order,
    /// The second order's blur is skipped otherwise.
    pub second_blur_probability: f64,
    /// The sinc filter of the final stage; otherwise no filter.
    pub final_sinc_probability: f64,
}

impl SecondOrder {
    /// Real-ESRGAN's published settings (`train_realesrgan_x4plus.yml`).
    pub fn real_esrgan() -> Self {
        SecondOrder {
            first: Order {
                blur: BlurConfig::real_esrgan(Range::new(0.2, 3.0)),
                resize_up_down_keep: [0.2, 0.7, 0.1],
                resize: Range::new(0.15, 1.5),
                gaussian_noise_probability: 0.5,
                noise_sigma: Range::new(1.0, 30.0),
                poisson_scale: Range::new(0.05, 3.0),
                gray_noise_probability: 0.4,
                jpeg: Range::new(30.0, 95.0),
            },
            second: Order {
                blur: BlurConfig::real_esrgan(Range::new(0.2, 1.5)),
                resize_up_down_keep: [0.3, 0.4, 0.3],
                resize: Range::new(0.3, 1.2),
                gaussian_noise_probability: 0.5,
                noise_sigma: Range::new(1.0, 25.0),
                poisson_scale: Range::new(0.05, 2.5),
                gray_noise_probability: 0.4,
                jpeg: Range::new(30.0, 95.0),
            },
            second_blur_probability: 0.8,
            final_sinc_probability: 0.8,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        for (name, o) in [("first", &self.first), ("second", &self.second)] {
            o.blur.validate().map_err(|e| format!("{name}.{e}"))?;
            if o.resize_up_down_keep.iter().any(|p| !(*p >= 0.0)) || o.resize_up_down_keep.iter().sum::<f64>() <= 0.0 {
                return Err(format!("{name}.resize_up_down_keep: non-negative weights, not all zero"));
            }
            o.resize.validate(&format!("{name}.resize"), 0.05, 4.0)?;
            o.noise_sigma.validate(&format!("{name}.noise_sigma"), 0.0, 255.0)?;
            o.poisson_scale.validate(&format!("{name}.poisson_scale"), 0.0, 20.0)?;
            o.jpeg.validate(&format!("{name}.jpeg"), 1.0, 100.0)?;
            check_probability("gaussian_noise_probability", o.gaussian_noise_probability)?;
            check_probability("gray_noise_probability", o.gray_noise_probability)?;
        }
        check_probability("second_blur_probability", self.second_blur_probability)?;
        check_probability("final_sinc_probability", self.final_sinc_probability)
    }

    /// HR planes in [0, 1] to LR planes of `lr_width` x `lr_height`.
    pub fn apply<R: Rng + ?Sized>(&self, hr: &[Plane], lr_width: usize, lr_height: usize, rng: &mut R) -> Result<Vec<Plane>, ImageError> {
        let mut planes = hr.to_vec();
        // First order: the resize is relative to the current size.
        self.first.blur.sample(rng).apply(&mut planes);
        let factor = resize_factor(&self.first, rng);
        let (w, h) = (planes[0].width as f64, planes[0].height as f64);
        resize(&mut planes, (w * factor) as usize, (h * factor) as usize, random_mode(rng));
        noise(&self.first, &mut planes, rng);
        jpeg::round_trip(&mut planes, quality_of(self.first.jpeg.sample(rng)))?;
        // Second order: the resize is relative to the LR size.
        if rng.random::<f64>() < self.second_blur_probability {
            self.second.blur.sample(rng).apply(&mut planes);
        }
        let factor = resize_factor(&self.second, rng);
        resize(&mut planes, (lr_width as f64 * factor) as usize, (lr_height as f64 * factor) as usize, random_mode(rng));
        noise(&self.second, &mut planes, rng);
        // Final stage: [resize to LR + sinc] and JPEG, in a random order.
        let sinc = if rng.random::<f64>() < self.final_sinc_probability {
            let size = 7 + 2 * rng.random_range(0..=7);
            Kernel::sinc(size, Range::new(PI / 3.0, PI).sample(rng))
        } else {
            Kernel::identity()
        };
        let quality = quality_of(self.second.jpeg.sample(rng));
        let mode = random_mode(rng);
        if rng.random::<f64>() < 0.5 {
            resize(&mut planes, lr_width, lr_height, mode);
            sinc.apply(&mut planes);
            jpeg::round_trip(&mut planes, quality)?;
        } else {
            jpeg::round_trip(&mut planes, quality)?;
            resize(&mut planes, lr_width, lr_height, mode);
            sinc.apply(&mut planes);
        }
        Ok(planes)
    }
}

fn resize_factor<R: Rng + ?Sized>(order: &Order, rng: &mut R) -> f64 {
    let [up, down, keep] = order.resize_up_down_keep;
    let pick = rng.random::<f64>() * (up + down + keep);
    if pick < up {
        Range::new(1.0, order.resize.hi.max(1.0)).sample(rng)
    } else if pick < up + down {
        Range::new(order.resize.lo.min(1.0), 1.0).sample(rng)
    } else {
        1.0
    }
}

fn random_mode<R: Rng + ?Sized>(rng: &mut R) -> ResizeMode {
    RESIZE_MODES[rng.random_range(0..RESIZE_MODES.len())]
}

fn noise<R: Rng + ?Sized>(order: &Order, planes: &mut [Plane], rng: &mut R) {
    let gaussian = rng.random::<f64>() < order.gaussian_noise_probability;
    let gray = rng.random::<f64>() < order.gray_noise_probability;
    if gaussian {
        add_noise(planes, super::Noise::Gaussian { sigma: order.noise_sigma.sample(rng), gray }, rng);
    } else {
        add_noise(planes, super::Noise::Poisson { scale: order.poisson_scale.sample(rng), gray }, rng);
    }
}
