//! Schema inference: what each column is, how its missing values are handled, and what the
//! task is — every choice overridable and stated in `notices`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::records::{Table, Value};
use crate::{Error, Result};

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Numeric,
    Boolean,
    /// Strings with few distinct values.
    Categorical,
    /// Free text (tokenized into words).
    Text,
    /// Unique strings, or increasing integers named like an id: dropped.
    Identifier,
    /// Dropped (all values missing, or the user asked).
    Ignore,
}

impl ColumnKind {
    pub fn is_feature(self) -> bool {
        !matches!(self, ColumnKind::Identifier | ColumnKind::Ignore)
    }
    pub fn name(self) -> &'static str {
        match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Boolean => "boolean",
            ColumnKind::Categorical => "categorical",
            ColumnKind::Text => "text",
            ColumnKind::Identifier => "identifier",
            ColumnKind::Ignore => "ignored",
        }
    }
}

/// What to do with a missing value (null, absent key, empty cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingPolicy {
    /// The training split's mean (numeric and boolean columns).
    Mean,
    /// The training split's median (numeric and boolean columns).
    Median,
    /// The training split's most frequent value (ties: the smallest).
    MostFrequent,
    /// All-zero features (text: an empty document; categorical: no category).
    Zeros,
    /// An error naming the file, line and column.
    Error,
}

impl MissingPolicy {
    pub fn name(self) -> &'static str {
        match self {
            MissingPolicy::Mean => "impute mean",
            MissingPolicy::Median => "impute median",
            MissingPolicy::MostFrequent => "impute most frequent",
            MissingPolicy::Zeros => "encode as zeros",
            MissingPolicy::Error => "error",
        }
    }
}

/// What is predicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    BinaryClassification,
    MulticlassClassification,
    Regression,
}

impl Task {
    pub fn is_classification(self) -> bool {
        !matches!(self, Task::Regression)
    }
}

/// Overrides and thresholds for [`infer_schema`].
#[derive(Clone, Debug)]
pub struct SchemaOptions {
    /// The target column.
    pub target: String,
    /// A string column with at most this many distinct values is categorical.
    pub max_categories: usize,
    /// An integer target with at most this many distinct values is a set of classes.
    pub max_classes: usize,
    /// Column kinds given by the user.
    pub kinds: BTreeMap<String, ColumnKind>,
    /// Missing-value policies per column.
    pub missing: BTreeMap<String, MissingPolicy>,
    /// The policy for columns not named in `missing`; `None`: mean for numeric, most
    /// frequent for boolean and categorical, zeros for text.
    pub default_missing: Option<MissingPolicy>,
    /// The task; `None` infers it from the target.
    pub task: Option<Task>,
}

impl SchemaOptions {
    pub fn new(target: impl Into<String>) -> Self {
        SchemaOptions {
            target: target.into(),
            max_categories: 20,
            max_classes: 10,
            kinds: BTreeMap::new(),
            missing: BTreeMap::new(),
            default_missing: None,
            task: None,
        }
    }
}

/// One column as inferred.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    pub kind: ColumnKind,
    pub missing: MissingPolicy,
    /// Counts over the file the schema was inferred from.
    pub n_missing: usize,
    pub n_distinct: usize,
}

/// Every column's kind and missing policy, the target and the task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Every non-target column, dropped ones included (see [`ColumnKind::is_feature`]).
    pub columns: Vec<ColumnSpec>,
    pub target: String,
    pub task: Task,
    /// The class labels, sorted (numerically when all are numbers); empty for regression.
    pub classes: Vec<String>,
    /// What was decided and why, one line each (dropped columns, imputations).
    pub notices: Vec<String>,
}

impl Schema {
    /// The columns that become features.
    pub fn features(&self) -> impl Iterator<Item = &ColumnSpec> {
        self.columns.iter().filter(|c| c.kind.is_feature())
    }

    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Whether a column name reads like an identifier (`id`, `user_id`, `userId`, `uuid`).
pub fn id_like_name(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let lower = last.to_ascii_lowercase();
    matches!(lower.as_str(), "id" | "uuid" | "guid" | "key" | "index")
        || lower.ends_with("_id")
        || lower.ends_with("-id")
        || last.ends_with("Id")
        || last.ends_with("ID")
}

/// Infers the schema of `table`: see [`ColumnKind`] for the rules.
///
/// An empty `opts.target` means there is none (clustering, PCA): every column is a
/// candidate feature and the task is reported as regression with no classes.
pub fn infer_schema(table: &Table, opts: &SchemaOptions) -> Result<Schema> {
    let no_target = opts.target.is_empty();
    let tj = if no_target {
        Some(usize::MAX)
    } else {
        table.column_index(&opts.target)
    };
    let Some(tj) = tj else {
        return Err(Error::format(
            &table.source,
            format!(
                "unknown target column `{}` (the columns are: {})",
                opts.target,
                table.columns.join(", ")
            ),
        ));
    };
    for name in opts.kinds.keys().chain(opts.missing.keys()) {
        if table.column_index(name).is_none() {
            return Err(Error::format(
                &table.source,
                format!("option names unknown column `{name}`"),
            ));
        }
    }
    let mut notices = Vec::new();
    let (task, classes) = if no_target {
        (Task::Regression, Vec::new())
    } else {
        infer_task(table, tj, opts)?
    };
    let mut columns = Vec::new();
    for (j, name) in table.columns.iter().enumerate() {
        if j == tj {
            continue;
        }
        let values: Vec<&Value> = table.column(j).collect();
        let present: Vec<&Value> = values.iter().copied().filter(|v| !v.is_missing()).collect();
        let distinct: BTreeSet<String> = present.iter().filter_map(|v| v.as_text()).collect();
        let (kind, why) = match opts.kinds.get(name) {
            Some(k) => (*k, "as given".to_string()),
            None => infer_kind(name, &present, distinct.len(), opts.max_categories),
        };
        let n_missing = values.len() - present.len();
        let missing = opts
            .missing
            .get(name)
            .copied()
            .or(opts.default_missing)
            .unwrap_or(match kind {
                ColumnKind::Numeric => MissingPolicy::Mean,
                ColumnKind::Text => MissingPolicy::Zeros,
                _ => MissingPolicy::MostFrequent,
            });
        check_policy(table, name, kind, missing)?;
        if !kind.is_feature() {
            notices.push(format!(
                "column `{name}`: {} ({why}) → dropped",
                kind.name()
            ));
        } else if n_missing > 0 {
            notices.push(format!(
                "column `{name}` ({}): {n_missing} missing value(s) → {}",
                kind.name(),
                missing.name()
            ));
        }
        columns.push(ColumnSpec {
            name: name.clone(),
            kind,
            missing,
            n_missing,
            n_distinct: distinct.len(),
        });
    }
    if !columns.iter().any(|c| c.kind.is_feature()) {
        return Err(Error::format(
            &table.source,
            "no feature columns are left besides the target",
        ));
    }
    Ok(Schema {
        columns,
        target: opts.target.clone(),
        task,
        classes,
        notices,
    })
}

fn check_policy(table: &Table, name: &str, kind: ColumnKind, p: MissingPolicy) -> Result<()> {
    let numeric = matches!(kind, ColumnKind::Numeric | ColumnKind::Boolean);
    let ok = match p {
        MissingPolicy::Mean | MissingPolicy::Median => numeric || !kind.is_feature(),
        MissingPolicy::MostFrequent => kind != ColumnKind::Text,
        MissingPolicy::Zeros => kind != ColumnKind::Boolean,
        MissingPolicy::Error => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::format(
            &table.source,
            format!(
                "column `{name}` is {}: the missing-value policy `{}` does not apply",
                kind.name(),
                p.name()
            ),
        ))
    }
}

fn infer_kind(
    name: &str,
    present: &[&Value],
    n_distinct: usize,
    max_categories: usize,
) -> (ColumnKind, String) {
    let n = present.len();
    if n == 0 {
        return (ColumnKind::Ignore, "every value is missing".into());
    }
    // A kind holding at least 90% of the values wins; the rest are wrong-type errors
    // when the column is transformed.
    let bools = present
        .iter()
        .filter(|v| matches!(v, Value::Bool(_)))
        .count();
    if bools * 10 >= n * 9 {
        return (ColumnKind::Boolean, String::new());
    }
    let numbers: Vec<f64> = present.iter().filter_map(|v| v.as_f64()).collect();
    if numbers.len() * 10 >= n * 9 {
        let increasing = numbers.windows(2).all(|w| w[1] > w[0]);
        let ints = numbers.iter().all(|x| x.fract() == 0.0);
        if id_like_name(name) && ints && increasing && n > 1 {
            return (
                ColumnKind::Identifier,
                "increasing integers named like an id".into(),
            );
        }
        return (ColumnKind::Numeric, String::new());
    }
    let unique = n_distinct == n;
    if id_like_name(name) && unique {
        return (
            ColumnKind::Identifier,
            "unique values named like an id".into(),
        );
    }
    if n_distinct <= max_categories {
        return (ColumnKind::Categorical, String::new());
    }
    let no_spaces = present
        .iter()
        .filter_map(|v| v.as_text())
        .all(|s| !s.trim().contains(char::is_whitespace));
    if unique && no_spaces {
        return (
            ColumnKind::Identifier,
            "unique strings without spaces".into(),
        );
    }
    (ColumnKind::Text, String::new())
}

fn infer_task(table: &Table, tj: usize, opts: &SchemaOptions) -> Result<(Task, Vec<String>)> {
    let present: Vec<&Value> = table.column(tj).filter(|v| !v.is_missing()).collect();
    if present.is_empty() {
        return Err(Error::format(
            &table.source,
            format!("target column `{}` has no values", opts.target),
        ));
    }
    let numbers: Vec<f64> = present.iter().filter_map(|v| v.as_f64()).collect();
    let all_numbers =
        numbers.len() == present.len() && present.iter().all(|v| !matches!(v, Value::Bool(_)));
    let classes = class_labels(&present, all_numbers);
    let task = match opts.task {
        Some(t) => t,
        None if !all_numbers => Task::MulticlassClassification,
        None => {
            let ints = numbers.iter().all(|x| x.fract() == 0.0);
            if ints && classes.len() <= opts.max_classes {
                Task::MulticlassClassification
            } else {
                Task::Regression
            }
        }
    };
    if task == Task::Regression {
        if !all_numbers {
            let bad = table
                .column(tj)
                .position(|v| {
                    !v.is_missing() && (v.as_f64().is_none() || matches!(v, Value::Bool(_)))
                })
                .unwrap_or(0);
            return Err(table.row_error(
                bad,
                Some(&opts.target),
                format!(
                    "regression needs a numeric target, found {}",
                    table.rows[bad][tj].describe()
                ),
            ));
        }
        return Ok((Task::Regression, Vec::new()));
    }
    if classes.len() < 2 {
        return Err(Error::format(
            &table.source,
            format!(
                "target column `{}` has a single class `{}`: classification needs at least two",
                opts.target,
                classes.first().map(String::as_str).unwrap_or("")
            ),
        ));
    }
    let task = if classes.len() == 2 {
        Task::BinaryClassification
    } else {
        Task::MulticlassClassification
    };
    Ok((task, classes))
}

fn class_labels(present: &[&Value], numeric: bool) -> Vec<String> {
    if numeric {
        let mut xs: Vec<f64> = present.iter().filter_map(|v| v.as_f64()).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        xs.into_iter().map(crate::records::format_number).collect()
    } else {
        let set: BTreeSet<String> = present.iter().filter_map(|v| v.as_text()).collect();
        set.into_iter().collect()
    }
}
