//! Labelled image sets for `zhixing train`: MNIST's IDX files or folders of PNGs, one
//! subfolder per class. Pixels become f32 in [0, 1], one row per image laid out
//! channel-major (`[C, H, W]` flattened), so CNNs reshape and recurrent models read rows.
//!
//! Layouts of a data folder, tried in this order:
//! - the four MNIST IDX files (`train-images-idx3-ubyte` …, raw or `.gz`): train + test;
//! - `train/<class>/*.png` and optionally `test/<class>/*.png`;
//! - `<class>/*.png`: a training set only (the caller splits off a test set).

use std::fs;
use std::path::{Path, PathBuf};

use zhixing_tensor::Tensor;

use crate::mnist::{Mnist, MnistOptions};
use crate::{Error, Result};

/// Labelled images of one shape.
#[derive(Clone, Debug)]
pub struct ImageSet {
    /// f32 `[N, C·H·W]` in [0, 1].
    pub pixels: Tensor,
    /// Class ids into `classes`.
    pub labels: Vec<usize>,
    pub classes: Vec<String>,
    /// `[channels, height, width]`.
    pub shape: [usize; 3],
    /// The file of each image (empty for IDX data).
    pub files: Vec<PathBuf>,
}

impl ImageSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A data folder's training images and, when it has them, its test images.
#[derive(Clone, Debug)]
pub struct ImageData {
    pub train: ImageSet,
    pub test: Option<ImageSet>,
    /// Which layout was found: "mnist-idx", "train/test folders" or "class folders".
    pub layout: &'static str,
}

/// True when `dir` holds MNIST-style IDX files.
pub fn has_idx_files(dir: &Path) -> bool {
    ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"]
        .iter()
        .any(|f| dir.join(f).is_file())
}

/// Loads a data folder in one of the layouts above.
pub fn load_image_data(dir: &Path) -> Result<ImageData> {
    if !dir.is_dir() {
        return Err(Error::format(
            dir,
            "not a folder of images (or MNIST IDX files)",
        ));
    }
    if has_idx_files(dir) {
        let mnist = Mnist::load_with(dir, MnistOptions::default())?;
        let classes: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        let set = |d: &crate::TensorDataset| -> Result<ImageSet> {
            let labels = d
                .targets
                .to_vec::<i64>()?
                .into_iter()
                .map(|v| v as usize)
                .collect();
            Ok(ImageSet {
                pixels: d.inputs.clone(),
                labels,
                classes: classes.clone(),
                shape: [1, 28, 28],
                files: Vec::new(),
            })
        };
        return Ok(ImageData {
            train: set(&mnist.train)?,
            test: Some(set(&mnist.test)?),
            layout: "mnist-idx",
        });
    }
    let train_dir = dir.join("train");
    if train_dir.is_dir() {
        let train = load_image_folder(&train_dir, None)?;
        let test_dir = dir.join("test");
        let test = if test_dir.is_dir() {
            Some(load_image_folder(&test_dir, Some(&train))?)
        } else {
            None
        };
        return Ok(ImageData {
            train,
            test,
            layout: "train/test folders",
        });
    }
    Ok(ImageData {
        train: load_image_folder(dir, None)?,
        test: None,
        layout: "class folders",
    })
}

/// Entries of a folder, sorted, without hidden ones (`.DS_Store`, `.git`).
fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let read = fs::read_dir(dir).map_err(|e| Error::format(dir, format!("cannot list: {e}")))?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| Error::format(dir, format!("cannot list: {e}")))?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// `dir/<class>/*.png`. With `like`, the classes and image shape must match that set's.
pub fn load_image_folder(dir: &Path, like: Option<&ImageSet>) -> Result<ImageSet> {
    let class_dirs: Vec<PathBuf> = entries(dir)?.into_iter().filter(|p| p.is_dir()).collect();
    if class_dirs.is_empty() {
        return Err(Error::format(
            dir,
            "no class folders: expected <class>/*.png subfolders, a train/ folder or MNIST IDX files",
        ));
    }
    let classes: Vec<String> = class_dirs
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    if let Some(train) = like {
        if classes != train.classes {
            return Err(Error::format(
                dir,
                format!(
                    "classes {:?} differ from the training folder's {:?}",
                    classes, train.classes
                ),
            ));
        }
    }
    let mut shape = like.map(|t| t.shape);
    let (mut pixels, mut labels, mut files) = (Vec::new(), Vec::new(), Vec::new());
    for (class, class_dir) in class_dirs.iter().enumerate() {
        let images = entries(class_dir)?;
        if images.is_empty() {
            return Err(Error::format(class_dir, "class folder holds no images"));
        }
        for path in images {
            let (values, s) = read_png(&path)?;
            match shape {
                None => shape = Some(s),
                Some(want) if want != s => {
                    return Err(Error::format(
                        &path,
                        format!(
                            "image is {} but the others are {}: all images must have one size",
                            describe(s),
                            describe(want)
                        ),
                    ))
                }
                Some(_) => {}
            }
            pixels.extend_from_slice(&values);
            labels.push(class);
            files.push(path);
        }
    }
    let shape = shape.expect("at least one image was read");
    let n = labels.len();
    Ok(ImageSet {
        pixels: Tensor::from_vec(pixels, &[n, shape.iter().product()])?,
        labels,
        classes,
        shape,
        files,
    })
}

/// `"28×28 grey"` / `"32×32 RGB"`.
pub fn describe(shape: [usize; 3]) -> String {
    let kind = if shape[0] == 1 { "grey" } else { "RGB" };
    format!("{}×{} {kind}", shape[2], shape[1])
}

/// One PNG as f32 in [0, 1], channel-major, and its `[C, H, W]`: grey (and grey + alpha)
/// images give one channel, colour (and palette) images three; alpha is dropped.
pub fn read_png(path: &Path) -> Result<(Vec<f32>, [usize; 3])> {
    let bad = |msg: String| Error::format(path, msg);
    if path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        != Some("png".into())
    {
        return Err(bad(
            "not a .png file (image folders hold PNG images only)".into()
        ));
    }
    let file = fs::File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    // Palettes expand to RGB(A), low bit depths to 8 bits, 16-bit samples to 8.
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| bad(format!("not a readable PNG ({e})")))?;
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(format!("damaged PNG ({e})")))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let (stride, channels) = match info.color_type {
        png::ColorType::Grayscale => (1, 1),
        png::ColorType::GrayscaleAlpha => (2, 1),
        png::ColorType::Rgb => (3, 3),
        png::ColorType::Rgba => (4, 3),
        png::ColorType::Indexed => return Err(bad("palette PNG was not expanded".into())),
    };
    let bytes = &buf[..info.buffer_size()];
    let mut out = vec![0.0f32; channels * h * w];
    for (p, px) in bytes.chunks(stride).enumerate().take(h * w) {
        for c in 0..channels {
            out[c * h * w + p] = f32::from(px[c]) / 255.0;
        }
    }
    Ok((out, [channels, h, w]))
}
