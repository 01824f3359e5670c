//! The fitted feature transform: records → an f32 `[N, F]` tensor and a target tensor.
//! Fitted on the training rows only, serializable, so `predict` sees what `train` saw.
//!
//! ```no_run
//! use zhixing_data::{pipeline::*, records::*, schema::*, split::*};
//! let table = read_table("data/customers.jsonl", &ReadOptions::default()).unwrap();
//! let schema = infer_schema(&table, &SchemaOptions::new("label")).unwrap();
//! let labels = class_ids(&table, &schema).unwrap();
//! let split = stratified_split(&labels, SplitRatios::default(), 42).unwrap();
//! let ft = FeatureTransform::fit(&table, &schema, &split.train, &PipelineOptions::default()).unwrap();
//! let train = ft.transform_rows(&table, &split.train, &TransformOptions::default()).unwrap();
//! println!("{:?} {:?}", train.x.shape(), ft.feature_names);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use crate::encode::{LabelVocab, OneHotEncoder, OrdinalEncoder};
use crate::records::{format_number, Table, Value};
use crate::scale::{Scaler, Scaling};
use crate::schema::{ColumnKind, MissingPolicy, Schema, Task};
use crate::text::{TextOptions, TextVectorizer};
use crate::{Error, Result};

/// How categorical columns are encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoricalEncoding {
    #[default]
    OneHot,
    Ordinal,
}

/// Choices for fitting a [`FeatureTransform`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineOptions {
    /// Applied to numeric columns (booleans stay 0/1, encodings stay as they are).
    pub scaling: Scaling,
    pub categorical: CategoricalEncoding,
    pub text: TextOptions,
}

/// One column's fitted step. `fill` is the imputed value (`None`: zeros or an error, by
/// the column's policy).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Numeric {
        fill: Option<f64>,
        scaler: Scaler,
    },
    Boolean {
        fill: Option<f64>,
    },
    OneHot {
        encoder: OneHotEncoder,
        fill: Option<String>,
    },
    Ordinal {
        encoder: OrdinalEncoder,
        fill: Option<String>,
    },
    Text {
        vectorizer: TextVectorizer,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnTransform {
    pub name: String,
    pub missing: MissingPolicy,
    pub step: Step,
}

impl ColumnTransform {
    pub fn width(&self) -> usize {
        match &self.step {
            Step::Numeric { .. } | Step::Boolean { .. } | Step::Ordinal { .. } => 1,
            Step::OneHot { encoder, .. } => encoder.width(),
            Step::Text { vectorizer } => vectorizer.width(),
        }
    }
}

/// How the target becomes a tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetEncoding {
    /// i64 class ids `[N]`.
    Classes(LabelVocab),
    /// f32 values `[N]`.
    Regression,
}

/// The fitted transform, saved with a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureTransform {
    pub schema: Schema,
    pub options: PipelineOptions,
    pub columns: Vec<ColumnTransform>,
    pub target: TargetEncoding,
    /// One name per output feature: `age`, `channel=web`, `review:great`.
    pub feature_names: Vec<String>,
}

/// Choices for [`FeatureTransform::transform`].
#[derive(Clone, Copy, Debug, Default)]
pub struct TransformOptions {
    /// Skip rows with a bad value (counted in [`Features::skipped`]) instead of failing.
    pub skip_bad_rows: bool,
    /// Fail when the table has no target column (off: `y` is `None` then).
    pub require_target: bool,
}

/// Transformed rows.
#[derive(Clone, Debug)]
pub struct Features {
    /// f32 `[N, F]`.
    pub x: Tensor,
    /// i64 class ids or f32 values, `[N]`; `None` when the table has no target column.
    pub y: Option<Tensor>,
    /// The table row of each output row.
    pub rows: Vec<usize>,
    pub feature_names: Vec<String>,
    /// Per column: values whose category was not seen in training.
    pub unseen: BTreeMap<String, usize>,
    /// Per column: missing values filled by the column's policy.
    pub imputed: BTreeMap<String, usize>,
    pub skipped: usize,
    /// The first skipped rows' errors, absent columns, unseen-category counts.
    pub warnings: Vec<String>,
}

/// The class id of every row (for stratified splits); a missing or unknown label is an
/// error naming its line. Regression schemas are an error.
pub fn class_ids(table: &Table, schema: &Schema) -> Result<Vec<usize>> {
    let vocab = LabelVocab {
        classes: schema.classes.clone(),
    };
    if !schema.task.is_classification() {
        return Err(Error::Invalid(
            "class ids need a classification target".into(),
        ));
    }
    (0..table.len())
        .map(|i| class_of(table, i, &schema.target, &vocab))
        .collect()
}

fn class_of(table: &Table, i: usize, target: &str, vocab: &LabelVocab) -> Result<usize> {
    let v = table.get(i, target);
    let label =
        label_text(v).ok_or_else(|| table.row_error(i, Some(target), "missing target value"))?;
    vocab.id(&label).ok_or_else(|| {
        table.row_error(
            i,
            Some(target),
            format!(
                "unknown class `{label}` (known: {})",
                vocab.classes.join(", ")
            ),
        )
    })
}

fn label_text(v: &Value) -> Option<String> {
    if v.is_missing() {
        return None;
    }
    match v.as_f64() {
        Some(x) if !matches!(v, Value::Bool(_)) => Some(format_number(x)),
        _ => v.as_text(),
    }
}

fn number_of(table: &Table, i: usize, col: &str, v: &Value) -> Result<f64> {
    v.as_f64().ok_or_else(|| {
        table.row_error(
            i,
            Some(col),
            format!("expected a number, found {}", v.describe()),
        )
    })
}

fn bool_of(table: &Table, i: usize, col: &str, v: &Value) -> Result<f64> {
    match (v.as_bool(), v.as_f64()) {
        (Some(b), _) => Ok(f64::from(u8::from(b))),
        (None, Some(x)) if x == 0.0 || x == 1.0 => Ok(x),
        _ => Err(table.row_error(
            i,
            Some(col),
            format!("expected a boolean, found {}", v.describe()),
        )),
    }
}

fn median(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let m = xs.len() / 2;
    Some(if xs.len().is_multiple_of(2) {
        (xs[m - 1] + xs[m]) / 2.0
    } else {
        xs[m]
    })
}

/// The most frequent item (ties: the smallest).
fn mode<T: Ord + Clone>(items: impl IntoIterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for it in items {
        *counts.entry(it).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|(_, c)| *c == best).map(|(k, _)| k)
}

fn numeric_fill(policy: MissingPolicy, xs: &[f64]) -> Option<f64> {
    match policy {
        MissingPolicy::Mean if !xs.is_empty() => Some(xs.iter().sum::<f64>() / xs.len() as f64),
        MissingPolicy::Median => median(&mut xs.to_vec()),
        MissingPolicy::MostFrequent => {
            let mut s = xs.to_vec();
            s.sort_by(f64::total_cmp);
            let mut best: Option<(f64, usize)> = None;
            for run in s.chunk_by(|a, b| a == b) {
                if best.is_none_or(|(_, n)| run.len() > n) {
                    best = Some((run[0], run.len()));
                }
            }
            best.map(|(x, _)| x)
        }
        _ => None,
    }
}

impl FeatureTransform {
    /// Fits every column's step on the rows `train` of `table` only. A wrong type in a
    /// training row, or a missing value under the `error` policy, is an error naming the
    /// file, line and column.
    pub fn fit(
        table: &Table,
        schema: &Schema,
        train: &[usize],
        opts: &PipelineOptions,
    ) -> Result<Self> {
        if train.is_empty() {
            return Err(Error::Invalid(
                "cannot fit on an empty training split".into(),
            ));
        }
        let mut columns = Vec::new();
        let mut names = Vec::new();
        for spec in schema.features() {
            let col = spec.name.as_str();
            let values: Vec<(usize, &Value)> =
                train.iter().map(|&i| (i, table.get(i, col))).collect();
            let present = values.iter().filter(|(_, v)| !v.is_missing());
            if spec.missing == MissingPolicy::Error {
                if let Some((i, _)) = values.iter().find(|(_, v)| v.is_missing()) {
                    return Err(missing_error(table, *i, col));
                }
            }
            let step = match spec.kind {
                ColumnKind::Numeric | ColumnKind::Boolean => {
                    let is_bool = spec.kind == ColumnKind::Boolean;
                    let xs = present
                        .map(|(i, v)| {
                            if is_bool {
                                bool_of(table, *i, col, v)
                            } else {
                                number_of(table, *i, col, v)
                            }
                        })
                        .collect::<Result<Vec<f64>>>()?;
                    let fill = numeric_fill(spec.missing, &xs);
                    if is_bool {
                        Step::Boolean { fill }
                    } else {
                        let mut all = xs.clone();
                        if let Some(f) = fill {
                            all.resize(xs.len() + (values.len() - xs.len()), f);
                        }
                        Step::Numeric {
                            fill,
                            scaler: Scaler::fit(opts.scaling, &all),
                        }
                    }
                }
                ColumnKind::Categorical => {
                    let cats: Vec<String> = present.filter_map(|(_, v)| v.as_text()).collect();
                    let fill = match spec.missing {
                        MissingPolicy::MostFrequent => mode(cats.iter().cloned()),
                        _ => None,
                    };
                    let refs = cats.iter().map(String::as_str);
                    match opts.categorical {
                        CategoricalEncoding::OneHot => Step::OneHot {
                            encoder: OneHotEncoder::fit(refs),
                            fill,
                        },
                        CategoricalEncoding::Ordinal => Step::Ordinal {
                            encoder: OrdinalEncoder::fit(refs),
                            fill,
                        },
                    }
                }
                ColumnKind::Text => {
                    let docs: Vec<String> = values
                        .iter()
                        .map(|(_, v)| v.as_text().unwrap_or_default())
                        .collect();
                    Step::Text {
                        vectorizer: TextVectorizer::fit(
                            docs.iter().map(String::as_str),
                            &opts.text,
                        ),
                    }
                }
                ColumnKind::Identifier | ColumnKind::Ignore => continue,
            };
            let ct = ColumnTransform {
                name: spec.name.clone(),
                missing: spec.missing,
                step,
            };
            match &ct.step {
                Step::OneHot { encoder, .. } => names.extend(encoder.feature_names(col)),
                Step::Text { vectorizer } => names.extend(vectorizer.feature_names(col)),
                _ => names.push(spec.name.clone()),
            }
            columns.push(ct);
        }
        let target = match schema.task {
            Task::Regression => TargetEncoding::Regression,
            _ => TargetEncoding::Classes(LabelVocab {
                classes: schema.classes.clone(),
            }),
        };
        Ok(FeatureTransform {
            schema: schema.clone(),
            options: opts.clone(),
            columns,
            target,
            feature_names: names,
        })
    }

    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    pub fn task(&self) -> Task {
        self.schema.task
    }

    /// The class labels (empty for regression).
    pub fn classes(&self) -> &[String] {
        match &self.target {
            TargetEncoding::Classes(v) => &v.classes,
            TargetEncoding::Regression => &[],
        }
    }

    /// Transforms every row of `table`.
    pub fn transform(&self, table: &Table, opts: &TransformOptions) -> Result<Features> {
        let rows: Vec<usize> = (0..table.len()).collect();
        self.transform_rows(table, &rows, opts)
    }

    /// Transforms the rows `rows` of `table` with the fitted statistics.
    pub fn transform_rows(
        &self,
        table: &Table,
        rows: &[usize],
        opts: &TransformOptions,
    ) -> Result<Features> {
        let width = self.n_features();
        let has_target = table.column_index(&self.schema.target).is_some();
        if opts.require_target && !has_target {
            return Err(Error::format(
                &table.source,
                format!("unknown target column `{}`", self.schema.target),
            ));
        }
        let mut out = Features {
            x: Tensor::from_vec(Vec::<f32>::new(), &[0, width])?,
            y: None,
            rows: Vec::with_capacity(rows.len()),
            feature_names: self.feature_names.clone(),
            unseen: BTreeMap::new(),
            imputed: BTreeMap::new(),
            skipped: 0,
            warnings: Vec::new(),
        };
        // Column positions resolved once per call: a lookup per value is O(columns) and
        // made a 784-column row cost milliseconds.
        let lookup: std::collections::HashMap<&str, usize> = table
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| (c.as_str(), j))
            .collect();
        let idx: Vec<Option<usize>> = self
            .columns
            .iter()
            .map(|c| lookup.get(c.name.as_str()).copied())
            .collect();
        for (c, j) in self.columns.iter().zip(&idx) {
            if j.is_none() {
                out.warnings.push(format!(
                    "{}: column `{}` is absent: every value is missing ({})",
                    table.source.display(),
                    c.name,
                    c.missing.name()
                ));
            }
        }
        let mut x: Vec<f32> = Vec::with_capacity(rows.len() * width);
        let (mut ids, mut ys) = (Vec::<i64>::new(), Vec::<f32>::new());
        let mut buf = vec![0.0f64; width];
        for &i in rows {
            if i >= table.len() {
                return Err(Error::Invalid(format!(
                    "row {i} is out of range ({} rows)",
                    table.len()
                )));
            }
            let res = self
                .row_into(table, i, &idx, &mut buf, &mut out)
                .and_then(|()| {
                    if !has_target {
                        return Ok(None);
                    }
                    self.target_of(table, i).map(Some)
                });
            match res {
                Ok(t) => {
                    x.extend(buf.iter().map(|&v| v as f32));
                    match t {
                        Some(Ok(id)) => ids.push(id as i64),
                        Some(Err(y)) => ys.push(y as f32),
                        None => {}
                    }
                    out.rows.push(i);
                }
                Err(e @ Error::Record { .. }) if opts.skip_bad_rows => {
                    out.skipped += 1;
                    if out.skipped <= 5 {
                        out.warnings.push(format!("skipped: {e}"));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if out.skipped > 0 {
            out.warnings.push(format!(
                "{}: skipped {} bad row(s)",
                table.source.display(),
                out.skipped
            ));
        }
        for (col, n) in &out.unseen {
            out.warnings.push(format!(
                "column `{col}`: {n} value(s) of a category unseen in training → zeros"
            ));
        }
        let n = out.rows.len();
        out.x = Tensor::from_vec(x, &[n, width])?;
        if has_target {
            out.y = Some(match self.target {
                TargetEncoding::Classes(_) => Tensor::from_vec(ids, &[n])?,
                TargetEncoding::Regression => Tensor::from_vec(ys, &[n])?,
            });
        }
        Ok(out)
    }

    /// Ok(class id) or Err(regression value), wrapped in the row's result.
    fn target_of(&self, table: &Table, i: usize) -> Result<std::result::Result<usize, f64>> {
        let target = &self.schema.target;
        match &self.target {
            TargetEncoding::Classes(vocab) => class_of(table, i, target, vocab).map(Ok),
            TargetEncoding::Regression => {
                let v = table.get(i, target);
                if v.is_missing() {
                    return Err(table.row_error(i, Some(target), "missing target value"));
                }
                number_of(table, i, target, v).map(Err)
            }
        }
    }

    fn row_into(
        &self,
        table: &Table,
        i: usize,
        idx: &[Option<usize>],
        buf: &mut [f64],
        out: &mut Features,
    ) -> Result<()> {
        let mut pos = 0;
        for (c, j) in self.columns.iter().zip(idx) {
            let w = c.width();
            let slot = &mut buf[pos..pos + w];
            pos += w;
            let col = c.name.as_str();
            let v = j
                .and_then(|j| table.rows[i].get(j))
                .unwrap_or(&Value::Missing);
            let missing = v.is_missing();
            if missing {
                if c.missing == MissingPolicy::Error {
                    return Err(missing_error(table, i, col));
                }
                *out.imputed.entry(c.name.clone()).or_default() += 1;
            }
            match &c.step {
                Step::Numeric { fill, scaler } => {
                    let x = if missing {
                        fill.unwrap_or(0.0)
                    } else {
                        number_of(table, i, col, v)?
                    };
                    slot[0] = if missing && fill.is_none() {
                        0.0
                    } else {
                        scaler.apply(x)
                    };
                }
                Step::Boolean { fill } => {
                    slot[0] = if missing {
                        fill.unwrap_or(0.0)
                    } else {
                        bool_of(table, i, col, v)?
                    };
                }
                Step::OneHot { encoder, fill } => {
                    let s = if missing { fill.clone() } else { v.as_text() };
                    if !encoder.encode_into(s.as_deref(), slot) {
                        *out.unseen.entry(c.name.clone()).or_default() += 1;
                    }
                }
                Step::Ordinal { encoder, fill } => {
                    let s = if missing { fill.clone() } else { v.as_text() };
                    let (code, seen) = match s {
                        Some(s) => encoder.encode(&s),
                        None => (encoder.unknown_index(), true),
                    };
                    if !seen {
                        *out.unseen.entry(c.name.clone()).or_default() += 1;
                    }
                    slot[0] = code as f64;
                }
                Step::Text { vectorizer } => {
                    vectorizer.encode_into(&v.as_text().unwrap_or_default(), slot);
                }
            }
        }
        Ok(())
    }

    /// JSON text of the fitted transform (to save inside a model file).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| Error::Invalid(format!("cannot serialize the transform: {e}")))
    }

    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("not a saved feature transform: {e}")))
    }
}

fn missing_error(table: &Table, i: usize, col: &str) -> Error {
    table.row_error(
        i,
        Some(col),
        "missing value (this column's missing-value policy is `error`)",
    )
}
