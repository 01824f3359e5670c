//! Initializers: PyTorch's gain table and fans, the variance each scheme promises,
//! orthogonality, sparsity, determinism and errors.

#[path = "reference/nn_json.rs"]
mod nn_json;

use zhixing_nn::init::{self, calculate_gain, fan_in_and_fan_out, FanMode, Nonlinearity};
use zhixing_tensor::{DType, Rng, Tensor};

fn param(shape: &[usize], dtype: DType) -> Tensor {
    Tensor::zeros(shape, dtype).requires_grad_(true)
}

fn mean_std(t: &Tensor) -> (f64, f64) {
    let v = t.to_vec_f64();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Sample std within 5% of `want`, mean near 0.
fn assert_std(what: &str, t: &Tensor, want: f64) {
    let (mean, std) = mean_std(t);
    assert!(
        (std / want - 1.0).abs() < 0.05,
        "{what}: std {std} vs {want}"
    );
    assert!(mean.abs() < 0.05 * want, "{what}: mean {mean}");
}

#[test]
fn gains_match_pytorch_calculate_gain() {
    let doc = nn_json::doc();
    let g = &doc["gains"];
    let table = [
        ("linear", calculate_gain(Nonlinearity::Linear, None)),
        ("conv2d", calculate_gain(Nonlinearity::Conv, None)),
        ("sigmoid", calculate_gain(Nonlinearity::Sigmoid, None)),
        ("tanh", calculate_gain(Nonlinearity::Tanh, None)),
        ("relu", calculate_gain(Nonlinearity::Relu, None)),
        ("leaky_relu", calculate_gain(Nonlinearity::LeakyRelu, None)),
        (
            "leaky_relu_0.2",
            calculate_gain(Nonlinearity::LeakyRelu, Some(0.2)),
        ),
        (
            "leaky_relu_sqrt5",
            calculate_gain(Nonlinearity::LeakyRelu, Some(5f64.sqrt())),
        ),
        ("selu", calculate_gain(Nonlinearity::Selu, None)),
    ];
    for (name, got) in table {
        let want = g[name].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-12,
            "{name}: {got} vs PyTorch {want}"
        );
    }
}

#[test]
fn fans_match_pytorch_including_the_receptive_field() {
    let doc = nn_json::doc();
    for f in doc["fans"].as_array().unwrap() {
        let shape: Vec<usize> = f["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let want = (
            f["fan_in"].as_u64().unwrap() as usize,
            f["fan_out"].as_u64().unwrap() as usize,
        );
        assert_eq!(fan_in_and_fan_out(&shape).unwrap(), want, "{shape:?}");
    }
    assert!(fan_in_and_fan_out(&[5]).is_err());
}

#[test]
fn xavier_and_kaiming_have_the_promised_std() {
    let mut rng = Rng::seed(1);
    let w = param(&[512, 512], DType::F32);
    let xavier = (2.0 / 1024.0f64).sqrt();
    init::xavier_uniform(&w, 1.0, &mut rng).unwrap();
    assert_std("xavier_uniform", &w, xavier);
    let bound = 3f64.sqrt() * xavier;
    assert!(w.to_vec_f64().iter().all(|v| v.abs() <= bound));
    init::xavier_normal(&w, 5.0 / 3.0, &mut rng).unwrap();
    assert_std("xavier_normal tanh gain", &w, 5.0 / 3.0 * xavier);
    let he = (2.0 / 512.0f64).sqrt();
    init::kaiming_uniform(&w, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng).unwrap();
    assert_std("kaiming_uniform", &w, he);
    init::kaiming_normal(&w, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng).unwrap();
    assert_std("kaiming_normal", &w, he);
    // Conv weight [out, in, kh, kw]: fan_in = 32·9, fan_out = 64·9.
    let conv = param(&[64, 32, 3, 3], DType::F32);
    init::kaiming_normal(&conv, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng).unwrap();
    assert_std("kaiming conv fan_in", &conv, (2.0 / 288.0f64).sqrt());
    init::kaiming_normal(
        &conv,
        0.2,
        FanMode::FanOut,
        Nonlinearity::LeakyRelu,
        &mut rng,
    )
    .unwrap();
    let gain = calculate_gain(Nonlinearity::LeakyRelu, Some(0.2));
    assert_std("kaiming conv fan_out", &conv, gain / 576f64.sqrt());
}

#[test]
fn simple_fills_and_distributions() {
    let mut rng = Rng::seed(2);
    let w = param(&[200, 300], DType::F64);
    let id = w.id();
    init::uniform(&w, -2.0, 4.0, &mut rng).unwrap();
    let v = w.to_vec_f64();
    assert!(v.iter().all(|&x| (-2.0..4.0).contains(&x)));
    assert!((mean_std(&w).0 - 1.0).abs() < 0.02);
    init::normal(&w, 3.0, 0.5, &mut rng).unwrap();
    let (mean, std) = mean_std(&w);
    assert!((mean - 3.0).abs() < 0.01 && (std - 0.5).abs() < 0.01);
    init::constant(&w, 0.25).unwrap();
    assert!(w.to_vec_f64().iter().all(|&x| x == 0.25));
    init::ones(&w).unwrap();
    assert!(w.to_vec_f64().iter().all(|&x| x == 1.0));
    init::zeros(&w).unwrap();
    assert!(w.to_vec_f64().iter().all(|&x| x == 0.0));
    // Filled in place: the same parameter, still trainable.
    assert_eq!(w.id(), id);
    assert!(w.requires_grad() && w.is_leaf());
}

/// max |MᵀM − I| (or |MMᵀ − I| with `rows`), computed in f64.
fn orthogonality_error(w: &Tensor, rows: bool) -> f64 {
    let m = Tensor::from_vec(w.to_vec_f64(), &[w.shape()[0], w.numel() / w.shape()[0]]).unwrap();
    let m = if rows { m.t().unwrap() } else { m };
    let gram = m.t().unwrap().matmul(&m).unwrap();
    let n = gram.shape()[0];
    let g = gram.to_vec_f64();
    let mut worst = 0f64;
    for i in 0..n {
        for j in 0..n {
            let target = if i == j { 1.0 } else { 0.0 };
            worst = worst.max((g[i * n + j] - target).abs());
        }
    }
    worst
}

#[test]
fn orthogonal_gives_orthonormal_rows_or_columns() {
    let mut rng = Rng::seed(3);
    for dtype in [DType::F64, DType::F32] {
        let w = param(&[512, 512], dtype);
        init::orthogonal(&w, 1.0, &mut rng).unwrap();
        let err = orthogonality_error(&w, false);
        assert!(err < 1e-5, "{dtype}: WᵀW − I up to {err}");
    }
    let tall = param(&[128, 64], DType::F64);
    init::orthogonal(&tall, 1.0, &mut rng).unwrap();
    assert!(orthogonality_error(&tall, false) < 1e-10);
    let wide = param(&[64, 128], DType::F64);
    init::orthogonal(&wide, 1.0, &mut rng).unwrap();
    assert!(orthogonality_error(&wide, true) < 1e-10);
    let conv = param(&[8, 4, 3, 3], DType::F64);
    init::orthogonal(&conv, 1.0, &mut rng).unwrap();
    assert!(orthogonality_error(&conv, true) < 1e-10);
    // The gain scales: (gW)ᵀ(gW) = g²I.
    let scaled = param(&[16, 16], DType::F64);
    init::orthogonal(&scaled, 2.0, &mut rng).unwrap();
    let halved = scaled.mul_scalar(0.5).unwrap();
    assert!(orthogonality_error(&halved, false) < 1e-10);
    assert!(init::orthogonal(&param(&[5], DType::F32), 1.0, &mut rng).is_err());
}

#[test]
fn sparse_zeroes_the_stated_count_in_every_column() {
    let mut rng = Rng::seed(4);
    for (rows, cols, sparsity, zeros) in [(100, 20, 0.25, 25), (15, 7, 0.1, 2), (10, 3, 0.0, 0)] {
        let w = param(&[rows, cols], DType::F32);
        init::sparse(&w, sparsity, 0.01, &mut rng).unwrap();
        let v = w.to_vec_f64();
        for c in 0..cols {
            let count = (0..rows).filter(|&r| v[r * cols + c] == 0.0).count();
            assert_eq!(
                count, zeros,
                "column {c} of {rows}x{cols} at sparsity {sparsity}"
            );
        }
    }
    let w = param(&[500, 50], DType::F64);
    init::sparse(&w, 0.1, 0.5, &mut rng).unwrap();
    let nonzero: Vec<f64> = w.to_vec_f64().into_iter().filter(|&x| x != 0.0).collect();
    let std = (nonzero.iter().map(|x| x * x).sum::<f64>() / nonzero.len() as f64).sqrt();
    assert!((std - 0.5).abs() < 0.02, "{std}");
    assert!(init::sparse(&param(&[2, 2, 2], DType::F32), 0.1, 1.0, &mut rng).is_err());
    assert!(init::sparse(&w, 1.5, 1.0, &mut rng).is_err());
}

#[test]
fn same_seed_same_weights_and_bad_inputs_are_errors() {
    let (a, b) = (param(&[8, 8], DType::F32), param(&[8, 8], DType::F32));
    init::xavier_uniform(&a, 1.0, &mut Rng::seed(7)).unwrap();
    init::xavier_uniform(&b, 1.0, &mut Rng::seed(7)).unwrap();
    assert_eq!(a.to_vec_f64(), b.to_vec_f64());
    let mut rng = Rng::seed(8);
    let ints = Tensor::zeros(&[4, 4], DType::I64);
    assert!(init::normal(&ints, 0.0, 1.0, &mut rng).is_err());
    assert!(init::uniform(&a, 1.0, 0.0, &mut rng).is_err());
    assert!(init::normal(&a, 0.0, -1.0, &mut rng).is_err());
    assert!(init::xavier_normal(&param(&[3], DType::F32), 1.0, &mut rng).is_err());
}
