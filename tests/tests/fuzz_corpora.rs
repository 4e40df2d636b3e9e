//! Every input the fuzzers kept (fuzz/corpus/TARGET) and every crash they
//! found (fuzz/regressions/TARGET, each named after what broke) replayed
//! through the fuzz checks on stable: CI replays in seconds, it does not fuzz.

use std::path::PathBuf;

use upres_tests::{fuzz_checks, manifest_dir};

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in ["corpus", "regressions"] {
        let dir = manifest_dir().join("../fuzz").join(folder).join(target);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no corpus for {target} under fuzz/");
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{target}: {} panics", file.display());
    }
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn the_decode_and_prepare_corpus_replays_without_a_panic() {
    replay("decode_and_prepare", fuzz_checks::decode_and_prepare);
}

#[test]
fn the_tiling_corpus_replays_without_a_panic_and_tiles_equal_the_whole() {
    replay("tiling", fuzz_checks::tiling);
}

#[test]
fn the_weights_corpus_replays_without_a_panic() {
    replay("weights", fuzz_checks::weights);
}
