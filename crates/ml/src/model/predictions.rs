//! Predictions of a model on records, written as one JSON object per record:
//! `{"prediction": "buy", "probabilities": {"buy": 0.91, "skip": 0.09}}` for classifiers,
//! `{"prediction": 151.3}` for regressors.

use serde_json::{json, Map, Value};
use zhixing_data::pipeline::Features;
use zhixing_data::records::Table;

use super::TabularModel;
use crate::error::Result;
use crate::estimator::{class_ids, values};

/// One prediction per kept row of a table, in table order.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    /// The table row and source line of each prediction.
    pub rows: Vec<usize>,
    pub lines: Vec<u64>,
    /// Class labels in class-id order (empty for regression).
    pub classes: Vec<String>,
    /// Predicted class ids (classification).
    pub labels: Vec<usize>,
    /// Predicted values (regression).
    pub values: Vec<f64>,
    /// Row-major `[rows, classes]` probabilities, when the model has them.
    pub probabilities: Option<Vec<f64>>,
    /// Rows left out as bad (only with skip_bad_rows), and the first errors.
    pub skipped: usize,
    pub warnings: Vec<String>,
}

impl Predictions {
    pub(crate) fn new(model: &TabularModel, table: &Table, f: &Features) -> Result<Predictions> {
        let classes = model.classes().to_vec();
        let (mut labels, mut vals, mut probabilities) = (Vec::new(), Vec::new(), None);
        if !f.rows.is_empty() {
            let pred = model.estimator.predict(&f.x)?;
            if model.task().is_classification() {
                labels = class_ids(&pred, "predict")?;
                if let Some(p) = model.estimator.predict_proba(&f.x)? {
                    probabilities = Some(p.contiguous()?.to_vec::<f64>()?);
                }
            } else {
                vals = values(&pred, "predict")?;
            }
        }
        Ok(Predictions {
            lines: f
                .rows
                .iter()
                .map(|&r| table.lines.get(r).copied().unwrap_or(0))
                .collect(),
            rows: f.rows.clone(),
            classes,
            labels,
            values: vals,
            probabilities,
            skipped: f.skipped,
            warnings: f.warnings.clone(),
        })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The predicted label of row `i` as JSON: a number when every class label is one.
    fn label_json(&self, c: usize) -> Value {
        let label = &self.classes[c];
        let numeric = self.classes.iter().all(|l| l.parse::<f64>().is_ok());
        match label.parse::<f64>() {
            Ok(x) if numeric => json!(x),
            _ => json!(label),
        }
    }

    /// The `i`-th prediction as a JSON object.
    pub fn json(&self, i: usize) -> Value {
        if self.classes.is_empty() {
            return json!({ "prediction": self.values[i] });
        }
        let mut obj = Map::new();
        obj.insert("prediction".into(), self.label_json(self.labels[i]));
        if let Some(p) = &self.probabilities {
            let k = self.classes.len();
            let probs: Map<String, Value> = self
                .classes
                .iter()
                .zip(&p[i * k..(i + 1) * k])
                .map(|(c, v)| (c.clone(), json!(v)))
                .collect();
            obj.insert("probabilities".into(), Value::Object(probs));
        }
        Value::Object(obj)
    }

    /// Every prediction, one JSON object per line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for i in 0..self.len() {
            out.push_str(&self.json(i).to_string());
            out.push('\n');
        }
        out
    }
}
