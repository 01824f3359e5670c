//! The served models: each name holds an `Arc` to a fully loaded model. A reload loads
//! the new file completely and then swaps the `Arc`, so a request sees the old model or
//! the new one, never a half-loaded one; a failed reload leaves the old model in place.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use serde_json::{json, Value as Json};
use zhixing_data::pipeline::Step;
use zhixing_data::records::{Table, Value};
use zhixing_ml::model::TabularModel;

use crate::error::{ApiError, Error, Result};

/// A model to serve: `NAME=PATH`, or `PATH` named by its file stem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    pub name: String,
    pub path: PathBuf,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl ModelSpec {
    pub fn parse(arg: &str) -> Result<ModelSpec> {
        if let Some((name, path)) = arg.split_once('=') {
            if valid_name(name) && !path.is_empty() {
                return Ok(ModelSpec {
                    name: name.to_string(),
                    path: PathBuf::from(path),
                });
            }
        }
        let path = PathBuf::from(arg);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if !valid_name(stem) {
            return Err(Error::Spec(format!(
                "cannot name the model `{arg}` by its file stem: use NAME=PATH \
                 (names are letters, digits, `_`, `-`, `.`)"
            )));
        }
        Ok(ModelSpec {
            name: stem.to_string(),
            path,
        })
    }
}

/// One loaded version of a model.
#[derive(Debug)]
pub struct LoadedModel {
    pub name: String,
    pub model: TabularModel,
    /// 1 at start, +1 per successful reload.
    pub version: u64,
    /// SHA-256 of the file it was loaded from (`None` for a model given in memory).
    pub sha256: Option<String>,
    /// Unix seconds.
    pub loaded_at: u64,
    /// The feature fields every record must carry (an explicit `null` is allowed and
    /// handled by the column's missing-value policy; an absent key is an error).
    pub required: Vec<String>,
}

impl LoadedModel {
    pub fn new(name: &str, model: TabularModel, version: u64, sha256: Option<String>) -> Self {
        let required = model
            .transform
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect();
        LoadedModel {
            name: name.to_string(),
            model,
            version,
            sha256,
            loaded_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            required,
        }
    }

    /// Errors (400) at the first required field a record lacks (`missing_field`) and at
    /// the first number whose scaled value overflows the model's f32 inputs
    /// (`invalid_value`; the estimator would otherwise fail on an infinite feature).
    pub fn check_input(&self, table: &Table) -> std::result::Result<(), ApiError> {
        let index: HashMap<&str, usize> = table
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| (c.as_str(), j))
            .collect();
        for (k, name) in self.required.iter().enumerate() {
            let column = &self.model.transform.columns[k];
            let bad_row = match index.get(name.as_str()) {
                None => Some(0),
                Some(&j) => table
                    .rows
                    .iter()
                    .position(|r| matches!(r.get(j), None | Some(Value::Missing))),
            };
            if let (None, Some(&j), Step::Numeric { scaler, .. }) =
                (bad_row, index.get(name.as_str()), &column.step)
            {
                let overflow = table.rows.iter().position(|r| {
                    r.get(j)
                        .and_then(Value::as_f64)
                        .is_some_and(|x| !(scaler.apply(x) as f32).is_finite())
                });
                if let Some(i) = overflow {
                    return Err(ApiError::bad_request(
                        "invalid_value",
                        format!(
                            "record {i}: field `{name}`: {} is out of the model's range \
                             (its scaled value overflows 32-bit floats)",
                            table.rows[i][j].describe()
                        ),
                    )
                    .with_field(name.clone())
                    .with_record(i));
                }
            }
            if let Some(i) = bad_row {
                let policy = column.missing.name();
                return Err(ApiError::bad_request(
                    "missing_field",
                    format!(
                        "record {i}: field `{name}` is missing (send null to use the model's \
                         missing-value policy for it: {policy})"
                    ),
                )
                .with_field(name.clone())
                .with_record(i));
            }
        }
        Ok(())
    }

    /// What `GET /v1/models/{name}` answers.
    pub fn describe(&self, source: Option<&Path>) -> Json {
        let m = &self.model;
        let schema = &m.transform.schema;
        let inputs: Vec<Json> = schema
            .features()
            .map(|c| {
                json!({
                    "name": c.name,
                    "type": c.kind.name(),
                    "missing": c.missing,
                })
            })
            .collect();
        let dropped: Vec<&str> = schema
            .columns
            .iter()
            .filter(|c| !c.kind.is_feature())
            .map(|c| c.name.as_str())
            .collect();
        json!({
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "loaded_at": self.loaded_at,
            "source": source.map(|p| p.display().to_string()),
            "task": m.info.task,
            "target": m.info.target,
            "classes": m.classes(),
            "estimator": m.estimator.name(),
            "model": m.info.model,
            "schema": { "inputs": inputs, "dropped": dropped },
            "metrics": m.info.metrics,
            "training": m.info.training,
            "zhixing_version": m.info.zhixing_version,
        })
    }
}

/// Loads a model file fully: the model and the file's SHA-256.
fn load_file(name: &str, path: &Path) -> Result<(TabularModel, String)> {
    let load_err = |source| Error::Load {
        name: name.to_string(),
        path: path.display().to_string(),
        cause: Box::new(source),
    };
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        what: format!("model `{name}`: cannot read {}", path.display()),
        cause: e,
    })?;
    let sha = zhixing_data::fetch::sha256_hex(&bytes);
    let model = TabularModel::load(path).map_err(load_err)?;
    Ok((model, sha))
}

/// One served name.
#[derive(Debug)]
pub struct ModelSlot {
    pub name: String,
    /// The file it is (re)loaded from; `None` for a model given in memory.
    pub path: Option<PathBuf>,
    current: RwLock<Arc<LoadedModel>>,
    /// Serializes reloads so versions only go up.
    reloading: Mutex<()>,
}

impl ModelSlot {
    fn new(name: &str, path: Option<PathBuf>, model: LoadedModel) -> Self {
        ModelSlot {
            name: name.to_string(),
            path,
            current: RwLock::new(Arc::new(model)),
            reloading: Mutex::new(()),
        }
    }

    /// The model now being served.
    pub fn current(&self) -> Arc<LoadedModel> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads the file again and swaps it in (blocking: run it off the async executor).
    /// On failure the old model stays.
    pub fn reload(&self) -> std::result::Result<Arc<LoadedModel>, ApiError> {
        let Some(path) = &self.path else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_reloadable",
                format!("model `{}` was given in memory, not as a file", self.name),
            ));
        };
        let _guard = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (model, sha) = load_file(&self.name, path).map_err(|e| {
            tracing::warn!(model = %self.name, error = %e, "reload failed; keeping the old model");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reload_failed",
                format!("{e}; still serving the previous version"),
            )
        })?;
        let version = self.current().version + 1;
        let loaded = Arc::new(LoadedModel::new(&self.name, model, version, Some(sha)));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = loaded.clone();
        tracing::info!(model = %self.name, version, "reloaded");
        Ok(loaded)
    }
}

/// Every served model by name (the set of names is fixed at start).
#[derive(Debug, Default)]
pub struct Registry {
    slots: BTreeMap<String, ModelSlot>,
}

impl Registry {
    /// Loads every model file; any failure is an error naming the model.
    pub fn load(specs: &[ModelSpec]) -> Result<Registry> {
        if specs.is_empty() {
            return Err(Error::Spec(
                "no models given: pass MODEL or NAME=MODEL".into(),
            ));
        }
        let mut r = Registry::default();
        for s in specs {
            let (model, sha) = load_file(&s.name, &s.path)?;
            let loaded = LoadedModel::new(&s.name, model, 1, Some(sha));
            r.insert(ModelSlot::new(&s.name, Some(s.path.clone()), loaded))?;
        }
        Ok(r)
    }

    /// Serves models already in memory (they cannot be reloaded).
    pub fn from_models(models: Vec<(String, TabularModel)>) -> Result<Registry> {
        let mut r = Registry::default();
        for (name, model) in models {
            let loaded = LoadedModel::new(&name, model, 1, None);
            r.insert(ModelSlot::new(&name, None, loaded))?;
        }
        Ok(r)
    }

    fn insert(&mut self, slot: ModelSlot) -> Result<()> {
        if self.slots.contains_key(&slot.name) {
            return Err(Error::Spec(format!(
                "two models are named `{}`: name them apart with NAME=PATH",
                slot.name
            )));
        }
        self.slots.insert(slot.name.clone(), slot);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&ModelSlot> {
        self.slots.get(name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.slots.keys().map(String::as_str).collect()
    }

    pub fn slots(&self) -> impl Iterator<Item = &ModelSlot> {
        self.slots.values()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_models_by_stem_or_explicitly() {
        let s = ModelSpec::parse("models/iris.zxm").unwrap();
        assert_eq!(
            (s.name.as_str(), s.path.to_str()),
            ("iris", Some("models/iris.zxm"))
        );
        let s = ModelSpec::parse("flowers=models/iris.zxm").unwrap();
        assert_eq!(
            (s.name.as_str(), s.path.to_str()),
            ("flowers", Some("models/iris.zxm"))
        );
        // Not a valid name before `=`: the whole argument is the path.
        let s = ModelSpec::parse("dir/a=b/m.zxm").unwrap();
        assert_eq!(
            (s.name.as_str(), s.path.to_str()),
            ("m", Some("dir/a=b/m.zxm"))
        );
        assert!(ModelSpec::parse("models/my model.zxm").is_err());
        assert!(Registry::load(&[]).is_err());
    }
}
