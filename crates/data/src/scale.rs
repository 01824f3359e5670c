//! Scalers fitted on training values: z-score standardization (population standard
//! deviation, as scikit-learn's `StandardScaler`) and min-max normalization to [0, 1]
//! (as `MinMaxScaler`). A constant column gets scale 1, as in scikit-learn.

use serde::{Deserialize, Serialize};

/// How numeric columns are scaled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    #[default]
    Standard,
    MinMax,
    None,
}

/// `x → (x - offset) / scale`, fitted per column.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub offset: f64,
    pub scale: f64,
}

impl Scaler {
    pub const IDENTITY: Scaler = Scaler {
        offset: 0.0,
        scale: 1.0,
    };

    pub fn fit(kind: Scaling, values: &[f64]) -> Scaler {
        match kind {
            Scaling::Standard => Self::standard(values),
            Scaling::MinMax => Self::min_max(values),
            Scaling::None => Self::IDENTITY,
        }
    }

    /// Mean and population standard deviation (1 when it is 0 or there are no values).
    pub fn standard(values: &[f64]) -> Scaler {
        if values.is_empty() {
            return Self::IDENTITY;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let std = var.sqrt();
        Scaler {
            offset: mean,
            scale: if std > 10.0 * f64::EPSILON * mean.abs().max(1.0) {
                std
            } else {
                1.0
            },
        }
    }

    /// Minimum and range (1 when the range is 0 or there are no values).
    pub fn min_max(values: &[f64]) -> Scaler {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !min.is_finite() || !max.is_finite() {
            return Self::IDENTITY;
        }
        let range = max - min;
        Scaler {
            offset: min,
            scale: if range > 0.0 { range } else { 1.0 },
        }
    }

    pub fn apply(&self, x: f64) -> f64 {
        (x - self.offset) / self.scale
    }

    pub fn invert(&self, y: f64) -> f64 {
        y * self.scale + self.offset
    }
}
