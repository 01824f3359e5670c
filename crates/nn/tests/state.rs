//! State dicts of layer stacks: a save/load round trip reproduces outputs bit for bit, and
//! a state dict or file that does not fit gives an error naming the problem.

use std::path::Path;

use zhixing_nn::layers::{BatchNorm1d, Dropout, LayerNorm, Linear, ReLU, Sequential};
use zhixing_nn::{state, Error, Module};
use zhixing_tensor::{DType, Rng, Tensor};

fn mlp(seed: u64) -> Sequential {
    let mut rng = Rng::seed(seed);
    Sequential::new()
        .add(Linear::new(6, 16, &mut rng).unwrap())
        .add(BatchNorm1d::new(16))
        .add(ReLU)
        .add(Dropout::new(0.2, &mut rng).unwrap())
        .add(Linear::new(16, 8, &mut rng).unwrap())
        .add(LayerNorm::new(8))
        .add(Linear::new(8, 3, &mut rng).unwrap())
}

/// A model whose BatchNorm running statistics have moved away from their initial values.
fn trained_mlp(seed: u64) -> Sequential {
    let model = mlp(seed);
    let mut rng = Rng::seed(seed + 100);
    for _ in 0..3 {
        let x = Tensor::randn(&[32, 6], DType::F32, &mut rng)
            .affine(3.0, 1.0)
            .unwrap();
        model.forward(&x).unwrap();
    }
    model
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn save_and_load_reproduces_outputs_bitwise() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp.safetensors");
    let model = trained_mlp(1);
    state::save_module(&model, &path).unwrap();

    let fresh = mlp(2);
    let x = Tensor::randn(&[5, 6], DType::F32, &mut Rng::seed(3));
    model.eval();
    fresh.eval();
    assert_ne!(
        bits(&model.forward(&x).unwrap()),
        bits(&fresh.forward(&x).unwrap())
    );
    state::load_module(&fresh, &path).unwrap();
    assert_eq!(
        bits(&model.forward(&x).unwrap()),
        bits(&fresh.forward(&x).unwrap())
    );
    // Buffers came along, including the i64 batch counter.
    let counter = |m: &Sequential| {
        let buffers = m.named_buffers();
        let (_, t) = buffers
            .iter()
            .find(|(n, _)| n == "1.num_batches_tracked")
            .unwrap();
        (t.dtype(), t.item().unwrap())
    };
    assert_eq!(counter(&fresh), (DType::I64, 3.0));
    // Loaded values are copies: changing the source model leaves the loaded one alone.
    zhixing_nn::init::zeros(&model.parameters()[0]).unwrap();
    assert_ne!(
        bits(&model.forward(&x).unwrap()),
        bits(&fresh.forward(&x).unwrap())
    );
}

fn load_err(model: &dyn Module, tensors: &[(String, Tensor)]) -> String {
    match state::load_state_dict(model, tensors) {
        Ok(()) => panic!("expected the state dict to be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn mismatched_state_dicts_are_errors_naming_the_tensor() {
    let model = mlp(4);
    let full = state::state_dict(&mlp(5));
    let without = |name: &str| -> Vec<(String, Tensor)> {
        full.iter().filter(|(n, _)| n != name).cloned().collect()
    };

    let msg = load_err(&model, &without("4.bias"));
    assert!(msg.contains("missing") && msg.contains("4.bias"), "{msg}");

    let mut extra = full.clone();
    extra.push(("7.weight".into(), Tensor::zeros(&[2, 2], DType::F32)));
    let msg = load_err(&model, &extra);
    assert!(
        msg.contains("unexpected") && msg.contains("7.weight"),
        "{msg}"
    );

    let mut misshaped = without("0.weight");
    misshaped.push(("0.weight".into(), Tensor::zeros(&[16, 5], DType::F32)));
    let msg = load_err(&model, &misshaped);
    assert!(msg.contains("0.weight") && msg.contains("[16, 5]"), "{msg}");

    let mut wrong_dtype = without("1.running_var");
    wrong_dtype.push(("1.running_var".into(), Tensor::ones(&[16], DType::F64)));
    let msg = load_err(&model, &wrong_dtype);
    assert!(msg.contains("1.running_var"), "{msg}");

    // Nothing was half-loaded by the failed attempts.
    let untouched = state::state_dict(&mlp(4));
    for ((n, a), (_, b)) in state::state_dict(&model).iter().zip(&untouched) {
        assert_eq!(a.to_vec_f64(), b.to_vec_f64(), "{n} changed");
    }
}

fn load_file_err(path: &Path) -> Error {
    match state::load_module(&mlp(6), path) {
        Ok(()) => panic!("expected {} to be rejected", path.display()),
        Err(e) => e,
    }
}

#[test]
fn truncated_or_foreign_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.safetensors");
    state::save_module(&mlp(7), &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    for (name, content) in [
        ("truncated.safetensors", bytes[..bytes.len() / 2].to_vec()),
        ("header_only.safetensors", bytes[..8].to_vec()),
        ("empty.safetensors", Vec::new()),
        (
            "notes.txt",
            b"these are not the weights you are looking for".to_vec(),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let err = load_file_err(&path);
        assert!(matches!(err, Error::Format { .. }), "{name}: {err}");
        assert!(
            err.to_string().contains(name),
            "{name}: error should name the file: {err}"
        );
    }
    let missing = load_file_err(&dir.path().join("absent.safetensors"));
    assert!(matches!(missing, Error::Io { .. }), "{missing}");
}
