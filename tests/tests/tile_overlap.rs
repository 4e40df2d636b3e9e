//! Each shipped model's default tile overlap (`WeightsMeta::default_overlap`,
//! from its receptive radius) gives what one tile over the whole image gives:
//! exactly, up to float rounding, where twice the radius plus two fits under
//! the cap of 32, and within a twentieth of a grey level for the deeper ones
//! (VDSR, radius 20: 0.015).

use burn::backend::NdArray;
use upres_image::{DecodeLimits, OutputSize, PlanarImage, UpscaleOutput, UpscaleRequest, read_image};
use upres_models::{Expectation, load_weights, run::upscale};

/// The default overlap of a weights file, its receptive radius, and how far
/// tiles with that overlap are from one tile over the whole image.
struct Comparison {
    overlap: usize,
    radius: Option<usize>,
    /// The largest difference, in grey levels, of the network's own output:
    /// its unrounded Y, or for RGB networks the planes rounded to whole levels.
    worst: f32,
    rounded: bool,
}

/// What the network itself made: its unrounded Y, or the RGB planes.
fn own_output(out: &UpscaleOutput) -> Vec<&[f32]> {
    match &out.network_y {
        Some(y) => vec![&y.data[..]],
        None => out.image.planes.iter().map(|p| &p.data[..]).collect(),
    }
}

fn compare_tiled_with_whole(weights: &[u8], image: &PlanarImage, tile_beyond_overlap: usize) -> Comparison {
    let device = Default::default();
    let loaded = load_weights::<NdArray>(weights, &device, &Expectation::default()).unwrap();
    let (model, meta) = (&loaded.model, &loaded.meta);
    let size = OutputSize::Scale(meta.scales[0] as f64);
    let overlap = meta.default_overlap();
    let run = |tile, overlap| upscale(model, &meta.config, image, &UpscaleRequest { size, tile, overlap }, &device, |_, _| true).unwrap();
    let (tiled, whole) = (run(overlap + tile_beyond_overlap, overlap), run(4096, 0));
    let worst =
        own_output(&tiled).into_iter().zip(own_output(&whole)).flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs())).fold(0.0, f32::max);
    Comparison { overlap, radius: meta.receptive_radius(), worst, rounded: whole.network_y.is_none() }
}

#[test]
fn the_default_overlap_makes_tiles_give_the_untiled_output() {
    // A 72x60 crop of a Set14 photo: detail everywhere, so that zero padding
    // at a tile's edge would show.
    let image = read_image(&upres_tests::set14().join("barbara.png"), DecodeLimits::default()).unwrap().crop(300, 200, 72, 60);
    // The models trained here (committed in weights/) and the reference VDSR
    // imported from shared/, as `make weights` puts them in weights/dist.
    let trained = upres_tests::manifest_dir().join("../weights");
    let mut files: Vec<_> =
        std::fs::read_dir(&trained).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "safetensors")).collect();
    files.sort();
    assert!(files.len() >= 7, "the trained weights in {}", trained.display());
    let tmp = tempfile::tempdir().unwrap();
    files.push(upres_tests::imported_reference_vdsr(tmp.path()));
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        // Tiles 24 pixels wider than the overlap: several on each side.
        let Comparison { overlap, radius, worst, rounded } = compare_tiled_with_whole(&std::fs::read(&file).unwrap(), &image, 24);
        eprintln!("{name}: receptive radius {radius:?}, default overlap {overlap}, tiled vs whole {worst:.5} grey levels");
        let exact = radius.is_some_and(|r| overlap >= 2 * r + 2);
        // Exact: only the blend's float sums differ. Outputs rounded to whole
        // levels (RGB networks) may flip one level where they are exact too.
        let bound = if rounded {
            1.0
        } else if exact {
            1e-3
        } else {
            0.05
        };
        assert!(
            worst <= bound,
            "{name}: tiles with the default overlap {overlap} differ from the whole image by {worst} grey levels (bound {bound})"
        );
    }
}
