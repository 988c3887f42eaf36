//! Running mean and variance (Welford / Chan's parallel update), for observation
//! normalisation and reward scaling. The observation statistics are part of a checkpoint
//! (a policy is only the same policy with the same normalisation); reward statistics
//! only matter while training and start afresh on resume.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunningMeanStd {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub count: f64,
}

impl RunningMeanStd {
    pub fn new(dims: usize) -> Self {
        RunningMeanStd {
            mean: vec![0.0; dims],
            var: vec![1.0; dims],
            count: 1e-4,
        }
    }

    /// Fold in a batch of rows (each `mean.len()` long).
    pub fn update(&mut self, rows: &[&[f32]]) {
        if rows.is_empty() {
            return;
        }
        let n = rows.len() as f64;
        for d in 0..self.mean.len() {
            let batch_mean = rows.iter().map(|r| f64::from(r[d])).sum::<f64>() / n;
            let batch_var = rows
                .iter()
                .map(|r| (f64::from(r[d]) - batch_mean).powi(2))
                .sum::<f64>()
                / n;
            let delta = batch_mean - self.mean[d];
            let total = self.count + n;
            self.mean[d] += delta * n / total;
            let m2 =
                self.var[d] * self.count + batch_var * n + delta * delta * self.count * n / total;
            self.var[d] = m2 / total;
        }
        self.count += n;
    }

    /// `(x - mean) / sqrt(var + 1e-8)`, clipped to ±5.
    pub fn normalise(&self, row: &mut [f32]) {
        for (d, v) in row.iter_mut().enumerate() {
            let z = (f64::from(*v) - self.mean[d]) / (self.var[d] + 1e-8).sqrt();
            *v = z.clamp(-5.0, 5.0) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_batch_statistics() {
        let data: Vec<[f32; 2]> = (0..1000)
            .map(|i| [i as f32, (i % 7) as f32 * 2.0])
            .collect();
        let mut rms = RunningMeanStd::new(2);
        for chunk in data.chunks(64) {
            let rows: Vec<&[f32]> = chunk.iter().map(|r| &r[..]).collect();
            rms.update(&rows);
        }
        let mean0 = 499.5;
        let var0 = (0..1000).map(|i| (i as f64 - mean0).powi(2)).sum::<f64>() / 1000.0;
        assert!((rms.mean[0] - mean0).abs() < 1e-3, "{}", rms.mean[0]);
        assert!(
            (rms.var[0] - var0).abs() / var0 < 1e-3,
            "{} vs {var0}",
            rms.var[0]
        );
        let mut row = [mean0 as f32, 6.0];
        rms.normalise(&mut row);
        assert!(row[0].abs() < 1e-3);
    }
}
