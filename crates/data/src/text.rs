//! Text columns as bag-of-words counts or TF-IDF, as scikit-learn's `CountVectorizer` and
//! `TfidfVectorizer` with their defaults: lowercase, tokens are runs of two or more word
//! characters (`(?u)\b\w\w+\b`), vocabulary sorted, smooth idf
//! `ln((1 + n) / (1 + df)) + 1`, rows L2-normalized.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Counts or TF-IDF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextMode {
    #[default]
    Tfidf,
    Counts,
}

/// Vocabulary limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextOptions {
    pub mode: TextMode,
    /// Keep at most this many words, the most frequent over the training texts (ties:
    /// alphabetical order).
    pub max_features: Option<usize>,
    /// Keep words found in at least this many training texts.
    pub min_df: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            mode: TextMode::Tfidf,
            max_features: Some(1000),
            min_df: 1,
        }
    }
}

/// Lowercase words of two or more word characters (letters, digits, `_`).
pub fn tokenize(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut len = 0usize;
    for c in lower.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c);
            len += 1;
        } else {
            if len >= 2 {
                out.push(std::mem::take(&mut cur));
            } else {
                cur.clear();
            }
            len = 0;
        }
    }
    out
}

/// A fitted vocabulary (sorted) and, for TF-IDF, each word's idf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextVectorizer {
    pub mode: TextMode,
    pub vocabulary: Vec<String>,
    /// Empty for counts.
    pub idf: Vec<f64>,
}

impl TextVectorizer {
    pub fn fit<'a>(docs: impl IntoIterator<Item = &'a str>, opts: &TextOptions) -> Self {
        let mut df: BTreeMap<String, usize> = BTreeMap::new();
        let mut tf: HashMap<String, usize> = HashMap::new();
        let mut n = 0usize;
        for doc in docs {
            n += 1;
            let mut toks = tokenize(doc);
            for t in &toks {
                *tf.entry(t.clone()).or_default() += 1;
            }
            toks.sort();
            toks.dedup();
            for t in toks {
                *df.entry(t).or_default() += 1;
            }
        }
        let mut words: Vec<(String, usize)> = df
            .into_iter()
            .filter(|(_, d)| *d >= opts.min_df.max(1))
            .collect();
        if let Some(limit) = opts.max_features {
            if words.len() > limit {
                let mut by_tf: Vec<&(String, usize)> = words.iter().collect();
                by_tf.sort_by(|a, b| {
                    let (ta, tb) = (tf.get(&a.0).copied(), tf.get(&b.0).copied());
                    tb.cmp(&ta).then_with(|| a.0.cmp(&b.0))
                });
                let keep: std::collections::HashSet<String> =
                    by_tf.iter().take(limit).map(|w| w.0.clone()).collect();
                words.retain(|w| keep.contains(&w.0));
            }
        }
        let idf = match opts.mode {
            TextMode::Counts => Vec::new(),
            TextMode::Tfidf => words
                .iter()
                .map(|(_, d)| ((1.0 + n as f64) / (1.0 + *d as f64)).ln() + 1.0)
                .collect(),
        };
        TextVectorizer {
            mode: opts.mode,
            vocabulary: words.into_iter().map(|(w, _)| w).collect(),
            idf,
        }
    }

    pub fn width(&self) -> usize {
        self.vocabulary.len()
    }

    /// Writes the text's counts or L2-normalized TF-IDF into `out` (length
    /// [`Self::width`]); words outside the vocabulary are ignored.
    pub fn encode_into(&self, text: &str, out: &mut [f64]) {
        out.iter_mut().for_each(|x| *x = 0.0);
        for t in tokenize(text) {
            if let Ok(i) = self.vocabulary.binary_search(&t) {
                if let Some(x) = out.get_mut(i) {
                    *x += 1.0;
                }
            }
        }
        if self.mode == TextMode::Tfidf {
            for (x, idf) in out.iter_mut().zip(&self.idf) {
                *x *= idf;
            }
            let norm = out.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                out.iter_mut().for_each(|x| *x /= norm);
            }
        }
    }

    /// `column:word` names, one per output.
    pub fn feature_names(&self, column: &str) -> Vec<String> {
        self.vocabulary
            .iter()
            .map(|w| format!("{column}:{w}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_lowercase_words_of_two_or_more() {
        assert_eq!(
            tokenize("A cat's X-ray, 42 times_2!"),
            vec!["cat", "ray", "42", "times_2"]
        );
    }
}
