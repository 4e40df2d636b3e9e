//! f16 weights files score what their f32 source scores. The fixture is a
//! reduced SRResNet (4 residual blocks, 32 features, x4) trained here on the
//! CPU, so its batch-norm layers hold real running statistics: the part of
//! a network that f16 would damage (burn-store's half-precision adapter
//! leaves batch-norm layers in f32).

use upres_tests::{json, manifest_dir, run_ok, set5, trainer};

#[test]
fn a_trained_srresnet_exported_in_f16_scores_its_f32_psnr_on_set5() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(manifest_dir().join("fixtures/srresnet-b4f32-x4.safetensors"), run.join("best.safetensors")).unwrap();
    let half = tmp.path().join("srresnet.f16.safetensors");
    run_ok(trainer().args(["export", "--f16", "--run"]).arg(&run).arg("--out").arg(&half));

    let score = |weights: &std::path::Path| {
        let out = run_ok(trainer().args(["eval", "--json", "--scale", "4", "--weights"]).arg(weights).arg("--data").arg(set5()));
        let r = json(&out);
        (r["psnr"].as_f64().unwrap(), r["ssim"].as_f64().unwrap())
    };
    let (psnr32, ssim32) = score(&run.join("best.safetensors"));
    let (psnr16, ssim16) = score(&half);
    // Trained, it is above bicubic (28.42 dB); in f16 it loses nothing measurable.
    assert!(psnr32 > 28.6, "the fixture should be a trained network: {psnr32:.3} dB");
    assert!((psnr16 - psnr32).abs() < 0.01, "f16 {psnr16:.4} dB vs f32 {psnr32:.4} dB");
    assert!((ssim16 - ssim32).abs() < 0.0005, "f16 SSIM {ssim16:.5} vs f32 {ssim32:.5}");
}
