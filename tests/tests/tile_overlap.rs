//! Each shipped model's default tile overlap (`WeightsMeta::default_overlap`,
//! from its receptive radius) gives what one tile over the whole image gives:
//! exactly, up to float rounding, where twice the radius plus two fits under
//! the cap of 32, and within a twentieth of a grey level for the deeper ones
//! (VDSR, radius 20: 0.015).

use burn::backend::NdArray;
use upres_image::{read_image, DecodeLimits, OutputSize, PlanarImage, Plane, UpscaleRequest};
use upres_models::{load_weights, run::upscale, Expectation};

/// A `width` x `height` crop of a Set14 photo: detail everywhere, so that
/// zero padding at a tile's edge would show.
fn crop(width: usize, height: usize) -> PlanarImage {
    let image = read_image(&upres_tests::set14().join("barbara.png"), DecodeLimits::default()).unwrap();
    let planes = image.planes.iter().map(|p| Plane::new(width, height, (0..width * height).map(|i| p.get(300 + i % width, 200 + i / width)).collect())).collect();
    PlanarImage::new(image.layout, image.depth, planes)
}

/// The largest difference, in grey levels, between the network's own output
/// (its unrounded Y, or the RGB planes) with tiles and without.
fn worst_difference(weights: &[u8], image: &PlanarImage, tile_beyond_overlap: usize) -> (usize, Option<usize>, f32) {
    let device = Default::default();
    let loaded = load_weights::<NdArray>(weights, &device, &Expectation::default()).unwrap();
    let (model, meta) = (&loaded.model, &loaded.meta);
    let size = OutputSize::Scale(meta.scales[0] as f64);
    let overlap = meta.default_overlap();
    let run = |tile, overlap| upscale(model, &meta.config, image, &UpscaleRequest { size, tile, overlap }, &device, |_, _| true).unwrap();
    let (tiled, whole) = (run(overlap + tile_beyond_overlap, overlap), run(4096, 0));
    let planes = |out: &upres_image::UpscaleOutput| match &out.network_y {
        Some(y) => vec![y.data.clone()],
        None => out.image.planes.iter().map(|p| p.data.clone()).collect(),
    };
    let worst = planes(&tiled).iter().zip(&planes(&whole)).flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs())).fold(0.0, f32::max);
    (overlap, meta.receptive_radius(), worst)
}

#[test]
fn the_default_overlap_makes_tiles_give_the_untiled_output() {
    let image = crop(72, 60);
    // The models trained here (committed in weights/) and the reference VDSR
    // imported from shared/, as `make weights` puts them in weights/dist.
    let trained = upres_tests::manifest_dir().join("../weights");
    let mut files: Vec<_> = std::fs::read_dir(&trained).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "safetensors")).collect();
    files.sort();
    assert!(files.len() >= 7, "the trained weights in {}", trained.display());
    let tmp = tempfile::tempdir().unwrap();
    files.push(upres_tests::imported_reference_vdsr(tmp.path()));
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        // Tiles 24 pixels wider than the overlap: several on each side.
        let (overlap, radius, worst) = worst_difference(&std::fs::read(&file).unwrap(), &image, 24);
        eprintln!("{name}: receptive radius {radius:?}, default overlap {overlap}, tiled vs whole {worst:.5} grey levels");
        let exact = radius.is_some_and(|r| overlap >= 2 * r + 2);
        // Exact: only the blend's float sums differ. RGB outputs are
        // rounded to whole levels, so one may flip where it is exact too.
        let bound = if exact { 1e-3 } else { 0.05 };
        let bound = if name.starts_with("edsr") { 1.0 } else { bound };
        assert!(worst <= bound, "{name}: tiles with the default overlap {overlap} differ from the whole image by {worst} grey levels (bound {bound})");
    }
}
