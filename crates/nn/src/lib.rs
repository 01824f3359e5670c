//! zhixing-nn: modules and layers, losses, initializers, optimizers, learning-rate
//! schedules and the `Trainer` that drives every neural model.

pub mod clip;
pub mod error;
pub mod init;
pub mod layers;
pub mod loss;
pub mod module;
pub mod optim;
pub mod schedule;
pub mod state;
pub mod trainer;

pub use error::{Error, Result};
pub use module::Module;
