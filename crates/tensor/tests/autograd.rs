//! Autograd semantics: accumulation, fan-out, views, no_grad, detach, freed graphs, and
//! that every parameter of a composite receives a gradient.

use zhixing_tensor::{no_grad, DType, Rng, Tensor};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(data, shape).unwrap()
}

fn grad(x: &Tensor) -> Vec<f32> {
    x.grad()
        .expect("gradient was not set")
        .to_vec::<f32>()
        .unwrap()
}

#[test]
fn chain_rule_through_a_small_expression() {
    // y = (a·b + a)²; dy/da = 2(ab + a)(b + 1), dy/db = 2(ab + a)·a
    let a = t(&[3.0], &[]).requires_grad_(true);
    let b = t(&[2.0], &[]).requires_grad_(true);
    let y = a.mul(&b).unwrap().add(&a).unwrap().square().unwrap();
    y.backward().unwrap();
    assert_eq!(grad(&a), vec![2.0 * 9.0 * 3.0]);
    assert_eq!(grad(&b), vec![2.0 * 9.0 * 3.0]);
}

#[test]
fn fan_out_sums_gradients() {
    // x used three times: y = x·x + x → dy/dx = 2x + 1
    let x = t(&[1.0, -2.0, 0.5], &[3]).requires_grad_(true);
    let y = x.mul(&x).unwrap().add(&x).unwrap().sum_all().unwrap();
    y.backward().unwrap();
    assert_eq!(grad(&x), vec![3.0, -3.0, 2.0]);
}

#[test]
fn gradients_accumulate_until_zeroed() {
    let x = t(&[1.0, 2.0], &[2]).requires_grad_(true);
    for _ in 0..2 {
        x.mul_scalar(3.0)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
    }
    assert_eq!(grad(&x), vec![6.0, 6.0]);
    x.zero_grad();
    assert!(x.grad().is_none());
    x.mul_scalar(3.0)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(grad(&x), vec![3.0, 3.0]);
}

#[test]
fn backward_twice_without_retain_is_an_error() {
    let x = t(&[1.0, 2.0], &[2]).requires_grad_(true);
    let y = x.exp().unwrap().sum_all().unwrap();
    y.backward().unwrap();
    let err = y.backward().unwrap_err().to_string();
    assert!(err.contains("second time"), "{err}");
    // With a retained graph the second pass works and doubles the gradient.
    let x = t(&[1.0, 2.0], &[2]).requires_grad_(true);
    let y = x.mul_scalar(2.0).unwrap().sum_all().unwrap();
    y.backward_retain_graph().unwrap();
    y.backward().unwrap();
    assert_eq!(grad(&x), vec![4.0, 4.0]);
}

#[test]
fn backward_with_explicit_output_gradient() {
    let x = t(&[1.0, 2.0, 3.0], &[3]).requires_grad_(true);
    let y = x.square().unwrap();
    y.backward_with(&t(&[1.0, 0.0, -1.0], &[3])).unwrap();
    assert_eq!(grad(&x), vec![2.0, 0.0, -6.0]);
    let err = x.square().unwrap().backward().unwrap_err().to_string();
    assert!(err.contains("one-element"), "{err}");
}

#[test]
fn no_grad_and_detach_record_nothing() {
    let x = t(&[1.0, 2.0], &[2]).requires_grad_(true);
    let y = no_grad(|| x.mul_scalar(2.0).unwrap());
    assert!(!y.requires_grad() && y.is_leaf());
    let d = x.detach();
    assert!(!d.requires_grad() && d.same_storage(&x));
    let z = x.mul(&d).unwrap().sum_all().unwrap();
    z.backward().unwrap();
    // d is a constant: dz/dx = d = x.
    assert_eq!(grad(&x), vec![1.0, 2.0]);
    assert!(d.grad().is_none());
    assert!(y.backward().is_err());
}

#[test]
fn gradients_flow_through_views_into_the_base() {
    let x = Tensor::arange(0.0, 6.0, 1.0, DType::F32)
        .unwrap()
        .reshape(&[2, 3])
        .unwrap()
        .requires_grad_(true);
    // Two overlapping views of x, one transposed.
    let a = x.narrow(1, 0, 2).unwrap();
    let b = x.t().unwrap().narrow(0, 1, 2).unwrap().t().unwrap();
    let y = a.mul(&b).unwrap().sum_all().unwrap();
    y.backward().unwrap();
    // y = x00·x01 + x01·x02 + x10·x11 + x11·x12
    assert_eq!(grad(&x), vec![1.0, 2.0, 1.0, 4.0, 8.0, 4.0]);
}

#[test]
fn every_parameter_of_a_composite_gets_a_nonzero_gradient() {
    let mut rng = Rng::seed(3);
    let params: Vec<Tensor> = [
        vec![4, 8],
        vec![8],
        vec![8],
        vec![8],
        vec![8, 3],
        vec![3],
        vec![10, 4],
    ]
    .iter()
    .map(|s| Tensor::randn(s, DType::F32, &mut rng).requires_grad_(true))
    .collect();
    let [w1, b1, gamma, beta, w2, b2, emb] = <[Tensor; 7]>::try_from(params.clone()).unwrap();
    let ids = Tensor::from_vec(vec![1i64, 3, 3, 7, 0], &[5]).unwrap();
    let x = Tensor::embedding(&ids, &emb).unwrap();
    let h = x.matmul(&w1).unwrap().add(&b1).unwrap().gelu().unwrap();
    // The fused layer norm: its weight and bias must receive gradients too.
    let h = h.layer_norm(Some(&gamma), Some(&beta), 1e-5).unwrap();
    let h = h.dropout(0.1, true, &mut rng).unwrap();
    let logits = h.matmul(&w2).unwrap().add(&b2).unwrap();
    let target = Tensor::from_vec(vec![0i64, 2, 1, 1, 0], &[5, 1]).unwrap();
    let loss = logits
        .log_softmax(-1)
        .unwrap()
        .gather(1, &target)
        .unwrap()
        .neg()
        .unwrap()
        .mean_all()
        .unwrap();
    loss.backward().unwrap();
    for (i, p) in params.iter().enumerate() {
        let g = p
            .grad()
            .unwrap_or_else(|| panic!("parameter {i} got no gradient"));
        let norm: f64 = g.to_vec_f64().iter().map(|v| v * v).sum();
        assert!(
            norm > 0.0 && norm.is_finite(),
            "parameter {i} gradient norm {norm}"
        );
    }
}

#[test]
fn leaf_grad_shape_matches_broadcast_input() {
    let b = t(&[0.5, -0.5, 1.0], &[3]).requires_grad_(true);
    let x = Tensor::ones(&[4, 3], DType::F32);
    x.add(&b).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(grad(&b), vec![4.0, 4.0, 4.0]);
}

#[test]
fn integer_inputs_do_not_require_grad() {
    let w = Tensor::ones(&[3, 2], DType::F32).requires_grad_(true);
    let ids = Tensor::from_vec(vec![2i64, 2], &[2]).unwrap();
    w.index_select(0, &ids)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(grad(&w), vec![0.0, 0.0, 0.0, 0.0, 2.0, 2.0]);
}

#[test]
fn leaf_gradients_never_alias_each_other_or_the_callers_tensor() {
    // add's backward passes the same gradient to both inputs; each leaf must own its copy.
    let a = t(&[1.0, 2.0], &[2]).requires_grad_(true);
    let b = t(&[3.0, 4.0], &[2]).requires_grad_(true);
    let upstream = t(&[1.0, 1.0], &[2]);
    a.add(&b).unwrap().backward_with(&upstream).unwrap();
    let (ga, gb) = (a.grad().unwrap(), b.grad().unwrap());
    assert!(!ga.same_storage(&gb) && !ga.same_storage(&upstream));
    ga.update_(|d: &mut [f32]| d.iter_mut().for_each(|v| *v = 9.0))
        .unwrap();
    assert_eq!(grad(&b), vec![1.0, 1.0]);
    assert_eq!(upstream.to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
}
