//! State dicts: named tensors saved and loaded as safetensors, written atomically.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use zhixing_tensor::{DType, Tensor};

use crate::{Error, Module, Result};

/// Tensors by name, with a file's string metadata.
pub type NamedTensors = (Vec<(String, Tensor)>, BTreeMap<String, String>);

fn to_safetensors_dtype(d: DType) -> Dtype {
    match d {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::I64 => Dtype::I64,
        DType::U8 => Dtype::U8,
        DType::BF16 => Dtype::BF16,
        DType::F16 => Dtype::F16,
    }
}

fn from_safetensors_dtype(d: Dtype) -> Option<DType> {
    Some(match d {
        Dtype::F32 => DType::F32,
        Dtype::F64 => DType::F64,
        Dtype::I64 => DType::I64,
        Dtype::U8 => DType::U8,
        Dtype::BF16 => DType::BF16,
        Dtype::F16 => DType::F16,
        _ => return None,
    })
}

/// Little-endian bytes of a tensor's elements in row-major order.
fn tensor_bytes(t: &Tensor) -> Result<Vec<u8>> {
    fn le<T: zhixing_tensor::Element, const N: usize>(
        t: &Tensor,
        f: impl Fn(T) -> [u8; N],
    ) -> Result<Vec<u8>> {
        Ok(t.to_vec::<T>()?.into_iter().flat_map(f).collect())
    }
    match t.dtype() {
        DType::F32 => le(t, f32::to_le_bytes),
        DType::F64 => le(t, f64::to_le_bytes),
        DType::I64 => le(t, i64::to_le_bytes),
        DType::U8 => le(t, |v: u8| [v]),
        DType::BF16 => le(t, half::bf16::to_le_bytes),
        DType::F16 => le(t, half::f16::to_le_bytes),
    }
}

fn tensor_from_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<Tensor> {
    fn parse<T: zhixing_tensor::Element, const N: usize>(
        bytes: &[u8],
        shape: &[usize],
        f: impl Fn([u8; N]) -> T,
    ) -> Result<Tensor> {
        let values: Vec<T> = bytes
            .chunks_exact(N)
            .map(|c| f(c.try_into().expect("chunks_exact yields N bytes")))
            .collect();
        Ok(Tensor::from_vec(values, shape)?)
    }
    match dtype {
        DType::F32 => parse(bytes, shape, f32::from_le_bytes),
        DType::F64 => parse(bytes, shape, f64::from_le_bytes),
        DType::I64 => parse(bytes, shape, i64::from_le_bytes),
        DType::U8 => parse(bytes, shape, |b: [u8; 1]| b[0]),
        DType::BF16 => parse(bytes, shape, half::bf16::from_le_bytes),
        DType::F16 => parse(bytes, shape, half::f16::from_le_bytes),
    }
}

/// Serializes named tensors (and string metadata) to safetensors bytes.
pub fn to_safetensors_bytes(
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let bytes: Vec<(String, DType, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), t.dtype(), t.shape().to_vec(), tensor_bytes(t)?)))
        .collect::<Result<_>>()?;
    let mut views = Vec::with_capacity(bytes.len());
    for (name, dtype, shape, data) in &bytes {
        let view = TensorView::new(to_safetensors_dtype(*dtype), shape.clone(), data)
            .map_err(|e| Error::StateDict(format!("{name}: {e}")))?;
        views.push((name.clone(), view));
    }
    let info: HashMap<String, String> = metadata.clone().into_iter().collect();
    safetensors::tensor::serialize(views, Some(info))
        .map_err(|e| Error::StateDict(format!("serializing: {e}")))
}

/// Parses safetensors bytes into named tensors and metadata; `path` names errors.
pub fn from_safetensors_bytes(bytes: &[u8], path: &Path) -> Result<NamedTensors> {
    let bad = |msg: String| Error::Format {
        path: path.to_path_buf(),
        msg,
    };
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("unreadable safetensors header ({e})")))?;
    let metadata = meta
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut tensors = Vec::new();
    for (name, view) in st.tensors() {
        let dtype = from_safetensors_dtype(view.dtype()).ok_or_else(|| {
            bad(format!(
                "tensor {name}: unsupported dtype {:?}",
                view.dtype()
            ))
        })?;
        tensors.push((name, tensor_from_bytes(dtype, view.shape(), view.data())?));
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((tensors, metadata))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, synced,
/// then renamed over the target, so a crash never leaves a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Saves named tensors as a safetensors file (atomically).
pub fn save_safetensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    write_atomic(path, &to_safetensors_bytes(tensors, metadata)?)
}

/// Loads a safetensors file: tensors sorted by name, and the metadata.
pub fn load_safetensors(path: &Path) -> Result<NamedTensors> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_safetensors_bytes(&bytes, path)
}

/// A module's parameters and buffers by name.
pub fn state_dict(module: &dyn Module) -> Vec<(String, Tensor)> {
    let mut out = module.named_parameters();
    out.extend(module.named_buffers());
    out
}

/// Copies `tensors` into the module's parameters and buffers. Every name must match
/// and every shape and dtype must agree; otherwise nothing is half-loaded silently.
pub fn load_state_dict(module: &dyn Module, tensors: &[(String, Tensor)]) -> Result<()> {
    let given: HashMap<&str, &Tensor> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let own = state_dict(module);
    let missing: Vec<&str> = own
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !given.contains_key(n))
        .collect();
    let unexpected: Vec<&str> = tensors
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !own.iter().any(|(o, _)| o == n))
        .collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        return Err(Error::StateDict(format!(
            "missing {missing:?}, unexpected {unexpected:?}"
        )));
    }
    for (name, target) in &own {
        let src = given[name.as_str()];
        if src.shape() != target.shape() || src.dtype() != target.dtype() {
            return Err(Error::StateDict(format!(
                "{name}: file has {:?} {}, model expects {:?} {}",
                src.shape(),
                src.dtype(),
                target.shape(),
                target.dtype()
            )));
        }
    }
    for (name, target) in &own {
        target.assign(given[name.as_str()])?;
    }
    Ok(())
}

/// Saves a module's state dict as safetensors.
pub fn save_module(module: &dyn Module, path: &Path) -> Result<()> {
    save_safetensors(path, &state_dict(module), &BTreeMap::new())
}

/// Loads a safetensors state dict into a module.
pub fn load_module(module: &dyn Module, path: &Path) -> Result<()> {
    let (tensors, _) = load_safetensors(path)?;
    load_state_dict(module, &tensors)
}
