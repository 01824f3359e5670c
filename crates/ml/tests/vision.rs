//! Image classifiers from memory: a saved and reloaded model gives bit-identical
//! probabilities (weights, classes and pixel normalization all travel in the file), and the
//! file is told apart from a tabular model's.

use zhixing_data::images::{ImageData, ImageSet};
use zhixing_ml::model::TabularModel;
use zhixing_ml::vision::{is_image_model, ImageArch, ImageConfig, ImageModel};
use zhixing_tensor::{DType, Rng, Tensor};

/// Two classes of 3×6×6 colour images: bright in the red or in the blue channel.
fn colour_set(n_per_class: usize, seed: u64) -> ImageSet {
    let mut rng = Rng::seed(seed);
    let noise = Tensor::rand(&[2 * n_per_class, 108], DType::F32, &mut rng)
        .to_vec::<f32>()
        .unwrap();
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (i, row) in noise.chunks(108).enumerate() {
        let class = i % 2;
        let bright = if class == 0 { 0 } else { 2 };
        pixels.extend(row.iter().enumerate().map(|(j, v)| {
            let channel = j / 36;
            if channel == bright {
                0.6 + 0.4 * v
            } else {
                0.3 * v
            }
        }));
        labels.push(class);
    }
    ImageSet {
        pixels: Tensor::from_vec(pixels, &[2 * n_per_class, 108]).unwrap(),
        labels,
        classes: vec!["red".into(), "blue".into()],
        shape: [3, 6, 6],
        files: Vec::new(),
    }
}

#[test]
fn a_reloaded_image_model_predicts_bit_for_bit_the_same() {
    let data = ImageData {
        train: colour_set(30, 1),
        test: Some(colour_set(10, 2)),
        layout: "memory",
    };
    let dir = tempfile::tempdir().unwrap();
    for arch in [ImageArch::Cnn, ImageArch::Lstm] {
        let config = ImageConfig {
            arch,
            epochs: 4,
            batch_size: 8,
            ..Default::default()
        };
        let (model, reports) = ImageModel::train(&data, "memory", &config, false).unwrap();
        let test = &reports.last().unwrap();
        assert_eq!(test.0, "test");
        assert!(test.1.accuracy >= 0.95, "{arch:?}: {}", test.1.accuracy);
        // Normalization statistics come from the training pixels.
        assert!(
            model.info.mean > 0.2 && model.info.mean < 0.4,
            "{}",
            model.info.mean
        );

        let path = dir.path().join("m.zxm");
        model.save(&path).unwrap();
        assert!(is_image_model(&path).unwrap());
        let loaded = ImageModel::load(&path).unwrap();
        let x = &data.test.as_ref().unwrap().pixels;
        let a = model.predict_proba(x).unwrap().to_vec::<f64>().unwrap();
        let b = loaded.predict_proba(x).unwrap().to_vec::<f64>().unwrap();
        assert_eq!(a, b, "{arch:?}");
        assert_eq!(loaded.info.classes, ["red", "blue"]);

        let e = TabularModel::load(&path).err().unwrap().to_string();
        assert!(e.contains("is an image model"), "{e}");
        let wrong = Tensor::zeros(&[2, 36], DType::F32);
        let e = loaded.predict_proba(&wrong).unwrap_err().to_string();
        assert!(e.contains("takes 6×6 RGB images (108 values each)"), "{e}");
    }
}
