//! `trainer upscale` on images as phones, cameras and the web make them (the
//! corpus of `upres_tests::corpus`): each works, with the layout kept and a
//! note where decoding did something, or is refused with one clear error;
//! and weights that hold NaN are refused before they make garbage.

use std::path::{Path, PathBuf};

use upres_image::{DecodeLimits, Layout, read_image};
use upres_tests::corpus::{Expect, jpeg_with_orientation, write_corpus};
use upres_tests::{manifest_dir, run_err, set5, trainer};

/// The smallest shipped model (SESR-M5 x2, low-resolution input).
fn small_model() -> PathBuf {
    manifest_dir().join("../weights/sesr-m5-x2.f16.safetensors")
}

fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::Gray => "gray",
        Layout::GrayAlpha => "gray-alpha",
        Layout::Rgb => "rgb",
        Layout::Rgba => "rgba",
    }
}

fn upscale(weights: &Path, input: &Path, output: &Path) -> std::process::Output {
    trainer().args(["upscale", "--scale", "2", "--weights"]).arg(weights).arg(input).arg(output).output().expect("trainer runs")
}

#[test]
fn every_file_of_the_corpus_upscales_or_is_refused_with_its_name_and_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    let mut failures = Vec::new();
    for file in write_corpus(&corpus) {
        let input = corpus.join(file.name);
        let output = tmp.path().join(format!("{}.out.png", file.name));
        match file.expect {
            Expect::Upscales { width, height, layout, note } => {
                let run = upscale(&small_model(), &input, &output);
                let stderr = String::from_utf8_lossy(&run.stderr);
                if !run.status.success() {
                    failures.push(format!("{} ({}): failed: {stderr}", file.name, file.what));
                    continue;
                }
                let out = read_image(&output, DecodeLimits::default()).unwrap();
                let got = (out.width, out.height, layout_name(out.layout));
                if got != (width, height, layout) {
                    failures.push(format!("{} ({}): {got:?}, expected {:?}", file.name, file.what, (width, height, layout)));
                }
                let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with("note:")).collect();
                match note {
                    Some(n) if !notes.iter().any(|l| l.contains(file.name) && l.contains(n)) => {
                        failures.push(format!("{}: no note saying '{n}': {stderr}", file.name))
                    }
                    None if !notes.is_empty() => failures.push(format!("{}: unexpected notes: {notes:?}", file.name)),
                    _ => {}
                }
            }
            Expect::Refused(problem) => {
                let err = run_err(&mut trainer().args(["upscale", "--scale", "2", "--weights"]).arg(small_model()).arg(&input).arg(&output));
                if !(err.contains(file.name) && err.contains(problem)) {
                    failures.push(format!("{}: expected an error naming it with '{problem}', got: {err}", file.name));
                }
                if output.exists() {
                    failures.push(format!("{}: an output was written", file.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_phone_photo_held_upright_comes_out_upright() {
    // Stored 96x64 with a red top-left corner; EXIF orientation 6 ("rotate
    // 90 degrees clockwise to display") shows it 64x96 with the red corner at
    // the top right, as browsers and photo viewers do.
    let stored = image::RgbImage::from_fn(96, 64, |x, y| if x < 32 && y < 24 { image::Rgb([230, 20, 20]) } else { image::Rgb([30, 40, 200]) });
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("phone.jpg");
    std::fs::write(&input, jpeg_with_orientation(&stored, 6)).unwrap();
    let output = tmp.path().join("up.png");
    let run = upscale(&small_model(), &input, &output);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("note: ") && String::from_utf8_lossy(&run.stderr).contains("rotated 90 degrees clockwise"));
    let out = read_image(&output, DecodeLimits::default()).unwrap();
    assert_eq!((out.width, out.height), (128, 192));
    let red = |x: usize, y: usize| out.planes[0].data[y * out.width + x] > 150.0 && out.planes[2].data[y * out.width + x] < 100.0;
    assert!(red(127 - 10, 10), "the red corner is at the top right");
    assert!(!red(10, 10) && !red(10, 181) && !red(117, 181), "and only there");
}

/// Overwrite the first `count` f16 values of tensor `name` with NaN.
fn with_nan(weights: &[u8], name: &str, count: usize) -> Vec<u8> {
    let (_, header) = safetensors::SafeTensors::read_metadata(weights).unwrap();
    let file = safetensors::SafeTensors::deserialize(weights).unwrap();
    let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> =
        file.tensors().into_iter().map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect();
    let (_, dtype, _, data) = tensors.iter_mut().find(|(n, ..)| n == name).expect("tensor exists");
    assert_eq!(*dtype, safetensors::Dtype::F16);
    for value in data.chunks_mut(2).take(count) {
        value.copy_from_slice(&[0x00, 0x7E]); // f16 quiet NaN, little-endian
    }
    let views = tensors.iter().map(|(n, d, s, b)| (n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap()));
    safetensors::serialize(views, header.metadata().clone()).unwrap()
}

#[test]
fn weights_holding_nan_are_refused_naming_the_tensor_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read(small_model()).unwrap();
    let first_tensor = safetensors::SafeTensors::deserialize(&good).unwrap().names().into_iter().min().unwrap().to_string();
    let poisoned = tmp.path().join("poisoned.safetensors");
    std::fs::write(&poisoned, with_nan(&good, &first_tensor, 5)).unwrap();
    let output = tmp.path().join("out.png");
    let err = run_err(&mut trainer().args(["upscale", "--weights"]).arg(&poisoned).arg(set5().join("bird.png")).arg(&output));
    assert!(err.contains("poisoned.safetensors") && err.contains(&format!("{first_tensor} holds 5 NaN values")), "{err}");
    assert!(!output.exists());
}

#[test]
fn a_cmyk_jpeg_decodes_to_the_colours_of_its_rgb_original() {
    let tmp = tempfile::tempdir().unwrap();
    write_corpus(tmp.path());
    let cmyk = read_image(&tmp.path().join("cmyk.jpg"), DecodeLimits::default()).unwrap();
    let rgb = read_image(&tmp.path().join("rgb8.png"), DecodeLimits::default()).unwrap();
    assert_eq!((cmyk.width, cmyk.height, cmyk.layout), (rgb.width, rgb.height, Layout::Rgb));
    for (c, (a, b)) in cmyk.planes.iter().zip(&rgb.planes).enumerate() {
        let mean_error = a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.data.len() as f32;
        assert!(mean_error < 6.0, "channel {c}: CMYK decodes {mean_error:.1} levels away from the RGB it was made from (inverted inks?)");
    }
}

#[test]
fn a_one_pixel_high_strip_upscales_close_to_matlab_bicubic() {
    // MATLAB's imresize handles a 300x1 image (symmetric padding repeats
    // the row); the network, zero-padded, must stay close to it.
    let tmp = tempfile::tempdir().unwrap();
    write_corpus(tmp.path());
    let input = tmp.path().join("strip-300x1.png");
    let output = tmp.path().join("up.png");
    let run = upscale(&small_model(), &input, &output);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let strip = read_image(&input, DecodeLimits::default()).unwrap();
    let bicubic = upres_image::imresize(&strip, upres_image::ResizeTarget::Scale(2.0)).unwrap();
    let up = read_image(&output, DecodeLimits::default()).unwrap();
    let y = |image: &upres_image::PlanarImage| upres_image::luma(image);
    let psnr = upres_image::psnr(&y(&up), &y(&bicubic)).unwrap();
    eprintln!("300x1 strip x2: {psnr:.2} dB against MATLAB bicubic");
    assert!(psnr > 30.0, "{psnr:.2} dB");
}
