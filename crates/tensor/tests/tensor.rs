//! Creation, views, joins, dtypes, printing and error reporting.

use half::{bf16, f16};
use zhixing_tensor::{DType, Error, Rng, Tensor};

#[test]
fn creation_functions() {
    assert_eq!(
        Tensor::zeros(&[2, 3], DType::F32).to_vec::<f32>().unwrap(),
        vec![0.0; 6]
    );
    assert_eq!(
        Tensor::ones(&[2], DType::I64).to_vec::<i64>().unwrap(),
        vec![1, 1]
    );
    assert_eq!(
        Tensor::full(&[2], 2.5, DType::F64).to_vec::<f64>().unwrap(),
        vec![2.5, 2.5]
    );
    let r = Tensor::arange(1.0, 2.0, 0.25, DType::F32).unwrap();
    assert_eq!(r.to_vec::<f32>().unwrap(), vec![1.0, 1.25, 1.5, 1.75]);
    assert!(Tensor::arange(0.0, 1.0, 0.0, DType::F32).is_err());
    assert!(matches!(
        Tensor::from_vec(vec![1.0f32; 5], &[2, 3]),
        Err(Error::InvalidShape { .. })
    ));
    assert_eq!(Tensor::scalar(3i64).shape(), &[] as &[usize]);
}

#[test]
fn random_tensors_are_seeded() {
    let a = Tensor::randn(&[1000], DType::F64, &mut Rng::seed(42));
    let b = Tensor::randn(&[1000], DType::F64, &mut Rng::seed(42));
    let c = Tensor::randn(&[1000], DType::F64, &mut Rng::seed(43));
    assert_eq!(a.to_vec_f64(), b.to_vec_f64());
    assert_ne!(a.to_vec_f64(), c.to_vec_f64());
    let v = a.to_vec_f64();
    let mean = v.iter().sum::<f64>() / 1000.0;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 999.0;
    assert!(
        mean.abs() < 0.1 && (var - 1.0).abs() < 0.1,
        "mean {mean} var {var}"
    );
    let u = Tensor::rand(&[1000], DType::F32, &mut Rng::seed(1)).to_vec_f64();
    assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
}

#[test]
fn views_share_storage_and_copy_nothing() {
    let x = Tensor::arange(0.0, 24.0, 1.0, DType::F32)
        .unwrap()
        .reshape(&[2, 3, 4])
        .unwrap();
    let p = x.permute(&[2, 0, 1]).unwrap();
    assert!(p.same_storage(&x) && !p.is_contiguous());
    assert_eq!(p.shape(), &[4, 2, 3]);
    assert_eq!(p.to_vec::<f32>().unwrap()[..4], [0.0, 4.0, 8.0, 12.0]);
    let n = x.narrow(2, 1, 2).unwrap();
    assert!(n.same_storage(&x));
    assert_eq!(n.to_vec::<f32>().unwrap()[..4], [1.0, 2.0, 5.0, 6.0]);
    let b = Tensor::arange(0.0, 3.0, 1.0, DType::F32)
        .unwrap()
        .broadcast_to(&[2, 3])
        .unwrap();
    assert_eq!(b.strides(), &[0, 1]);
    assert_eq!(
        b.to_vec::<f32>().unwrap(),
        vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]
    );
    let c = p.contiguous().unwrap();
    assert!(c.is_contiguous() && !c.same_storage(&x));
    // Reshape of a non-contiguous view copies; of a contiguous one it does not.
    assert!(x.reshape(&[6, 4]).unwrap().same_storage(&x));
    assert!(!p.reshape(&[24]).unwrap().same_storage(&x));
    assert_eq!(x.unsqueeze(-1).unwrap().shape(), &[2, 3, 4, 1]);
    assert!(x.squeeze(0).is_err());
}

#[test]
fn cat_stack_split_chunk() {
    let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let b = Tensor::from_slice(&[5.0f32, 6.0], &[1, 2]).unwrap();
    let c = Tensor::cat(&[a.clone(), b], 0).unwrap();
    assert_eq!(
        c.to_vec::<f32>().unwrap(),
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    let s = Tensor::stack(&[a.clone(), a.clone()], 2).unwrap();
    assert_eq!(s.shape(), &[2, 2, 2]);
    assert_eq!(
        s.to_vec::<f32>().unwrap(),
        vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]
    );
    let parts = c.split(2, 0).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1].shape(), &[1, 2]);
    let chunks = Tensor::arange(0.0, 7.0, 1.0, DType::F32)
        .unwrap()
        .chunk(3, 0)
        .unwrap();
    let sizes: Vec<usize> = chunks.iter().map(|t| t.numel()).collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    assert!(Tensor::cat(&[a.clone(), a.t().unwrap().reshape(&[4, 1]).unwrap()], 0).is_err());
}

#[test]
fn dtype_casts_including_half_precision_storage() {
    let x = Tensor::from_slice(&[1.5f32, -2.25, 3.0e4, 1.0e-3], &[4]).unwrap();
    let h = x.to_dtype(DType::F16).unwrap();
    let bf = x.to_dtype(DType::BF16).unwrap();
    assert_eq!(h.to_vec::<f16>().unwrap()[0], f16::from_f32(1.5));
    assert_eq!(bf.to_vec::<bf16>().unwrap()[1], bf16::from_f32(-2.25));
    let back = bf.to_dtype(DType::F32).unwrap().to_vec::<f32>().unwrap();
    for (a, b) in back.iter().zip([1.5f32, -2.25, 3.0e4, 1.0e-3]) {
        assert!((a - b).abs() <= b.abs() * 4e-3, "{a} vs {b}");
    }
    let i = x.to_dtype(DType::I64).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(i, vec![1, -2, 30000, 0]);
    // Gradients cross float casts back to the source dtype.
    let w = Tensor::from_slice(&[1.0f32, 2.0], &[2])
        .unwrap()
        .requires_grad_(true);
    w.to_dtype(DType::F64)
        .unwrap()
        .square()
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(w.grad().unwrap().to_vec::<f32>().unwrap(), vec![2.0, 4.0]);
    assert!(x.to_vec::<f64>().is_err());
}

#[test]
fn comparisons_give_masks() {
    let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    let b = Tensor::from_slice(&[2.0f32], &[1]).unwrap();
    assert_eq!(a.lt(&b).unwrap().to_vec::<u8>().unwrap(), vec![1, 0, 0]);
    assert_eq!(a.ge(&b).unwrap().to_vec::<u8>().unwrap(), vec![0, 1, 1]);
    assert_eq!(
        a.eq_scalar(3.0).unwrap().to_vec::<u8>().unwrap(),
        vec![0, 0, 1]
    );
    let ids = Tensor::from_slice(&[3i64, 1], &[2]).unwrap();
    assert_eq!(
        ids.gt_scalar(2.0).unwrap().to_vec::<u8>().unwrap(),
        vec![1, 0]
    );
}

#[test]
fn reductions_values() {
    let x = Tensor::from_slice(&[1.0f32, 5.0, 3.0, 5.0, -1.0, 0.0], &[2, 3]).unwrap();
    assert_eq!(
        x.sum(&[0], false).unwrap().to_vec::<f32>().unwrap(),
        vec![6.0, 4.0, 3.0]
    );
    assert_eq!(x.mean(&[1], true).unwrap().shape(), &[2, 1]);
    let (v, i) = x.max_dim(1, false).unwrap();
    assert_eq!(v.to_vec::<f32>().unwrap(), vec![5.0, 5.0]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![1, 0]);
    assert_eq!(
        x.argmin(1, false).unwrap().to_vec::<i64>().unwrap(),
        vec![0, 1]
    );
    assert_eq!(x.max_all().unwrap().item().unwrap(), 5.0);
    let big = Tensor::ones(&[1 << 20], DType::F32);
    assert_eq!(big.sum_all().unwrap().item().unwrap(), (1 << 20) as f64);
}

#[test]
fn errors_name_the_shapes_instead_of_panicking() {
    let a = Tensor::zeros(&[2, 3], DType::F32);
    let b = Tensor::zeros(&[4, 5], DType::F32);
    let msg = a.matmul(&b).unwrap_err().to_string();
    assert!(msg.contains("[2, 3]") && msg.contains("[4, 5]"), "{msg}");
    let msg = a
        .add(&Tensor::zeros(&[4], DType::F32))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("broadcast"), "{msg}");
    assert!(a.add(&Tensor::zeros(&[2, 3], DType::F64)).is_err());
    assert!(a.softmax(2).is_err());
    let ids = Tensor::from_slice(&[0i64, 7], &[2]).unwrap();
    let msg = a.index_select(0, &ids).unwrap_err().to_string();
    assert!(msg.contains("index 7"), "{msg}");
    assert!(Tensor::zeros(&[2], DType::I64).exp().is_err());
}

#[test]
fn display_is_readable_and_summarized() {
    let x = Tensor::from_slice(&[1.0f32, 2.5, -3.0, 4.0], &[2, 2]).unwrap();
    let s = format!("{x}");
    assert!(s.starts_with("tensor([[1.0000, 2.5000],"), "{s}");
    assert!(s.contains("shape=[2, 2], dtype=f32"), "{s}");
    let big = format!("{}", Tensor::zeros(&[100, 100], DType::F32));
    assert!(big.contains("...") && big.len() < 2000, "{}", big.len());
    let g = x.requires_grad_(true).exp().unwrap();
    assert!(format!("{g:?}").contains("grad_fn=exp"));
}

#[test]
fn in_place_updates() {
    let w = Tensor::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    w.update_(|d: &mut [f32]| d.iter_mut().for_each(|v| *v *= 10.0))
        .unwrap();
    assert_eq!(w.to_vec::<f32>().unwrap(), vec![10.0, 20.0]);
    w.assign(&Tensor::from_slice(&[7.0f32, 8.0], &[2]).unwrap())
        .unwrap();
    assert_eq!(w.to_vec::<f32>().unwrap(), vec![7.0, 8.0]);
    assert!(w.assign(&Tensor::zeros(&[3], DType::F32)).is_err());
}

#[test]
fn index_select_works_on_integer_tensors() {
    let labels = Tensor::from_slice(&[7i64, 3, 9, 1], &[4]).unwrap();
    let idx = Tensor::from_slice(&[2i64, 0, 2], &[3]).unwrap();
    let picked = labels.index_select(0, &idx).unwrap();
    assert_eq!(picked.to_vec::<i64>().unwrap(), vec![9, 7, 9]);
    let img = Tensor::from_slice(&[1u8, 2, 3, 4], &[2, 2]).unwrap();
    let rows = img
        .index_select(0, &Tensor::from_slice(&[1i64], &[1]).unwrap())
        .unwrap();
    assert_eq!(rows.to_vec::<u8>().unwrap(), vec![3, 4]);
}

/// Naive triple loop in f64 over row-major [m, k] and [k, n].
fn naive_matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for p in 0..k {
            for j in 0..n {
                c[i * n + j] += a[i * k + p] * b[p * n + j];
            }
        }
    }
    c
}

#[test]
fn matmul_threading_paths_agree_with_a_naive_product() {
    // Sizes that take the serial, row-split, whole-GEMM-threaded and per-batch paths.
    let mut rng = Rng::seed(5);
    for (batch, m, k, n) in [
        (1, 7, 5, 3),
        (1, 256, 300, 128),
        (1, 520, 512, 256),
        (6, 40, 64, 48),
    ] {
        let a = Tensor::randn(&[batch, m, k], DType::F32, &mut rng);
        let b = Tensor::randn(&[batch, k, n], DType::F32, &mut rng);
        let c = a.matmul(&b).unwrap().to_vec_f64();
        let (av, bv) = (a.to_vec_f64(), b.to_vec_f64());
        for i in 0..batch {
            let want = naive_matmul(
                &av[i * m * k..(i + 1) * m * k],
                &bv[i * k * n..(i + 1) * k * n],
                m,
                k,
                n,
            );
            for (j, (g, w)) in c[i * m * n..(i + 1) * m * n].iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() < 1e-3 * (1.0 + w.abs()),
                    "[{batch},{m},{k},{n}] elem {j}: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn rng_state_round_trips() {
    let mut a = Rng::seed(77);
    for _ in 0..13 {
        a.uniform();
    }
    let (seed, pos) = a.state();
    let mut b = Rng::from_state(seed, pos);
    let xs: Vec<f64> = (0..5).map(|_| a.normal()).collect();
    let ys: Vec<f64> = (0..5).map(|_| b.normal()).collect();
    assert_eq!(xs, ys);
}
