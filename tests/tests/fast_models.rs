//! The fast LR-space networks through the whole trainer: a few steps of
//! SESR's collapsed training, `trainer export` writing the collapsed form,
//! and that form upscaling and scoring exactly as the trained one.

use std::path::Path;

use upres_image::{DecodeLimits, read_image};
use upres_tests::{json, run_ok, set5, trainer};

fn train_a_few_steps(recipe: &str, run: &Path) {
    let config = upres_tests::manifest_dir().join("../trainer/configs").join(recipe);
    run_ok(
        trainer()
            .args(["train", "--quiet", "--config"])
            .arg(config)
            .arg("--out")
            .arg(run)
            .arg("--data-root")
            .arg(upres_tests::data_dir())
            .args(["--max-iters", "4", "--set", "data.batch=4", "--set", "data.patch=24", "--set", r#"data.dirs=["train/T91"]"#])
            .args(["--set", "validation.every=4", "--set", "checkpoint_every=4"]),
    );
}

fn max_pixel_diff(a: &Path, b: &Path) -> f32 {
    let (a, b) = (read_image(a, DecodeLimits::default()).unwrap(), read_image(b, DecodeLimits::default()).unwrap());
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.planes.iter().zip(&b.planes).flat_map(|(p, q)| p.data.iter().zip(&q.data).map(|(x, y)| (x - y).abs())).fold(0.0, f32::max)
}

#[test]
fn an_exported_sesr_is_collapsed_and_upscales_as_the_trained_one() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("sesr");
    train_a_few_steps("sesr-m5-x2.json", &run);
    let trained = run.join("best.safetensors");
    let exported = tmp.path().join("sesr-m5-x2.f16.safetensors");
    run_ok(trainer().args(["export", "--f16", "--notes", "Set14 x2 30.00 dB", "--run"]).arg(&run).arg("--out").arg(&exported));

    let info = |f: &Path| json(&run_ok(trainer().args(["info", "--json"]).arg(f)));
    assert_eq!(info(&trained)["config"]["collapsed"], false);
    assert_eq!(info(&exported)["config"]["collapsed"], true);
    let notes = info(&exported)["provenance"]["notes"].as_str().unwrap().to_string();
    assert!(notes.starts_with("sesr-m5-x2 (") && notes.ends_with("; Set14 x2 30.00 dB"), "{notes}");
    let text = run_ok(trainer().arg("info").arg(&exported));
    assert!(text.contains("cost          13520 multiply-adds per LR pixel at x2"), "{text}");
    // 5x5, five 3x3, 5x5 at the LR size; tiles exact at 2 * 9 + 2.
    assert!(text.contains("reach         9 LR pixels (tiles overlap by 20 by default)"), "{text}");
    // 5 + 2 collapsed kernels of 13.52K weights, against 0.32M expanded ones.
    let bytes = |f: &Path| std::fs::metadata(f).unwrap().len();
    assert!(bytes(&exported) < 40_000 && bytes(&trained) > 1_000_000, "{} / {} bytes", bytes(&exported), bytes(&trained));

    let input = set5().join("butterfly.png");
    let (a, b) = (tmp.path().join("trained.png"), tmp.path().join("exported.png"));
    for (weights, out) in [(&trained, &a), (&exported, &b)] {
        run_ok(trainer().args(["upscale", "--scale", "2", "--weights"]).arg(weights).arg(&input).arg(out));
    }
    let diff = max_pixel_diff(&a, &b);
    assert!(diff <= 1.0, "collapsed f16 export differs from the trained model by {diff}/255");
}

#[test]
fn fsrcnn_trains_exports_and_upscales_at_x3() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("fsrcnn");
    train_a_few_steps("fsrcnn-x3.json", &run);
    let exported = tmp.path().join("fsrcnn-x3.safetensors");
    run_ok(trainer().args(["export", "--run"]).arg(&run).arg("--out").arg(&exported));
    let out = tmp.path().join("up.png");
    run_ok(trainer().args(["upscale", "--scale", "3", "--weights"]).arg(&exported).arg(set5().join("bird.png")).arg(&out));
    let (hr, up) = (read_image(&set5().join("bird.png"), DecodeLimits::default()).unwrap(), read_image(&out, DecodeLimits::default()).unwrap());
    assert_eq!((up.width, up.height), (hr.width * 3, hr.height * 3));
    let scores = json(&run_ok(trainer().args(["eval", "--json", "--scale", "3", "--weights"]).arg(&exported).arg("--data").arg(set5())));
    assert!(scores.to_string().contains("fsrcnn"), "{scores}");
}
