//! The Trainer: one loop for every neural model.
