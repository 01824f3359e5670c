//! `zhixing train|eval|predict` on folders of images: small generated PNG sets (bars in
//! three orientations, red vs blue squares) that a CNN, a ResNet or a recurrent network
//! must learn, and the errors for images that do not fit.

use std::path::Path;
use std::process::Command;

fn zhixing(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhixing"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("the binary runs");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Writes an 8-bit PNG: `channels` 1 (grey) or 3 (RGB), pixels row-major interleaved.
fn write_png(path: &Path, w: u32, h: u32, channels: usize, pixels: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(if channels == 1 {
        png::ColorType::Grayscale
    } else {
        png::ColorType::Rgb
    });
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .unwrap()
        .write_image_data(pixels)
        .unwrap();
}

/// A tiny deterministic generator (no dependency on the library's RNG).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// 12×12 grey images of a bright bar — horizontal, vertical or diagonal — at a random
/// offset over faint noise, `per_class` of each, as `dir/<class>/<i>.png`.
fn bars(dir: &Path, per_class: usize, seed: u64) {
    let mut rng = Lcg(seed);
    for class in ["diagonal", "horizontal", "vertical"] {
        for i in 0..per_class {
            let mut px: Vec<u8> = (0..144).map(|_| rng.next(40) as u8).collect();
            let at = 2 + rng.next(8) as usize;
            for t in 0..12 {
                let (r, c) = match class {
                    "horizontal" => (at, t),
                    "vertical" => (t, at),
                    _ => (t, (t + at) % 12),
                };
                px[r * 12 + c] = 230;
            }
            write_png(&dir.join(class).join(format!("{i:03}.png")), 12, 12, 1, &px);
        }
    }
}

fn train_json(data: &Path, model: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["train", s(data), "-o", s(model), "--json"];
    args.extend_from_slice(extra);
    let (ok, out, err) = zhixing(&args);
    assert!(ok, "train failed: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn every_image_model_learns_bar_orientation_and_predicts_from_pngs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bars");
    bars(&data, 40, 1);
    for (arch, epochs) in [
        ("cnn", "6"),
        ("resnet", "4"),
        ("gru", "8"),
        ("lstm", "8"),
        ("rnn", "10"),
    ] {
        let model = dir.path().join(format!("{arch}.zxm"));
        let doc = train_json(
            &data,
            &model,
            &["--model", arch, "--epochs", epochs, "--batch-size", "16"],
        );
        assert_eq!(doc["input"], serde_json::json!([1, 12, 12]), "{doc}");
        assert_eq!(
            doc["classes"],
            serde_json::json!(["diagonal", "horizontal", "vertical"])
        );
        // 120 images: 10 % of each class for test, then 10 % of the rest for validation.
        assert_eq!(doc["split"]["test"], 12, "{doc}");
        assert_eq!(doc["split"]["validation"], 12, "{doc}");
        let acc = doc["metrics"]["test"]["accuracy"].as_f64().unwrap();
        assert!(acc >= 0.9, "{arch}: test accuracy {acc}");

        // eval on the folder reports every image; predict names each file.
        let (ok, out, err) = zhixing(&["eval", s(&model), s(&data), "--json"]);
        assert!(ok, "{err}");
        let eval: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(eval["images"], 120);
        assert!(
            eval["report"]["accuracy"].as_f64().unwrap() >= 0.9,
            "{arch}: {out}"
        );
        let (ok, out, err) = zhixing(&["predict", s(&model), s(&data.join("vertical"))]);
        assert!(ok, "{err}");
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 40);
        assert!(lines[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("vertical/000.png"));
        let right = lines
            .iter()
            .filter(|l| l["prediction"] == "vertical")
            .count();
        assert!(
            right >= 34,
            "{arch}: {right} of 40 vertical bars recognized"
        );
        let p: f64 = ["diagonal", "horizontal", "vertical"]
            .iter()
            .map(|c| lines[0]["probabilities"][c].as_f64().unwrap())
            .sum();
        assert!((p - 1.0).abs() < 1e-6, "probabilities sum to 1: {p}");
    }
}

#[test]
fn colour_images_in_train_and_test_folders() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("colours");
    let mut rng = Lcg(7);
    for (split, n) in [("train", 24), ("test", 8)] {
        for (class, channel) in [("blue", 2), ("red", 0)] {
            for i in 0..n {
                let mut px = vec![0u8; 8 * 8 * 3];
                for p in 0..64 {
                    px[p * 3 + channel] = 150 + rng.next(100) as u8;
                    px[p * 3 + 1] = rng.next(60) as u8;
                }
                write_png(
                    &data.join(split).join(class).join(format!("{i}.png")),
                    8,
                    8,
                    3,
                    &px,
                );
            }
        }
    }
    let model = dir.path().join("c.zxm");
    let doc = train_json(
        &data,
        &model,
        &["--model", "cnn", "--epochs", "5", "--batch-size", "8"],
    );
    assert_eq!(doc["input"], serde_json::json!([3, 8, 8]), "{doc}");
    assert_eq!(
        doc["split"]["test"], 16,
        "the test folder is the test set: {doc}"
    );
    assert_eq!(doc["metrics"]["test"]["accuracy"], 1.0, "{doc}");
    let (ok, out, err) = zhixing(&["eval", s(&model), s(&data)]);
    assert!(ok && out.contains("test: 16 images"), "{out}{err}");
}

#[test]
fn images_that_do_not_fit_get_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("mixed");
    bars(&data, 3, 2);
    let odd = data.join("vertical").join("odd.png");
    write_png(&odd, 10, 12, 1, &[0; 120]);
    let model = dir.path().join("m.zxm");
    let (ok, _, err) = zhixing(&["train", s(&data), "-o", s(&model)]);
    assert!(
        !ok && err.contains("odd.png")
            && err.contains("image is 10×12 grey but the others are 12×12 grey"),
        "{err}"
    );

    std::fs::remove_file(&odd).unwrap();
    std::fs::write(data.join("vertical").join("notes.txt"), "x").unwrap();
    let (ok, _, err) = zhixing(&["train", s(&data), "-o", s(&model)]);
    assert!(
        !ok && err.contains("notes.txt") && err.contains("not a .png file"),
        "{err}"
    );
    std::fs::remove_file(data.join("vertical").join("notes.txt")).unwrap();

    std::fs::write(
        data.join("vertical").join("broken.png"),
        b"\x89PNG\r\n\x1a\nxx",
    )
    .unwrap();
    let (ok, _, err) = zhixing(&["train", s(&data), "-o", s(&model)]);
    assert!(
        !ok && err.contains("broken.png") && err.contains("not a readable PNG"),
        "{err}"
    );
    std::fs::remove_file(data.join("vertical").join("broken.png")).unwrap();

    std::fs::create_dir(data.join("empty")).unwrap();
    let (ok, _, err) = zhixing(&["train", s(&data), "-o", s(&model)]);
    assert!(
        !ok && err.contains("empty") && err.contains("class folder holds no images"),
        "{err}"
    );
    std::fs::remove_dir(data.join("empty")).unwrap();

    let (ok, _, err) = zhixing(&["train", s(&data), "-o", s(&model), "--target", "y"]);
    assert!(
        !ok && err.contains("--target applies to record files only"),
        "{err}"
    );
    let (ok, _, err) = zhixing(&["train", "data/iris.csv", "--model", "cnn", "-o", s(&model)]);
    assert!(!ok && err.contains("DATA must be a folder"), "{err}");

    // A trained model refuses images of another size, and records.
    let doc = train_json(&data, &model, &["--epochs", "1"]);
    assert_eq!(doc["input"], serde_json::json!([1, 12, 12]));
    let big = dir.path().join("big.png");
    write_png(&big, 16, 16, 1, &[0; 256]);
    let (ok, _, err) = zhixing(&["predict", s(&model), s(&big)]);
    assert!(
        !ok && err.contains("big.png: image is 16×16 grey but the model takes 12×12 grey"),
        "{err}"
    );
    let (ok, _, err) = zhixing(&["eval", s(&model), "data/iris.csv"]);
    assert!(!ok && err.contains("not a folder of images"), "{err}");
}
