//! The classical degradation model, `y = JPEG((x * k) resized to LR + n)`
//! (the starting point of SRMD and BSRGAN), with Real-ESRGAN's kernels and
//! noise: one pass of what the second-order model does twice. It is the
//! model of a photo straight from a camera (optics, sensor, the camera's
//! JPEG), and what the `camera` preset trains on.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::kernels::BlurConfig;
use super::resize::{RESIZE_MODES, resize};
use super::{Noise, Range, add_noise, check_probability, jpeg, quality_of};
use crate::error::ImageError;
use crate::planar::Plane;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classical {
    pub blur: BlurConfig,
    pub blur_probability: f64,
    /// Noise is added with this probability: Gaussian with
    /// `gaussian_noise_probability`, Poisson otherwise.
    pub noise_probability: f64,
    pub gaussian_noise_probability: f64,
    /// Gaussian sigma, in 8-bit levels.
    pub noise_sigma: Range,
    pub poisson_scale: Range,
    pub gray_noise_probability: f64,
    pub jpeg: Range,
    pub jpeg_probability: f64,
}

impl Classical {
    /// A camera's photo: blur of 0.2-3 HR pixels (sinc ringing in one in
    /// twenty), noise of 1-10 levels or Poisson up to 1 in four images of
    /// five, the camera's JPEG (quality 60-95) in seven of ten.
    pub fn camera() -> Self {
        Classical {
            blur: BlurConfig { sinc_probability: 0.05, ..BlurConfig::real_esrgan(Range::new(0.2, 3.0)) },
            blur_probability: 0.9,
            noise_probability: 0.8,
            gaussian_noise_probability: 0.5,
            noise_sigma: Range::new(1.0, 10.0),
            poisson_scale: Range::new(0.05, 1.0),
            gray_noise_probability: 0.4,
            jpeg: Range::new(60.0, 95.0),
            jpeg_probability: 0.7,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.blur.validate()?;
        self.noise_sigma.validate("noise_sigma", 0.0, 255.0)?;
        self.poisson_scale.validate("poisson_scale", 0.0, 20.0)?;
        self.jpeg.validate("jpeg", 1.0, 100.0)?;
        for (name, p) in [
            ("blur_probability", self.blur_probability),
            ("noise_probability", self.noise_probability),
            ("gaussian_noise_probability", self.gaussian_noise_probability),
            ("gray_noise_probability", self.gray_noise_probability),
            ("jpeg_probability", self.jpeg_probability),
        ] {
            check_probability(name, p)?;
        }
        Ok(())
    }

    /// HR planes in [0, 1] to LR planes of `lr_width` x `lr_height`. Every
    /// random number is drawn whether or not its step is taken.
    pub fn apply<R: Rng + ?Sized>(&self, hr: &[Plane], lr_width: usize, lr_height: usize, rng: &mut R) -> Result<Vec<Plane>, ImageError> {
        let mut planes = hr.to_vec();
        let kernel = self.blur.sample(rng);
        if rng.random::<f64>() < self.blur_probability {
            kernel.apply(&mut planes);
        }
        resize(&mut planes, lr_width, lr_height, RESIZE_MODES[rng.random_range(0..RESIZE_MODES.len())]);
        let noisy = rng.random::<f64>() < self.noise_probability;
        let gray = rng.random::<f64>() < self.gray_noise_probability;
        let noise = if rng.random::<f64>() < self.gaussian_noise_probability {
            Noise::Gaussian { sigma: self.noise_sigma.sample(rng), gray }
        } else {
            Noise::Poisson { scale: self.poisson_scale.sample(rng), gray }
        };
        if noisy {
            add_noise(&mut planes, noise, rng);
        }
        let quality = quality_of(self.jpeg.sample(rng));
        if rng.random::<f64>() < self.jpeg_probability {
            jpeg::round_trip(&mut planes, quality)?;
        }
        Ok(planes)
    }
}
