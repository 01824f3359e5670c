//! Support vector machines: a C-SVC trained by SMO with LIBSVM's second-order working-set
//! selection (Fan, Chen & Lin, 2005), a least-recently-used cache of kernel rows and
//! optional shrinking — the algorithm behind scikit-learn's `SVC`, so the same `C`,
//! kernel and `tol` give the same support vectors and decision values.
//!
//! Multi-class problems are split **one-vs-rest**: one binary machine per class (class `k`
//! against all others), trained in parallel; the prediction is the class whose machine
//! gives the largest decision value. scikit-learn's `SVC` splits them one-vs-one instead,
//! so multi-class parity comparisons must be made against
//! `OneVsRestClassifier(SVC(...))` (as `scripts/svm_reference.py` does). Two-class
//! problems use a single machine whose positive side is class 1, as `SVC`.
//!
//! ```
//! use zhixing_ml::svm::{Kernel, SvmClassifier, SvmConfig};
//! use zhixing_ml::Estimator;
//! use zhixing_tensor::Tensor;
//!
//! // Two points per class on either side of x = 1.
//! let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 2.0, 2.0, 0.0, 2.0, 2.0], &[4, 2]).unwrap();
//! let y = Tensor::from_vec(vec![0i64, 0, 1, 1], &[4]).unwrap();
//! let mut svm = SvmClassifier::new(SvmConfig {
//!     kernel: Kernel::Linear,
//!     c: 100.0,
//!     ..Default::default()
//! });
//! svm.fit(&x, &y).unwrap();
//! assert!((svm.margin().unwrap()[0] - 2.0).abs() < 1e-3);
//! let p = svm.predict(&Tensor::from_vec(vec![-1.0, 5.0, 3.0, 5.0], &[2, 2]).unwrap()).unwrap();
//! assert_eq!(p.to_vec::<i64>().unwrap(), vec![0, 1]);
//! ```

mod binary;
mod classifier;
pub mod kernel;
mod smo;

use serde::{Deserialize, Serialize};

pub use classifier::SvmClassifier;
pub use kernel::ResolvedKernel;

use crate::error::{Error, Result};

/// The RBF / polynomial kernel coefficient γ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GammaRepr", into = "GammaRepr")]
pub enum Gamma {
    /// `1 / (n_features · Var(X))` over all training values (scikit-learn's default;
    /// 1 when the training values are constant).
    #[default]
    Scale,
    /// `1 / n_features`.
    Auto,
    /// A fixed value (> 0).
    Value(f64),
}

/// How [`Gamma`] is written in configs: `"scale"`, `"auto"` or a number.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum GammaRepr {
    Value(f64),
    Name(String),
}

impl TryFrom<GammaRepr> for Gamma {
    type Error = String;
    fn try_from(r: GammaRepr) -> std::result::Result<Self, String> {
        match r {
            GammaRepr::Value(v) => Ok(Gamma::Value(v)),
            GammaRepr::Name(s) if s == "scale" => Ok(Gamma::Scale),
            GammaRepr::Name(s) if s == "auto" => Ok(Gamma::Auto),
            GammaRepr::Name(s) => Err(format!(
                "gamma must be \"scale\", \"auto\" or a number, got {s:?}"
            )),
        }
    }
}

impl From<Gamma> for GammaRepr {
    fn from(g: Gamma) -> Self {
        match g {
            Gamma::Scale => GammaRepr::Name("scale".into()),
            Gamma::Auto => GammaRepr::Name("auto".into()),
            Gamma::Value(v) => GammaRepr::Value(v),
        }
    }
}

fn three() -> u32 {
    3
}

/// The kernel `K(x, z)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Kernel {
    /// `x·z`: a linear separator, with [`SvmClassifier::coef`] and
    /// [`SvmClassifier::margin`].
    Linear,
    /// `exp(−γ‖x − z‖²)`.
    Rbf {
        #[serde(default)]
        gamma: Gamma,
    },
    /// `(γ·x·z + coef0)^degree`.
    Poly {
        #[serde(default = "three")]
        degree: u32,
        #[serde(default)]
        gamma: Gamma,
        #[serde(default)]
        coef0: f64,
    },
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::Rbf {
            gamma: Gamma::Scale,
        }
    }
}

/// Hyperparameters (scikit-learn's `SVC` names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SvmConfig {
    /// The penalty on margin violations (inverse regularization strength), > 0.
    pub c: f64,
    pub kernel: Kernel,
    /// Stop when the maximal violation of the optimality conditions is below this.
    pub tol: f64,
    /// SMO iterations per binary machine; `None` is LIBSVM's `max(10⁷, 100·n)`.
    pub max_iter: Option<usize>,
    /// Memory for cached kernel rows, in MiB (shared by the machines trained at once).
    pub cache_size: f64,
    /// Take bounded variables out of the working set while solving (faster, same optimum).
    pub shrinking: bool,
    /// Fit Platt scaling (LIBSVM's: sigmoid on 5-fold cross-validated decision values) so
    /// `predict_proba` has probabilities; costs five extra fits per machine.
    pub probability: bool,
    /// Seeds the cross-validation folds of Platt scaling (the only randomness).
    pub seed: u64,
}

impl Default for SvmConfig {
    fn default() -> Self {
        SvmConfig {
            c: 1.0,
            kernel: Kernel::default(),
            tol: 1e-3,
            max_iter: None,
            cache_size: 200.0,
            shrinking: true,
            probability: false,
            seed: 0,
        }
    }
}

const WHAT: &str = "svm";

impl SvmConfig {
    /// Errors, saying what to change, unless every hyperparameter is usable.
    pub fn validate(&self) -> Result<()> {
        if !(self.c > 0.0 && self.c.is_finite()) {
            return Err(Error::invalid(
                WHAT,
                format!(
                    "C must be a finite number > 0 (larger C = less regularization), got {}",
                    self.c
                ),
            ));
        }
        if !(self.tol > 0.0 && self.tol.is_finite()) {
            return Err(Error::invalid(
                WHAT,
                format!("tol must be > 0 (e.g. 1e-3), got {}", self.tol),
            ));
        }
        if self.max_iter == Some(0) {
            return Err(Error::invalid(
                WHAT,
                "max_iter must be at least 1 (leave it unset for no practical limit)",
            ));
        }
        if !(self.cache_size > 0.0 && self.cache_size.is_finite()) {
            return Err(Error::invalid(
                WHAT,
                format!(
                    "cache_size must be > 0 MiB (e.g. 200), got {}",
                    self.cache_size
                ),
            ));
        }
        let gamma = match self.kernel {
            Kernel::Linear => None,
            Kernel::Rbf { gamma } => Some(gamma),
            Kernel::Poly {
                degree,
                gamma,
                coef0,
            } => {
                if degree == 0 || degree > 64 {
                    return Err(Error::invalid(
                        WHAT,
                        format!("the polynomial degree must be in 1..=64, got {degree}"),
                    ));
                }
                if !coef0.is_finite() {
                    return Err(Error::invalid(
                        WHAT,
                        format!("coef0 must be finite, got {coef0}"),
                    ));
                }
                Some(gamma)
            }
        };
        if let Some(Gamma::Value(g)) = gamma {
            if !(g > 0.0 && g.is_finite()) {
                return Err(Error::invalid(
                    WHAT,
                    format!("gamma must be > 0 (or \"scale\" / \"auto\"), got {g}"),
                ));
            }
        }
        Ok(())
    }

    /// The kernel with γ computed from the training matrix `x` (`[n, f]`).
    pub fn resolve_kernel(&self, x: &[f64], f: usize) -> ResolvedKernel {
        let gamma = |g: Gamma| match g {
            Gamma::Value(v) => v,
            Gamma::Auto => 1.0 / f as f64,
            Gamma::Scale => {
                let m = x.len() as f64;
                let mean = x.iter().sum::<f64>() / m;
                let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / m;
                if var > 0.0 {
                    1.0 / (f as f64 * var)
                } else {
                    1.0
                }
            }
        };
        match self.kernel {
            Kernel::Linear => ResolvedKernel::Linear,
            Kernel::Rbf { gamma: g } => ResolvedKernel::Rbf { gamma: gamma(g) },
            Kernel::Poly {
                degree,
                gamma: g,
                coef0,
            } => ResolvedKernel::Poly {
                degree,
                gamma: gamma(g),
                coef0,
            },
        }
    }

    /// The iteration limit for a binary machine on `n` rows.
    fn iteration_limit(&self, n: usize) -> usize {
        self.max_iter
            .unwrap_or_else(|| 10_000_000usize.max(n.saturating_mul(100)))
    }
}
