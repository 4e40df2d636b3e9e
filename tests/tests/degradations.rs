//! Measuring on the images people have: `trainer eval --degrade` (the
//! papers' LR saved as JPEG, noisy, blurred) and `--lr` (real camera pairs).

use upres_image::{DecodeLimits, read_image};
use upres_tests::{data_dir, json, run_err, run_ok, set5, set14, trainer};

fn bicubic_psnr(scale: &str, data: &std::path::Path, extra: &[&str]) -> f64 {
    let out = run_ok(trainer().args(["eval", "--model", "bicubic", "--json", "--scale", scale, "--data"]).arg(data).args(extra));
    json(&out)["psnr"].as_f64().unwrap()
}

#[test]
fn jpeg_degradation_costs_bicubic_what_another_encoder_measured() {
    // Set14 x2 with PIL's bicubic and PIL's (libjpeg's) encoder at the IJG
    // quality, measured outside this project: clean 30.32, q90 29.95, q75
    // 29.20. Our bicubic is MATLAB's (30.23 clean), so compare what the JPEG
    // costs: our encoder (jpeg-encoder, 4:2:0) and decoder (the product's)
    // must lose what libjpeg loses.
    let clean = bicubic_psnr("2", &set14(), &[]);
    for (q, pil_loss) in [("90", 30.32 - 29.95), ("75", 30.32 - 29.20)] {
        let ours = bicubic_psnr("2", &set14(), &["--degrade", &format!("jpeg:{q}")]);
        assert!(((clean - ours) - pil_loss).abs() < 0.05, "JPEG q{q}: loses {:.3} dB, libjpeg {pil_loss:.3}", clean - ours);
    }
}

#[test]
fn degraded_lr_is_the_same_for_a_seed_and_differs_for_another() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |dir: &str, seed: &str| {
        let out = tmp.path().join(dir);
        run_ok(trainer().args(["degrade", "--scale", "2", "--degrade", "real", "--seed", seed, "--input"]).arg(set5()).arg("--output").arg(&out));
        read_image(&out.join("birdx2.png"), DecodeLimits::default()).unwrap()
    };
    let (a, b, c) = (write("a", "1"), write("b", "1"), write("c", "2"));
    // The LR has the protocol's size whatever the chain did in between.
    assert_eq!((a.width, a.height), (144, 144));
    assert_eq!(a, b);
    assert_ne!(a, c);
    // And eval measures what degrade writes.
    let seeded = |seed: &str| bicubic_psnr("2", &set5(), &["--degrade", "noise:10", "--seed", seed]);
    assert_eq!(seeded("3"), seeded("3"));
    assert!(seeded("3") < bicubic_psnr("2", &set5(), &[]) - 1.0);
}

#[test]
fn real_pairs_are_read_by_name_and_measured_at_their_scale() {
    let drealsr = data_dir().join("benchmark/DRealSR");
    // The bicubic baseline of the 91 camera pairs at x4 (shared/README: 30.14 with PIL's bicubic).
    let psnr = bicubic_psnr("4", &drealsr.join("HR"), &["--lr", drealsr.join("LR_x4").to_str().unwrap()]);
    assert!((psnr - 30.14).abs() < 0.05, "DRealSR x4 bicubic {psnr:.3}");
    let err = run_err(
        trainer().args(["eval", "--model", "bicubic", "--scale", "2", "--data"]).arg(drealsr.join("HR")).arg("--lr").arg(drealsr.join("LR_x4")),
    );
    assert!(err.contains("not a x2 pair"), "{err}");
}

#[test]
fn bad_degradations_are_named() {
    for (spec, says) in [("jpeg:101", "jpeg quality"), ("sharpen:1", "unknown operation"), ("jpg", "neither a preset")] {
        let err = run_err(trainer().args(["eval", "--model", "bicubic", "--scale", "2", "--degrade", spec, "--data"]).arg(set5()));
        assert!(err.contains(says), "{spec}: {err}");
    }
}

#[test]
fn lpips_is_measured_beside_psnr_and_a_model_beats_bicubic_on_it() {
    // LPIPS itself is checked against numpy in trainer/src/lpips.rs; here, that eval reports it.
    if !upres_tests::lpips_weights_present() {
        return;
    }
    let weights = upres_tests::manifest_dir().join("../weights/sesr-m5-x4.f16.safetensors");
    let out = run_ok(trainer().args(["eval", "--lpips", "--json", "--scale", "4", "--weights"]).arg(&weights).arg("--data").arg(set5()));
    let r = json(&out);
    let (model, bicubic) = (r["lpips"].as_f64().unwrap(), r["bicubic_lpips"].as_f64().unwrap());
    assert!(bicubic > 0.2 && bicubic < 0.4, "bicubic LPIPS {bicubic}");
    assert!(model < bicubic - 0.02, "sesr-m5-x4 LPIPS {model} vs bicubic {bicubic}");
    assert!(r["images"][0]["lpips"].as_f64().is_some());
    // Without --lpips the JSON has no LPIPS fields.
    let plain = json(&run_ok(trainer().args(["eval", "--model", "bicubic", "--json", "--scale", "4", "--data"]).arg(set5())));
    assert!(plain.get("lpips").is_none() && plain.get("bicubic_lpips").is_none());
}
