//! Losses and their input gradients against PyTorch (float64 references from
//! `scripts/nn_reference.py`), plus error handling and the weight penalties.

#[path = "reference/nn_json.rs"]
mod nn_json;

use std::collections::HashMap;

use nn_json::{assert_close, assert_tensor, case, tensor};
use serde_json::Value;
use zhixing_nn::loss::{self, CrossEntropy, Reduction};
use zhixing_nn::Result;
use zhixing_tensor::{DType, Tensor};

type Inputs = HashMap<String, Tensor>;

/// Builds the case's inputs in `dtype` (differentiable ones require grad; class-id
/// targets become i64), runs `f`, backpropagates the upstream gradient and compares the
/// output and every input gradient with PyTorch's.
fn run(name: &str, dtype: DType, f: &dyn Fn(&Inputs, &Value) -> Result<Tensor>) {
    let c = case(name);
    let tol = if dtype == DType::F64 { 1e-9 } else { 1e-4 };
    let input_shape = c.inputs["input"].0.clone();
    let inputs: Inputs = c
        .inputs
        .iter()
        .map(|(k, a)| {
            let t = if c.grads.contains_key(k) {
                tensor(a, dtype).requires_grad_(true)
            } else if k == "target" && a.0 != input_shape {
                tensor(a, DType::I64)
            } else {
                tensor(a, dtype)
            };
            (k.clone(), t)
        })
        .collect();
    let out = f(&inputs, &c.params).unwrap();
    assert_tensor(&format!("{name} {dtype} output"), &out, &c.output, tol);
    out.backward_with(&tensor(&c.upstream, dtype)).unwrap();
    for (k, want) in &c.grads {
        let g = inputs[k]
            .grad()
            .unwrap_or_else(|| panic!("{name}: no gradient for {k}"));
        assert_tensor(&format!("{name} {dtype} grad {k}"), &g, want, tol);
    }
}

fn both(name: &str, f: impl Fn(&Inputs, &Value) -> Result<Tensor>) {
    run(name, DType::F64, &f);
    run(name, DType::F32, &f);
}

fn reduction(params: &Value) -> Reduction {
    match params["reduction"].as_str() {
        Some("sum") => Reduction::Sum,
        Some("none") => Reduction::None,
        _ => Reduction::Mean,
    }
}

fn pair(i: &Inputs) -> (&Tensor, &Tensor) {
    (&i["input"], &i["target"])
}

#[test]
fn mse_and_l1_match_pytorch() {
    for name in ["mse_mean", "mse_sum"] {
        both(name, |i, p| {
            loss::mse(&i["input"], &i["target"], reduction(p))
        });
    }
    for name in ["l1_mean", "l1_none"] {
        both(name, |i, p| {
            loss::l1(&i["input"], &i["target"], reduction(p))
        });
    }
}

#[test]
fn huber_and_smooth_l1_match_pytorch() {
    for name in ["huber_d1", "huber_d0_5_sum"] {
        both(name, |i, p| {
            let (x, y) = pair(i);
            loss::huber(x, y, p["delta"].as_f64().unwrap(), reduction(p))
        });
    }
    both("smooth_l1_b0_5", |i, p| {
        let (x, y) = pair(i);
        loss::smooth_l1(x, y, p["beta"].as_f64().unwrap(), reduction(p))
    });
}

/// CrossEntropy options from a case's params (and its "weight" input, if any).
fn ce_options(i: &Inputs, p: &Value) -> CrossEntropy {
    let mut ce = CrossEntropy::new().reduction(reduction(p));
    if let Some(e) = p["label_smoothing"].as_f64() {
        ce = ce.label_smoothing(e);
    }
    if let Some(ix) = p["ignore_index"].as_i64() {
        ce = ce.ignore_index(Some(ix));
    }
    if let Some(w) = i.get("weight") {
        ce = ce.weight(w.clone());
    }
    ce
}

#[test]
fn cross_entropy_matches_pytorch() {
    let names = [
        "ce_indices",
        "ce_indices_sum",
        "ce_indices_none",
        "ce_probs",
        "ce_probs_smoothing_weights",
        "ce_smoothing",
        "ce_ignore_default",
        "ce_ignore_2",
        "ce_weights",
        "ce_weights_none",
        "ce_weights_smoothing_ignore",
        "ce_3d",
        "ce_3d_none",
    ];
    for name in names {
        both(name, |i, p| {
            ce_options(i, p).loss(&i["input"], &i["target"])
        });
    }
}

#[test]
fn plain_cross_entropy_is_the_default_options() {
    let c = case("ce_indices");
    let logits = tensor(&c.inputs["input"], DType::F64);
    let ids = tensor(&c.inputs["target"], DType::I64);
    let got = loss::cross_entropy(&logits, &ids).unwrap();
    assert_close("cross_entropy", &got.to_vec_f64(), &c.output.1, 1e-12);
}

#[test]
fn nll_matches_pytorch() {
    both("nll", |i, _| {
        loss::nll_loss(&i["input"], &i["target"], None, Some(-100))
    });
    both("nll_weights_ignore", |i, p| {
        let ignore = p["ignore_index"].as_i64();
        loss::nll_loss(&i["input"], &i["target"], Some(&i["weight"]), ignore)
    });
}

#[test]
fn binary_cross_entropy_matches_pytorch() {
    both("bce", |i, _| {
        loss::binary_cross_entropy(&i["input"], &i["target"], None, Reduction::Mean)
    });
    both("bce_weight_sum", |i, p| {
        let (x, y) = pair(i);
        loss::binary_cross_entropy(x, y, Some(&i["weight"]), reduction(p))
    });
    both("bce_logits", |i, _| {
        loss::binary_cross_entropy_with_logits(&i["input"], &i["target"], None, Reduction::Mean)
    });
    both("bce_logits_pos_weight", |i, _| {
        let (x, y) = pair(i);
        loss::binary_cross_entropy_with_logits(x, y, Some(&i["pos_weight"]), Reduction::Mean)
    });
}

fn f64s(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn bce_clamps_logs_at_minus_100_with_finite_gradients() {
    let p = f64s(&[0.0, 1.0, 0.5], &[3]).requires_grad_(true);
    let y = f64s(&[1.0, 0.0, 1.0], &[3]);
    let l = loss::binary_cross_entropy(&p, &y, None, Reduction::Sum).unwrap();
    assert!((l.item().unwrap() - (200.0 + 2f64.ln())).abs() < 1e-9);
    l.backward().unwrap();
    assert!(p.grad().unwrap().to_vec_f64().iter().all(|g| g.is_finite()));
}

#[test]
fn bce_with_logits_is_stable_for_huge_logits() {
    let x = f64s(&[1000.0, -1000.0, 1000.0, -1000.0], &[4]).requires_grad_(true);
    let y = f64s(&[1.0, 0.0, 0.0, 1.0], &[4]);
    let l = loss::binary_cross_entropy_with_logits(&x, &y, None, Reduction::None).unwrap();
    assert_close(
        "bce logits",
        &l.to_vec_f64(),
        &[0.0, 0.0, 1000.0, 1000.0],
        1e-12,
    );
    l.sum_all().unwrap().backward().unwrap();
    let g = x.grad().unwrap().to_vec_f64();
    assert_close("bce logits grad", &g, &[0.0, 0.0, 1.0, -1.0], 1e-12);
}

fn err_text(r: Result<Tensor>) -> String {
    match r {
        Ok(t) => panic!("expected an error, got {t:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn out_of_range_class_ids_name_the_id_and_the_class_count() {
    let logits = Tensor::zeros(&[3, 5], DType::F32);
    let ids = Tensor::from_vec(vec![0i64, 7, 1], &[3]).unwrap();
    let msg = err_text(loss::cross_entropy(&logits, &ids));
    assert!(
        msg.contains("class id 7") && msg.contains("5 classes"),
        "{msg}"
    );
    let neg = Tensor::from_vec(vec![0i64, -1, 1], &[3]).unwrap();
    let msg = err_text(loss::cross_entropy(&logits, &neg));
    assert!(msg.contains("class id -1"), "{msg}");
    // −100 is ignored by default, but not once the ignore index is removed.
    let ignored = Tensor::from_vec(vec![0i64, -100, 1], &[3]).unwrap();
    assert!(loss::cross_entropy(&logits, &ignored).is_ok());
    let strict = CrossEntropy::new().ignore_index(None);
    assert!(strict.loss(&logits, &ignored).is_err());
}

#[test]
fn shape_and_dtype_mistakes_are_errors() {
    let a = Tensor::zeros(&[4, 3], DType::F32);
    let b = Tensor::zeros(&[3, 4], DType::F32);
    assert!(loss::mse(&a, &b, Reduction::Mean).is_err());
    assert!(loss::l1(&a, &Tensor::zeros(&[4, 1], DType::F32), Reduction::Mean).is_err());
    let ints = Tensor::zeros(&[4, 3], DType::I64);
    assert!(loss::mse(&ints, &ints, Reduction::Mean).is_err());
    // Class ids shaped wrong, probabilities shaped wrong, u8 targets, bad weights.
    let ids = Tensor::zeros(&[3], DType::I64);
    assert!(loss::cross_entropy(&a, &ids).is_err());
    assert!(loss::cross_entropy(&a, &b).is_err());
    assert!(loss::cross_entropy(&a, &Tensor::zeros(&[4], DType::U8)).is_err());
    let bad_w = CrossEntropy::new().weight(Tensor::ones(&[4], DType::F32));
    assert!(bad_w.loss(&a, &Tensor::zeros(&[4], DType::I64)).is_err());
    assert!(loss::cross_entropy(&Tensor::scalar(1f32), &Tensor::scalar(0i64)).is_err());
    let smooth = CrossEntropy::new().label_smoothing(1.5);
    assert!(smooth.loss(&a, &Tensor::zeros(&[4], DType::I64)).is_err());
    // Probabilities outside [0, 1].
    let p = Tensor::full(&[4, 3], 1.5, DType::F32);
    let msg = err_text(loss::binary_cross_entropy(&p, &a, None, Reduction::Mean));
    assert!(msg.contains("[0, 1]"), "{msg}");
    let pw = Tensor::ones(&[2], DType::F32);
    assert!(loss::binary_cross_entropy_with_logits(&a, &a, Some(&pw), Reduction::Mean).is_err());
    assert!(loss::huber(&a, &a, 0.0, Reduction::Mean).is_err());
}

#[test]
fn unbatched_logits_and_all_ignored_batches_behave_as_pytorch() {
    let logits = f64s(&[1.0, 2.0, 3.0], &[3]);
    let l = loss::cross_entropy(&logits, &Tensor::scalar(2i64)).unwrap();
    let want = -(3f64 - (1f64.exp() + 2f64.exp() + 3f64.exp()).ln());
    assert!((l.item().unwrap() - want).abs() < 1e-12);
    let all_ignored = Tensor::full(&[2], -100.0, DType::I64);
    let l = loss::cross_entropy(&Tensor::zeros(&[2, 3], DType::F64), &all_ignored).unwrap();
    assert!(l.item().unwrap().is_nan(), "0/0 as in PyTorch");
}

#[test]
fn penalties_have_the_documented_values_and_gradients() {
    let w = f64s(&[1.0, -2.0, 3.0], &[3]).requires_grad_(true);
    let b = f64s(&[-0.5], &[1]).requires_grad_(true);
    let params = [w.clone(), b.clone()];
    let l1 = loss::l1_penalty(&params, 0.1).unwrap().item().unwrap();
    assert!((l1 - 0.1 * 6.5).abs() < 1e-12);
    let l2 = loss::l2_penalty(&params, 0.1).unwrap();
    assert!((l2.item().unwrap() - 0.1 * 14.25).abs() < 1e-12);
    l2.backward().unwrap();
    // No ½: d(λΣw²)/dw = 2λw.
    assert_close(
        "l2 grad",
        &w.grad().unwrap().to_vec_f64(),
        &[0.2, -0.4, 0.6],
        1e-12,
    );
    let en = loss::elastic_net(&params, 0.1, 0.3)
        .unwrap()
        .item()
        .unwrap();
    assert!((en - 0.1 * (0.3 * 6.5 + 0.7 * 14.25)).abs() < 1e-12);
    assert!(loss::elastic_net(&params, 0.1, 1.5).is_err());
    assert_eq!(loss::l2_penalty(&[], 0.1).unwrap().item().unwrap(), 0.0);
}
