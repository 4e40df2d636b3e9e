//! Bad input gets one clear error line naming the file and the problem, a
//! non-zero exit, no panic, and no partial output file.

use std::path::Path;

use upres_tests::corpus::png_claiming;
use upres_tests::{imported_reference_vdsr, reference_vdsr, run_err, set5, trainer};

fn assert_no_output(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().starts_with("out")), "partial output left behind: {left:?}");
}

#[test]
fn bad_images_are_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let weights = imported_reference_vdsr(tmp.path());
    let butterfly = std::fs::read(set5().join("butterfly.png")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.png", butterfly[..butterfly.len() / 2].to_vec(), "not a decodable image"),
        ("notes.png", b"these are my notes, not a picture\n".to_vec(), "not a decodable image"),
        ("zero.png", png_claiming(0, 0), "not a decodable image"),
        ("huge.png", png_claiming(200_000, 200_000), "image is 200000x200000, larger than the limit"),
    ];
    for (name, bytes, problem) in cases {
        let input = tmp.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let out = tmp.path().join("out.png");
        let err = run_err(trainer().arg("upscale").arg("--weights").arg(&weights).arg(&input).arg(&out));
        assert!(err.contains(name), "{name}: error does not name the file: {err}");
        assert!(err.contains(problem), "{name}: expected '{problem}' in: {err}");
        assert_no_output(tmp.path());
    }
}

#[test]
fn missing_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let weights = imported_reference_vdsr(tmp.path());
    let err = run_err(trainer().arg("upscale").arg("--weights").arg(&weights).arg(tmp.path().join("nope.png")).arg(tmp.path().join("out.png")));
    assert!(err.contains("nope.png") && err.contains("no such file"), "{err}");
    let err = run_err(
        trainer()
            .arg("upscale")
            .arg("--weights")
            .arg(tmp.path().join("missing.safetensors"))
            .arg(set5().join("bird.png"))
            .arg(tmp.path().join("out.png")),
    );
    assert!(err.contains("missing.safetensors") && err.contains("cannot read file"), "{err}");
    let err = run_err(trainer().args(["eval", "--scale", "2", "--model", "bicubic", "--data"]).arg(tmp.path().join("NoSuchSet")));
    assert!(err.contains("NoSuchSet") && err.contains("cannot read folder"), "{err}");
    assert_no_output(tmp.path());
}

#[test]
fn weights_of_the_wrong_kind_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.png");
    // Outside weights must go through `trainer import`.
    let err = run_err(trainer().arg("upscale").arg("--weights").arg(reference_vdsr()).arg(set5().join("bird.png")).arg(&out));
    assert!(err.contains("vdsr_x234.safetensors") && err.contains("trainer import"), "{err}");
    // VDSR tensors do not make an EDSR.
    let err = run_err(
        trainer()
            .args(["import", "--arch", "edsr-baseline"])
            .arg("--from")
            .arg(reference_vdsr())
            .arg("--out")
            .arg(tmp.path().join("out.safetensors")),
    );
    assert!(err.contains("does not fit --arch edsr-baseline") && err.contains("missing"), "{err}");
    // A PNG is not a weights file.
    let err = run_err(trainer().arg("upscale").arg("--weights").arg(set5().join("bird.png")).arg(set5().join("bird.png")).arg(&out));
    assert!(err.contains("bird.png") && err.contains("not an upres weights file"), "{err}");
    assert_no_output(tmp.path());
}

#[test]
fn unsupported_scale_and_output_format_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let weights = imported_reference_vdsr(tmp.path());
    let err = run_err(
        trainer().arg("upscale").args(["--scale", "0.5", "--weights"]).arg(&weights).arg(set5().join("bird.png")).arg(tmp.path().join("out.png")),
    );
    assert!(err.contains("scale x0.5 is not supported"), "{err}");
    let err = run_err(trainer().arg("upscale").arg("--weights").arg(&weights).arg(set5().join("bird.png")).arg(tmp.path().join("out.jpg")));
    assert!(err.contains("out.jpg") && err.contains(".png"), "{err}");
    assert_no_output(tmp.path());
}

#[test]
fn a_folder_with_one_bad_image_still_does_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let weights = imported_reference_vdsr(tmp.path());
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(set5().join("bird.png"), input.join("bird.png")).unwrap();
    std::fs::copy(set5().join("head.png"), input.join("head.png")).unwrap();
    std::fs::write(input.join("broken.png"), b"not a png").unwrap();
    let output = tmp.path().join("results");
    let out = trainer().arg("upscale").arg("--weights").arg(&weights).arg(&input).arg(&output).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.png") && stderr.contains("1 of 3 image(s) failed"), "{stderr}");
    assert!(output.join("bird.png").exists() && output.join("head.png").exists());
    assert!(!output.join("broken.png").exists());
}

#[test]
fn eval_skips_a_bad_image_and_reports_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("set");
    std::fs::create_dir(&data).unwrap();
    std::fs::copy(set5().join("bird.png"), data.join("bird.png")).unwrap();
    std::fs::write(data.join("corrupt.png"), b"\x89PNG but not really").unwrap();
    let out = trainer().args(["eval", "--model", "bicubic", "--json", "--scale", "2", "--data"]).arg(&data).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("corrupt.png") && stderr.contains("not a decodable image"), "{stderr}");
    let r = upres_tests::json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(r["images"].as_array().unwrap().len(), 1);
    assert!(r["skipped"][0].as_str().unwrap().ends_with("corrupt.png"));
    assert!((r["psnr"].as_f64().unwrap() - 36.82).abs() < 0.01, "bird x2 bicubic");
}
