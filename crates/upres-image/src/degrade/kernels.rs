//! Blur kernels of Real-ESRGAN's degradation model (Wang et al., ICCVW 2021,
//! `basicsr/data/degradations.py`): isotropic and anisotropic Gaussians,
//! generalized Gaussians, plateau kernels and the circular low-pass (sinc)
//! kernel that rings, each normalised to sum 1, and their application to a
//! plane with reflect padding (PyTorch's `F.pad(mode="reflect")`).

use std::f64::consts::PI;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::Range;
use crate::planar::Plane;

/// A square kernel, odd side, row-major, summing to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    pub size: usize,
    pub weights: Vec<f64>,
    /// The 1-D factor when `weights` is its outer product with itself
    /// (isotropic Gaussians): filtered in two passes of `size` taps
    /// instead of one of `size^2`.
    pub separable: Option<Vec<f64>>,
}

impl Kernel {
    /// The kernel that changes nothing.
    pub fn identity() -> Self {
        Kernel { size: 1, weights: vec![1.0], separable: None }
    }

    fn from_fn(size: usize, f: impl Fn(f64, f64) -> f64) -> Self {
        assert!(size % 2 == 1, "kernel sides are odd");
        let c = (size / 2) as f64;
        let mut weights: Vec<f64> = (0..size * size).map(|i| f((i % size) as f64 - c, (i / size) as f64 - c)).collect();
        let sum: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= sum);
        Kernel { size, weights, separable: None }
    }

    /// `exp(-q/2)`, `exp(-(q)^beta/2)` or `1/(q^beta + 1)` of the quadratic
    /// form `q = [x y] Sigma^-1 [x y]^T`, Sigma = R(theta) diag(sx^2, sy^2) R(theta)^T.
    pub fn bivariate(shape: Shape, size: usize, sigma_x: f64, sigma_y: f64, theta: f64, beta: f64) -> Self {
        let (c, s) = (theta.cos(), theta.sin());
        let (vx, vy) = (sigma_x * sigma_x, sigma_y * sigma_y);
        // Sigma = U D U^T with U = [[c, -s], [s, c]].
        let (a, b, d) = (c * c * vx + s * s * vy, c * s * (vx - vy), s * s * vx + c * c * vy);
        let det = a * d - b * b;
        let (ia, ib, id) = (d / det, -b / det, a / det);
        let mut kernel = Kernel::from_fn(size, |x, y| {
            let q = ia * x * x + 2.0 * ib * x * y + id * y * y;
            match shape {
                Shape::Gaussian => (-0.5 * q).exp(),
                Shape::Generalized => (-0.5 * q.powf(beta)).exp(),
                Shape::Plateau => 1.0 / (q.powf(beta) + 1.0),
            }
        });
        if shape == Shape::Gaussian && sigma_x == sigma_y {
            let c = (size / 2) as f64;
            let g: Vec<f64> = (0..size).map(|i| (-0.5 * ((i as f64 - c) / sigma_x).powi(2)).exp()).collect();
            let sum: f64 = g.iter().sum();
            kernel.separable = Some(g.into_iter().map(|v| v / sum).collect());
        }
        kernel
    }

    /// Real-ESRGAN's `circular_lowpass_kernel`: `cutoff J1(cutoff r) / (2 pi r)`,
    /// `cutoff^2 / (4 pi)` at the centre (the limit), normalised.
    pub fn sinc(size: usize, cutoff: f64) -> Self {
        Kernel::from_fn(size, |x, y| {
            let r = (x * x + y * y).sqrt();
            if r == 0.0 { cutoff * cutoff / (4.0 * PI) } else { cutoff * bessel_j1(cutoff * r) / (2.0 * PI * r) }
        })
    }

    /// Filter every plane (correlation; every kernel here is point-symmetric,
    /// so it equals convolution), with reflect padding at the borders.
    pub fn apply(&self, planes: &mut [Plane]) {
        if self.size == 1 {
            return;
        }
        for plane in planes {
            *plane = self.apply_plane(plane);
        }
    }

    fn apply_plane(&self, plane: &Plane) -> Plane {
        let (w, h, k, r) = (plane.width, plane.height, self.size, self.size / 2);
        let pw = w + 2 * r;
        let mut padded = vec![0f32; pw * (h + 2 * r)];
        for py in 0..h + 2 * r {
            let sy = reflect(py as isize - r as isize, h);
            for px in 0..pw {
                padded[py * pw + px] = plane.data[sy * w + reflect(px as isize - r as isize, w)];
            }
        }
        let mut out = vec![0f32; w * h];
        if let Some(g) = &self.separable {
            // Rows first (all padded rows), then columns.
            let mut rows = vec![0f32; w * (h + 2 * r)];
            for py in 0..h + 2 * r {
                let dst = &mut rows[py * w..(py + 1) * w];
                let src = &padded[py * pw..(py + 1) * pw];
                for (kx, &wgt) in g.iter().enumerate() {
                    for (o, s) in dst.iter_mut().zip(&src[kx..kx + w]) {
                        *o += wgt as f32 * s;
                    }
                }
            }
            for y in 0..h {
                let dst = &mut out[y * w..(y + 1) * w];
                for (ky, &wgt) in g.iter().enumerate() {
                    for (o, s) in dst.iter_mut().zip(&rows[(y + ky) * w..(y + ky + 1) * w]) {
                        *o += wgt as f32 * s;
                    }
                }
            }
            return Plane::new(w, h, out);
        }
        for y in 0..h {
            let row = &mut out[y * w..(y + 1) * w];
            for ky in 0..k {
                let src = &padded[(y + ky) * pw..(y + ky) * pw + pw];
                for kx in 0..k {
                    let wgt = self.weights[ky * k + kx] as f32;
                    if wgt != 0.0 {
                        for (o, s) in row.iter_mut().zip(&src[kx..kx + w]) {
                            *o += wgt * s;
                        }
                    }
                }
            }
        }
        Plane::new(w, h, out)
    }
}

/// PyTorch's reflect padding (the edge sample is not repeated), folded as
/// often as needed for pads wider than the image.
fn reflect(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    (if m < n as isize { m } else { period - m }) as usize
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Gaussian,
    Generalized,
    Plateau,
}

/// Relative weights of the kernel families Real-ESRGAN draws from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelMix {
    pub iso: f64,
    pub aniso: f64,
    pub generalized_iso: f64,
    pub generalized_aniso: f64,
    pub plateau_iso: f64,
    pub plateau_aniso: f64,
}

impl KernelMix {
    /// The weights in family order: Gaussian, generalized, plateau, each isotropic then anisotropic.
    fn weights(&self) -> [f64; 6] {
        [self.iso, self.aniso, self.generalized_iso, self.generalized_aniso, self.plateau_iso, self.plateau_aniso]
    }
}

impl Default for KernelMix {
    /// Real-ESRGAN's `kernel_prob`.
    fn default() -> Self {
        KernelMix { iso: 0.45, aniso: 0.25, generalized_iso: 0.12, generalized_aniso: 0.03, plateau_iso: 0.12, plateau_aniso: 0.03 }
    }
}

/// A random blur kernel: a sinc with `sinc_probability`, else one of the
/// [`KernelMix`] families, of a random odd size in `sizes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlurConfig {
    /// Smallest and largest side (odd sizes between them are equally likely).
    #[serde(default = "kernel_sizes")]
    pub sizes: [usize; 2],
    /// Gaussian sigma in pixels, along each axis for anisotropic kernels.
    pub sigma: Range,
    #[serde(default)]
    pub mix: KernelMix,
    /// The generalized Gaussian's shape (Real-ESRGAN's `betag_range`).
    #[serde(default = "betag")]
    pub generalized_beta: Range,
    /// The plateau kernel's shape (`betap_range`).
    #[serde(default = "betap")]
    pub plateau_beta: Range,
    #[serde(default)]
    pub sinc_probability: f64,
}

fn kernel_sizes() -> [usize; 2] {
    [7, 21]
}
fn betag() -> Range {
    Range::new(0.5, 4.0)
}
fn betap() -> Range {
    Range::new(1.0, 2.0)
}

impl BlurConfig {
    /// Real-ESRGAN's first-order blur (`sigma` is `blur_sigma`).
    pub fn real_esrgan(sigma: Range) -> Self {
        BlurConfig {
            sizes: kernel_sizes(),
            sigma,
            mix: KernelMix::default(),
            generalized_beta: betag(),
            plateau_beta: betap(),
            sinc_probability: 0.1,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        let [lo, hi] = self.sizes;
        if lo % 2 == 0 || hi % 2 == 0 || lo > hi || hi > 63 {
            return Err(format!("blur sizes {lo}..{hi}: odd sides from 1 to 63, smallest first"));
        }
        self.sigma.validate("blur sigma", 1e-3, 50.0)?;
        self.generalized_beta.validate("generalized_beta", 1e-2, 20.0)?;
        self.plateau_beta.validate("plateau_beta", 1e-2, 20.0)?;
        let weights = self.mix.weights();
        if weights.iter().any(|w| !(*w >= 0.0)) || weights.iter().sum::<f64>() <= 0.0 {
            return Err("blur mix: weights must be non-negative and not all zero".into());
        }
        super::check_probability("sinc_probability", self.sinc_probability)
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Kernel {
        let [lo, hi] = self.sizes;
        let size = lo + 2 * rng.random_range(0..=(hi - lo) / 2);
        if rng.random::<f64>() < self.sinc_probability {
            // Real-ESRGAN: lower cutoffs (wider ringing) only on larger kernels.
            let low = if size < 13 { PI / 3.0 } else { PI / 5.0 };
            return Kernel::sinc(size, Range::new(low, PI).sample(rng));
        }
        let weights = self.mix.weights();
        let mut pick = rng.random::<f64>() * weights.iter().sum::<f64>();
        let mut family = weights.len() - 1;
        for (i, w) in weights.iter().enumerate() {
            if pick < *w {
                family = i;
                break;
            }
            pick -= w;
        }
        let shape = [Shape::Gaussian, Shape::Generalized, Shape::Plateau][family / 2];
        let isotropic = family % 2 == 0;
        let sigma_x = self.sigma.sample(rng);
        let (sigma_y, theta) = if isotropic { (sigma_x, 0.0) } else { (self.sigma.sample(rng), Range::new(-PI, PI).sample(rng)) };
        let beta = match shape {
            Shape::Gaussian => 1.0,
            Shape::Generalized => split_beta(self.generalized_beta, rng),
            Shape::Plateau => split_beta(self.plateau_beta, rng),
        };
        Kernel::bivariate(shape, size, sigma_x, sigma_y, theta, beta)
    }
}

/// Real-ESRGAN draws beta below 1 or above 1 with equal chance.
fn split_beta<R: Rng + ?Sized>(range: Range, rng: &mut R) -> f64 {
    if rng.random::<f64>() < 0.5 {
        Range::new(range.lo, range.lo.max(1.0).min(range.hi)).sample(rng)
    } else {
        Range::new(range.lo.max(1.0).min(range.hi), range.hi).sample(rng)
    }
}

/// The Bessel function of the first kind, order 1 (rational approximations
/// of Numerical Recipes' `bessj1`, absolute error below 1e-7).
pub fn bessel_j1(x: f64) -> f64 {
    let ax = x.abs();
    if ax < 8.0 {
        let y = x * x;
        let num = x * (72362614232.0 + y * (-7895059235.0 + y * (242396853.1 + y * (-2972611.439 + y * (15704.48260 + y * (-30.16036606))))));
        let den = 144725228442.0 + y * (2300535178.0 + y * (18583304.74 + y * (99447.43394 + y * (376.9991397 + y))));
        num / den
    } else {
        let z = 8.0 / ax;
        let y = z * z;
        let xx = ax - 2.356194491;
        let p = 1.0 + y * (0.183105e-2 + y * (-0.3516396496e-4 + y * (0.2457520174e-5 + y * (-0.240337019e-6))));
        let q = 0.04687499995 + y * (-0.2002690873e-3 + y * (0.8449199096e-5 + y * (-0.88228987e-6 + y * 0.105787412e-6)));
        let ans = (0.636619772 / ax).sqrt() * (xx.cos() * p - z * xx.sin() * q);
        if x < 0.0 { -ans } else { ans }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// J1 by its integral, (1/pi) int_0^pi cos(t - x sin t) dt (Simpson).
    fn j1_by_integral(x: f64) -> f64 {
        let n = 2000;
        let h = PI / n as f64;
        let f = |t: f64| (t - x * t.sin()).cos();
        let mut s = f(0.0) + f(PI);
        for i in 1..n {
            s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0 / PI
    }

    #[test]
    fn bessel_j1_matches_its_integral() {
        for i in 0..=90 {
            let x = -5.0 + i as f64 * 0.5;
            assert!((bessel_j1(x) - j1_by_integral(x)).abs() < 1e-7, "J1({x}): {} vs {}", bessel_j1(x), j1_by_integral(x));
        }
    }

    /// sum w, and the second moments E[x^2], E[xy], E[y^2] of a kernel.
    fn moments(k: &Kernel) -> (f64, [f64; 3]) {
        let c = (k.size / 2) as f64;
        let (mut sum, mut m) = (0.0, [0.0; 3]);
        for (i, w) in k.weights.iter().enumerate() {
            let (x, y) = ((i % k.size) as f64 - c, (i / k.size) as f64 - c);
            sum += w;
            m[0] += w * x * x;
            m[1] += w * x * y;
            m[2] += w * y * y;
        }
        (sum, m)
    }

    #[test]
    fn gaussian_kernels_have_the_covariance_they_were_given() {
        // Wide enough that truncation is negligible: the moments are Sigma's.
        for (sx, sy, theta) in [(1.5, 1.5, 0.0), (2.0, 0.7, 0.6), (1.2, 2.5, -2.0)] {
            let k = Kernel::bivariate(Shape::Gaussian, 31, sx, sy, theta, 1.0);
            let (sum, m) = moments(&k);
            let (c, s) = (f64::cos(theta), f64::sin(theta));
            let want = [c * c * sx * sx + s * s * sy * sy, c * s * (sx * sx - sy * sy), s * s * sx * sx + c * c * sy * sy];
            assert!((sum - 1.0).abs() < 1e-12);
            for i in 0..3 {
                assert!((m[i] - want[i]).abs() < 2e-3, "sigma ({sx}, {sy}, {theta}): moment {i} {} vs {}", m[i], want[i]);
            }
        }
    }

    #[test]
    fn generalized_and_plateau_kernels_are_flatter_or_peakier_as_beta_says() {
        let var = |shape, beta| moments(&Kernel::bivariate(shape, 41, 2.0, 2.0, 0.0, beta)).1[0];
        let gauss = var(Shape::Gaussian, 1.0);
        // beta = 1 is the Gaussian itself.
        assert!((var(Shape::Generalized, 1.0) - gauss).abs() < 1e-12);
        // A larger beta is flatter near the centre and cut off faster: less spread.
        assert!(var(Shape::Generalized, 4.0) < gauss && var(Shape::Generalized, 0.5) > gauss);
        // The plateau kernel has heavy tails (1/q^beta).
        assert!(var(Shape::Plateau, 1.0) > gauss);
    }

    #[test]
    fn the_sinc_kernel_is_a_low_pass_whose_spectrum_cuts_at_the_cutoff() {
        let k = Kernel::sinc(21, PI / 2.0);
        let (sum, _) = moments(&k);
        assert!((sum - 1.0).abs() < 1e-12);
        // Its frequency response along x: near 1 well inside the cutoff,
        // near 0 well outside (ringing: negative lobes in space).
        let response = |omega: f64| {
            let c = 10.0;
            k.weights.iter().enumerate().map(|(i, w)| w * (omega * ((i % 21) as f64 - c)).cos()).sum::<f64>()
        };
        assert!(response(0.25 * PI).abs() > 0.85, "{}", response(0.25 * PI));
        assert!(response(0.85 * PI).abs() < 0.15, "{}", response(0.85 * PI));
        assert!(k.weights.iter().any(|w| *w < 0.0), "a sinc rings");
    }

    #[test]
    fn filtering_keeps_flat_images_and_matches_a_direct_sum() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let k = BlurConfig::real_esrgan(Range::new(0.2, 3.0)).sample(&mut rng);
        let mut flat = vec![Plane::new(9, 7, vec![0.25; 63])];
        k.apply(&mut flat);
        assert!(flat[0].data.iter().all(|v| (v - 0.25).abs() < 1e-5));
        // Interior pixel against the definition.
        let data: Vec<f32> = (0..40 * 30).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let plane = Plane::new(40, 30, data);
        let out = k.apply_plane(&plane);
        let (x, y, r) = (20usize, 15usize, k.size / 2);
        let mut want = 0.0;
        for ky in 0..k.size {
            for kx in 0..k.size {
                want += k.weights[ky * k.size + kx]
                    * plane.get(reflect((x + kx) as isize - r as isize, 40), reflect((y + ky) as isize - r as isize, 30)) as f64;
            }
        }
        assert!((out.get(x, y) as f64 - want).abs() < 1e-5);
    }

    #[test]
    fn isotropic_gaussians_filter_in_two_passes_to_the_same_result() {
        let k = Kernel::bivariate(Shape::Gaussian, 15, 2.2, 2.2, 0.7, 1.0);
        let g = k.separable.clone().expect("an isotropic Gaussian is separable");
        for (i, w) in k.weights.iter().enumerate() {
            assert!((w - g[i % 15] * g[i / 15]).abs() < 1e-12);
        }
        let plane = Plane::new(23, 17, (0..23 * 17).map(|i| ((i * 31) % 17) as f32 / 16.0).collect());
        let two_d = Kernel { separable: None, ..k.clone() };
        let (a, b) = (k.apply_plane(&plane), two_d.apply_plane(&plane));
        assert!(a.data.iter().zip(&b.data).all(|(x, y)| (x - y).abs() < 1e-5));
        assert!(Kernel::bivariate(Shape::Gaussian, 15, 2.2, 1.0, 0.7, 1.0).separable.is_none());
        assert!(Kernel::bivariate(Shape::Generalized, 15, 2.2, 2.2, 0.0, 2.0).separable.is_none());
    }

    #[test]
    fn reflect_padding_does_not_repeat_the_edge() {
        let idx: Vec<usize> = (-3..7).map(|i| reflect(i, 4)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(reflect(-5, 1), 0);
    }
}
