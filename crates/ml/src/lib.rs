//! zhixing-ml: classical machine learning — evaluation metrics and descriptive statistics
//! (the estimators build on these).
//!
//! ```
//! use zhixing_ml::{metrics, stats};
//! let acc = metrics::accuracy(&["a", "b", "b"], &["a", "b", "a"]).unwrap();
//! assert!((acc - 2.0 / 3.0).abs() < 1e-12);
//! let q = stats::quantile(&[1.0, 2.0, 3.0, 4.0], 0.5).unwrap();
//! assert_eq!(q, 2.5);
//! ```

pub mod error;
pub mod metrics;
pub mod stats;

pub use error::{Error, Result};
