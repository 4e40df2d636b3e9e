//! `trainer import`: outside weights into the upres format, values unchanged.

use safetensors::SafeTensors;
use upres_tests::{json, reference_vdsr, run_ok, trainer};

fn fixtures() -> std::path::PathBuf {
    upres_tests::manifest_dir().join("fixtures")
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

#[test]
fn pytorch_state_dict_is_imported_through_burns_reader_with_its_values() {
    // tests/fixtures/make_pytorch_state_dict.py wrote the .pth and the raw values.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("srcnn.safetensors");
    run_ok(
        trainer()
            .args(["import", "--arch", "srcnn-915", "--author", "fixture"])
            .arg("--from")
            .arg(fixtures().join("srcnn915_state_dict.pth"))
            .arg("--out")
            .arg(&out),
    );
    let bytes = std::fs::read(&out).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let reference = f32s(&std::fs::read(fixtures().join("srcnn915_state_dict.f32")).unwrap());
    let mut offset = 0;
    for name in ["head.weight", "head.bias", "body.0.conv.weight", "body.0.conv.bias", "tail.weight", "tail.bias"] {
        let values = f32s(st.tensor(name).unwrap().data());
        assert_eq!(values, reference[offset..offset + values.len()], "{name}");
        offset += values.len();
    }
    assert_eq!(offset, reference.len());
    let info = json(&run_ok(trainer().args(["info", "--json"]).arg(&out)));
    assert_eq!(info["config"]["arch"], "srcnn");
    assert_eq!(info["config"]["kernels"], serde_json::json!([9, 1, 5]));
    assert_eq!(info["parameters"], 8129);
}

#[test]
fn reference_vdsr_safetensors_maps_every_key_and_keeps_values() {
    let tmp = tempfile::tempdir().unwrap();
    for (f16, dtype) in [(false, "f32"), (true, "f16")] {
        let out = tmp.path().join(format!("vdsr_{dtype}.safetensors"));
        let mut cmd = trainer();
        cmd.args(["import", "--arch", "vdsr", "--scale", "2", "3", "4"]).arg("--from").arg(reference_vdsr()).arg("--out").arg(&out);
        if f16 {
            cmd.arg("--f16");
        }
        run_ok(&mut cmd);
        let info = json(&run_ok(trainer().args(["info", "--json"]).arg(&out)));
        assert_eq!(info["dtype"], dtype);
        assert_eq!(info["scales"], serde_json::json!([2, 3, 4]));
        assert_eq!(info["color_space"], "y");
        assert_eq!(info["config"]["bias"], false);
        assert_eq!(info["parameters"], 664_704);

        let ours = std::fs::read(&out).unwrap();
        let ours = SafeTensors::deserialize(&ours).unwrap();
        let theirs = std::fs::read(reference_vdsr()).unwrap();
        let theirs = SafeTensors::deserialize(&theirs).unwrap();
        let a = ours.tensor("body.7.weight").unwrap();
        let b = theirs.tensor("residual_layer.7.conv.weight").unwrap();
        assert_eq!(a.shape(), b.shape());
        if !f16 {
            assert_eq!(a.data(), b.data());
        }
        // The file is plain safetensors: the metadata names the format for any reader.
        let (_, header) = SafeTensors::read_metadata(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(header.metadata().as_ref().unwrap()["format"], "upres-weights");
    }
}

#[test]
fn legacy_whole_model_pickle_is_refused_with_the_reason() {
    // model_epoch_50.pth pickles the whole nn.Module (Python 2 era); burn's reader
    // reads state dicts, not arbitrary pickled classes. The error must say so plainly.
    let tmp = tempfile::tempdir().unwrap();
    let legacy = upres_tests::data_dir().join("weights/vdsr-twtygqyy/model_epoch_50.pth");
    let err = upres_tests::run_err(
        trainer().args(["import", "--arch", "vdsr"]).arg("--from").arg(&legacy).arg("--out").arg(tmp.path().join("x.safetensors")),
    );
    assert!(err.contains("model_epoch_50.pth") && err.contains("cannot read as a PyTorch file"), "{err}");
    assert!(!tmp.path().join("x.safetensors").exists());
}

/// Import a fixture and check that every tensor holds the fixture's values, in state-dict order.
fn import_fixture(arch: &str, scale: &str, fixture: &str, ours_in_order: &[String]) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join(format!("{fixture}.safetensors"));
    run_ok(
        trainer()
            .args(["import", "--arch", arch, "--scale", scale, "--author", "fixture"])
            .arg("--from")
            .arg(fixtures().join(format!("{fixture}.pth")))
            .arg("--out")
            .arg(&out),
    );
    let bytes = std::fs::read(&out).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let reference = f32s(&std::fs::read(fixtures().join(format!("{fixture}.f32"))).unwrap());
    let mut offset = 0;
    for name in ours_in_order {
        let values = f32s(st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}")).data());
        assert_eq!(values, reference[offset..offset + values.len()], "{name}");
        offset += values.len();
    }
    assert_eq!(offset, reference.len(), "every value of the fixture lands in a tensor");
    (tmp, out)
}

#[test]
fn fsrcnn_state_dict_in_the_usual_pytorch_layout_is_imported_position_by_position() {
    // yjn870/FSRCNN-pytorch's keys: first_part.{0,1}, mid_part.{0..11}, last_part.
    let conv = |n: &str| vec![format!("{n}.weight"), format!("{n}.bias")];
    let mut order = conv("extract");
    order.push("extract_act.alpha".into());
    order.extend(conv("shrink"));
    order.push("shrink_act.alpha".into());
    for i in 0..4 {
        order.extend(conv(&format!("mapping.{i}")));
        order.push(format!("mapping_acts.{i}.alpha"));
    }
    order.extend(conv("expand"));
    order.push("expand_act.alpha".into());
    order.extend(conv("deconv"));
    let (tmp, out) = import_fixture("fsrcnn", "3", "fsrcnn_x3_state_dict", &order);
    let info = json(&run_ok(trainer().args(["info", "--json"]).arg(&out)));
    assert_eq!(info["config"]["scale"], 3);
    assert_eq!(info["parameters"], 12_464 + 173 + 172);
    let up = tmp.path().join("up.png");
    run_ok(trainer().args(["upscale", "--scale", "3", "--weights"]).arg(&out).arg(upres_tests::set5().join("bird.png")).arg(&up));
}

#[test]
fn collapsed_sesr_state_dict_is_imported_as_the_collapsed_form() {
    let mut order: Vec<String> = vec!["input_block.weight".into(), "input_block.bias".into()];
    for i in 0..5 {
        order.extend([format!("blocks.{i}.weight"), format!("blocks.{i}.bias")]);
    }
    order.extend((0..5).map(|i| format!("activations.{i}.alpha")));
    order.extend(["output_block.weight".into(), "output_block.bias".into()]);
    let (_tmp, out) = import_fixture("sesr-m5", "2", "sesr_m5_x2_state_dict", &order);
    let info = json(&run_ok(trainer().args(["info", "--json"]).arg(&out)));
    assert_eq!(info["config"]["collapsed"], true);
    assert_eq!(info["config"]["blocks"], 5);
}
