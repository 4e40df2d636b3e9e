//! The published evaluation protocol: HR modcropped to the scale, LR made
//! with MATLAB's bicubic `imresize`, PSNR/SSIM on Y (rgb2ycbcr, floating
//! point) with `scale` pixels (rounded) shaved at each border.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::prelude::Backend;
use serde::Serialize;
use upres_image::{read_image, DecodeLimits};
use upres_models::eval::{bicubic_quality, model_quality, protocol_pair};
use upres_models::Expectation;

use crate::backend::{dispatch, OnBackend};
use crate::cli::EvalArgs;
use crate::files::{list_images, scale_label, stem};

#[derive(Serialize, Debug, Clone)]
pub struct ImageResult {
    pub name: String,
    pub psnr: f64,
    pub ssim: f64,
    pub bicubic_psnr: f64,
    pub bicubic_ssim: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Summary {
    pub dataset: String,
    pub scale: f64,
    pub model: String,
    /// Mean PSNR/SSIM of the model (of bicubic with `--model bicubic`).
    pub psnr: f64,
    pub ssim: f64,
    pub bicubic_psnr: f64,
    pub bicubic_ssim: f64,
    pub images: Vec<ImageResult>,
    pub skipped: Vec<String>,
}

struct EvalTask {
    args: EvalArgs,
}

impl OnBackend for EvalTask {
    type Output = Vec<Summary>;
    fn run<B: Backend>(self, device: B::Device) -> Result<Vec<Summary>> {
        let args = self.args;
        // `None` stands for the bicubic baseline.
        let mut models = Vec::new();
        if args.weights.is_empty() {
            models.push(None);
        }
        for path in &args.weights {
            models.push(Some((stem(path), path.clone(), super::load_model::<B>(path, &device, &Expectation::default())?)));
        }
        let names: Vec<String> = models.iter().map(|m| m.as_ref().map(|m| m.0.clone()).unwrap_or_else(|| "bicubic".into())).collect();
        // by_model[m] holds model m's summaries in dataset, scale order; each
        // image is decoded, degraded and scored with bicubic once for all models.
        let mut by_model: Vec<Vec<Summary>> = models.iter().map(|_| Vec::new()).collect();
        for data in &args.data {
            let files = list_images(data)?;
            for &scale in &args.scale {
                if !(scale.is_finite() && scale > 1.0) {
                    anyhow::bail!("--scale must be larger than 1, got {scale}");
                }
                for (_, path, w) in models.iter().flatten() {
                    w.meta.config.check_scale(scale).with_context(|| path.display().to_string())?;
                }
                let bar = super::progress_bar(files.len(), &format!("{} x{}", dataset_name(data), scale_label(scale)));
                let mut images: Vec<Vec<ImageResult>> = models.iter().map(|_| Vec::new()).collect();
                let mut skipped: Vec<Vec<String>> = models.iter().map(|_| Vec::new()).collect();
                for path in &files {
                    let pair = (|| -> Result<_> {
                        let image = read_image(path, DecodeLimits::default())?;
                        let (hr, lr) = protocol_pair(&image, scale, &path.display().to_string())?;
                        let bicubic = bicubic_quality(&hr, &lr, scale)?;
                        Ok((hr, lr, bicubic))
                    })();
                    for (m, model) in models.iter().enumerate() {
                        let result = pair.as_ref().map_err(|e| anyhow::anyhow!("{e:#}")).and_then(|(hr, lr, bicubic)| {
                            let quality = match model {
                                Some((_, _, w)) => model_quality(&w.model, &w.meta.config, hr, lr, scale, &device)
                                    .with_context(|| path.display().to_string())?,
                                None => *bicubic,
                            };
                            Ok(ImageResult {
                                name: stem(path),
                                psnr: quality.psnr,
                                ssim: quality.ssim,
                                bicubic_psnr: bicubic.psnr,
                                bicubic_ssim: bicubic.ssim,
                            })
                        });
                        match result {
                            Ok(r) => images[m].push(r),
                            Err(e) => {
                                // A bad image is reported once, not once per model.
                                if m == 0 || pair.is_ok() {
                                    bar.suspend(|| eprintln!("warning: skipped {e:#}"));
                                }
                                skipped[m].push(path.display().to_string());
                            }
                        }
                    }
                    bar.inc(1);
                }
                bar.finish_and_clear();
                for (m, (images, skipped)) in images.into_iter().zip(skipped).enumerate() {
                    if images.is_empty() {
                        anyhow::bail!("{}: no image could be evaluated", data.display());
                    }
                    let mean = |f: fn(&ImageResult) -> f64| images.iter().map(f).sum::<f64>() / images.len() as f64;
                    by_model[m].push(Summary {
                        dataset: dataset_name(data),
                        scale,
                        model: names[m].clone(),
                        psnr: mean(|r| r.psnr),
                        ssim: mean(|r| r.ssim),
                        bicubic_psnr: mean(|r| r.bicubic_psnr),
                        bicubic_ssim: mean(|r| r.bicubic_ssim),
                        images,
                        skipped,
                    });
                }
            }
        }
        let summaries: Vec<Summary> = by_model.into_iter().flatten().collect();
        Ok(summaries)
    }
}

/// "Set5" for ".../Set5/HR".
fn dataset_name(path: &Path) -> String {
    let p: PathBuf = path.components().collect();
    let last = stem(&p);
    if last.eq_ignore_ascii_case("hr") {
        p.parent().map(stem).unwrap_or(last)
    } else {
        last
    }
}

pub fn run(args: EvalArgs) -> Result<()> {
    if let Some(m) = &args.model {
        if m != "bicubic" {
            anyhow::bail!("--model {m}: only `bicubic` is built in; give trained weights with --weights FILE");
        }
    }
    let json = args.json;
    let backend = args.backend.clone();
    let summaries = dispatch(&backend, EvalTask { args })?;
    if json {
        let value = if summaries.len() == 1 {
            serde_json::to_value(&summaries[0])?
        } else {
            serde_json::json!({ "results": summaries })
        };
        println!("{}", serde_json::to_string(&value)?);
        return Ok(());
    }
    let is_bicubic = summaries.first().is_some_and(|s| s.model == "bicubic");
    for s in &summaries {
        println!("\n{} x{} — {}", s.dataset, scale_label(s.scale), s.model);
        if is_bicubic {
            println!("{:<14} {:>8} {:>8}", "image", "PSNR", "SSIM");
            for r in &s.images {
                println!("{:<14} {:>8.2} {:>8.4}", r.name, r.psnr, r.ssim);
            }
            println!("{:<14} {:>8.2} {:>8.4}", "mean", s.psnr, s.ssim);
        } else {
            println!("{:<14} {:>17} {:>17}", "image", "bicubic", s.model);
            for r in &s.images {
                println!("{:<14} {:>8.2} / {:.4} {:>8.2} / {:.4}", r.name, r.bicubic_psnr, r.bicubic_ssim, r.psnr, r.ssim);
            }
            println!("{:<14} {:>8.2} / {:.4} {:>8.2} / {:.4}", "mean", s.bicubic_psnr, s.bicubic_ssim, s.psnr, s.ssim);
        }
    }
    let mut model_names: Vec<&str> = summaries.iter().map(|s| s.model.as_str()).collect();
    model_names.dedup();
    if model_names.len() > 1 {
        // The VDSR paper's Table 2: test set and scale down, one column per model.
        println!("\nPSNR (Y, shave = scale): test x model");
        print!("{:<10} {:>6} {:>9}", "dataset", "scale", "bicubic");
        for m in &model_names {
            print!(" {:>14}", m);
        }
        println!();
        for first in summaries.iter().filter(|s| s.model == model_names[0]) {
            print!("{:<10} {:>6} {:>9.2}", first.dataset, format!("x{}", scale_label(first.scale)), first.bicubic_psnr);
            for m in &model_names {
                let cell = summaries.iter().find(|s| s.model == *m && s.dataset == first.dataset && s.scale == first.scale);
                print!(" {:>14}", cell.map(|s| format!("{:.2}", s.psnr)).unwrap_or_default());
            }
            println!();
        }
    } else if summaries.len() > 1 {
        // The papers' shape: datasets x scales, bicubic beside the model.
        println!("\nPSNR / SSIM (Y, shave = scale)");
        println!("{:<10} {:>6} {:>17} {:>17}", "dataset", "scale", "bicubic", if is_bicubic { "" } else { "model" });
        for s in &summaries {
            let model = if is_bicubic { String::new() } else { format!("{:.2} / {:.4}", s.psnr, s.ssim) };
            println!("{:<10} {:>6} {:>8.2} / {:.4} {:>17}", s.dataset, format!("x{}", scale_label(s.scale)), s.bicubic_psnr, s.bicubic_ssim, model);
        }
    }
    Ok(())
}
