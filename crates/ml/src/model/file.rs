//! The saved-model file: one safetensors file. Its string metadata holds the format name
//! and version and a JSON header (task, schema, fitted preprocessing, model config,
//! training metrics); its tensors are the estimator's fitted arrays, named
//! `estimator.<name>`. Any safetensors reader can open it; `load` checks it is ours.

use std::collections::BTreeMap;
use std::path::Path;

use zhixing_nn::state::{from_safetensors_bytes, to_safetensors_bytes, write_atomic};
use zhixing_tensor::Tensor;

use crate::error::{Error, Result};

/// The `format` metadata value of every zhixing model file.
pub const FORMAT: &str = "zhixing-model";
/// The newest layout this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

const WHAT: &str = "model file";
const TENSOR_PREFIX: &str = "estimator.";

/// Writes `header` (JSON) and `tensors` to `path` atomically.
pub fn write(path: &Path, header: &str, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("format_version".to_string(), FORMAT_VERSION.to_string());
    meta.insert("header".to_string(), header.to_string());
    let named: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| (format!("{TENSOR_PREFIX}{n}"), t.clone()))
        .collect();
    let bytes =
        to_safetensors_bytes(&named, &meta).map_err(|e| Error::invalid(WHAT, e.to_string()))?;
    write_atomic(path, &bytes)
        .map_err(|e| Error::invalid(WHAT, format!("cannot write {}: {e}", path.display())))
}

/// Reads a model file: (JSON header, estimator tensors). A missing file, a truncated file,
/// a file that is not a model and one from a newer format each get their own message.
pub fn read(path: &Path) -> Result<(String, Vec<(String, Tensor)>)> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::invalid(WHAT, format!("cannot read {}: {e}", path.display())))?;
    check_framing(path, &bytes)?;
    let (tensors, meta) = from_safetensors_bytes(&bytes, path)
        .map_err(|e| Error::invalid(WHAT, format!("{} is damaged: {e}", path.display())))?;
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(not_a_model(
            path,
            "a safetensors file without zhixing model metadata",
        ));
    }
    let version = meta
        .get("format_version")
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| {
            Error::invalid(
                WHAT,
                format!("{} has no readable format_version", path.display()),
            )
        })?;
    if version > FORMAT_VERSION {
        return Err(Error::invalid(
            WHAT,
            format!(
                "{} was written by a newer zhixing (model format {version}; this build reads format {FORMAT_VERSION} and older): upgrade zhixing to load it",
                path.display()
            ),
        ));
    }
    let header = meta
        .get("header")
        .cloned()
        .ok_or_else(|| Error::invalid(WHAT, format!("{} has no model header", path.display())))?;
    let tensors = tensors
        .into_iter()
        .filter_map(|(n, t)| n.strip_prefix(TENSOR_PREFIX).map(|s| (s.to_string(), t)))
        .collect();
    Ok((header, tensors))
}

fn not_a_model(path: &Path, why: &str) -> Error {
    Error::invalid(
        WHAT,
        format!(
            "{} is not a zhixing model ({why}); models are written by `zhixing train … -o MODEL`",
            path.display()
        ),
    )
}

/// Tells a truncated model from a file that never was one, before parsing: safetensors
/// begins with an 8-byte little-endian header length, then a JSON header, then the data,
/// whose total size the header's offsets give.
fn check_framing(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.len() < 8 {
        return Err(if bytes.is_empty() {
            not_a_model(path, "the file is empty")
        } else {
            not_a_model(path, "too short to be a safetensors file")
        });
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let looks_like_header = (2..(100 << 20)).contains(&n) && bytes.get(8) == Some(&b'{');
    if !looks_like_header {
        return Err(not_a_model(
            path,
            "it does not start with a safetensors header",
        ));
    }
    if bytes.len() < 8 + n {
        return Err(truncated(path, 8 + n, bytes.len()));
    }
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])
        .map_err(|_| not_a_model(path, "its header is not JSON"))?;
    let end = header
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .filter_map(|v| v.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0) as usize;
    if bytes.len() < 8 + n + end {
        return Err(truncated(path, 8 + n + end, bytes.len()));
    }
    Ok(())
}

fn truncated(path: &Path, expected: usize, got: usize) -> Error {
    Error::invalid(
        WHAT,
        format!(
            "{} is truncated: {got} of {expected} bytes (an interrupted copy?); re-copy or re-train it",
            path.display()
        ),
    )
}
