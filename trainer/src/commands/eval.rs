//! The published evaluation protocol: HR modcropped to the scale, LR made
//! with MATLAB's bicubic `imresize`, PSNR/SSIM on Y (rgb2ycbcr, floating
//! point) with `scale` pixels (rounded) shaved at each border.

use std::path::{Path, PathBuf};
use upres_kernels::SrBackend;

use anyhow::{Context, Result};
use serde::Serialize;
use upres_image::{evaluate_y, shave_for_scale};
use upres_models::Expectation;
use upres_models::eval::{bicubic_to, model_output};

use crate::backend::{OnBackend, dispatch};
use crate::cli::EvalArgs;
use crate::files::{list_images, scale_label, stem};
use crate::lpips::LpipsMeter;
use crate::pairs::LrSource;

#[derive(Serialize, Debug, Clone)]
pub struct ImageResult {
    pub name: String,
    pub psnr: f64,
    pub ssim: f64,
    pub bicubic_psnr: f64,
    pub bicubic_ssim: f64,
    /// LPIPS (VGG16, v0.1) with `--lpips`: lower is closer to the HR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lpips: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bicubic_lpips: Option<f64>,
}

#[derive(Serialize, Debug, Clone)]
pub struct Summary {
    pub dataset: String,
    pub scale: f64,
    pub model: String,
    /// How the LR was made when not by the papers' protocol: a degradation
    /// (`jpeg:75`) or a folder of real LR images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<String>,
    /// Mean PSNR/SSIM of the model (of bicubic with `--model bicubic`).
    pub psnr: f64,
    pub ssim: f64,
    pub bicubic_psnr: f64,
    pub bicubic_ssim: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lpips: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bicubic_lpips: Option<f64>,
    pub images: Vec<ImageResult>,
    pub skipped: Vec<String>,
}

struct EvalTask {
    args: EvalArgs,
}

impl OnBackend for EvalTask {
    type Output = Vec<Summary>;
    fn run<B: SrBackend>(self, device: B::Device) -> Result<Vec<Summary>> {
        let args = self.args;
        let source = match &args.lr {
            Some(dir) => {
                anyhow::ensure!(args.data.len() == 1, "--lr pairs one LR folder with one HR folder; give one --data");
                LrSource::Folder(dir.clone())
            }
            None => LrSource::synthetic(args.degrade.as_deref(), args.seed)?,
        };
        let lpips = if args.lpips {
            let path = args.lpips_weights.clone().unwrap_or_else(crate::lpips::default_weights);
            Some(LpipsMeter::<B>::load(&path, &device)?)
        } else {
            None
        };
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
                let mut first_error = None;
                for path in &files {
                    let pair = (|| -> Result<_> {
                        let (hr, lr) = source.pair(path, scale)?;
                        let shave = shave_for_scale(scale);
                        let upscaled = bicubic_to(&lr, hr.width, hr.height, scale)?;
                        let bicubic = evaluate_y(&upscaled, &hr, shave)?;
                        let perceptual = match &lpips {
                            Some(meter) => {
                                let reference = meter.reference(&hr, shave)?;
                                let bicubic = meter.distance(&reference, &upscaled, shave)?;
                                Some((reference, bicubic))
                            }
                            None => None,
                        };
                        Ok((hr, lr, bicubic, perceptual))
                    })();
                    for (m, model) in models.iter().enumerate() {
                        let result = pair.as_ref().map_err(|e| anyhow::anyhow!("{e:#}")).and_then(|(hr, lr, bicubic, perceptual)| {
                            let (quality, lpips) = match model {
                                Some((_, _, w)) => {
                                    let (quality, image) =
                                        model_output(&w.model, &w.meta.config, hr, lr, scale, &device).with_context(|| path.display().to_string())?;
                                    let lpips = match (&lpips, perceptual) {
                                        (Some(meter), Some((reference, _))) => Some(meter.distance(reference, &image, shave_for_scale(scale))?),
                                        _ => None,
                                    };
                                    (quality, lpips)
                                }
                                None => (*bicubic, perceptual.as_ref().map(|p| p.1)),
                            };
                            Ok(ImageResult {
                                name: stem(path),
                                psnr: quality.psnr,
                                ssim: quality.ssim,
                                bicubic_psnr: bicubic.psnr,
                                bicubic_ssim: bicubic.ssim,
                                lpips,
                                bicubic_lpips: perceptual.as_ref().map(|p| p.1),
                            })
                        });
                        match result {
                            Ok(r) => images[m].push(r),
                            Err(e) => {
                                // A bad image is reported once, not once per model.
                                if m == 0 || pair.is_ok() {
                                    bar.suspend(|| eprintln!("warning: skipped {e:#}"));
                                }
                                first_error.get_or_insert_with(|| format!("{e:#}"));
                                skipped[m].push(path.display().to_string());
                            }
                        }
                    }
                    bar.inc(1);
                }
                bar.finish_and_clear();
                for (m, (images, skipped)) in images.into_iter().zip(skipped).enumerate() {
                    if images.is_empty() {
                        anyhow::bail!("{}: no image could be evaluated (the first: {})", data.display(), first_error.as_deref().unwrap_or("?"));
                    }
                    let mean = |f: fn(&ImageResult) -> f64| images.iter().map(f).sum::<f64>() / images.len() as f64;
                    let mean_of = |f: fn(&ImageResult) -> Option<f64>| images.iter().map(f).sum::<Option<f64>>().map(|s| s / images.len() as f64);
                    by_model[m].push(Summary {
                        dataset: dataset_name(data),
                        scale,
                        model: names[m].clone(),
                        lr: source.label(),
                        psnr: mean(|r| r.psnr),
                        ssim: mean(|r| r.ssim),
                        bicubic_psnr: mean(|r| r.bicubic_psnr),
                        bicubic_ssim: mean(|r| r.bicubic_ssim),
                        lpips: mean_of(|r| r.lpips),
                        bicubic_lpips: mean_of(|r| r.bicubic_lpips),
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
    if last.eq_ignore_ascii_case("hr") { p.parent().map(stem).unwrap_or(last) } else { last }
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
        let value = if summaries.len() == 1 { serde_json::to_value(&summaries[0])? } else { serde_json::json!({ "results": summaries }) };
        println!("{}", serde_json::to_string(&value)?);
        return Ok(());
    }
    let is_bicubic = summaries.first().is_some_and(|s| s.model == "bicubic");
    for s in &summaries {
        let lr = s.lr.as_ref().map(|l| format!(", LR: {l}")).unwrap_or_default();
        println!("\n{} x{} — {}{lr}", s.dataset, scale_label(s.scale), s.model);
        let lpips = |v: Option<f64>| v.map(|l| format!(" {l:>8.4}")).unwrap_or_default();
        if is_bicubic {
            let head = if s.lpips.is_some() { format!(" {:>8}", "LPIPS") } else { String::new() };
            println!("{:<14} {:>8} {:>8}{head}", "image", "PSNR", "SSIM");
            for r in &s.images {
                println!("{:<14} {:>8.2} {:>8.4}{}", r.name, r.psnr, r.ssim, lpips(r.lpips));
            }
            println!("{:<14} {:>8.2} {:>8.4}{}", "mean", s.psnr, s.ssim, lpips(s.lpips));
        } else {
            // PSNR / SSIM [/ LPIPS] of bicubic, then of the model.
            let cell = |p: f64, q: f64, l: Option<f64>| format!("{p:>8.2} / {q:.4}{}", l.map(|l| format!(" / {l:.4}")).unwrap_or_default());
            let width = if s.lpips.is_some() { 26 } else { 17 };
            println!("{:<14} {:>width$} {:>width$}", "image", "bicubic", s.model);
            for r in &s.images {
                println!("{:<14} {} {}", r.name, cell(r.bicubic_psnr, r.bicubic_ssim, r.bicubic_lpips), cell(r.psnr, r.ssim, r.lpips));
            }
            println!("{:<14} {} {}", "mean", cell(s.bicubic_psnr, s.bicubic_ssim, s.bicubic_lpips), cell(s.psnr, s.ssim, s.lpips));
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
