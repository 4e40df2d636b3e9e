//! `trainer upscale`: sizes, alpha, gray, tiles.

use upres_image::{DecodeLimits, Layout, PlanarImage, Plane, Quantize, ResizeTarget, imresize_plane, read_image, write_png_atomic};
use upres_tests::{imported_reference_vdsr, run_ok, set5, set14, trainer};

fn load(path: &std::path::Path) -> PlanarImage {
    read_image(path, DecodeLimits::default()).unwrap()
}

#[test]
fn transparent_images_keep_their_alpha() {
    let tmp = tempfile::tempdir().unwrap();
    let weights = imported_reference_vdsr(tmp.path());
    let rgb = load(&set5().join("bird.png"));
    // A radial alpha: opaque centre, transparent corners.
    let (w, h) = (rgb.width, rgb.height);
    let alpha = Plane::new(
        w,
        h,
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 - w as f32 / 2.0, (i / w) as f32 - h as f32 / 2.0);
                (255.0 - (x * x + y * y).sqrt() * 1.5).clamp(0.0, 255.0).round()
            })
            .collect(),
    );
    let mut planes = rgb.planes.clone();
    planes.push(alpha.clone());
    let rgba = PlanarImage::new(Layout::Rgba, rgb.depth, planes);
    let input = tmp.path().join("bird_rgba.png");
    write_png_atomic(&rgba, &input).unwrap();

    let output = tmp.path().join("up.png");
    run_ok(trainer().args(["upscale", "--scale", "2", "--weights"]).arg(&weights).arg(&input).arg(&output));
    let up = load(&output);
    assert_eq!((up.width, up.height, up.layout), (2 * w, 2 * h, Layout::Rgba));
    let expected_alpha = imresize_plane(&alpha, ResizeTarget::Scale(2.0), Quantize::Integer(255.0)).unwrap();
    assert_eq!(up.planes[3], expected_alpha, "alpha must be the bicubic upscale of the input alpha");
    // Colour does not go black where it is transparent.
    let corner_rgb: f32 = (0..3).map(|c| up.planes[c].get(0, 0)).sum();
    assert!(corner_rgb > 30.0, "transparent corner went black: {corner_rgb}");
}

#[test]
fn gray_images_stay_gray() {
    let tmp = tempfile::tempdir().unwrap();
    let weights = imported_reference_vdsr(tmp.path());
    let output = tmp.path().join("bridge_x2.png");
    run_ok(trainer().args(["upscale", "--weights"]).arg(&weights).arg(set14().join("bridge.png")).arg(&output));
    let up = load(&output);
    let input = load(&set14().join("bridge.png"));
    assert_eq!(up.layout, Layout::Gray);
    assert_eq!((up.width, up.height), (input.width * 2, input.height * 2));
}

#[test]
fn non_integer_scales_and_exact_sizes_give_the_asked_size() {
    let tmp = tempfile::tempdir().unwrap();
    let weights = imported_reference_vdsr(tmp.path());
    let input = set5().join("woman.png"); // 228x344
    let out = tmp.path().join("a.png");
    run_ok(trainer().args(["upscale", "--scale", "2.5", "--weights"]).arg(&weights).arg(&input).arg(&out));
    let up = load(&out);
    assert_eq!((up.width, up.height), (570, 860));
    run_ok(trainer().args(["upscale", "--width", "500", "--height", "700", "--weights"]).arg(&weights).arg(&input).arg(&out));
    let up = load(&out);
    assert_eq!((up.width, up.height), (500, 700));
}

#[test]
fn tiles_leave_no_seams() {
    // Small tiles against one whole-image tile: every pixel within 1/255.
    let tmp = tempfile::tempdir().unwrap();
    let weights = imported_reference_vdsr(tmp.path());
    let input = set5().join("butterfly.png");
    let whole = tmp.path().join("whole.png");
    let tiled = tmp.path().join("tiled.png");
    run_ok(trainer().args(["upscale", "--tile", "2048", "--weights"]).arg(&weights).arg(&input).arg(&whole));
    run_ok(trainer().args(["upscale", "--tile", "64", "--overlap", "24", "--weights"]).arg(&weights).arg(&input).arg(&tiled));
    let (a, b) = (load(&whole), load(&tiled));
    let worst = a.planes.iter().zip(&b.planes).flat_map(|(p, q)| p.data.iter().zip(&q.data).map(|(x, y)| (x - y).abs())).fold(0.0f32, f32::max);
    assert!(worst <= 1.0, "tiled output differs by {worst}/255");
}

#[test]
fn tiff_files_upscale_as_the_same_pixels_in_png() {
    // `trainer` lists .tif/.tiff as images: it must decode them too.
    let tmp = tempfile::tempdir().unwrap();
    let weights = upres_tests::manifest_dir().join("../weights/sesr-m5-x2.f16.safetensors");
    let png = set5().join("bird.png");
    let decoded = image::open(&png).unwrap();
    let tiff = tmp.path().join("bird.tiff");
    decoded.save_with_format(&tiff, image::ImageFormat::Tiff).unwrap();
    let (from_png, from_tiff) = (tmp.path().join("png_x2.png"), tmp.path().join("tiff_x2.png"));
    run_ok(trainer().args(["upscale", "--weights"]).arg(&weights).arg(&png).arg(&from_png));
    run_ok(trainer().args(["upscale", "--weights"]).arg(&weights).arg(&tiff).arg(&from_tiff));
    assert_eq!(load(&from_png).planes, load(&from_tiff).planes);
}
