//! `metrics.csv`: one row per logging window of a run, written by the loop,
//! cut back on `--resume` and read by the plot, all through [`MetricsRow`],
//! so the columns are named in one place.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One logging window. The validation columns are empty where the window
/// ended without a validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// Optimiser steps done at the end of the window.
    pub iteration: u64,
    pub epoch: f64,
    /// The mean training loss over the window.
    pub loss: f64,
    pub lr: f64,
    pub val_psnr: Option<f64>,
    pub val_ssim: Option<f64>,
    /// Mean milliseconds per step waiting for the batch, and for the step.
    pub data_ms: f64,
    pub step_ms: f64,
}

/// `value` rounded to `digits` decimals: what the CSV needs, not the full
/// shortest round-trip of an f64.
fn rounded(value: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (value * f).round() / f
}

impl MetricsRow {
    fn for_csv(&self) -> Self {
        Self {
            epoch: rounded(self.epoch, 4),
            loss: rounded(self.loss, 6),
            val_psnr: self.val_psnr.map(|p| rounded(p, 4)),
            val_ssim: self.val_ssim.map(|s| rounded(s, 5)),
            data_ms: rounded(self.data_ms, 3),
            step_ms: rounded(self.step_ms, 3),
            ..self.clone()
        }
    }
}

fn write_rows(path: &Path, rows: &[MetricsRow]) -> Result<()> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        out.serialize(row.for_csv())?;
    }
    let bytes = out.into_inner().context("metrics.csv")?;
    crate::files::write_atomic(path, &bytes)
}

/// A new run's file, empty: the header comes with the first row, from the
/// row type's field names.
pub fn create(path: &Path) -> Result<()> {
    write_rows(path, &[])
}

/// Add one window's row.
pub fn append(path: &Path, row: &MetricsRow) -> Result<()> {
    let file = std::fs::OpenOptions::new().append(true).open(path).with_context(|| format!("{}: cannot append", path.display()))?;
    let first = file.metadata().map(|m| m.len() == 0).unwrap_or(false);
    let mut out = csv::WriterBuilder::new().has_headers(first).from_writer(file);
    out.serialize(row.for_csv()).with_context(|| path.display().to_string())?;
    out.flush().with_context(|| path.display().to_string())?;
    Ok(())
}

/// Every row of a run's file.
pub fn read(path: &Path) -> Result<Vec<MetricsRow>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| path.display().to_string())?;
    reader.deserialize().map(|row| row.with_context(|| format!("{}: a damaged row", path.display()))).collect()
}

/// Drop the rows past `iteration` (written after the checkpoint a resumed
/// run starts from), so that they are written once, again.
pub fn truncate(path: &Path, iteration: u64) -> Result<()> {
    if !path.exists() {
        return create(path);
    }
    let kept: Vec<MetricsRow> = read(path)?.into_iter().filter(|r| r.iteration <= iteration).collect();
    write_rows(path, &kept)
}

/// The last validation PSNR logged.
pub fn last_validation(path: &Path) -> Option<f64> {
    read(path).ok()?.iter().rev().find_map(|r| r.val_psnr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(iteration: u64, psnr: Option<f64>) -> MetricsRow {
        MetricsRow {
            iteration,
            epoch: iteration as f64 / 3.0,
            loss: 0.0123456789,
            lr: 5e-4,
            val_psnr: psnr,
            val_ssim: psnr.map(|_| 0.912345678),
            data_ms: 1.0,
            step_ms: 250.0,
        }
    }

    #[test]
    fn rows_round_trip_through_the_file_and_resume_cuts_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        create(&path).unwrap();
        assert!(read(&path).unwrap().is_empty());
        for (it, psnr) in [(25, None), (50, Some(33.123456)), (75, None)] {
            append(&path, &row(it, psnr)).unwrap();
        }
        let rows = read(&path).unwrap();
        assert_eq!(rows.iter().map(|r| r.iteration).collect::<Vec<_>>(), [25, 50, 75]);
        assert_eq!(rows[1].val_psnr, Some(33.1235));
        assert_eq!(rows[0].loss, 0.012346);
        assert_eq!(last_validation(&path), Some(33.1235));
        truncate(&path, 50).unwrap();
        assert_eq!(read(&path).unwrap().len(), 2);
    }

    #[test]
    fn files_written_before_the_row_type_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, "iteration,epoch,loss,lr,val_psnr,val_ssim,data_ms,step_ms\n25,0.0684,0.093436,5e-4,,,0.018,291.118\n500,1.3680,0.023415,5e-4,35.3215,0.94177,0.011,280.845\n").unwrap();
        let rows = read(&path).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].val_psnr, None);
        assert_eq!(rows[1].val_ssim, Some(0.94177));
    }
}
