//! `trainer train` on the CPU backend: the whole loop learns, every recipe
//! runs, runs resume exactly after a kill, checkpoints are never torn, and
//! bad setups are refused before training starts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use safetensors::SafeTensors;
use upres_tests::{checkpoint_iteration, checkpoint_state, data_dir, json, run_err, run_ok, set5, tiny_validation, trainer};

fn configs_dir() -> PathBuf {
    upres_tests::manifest_dir().join("../trainer/configs")
}

fn train_cmd(config: &str, out: &Path) -> Command {
    let mut cmd = trainer();
    cmd.args(["train", "--quiet", "--config"]).arg(configs_dir().join(config)).arg("--out").arg(out).arg("--data-root").arg(data_dir());
    cmd
}

fn tensors(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = st.tensors().into_iter().map(|(n, v)| (n, v.data().to_vec())).collect();
    out.sort();
    out
}

fn wait_for(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before {what}");
        assert!(start.elapsed() < Duration::from_secs(120), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn quick_x2_beats_bicubic_on_set5_by_half_a_db() {
    // A real test of the loop: wrong gradients, misaligned LR/HR patches or a
    // broken learning rate leave the network at or below bicubic.
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("quick");
    run_ok(&mut train_cmd("quick-x2.json", &run));
    for file in ["config.json", "metrics.csv", "curves.png", "best.safetensors", "last.safetensors", "checkpoint.bin"] {
        assert!(run.join(file).exists(), "{file} missing from the run folder");
    }
    let r =
        json(&run_ok(trainer().args(["eval", "--json", "--scale", "2", "--weights"]).arg(run.join("last.safetensors")).arg("--data").arg(set5())));
    let (psnr, bicubic) = (r["psnr"].as_f64().unwrap(), r["bicubic_psnr"].as_f64().unwrap());
    assert!(psnr - bicubic >= 0.5, "quick-x2 reached {psnr:.2} dB, bicubic {bicubic:.2}");
    // The exported weights carry their provenance.
    let info = json(&run_ok(trainer().args(["info", "--json"]).arg(run.join("best.safetensors"))));
    assert_eq!(info["provenance"]["author"], "upres trainer");
    assert!(info["provenance"]["set5_psnr"]["x2"].as_f64().unwrap() > bicubic);
    assert_eq!(info["provenance"]["training_config"]["name"], "quick-x2");
    // metrics.csv has a validation row at the end.
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let last = metrics.lines().last().unwrap();
    assert!(last.starts_with("300,") && last.split(',').nth(4).unwrap().parse::<f64>().is_ok(), "{last}");
}

#[test]
fn every_config_loads_builds_and_runs_two_iterations() {
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let mut names: Vec<PathBuf> = std::fs::read_dir(configs_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    assert!(names.len() >= 20, "expected the papers' recipes, found {names:?}");
    for config in names {
        let name = config.file_stem().unwrap().to_string_lossy().into_owned();
        let run = tmp.path().join(&name);
        let mut cmd = train_cmd(&format!("{name}.json"), &run);
        // An untrained VGG stands in for torchvision's (not downloadable here) in the perceptual recipes.
        cmd.args(["--max-iters", "2", "--vgg-weights", "random", "--set", "data.batch=2", "--set", "data.patch=12", "--set", "data.workers=1"])
            .args(["--set", r#"data.dirs=["train/T91"]"#, "--set"])
            .arg(format!("validation.dir={}", val.display()));
        run_ok(&mut cmd);
        let info = json(&run_ok(trainer().args(["info", "--json"]).arg(run.join("last.safetensors"))));
        let config_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        assert_eq!(info["config"]["arch"], config_json["model"]["arch"], "{name}");
        assert_eq!(info["provenance"]["iterations"], 2, "{name}");
    }
}

fn resume_config(cmd: &mut Command, val: &Path, iters: u64, checkpoint_every: u64) {
    cmd.args(["--max-iters", &iters.to_string(), "--set", &format!("checkpoint_every={checkpoint_every}"), "--set", "validation.every=1000"])
        .arg("--set")
        .arg(format!("validation.dir={}", val.display()));
}

#[test]
fn a_run_killed_with_sigkill_resumes_to_the_same_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let straight = tmp.path().join("straight");
    let mut cmd = train_cmd("quick-x2.json", &straight);
    resume_config(&mut cmd, &val, 24, 8);
    run_ok(&mut cmd);

    let killed = tmp.path().join("killed");
    let mut cmd = train_cmd("quick-x2.json", &killed);
    resume_config(&mut cmd, &val, 24, 8);
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for(&mut child, "the first checkpoint", || checkpoint_iteration(&killed.join("checkpoint.bin")).is_some_and(|i| i >= 8));
    child.kill().unwrap(); // SIGKILL: no chance to save anything
    child.wait().unwrap();
    let at = checkpoint_iteration(&killed.join("checkpoint.bin")).unwrap();
    assert!(at < 24, "killed too late to test anything (checkpoint at {at})");

    let mut cmd = trainer();
    cmd.args(["train", "--quiet", "--resume", "--out"]).arg(&killed).arg("--data-root").arg(data_dir()).args(["--max-iters", "24"]);
    run_ok(&mut cmd);
    assert_eq!(tensors(&killed.join("last.safetensors")), tensors(&straight.join("last.safetensors")), "resumed from {at}");
    // The metrics of the lost iterations were dropped and written again, once.
    let metrics = std::fs::read_to_string(killed.join("metrics.csv")).unwrap();
    let iterations: Vec<&str> = metrics.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    let mut dedup = iterations.clone();
    dedup.dedup();
    assert_eq!(iterations, dedup);
}

#[test]
fn the_photo_srgan_finds_vgg16_where_make_tools_installed_it() {
    // The SRGAN recipe for photos names VGG16 and no weights file: the
    // perceptual loss takes the ImageNet VGG16 installed with LPIPS's.
    if !upres_tests::lpips_weights_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let run = tmp.path().join("srgan");
    let mut cmd = train_cmd("srgan-photo-x4.json", &run);
    cmd.args(["--max-iters", "1", "--set", "data.batch=2", "--set", "data.patch=16", "--set"]).arg(format!("validation.dir={}", val.display()));
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("untrained"), "{stderr}");
    assert!(run.join("last.safetensors").exists());
}

#[test]
fn a_run_on_degraded_patches_resumes_to_the_same_weights() {
    // Both presets: the JPEG chain on the clean LR and Real-ESRGAN's chain
    // from the HR draw their randomness from (seed, iteration) alone.
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    for preset in ["jpeg", "real"] {
        let run = |name: &str, iters: u64| {
            let dir = tmp.path().join(format!("{preset}-{name}"));
            let mut cmd = train_cmd("sesr-m5-x2.json", &dir);
            resume_config(&mut cmd, &val, iters, 3);
            cmd.args(["--set", "data.batch=4", "--set", "data.patch=24", "--set", "data.workers=2", "--set"])
                .arg(format!("data.degradation=\"{preset}\""));
            run_ok(&mut cmd);
            dir
        };
        let straight = run("straight", 8);
        let halted = run("halted", 4);
        run_ok(trainer().args(["train", "--quiet", "--resume", "--max-iters", "8", "--data-root"]).arg(data_dir()).arg("--out").arg(&halted));
        assert_eq!(tensors(&halted.join("last.safetensors")), tensors(&straight.join("last.safetensors")), "{preset}");
        let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(straight.join("config.json")).unwrap()).unwrap();
        // The preset is written out in the run's config, so a later change to it cannot change a resumed run.
        let kind = if preset == "jpeg" { "after_bicubic" } else { "second_order" };
        assert_eq!(config["data"]["degradation"]["kind"], kind, "{preset}");
    }
}

#[test]
fn killing_during_checkpoint_writes_never_leaves_a_torn_checkpoint() {
    // A checkpoint every iteration, killed at several moments: each time the
    // checkpoint on disk must load, and the run must resume from it.
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let run = tmp.path().join("run");
    let mut last = 0;
    for (round, delay_ms) in [130u64, 370, 610].into_iter().enumerate() {
        let mut cmd = if round == 0 { train_cmd("quick-x2.json", &run) } else { trainer() };
        if round > 0 {
            cmd.args(["train", "--quiet", "--resume", "--out"]).arg(&run).arg("--data-root").arg(data_dir());
        }
        resume_config(&mut cmd, &val, 1000, 1);
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        wait_for(&mut child, "a checkpoint past the last one", || checkpoint_iteration(&run.join("checkpoint.bin")).is_some_and(|i| i > last));
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        let at = checkpoint_iteration(&run.join("checkpoint.bin")).expect("the checkpoint must stay readable");
        assert!(at > last);
        last = at;
        let stray: Vec<_> =
            std::fs::read_dir(&run).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n.to_string_lossy().ends_with(".tmp")).collect();
        // A temporary file may be left by the kill, but never in place of the checkpoint.
        assert!(stray.len() <= 1, "{stray:?}");
    }
}

#[test]
fn sigterm_saves_a_checkpoint_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let run = tmp.path().join("run");
    let mut cmd = train_cmd("quick-x2.json", &run);
    resume_config(&mut cmd, &val, 1000, 1000);
    cmd.arg("--set").arg("data.batch=4");
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for(&mut child, "metrics", || std::fs::read_to_string(run.join("metrics.csv")).is_ok());
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("interrupted: checkpoint saved at iteration"), "{stderr}");
    assert!(checkpoint_iteration(&run.join("checkpoint.bin")).is_some());
}

#[test]
fn bad_setups_are_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = run_err(train_cmd("quick-x2.json", &tmp.path().join("a")).arg("--set").arg(format!("data.dirs=[\"{}\"]", empty.display())));
    assert!(err.contains("empty") && err.contains("no images"), "{err}");

    let err = run_err(train_cmd("quick-x2.json", &tmp.path().join("b")).args(["--set", "data.patch=600"]));
    assert!(err.contains("every training image is smaller than a training patch"), "{err}");

    let err = run_err(train_cmd("quick-x2.json", &tmp.path().join("c")).args(["--set", "optimizer.learning_rate=0.1"]));
    assert!(err.contains("unknown field"), "{err}");

    // A corrupt image in the training folder is skipped with a warning naming it.
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for name in ["bird.png", "head.png"] {
        std::fs::copy(set5().join(name), data.join(name)).unwrap();
    }
    std::fs::write(data.join("broken.png"), b"not an image").unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let out = train_cmd("quick-x2.json", &tmp.path().join("d"))
        .args(["--max-iters", "2", "--set"])
        .arg(format!("data.dirs=[\"{}\"]", data.display()))
        .arg("--set")
        .arg(format!("validation.dir={}", val.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warning: skipping training image") && stderr.contains("broken.png"), "{stderr}");
}

#[test]
fn perceptual_loss_without_vgg_weights_is_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let err = run_err(&mut train_cmd("srgan-x4.json", &tmp.path().join("run")));
    assert!(err.contains("needs VGG19 weights") && err.contains("--vgg-weights"), "{err}");
}

#[test]
fn an_adversarial_run_resumes_with_its_discriminator() {
    // SRGAN-MSE: the discriminator and its optimiser live in the checkpoint too,
    // so a resumed adversarial run ends with the same generator.
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let common = |cmd: &mut Command, iters: u64| {
        cmd.args(["--set", "data.batch=2", "--set", "data.patch=16", "--set", r#"data.dirs=["train/T91"]"#]);
        resume_config(cmd, &val, iters, 3);
    };
    let straight = tmp.path().join("straight");
    let mut cmd = train_cmd("srgan-mse-x4.json", &straight);
    common(&mut cmd, 6);
    run_ok(&mut cmd);
    let split = tmp.path().join("split");
    let mut cmd = train_cmd("srgan-mse-x4.json", &split);
    common(&mut cmd, 3);
    run_ok(&mut cmd);
    assert_eq!(checkpoint_iteration(&split.join("checkpoint.bin")), Some(3));
    let mut cmd = trainer();
    cmd.args(["train", "--quiet", "--resume", "--out"]).arg(&split).arg("--data-root").arg(data_dir()).args(["--max-iters", "6"]);
    run_ok(&mut cmd);
    assert_eq!(tensors(&split.join("last.safetensors")), tensors(&straight.join("last.safetensors")));
}

#[test]
fn cuda_without_cuda_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = run_err(train_cmd("quick-x2.json", &tmp.path().join("run")).args(["--backend", "cuda"]));
    // Built without the feature (CI) it names the feature; built with it on a machine without a GPU it says no device was found.
    assert!((err.contains("built without CUDA") && err.contains("--features cuda")) || err.contains("no CUDA device found"), "{err}");
}

#[test]
fn edsr_x3_starts_from_the_x2_weights_but_its_upsampler() {
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let small = |cmd: &mut Command| {
        cmd.args(["--max-iters", "1", "--set", "data.batch=1", "--set", "data.patch=12", "--set", r#"data.dirs=["train/T91"]"#, "--set"])
            .arg(format!("validation.dir={}", val.display()));
    };
    let x2 = tmp.path().join("x2");
    let mut cmd = train_cmd("edsr-baseline-x2.json", &x2);
    small(&mut cmd);
    run_ok(&mut cmd);
    let mut cmd = train_cmd("edsr-baseline-x3.json", &tmp.path().join("x3"));
    small(&mut cmd);
    cmd.arg("--init-from").arg(x2.join("best.safetensors"));
    cmd.args(["--set", "validation.scale=3"]);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // 72 tensors in all; only the x3 upsampler's weight and bias differ in shape.
    assert!(stderr.contains("70 of 72 tensors taken over"), "{stderr}");
}

/// Every tensor of a weights file as f32 values, by name.
fn f32_tensors(path: &Path) -> Vec<(String, Vec<f32>)> {
    tensors(path)
        .into_iter()
        .map(|(name, bytes)| (name, bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()))
        .collect()
}

/// The largest difference between two runs' weights, relative to the largest weight.
fn weights_difference(a: &Path, b: &Path) -> f32 {
    let (a, b) = (f32_tensors(a), f32_tensors(b));
    assert_eq!(a.iter().map(|t| &t.0).collect::<Vec<_>>(), b.iter().map(|t| &t.0).collect::<Vec<_>>());
    let (mut diff, mut scale) = (0f32, 0f32);
    for ((_, x), (_, y)) in a.iter().zip(&b) {
        for (p, q) in x.iter().zip(y) {
            diff = diff.max((p - q).abs());
            scale = scale.max(p.abs());
        }
    }
    diff / scale
}

#[test]
fn two_devices_train_to_the_weights_of_one() {
    // Data-parallel: each device takes half of every batch and the gradients
    // are summed on the first. On the CPU both "devices" are the CPU, which
    // exercises the same path. VDSR's SGD step is proportional to the
    // gradient, so a share counted twice, or lost, shows up in the weights.
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let run = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut cmd = train_cmd("vdsr-train-x2.json", &out);
        cmd.args([
            "--set",
            "data.batch=6",
            "--set",
            "data.patch=24",
            "--set",
            r#"data.dirs=["train/T91"]"#,
            "--set",
            "model.layers=4",
            "--set",
            "model.features=16",
        ]);
        resume_config(&mut cmd, &val, 4, 100);
        cmd.args(extra);
        run_ok(&mut cmd);
        out.join("last.safetensors")
    };
    let one = run("one", &[]);
    let two = run("two", &["--devices", "0,1"]);
    let three = run("three", &["--devices", "0,1,2"]);
    assert!(weights_difference(&one, &two) < 1e-4, "two devices: {}", weights_difference(&one, &two));
    assert!(weights_difference(&one, &three) < 1e-4, "three devices: {}", weights_difference(&one, &three));
    // A run of other batches ends elsewhere, so the tolerance above tells.
    let other = run("other", &["--set", "seed=7"]);
    assert!(weights_difference(&one, &other) > 1e-2, "another seed: {}", weights_difference(&one, &other));
}

#[test]
fn several_devices_are_refused_where_they_cannot_work() {
    let tmp = tempfile::tempdir().unwrap();
    let err = run_err(train_cmd("srgan-mse-x4.json", &tmp.path().join("gan")).args(["--devices", "0,1"]));
    assert!(err.contains("adversarial training") && err.contains("one device"), "{err}");
    let err = run_err(train_cmd("quick-x2.json", &tmp.path().join("big")).args(["--devices", "0,1,2", "--set", "data.batch=2"]));
    assert!(err.contains("3 devices for a batch of 2"), "{err}");
    let err = run_err(trainer().args(["eval", "--model", "bicubic", "--scale", "2", "--device", "0,1", "--data"]).arg(set5()));
    assert!(err.contains("only `trainer train` runs on several devices"), "{err}");
}

#[test]
fn mixed_precision_runs_train_validate_export_and_resume() {
    // --precision bf16/f16: forward and backward on a half copy of the f32
    // master weights (f16 with a dynamic loss scale). A few steps land where
    // f32's do, give f32 weights files, and resume in the run's precision.
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let psnr_after = |out: &Path| -> f64 {
        let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
        metrics.lines().filter_map(|l| l.split(',').nth(4)?.parse::<f64>().ok()).last().unwrap_or(f64::NAN)
    };
    let run = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut cmd = train_cmd("quick-x2.json", &out);
        resume_config(&mut cmd, &val, 6, 3);
        cmd.args(["--set", "validation.every=6"]).args(extra);
        run_ok(&mut cmd);
        out
    };
    let f32_psnr = psnr_after(&run("f32", &[]));
    for precision in ["bf16", "f16"] {
        let out = run(precision, &["--precision", precision]);
        let psnr = psnr_after(&out);
        assert!((psnr - f32_psnr).abs() < 0.1, "{precision}: {psnr:.3} dB after 6 steps, f32 {f32_psnr:.3}");
        let info = json(&run_ok(trainer().args(["info", "--json"]).arg(out.join("last.safetensors"))));
        assert_eq!(info["dtype"], "f32", "{precision}: {info}");
        assert!(info["provenance"]["notes"].as_str().unwrap().contains(&format!("{precision} mixed precision")), "{info}");
        let state = checkpoint_state(&out.join("checkpoint.bin")).unwrap();
        assert_eq!(state["precision"], precision);
        if precision == "f16" {
            assert_eq!(state["loss_scale"]["scale"], 65536.0, "{state}");
            assert_eq!(state["loss_scale"]["clean_steps"], 6, "{state}");
        }
        // --resume without --precision continues in the run's own.
        let mut cmd = trainer();
        cmd.args(["train", "--quiet", "--resume", "--out"]).arg(&out).arg("--data-root").arg(data_dir()).args(["--max-iters", "8"]);
        run_ok(&mut cmd);
        let state = checkpoint_state(&out.join("checkpoint.bin")).unwrap();
        assert_eq!((state["iteration"].as_u64(), state["precision"].as_str()), (Some(8), Some(precision)));
    }
    let err = run_err(train_cmd("quick-x2.json", &tmp.path().join("bad")).args(["--precision", "f16", "--loss-scale", "0"]));
    assert!(err.contains("--loss-scale must be a positive number"), "{err}");
    let err = run_err(train_cmd("srresnet-x4.json", &tmp.path().join("bn")).args(["--precision", "bf16"]));
    assert!(err.contains("batch-norm") && err.contains("f32"), "{err}");
    // The other half-precision paths: an RGB network with its mean shift
    // (EDSR), the perceptual loss's VGG, and several devices.
    for (config, extra) in [
        ("edsr-small-x2.json", &["--precision", "f16"][..]),
        ("srcnn-perceptual.json", &["--precision", "bf16", "--vgg-weights", "random"][..]),
        ("quick-x2.json", &["--precision", "f16", "--devices", "0,1"][..]),
    ] {
        let mut cmd = train_cmd(config, &tmp.path().join(config));
        cmd.args(["--max-iters", "2", "--set", "data.batch=2", "--set", "data.patch=12", "--set", r#"data.dirs=["train/T91"]"#, "--set"])
            .arg(format!("validation.dir={}", val.display()))
            .args(extra);
        run_ok(&mut cmd);
    }
}

#[test]
fn a_run_validated_on_jpegs_does_not_call_its_score_set5_psnr() {
    // The menus print set5_psnr beside the paper's clean figure: a score on
    // JPEG-degraded LR goes into the notes instead, in training and export.
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 72);
    let run = tmp.path().join("run");
    let mut cmd = train_cmd("sesr-m5-x2-photo.json", &run);
    resume_config(&mut cmd, &val, 2, 2);
    cmd.args(["--set", "data.batch=2", "--set", "data.patch=24", "--set", "validation.every=2"]);
    run_ok(&mut cmd);
    let exported = tmp.path().join("exported.safetensors");
    run_ok(trainer().args(["export", "--run"]).arg(&run).arg("--out").arg(&exported));
    for file in [run.join("best.safetensors"), exported] {
        let bytes = std::fs::read(&file).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let provenance: serde_json::Value = serde_json::from_str(&header.metadata().as_ref().unwrap()["provenance"]).unwrap();
        assert_eq!(provenance["set5_psnr"], serde_json::json!({}), "{}", file.display());
        let notes = provenance["notes"].as_str().unwrap();
        assert!(notes.contains("best validation: ") && notes.contains("x2 degraded by jpeg:75, "), "{notes}");
    }
}
