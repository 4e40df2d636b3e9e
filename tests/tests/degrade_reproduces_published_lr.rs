//! `trainer degrade` must make the published Set5 LR images pixel for pixel:
//! any other bicubic (or a wrong rounding between MATLAB's two passes) breaks it.

use upres_image::{DecodeLimits, read_image};
use upres_tests::{data_dir, run_ok, set5, trainer};

#[test]
fn degrade_reproduces_set5_lr_bicubic_x2_x3_x4_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    for scale in [2, 3, 4] {
        let out = tmp.path().join(format!("X{scale}"));
        run_ok(trainer().args(["degrade", "--scale", &scale.to_string(), "--input"]).arg(set5()).arg("--output").arg(&out));
        let published = data_dir().join(format!("benchmark/Set5/LR_bicubic/X{scale}"));
        let mut compared = 0;
        for name in ["baby", "bird", "butterfly", "head", "woman"] {
            let file = format!("{name}x{scale}.png");
            let ours = read_image(&out.join(&file), DecodeLimits::default()).unwrap();
            let theirs = read_image(&published.join(&file), DecodeLimits::default()).unwrap();
            assert_eq!((ours.width, ours.height, ours.layout), (theirs.width, theirs.height, theirs.layout), "{file}");
            assert_eq!(ours.to_interleaved_u8(), theirs.to_interleaved_u8(), "{file}: pixels differ");
            compared += 1;
        }
        assert_eq!(compared, 5);
    }
}
