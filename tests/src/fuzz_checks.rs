//! What the fuzz targets (`fuzz/fuzz_targets/`) check, as plain functions:
//! `cargo fuzz` runs them under libFuzzer on the nightly toolchain, and
//! `tests/fuzz_corpora.rs` replays every committed corpus file and crash
//! reproducer through them on stable, in CI. Each returns normally for any
//! input; a panic is a bug.

use burn::backend::NdArray;
use upres_image::{
    ColorSpace, DecodeLimits, InputKind, Layout, NetworkSpec, OutputSize, PlanarImage, Plane, UpscaleJob, UpscaleRequest, decode_with_notes,
};
use upres_models::{Expectation, load_weights, read_meta};

/// Enough pixels for every codec path, few enough that each input runs in
/// milliseconds (a larger header must be refused from the header alone).
const FUZZ_PIXELS: u64 = 1 << 16;

/// Bytes as a user's file: decode them, then prepare the network input and
/// run every tile through a stand-in network, for both kinds of network.
pub fn decode_and_prepare(bytes: &[u8]) {
    let Ok(decoded) = decode_with_notes(bytes, "fuzz", DecodeLimits { max_pixels: FUZZ_PIXELS }) else {
        return;
    };
    let image = decoded.image;
    assert!(image.width >= 1 && image.height >= 1 && image.planes.len() == image.layout.channels(), "a decoded image is well formed");
    for (input, color, scales) in [(InputKind::LowRes, ColorSpace::Y, vec![2]), (InputKind::Bicubic, ColorSpace::Rgb, vec![])] {
        let spec = NetworkSpec { input, color, scales };
        let request = UpscaleRequest { size: OutputSize::Scale(2.0), tile: 48, overlap: 8 };
        let out = run_job(&image, &spec, &request, 0).expect("a decoded image always upscales");
        assert_eq!((out.width, out.height), (image.width * 2, image.height * 2));
    }
}

/// A stand-in network with a known receptive radius: `passes` 3x3 box
/// filters with zero padding (each widens the radius by one), then nearest
/// upsampling by `scale`.
fn box_network(channels: usize, width: usize, height: usize, data: &[f32], passes: usize, scale: usize) -> Vec<f32> {
    let mut planes: Vec<Vec<f32>> = data.chunks_exact(width * height).map(<[f32]>::to_vec).collect();
    assert_eq!(planes.len(), channels);
    for _ in 0..passes {
        for plane in &mut planes {
            let source = plane.clone();
            for y in 0..height {
                for x in 0..width {
                    let mut sum = 0.0;
                    for (dx, dy) in (-1i64..=1).flat_map(|dy| (-1i64..=1).map(move |dx| (dx, dy))) {
                        let (sx, sy) = (x as i64 + dx, y as i64 + dy);
                        if sx >= 0 && sy >= 0 && (sx as usize) < width && (sy as usize) < height {
                            sum += source[sy as usize * width + sx as usize];
                        }
                    }
                    plane[y * width + x] = sum / 9.0;
                }
            }
        }
    }
    let (ow, oh) = (width * scale, height * scale);
    planes.iter().flat_map(|p| (0..ow * oh).map(move |i| p[(i / ow / scale) * width + (i % ow) / scale])).collect()
}

fn run_job(image: &PlanarImage, spec: &NetworkSpec, request: &UpscaleRequest, passes: usize) -> Result<PlanarImage, upres_image::ImageError> {
    let mut job = UpscaleJob::new(image, spec, request)?;
    let scale = job.network_scale();
    for index in 0..job.tile_count() {
        let tile = job.tile_input(index);
        let out = box_network(tile.channels, tile.width, tile.height, &tile.data, passes, scale);
        job.add_tile_output(index, &out)?;
    }
    Ok(job.finish()?.image)
}

const MAX_RUN_TILES: usize = 256;

/// Arbitrary image sizes, tile sizes and overlaps: planning never panics,
/// and where the overlap is at least twice the network's receptive radius
/// plus two (the blend trusts a tile up to one pixel short of the overlap's
/// middle) the tiled output equals the untiled one within 1/255 (the
/// output is rounded to whole levels, and float sums in another order may
/// round the other way; `tests/tile_overlap.rs` checks real networks'
/// unrounded output).
pub fn tiling(bytes: &[u8]) {
    let [w, h, tile, overlap, passes, kind, rest @ ..] = bytes else {
        return;
    };
    let (width, height) = (1 + *w as usize % 80, 1 + *h as usize % 80);
    let (tile, overlap, passes) = (*tile as usize % 100, *overlap as usize % 40, *passes as usize % 3);
    let layout = [Layout::Gray, Layout::GrayAlpha, Layout::Rgb, Layout::Rgba][*kind as usize % 4];
    let (input, color, scales) = match kind / 4 % 3 {
        0 => (InputKind::LowRes, ColorSpace::Y, vec![2]),
        1 => (InputKind::LowRes, ColorSpace::Rgb, vec![3]),
        _ => (InputKind::Bicubic, ColorSpace::Y, vec![]),
    };
    let sample = |i: usize| if rest.is_empty() { (i * 37 % 256) as f32 } else { rest[i % rest.len()] as f32 };
    let planes = (0..layout.channels()).map(|c| Plane::new(width, height, (0..width * height).map(|i| sample(i * 4 + c)).collect())).collect();
    let image = PlanarImage::new(layout, upres_image::BitDepth::Eight, planes);
    let spec = NetworkSpec { input, color, scales };
    let size = OutputSize::Scale(if input == InputKind::Bicubic { 2.0 } else { 1.0 + (kind % 3) as f64 });
    let request = UpscaleRequest { size, tile, overlap };
    // Planning is checked for every input; running is left out where a
    // stride of a pixel or two makes thousands of tiles (slow, not wrong).
    if UpscaleJob::new(&image, &spec, &request).is_ok_and(|job| job.tile_count() > MAX_RUN_TILES) {
        return;
    }
    let tiled = run_job(&image, &spec, &request, passes);
    let Ok(tiled) = tiled else {
        assert!(tile == 0 || overlap >= tile, "only a tile no larger than its overlap is refused: {tiled:?}");
        return;
    };
    if overlap < UpscaleRequest::overlap_for_radius(Some(passes)) {
        return; // the blend does not promise equality there
    }
    let whole = run_job(&image, &spec, &UpscaleRequest { size, tile: width.max(height) * 3 + 1, overlap: 0 }, passes).expect("one tile");
    for (a, b) in tiled.planes.iter().zip(&whole.planes) {
        let worst = a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        assert!(worst <= 1.0, "{width}x{height}, tile {tile}, overlap {overlap}, radius {passes}: tiles differ from the whole by {worst}");
    }
}

/// Bytes as a weights file: its header, the upres metadata, the model
/// config JSON and the tensors, read and loaded strictly.
pub fn weights(bytes: &[u8]) {
    let meta = read_meta(bytes);
    let loaded = load_weights::<NdArray>(bytes, &Default::default(), &Expectation::default());
    if loaded.is_ok() {
        assert!(meta.is_ok(), "a file that loads has readable metadata");
    }
}
