//! Checkpoints: the model and optimiser records (burn's binary recorder,
//! full precision), and the loop's state (iteration, best PSNR, the resolved
//! config). The data order needs no RNG state of its own: each batch is a
//! function of (seed, iteration). One file, written to a temporary name,
//! synced, then renamed over the old one: a crash or a kill at any moment
//! leaves either the previous checkpoint or the new one, never a torn file.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;

const MAGIC: &[u8; 8] = b"UPRESCK2";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoopState {
    /// Optimiser steps done.
    pub iteration: u64,
    pub best_psnr: Option<f64>,
    pub best_iteration: Option<u64>,
    pub config: TrainConfig,
    /// Seconds of training before this checkpoint (for provenance).
    pub elapsed_s: f64,
    /// The float type of the forward and backward passes.
    #[serde(default)]
    pub precision: super::precision::Precision,
    /// The dynamic loss scale of an f16 run.
    #[serde(default)]
    pub loss_scale: Option<crate::train::precision::LossScale>,
}

pub struct Checkpoint {
    pub state: LoopState,
    pub model: Vec<u8>,
    pub optimizer: Vec<u8>,
    /// The discriminator and its optimiser (empty unless adversarial).
    pub discriminator: Vec<u8>,
    pub discriminator_optimizer: Vec<u8>,
}

impl Checkpoint {
    pub fn write(&self, path: &Path) -> Result<()> {
        let state = serde_json::to_vec(&self.state)?;
        let mut bytes = Vec::with_capacity(8 + 24 + state.len() + self.model.len() + self.optimizer.len());
        bytes.extend_from_slice(MAGIC);
        for blob in [&state, &self.model, &self.optimizer, &self.discriminator, &self.discriminator_optimizer] {
            bytes.extend_from_slice(&(blob.len() as u64).to_le_bytes());
            bytes.extend_from_slice(blob);
        }
        crate::files::write_atomic(path, &bytes).context("writing the checkpoint")
    }

    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read checkpoint", path.display()))?;
        let bad = || anyhow::anyhow!("{}: not an upres checkpoint, or a damaged one", path.display());
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(bad());
        }
        let mut blobs = Vec::new();
        let mut at = 8;
        for _ in 0..5 {
            let len_bytes: [u8; 8] = bytes.get(at..at + 8).ok_or_else(bad)?.try_into().expect("8 bytes");
            let len = u64::from_le_bytes(len_bytes) as usize;
            at += 8;
            blobs.push(bytes.get(at..at + len).ok_or_else(bad)?.to_vec());
            at += len;
        }
        let state = serde_json::from_slice(&blobs[0]).with_context(|| format!("{}: damaged state", path.display()))?;
        let discriminator_optimizer = blobs.pop().expect("five blobs");
        let discriminator = blobs.pop().expect("five blobs");
        let optimizer = blobs.pop().expect("five blobs");
        let model = blobs.pop().expect("five blobs");
        Ok(Self { state, model, optimizer, discriminator, discriminator_optimizer })
    }
}
