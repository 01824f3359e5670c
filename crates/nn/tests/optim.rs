//! Optimizers checked against PyTorch, state round trips, errors.
//!
//! `tests/reference/optim_reference.json` was produced by `scripts/optim_reference.py`
//! (torch, float64): the parameters of a small least-squares problem after each of five
//! steps of every optimizer setting.

use serde_json::Value;
use zhixing_nn::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdConfig,
};
use zhixing_nn::Error;
use zhixing_tensor::{DType, Tensor};

fn reference() -> Value {
    serde_json::from_str(include_str!("reference/optim_reference.json")).unwrap()
}

fn data(v: &Value) -> Vec<f64> {
    let d = v["data"].as_array().expect("tensor data");
    d.iter().map(|x| x.as_f64().unwrap()).collect()
}

fn tensor(v: &Value, dtype: DType) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let t = Tensor::from_vec(data(v), &shape).unwrap();
    t.to_dtype(dtype).unwrap()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: got {g}, want {w} (tol {tol})"
        );
    }
}

/// The reference problem: inputs x, y and fresh parameters w, b of `dtype`.
struct Problem {
    x: Tensor,
    y: Tensor,
    w: Tensor,
    b: Tensor,
}

impl Problem {
    fn new(dtype: DType) -> Problem {
        let r = reference();
        let p = &r["problem"];
        Problem {
            x: tensor(&p["x"], dtype),
            y: tensor(&p["y"], dtype),
            w: tensor(&p["w"], dtype).requires_grad_(true),
            b: tensor(&p["b"], dtype).requires_grad_(true),
        }
    }

    /// Fills the gradients of sum((x·w + b − y)²); `with_b = false` leaves b out.
    fn backward(&self, with_b: bool) {
        self.w.zero_grad();
        self.b.zero_grad();
        let mut pred = self.x.matmul(&self.w).unwrap();
        if with_b {
            pred = pred.add(&self.b).unwrap();
        }
        let loss = pred
            .sub(&self.y)
            .unwrap()
            .square()
            .unwrap()
            .sum_all()
            .unwrap();
        loss.backward().unwrap();
    }

    fn params(&self) -> Vec<Tensor> {
        vec![self.w.clone(), self.b.clone()]
    }
}

/// Builds the optimizer a reference case names from its PyTorch settings.
fn build(kind: &str, s: &Value, params: Vec<Tensor>) -> Box<dyn Optimizer> {
    let f = |k: &str, d: f64| s.get(k).and_then(Value::as_f64).unwrap_or(d);
    let on = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(false);
    let betas = |d: (f64, f64)| match s.get("betas") {
        Some(b) => (b[0].as_f64().unwrap(), b[1].as_f64().unwrap()),
        None => d,
    };
    match kind {
        "SGD" => {
            let d = SgdConfig::default();
            let c = SgdConfig {
                lr: f("lr", d.lr),
                momentum: f("momentum", d.momentum),
                dampening: f("dampening", d.dampening),
                weight_decay: f("weight_decay", d.weight_decay),
                nesterov: on("nesterov"),
            };
            Box::new(Sgd::new(params, c).unwrap())
        }
        "RMSprop" => {
            let d = RmsPropConfig::default();
            let c = RmsPropConfig {
                lr: f("lr", d.lr),
                alpha: f("alpha", d.alpha),
                eps: f("eps", d.eps),
                weight_decay: f("weight_decay", d.weight_decay),
                momentum: f("momentum", d.momentum),
                centered: on("centered"),
            };
            Box::new(RmsProp::new(params, c).unwrap())
        }
        "Adagrad" => {
            let d = AdagradConfig::default();
            let c = AdagradConfig {
                lr: f("lr", d.lr),
                lr_decay: f("lr_decay", d.lr_decay),
                weight_decay: f("weight_decay", d.weight_decay),
                initial_accumulator_value: f("initial_accumulator_value", 0.0),
                eps: f("eps", d.eps),
            };
            Box::new(Adagrad::new(params, c).unwrap())
        }
        "Adam" => {
            let d = AdamConfig::default();
            let c = AdamConfig {
                lr: f("lr", d.lr),
                betas: betas(d.betas),
                eps: f("eps", d.eps),
                weight_decay: f("weight_decay", d.weight_decay),
                amsgrad: on("amsgrad"),
            };
            Box::new(Adam::new(params, c).unwrap())
        }
        "AdamW" => {
            let d = AdamWConfig::default();
            let c = AdamWConfig {
                lr: f("lr", d.lr),
                betas: betas(d.betas),
                eps: f("eps", d.eps),
                weight_decay: f("weight_decay", d.weight_decay),
                amsgrad: on("amsgrad"),
            };
            Box::new(AdamW::new(params, c).unwrap())
        }
        other => panic!("unknown optimizer {other}"),
    }
}

/// Runs a reference case for five steps in `dtype` and compares w and b after each.
fn check_case(name: &str, dtype: DType, tol: f64) {
    let r = reference();
    let case = &r["optim"][name];
    assert!(case.is_object(), "reference case {name} missing");
    let skip: Vec<u64> = case["skip_b"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let pb = Problem::new(dtype);
    let mut opt = build(
        case["optimizer"].as_str().unwrap(),
        &case["settings"],
        pb.params(),
    );
    for (step, want) in case["steps"].as_array().unwrap().iter().enumerate() {
        pb.backward(!skip.contains(&(step as u64)));
        opt.step().unwrap();
        assert_close(
            &format!("{name} step {step} w"),
            &pb.w.to_vec_f64(),
            &data(&want["w"]),
            tol,
        );
        assert_close(
            &format!("{name} step {step} b"),
            &pb.b.to_vec_f64(),
            &data(&want["b"]),
            tol,
        );
    }
}

#[test]
fn sgd_matches_pytorch() {
    for name in ["sgd", "sgd_momentum", "sgd_dampening", "sgd_nesterov_wd"] {
        check_case(name, DType::F64, 1e-10);
    }
}

#[test]
fn rmsprop_matches_pytorch() {
    for name in ["rmsprop", "rmsprop_centered_momentum"] {
        check_case(name, DType::F64, 1e-10);
    }
}

#[test]
fn adagrad_matches_pytorch() {
    for name in ["adagrad", "adagrad_decay"] {
        check_case(name, DType::F64, 1e-10);
    }
}

#[test]
fn adam_and_adamw_match_pytorch() {
    for name in [
        "adam",
        "adam_amsgrad_wd",
        "adam_skip",
        "adamw",
        "adamw_amsgrad",
    ] {
        check_case(name, DType::F64, 1e-10);
    }
}

#[test]
fn f32_parameters_match_the_f64_reference() {
    for name in [
        "sgd_nesterov_wd",
        "rmsprop_centered_momentum",
        "adagrad",
        "adam_amsgrad_wd",
        "adamw",
    ] {
        check_case(name, DType::F32, 1e-5);
    }
}

/// Every optimizer kind, with its state-heavy settings, on the reference problem.
fn all_kinds(params: Vec<Tensor>) -> Vec<(&'static str, Box<dyn Optimizer>)> {
    let r = reference();
    let cases = [
        "sgd_nesterov_wd",
        "rmsprop_centered_momentum",
        "adagrad_decay",
        "adam_amsgrad_wd",
        "adamw_amsgrad",
    ];
    cases
        .iter()
        .map(|&n| {
            let c = &r["optim"][n];
            (
                n,
                build(
                    c["optimizer"].as_str().unwrap(),
                    &c["settings"],
                    params.clone(),
                ),
            )
        })
        .collect()
}

#[test]
fn state_round_trip_resumes_bit_identically() {
    for i in 0..5 {
        let pb = Problem::new(DType::F64);
        let (name, mut opt) = all_kinds(pb.params()).swap_remove(i);
        for step in 0..3 {
            pb.backward(step != 1);
            opt.step().unwrap();
        }
        let saved = opt.state();
        let (w3, b3) = (pb.w.to_vec::<f64>().unwrap(), pb.b.to_vec::<f64>().unwrap());
        let mut after = Vec::new();
        for _ in 0..2 {
            pb.backward(true);
            opt.step().unwrap();
            after.push((pb.w.to_vec::<f64>().unwrap(), pb.b.to_vec::<f64>().unwrap()));
        }
        // A fresh optimizer (default-ish settings) on restored parameters.
        let fresh = Problem::new(DType::F64);
        fresh
            .w
            .assign(&Tensor::from_vec(w3.clone(), &[3, 4]).unwrap())
            .unwrap();
        fresh
            .b
            .assign(&Tensor::from_vec(b3.clone(), &[4]).unwrap())
            .unwrap();
        let (_, mut resumed) = all_kinds(fresh.params()).swap_remove(i);
        resumed.set_lr(123.0);
        resumed.load_state(&saved).unwrap();
        assert_eq!(resumed.lr(), opt.lr(), "{name}: lr restored");
        for (step, (w, b)) in after.iter().enumerate() {
            fresh.backward(true);
            resumed.step().unwrap();
            assert_eq!(
                &fresh.w.to_vec::<f64>().unwrap(),
                w,
                "{name}: w after resumed step {step}"
            );
            assert_eq!(
                &fresh.b.to_vec::<f64>().unwrap(),
                b,
                "{name}: b after resumed step {step}"
            );
        }
        assert_eq!(
            resumed.state().scalars,
            opt.state().scalars,
            "{name}: scalars"
        );
    }
}

#[test]
fn state_names_buffers_by_parameter_index() {
    let pb = Problem::new(DType::F32);
    let mut opt = Adam::new(pb.params(), AdamConfig::default()).unwrap();
    pb.backward(false); // b gets no gradient: it is skipped and gets no state
    opt.step().unwrap();
    let st = opt.state();
    let keys: Vec<&str> = st.tensors.keys().map(String::as_str).collect();
    assert_eq!(keys, ["param.0.exp_avg", "param.0.exp_avg_sq"]);
    assert_eq!(st.scalars["param.0.step"], 1.0);
    assert!(!st.scalars.contains_key("param.1.step"));
    assert_eq!(st.tensors["param.0.exp_avg"].shape(), &[3, 4]);
    assert_eq!(st.tensors["param.0.exp_avg"].dtype(), DType::F32);
    assert_eq!(st.scalars["lr"], 1e-3);
    assert_eq!(st.scalars["beta2"], 0.999);
}

#[test]
fn parameters_without_gradient_are_left_alone() {
    let pb = Problem::new(DType::F64);
    let frozen = Tensor::from_vec(vec![1.0f64, 2.0], &[2])
        .unwrap()
        .requires_grad_(true);
    let mut params = pb.params();
    params.push(frozen.clone());
    for (name, mut opt) in all_kinds(params) {
        pb.backward(true);
        opt.step().unwrap();
        assert_eq!(frozen.to_vec::<f64>().unwrap(), vec![1.0, 2.0], "{name}");
        assert!(
            !opt.state()
                .tensors
                .keys()
                .any(|k| k.starts_with("param.2.")),
            "{name}"
        );
    }
}

#[test]
fn large_parameters_update_in_parallel_exactly_like_small_ones() {
    let n = 100_000;
    let values: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 1000) as f32 - 500.0) / 300.0)
        .collect();
    let big = Tensor::from_vec(values.clone(), &[n])
        .unwrap()
        .requires_grad_(true);
    let parts: Vec<Tensor> = values
        .chunks(n / 4)
        .map(|c| {
            Tensor::from_slice(c, &[c.len()])
                .unwrap()
                .requires_grad_(true)
        })
        .collect();
    let cfg = AdamConfig {
        weight_decay: 0.01,
        amsgrad: true,
        ..AdamConfig::default()
    };
    let mut a = Adam::new(vec![big.clone()], cfg).unwrap();
    let mut b = Adam::new(parts.clone(), cfg).unwrap();
    for _ in 0..3 {
        // loss = Σ p³/3 → grad = p²
        for p in std::iter::once(&big).chain(&parts) {
            p.zero_grad();
            p.powf(3.0)
                .unwrap()
                .sum_all()
                .unwrap()
                .mul_scalar(1.0 / 3.0)
                .unwrap()
                .backward()
                .unwrap();
        }
        a.step().unwrap();
        b.step().unwrap();
    }
    let joined: Vec<f32> = parts
        .iter()
        .flat_map(|p| p.to_vec::<f32>().unwrap())
        .collect();
    assert_eq!(big.to_vec::<f32>().unwrap(), joined);
    assert_ne!(joined, values);
}

#[test]
fn a_gradient_sharing_the_parameters_storage_is_read_safely() {
    let p = Tensor::from_vec(vec![1.0f64, -2.0], &[2])
        .unwrap()
        .requires_grad_(true);
    p.backward_with(&p).unwrap(); // grad is a view of p's own storage
    let mut opt = Sgd::new(
        vec![p.clone()],
        SgdConfig {
            lr: 0.5,
            ..SgdConfig::default()
        },
    )
    .unwrap();
    opt.step().unwrap();
    assert_eq!(p.to_vec::<f64>().unwrap(), vec![0.5, -1.0]);
}

#[test]
fn invalid_settings_are_errors() {
    let p = || vec![Tensor::zeros(&[2], DType::F32).requires_grad_(true)];
    let is_config = |r: Result<(), Error>| matches!(r, Err(Error::Config { .. }));
    let sgd = |c: SgdConfig| Sgd::new(p(), c).map(|_| ());
    assert!(is_config(sgd(SgdConfig {
        lr: -0.1,
        ..SgdConfig::default()
    })));
    assert!(is_config(sgd(SgdConfig {
        lr: f64::NAN,
        ..SgdConfig::default()
    })));
    assert!(is_config(sgd(SgdConfig {
        nesterov: true,
        ..SgdConfig::default()
    })));
    let damp = SgdConfig {
        nesterov: true,
        momentum: 0.9,
        dampening: 0.1,
        ..SgdConfig::default()
    };
    assert!(is_config(sgd(damp)));
    assert!(is_config(sgd(SgdConfig {
        weight_decay: -1.0,
        ..SgdConfig::default()
    })));
    let adam = |c: AdamConfig| Adam::new(p(), c).map(|_| ());
    assert!(is_config(adam(AdamConfig {
        betas: (1.0, 0.999),
        ..AdamConfig::default()
    })));
    assert!(is_config(adam(AdamConfig {
        betas: (0.9, -0.1),
        ..AdamConfig::default()
    })));
    assert!(is_config(adam(AdamConfig {
        eps: -1e-8,
        ..AdamConfig::default()
    })));
    let adamw = AdamW::new(
        p(),
        AdamWConfig {
            lr: -1.0,
            ..AdamWConfig::default()
        },
    );
    assert!(is_config(adamw.map(|_| ())));
    let rms = RmsProp::new(
        p(),
        RmsPropConfig {
            alpha: -0.5,
            ..RmsPropConfig::default()
        },
    );
    assert!(is_config(rms.map(|_| ())));
    let ada = Adagrad::new(
        p(),
        AdagradConfig {
            lr_decay: -0.5,
            ..AdagradConfig::default()
        },
    );
    assert!(is_config(ada.map(|_| ())));
}

#[test]
fn unsuitable_parameters_are_errors() {
    let cfg = SgdConfig::default();
    let ints = Tensor::zeros(&[2], DType::I64);
    assert!(matches!(
        Sgd::new(vec![ints], cfg),
        Err(Error::Config { .. })
    ));
    let w = Tensor::zeros(&[2, 3], DType::F32).requires_grad_(true);
    assert!(matches!(
        Sgd::new(vec![w.clone(), w.clone()], cfg),
        Err(Error::Config { .. })
    ));
    let computed = w.mul_scalar(2.0).unwrap();
    assert!(matches!(
        Sgd::new(vec![computed], cfg),
        Err(Error::Config { .. })
    ));
    let strided = w.t().unwrap();
    assert!(matches!(
        Sgd::new(vec![strided], cfg),
        Err(Error::Config { .. })
    ));
}

#[test]
fn mismatched_states_are_rejected_and_leave_the_optimizer_unchanged() {
    let pb = Problem::new(DType::F64);
    let mut adam = Adam::new(pb.params(), AdamConfig::default()).unwrap();
    pb.backward(true);
    adam.step().unwrap();
    let good = adam.state();
    let mut adamw = AdamW::new(pb.params(), AdamWConfig::default()).unwrap();
    assert!(matches!(adamw.load_state(&good), Err(Error::StateDict(_))));
    let mut sgd = Sgd::new(pb.params(), SgdConfig::default()).unwrap();
    assert!(sgd.load_state(&good).is_err(), "Adam state into SGD");

    let mut bad = good.clone();
    let wrong = Tensor::zeros(&[4], DType::F64);
    bad.tensors.insert("param.0.exp_avg".into(), wrong);
    bad.scalars.insert("lr".into(), 0.5);
    assert!(adam.load_state(&bad).is_err());
    assert_eq!(adam.lr(), 1e-3, "a failed load changes nothing");
    let mut bad = good.clone();
    bad.scalars.insert("beta1".into(), 1.5);
    assert!(matches!(adam.load_state(&bad), Err(Error::Config { .. })));
    let mut bad = good.clone();
    bad.tensors
        .insert("param.7.exp_avg".into(), Tensor::zeros(&[4], DType::F64));
    assert!(adam.load_state(&bad).is_err());
    let mut bad = good;
    bad.scalars.insert("num_params".into(), 3.0);
    assert!(adam.load_state(&bad).is_err());
}

#[test]
fn lr_can_be_read_and_set() {
    let pb = Problem::new(DType::F64);
    for (name, mut opt) in all_kinds(pb.params()) {
        opt.set_lr(0.25);
        assert_eq!(opt.lr(), 0.25, "{name}");
        assert_eq!(opt.state().scalars["lr"], 0.25, "{name}");
        opt.zero_grad();
    }
    pb.backward(true);
    Sgd::new(pb.params(), SgdConfig::default())
        .unwrap()
        .zero_grad();
    assert!(pb.w.grad().is_none() && pb.b.grad().is_none());
}
