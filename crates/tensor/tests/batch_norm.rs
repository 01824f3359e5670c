//! The fused batch-norm op: finite-difference gradient checks, values against the
//! composed definition, and shape errors.

use zhixing_tensor::gradcheck::{gradcheck, GradcheckOptions};
use zhixing_tensor::{DType, Rng, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Rng::seed(seed)).requires_grad_(true)
}

fn opts() -> GradcheckOptions {
    GradcheckOptions {
        eps: 1e-6,
        atol: 1e-6,
        rtol: 1e-5,
    }
}

#[test]
fn batch_norm_gradcheck_affine_and_plain() {
    for shape in [&[3, 2, 4, 5][..], &[4, 3], &[2, 3, 7]] {
        let c = shape[1];
        let (x, w, b) = (randn(shape, 1), randn(&[c], 2), randn(&[c], 3));
        let f = |t: &[Tensor]| Ok(t[0].batch_norm(Some(&t[1]), Some(&t[2]), 1e-5)?.0);
        gradcheck(f, &[x.clone(), w, b], opts()).unwrap_or_else(|e| panic!("{shape:?}: {e}"));
        let f = |t: &[Tensor]| Ok(t[0].batch_norm(None, None, 1e-5)?.0);
        gradcheck(f, &[x], opts()).unwrap_or_else(|e| panic!("{shape:?} plain: {e}"));
    }
    // Weight only, and a large tensor that takes the parallel path.
    let (x, w) = (randn(&[2, 3, 3, 3], 4), randn(&[3], 5));
    let f = |t: &[Tensor]| Ok(t[0].batch_norm(Some(&t[1]), None, 1e-3)?.0);
    gradcheck(f, &[x, w], opts()).unwrap();
}

#[test]
fn batch_norm_matches_composed_ops() {
    let x = randn(&[8, 16, 24, 24], 6)
        .mul_scalar(3.0)
        .unwrap()
        .detach()
        .requires_grad_(true);
    let (w, b) = (randn(&[16], 7), randn(&[16], 8));
    let (y, mean, var) = x.batch_norm(Some(&w), Some(&b), 1e-5).unwrap();
    let dims = [0isize, 2, 3];
    let m = x.mean(&dims, true).unwrap();
    let v = x.var(&dims, false, true).unwrap();
    let want = x
        .sub(&m)
        .unwrap()
        .div(&v.add_scalar(1e-5).unwrap().sqrt().unwrap())
        .unwrap()
        .mul(&w.reshape(&[1, 16, 1, 1]).unwrap())
        .unwrap()
        .add(&b.reshape(&[1, 16, 1, 1]).unwrap())
        .unwrap();
    let close = |a: &Tensor, b: &Tensor| {
        for (p, q) in a.to_vec_f64().iter().zip(b.to_vec_f64()) {
            assert!((p - q).abs() < 1e-9, "{p} vs {q}");
        }
    };
    close(&y, &want);
    close(&mean, &m.reshape(&[16]).unwrap());
    close(&var, &v.reshape(&[16]).unwrap());
    assert!(mean.grad().is_none() && !mean.requires_grad());

    // Gradients of the fused op equal those of the composition.
    let g = randn(&[8, 16, 24, 24], 9).detach();
    y.backward_with(&g).unwrap();
    let (gx, gw, gb) = (x.grad().unwrap(), w.grad().unwrap(), b.grad().unwrap());
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
    want.backward_with(&g).unwrap();
    close(&gx, &x.grad().unwrap());
    close(&gw, &w.grad().unwrap());
    close(&gb, &b.grad().unwrap());
}

#[test]
fn batch_norm_errors() {
    let x = randn(&[2, 3, 4], 1);
    assert!(x.batch_norm(Some(&randn(&[4], 2)), None, 1e-5).is_err());
    assert!(x.batch_norm(None, Some(&randn(&[2], 2)), 1e-5).is_err());
    assert!(randn(&[5], 3).batch_norm(None, None, 1e-5).is_err());
    assert!(randn(&[1, 3, 1], 3).batch_norm(None, None, 1e-5).is_err());
    let f32w = Tensor::ones(&[3], DType::F32);
    assert!(x.batch_norm(Some(&f32w), None, 1e-5).is_err());
    let ints = Tensor::from_vec(vec![1i64; 12], &[2, 3, 2]).unwrap();
    assert!(ints.batch_norm(None, None, 1e-5).is_err());
}
