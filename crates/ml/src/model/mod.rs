//! Saved models.
