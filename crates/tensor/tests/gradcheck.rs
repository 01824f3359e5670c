//! A finite-difference gradient check for every differentiable op, including broadcast
//! and strided (view) inputs. Convolution and pooling are checked in conv_pool.rs.

// `&[x.clone()]` reads better than `std::slice::from_ref(&x)` in a list of checks.
#![allow(clippy::cloned_ref_to_slice_refs)]

use zhixing_tensor::gradcheck::{gradcheck, GradcheckOptions};
use zhixing_tensor::{DType, Result, Rng, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Rng::seed(seed)).requires_grad_(true)
}

/// Values in [lo, hi): keeps log/sqrt/pow in their domain and kinks away from 0.
fn uniform(shape: &[usize], lo: f64, hi: f64, seed: u64) -> Tensor {
    Tensor::uniform(shape, lo, hi, DType::F64, &mut Rng::seed(seed)).requires_grad_(true)
}

fn check(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) {
    gradcheck(f, inputs, GradcheckOptions::default()).unwrap();
}

#[test]
fn binary_ops_same_shape() {
    let (a, b) = (randn(&[3, 4], 1), uniform(&[3, 4], 0.5, 2.0, 2));
    check(|x| x[0].add(&x[1]), &[a.clone(), b.clone()]);
    check(|x| x[0].sub(&x[1]), &[a.clone(), b.clone()]);
    check(|x| x[0].mul(&x[1]), &[a.clone(), b.clone()]);
    check(|x| x[0].div(&x[1]), &[a.clone(), b.clone()]);
    check(|x| x[1].pow(&x[0]), &[a.clone(), b.clone()]);
    check(|x| x[0].maximum(&x[1]), &[a.clone(), b.clone()]);
    check(|x| x[0].minimum(&x[1]), &[a, b]);
}

#[test]
fn binary_ops_broadcast() {
    // [2,3,4] with [4], [3,1] and [2,1,4]: leading, middle and inner broadcast.
    let a = randn(&[2, 3, 4], 3);
    for (i, shape) in [vec![4], vec![3, 1], vec![2, 1, 4], vec![1]]
        .into_iter()
        .enumerate()
    {
        let b = uniform(&shape, 0.5, 1.5, 10 + i as u64);
        check(|x| x[0].add(&x[1]), &[a.clone(), b.clone()]);
        check(|x| x[0].sub(&x[1]), &[a.clone(), b.clone()]);
        check(|x| x[0].mul(&x[1]), &[a.clone(), b.clone()]);
        check(|x| x[0].div(&x[1]), &[a.clone(), b.clone()]);
        check(|x| x[1].pow(&x[0]), &[a.clone(), b.clone()]);
        check(|x| x[0].maximum(&x[1]), &[a.clone(), b.clone()]);
        check(|x| x[1].minimum(&x[0]), &[a.clone(), b.clone()]);
    }
}

#[test]
fn binary_ops_on_strided_views() {
    let a = randn(&[4, 3], 4);
    let b = randn(&[3, 4], 5);
    // a.t() is a non-contiguous view; narrow gives an offset view.
    check(|x| x[0].t()?.mul(&x[1]), &[a.clone(), b.clone()]);
    check(
        |x| x[0].t()?.narrow(1, 1, 2)?.add(&x[1].narrow(1, 0, 2)?),
        &[a, b],
    );
}

#[test]
fn unary_ops() {
    let x = randn(&[2, 5], 6);
    let pos = uniform(&[2, 5], 0.2, 3.0, 7);
    let away = uniform(&[2, 5], 0.1, 2.0, 8)
        .detach()
        .mul(
            &Tensor::from_vec(
                vec![1.0f64, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0],
                &[2, 5],
            )
            .unwrap(),
        )
        .unwrap()
        .requires_grad_(true);
    check(|t| t[0].neg(), &[x.clone()]);
    check(|t| t[0].exp(), &[x.clone()]);
    check(|t| t[0].sin(), &[x.clone()]);
    check(|t| t[0].cos(), &[x.clone()]);
    check(|t| t[0].square(), &[x.clone()]);
    check(|t| t[0].sigmoid(), &[x.clone()]);
    check(|t| t[0].tanh(), &[x.clone()]);
    check(|t| t[0].gelu(), &[x.clone()]);
    check(|t| t[0].gelu_tanh(), &[x.clone()]);
    check(|t| t[0].softplus(), &[x.clone()]);
    check(|t| t[0].affine(-1.5, 0.25), &[x.clone()]);
    check(
        |t| {
            t[0].add_scalar(3.0)?
                .mul_scalar(2.0)?
                .sub_scalar(1.0)?
                .div_scalar(4.0)
        },
        &[x],
    );
    check(|t| t[0].log(), &[pos.clone()]);
    check(|t| t[0].sqrt(), &[pos.clone()]);
    check(|t| t[0].recip(), &[pos.clone()]);
    check(|t| t[0].powf(2.5), &[pos]);
    // Piecewise ops, evaluated away from their kinks.
    check(|t| t[0].abs(), &[away.clone()]);
    check(|t| t[0].relu(), &[away.clone()]);
    check(|t| t[0].leaky_relu(0.1), &[away.clone()]);
    check(|t| t[0].clamp(-0.5, 0.5), &[away]);
}

#[test]
fn unary_ops_on_views() {
    let x = randn(&[3, 4], 9);
    check(|t| t[0].t()?.tanh(), &[x.clone()]);
    check(|t| t[0].narrow(0, 1, 2)?.exp(), &[x.clone()]);
    check(
        |t| t[0].unsqueeze(0)?.broadcast_to(&[2, 3, 4])?.sigmoid(),
        &[x],
    );
}

#[test]
fn view_and_join_ops() {
    let x = randn(&[2, 3, 4], 11);
    check(|t| t[0].reshape(&[6, 4]), &[x.clone()]);
    check(|t| t[0].reshape_infer(&[4, -1]), &[x.clone()]);
    check(|t| t[0].flatten(1, 2), &[x.clone()]);
    check(|t| t[0].transpose(0, 2)?.reshape(&[24]), &[x.clone()]);
    check(|t| t[0].permute(&[1, 2, 0])?.contiguous(), &[x.clone()]);
    check(|t| t[0].narrow(2, 1, 2), &[x.clone()]);
    check(|t| t[0].slice(1, 0..2), &[x.clone()]);
    check(|t| t[0].unsqueeze(1)?.squeeze(1), &[x.clone()]);
    check(
        |t| t[0].narrow(0, 0, 1)?.squeeze(0)?.broadcast_to(&[5, 3, 4]),
        &[x.clone()],
    );
    let y = randn(&[2, 1, 4], 12);
    check(
        |t| Tensor::cat(&[t[0].clone(), t[1].clone()], 1),
        &[x.clone(), y.clone()],
    );
    check(
        |t| Tensor::cat(&[t[0].t()?, t[1].t()?], 1),
        &[randn(&[3, 2], 13), randn(&[4, 2], 14)],
    );
    let z = randn(&[2, 3, 4], 15);
    check(
        |t| Tensor::stack(&[t[0].clone(), t[1].clone()], 0),
        &[x.clone(), z.clone()],
    );
    check(
        |t| Tensor::stack(&[t[0].clone(), t[1].clone()], 3),
        &[x.clone(), z],
    );
    check(|t| Ok(t[0].split(2, 2)?[1].clone()), &[x.clone()]);
    check(
        |t| {
            let parts = t[0].chunk(2, 1)?;
            parts[0].sum(&[1], true)?.mul(&parts[1])
        },
        &[x],
    );
}

#[test]
fn reductions() {
    let x = randn(&[3, 4, 5], 21);
    check(|t| t[0].sum_all(), &[x.clone()]);
    check(|t| t[0].sum(&[1], false), &[x.clone()]);
    check(|t| t[0].sum(&[0, 2], true), &[x.clone()]);
    check(|t| t[0].mean(&[-1], false), &[x.clone()]);
    check(|t| t[0].mean_all(), &[x.clone()]);
    check(|t| t[0].var(&[1], true, false), &[x.clone()]);
    check(|t| t[0].var(&[0, 2], false, true), &[x.clone()]);
    check(|t| t[0].std(&[2], true, true), &[x.clone()]);
    check(|t| t[0].std(&[], true, false), &[x.clone()]);
    check(|t| Ok(t[0].max_dim(1, false)?.0), &[x.clone()]);
    check(|t| Ok(t[0].min_dim(-1, true)?.0), &[x.clone()]);
    check(|t| t[0].max_all(), &[x.clone()]);
    check(|t| t[0].min_all(), &[x.clone()]);
    check(|t| t[0].sum_to_shape(&[4, 1]), &[x.clone()]);
    // Reductions over a transposed view.
    check(|t| t[0].transpose(0, 2)?.sum(&[0], false), &[x]);
}

#[test]
fn matmul_shapes() {
    check(
        |t| t[0].matmul(&t[1]),
        &[randn(&[3, 4], 31), randn(&[4, 2], 32)],
    );
    check(
        |t| t[0].matmul(&t[1]),
        &[randn(&[2, 3, 4], 33), randn(&[2, 4, 5], 34)],
    );
    // Broadcast batch dims: [2,1,3,4] @ [3,4,2] → [2,3,3,2].
    check(
        |t| t[0].matmul(&t[1]),
        &[randn(&[2, 1, 3, 4], 35), randn(&[3, 4, 2], 36)],
    );
    check(
        |t| t[0].matmul(&t[1]),
        &[randn(&[4], 37), randn(&[4, 3], 38)],
    );
    check(
        |t| t[0].matmul(&t[1]),
        &[randn(&[3, 4], 39), randn(&[4], 40)],
    );
    check(|t| t[0].matmul(&t[1]), &[randn(&[4], 41), randn(&[4], 42)]);
    check(
        |t| t[0].matmul(&t[1]),
        &[randn(&[2, 3, 4], 47), randn(&[4, 5], 48)],
    );
    // Transposed (strided) operands go to the GEMM without a copy.
    check(
        |t| t[0].t()?.matmul(&t[1].t()?),
        &[randn(&[4, 3], 43), randn(&[2, 4], 44)],
    );
    check(
        |t| t[0].transpose(-1, -2)?.matmul(&t[1]),
        &[randn(&[2, 4, 3], 45), randn(&[2, 4, 2], 46)],
    );
}

#[test]
fn softmax_family() {
    let x = randn(&[3, 4, 5], 51);
    for dim in [-1, 0, 1] {
        check(|t| t[0].softmax(dim), &[x.clone()]);
        check(|t| t[0].log_softmax(dim), &[x.clone()]);
    }
    check(|t| t[0].t()?.softmax(-1), &[randn(&[4, 3], 52)]);
}

#[test]
fn where_and_masked_fill() {
    let (a, b) = (randn(&[3, 4], 61), randn(&[4], 62));
    let mask = Tensor::from_vec((0..12).map(|i| (i % 3 == 0) as u8).collect(), &[3, 4]).unwrap();
    check(|t| Tensor::where_cond(&mask, &t[0], &t[1]), &[a.clone(), b]);
    let row_mask = Tensor::from_vec(vec![1u8, 0, 0, 1], &[4]).unwrap();
    check(|t| t[0].masked_fill(&row_mask, -3.0), &[a.clone()]);
    // Masked positions receive exactly zero gradient.
    let a2 = a.detach().requires_grad_(true);
    a2.masked_fill(&row_mask, -1e9)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g = a2.grad().unwrap().to_vec::<f64>().unwrap();
    assert_eq!(&g[..4], &[0.0, 1.0, 1.0, 0.0]);
}

#[test]
fn indexing_ops() {
    let w = randn(&[5, 3], 71);
    let ids = Tensor::from_vec(vec![4i64, 0, 4, 2], &[4]).unwrap();
    check(|t| t[0].index_select(0, &ids), &[w.clone()]);
    check(
        |t| t[0].index_select(1, &Tensor::from_vec(vec![2i64, 2, 0], &[3]).unwrap()),
        &[w.clone()],
    );
    let ids2 = Tensor::from_vec(vec![1i64, 1, 3, 0, 4, 1], &[2, 3]).unwrap();
    check(|t| Tensor::embedding(&ids2, &t[0]), &[w.clone()]);
    let gidx = Tensor::from_vec(vec![0i64, 2, 2, 1, 1, 0, 2, 2, 0, 0], &[5, 2]).unwrap();
    check(|t| t[0].gather(1, &gidx), &[w.clone()]);
    let sidx = Tensor::from_vec(vec![0i64, 4, 4, 1, 2, 2], &[2, 3]).unwrap();
    check(
        |t| t[0].scatter_add(0, &sidx, &t[1]),
        &[w, randn(&[2, 3], 72)],
    );
}

#[test]
fn dropout_with_fixed_mask() {
    let x = randn(&[4, 6], 81);
    check(|t| t[0].dropout(0.3, true, &mut Rng::seed(7)), &[x]);
}

#[test]
fn composite_layer_norm_and_cross_entropy() {
    let (x, w, b) = (randn(&[4, 6], 91), randn(&[6], 92), randn(&[6], 93));
    check(
        |t| {
            let mu = t[0].mean(&[-1], true)?;
            let var = t[0].var(&[-1], false, true)?;
            t[0].sub(&mu)?
                .div(&var.add_scalar(1e-5)?.sqrt()?)?
                .mul(&t[1])?
                .add(&t[2])
        },
        &[x.clone(), w, b],
    );
    let target = Tensor::from_vec(vec![1i64, 0, 5, 3], &[4, 1]).unwrap();
    check(
        |t| t[0].log_softmax(-1)?.gather(1, &target)?.neg()?.mean_all(),
        &[x],
    );
}

#[test]
fn fused_layer_norm() {
    let (x, w, b) = (randn(&[3, 2, 6], 101), randn(&[6], 102), randn(&[6], 103));
    check(
        |t| t[0].layer_norm(Some(&t[1]), Some(&t[2]), 1e-5),
        &[x.clone(), w.clone(), b],
    );
    check(
        |t| t[0].layer_norm(Some(&t[1]), None, 1e-5),
        &[x.clone(), w],
    );
    check(|t| t[0].layer_norm(None, None, 1e-3), &[x.clone()]);
    check(|t| t[0].transpose(0, 1)?.layer_norm(None, None, 1e-5), &[x]);
}
