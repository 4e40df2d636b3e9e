//! Checkpoints: the model and optimiser records (burn's binary recorder,
//! full precision), and the loop's state (iteration, best PSNR, the resolved
//! config). The data order needs no RNG state of its own: each batch is a
//! function of (seed, iteration). One file, written to a temporary name,
//! synced, then renamed over the old one: a crash or a kill at any moment
//! leaves either the previous checkpoint or the new one, never a torn file.
//! A CRC-32 of everything before it ends the file, so a copy damaged later
//! (a flipped bit, a truncated transfer between machines) is refused by
//! name on `--resume` instead of resuming from garbage.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;

/// Version 3 ends with the checksum; version 2 (no checksum) still reads.
const MAGIC: &[u8; 8] = b"UPRESCK3";
const MAGIC_V2: &[u8; 8] = b"UPRESCK2";
const CHECKSUM_LEN: usize = 4;

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
        let checksum = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&checksum.to_le_bytes());
        crate::files::write_atomic(path, &bytes)
            .with_context(|| format!("writing the checkpoint of iteration {}; the one before it stays in place for --resume", self.state.iteration))
    }

    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read checkpoint", path.display()))?;
        let damaged = |why: String| anyhow::anyhow!("{}: damaged checkpoint ({why}); nothing was changed", path.display());
        let body = match bytes.get(..8) {
            Some(magic) if magic == MAGIC => {
                let Some(split) = bytes.len().checked_sub(CHECKSUM_LEN).filter(|&at| at >= 8) else {
                    return Err(damaged(format!("{} bytes, too short", bytes.len())));
                };
                let (body, stored) = bytes.split_at(split);
                let stored = u32::from_le_bytes(stored.try_into().expect("4 bytes"));
                let computed = crc32fast::hash(body);
                if stored != computed {
                    return Err(damaged(format!("checksum {computed:08x}, stored {stored:08x}: changed or truncated since it was written")));
                }
                body
            }
            Some(magic) if magic == MAGIC_V2 => &bytes[..],
            None => return Err(damaged(format!("{} bytes, too short", bytes.len()))),
            Some(_) => anyhow::bail!("{}: not an upres checkpoint", path.display()),
        };
        let mut blobs = Vec::new();
        let mut at = 8;
        for part in ["state", "model", "optimiser", "discriminator", "discriminator optimiser"] {
            let start = at;
            let truncated = || damaged(format!("truncated in the {part}, at byte {start} of {}", body.len()));
            let len_bytes: [u8; 8] = body.get(at..at + 8).ok_or_else(truncated)?.try_into().expect("8 bytes");
            let len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| truncated())?;
            at += 8;
            blobs.push(body.get(at..at.checked_add(len).ok_or_else(truncated)?).ok_or_else(truncated)?.to_vec());
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
