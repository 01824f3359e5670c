//! Category encoders fitted on training values: one-hot and ordinal. Categories are kept
//! sorted (as scikit-learn's `OneHotEncoder` and `OrdinalEncoder` sort them).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// One output column per training category; an unseen category encodes as all zeros.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneHotEncoder {
    pub categories: Vec<String>,
}

impl OneHotEncoder {
    /// The sorted distinct categories of `values`.
    pub fn fit<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let set: BTreeSet<&str> = values.into_iter().collect();
        OneHotEncoder {
            categories: set.into_iter().map(str::to_string).collect(),
        }
    }

    pub fn width(&self) -> usize {
        self.categories.len()
    }

    /// The category's position, `None` when it was not seen in training.
    pub fn index(&self, value: &str) -> Option<usize> {
        self.categories
            .binary_search_by(|c| c.as_str().cmp(value))
            .ok()
    }

    /// Writes the one-hot code of `value` into `out` (length [`Self::width`]); returns
    /// false (and writes zeros) for an unseen category.
    pub fn encode_into(&self, value: Option<&str>, out: &mut [f64]) -> bool {
        out.iter_mut().for_each(|x| *x = 0.0);
        match value.map(|v| self.index(v)) {
            Some(Some(i)) => {
                if let Some(x) = out.get_mut(i) {
                    *x = 1.0;
                }
                true
            }
            Some(None) => false,
            None => true,
        }
    }

    /// `column=category` names, one per output.
    pub fn feature_names(&self, column: &str) -> Vec<String> {
        self.categories
            .iter()
            .map(|c| format!("{column}={c}"))
            .collect()
    }
}

/// One output column holding the category's index; an unseen category gets the reserved
/// index `categories.len()`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrdinalEncoder {
    pub categories: Vec<String>,
}

impl OrdinalEncoder {
    pub fn fit<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        OrdinalEncoder {
            categories: OneHotEncoder::fit(values).categories,
        }
    }

    /// The index reserved for categories unseen in training.
    pub fn unknown_index(&self) -> usize {
        self.categories.len()
    }

    /// The code of `value` and whether it was seen in training.
    pub fn encode(&self, value: &str) -> (usize, bool) {
        match self.categories.binary_search_by(|c| c.as_str().cmp(value)) {
            Ok(i) => (i, true),
            Err(_) => (self.unknown_index(), false),
        }
    }
}

/// Class labels ↔ class ids for a classification target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelVocab {
    pub classes: Vec<String>,
}

impl LabelVocab {
    pub fn id(&self, label: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == label)
    }

    pub fn label(&self, id: usize) -> Option<&str> {
        self.classes.get(id).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}
