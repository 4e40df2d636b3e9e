//! Training runs that meet a damaged checkpoint or a full disk: a clear error
//! naming the file, nothing lost, and `--resume` continues from the last good
//! checkpoint.

use std::path::{Path, PathBuf};
use std::process::Command;

use upres_tests::{checkpoint_iteration, data_dir, run_err, run_ok, tiny_validation, trainer};

fn quick_run(out: &Path, val: &Path, iters: u64, checkpoint_every: u64) -> Command {
    let mut cmd = trainer();
    cmd.args(["train", "--quiet", "--config"])
        .arg(upres_tests::manifest_dir().join("../trainer/configs/quick-x2.json"))
        .arg("--out")
        .arg(out)
        .arg("--data-root")
        .arg(data_dir())
        .args([
            "--max-iters",
            &iters.to_string(),
            "--set",
            &format!("checkpoint_every={checkpoint_every}"),
            "--set",
            "validation.every=1000",
            "--set",
        ])
        .arg(format!("validation.dir={}", val.display()));
    cmd
}

fn resume(out: &Path, iters: u64) -> Command {
    let mut cmd = trainer();
    cmd.args(["train", "--quiet", "--resume", "--out"]).arg(out).arg("--data-root").arg(data_dir()).args(["--max-iters", &iters.to_string()]);
    cmd
}

/// Every file of a run folder with its bytes, to show that nothing changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn a_bit_flipped_or_truncated_checkpoint_is_refused_by_name_and_nothing_is_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 48);
    let run = tmp.path().join("run");
    run_ok(&mut quick_run(&run, &val, 2, 1));
    let checkpoint = run.join("checkpoint.bin");
    let good = std::fs::read(&checkpoint).unwrap();

    let mut flipped = good.clone();
    let middle = flipped.len() / 2; // inside the model's tensors: the JSON state still parses
    flipped[middle] ^= 0x10;
    let mut truncated = good.clone();
    truncated.truncate(good.len() * 2 / 3);
    for (what, bytes, problem) in [("flipped", flipped, "checksum"), ("truncated", truncated, "checksum")] {
        std::fs::write(&checkpoint, &bytes).unwrap();
        let before = snapshot(&run);
        let err = run_err(&mut resume(&run, 4));
        assert!(err.contains("checkpoint.bin") && err.contains("damaged checkpoint") && err.contains(problem), "{what}: {err}");
        assert_eq!(snapshot(&run), before, "{what}: the run folder changed");
    }
    // Cut short inside the magic: still named as damaged.
    std::fs::write(&checkpoint, &good[..6]).unwrap();
    let err = run_err(&mut resume(&run, 4));
    assert!(err.contains("checkpoint.bin") && err.contains("damaged checkpoint (6 bytes, too short)"), "{err}");

    std::fs::write(&checkpoint, &good).unwrap();
    run_ok(&mut resume(&run, 4));
    assert_eq!(checkpoint_iteration(&checkpoint), Some(4));
}

/// A tmpfs of `bytes` mounted on `dir` for the guard's life: a disk that fills up.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, bytes: usize) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"]).arg(dir).status();
        assert!(status.as_ref().is_ok_and(|s| s.success()), "this test fills a small tmpfs, which needs `mount` as root (as in CI): {status:?}");
        Self(dir.to_owned())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_disk_that_fills_up_during_a_checkpoint_keeps_the_one_before_and_resume_continues() {
    let tmp = tempfile::tempdir().unwrap();
    let val = tiny_validation(tmp.path(), 48);
    // How large this run's files are, on a disk with room.
    let sizing = tmp.path().join("sizing");
    run_ok(&mut quick_run(&sizing, &val, 1, 1));
    let checkpoint_len = std::fs::metadata(sizing.join("checkpoint.bin")).unwrap().len() as usize;
    let config_len = std::fs::metadata(sizing.join("config.json")).unwrap().len() as usize;

    // Room for the config and one checkpoint, not for the second one's
    // temporary file beside it (an atomic replace needs both at once).
    let run = tmp.path().join("full");
    let disk = SmallDisk::mount(&run, config_len + checkpoint_len * 3 / 2);
    let err = run_err(&mut quick_run(&run, &val, 50, 1));
    assert!(err.contains("writing the checkpoint of iteration 2") && err.contains("stays in place for --resume"), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(checkpoint_iteration(&run.join("checkpoint.bin")), Some(1), "the previous checkpoint stays readable");
    let left: Vec<String> = std::fs::read_dir(&run).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(left.iter().all(|n| !n.ends_with(".tmp")), "a temporary file was left on the full disk: {left:?}");

    // Moved to a disk with room, the run goes on from iteration 1.
    let moved = tmp.path().join("moved");
    std::fs::create_dir_all(&moved).unwrap();
    for (name, bytes) in snapshot(&run) {
        std::fs::write(moved.join(name), bytes).unwrap();
    }
    drop(disk);
    run_ok(&mut resume(&moved, 3));
    assert_eq!(checkpoint_iteration(&moved.join("checkpoint.bin")), Some(3));
    assert!(moved.join("last.safetensors").exists());
}
