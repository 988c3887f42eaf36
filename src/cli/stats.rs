//! Small-sample statistics for comparisons: mean and a 95% confidence interval from
//! Student's t distribution.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub mean: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Mean and 95% CI of `samples` (a zero-width interval for a single sample).
pub fn estimate(samples: &[f64]) -> Estimate {
    let n = samples.len();
    if n == 0 {
        return Estimate {
            mean: 0.0,
            ci95_low: 0.0,
            ci95_high: 0.0,
        };
    }
    let mean = samples.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Estimate {
            mean,
            ci95_low: mean,
            ci95_high: mean,
        };
    }
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = T975.get(n - 2).copied().unwrap_or(1.960);
    let half = t * (var / n as f64).sqrt();
    Estimate {
        mean,
        ci95_low: mean - half,
        ci95_high: mean + half,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_matches_a_hand_computed_case() {
        // mean 2, sd 1, n 3: half-width = 4.303 * 1 / sqrt(3)
        let e = estimate(&[1.0, 2.0, 3.0]);
        assert!((e.mean - 2.0).abs() < 1e-12);
        assert!((e.ci95_high - (2.0 + 4.303 / 3f64.sqrt())).abs() < 1e-9);
        assert_eq!(estimate(&[5.0]).ci95_low, 5.0);
    }
}
