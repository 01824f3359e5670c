//! Polynomial features (all monomials of the inputs up to a degree, in scikit-learn's
//! `PolynomialFeatures` order, without the bias column) and polynomial regression: least
//! squares (or ridge) on those features.

use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use super::regression::{LinearConfig, LinearRegression};
use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, EstimatorKind, Parts};

const WHAT: &str = "polynomial features";

/// The exponent lists of every monomial of `n` variables with total degree 1..=`degree`,
/// ordered by degree, then lexicographically by variable index (`x0, x1, x0², x0x1, x1²`).
pub fn monomials(n: usize, degree: usize, interaction_only: bool) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for d in 1..=degree {
        // Non-decreasing index tuples of length d.
        let mut idx = vec![0usize; d];
        loop {
            let distinct = idx.windows(2).all(|w| w[0] != w[1]);
            if !interaction_only || distinct {
                out.push(idx.clone());
            }
            // Next non-decreasing tuple.
            let mut k = d;
            while k > 0 && idx[k - 1] == n - 1 {
                k -= 1;
            }
            if k == 0 {
                break;
            }
            idx[k - 1] += 1;
            let v = idx[k - 1];
            idx[k..].iter_mut().for_each(|x| *x = v);
        }
    }
    out
}

/// Expands `x` `[N, F]` into its monomials `[N, M]` (f64).
pub fn polynomial_features(x: &Tensor, degree: usize, interaction_only: bool) -> Result<Tensor> {
    if degree == 0 {
        return Err(Error::invalid(WHAT, "degree must be ≥ 1"));
    }
    let (data, n, f) = estimator::matrix(x, WHAT)?;
    let terms = monomials(f, degree, interaction_only);
    let m = terms.len();
    let mut out = Vec::with_capacity(n * m);
    for row in data.chunks(f) {
        out.extend(
            terms
                .iter()
                .map(|t| t.iter().map(|&j| row[j]).product::<f64>()),
        );
    }
    Ok(Tensor::from_vec(out, &[n, m])?)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolynomialConfig {
    pub degree: usize,
    pub interaction_only: bool,
    /// Ridge penalty on the expanded features (0: ordinary least squares).
    pub alpha: f64,
}

impl Default for PolynomialConfig {
    fn default() -> Self {
        PolynomialConfig {
            degree: 2,
            interaction_only: false,
            alpha: 0.0,
        }
    }
}

/// Least squares on polynomial features.
#[derive(Clone, Debug, Default)]
pub struct PolynomialRegression {
    pub config: PolynomialConfig,
    inner: LinearRegression,
}

impl PolynomialRegression {
    pub fn new(config: PolynomialConfig) -> Self {
        let inner = LinearRegression::new(LinearConfig::ridge(config.alpha));
        PolynomialRegression { config, inner }
    }

    /// The weights of the expanded features, in [`monomials`] order.
    pub fn coef(&self) -> &[f64] {
        self.inner.coef()
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let config: PolynomialConfig =
            serde_json::from_value(parts.params["polynomial"].clone())
                .map_err(|e| Error::invalid(WHAT, format!("unreadable saved parameters: {e}")))?;
        let inner_parts = Parts {
            params: parts.params["linear"].clone(),
            tensors: parts.tensors.clone(),
        };
        Ok(PolynomialRegression {
            config,
            inner: LinearRegression::from_parts(&inner_parts)?,
        })
    }

    fn expand(&self, x: &Tensor) -> Result<Tensor> {
        polynomial_features(x, self.config.degree, self.config.interaction_only)
    }
}

impl Estimator for PolynomialRegression {
    fn name(&self) -> &'static str {
        "polynomial"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Regressor
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        self.inner = LinearRegression::new(LinearConfig::ridge(self.config.alpha));
        self.inner.fit(&self.expand(x)?, y)
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.inner.predict(&self.expand(x)?)
    }

    fn to_parts(&self) -> Result<Parts> {
        let inner = self.inner.to_parts()?;
        Ok(Parts {
            params: serde_json::json!({
                "polynomial": estimator::params_to(&self.config, WHAT)?,
                "linear": inner.params,
            }),
            tensors: inner.tensors,
        })
    }
}
