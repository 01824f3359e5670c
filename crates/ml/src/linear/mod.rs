//! Linear models: least squares (ordinary and ridge) and logistic regression, with the
//! L-BFGS minimizer they share.

pub mod lbfgs;
mod logistic;
mod regression;

pub(crate) use logistic::argmax;
pub use logistic::{LogisticConfig, LogisticRegression, Penalty};
pub use regression::{LinearConfig, LinearRegression};
