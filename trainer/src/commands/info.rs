use anyhow::{Context, Result};
use safetensors::SafeTensors;

use crate::cli::InfoArgs;
use crate::files::read_bytes;

pub fn run(args: InfoArgs) -> Result<()> {
    let bytes = read_bytes(&args.file)?;
    let mut meta = upres_models::read_meta(&bytes).with_context(|| args.file.display().to_string())?;
    meta.recognise_preset();
    let tensors = SafeTensors::deserialize(&bytes).with_context(|| format!("{}: corrupt tensor data", args.file.display()))?;
    if args.json {
        let mut json = serde_json::to_value(&meta)?;
        json["published_set5"] = serde_json::to_value(meta.published_set5())?;
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let scales: Vec<String> = meta.scales.iter().map(|s| format!("x{s}")).collect();
    println!("file          {} ({:.2} MB)", args.file.display(), bytes.len() as f64 / 1e6);
    println!("format        upres-weights v{}", meta.format_version);
    println!("architecture  {}", meta.config.arch());
    println!("config        {}", serde_json::to_string(&meta.config)?);
    match meta.preset() {
        Some(preset) => {
            let published: Vec<String> = meta.published_set5().iter().map(|(s, psnr)| format!("Set5 {s} {psnr:.2} dB")).collect();
            let published = if published.is_empty() { String::new() } else { format!(" (the paper: {})", published.join(", ")) };
            println!("preset        {}{published}", preset.name);
        }
        None => println!("preset        none (sizes of its own)"),
    }
    println!("scales        {}", scales.join(", "));
    println!("color space   {:?} in [0, 1]", meta.color_space);
    println!("input         {:?}", meta.input);
    println!("parameters    {} ({} tensors, {:?})", meta.parameters, tensors.len(), meta.dtype);
    // "13520 multiply-adds per LR pixel at x2, 14720 at x3"
    let cost: Vec<String> = meta
        .macs_per_lr_pixel()
        .iter()
        .enumerate()
        .map(|(i, (s, m))| if i == 0 { format!("{m} multiply-adds per LR pixel at {s}") } else { format!("{m} at {s}") })
        .collect();
    println!("cost          {}", cost.join(", "));
    // "9 LR pixels (tiles overlap by 20 by default)"
    let unit = if meta.input == upres_image::InputKind::Bicubic { "pixels of its bicubic input" } else { "LR pixels" };
    match meta.receptive_radius() {
        Some(r) => println!("reach         {r} {unit} (tiles overlap by {} by default)", meta.default_overlap()),
        None => println!("reach         the whole image (tiles overlap by {} by default)", meta.default_overlap()),
    }
    let p = &meta.provenance;
    println!("author        {}", p.author);
    if !p.training_data.is_empty() {
        println!("trained on    {}", p.training_data);
    }
    if let Some(i) = p.iterations {
        println!("iterations    {i}");
    }
    for (scale, psnr) in &p.set5_psnr {
        println!("Set5 {scale:<8} {psnr:.2} dB");
    }
    if !p.notes.is_empty() {
        println!("notes         {}", p.notes);
    }
    Ok(())
}
