//! The weights files in the repository were written before weights I/O moved
//! onto burn-store; they must read, and write again, unchanged.

use std::path::{Path, PathBuf};

use burn_store::ModuleSnapshot;
use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView};
use upres_models::{Expectation, load_weights, read_meta, save_weights};

type B = burn::backend::Flex;

/// A float tensor's values as f32, decoded from the file's bytes without
/// burn: the reference the loaded model is compared against.
fn float_values(view: &TensorView<'_>) -> Vec<f32> {
    let raw = view.data();
    match view.dtype() {
        Dtype::F32 => raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        Dtype::F16 => raw.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        other => panic!("committed weights are f32 or f16, not {other:?}"),
    }
}

fn committed_weights() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "safetensors") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../weights"), &mut files);
    files.sort();
    files
}

#[test]
fn every_committed_weights_file_loads_with_the_values_it_stores() {
    let files = committed_weights();
    // The shipped SESR-M5 x2/x3/x4, edsr-small, vdsr-small and the runs' best/last.
    assert!(files.len() >= 13, "{files:?}");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let loaded = load_weights::<B>(&bytes, &Default::default(), &Expectation::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The reference: the same file decoded by the safetensors crate alone.
        let raw = SafeTensors::deserialize(&bytes).unwrap();
        let snapshots = loaded.model.collect(None, None, true);
        assert_eq!(snapshots.len(), raw.len(), "{}", path.display());
        for snapshot in snapshots {
            let name = snapshot.full_path();
            let expected = float_values(&raw.tensor(&name).unwrap());
            let data = snapshot.to_data().unwrap();
            assert_eq!(data.dtype, burn::tensor::DType::F32, "{}: {name} computes in f32", path.display());
            assert_eq!(data.to_vec::<f32>().unwrap(), expected, "{}: {name}", path.display());
        }
    }
}

#[test]
fn every_committed_weights_file_writes_back_to_the_same_tensors_and_metadata() {
    for path in committed_weights() {
        let bytes = std::fs::read(&path).unwrap();
        let meta = read_meta(&bytes).unwrap();
        let loaded = load_weights::<B>(&bytes, &Default::default(), &Expectation::default()).unwrap();
        let again = save_weights(&loaded.model, &loaded.meta, meta.dtype).unwrap();
        // The same metadata, plus the preset where a file written before the field lacks it.
        let mut expected = meta.clone();
        expected.recognise_preset();
        assert_eq!(read_meta(&again).unwrap(), expected, "{}", path.display());
        let (before, after) = (SafeTensors::deserialize(&bytes).unwrap(), SafeTensors::deserialize(&again).unwrap());
        let mut names = before.names();
        names.sort();
        let mut names_after = after.names();
        names_after.sort();
        assert_eq!(names, names_after, "{}", path.display());
        for name in names {
            let (a, b) = (before.tensor(name).unwrap(), after.tensor(name).unwrap());
            // Same dtype (f16 files stay f16 in every layer, SESR's own blocks included),
            // same shape, same bytes.
            assert_eq!((a.dtype(), a.shape()), (b.dtype(), b.shape()), "{}: {name}", path.display());
            assert!(a.data() == b.data(), "{}: {name} changed", path.display());
        }
    }
}
