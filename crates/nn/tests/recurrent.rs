//! RNN, LSTM and GRU layers against PyTorch (2 layers, batch_first, initial states, full
//! and variable-length batches; values from scripts/rnn_reference.py), parameter names,
//! gradient flow to every parameter, shape errors, and the sequence classifier.

#[path = "reference/nn_json.rs"]
mod nn_json;

use nn_json::{array, assert_tensor, tensor};
use serde_json::Value;
use zhixing_nn::layers::recurrent::{
    CellType, Gru, Lstm, RecurrentConfig, RecurrentOutput, Rnn, RnnActivation, SequenceClassifier,
};
use zhixing_nn::{state, Module};
use zhixing_tensor::{DType, Rng, Tensor};

const F64: DType = DType::F64;

fn doc() -> Value {
    serde_json::from_str(include_str!("reference/rnn_reference.json")).expect("valid JSON")
}

fn t(v: &Value) -> Tensor {
    tensor(&array(v), F64)
}

enum Layer {
    Rnn(Rnn),
    Lstm(Lstm),
    Gru(Gru),
}

impl Layer {
    fn module(&self) -> &dyn Module {
        match self {
            Layer::Rnn(m) => m,
            Layer::Lstm(m) => m,
            Layer::Gru(m) => m,
        }
    }
}

fn build(kind: &str, cfg: &RecurrentConfig) -> Layer {
    let mut rng = Rng::seed(0);
    match kind {
        "rnn" => Layer::Rnn(Rnn::new(cfg, &mut rng).unwrap()),
        "rnn_relu" => {
            Layer::Rnn(Rnn::new(&cfg.clone().nonlinearity(RnnActivation::Relu), &mut rng).unwrap())
        }
        "lstm" => Layer::Lstm(Lstm::new(cfg, &mut rng).unwrap()),
        _ => Layer::Gru(Gru::new(cfg, &mut rng).unwrap()),
    }
}

fn check_case(name: &str) {
    let all = doc();
    let c = &all["cases"][name];
    assert!(c.is_object(), "case {name} missing");
    let kind = c["kind"].as_str().unwrap();
    let n = |k: &str| all[k].as_u64().unwrap() as usize;
    let cfg = RecurrentConfig::new(n("input_size"), n("hidden_size"))
        .num_layers(n("num_layers"))
        .batch_first(true)
        .dtype(F64);
    let layer = build(kind, &cfg);
    let params: Vec<(String, Tensor)> = c["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), t(v)))
        .collect();
    state::load_state_dict(layer.module(), &params).unwrap();

    let x = t(&c["input"]).requires_grad_(true);
    let h0 = t(&c["h0"]).requires_grad_(true);
    let c0 = c.get("c0").map(|v| t(v).requires_grad_(true));
    let lengths: Option<Vec<usize>> = c["lengths"]
        .as_array()
        .map(|l| l.iter().map(|v| v.as_u64().unwrap() as usize).collect());
    let lengths = lengths.as_deref();
    let out: RecurrentOutput = match &layer {
        Layer::Rnn(m) => m.forward_with(&x, Some(&h0), lengths).unwrap(),
        Layer::Gru(m) => m.forward_with(&x, Some(&h0), lengths).unwrap(),
        Layer::Lstm(m) => m
            .forward_with(&x, Some((&h0, c0.as_ref().unwrap())), lengths)
            .unwrap(),
    };
    let tol = 1e-10;
    assert_tensor(
        &format!("{name} output"),
        &out.output,
        &array(&c["output"]),
        tol,
    );
    assert_tensor(&format!("{name} h_n"), &out.h_n, &array(&c["h_n"]), tol);
    let mut loss = out
        .output
        .mul(&t(&c["u_out"]))
        .unwrap()
        .sum_all()
        .unwrap()
        .add(&out.h_n.mul(&t(&c["u_h"])).unwrap().sum_all().unwrap())
        .unwrap();
    if let Some(c_n) = &out.c_n {
        assert_tensor(&format!("{name} c_n"), c_n, &array(&c["c_n"]), tol);
        loss = loss
            .add(&c_n.mul(&t(&c["u_c"])).unwrap().sum_all().unwrap())
            .unwrap();
    }
    loss.backward().unwrap();
    let grads = &c["grads"];
    assert_tensor(
        &format!("{name} d input"),
        &x.grad().unwrap(),
        &array(&grads["input"]),
        tol,
    );
    assert_tensor(
        &format!("{name} d h0"),
        &h0.grad().unwrap(),
        &array(&grads["h0"]),
        tol,
    );
    if let Some(c0) = &c0 {
        assert_tensor(
            &format!("{name} d c0"),
            &c0.grad().unwrap(),
            &array(&grads["c0"]),
            tol,
        );
    }
    for (pname, p) in layer.module().named_parameters() {
        let g = p
            .grad()
            .unwrap_or_else(|| panic!("{name}: {pname} has no gradient"));
        assert_tensor(
            &format!("{name} d {pname}"),
            &g,
            &array(&grads[&pname]),
            tol,
        );
    }
}

#[test]
fn rnn_tanh_matches_pytorch() {
    check_case("rnn");
}

#[test]
fn rnn_relu_matches_pytorch() {
    check_case("rnn_relu");
}

#[test]
fn lstm_matches_pytorch() {
    check_case("lstm");
}

#[test]
fn gru_matches_pytorch() {
    check_case("gru");
}

#[test]
fn masked_sequences_match_pytorch_packed_sequences() {
    for name in ["rnn_masked", "rnn_relu_masked", "lstm_masked", "gru_masked"] {
        check_case(name);
    }
}

#[test]
fn pytorch_names_and_shapes() {
    let cfg = RecurrentConfig::new(28, 16).num_layers(2);
    for (kind, g) in [("rnn", 1), ("lstm", 4), ("gru", 3)] {
        let layer = build(kind, &cfg);
        let names: Vec<(String, Vec<usize>)> = layer
            .module()
            .named_parameters()
            .into_iter()
            .map(|(n, p)| (n, p.shape().to_vec()))
            .collect();
        let want = vec![
            ("weight_ih_l0".to_string(), vec![g * 16, 28]),
            ("weight_hh_l0".to_string(), vec![g * 16, 16]),
            ("bias_ih_l0".to_string(), vec![g * 16]),
            ("bias_hh_l0".to_string(), vec![g * 16]),
            ("weight_ih_l1".to_string(), vec![g * 16, 16]),
            ("weight_hh_l1".to_string(), vec![g * 16, 16]),
            ("bias_ih_l1".to_string(), vec![g * 16]),
            ("bias_hh_l1".to_string(), vec![g * 16]),
        ];
        assert_eq!(names, want, "{kind}");
        // U(−1/√H, 1/√H) init.
        for (_, p) in layer.module().named_parameters() {
            let m = p.abs().unwrap().max_all().unwrap().item().unwrap();
            assert!(m <= 0.25 && m > 0.1, "{kind}: init bound {m}");
        }
    }
}

#[test]
fn every_parameter_receives_a_nonzero_gradient() {
    for cell in [
        CellType::Rnn(RnnActivation::Tanh),
        CellType::Lstm,
        CellType::Gru,
    ] {
        let mut rng = Rng::seed(3);
        let model = SequenceClassifier::new(cell, 7, 8, 2, 5, &mut rng).unwrap();
        let x = Tensor::randn(&[4, 6 * 7], DType::F32, &mut rng);
        let y = model.forward(&x).unwrap();
        assert_eq!(y.shape(), &[4, 5]);
        y.square().unwrap().sum_all().unwrap().backward().unwrap();
        for (name, p) in model.named_parameters() {
            let g = p
                .grad()
                .unwrap_or_else(|| panic!("{cell:?}: {name} has no gradient"));
            let norm = g.abs().unwrap().max_all().unwrap().item().unwrap();
            assert!(norm > 0.0, "{cell:?}: {name} has a zero gradient");
        }
    }
}

#[test]
fn time_major_equals_batch_first() {
    let mut rng = Rng::seed(5);
    let x = Tensor::randn(&[3, 4, 2], DType::F64, &mut rng);
    let cfg = RecurrentConfig::new(2, 3).num_layers(2).dtype(F64);
    let a = Lstm::new(&cfg, &mut Rng::seed(1)).unwrap();
    let b = Lstm::new(&cfg.clone().batch_first(true), &mut Rng::seed(1)).unwrap();
    let ya = a.forward(&x.permute(&[1, 0, 2]).unwrap()).unwrap();
    let yb = b.forward(&x).unwrap();
    let diff = ya
        .permute(&[1, 0, 2])
        .unwrap()
        .sub(&yb)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .item()
        .unwrap();
    assert!(diff < 1e-12);
}

#[test]
fn shape_errors_are_errors() {
    let cfg = RecurrentConfig::new(2, 3).num_layers(2).batch_first(true);
    let lstm = Lstm::new(&cfg, &mut Rng::seed(0)).unwrap();
    let gru = Gru::new(&cfg, &mut Rng::seed(0)).unwrap();
    let x = Tensor::zeros(&[4, 5, 2], DType::F32);
    assert!(lstm
        .forward(&Tensor::zeros(&[4, 5, 3], DType::F32))
        .is_err());
    assert!(lstm.forward(&Tensor::zeros(&[4, 10], DType::F32)).is_err());
    assert!(lstm.forward(&x.to_dtype(DType::F64).unwrap()).is_err());
    let bad = Tensor::zeros(&[1, 4, 3], DType::F32);
    let good = Tensor::zeros(&[2, 4, 3], DType::F32);
    assert!(lstm.forward_with(&x, Some((&bad, &good)), None).is_err());
    assert!(lstm.forward_with(&x, Some((&good, &bad)), None).is_err());
    assert!(lstm.forward_with(&x, Some((&good, &good)), None).is_ok());
    assert!(gru.forward_with(&x, Some(&bad), None).is_err());
    assert!(gru.forward_with(&x, None, Some(&[5, 5, 5])).is_err());
    assert!(gru.forward_with(&x, None, Some(&[5, 5, 5, 6])).is_err());
    assert!(gru.forward_with(&x, None, Some(&[5, 5, 5, 0])).is_err());
    assert!(gru.forward_with(&x, None, Some(&[5, 1, 2, 3])).is_ok());
    assert!(Rnn::new(&RecurrentConfig::new(0, 3), &mut Rng::seed(0)).is_err());
    assert!("conv".parse::<CellType>().is_err());
}
