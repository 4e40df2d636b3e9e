//! `trainer features`: VDSR's layer-by-layer activations (the paper's Figure 2).

use upres_image::{DecodeLimits, Layout, read_image};
use upres_tests::{imported_reference_vdsr, run_ok, trainer};

#[test]
fn vdsr_features_are_written_for_every_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let weights = imported_reference_vdsr(tmp.path());
    let out = tmp.path().join("features");
    run_ok(
        trainer()
            .args(["features", "--scale", "2", "--weights"])
            .arg(&weights)
            .arg("--image")
            .arg(upres_tests::data_dir().join("benchmark/Set5/LR_bicubic/X2/birdx2.png"))
            .arg("--out")
            .arg(&out),
    );
    let mut names: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut expected: Vec<String> = (1..=19).map(|i| format!("layer{i:02}.png")).collect();
    expected.extend(["input.png", "output.png", "residual.png"].map(String::from));
    expected.sort();
    assert_eq!(names, expected);
    // 64 feature maps of 288x288 (the x2 bicubic input) in an 8x8 grid with 2-pixel gaps.
    let grid = read_image(&out.join("layer05.png"), DecodeLimits::default()).unwrap();
    assert_eq!((grid.width, grid.height, grid.layout), (8 * 290 - 2, 8 * 290 - 2, Layout::Gray));
    // Activations are not constant: the grid uses the whole range.
    let (lo, hi) = grid.planes[0].data.iter().fold((255.0f32, 0.0f32), |(l, h), &v| (l.min(v), h.max(v)));
    assert_eq!((lo, hi), (0.0, 255.0));
}
