//! Convolution and pooling: gradchecks, PyTorch reference parity, a direct-loop oracle
//! for the threaded paths, tie-breaking of max pooling, and error reporting.

use std::sync::OnceLock;

use serde_json::Value;
use zhixing_tensor::gradcheck::{gradcheck, GradcheckOptions};
use zhixing_tensor::{DType, Rng, Tensor};

// ---- reference loading -------------------------------------------------------------------

fn reference() -> &'static Value {
    static REF: OnceLock<Value> = OnceLock::new();
    REF.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/reference/torch_reference.json"
        );
        let text = std::fs::read_to_string(path).expect("read torch_reference.json");
        serde_json::from_str(&text).expect("parse torch_reference.json")
    })
}

fn case(name: &str) -> &'static Value {
    &reference()["cases"][name]
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("unsigned int") as usize)
        .collect()
}

/// A tensor from a `{"shape": [...], "data": [...]}` entry.
fn tensor_of(v: &Value, dtype: DType) -> Tensor {
    let data: Vec<f64> = v["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect();
    let t = Tensor::from_vec(data, &usizes(&v["shape"])).expect("shape matches data");
    t.to_dtype(dtype).expect("cast")
}

fn param(c: &Value, key: &str) -> usize {
    c["params"][key].as_u64().expect("integer param") as usize
}

/// Asserts `got` matches `want` elementwise: f64 to 1e-10, f32 to 1e-4 (relative above 1).
fn assert_close(what: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let atol = if got.dtype() == DType::F64 {
        1e-10
    } else {
        1e-4
    };
    for (i, (a, b)) in got.to_vec_f64().iter().zip(want.to_vec_f64()).enumerate() {
        assert!(
            (a - b).abs() <= atol * b.abs().max(1.0),
            "{what}: element {i}: got {a}, want {b}"
        );
    }
}

/// Runs `f` on the case's inputs in f32 and f64, checking the output and every input grad.
fn check_reference(name: &str, input_names: &[&str], f: impl Fn(&[Tensor]) -> Tensor) {
    let c = case(name);
    assert!(c.is_object(), "case {name} missing from the reference file");
    for dtype in [DType::F64, DType::F32] {
        let inputs: Vec<Tensor> = input_names
            .iter()
            .map(|n| tensor_of(&c["inputs"][*n], dtype).requires_grad_(true))
            .collect();
        let out = f(&inputs);
        assert_close(
            &format!("{name} {dtype} output"),
            &out,
            &tensor_of(&c["output"], dtype),
        );
        out.backward_with(&tensor_of(&c["upstream"], dtype))
            .unwrap();
        for (n, t) in input_names.iter().zip(&inputs) {
            let want = tensor_of(&c["grads"][*n], dtype);
            assert_close(
                &format!("{name} {dtype} grad {n}"),
                &t.grad().expect("grad"),
                &want,
            );
        }
    }
}

// ---- helpers -----------------------------------------------------------------------------

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

#[derive(Debug, Clone, Copy)]
struct Conv {
    n: usize,
    c_in: usize,
    c_out: usize,
    hw: (usize, usize),
    k: (usize, usize),
    stride: (usize, usize),
    pad: (usize, usize),
    dil: (usize, usize),
    groups: usize,
    bias: bool,
}

impl Conv {
    fn inputs(&self, seed: u64) -> Vec<Tensor> {
        let mut v = vec![
            randn(&[self.n, self.c_in, self.hw.0, self.hw.1], seed),
            randn(
                &[self.c_out, self.c_in / self.groups, self.k.0, self.k.1],
                seed + 1,
            ),
        ];
        if self.bias {
            v.push(randn(&[self.c_out], seed + 2));
        }
        v
    }

    fn run(&self, t: &[Tensor]) -> zhixing_tensor::Result<Tensor> {
        t[0].conv2d(
            &t[1],
            t.get(2),
            self.stride,
            self.pad,
            self.dil,
            self.groups,
        )
    }
}

const BASE: Conv = Conv {
    n: 2,
    c_in: 3,
    c_out: 4,
    hw: (6, 5),
    k: (3, 3),
    stride: (1, 1),
    pad: (0, 0),
    dil: (1, 1),
    groups: 1,
    bias: true,
};

/// Direct 7-loop convolution in f64: the oracle for the im2col path.
fn naive_conv(c: &Conv, x: &[f64], w: &[f64], b: Option<&[f64]>) -> (Vec<f64>, [usize; 4]) {
    let (h, wd) = c.hw;
    let oh = (h + 2 * c.pad.0 - c.dil.0 * (c.k.0 - 1) - 1) / c.stride.0 + 1;
    let ow = (wd + 2 * c.pad.1 - c.dil.1 * (c.k.1 - 1) - 1) / c.stride.1 + 1;
    let (cg, og) = (c.c_in / c.groups, c.c_out / c.groups);
    let mut out = vec![0.0; c.n * c.c_out * oh * ow];
    for n in 0..c.n {
        for co in 0..c.c_out {
            let grp = co / og;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = b.map_or(0.0, |b| b[co]);
                    for ci in 0..cg {
                        let cin = grp * cg + ci;
                        for ki in 0..c.k.0 {
                            for kj in 0..c.k.1 {
                                let iy =
                                    (oy * c.stride.0 + ki * c.dil.0) as isize - c.pad.0 as isize;
                                let ix =
                                    (ox * c.stride.1 + kj * c.dil.1) as isize - c.pad.1 as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let xv =
                                    x[((n * c.c_in + cin) * h + iy as usize) * wd + ix as usize];
                                s += xv * w[((co * cg + ci) * c.k.0 + ki) * c.k.1 + kj];
                            }
                        }
                    }
                    out[((n * c.c_out + co) * oh + oy) * ow + ox] = s;
                }
            }
        }
    }
    (out, [c.n, c.c_out, oh, ow])
}

// ---- conv2d ------------------------------------------------------------------------------

/// A [`Conv`] differing from `$base` (default [`BASE`]) in the given fields.
macro_rules! conv {
    ($($f:ident: $v:expr),* $(,)?) => { Conv { $($f: $v,)* ..BASE } };
    ($base:ident; $($f:ident: $v:expr),* $(,)?) => { Conv { $($f: $v,)* ..$base } };
}

#[test]
fn conv2d_gradcheck_configurations() {
    let cases = [
        BASE,
        conv!(pad: (1, 1), bias: false),
        conv!(stride: (2, 2), pad: (2, 2)),
        conv!(k: (2, 3), stride: (2, 1), pad: (0, 2), bias: false),
        conv!(c_in: 4, c_out: 6, hw: (7, 7), stride: (2, 2), pad: (2, 2), dil: (2, 2), groups: 2),
        conv!(k: (2, 2), stride: (1, 2), pad: (1, 0), dil: (1, 2)),
        conv!(c_in: 4, c_out: 4, groups: 2, pad: (1, 1)),
        // depthwise, with and without a channel multiplier
        conv!(c_out: 3, groups: 3, pad: (1, 1)),
        conv!(c_out: 6, groups: 3, stride: (2, 2), pad: (1, 1), bias: false),
        // 1×1 kernels take the no-im2col path
        conv!(c_in: 4, c_out: 6, k: (1, 1), groups: 2),
        conv!(k: (1, 1), stride: (2, 2)),
        // the kernel covers the whole input
        conv!(k: (6, 5)),
    ];
    for (i, c) in cases.iter().enumerate() {
        let inputs = c.inputs(100 + 10 * i as u64);
        gradcheck(|t| c.run(t), &inputs, opts()).unwrap_or_else(|e| panic!("case {i} {c:?}: {e}"));
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn conv2d_matches_direct_loops_on_threaded_paths() {
    // Large enough that the batch runs in parallel (n = 4) or the GEMM is threaded (n = 1).
    let big = conv!(n: 4, c_in: 8, c_out: 16, hw: (18, 17), pad: (1, 1));
    let cases = [
        big,
        conv!(big; n: 1),
        conv!(big; groups: 4, dil: (2, 1), stride: (2, 2)),
        conv!(big; k: (1, 1), pad: (0, 0)),
        conv!(big; n: 1, k: (1, 1), pad: (0, 0), groups: 2, bias: false),
    ];
    for (i, c) in cases.iter().enumerate() {
        let t = c.inputs(7 + i as u64);
        let (x, w) = (t[0].to_vec_f64(), t[1].to_vec_f64());
        let b = t.get(2).map(|b| b.to_vec_f64());
        let (want, shape) = naive_conv(c, &x, &w, b.as_deref());
        let out = c.run(&t).unwrap();
        assert_close(
            &format!("case {i}"),
            &out,
            &Tensor::from_vec(want, &shape).unwrap(),
        );

        // Without bias the conv is bilinear, so <dy, conv(x, w)> = <dx, x> = <dw, w>.
        let dy = Tensor::randn(out.shape(), DType::F64, &mut Rng::seed(99));
        out.backward_with(&dy).unwrap();
        let dys = dy.to_vec_f64();
        let plain = dot(&naive_conv(c, &x, &w, None).0, &dys);
        let tol = 1e-9 * plain.abs().max(1.0);
        let gx = dot(&t[0].grad().unwrap().to_vec_f64(), &x);
        let gw = dot(&t[1].grad().unwrap().to_vec_f64(), &w);
        assert!((gx - plain).abs() < tol, "case {i}: dx·x {gx} vs {plain}");
        assert!((gw - plain).abs() < tol, "case {i}: dw·w {gw} vs {plain}");
        if let Some(bias) = t.get(2) {
            // db[c] = Σ dy[:, c, :, :]
            let want = dy.sum(&[0, 2, 3], false).unwrap();
            assert_close(&format!("case {i} db"), &bias.grad().unwrap(), &want);
        }
    }
}

#[test]
fn conv2d_f32_matches_f64() {
    let c = Conv {
        n: 3,
        c_in: 6,
        c_out: 8,
        hw: (12, 11),
        pad: (1, 2),
        groups: 2,
        ..BASE
    };
    let t = c.inputs(3);
    let t32: Vec<Tensor> = t.iter().map(|x| x.to_dtype(DType::F32).unwrap()).collect();
    let (a, b) = (c.run(&t).unwrap(), c.run(&t32).unwrap());
    assert_close("f32 vs f64", &b, &a.to_dtype(DType::F32).unwrap());
}

#[test]
fn conv2d_strided_input_and_partial_requires_grad() {
    let x = Tensor::randn(&[2, 3, 5, 6], DType::F64, &mut Rng::seed(1));
    let xt = x.transpose(2, 3).unwrap(); // non-contiguous [2, 3, 6, 5]
    let w = randn(&[4, 3, 3, 3], 2);
    let out = xt.conv2d(&w, None, (1, 1), (1, 1), (1, 1), 1).unwrap();
    let want = xt
        .contiguous()
        .unwrap()
        .conv2d(&w.detach(), None, (1, 1), (1, 1), (1, 1), 1)
        .unwrap();
    assert_close("strided input", &out, &want);
    out.sum_all().unwrap().backward().unwrap();
    assert!(x.grad().is_none());
    assert_eq!(w.grad().unwrap().shape(), &[4, 3, 3, 3]);
}

#[test]
fn conv2d_unbatched_input() {
    let x = randn(&[3, 5, 5], 4);
    let w = randn(&[2, 3, 3, 3], 5);
    let out = x.conv2d(&w, None, (1, 1), (1, 1), (1, 1), 1).unwrap();
    assert_eq!(out.shape(), &[2, 5, 5]);
    let batched = x
        .unsqueeze(0)
        .unwrap()
        .conv2d(&w, None, (1, 1), (1, 1), (1, 1), 1)
        .unwrap();
    assert_close("unbatched", &out, &batched.squeeze(0).unwrap());
}

#[test]
fn conv2d_reference_parity() {
    for name in ["conv2d_s1_p1", "conv2d_s2_p0", "conv2d_s2_p1_k5"] {
        let c = case(name);
        let (s, p) = (param(c, "stride"), param(c, "padding"));
        let bias = c["params"]["bias"].as_bool().expect("bias flag");
        let names = if bias {
            &["x", "w", "bias"][..]
        } else {
            &["x", "w"][..]
        };
        let f = |t: &[Tensor]| {
            t[0].conv2d(&t[1], t.get(2), (s, s), (p, p), (1, 1), 1)
                .unwrap()
        };
        check_reference(name, names, f);
    }
}

// ---- conv1d ------------------------------------------------------------------------------

/// Gradchecks a one-input op.
fn check1(f: impl Fn(&Tensor) -> zhixing_tensor::Result<Tensor>, x: Tensor) {
    gradcheck(|t| f(&t[0]), &[x], opts()).unwrap();
}

#[test]
fn conv1d_gradcheck_and_values() {
    let (x, w, b) = (
        randn(&[2, 4, 9], 11),
        randn(&[6, 2, 3], 12),
        randn(&[6], 13),
    );
    let f = |t: &[Tensor]| t[0].conv1d(&t[1], Some(&t[2]), 2, 1, 2, 2);
    gradcheck(f, &[x.clone(), w.clone(), b.clone()], opts()).unwrap();
    let f = |t: &[Tensor]| t[0].conv1d(&t[1], None, 1, 0, 1, 1);
    gradcheck(f, &[randn(&[2, 3, 7], 14), randn(&[2, 3, 4], 15)], opts()).unwrap();
    // Against conv2d on H = 1.
    let out = x.conv1d(&w, Some(&b), 2, 1, 2, 2).unwrap();
    let (x4, w4) = (x.unsqueeze(2).unwrap(), w.unsqueeze(2).unwrap());
    let via2d = x4.conv2d(&w4, Some(&b), (1, 2), (0, 1), (1, 2), 2).unwrap();
    assert_eq!(out.shape(), &[2, 6, 4]);
    assert_close("conv1d", &out, &via2d.squeeze(2).unwrap());
    // Hand-computed: [1, 2, 3, 4] ⋆ [1, -1] = [-1, -1, -1].
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[1, 1, 4]).unwrap();
    let w = Tensor::from_vec(vec![1.0f32, -1.0], &[1, 1, 2]).unwrap();
    let y = x.conv1d(&w, None, 1, 0, 1, 1).unwrap();
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![-1.0; 3]);
}

// ---- pooling -----------------------------------------------------------------------------

#[test]
fn max_pool2d_gradcheck() {
    let x = randn(&[2, 2, 7, 7], 21);
    check1(|t| t.max_pool2d((3, 3), (2, 2), (1, 1)), x.clone());
    check1(|t| t.max_pool2d((2, 3), (1, 2), (1, 0)), x);
    check1(
        |t| t.max_pool2d((2, 2), (2, 2), (0, 0)),
        randn(&[1, 3, 5, 6], 22),
    );
}

/// Pools `x` (f64, shape `shape`) with `f`, backpropagates `dy`; returns (output, grad).
fn pool_values(
    x: Vec<f64>,
    shape: &[usize],
    f: impl Fn(&Tensor) -> zhixing_tensor::Result<Tensor>,
    dy: Vec<f64>,
) -> (Vec<f64>, Vec<f64>) {
    let x = Tensor::from_vec(x, shape).unwrap().requires_grad_(true);
    let y = f(&x).unwrap();
    let dy_shape = y.shape().to_vec();
    y.backward_with(&Tensor::from_vec(dy, &dy_shape).unwrap())
        .unwrap();
    (y.to_vec_f64(), x.grad().unwrap().to_vec_f64())
}

#[test]
fn max_pool2d_ties_route_to_first_max() {
    // Two 2×2 windows: {1, 3 | 3, 0} and {3, 2 | 1, 3}; the first 3 in row-major order wins.
    let x = vec![1.0, 3.0, 3.0, 2.0, 3.0, 0.0, 1.0, 3.0];
    let (y, dx) = pool_values(
        x,
        &[1, 1, 2, 4],
        |t| t.max_pool2d((2, 2), (2, 2), (0, 0)),
        vec![10.0, 20.0],
    );
    assert_eq!(y, vec![3.0, 3.0]);
    assert_eq!(dx, vec![0.0, 10.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0]);

    // Overlapping windows over a constant plane: each goes to its own top-left element.
    let (_, dx) = pool_values(
        vec![5.0; 6],
        &[1, 1, 2, 3],
        |t| t.max_pool2d((2, 2), (1, 1), (0, 0)),
        vec![1.0, 2.0],
    );
    assert_eq!(dx, vec![1.0, 2.0, 0.0, 0.0, 0.0, 0.0]);

    // Padding is −∞ (the max of negatives stays negative) and every clipped window starts
    // at the first real element.
    let dy = vec![1.0, 2.0, 3.0, 4.0];
    let (y, dx) = pool_values(
        vec![-7.0; 4],
        &[1, 1, 2, 2],
        |t| t.max_pool2d((3, 3), (1, 1), (1, 1)),
        dy,
    );
    assert_eq!(y, vec![-7.0; 4]);
    assert_eq!(dx, vec![10.0, 0.0, 0.0, 0.0]);

    // A NaN propagates (the last one in the window takes the gradient), as in PyTorch.
    let x = vec![1.0, f64::NAN, 9.0, f64::NAN];
    let (y, dx) = pool_values(
        x,
        &[1, 1, 1, 4],
        |t| t.max_pool2d((1, 4), (1, 1), (0, 0)),
        vec![1.0],
    );
    assert!(y[0].is_nan());
    assert_eq!(dx, vec![0.0, 0.0, 0.0, 1.0]);
}

#[test]
fn max_pool2d_large_parallel_matches_serial_planes() {
    // Many planes take the parallel path; each plane must equal pooling it alone.
    let x = Tensor::randn(&[4, 16, 32, 32], DType::F32, &mut Rng::seed(5));
    let y = x.max_pool2d((3, 3), (2, 2), (1, 1)).unwrap();
    assert_eq!(y.shape(), &[4, 16, 16, 16]);
    let plane = x.narrow(0, 3, 1).unwrap().narrow(1, 15, 1).unwrap();
    let alone = plane.max_pool2d((3, 3), (2, 2), (1, 1)).unwrap();
    let from_big = y.narrow(0, 3, 1).unwrap().narrow(1, 15, 1).unwrap();
    assert_close("plane", &from_big.contiguous().unwrap(), &alone);
}

#[test]
fn avg_pool2d_gradcheck_and_count_include_pad() {
    let x = randn(&[2, 2, 7, 7], 31);
    check1(|t| t.avg_pool2d((3, 3), (2, 2), (1, 1)), x.clone());
    check1(|t| t.avg_pool2d((2, 3), (1, 2), (1, 1)), x);
    // Ones with padding 1: corners see 1 of 4 cells, edges 2, the centre 4 (divisor 4 always);
    // the gradient skips the padding, so each input gets 4 shares of 1/4.
    let (y, dx) = pool_values(
        vec![1.0; 4],
        &[1, 1, 2, 2],
        |t| t.avg_pool2d((2, 2), (1, 1), (1, 1)),
        vec![1.0; 9],
    );
    assert_eq!(y, vec![0.25, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.25]);
    assert_eq!(dx, vec![1.0; 4]);
}

#[test]
fn adaptive_avg_pool2d_gradcheck_and_values() {
    check1(|t| t.adaptive_avg_pool2d((3, 3)), randn(&[2, 2, 7, 7], 41));
    check1(|t| t.adaptive_avg_pool2d((3, 4)), randn(&[1, 2, 5, 6], 42));
    check1(|t| t.adaptive_avg_pool2d((4, 3)), randn(&[1, 1, 3, 2], 43));
    // 5 → 3 uses windows [0, 2), [1, 4), [3, 5); the middle input is in two windows.
    let x: Vec<f64> = (0..5).map(f64::from).collect();
    let (y, dx) = pool_values(
        x,
        &[1, 1, 1, 5],
        |t| t.adaptive_avg_pool2d((1, 3)),
        vec![6.0; 3],
    );
    assert_eq!(y, vec![0.5, 2.0, 3.5]);
    assert_eq!(dx, vec![3.0, 5.0, 2.0, 5.0, 3.0]);
    // Divisible sizes reduce to plain average pooling; (1, 1) is the global mean.
    let x = Tensor::randn(&[2, 3, 6, 6], DType::F64, &mut Rng::seed(44));
    let a = x.adaptive_avg_pool2d((3, 3)).unwrap();
    assert_close(
        "adaptive = avg",
        &a,
        &x.avg_pool2d((2, 2), (2, 2), (0, 0)).unwrap(),
    );
    let g = x.adaptive_avg_pool2d((1, 1)).unwrap();
    assert_close("global", &g, &x.mean(&[2, 3], true).unwrap());
}

#[test]
fn pool_reference_parity() {
    for name in [
        "max_pool2d_k2",
        "max_pool2d_k3_s2_p1",
        "avg_pool2d_k2",
        "avg_pool2d_k3_s2_p1",
    ] {
        let c = case(name);
        let (k, s, p) = (
            param(c, "kernel_size"),
            param(c, "stride"),
            param(c, "padding"),
        );
        check_reference(name, &["x"], |t| {
            if name.starts_with("max") {
                t[0].max_pool2d((k, k), (s, s), (p, p)).unwrap()
            } else {
                t[0].avg_pool2d((k, k), (s, s), (p, p)).unwrap()
            }
        });
    }
}

// ---- errors ------------------------------------------------------------------------------

fn err_text(r: zhixing_tensor::Result<Tensor>) -> String {
    match r {
        Ok(t) => panic!("expected an error, got a tensor of shape {:?}", t.shape()),
        Err(e) => e.to_string(),
    }
}

fn zeros(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape, DType::F32)
}

#[test]
fn conv_errors_name_the_shapes() {
    let (x, w) = (zeros(&[2, 3, 8, 8]), zeros(&[4, 3, 3, 3]));
    let conv = |w: &Tensor, s, p, g| x.conv2d(w, None, s, p, (1, 1), g);

    let e = err_text(conv(&zeros(&[4, 2, 3, 3]), (1, 1), (0, 0), 1));
    assert!(
        e.contains("[2, 3, 8, 8]") && e.contains("[4, 2, 3, 3]"),
        "{e}"
    );
    let e = err_text(conv(&zeros(&[4, 3, 3]), (1, 1), (0, 0), 1));
    assert!(e.contains("4-D"), "{e}");
    err_text(zeros(&[8, 8]).conv2d(&w, None, (1, 1), (0, 0), (1, 1), 1));
    let e = err_text(conv(&zeros(&[4, 1, 3, 3]), (1, 1), (0, 0), 2));
    assert!(e.contains("groups=2"), "{e}");
    err_text(conv(&zeros(&[4, 1, 3, 3]), (1, 1), (0, 0), 3)); // 4 output channels, 3 groups
    err_text(conv(&w, (1, 1), (0, 0), 0));
    err_text(conv(&w, (0, 1), (0, 0), 1));
    let e = err_text(conv(&zeros(&[4, 3, 11, 3]), (1, 1), (1, 1), 1));
    assert!(e.contains("padded input"), "{e}");
    err_text(x.conv2d(&w, None, (1, 1), (1, 1), (0, 1), 1));
    err_text(x.conv2d(&w, Some(&zeros(&[3])), (1, 1), (0, 0), (1, 1), 1));
    err_text(conv(&w.to_dtype(DType::F64).unwrap(), (1, 1), (0, 0), 1));
    let (xi, wi) = (
        x.to_dtype(DType::I64).unwrap(),
        w.to_dtype(DType::I64).unwrap(),
    );
    err_text(xi.conv2d(&wi, None, (1, 1), (0, 0), (1, 1), 1));

    let x1 = zeros(&[2, 3, 8]);
    let e = err_text(x1.conv1d(&zeros(&[4, 2, 3]), None, 1, 0, 1, 1));
    assert!(e.contains("conv1d") && e.contains("[2, 3, 8]"), "{e}");
    err_text(x1.conv1d(&zeros(&[4, 3, 9]), None, 1, 0, 1, 1));
    err_text(x1.conv1d(&w, None, 1, 0, 1, 1));
}

#[test]
fn pool_errors() {
    let x = zeros(&[1, 2, 5, 5]);
    err_text(zeros(&[5, 5]).max_pool2d((2, 2), (2, 2), (0, 0)));
    err_text(x.max_pool2d((0, 2), (2, 2), (0, 0)));
    err_text(x.max_pool2d((2, 2), (0, 2), (0, 0)));
    let e = err_text(x.max_pool2d((3, 3), (1, 1), (2, 2)));
    assert!(e.contains("half the kernel"), "{e}");
    err_text(x.avg_pool2d((7, 2), (1, 1), (0, 0)));
    err_text(x.avg_pool2d((2, 2), (1, 1), (0, 2)));
    err_text(zeros(&[1, 2, 0, 5]).max_pool2d((2, 2), (1, 1), (1, 1)));
    err_text(x.adaptive_avg_pool2d((0, 2)));
    err_text(zeros(&[5, 5]).adaptive_avg_pool2d((2, 2)));
    let xi = x.to_dtype(DType::I64).unwrap();
    err_text(xi.avg_pool2d((2, 2), (2, 2), (0, 0)));
}
