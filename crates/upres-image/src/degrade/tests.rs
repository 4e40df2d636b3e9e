use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

fn photo(w: usize, h: usize) -> Vec<Plane> {
    (0..3)
        .map(|c| {
            let data = (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as f32, (i / w) as f32);
                    (0.5 + 0.35 * ((x * 0.21 + c as f32).sin() * (y * 0.13).cos()) + if x > y { 0.1 } else { -0.1 }).clamp(0.0, 1.0)
                })
                .collect();
            Plane::new(w, h, data)
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_image_and_another_seed_another() {
    for preset in Preset::ALL {
        let d = preset.degradation();
        let hr = photo(96, 96);
        let input = match d.source() {
            Source::Hr => hr.clone(),
            Source::BicubicLr => hr.iter().map(|p| resize_plane(p, 48, 48, ResizeMode::Area)).collect(),
        };
        let run = |seed| d.apply(&input, 48, 48, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        let a = run(7);
        assert_eq!(a, run(7), "{preset:?}");
        assert!((1..6).any(|s| run(s) != a), "{preset:?}: every seed gave the same image");
        for p in &a {
            assert_eq!((p.width, p.height), (48, 48), "{preset:?}");
            // 8-bit levels in [0, 1].
            assert!(p.data.iter().all(|v| (0.0..=1.0).contains(v) && ((v * 255.0).round() - v * 255.0).abs() < 1e-4));
        }
    }
}

#[test]
fn the_models_from_hr_make_any_lr_size_from_any_hr() {
    for preset in [Preset::Real, Preset::Camera] {
        let d = preset.degradation();
        for (seed, (w, h)) in [(64, 48), (33, 20), (128, 128)].into_iter().enumerate() {
            let out = d.apply(&photo(w * 4, h * 4), w, h, &mut ChaCha8Rng::seed_from_u64(seed as u64)).unwrap();
            assert_eq!((out[0].width, out[0].height, out.len()), (w, h, 3), "{preset:?}");
        }
    }
}

#[test]
fn jpeg_image_gives_the_lr_of_eval_degrade_jpeg() {
    let planes: Vec<Plane> = photo(37, 29).into_iter().map(|p| p.map(|v| (v * 255.0).round())).collect();
    let image = PlanarImage::new(Layout::Rgb, BitDepth::Eight, planes);
    for quality in [40, 90] {
        let by_chain =
            Degradation::parse(&format!("jpeg:{quality}")).unwrap().apply_to_image(&image, 37, 29, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let direct = jpeg_image(&image, quality).unwrap();
        assert_eq!(direct, by_chain, "q{quality}");
        assert_ne!(direct, image, "q{quality}: the JPEG changed nothing");
    }
}

#[test]
fn a_written_chain_is_the_same_as_its_steps_by_hand() {
    let d = Degradation::parse("jpeg:75").unwrap();
    let lr = photo(40, 32);
    let out = d.apply(&lr, 40, 32, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let mut by_hand = lr.clone();
    jpeg_round_trip(&mut by_hand, 75).unwrap();
    assert_eq!(out, by_hand);
    // Gaussian noise of a fixed sigma: the deviation of the difference.
    let noisy = Degradation::parse("noise:8")
        .unwrap()
        .apply(&[Plane::new(200, 100, vec![0.5; 20_000])], 200, 100, &mut ChaCha8Rng::seed_from_u64(2))
        .unwrap();
    let sd = (noisy[0].data.iter().map(|v| ((v - 0.5) * 255.0).powi(2) as f64).sum::<f64>() / 20_000.0).sqrt();
    assert!((sd - 8.0).abs() < 0.2, "{sd}");
}

#[test]
fn specs_parse_into_steps_and_bad_ones_say_why() {
    let d = Degradation::parse("blur:1.2 + noise:2..4 + jpeg:90").unwrap();
    let Degradation::AfterBicubic { steps, clean_probability } = &d else { panic!("{d:?}") };
    assert_eq!(*clean_probability, 0.0);
    assert_eq!(steps.len(), 3);
    assert!(matches!(&steps[0], Step::Blur { kernel, .. } if kernel.sizes == [9, 9] && kernel.sigma == Range::fixed(1.2)));
    assert!(matches!(&steps[1], Step::Noise { sigma, .. } if *sigma == Range::new(2.0, 4.0)));
    assert_eq!(Degradation::parse("real").unwrap(), Preset::Real.degradation());
    for (spec, says) in
        [("jpeg:0", "jpeg quality"), ("sharpen:2", "unknown operation"), ("jpeg", ""), ("jpg", "neither a preset"), ("noise:x", "not a number")]
    {
        if says.is_empty() {
            assert!(Degradation::parse(spec).is_ok(), "{spec}");
        } else {
            let e = Degradation::parse(spec).unwrap_err().to_string();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }
}

#[test]
fn recipes_take_a_preset_name_or_a_whole_chain() {
    let p: DegradationRecipe = serde_json::from_str(r#""jpeg""#).unwrap();
    assert_eq!(p.degradation(), Preset::Jpeg.degradation());
    let text = r#"{"kind": "after_bicubic", "clean_probability": 0.2, "steps": [{"op": "jpeg", "quality": [40, 80]}, {"op": "noise", "sigma": 3, "probability": 0.5}]}"#;
    let c: DegradationRecipe = serde_json::from_str(text).unwrap();
    let Degradation::AfterBicubic { steps, .. } = c.degradation() else { panic!() };
    assert_eq!(steps[0], Step::Jpeg { probability: 1.0, quality: Range::new(40.0, 80.0) });
    // Written back as it came, and the full Real-ESRGAN settings round-trip.
    assert_eq!(serde_json::from_str::<DegradationRecipe>(&serde_json::to_string(&c).unwrap()).unwrap(), c);
    for preset in Preset::ALL {
        let whole = DegradationRecipe::Custom(preset.degradation());
        assert_eq!(serde_json::from_str::<DegradationRecipe>(&serde_json::to_string(&whole).unwrap()).unwrap(), whole, "{preset:?}");
    }
    assert!(serde_json::from_str::<Degradation>(r#"{"kind": "after_bicubic", "steps": [{"op": "jpeg", "qualty": 5}]}"#).is_err());
}

#[test]
fn eight_bit_images_keep_gray_and_drop_alpha() {
    let gray = PlanarImage::new(Layout::GrayAlpha, BitDepth::Eight, vec![Plane::new(16, 16, vec![100.0; 256]), Plane::new(16, 16, vec![255.0; 256])]);
    let out = Degradation::parse("jpeg:95").unwrap().apply_to_image(&gray, 16, 16, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    assert_eq!(out.layout, Layout::Gray);
    assert!(out.planes[0].data.iter().all(|v| (v - 100.0).abs() <= 1.0));
}
