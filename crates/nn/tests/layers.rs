//! Layers: PyTorch agreement (Linear, LayerNorm, BatchNorm1d), train/eval behaviour,
//! naming, gradient flow, parameter counts, initial loss, and learning XOR.

#[path = "reference/nn_json.rs"]
mod nn_json;

use nn_json::{arrays, assert_tensor, case, doc, tensor, Array};
use zhixing_nn::layers::{
    BatchNorm1d, BatchNormConfig, Dropout, Embedding, Flatten, LayerNorm, LayerNormConfig, Linear,
    LinearConfig, ReLU, Residual, Sequential, Sigmoid, Softmax, Tanh, GELU,
};
use zhixing_nn::loss::{self, Reduction};
use zhixing_nn::module::join;
use zhixing_nn::{state, Module};
use zhixing_tensor::{no_grad, DType, Rng, Tensor};

const F64: DType = DType::F64;

fn load(module: &dyn Module, named: &[(&str, &Array)]) {
    let tensors: Vec<(String, Tensor)> = named
        .iter()
        .map(|(n, a)| (n.to_string(), tensor(a, F64)))
        .collect();
    state::load_state_dict(module, &tensors).unwrap();
}

fn grad(t: &Tensor) -> Tensor {
    t.grad().expect("a gradient")
}

#[test]
fn linear_matches_pytorch_forward_and_backward() {
    let mut rng = Rng::seed(1);
    for (name, bias) in [("linear_3d", true), ("linear_no_bias", false)] {
        let c = case(name);
        let w = &c.inputs["weight"];
        let cfg = LinearConfig::new(w.0[1], w.0[0]).bias(bias).dtype(F64);
        let layer = Linear::from_config(&cfg, &mut rng).unwrap();
        let mut named = vec![("weight", w)];
        if bias {
            named.push(("bias", &c.inputs["bias"]));
        }
        load(&layer, &named);
        let x = tensor(&c.inputs["input"], F64).requires_grad_(true);
        let y = layer.forward(&x).unwrap();
        assert_tensor(name, &y, &c.output, 1e-9);
        y.backward_with(&tensor(&c.upstream, F64)).unwrap();
        assert_tensor("grad x", &grad(&x), &c.grads["input"], 1e-9);
        assert_tensor("grad w", &grad(&layer.weight), &c.grads["weight"], 1e-9);
        if let Some(b) = &layer.bias {
            assert_tensor("grad b", &grad(b), &c.grads["bias"], 1e-9);
        }
    }
}

#[test]
fn layer_norm_with_affine_matches_pytorch() {
    let c = case("layer_norm_affine");
    let cfg = LayerNormConfig {
        dtype: F64,
        ..LayerNormConfig::new(6)
    };
    let ln = LayerNorm::from_config(&cfg);
    load(
        &ln,
        &[("weight", &c.inputs["weight"]), ("bias", &c.inputs["bias"])],
    );
    let x = tensor(&c.inputs["input"], F64).requires_grad_(true);
    let y = ln.forward(&x).unwrap();
    assert_tensor("layer_norm", &y, &c.output, 1e-9);
    y.backward_with(&tensor(&c.upstream, F64)).unwrap();
    assert_tensor("grad x", &grad(&x), &c.grads["input"], 1e-9);
    assert_tensor(
        "grad w",
        &grad(ln.weight.as_ref().unwrap()),
        &c.grads["weight"],
        1e-9,
    );
    assert_tensor(
        "grad b",
        &grad(ln.bias.as_ref().unwrap()),
        &c.grads["bias"],
        1e-9,
    );
}

#[test]
fn batch_norm_matches_pytorch_over_two_steps_and_in_eval() {
    for name in ["batch_norm_2d", "batch_norm_3d"] {
        let r = arrays(&doc()["layers"][name]);
        let ch = r["weight"].0[0];
        let bn = BatchNorm1d::from_config(&BatchNormConfig {
            dtype: F64,
            ..BatchNormConfig::new(ch)
        });
        bn.weight
            .as_ref()
            .unwrap()
            .assign(&tensor(&r["weight"], F64))
            .unwrap();
        bn.bias
            .as_ref()
            .unwrap()
            .assign(&tensor(&r["bias"], F64))
            .unwrap();
        let y1 = bn.forward(&tensor(&r["x1"], F64)).unwrap();
        assert_tensor("train step 1", &y1, &r["y1"], 1e-9);
        let x2 = tensor(&r["x2"], F64).requires_grad_(true);
        let y2 = bn.forward(&x2).unwrap();
        assert_tensor("train step 2", &y2, &r["y2"], 1e-9);
        y2.backward_with(&tensor(&r["upstream"], F64)).unwrap();
        assert_tensor("grad x", &grad(&x2), &r["grad_x2"], 1e-9);
        assert_tensor(
            "grad w",
            &grad(bn.weight.as_ref().unwrap()),
            &r["grad_weight"],
            1e-9,
        );
        assert_tensor(
            "grad b",
            &grad(bn.bias.as_ref().unwrap()),
            &r["grad_bias"],
            1e-9,
        );
        assert_tensor("running_mean", &bn.running_mean, &r["running_mean"], 1e-9);
        assert_tensor("running_var", &bn.running_var, &r["running_var"], 1e-9);
        assert_eq!(bn.num_batches_tracked.dtype(), DType::I64);
        assert_eq!(bn.num_batches_tracked.item().unwrap(), 2.0);
        bn.eval();
        let y = bn.forward(&tensor(&r["x3"], F64)).unwrap();
        assert_tensor("eval", &y, &r["y_eval"], 1e-9);
    }
}

#[test]
fn batch_norm_train_and_eval_differ() {
    let bn = BatchNorm1d::new(3);
    let mut rng = Rng::seed(2);
    let x = Tensor::randn(&[64, 3], DType::F32, &mut rng)
        .affine(2.0, 5.0)
        .unwrap();
    let train = bn.forward(&x).unwrap();
    // Batch statistics: every channel comes out with mean 0 and (biased) variance 1.
    let mean = train.mean(&[0], false).unwrap().to_vec_f64();
    let var = train.var(&[0], false, false).unwrap().to_vec_f64();
    assert!(mean.iter().all(|m| m.abs() < 1e-5), "{mean:?}");
    assert!(var.iter().all(|v| (v - 1.0).abs() < 1e-3), "{var:?}");
    bn.eval();
    let before = bn.running_mean.to_vec_f64();
    let eval = bn.forward(&x).unwrap();
    assert_eq!(
        bn.running_mean.to_vec_f64(),
        before,
        "eval must not update stats"
    );
    let diff = eval.sub(&train).unwrap().abs().unwrap().max_all().unwrap();
    assert!(diff.item().unwrap() > 0.5);
    assert_eq!(bn.num_batches_tracked.item().unwrap(), 1.0);
}

#[test]
fn dropout_is_identity_in_eval_and_drops_about_p_in_training() {
    let mut rng = Rng::seed(3);
    let d = Dropout::new(0.3, &mut rng).unwrap();
    let x = Tensor::ones(&[100_000], DType::F32);
    let y = d.forward(&x).unwrap().to_vec_f64();
    let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
    assert!((zeros - 0.3).abs() < 0.01, "dropped {zeros}");
    let kept = 1.0 / 0.7;
    assert!(y.iter().all(|&v| v == 0.0 || (v - kept).abs() < 1e-6));
    d.eval();
    assert_eq!(d.forward(&x).unwrap().to_vec_f64(), x.to_vec_f64());
    assert!(Dropout::new(1.0, &mut rng).is_err());
    // The same construction seed drops the same elements.
    let da = Dropout::new(0.5, &mut Rng::seed(9)).unwrap();
    let db = Dropout::new(0.5, &mut Rng::seed(9)).unwrap();
    assert_eq!(
        da.forward(&x).unwrap().to_vec_f64(),
        db.forward(&x).unwrap().to_vec_f64()
    );
}

/// A model holding a Sequential in a field named `layers`.
struct Net {
    layers: Sequential,
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> zhixing_nn::Result<Tensor> {
        self.layers.forward(x)
    }
    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        self.layers.visit_params(&join(prefix, "layers"), f);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        self.layers.visit_buffers(&join(prefix, "layers"), f);
    }
}

fn names(pairs: Vec<(String, Tensor)>) -> Vec<String> {
    pairs.into_iter().map(|(n, _)| n).collect()
}

#[test]
fn sequential_names_children_by_index() {
    let mut rng = Rng::seed(4);
    let seq = Sequential::new()
        .add(Linear::new(4, 8, &mut rng).unwrap())
        .add(BatchNorm1d::new(8))
        .add(ReLU)
        .add(Linear::new(8, 2, &mut rng).unwrap());
    let want = [
        "0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias",
    ];
    assert_eq!(names(seq.named_parameters()), want);
    let buffers = ["1.running_mean", "1.running_var", "1.num_batches_tracked"];
    assert_eq!(names(seq.named_buffers()), buffers);
    let net = Net { layers: seq };
    assert_eq!(names(net.named_parameters())[4], "layers.3.weight");
    assert_eq!(names(net.named_buffers())[0], "layers.1.running_mean");
    let simple = Sequential::new()
        .add(Linear::new(2, 2, &mut rng).unwrap())
        .add(Tanh)
        .add(Linear::new(2, 2, &mut rng).unwrap());
    assert_eq!(
        names(simple.named_parameters()),
        ["0.weight", "0.bias", "2.weight", "2.bias"]
    );
}

/// Embedding → Flatten → Linear → BatchNorm → ReLU → Dropout → Linear → LayerNorm →
/// GELU(tanh) → Residual(Linear) → Linear: one of everything.
fn everything_model(rng: &mut Rng) -> Sequential {
    Sequential::new()
        .add(Embedding::new(10, 4, rng).unwrap())
        .add(Flatten::default())
        .add(Linear::new(12, 16, rng).unwrap())
        .add(BatchNorm1d::new(16))
        .add(ReLU)
        .add(Dropout::new(0.1, rng).unwrap())
        .add(Linear::new(16, 16, rng).unwrap())
        .add(LayerNorm::new(16))
        .add(GELU::tanh())
        .add(Residual::new(Linear::new(16, 16, rng).unwrap()))
        .add(Linear::new(16, 5, rng).unwrap())
}

#[test]
fn every_parameter_receives_a_nonzero_gradient() {
    let mut rng = Rng::seed(5);
    let model = everything_model(&mut rng);
    let ids: Vec<i64> = (0..8 * 3).map(|_| rng.below(10) as i64).collect();
    let ids = Tensor::from_vec(ids, &[8, 3]).unwrap();
    let y: Vec<i64> = (0..8).map(|_| rng.below(5) as i64).collect();
    let y = Tensor::from_vec(y, &[8]).unwrap();
    let logits = model.forward(&ids).unwrap();
    assert_eq!(logits.shape(), [8, 5]);
    loss::cross_entropy(&logits, &y)
        .unwrap()
        .backward()
        .unwrap();
    for (name, p) in model.named_parameters() {
        let g = p.grad().unwrap_or_else(|| panic!("{name}: no gradient"));
        let g = g.to_vec_f64();
        assert!(
            g.iter().all(|v| v.is_finite()),
            "{name}: non-finite gradient"
        );
        assert!(g.iter().any(|&v| v != 0.0), "{name}: all-zero gradient");
    }
}

#[test]
fn mlp_parameter_count() {
    let mut rng = Rng::seed(6);
    let mlp = Sequential::new()
        .add(Linear::new(784, 128, &mut rng).unwrap())
        .add(ReLU)
        .add(Linear::new(128, 64, &mut rng).unwrap())
        .add(ReLU)
        .add(Linear::new(64, 10, &mut rng).unwrap());
    assert_eq!(mlp.num_parameters(), 109_386);
    assert_eq!(mlp.parameters().len(), 6);
}

#[test]
fn fresh_classifier_starts_near_ln_c() {
    for classes in [10usize, 100] {
        let mut rng = Rng::seed(classes as u64);
        let model = Sequential::new()
            .add(Linear::new(32, 64, &mut rng).unwrap())
            .add(ReLU)
            .add(Linear::new(64, classes, &mut rng).unwrap());
        let x = Tensor::randn(&[512, 32], DType::F32, &mut rng);
        let y: Vec<i64> = (0..512).map(|_| rng.below(classes) as i64).collect();
        let y = Tensor::from_vec(y, &[512]).unwrap();
        let l = loss::cross_entropy(&model.forward(&x).unwrap(), &y).unwrap();
        let (got, want) = (l.item().unwrap(), (classes as f64).ln());
        assert!(
            (got - want).abs() < 0.15,
            "C={classes}: {got} vs ln C = {want}"
        );
    }
}

#[test]
fn layer_shape_mistakes_are_errors() {
    let mut rng = Rng::seed(7);
    let lin = Linear::new(4, 2, &mut rng).unwrap();
    assert!(lin.forward(&Tensor::zeros(&[3, 5], DType::F32)).is_err());
    assert_eq!(
        lin.forward(&Tensor::zeros(&[4], DType::F32))
            .unwrap()
            .shape(),
        [2]
    );
    let bn = BatchNorm1d::new(3);
    assert!(bn.forward(&Tensor::zeros(&[4, 2], DType::F32)).is_err());
    assert!(
        bn.forward(&Tensor::zeros(&[1, 3], DType::F32)).is_err(),
        "one value per channel"
    );
    assert!(LayerNorm::new(3)
        .forward(&Tensor::zeros(&[2, 4], DType::F32))
        .is_err());
    let emb = Embedding::new(5, 2, &mut rng).unwrap();
    let bad = Tensor::from_vec(vec![1i64, 5], &[2]).unwrap();
    assert!(emb.forward(&bad).is_err());
    assert!(emb.forward(&Tensor::zeros(&[2], DType::F32)).is_err());
    let res = Residual::new(Linear::new(4, 3, &mut rng).unwrap());
    assert!(res.forward(&Tensor::zeros(&[2, 4], DType::F32)).is_err());
}

#[test]
fn simple_layers_do_what_they_say() {
    let mut rng = Rng::seed(8);
    let emb = Embedding::new(50, 3, &mut rng).unwrap();
    let ids = Tensor::from_vec(vec![4i64, 0, 49, 4], &[2, 2]).unwrap();
    let out = emb.forward(&ids).unwrap();
    assert_eq!(out.shape(), [2, 2, 3]);
    let w = emb.weight.to_vec2_f64().unwrap();
    assert_eq!(out.to_vec_f64()[6..9], w[49][..]);
    let x = Tensor::randn(&[2, 3, 4], DType::F32, &mut rng);
    assert_eq!(Flatten::default().forward(&x).unwrap().shape(), [2, 12]);
    let s = Softmax::new(-1)
        .forward(&x)
        .unwrap()
        .sum(&[-1], false)
        .unwrap();
    assert!(s.to_vec_f64().iter().all(|v| (v - 1.0).abs() < 1e-6));
    let exact = GELU::exact().forward(&x).unwrap();
    let approx = GELU::tanh().forward(&x).unwrap();
    let gap = exact
        .sub(&approx)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap();
    assert!(gap.item().unwrap() < 1e-2);
    // PyTorch's Linear init: every weight and bias inside ±1/√in.
    let lin = Linear::new(100, 200, &mut rng).unwrap();
    for p in lin.parameters() {
        assert!(p.to_vec_f64().iter().all(|v| v.abs() <= 0.1));
    }
}

/// Plain SGD written out: p ← p − lr·∂loss/∂p. Returns the loss before the step and the
/// number of the four XOR points classified correctly (output on the right side of ½).
fn sgd_step(model: &dyn Module, x: &Tensor, y: &Tensor, lr: f64) -> (f64, usize) {
    let out = model.forward(x).unwrap();
    let l = loss::mse(&out, y, Reduction::Mean).unwrap();
    l.backward().unwrap();
    no_grad(|| {
        for p in model.parameters() {
            p.assign(&p.sub(&grad(&p).mul_scalar(lr).unwrap()).unwrap())
                .unwrap();
            p.zero_grad();
        }
    });
    let pred = out.to_vec_f64();
    let correct = pred
        .iter()
        .zip(y.to_vec_f64())
        .filter(|(p, t)| (**p > 0.5) == (*t > 0.5));
    (l.item().unwrap(), correct.count())
}

fn xor_data() -> (Tensor, Tensor) {
    let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]).unwrap();
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4, 1]).unwrap();
    (x, y)
}

#[test]
fn an_mlp_learns_xor() {
    let (x, y) = xor_data();
    let mut rng = Rng::seed(11);
    let cfg = |i, o| LinearConfig::new(i, o).dtype(F64);
    let mlp = Sequential::new()
        .add(Linear::from_config(&cfg(2, 8), &mut rng).unwrap())
        .add(Tanh)
        .add(Linear::from_config(&cfg(8, 1), &mut rng).unwrap())
        .add(Sigmoid);
    let mut last = f64::INFINITY;
    for _ in 0..5000 {
        last = sgd_step(&mlp, &x, &y, 2.0).0;
        if last < 0.01 {
            break;
        }
    }
    assert!(last < 0.01, "XOR loss stayed at {last}");
    assert_eq!(sgd_step(&mlp, &x, &y, 0.0).1, 4);
}

/// XOR is not linearly separable, so a single sigmoid unit never classifies all four
/// points; under MSE its loss cannot go below 0.25 (checked numerically over weights).
#[test]
fn a_single_layer_perceptron_cannot_learn_xor() {
    let (x, y) = xor_data();
    let mut rng = Rng::seed(12);
    let lin = Linear::from_config(&LinearConfig::new(2, 1).dtype(F64), &mut rng).unwrap();
    let perceptron = Sequential::new().add(lin).add(Sigmoid);
    for _ in 0..3000 {
        let (l, correct) = sgd_step(&perceptron, &x, &y, 2.0);
        assert!(l >= 0.249, "loss {l} below the linear bound");
        assert!(l >= 0.17);
        assert!(correct < 4, "a linear unit separated XOR");
    }
}
