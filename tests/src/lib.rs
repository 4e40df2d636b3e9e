//! Helpers for the cross-part tests: find the `trainer` binary and the shared data.

pub mod big_photo;
pub mod corpus;
pub mod fuzz_checks;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// This crate's folder in the checkout being tested. `cargo test` sets
/// CARGO_MANIFEST_DIR when it runs a test; the compile-time value can name
/// another checkout, because cargo reuses a test binary built from an
/// identical clone elsewhere that shares the target dir (CI's clone and a
/// developer's checkout do).
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// `../shared/data`, or `$UPRES_DATA`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("UPRES_DATA") {
        Some(p) => PathBuf::from(p),
        None => manifest_dir().join("../../shared/data"),
    }
}

pub fn set5() -> PathBuf {
    data_dir().join("benchmark/Set5/HR")
}

pub fn set14() -> PathBuf {
    data_dir().join("benchmark/Set14/HR")
}

pub fn reference_vdsr() -> PathBuf {
    data_dir().join("weights/vdsr-twtygqyy/vdsr_x234.safetensors")
}

/// The release `trainer` (`$UPRES_TRAINER`, or next to this test in the target dir).
pub fn trainer_path() -> PathBuf {
    if let Some(p) = std::env::var_os("UPRES_TRAINER") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "UPRES_TRAINER={} is not a file: build it with `cargo build --release -p trainer`, or run `make test`", p.display());
        return p;
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/trainer, preferring release (debug burn is very slow).
    let profile_dir = exe.parent().and_then(Path::parent).expect("target layout");
    let target_dir = profile_dir.parent().expect("target layout");
    for candidate in [target_dir.join("release/trainer"), profile_dir.join("trainer")] {
        if candidate.exists() {
            return candidate;
        }
    }
    panic!(
        "the cross-part tests run the release `trainer`, and there is none in {}: run `make test` (it builds everything first), \
         or `cargo build --release -p trainer` before `cargo test`",
        target_dir.join("release").display()
    );
}

pub fn trainer() -> Command {
    Command::new(trainer_path())
}

/// Run and require success; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("trainer runs");
    assert!(
        out.status.success(),
        "{:?} failed:\nstdout: {}\nstderr: {}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Run and require a clean failure: non-zero exit, no panic, and one error line; returns it.
pub fn run_err(cmd: &mut Command) -> String {
    let out: Output = cmd.output().expect("trainer runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{cmd:?} should have failed; stderr: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{cmd:?}: exit code {:?}; stderr: {stderr}", out.status.code());
    assert!(!stderr.contains("panicked"), "{cmd:?} panicked: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{cmd:?}: expected one error line, got: {stderr}");
    errors[0].to_string()
}

pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The reference VDSR imported into our format, once per test binary.
pub fn imported_reference_vdsr(dir: &Path) -> PathBuf {
    let out = dir.join("vdsr.safetensors");
    run_ok(
        trainer()
            .args(["import", "--arch", "vdsr", "--scale", "2", "3", "4", "--author", "twtygqyy/pytorch-vdsr"])
            .arg("--from")
            .arg(reference_vdsr())
            .arg("--out")
            .arg(&out),
    );
    out
}

/// A one-image validation set (a `size` x `size` crop of Set5's bird), so
/// that short training runs validate in a blink.
pub fn tiny_validation(dir: &Path, size: usize) -> PathBuf {
    let val = dir.join("val");
    std::fs::create_dir_all(&val).expect("validation folder");
    let bird = upres_image::read_image(&set5().join("bird.png"), upres_image::DecodeLimits::default()).expect("Set5 bird");
    upres_image::write_png_atomic(&bird.crop(100, 100, size, size), &val.join("bird_crop.png")).expect("validation image");
    val
}

/// The loop state stored in a checkpoint (JSON after the magic and a length).
pub fn checkpoint_state(path: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(path).ok()?;
    let len = u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?) as usize;
    serde_json::from_slice(bytes.get(16..16 + len)?).ok()
}

/// The iteration a checkpoint was written at.
pub fn checkpoint_iteration(path: &Path) -> Option<u64> {
    checkpoint_state(path)?["iteration"].as_u64()
}

/// Whether LPIPS's weights are there (`make tools` writes them; where
/// `UPRES_LPIPS_WEIGHTS` points, else ~/.cache/upres). Outside CI a test
/// that needs them says it is skipped; in CI their absence fails it.
pub fn lpips_weights_present() -> bool {
    let path = std::env::var_os("UPRES_LPIPS_WEIGHTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/upres/lpips-vgg16.safetensors"));
    if path.exists() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "{}: LPIPS weights missing in CI (make tools writes them)", path.display());
    eprintln!("skipped: {} is absent (python3 tools/lpips_weights.py writes it)", path.display());
    false
}
