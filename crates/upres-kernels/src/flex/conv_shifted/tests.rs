//! The shifted-GEMM convolution against the definition.

use super::*;
use crate::flex::test_values as values;

/// Index in NCHW `x` of the input pixel that tap `(i, j)` reads for output
/// pixel `(r, c)` of image `b`, channel `ci`; `None` where it is padding.
fn tap_input(g: &Shifted2d, b: usize, ci: usize, r: usize, c: usize, i: usize, j: usize) -> Option<usize> {
    let ir = (r + i * g.dil_h).checked_sub(g.pad_h).filter(|&ir| ir < g.in_h)?;
    let ic = (c + j * g.dil_w).checked_sub(g.pad_w).filter(|&ic| ic < g.in_w)?;
    Some(((b * g.c_in + ci) * g.in_h + ir) * g.in_w + ic)
}

/// The convolution by its definition, in f64.
fn reference(g: &Shifted2d, x: &[f32], w: &[f32]) -> Vec<f64> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut out = vec![0.0; g.batch * g.c_out * oh * ow];
    for b in 0..g.batch {
        for co in 0..g.c_out {
            for r in 0..oh {
                for c in 0..ow {
                    let mut s = 0.0f64;
                    for ci in 0..g.c_in {
                        for i in 0..g.k_h {
                            for j in 0..g.k_w {
                                let Some(xi) = tap_input(g, b, ci, r, c, i, j) else {
                                    continue;
                                };
                                let xv = x[xi];
                                let wv = w[((co * g.c_in + ci) * g.k_h + i) * g.k_w + j];
                                s += xv as f64 * wv as f64;
                            }
                        }
                    }
                    out[((b * g.c_out + co) * oh + r) * ow + c] = s;
                }
            }
        }
    }
    out
}

fn geometries() -> Vec<Shifted2d> {
    let g = |batch, c_in, c_out, in_h, in_w, k_h, k_w, pad_h, pad_w, dil| Shifted2d {
        batch,
        c_in,
        c_out,
        in_h,
        in_w,
        k_h,
        k_w,
        pad_h,
        pad_w,
        dil_h: dil,
        dil_w: dil,
    };
    vec![
        g(2, 16, 16, 9, 11, 3, 3, 1, 1, 1),
        g(1, 3, 7, 20, 5, 5, 5, 2, 2, 1),
        g(3, 5, 4, 8, 8, 3, 5, 0, 2, 1),
        g(1, 4, 4, 10, 12, 3, 3, 2, 2, 2),
        g(2, 2, 3, 6, 7, 3, 1, 0, 0, 1),
        // Tall enough for several bands of one image.
        g(1, 64, 64, 70, 66, 3, 3, 1, 1, 1),
        // Channel counts that are not whole groups of the pixel-major copy
        // (8 + 8 + 8, 5 x 8, 8 + 1), and with dilation one weight-gradient
        // GEMM per kernel position instead of per kernel row.
        g(2, 24, 20, 9, 10, 3, 3, 1, 1, 1),
        g(1, 40, 36, 6, 7, 3, 3, 1, 1, 1),
        g(1, 9, 5, 10, 12, 3, 3, 2, 2, 2),
        // Kernel columns stacked into the inner dimension: a network's
        // first layer, a sub-pixel output layer's input gradient, a
        // rectangular kernel.
        g(2, 1, 16, 12, 13, 5, 5, 2, 2, 1),
        g(2, 4, 16, 9, 9, 5, 5, 2, 2, 1),
        g(1, 2, 5, 8, 9, 5, 3, 2, 1, 1),
    ]
}

#[test]
fn forward_equals_the_definition() {
    for g in geometries() {
        let x = values(g.batch * g.c_in * g.in_h * g.in_w, 1);
        let w = values(g.c_out * g.c_in * g.k_h * g.k_w, 2);
        let bias = values(g.c_out, 3);
        let got = conv2d(&g, &x, &w, Some(&bias));
        let want = reference(&g, &x, &w);
        let plane = g.out_h() * g.out_w();
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            let b = b + bias[(i / plane) % g.c_out] as f64;
            assert!((*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()), "{g:?} at {i}: {a} vs {b}");
        }
    }
}

/// The weight gradient by its definition, in f64: `dW[co, ci, i, j]` is the
/// sum over images and output pixels of `grad[b, co, r, c]` times the input
/// pixel that tap `(i, j)` reads for `(r, c)`.
fn weight_grad_reference(g: &Shifted2d, x: &[f32], grad: &[f32]) -> Vec<f64> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut out = vec![0.0; g.c_out * g.c_in * g.k_h * g.k_w];
    for co in 0..g.c_out {
        for ci in 0..g.c_in {
            for i in 0..g.k_h {
                for j in 0..g.k_w {
                    let mut s = 0.0f64;
                    for b in 0..g.batch {
                        for r in 0..oh {
                            for c in 0..ow {
                                let Some(xi) = tap_input(g, b, ci, r, c, i, j) else {
                                    continue;
                                };
                                let xv = x[xi];
                                s += grad[((b * g.c_out + co) * oh + r) * ow + c] as f64 * xv as f64;
                            }
                        }
                    }
                    out[((co * g.c_in + ci) * g.k_h + i) * g.k_w + j] = s;
                }
            }
        }
    }
    out
}

#[test]
fn weight_gradient_equals_the_definition() {
    for g in geometries() {
        let x = values(g.batch * g.c_in * g.in_h * g.in_w, 4);
        let grad = values(g.batch * g.c_out * g.out_h() * g.out_w(), 5);
        let got = conv2d_weight_grad(&g, &x, &grad);
        let want = weight_grad_reference(&g, &x, &grad);
        assert_eq!(got.len(), want.len());
        for (tap, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!((*a as f64 - b).abs() < 1e-3 * (1.0 + b.abs()), "{g:?} tap {tap}: {a} vs {b}");
        }
    }
}

#[test]
fn few_input_channels_stack_the_kernel_columns() {
    let g = |c_in, k| Shifted2d { batch: 1, c_in, c_out: 16, in_h: 8, in_w: 8, k_h: k, k_w: k, pad_h: k / 2, pad_w: k / 2, dil_h: 1, dil_w: 1 };
    assert!(g(1, 5).stacks_columns() && g(4, 5).stacks_columns() && g(8, 3).stacks_columns());
    assert!(!g(16, 3).stacks_columns() && !g(5, 5).stacks_columns());
    assert_eq!((g(4, 5).depth(), g(4, 5).steps()), (20, 5));
    assert_eq!((g(16, 3).depth(), g(16, 3).steps()), (16, 9));
}

#[test]
fn bands_split_an_image_evenly() {
    // 64 output rows at 16 + 16 channels and 66 padded columns: at most 31
    // rows fit a band, so three bands of 22, 22 and 20 (not 31, 31 and 2).
    let g = Shifted2d { batch: 16, c_in: 16, c_out: 16, in_h: 64, in_w: 64, k_h: 3, k_w: 3, pad_h: 1, pad_w: 1, dil_h: 1, dil_w: 1 };
    let rows: Vec<usize> = (0..g.bands()).map(|band| g.band(band).2).collect();
    assert_eq!(rows, vec![22, 22, 20]);
    assert_eq!(g.items(), 16 * 3);
    // Every (image, row) once, in order.
    let covered: Vec<(usize, usize)> = (0..g.items()).map(|item| g.band(item)).flat_map(|(b, r0, n)| (r0..r0 + n).map(move |r| (b, r))).collect();
    let want: Vec<(usize, usize)> = (0..16).flat_map(|b| (0..64).map(move |r| (b, r))).collect();
    assert_eq!(covered, want);
}

#[test]
fn transposed_weights_turn_the_kernel_and_swap_channels() {
    // [c_in = 1, c_out = 2, 1, 3]
    let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    assert_eq!(transposed_as_forward(&w, 1, 2, 1, 3), vec![3.0, 2.0, 1.0, 6.0, 5.0, 4.0]);
}

#[test]
fn large_kernels_and_grouped_convolutions_are_left_to_im2col() {
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    assert!(Shifted2d::of(&[16, 16, 64, 64], &[16, 16, 3, 3], &options).is_some());
    // The weight gradient written as a convolution: a 64x64 kernel, a 3x3 output.
    assert!(Shifted2d::of(&[16, 16, 64, 64], &[16, 16, 64, 64], &options).is_none());
    // 1x1 is Flex's own fast path.
    assert!(Shifted2d::of(&[16, 16, 64, 64], &[16, 16, 1, 1], &options).is_none());
    let grouped = ConvOptions::new([1, 1], [1, 1], [1, 1], 2);
    assert!(Shifted2d::of(&[1, 16, 8, 8], &[16, 8, 3, 3], &grouped).is_none());
    let strided = ConvOptions::new([2, 2], [1, 1], [1, 1], 1);
    assert!(Shifted2d::of(&[1, 16, 8, 8], &[16, 16, 3, 3], &strided).is_none());
}

#[test]
fn plane_sum_adds_every_value_whatever_the_length() {
    // Lengths below, at and around the lane count, and one with a remainder.
    for n in (0..40).chain([1000, 4099]) {
        let v = values(n, n as u32 + 7);
        let want: f64 = v.iter().map(|&x| x as f64).sum();
        let got = plane_sum(&v) as f64;
        assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "n = {n}: {got} against {want}");
    }
}

#[test]
fn bias_grad_is_the_sum_per_channel_over_batch_and_pixels() {
    use burn_backend::TensorData;
    let (batch, channels, h, w) = (3, 5, 7, 9);
    let v = values(batch * channels * h * w, 11);
    let grad = FlexTensor::from_data(TensorData::new(v.clone(), [batch, channels, h, w]));
    let got: Vec<f32> = bias_grad::<f32>(&grad).storage::<f32>().to_vec();
    for c in 0..channels {
        let want: f64 = (0..batch).flat_map(|n| &v[(n * channels + c) * h * w..][..h * w]).map(|&x| x as f64).sum();
        assert!((got[c] as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()), "channel {c}: {} against {want}", got[c]);
    }
}
