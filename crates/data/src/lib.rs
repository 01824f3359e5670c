//! zhixing-data: records become tensors — readers (JSON, JSON Lines, CSV, IDX), schema
//! inference, encoders and scalers fitted on the training split, splits, datasets and
//! mini-batches.

pub mod augment;
pub mod csv_reader;
pub mod dataset;
pub mod encode;
pub mod error;
pub mod fetch;
pub mod images;
pub mod json;
pub mod mnist;
pub mod pipeline;
pub mod records;
pub mod scale;
pub mod schema;
pub mod split;
pub mod text;

pub use augment::{Draw, ImageAugment};
pub use dataset::{Batch, Batches, TensorDataset};
pub use encode::{LabelVocab, OneHotEncoder, OrdinalEncoder};
pub use error::{Error, Result};
pub use fetch::fetch_mnist;
pub use mnist::{read_idx_images, read_idx_labels, Mnist, MnistOptions};
pub use pipeline::{
    class_ids, CategoricalEncoding, FeatureTransform, Features, PipelineOptions, TransformOptions,
};
pub use records::{read_table, Format, ReadOptions, Record, Records, Table, Value};
pub use scale::{Scaler, Scaling};
pub use schema::{
    infer_schema, ColumnKind, ColumnSpec, MissingPolicy, Schema, SchemaOptions, Task,
};
pub use split::{
    kfold, ordered_split, random_split, stratified_kfold, stratified_split, time_order, Fold,
    Split, SplitRatios,
};
pub use text::{tokenize, TextMode, TextOptions, TextVectorizer};
