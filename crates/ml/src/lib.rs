//! zhixing-ml: classical machine learning — estimators behind one API ([`Estimator`]),
//! evaluation metrics, descriptive statistics, and the saved tabular model that the CLI's
//! `train` / `eval` / `predict` and the server use.
//!
//! ```
//! use zhixing_ml::{metrics, stats};
//! let acc = metrics::accuracy(&["a", "b", "b"], &["a", "b", "a"]).unwrap();
//! assert!((acc - 2.0 / 3.0).abs() < 1e-12);
//! let q = stats::quantile(&[1.0, 2.0, 3.0, 4.0], 0.5).unwrap();
//! assert_eq!(q, 2.5);
//! ```

pub mod cluster;
pub mod decomposition;
pub mod error;
pub mod estimator;
pub mod linear;
pub mod metrics;
pub mod model;
pub mod naive_bayes;
pub mod neighbors;
pub mod neural;
pub mod plot;
pub mod stats;
pub mod svm;
pub mod tree;
pub mod vision;

pub use error::{Error, Result};
pub use estimator::{Estimator, EstimatorKind, Parts};
