//! Running networks over whole images: sizes, network-scale choice, colour
//! layouts and cancellation, for the low-resolution-input (EDSR/MDSR) path.

use upres_image::{BitDepth, Layout, OutputSize, PlanarImage, Plane, UpscaleJob, UpscaleRequest};
use upres_models::run::upscale;
use upres_models::{ModelConfig, ModelError};

type B = burn::backend::Flex;

fn test_image(layout: Layout, w: usize, h: usize) -> PlanarImage {
    let planes = (0..layout.channels()).map(|c| Plane::new(w, h, (0..w * h).map(|i| ((i * (7 + c) + c * 31) % 256) as f32).collect())).collect();
    PlanarImage::new(layout, BitDepth::Eight, planes)
}

fn request(size: OutputSize) -> UpscaleRequest {
    UpscaleRequest { size, tile: 24, overlap: 8 }
}

#[test]
fn mdsr_runs_its_nearest_larger_scale_then_bicubic_to_the_exact_size() {
    let config = ModelConfig::preset("mdsr-baseline", 2).unwrap();
    let job = UpscaleJob::new(&test_image(Layout::Rgb, 40, 30), &config.network_spec(), &request(OutputSize::Scale(2.5))).unwrap();
    assert_eq!(job.network_scale(), 3);
    assert_eq!(job.output_size(), (100, 75));
    let job = UpscaleJob::new(&test_image(Layout::Rgb, 40, 30), &config.network_spec(), &request(OutputSize::Scale(6.0))).unwrap();
    assert_eq!(job.network_scale(), 4, "beyond the largest scale, the largest runs");

    let device = Default::default();
    let model = config.init::<B>(&device).unwrap();
    let out = upscale(&model, &config, &test_image(Layout::Rgba, 40, 30), &request(OutputSize::Scale(2.5)), &device, |_, _| true).unwrap();
    assert_eq!((out.image.width, out.image.height, out.image.layout), (100, 75, Layout::Rgba));
    assert!(out.network_y.is_none());
}

#[test]
fn rgb_networks_keep_gray_images_gray_and_keep_alpha() {
    let config = ModelConfig::preset("edsr-baseline", 2).unwrap();
    let device = Default::default();
    let model = config.init::<B>(&device).unwrap();
    for layout in [Layout::Gray, Layout::GrayAlpha] {
        let out = upscale(&model, &config, &test_image(layout, 20, 18), &request(OutputSize::Scale(2.0)), &device, |_, _| true).unwrap();
        assert_eq!((out.image.width, out.image.height, out.image.layout), (40, 36, layout));
    }
}

#[test]
fn progress_is_reported_per_tile_and_false_cancels() {
    let config = ModelConfig::preset("edsr-baseline", 2).unwrap();
    let device = Default::default();
    let model = config.init::<B>(&device).unwrap();
    let image = test_image(Layout::Rgb, 50, 40);
    let mut seen = Vec::new();
    upscale(&model, &config, &image, &request(OutputSize::Scale(2.0)), &device, |done, total| {
        seen.push((done, total));
        true
    })
    .unwrap();
    let total = seen[0].1;
    assert!(total > 1);
    assert_eq!(seen, (1..=total).map(|d| (d, total)).collect::<Vec<_>>());

    let mut calls = 0;
    let result = upscale(&model, &config, &image, &request(OutputSize::Scale(2.0)), &device, |_, _| {
        calls += 1;
        false
    });
    assert!(matches!(result, Err(ModelError::Cancelled)));
    assert_eq!(calls, 1, "cancelling stops after the current tile");
}

#[test]
fn downscaling_requests_are_refused() {
    let config = ModelConfig::preset("edsr-baseline", 2).unwrap();
    let image = test_image(Layout::Rgb, 20, 20);
    assert!(UpscaleJob::new(&image, &config.network_spec(), &request(OutputSize::Scale(0.5))).is_err());
    assert!(UpscaleJob::new(&image, &config.network_spec(), &request(OutputSize::Exact { width: 10, height: 40 })).is_err());
}

/// A stand-in network of scale 2: each input sample repeated 2x2 (CHW).
fn nearest_x2(tile: &upres_image::TileInput) -> Vec<f32> {
    let (c, h, w) = (tile.channels, tile.height, tile.width);
    (0..c * 4 * h * w)
        .map(|i| (i / (4 * h * w), (i % (4 * h * w)) / (2 * w), i % (2 * w)))
        .map(|(k, y, x)| tile.data[k * h * w + (y / 2) * w + x / 2])
        .collect()
}

#[test]
fn the_tile_loop_runs_every_tile_once_in_order_and_blends_as_a_hand_written_loop() {
    let config = ModelConfig::preset("sesr-m5", 2).unwrap();
    let image = test_image(Layout::Rgb, 50, 37);
    let job = || UpscaleJob::new(&image, &config.network_spec(), &request(OutputSize::Scale(2.0))).unwrap();
    let mut by_hand = job();
    let total = by_hand.tile_count();
    assert!(total > 2, "the request cuts the image into several tiles");
    for i in 0..total {
        let output = nearest_x2(&by_hand.tile_input(i));
        by_hand.add_tile_output(i, &output).unwrap();
    }
    let by_hand = by_hand.finish().unwrap();

    let (mut seen, mut reported) = (Vec::new(), Vec::new());
    let driven = futures_executor::block_on(job().run(
        async |tile, scale| {
            assert_eq!(scale, 2);
            seen.push((tile.width, tile.height));
            Ok::<_, ModelError>(nearest_x2(&tile))
        },
        async |done, of| {
            reported.push((done, of));
            Ok(())
        },
    ))
    .unwrap();
    assert_eq!(seen.len(), total);
    assert_eq!(reported, (1..=total).map(|d| (d, total)).collect::<Vec<_>>());
    assert_eq!(driven.image.planes, by_hand.image.planes);
    assert_eq!(driven.network_y.map(|p| p.data), by_hand.network_y.map(|p| p.data));
}

#[test]
fn the_tile_loop_stops_at_the_first_error_of_its_progress() {
    let config = ModelConfig::preset("sesr-m5", 2).unwrap();
    let job = UpscaleJob::new(&test_image(Layout::Gray, 50, 37), &config.network_spec(), &request(OutputSize::Scale(2.0))).unwrap();
    let mut runs = 0;
    let result = futures_executor::block_on(job.run(
        async |tile, _| {
            runs += 1;
            Ok(nearest_x2(&tile))
        },
        async |done, _| if done == 2 { Err(ModelError::Cancelled) } else { Ok(()) },
    ));
    assert!(matches!(result, Err(ModelError::Cancelled)));
    assert_eq!(runs, 2, "no tile runs after the stop");
}
