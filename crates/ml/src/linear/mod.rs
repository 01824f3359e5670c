//! Linear models: least squares (ordinary and ridge), lasso and elastic net, polynomial
//! regression, and logistic regression, with the L-BFGS / OWL-QN minimizer.

mod elastic_net;
mod gradient_descent;
pub mod lbfgs;
mod logistic;
mod polynomial;
mod regression;

pub use elastic_net::{ElasticNet, ElasticNetConfig};
pub use logistic::{LogisticConfig, LogisticRegression, Penalty};
pub use polynomial::{monomials, polynomial_features, PolynomialConfig, PolynomialRegression};
pub use regression::{LinearConfig, LinearRegression, LinearSolver, GD_AUTO_ELEMENTS};
