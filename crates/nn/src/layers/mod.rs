//! Layers: plain structs built from config structs.
