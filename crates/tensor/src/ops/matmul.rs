//! Matrix products with `torch.matmul` semantics: vectors, matrices and broadcast batches.

use rayon::prelude::*;

use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::{expect_float, same_dtype};
use crate::shape::{broadcast_shapes, Layout};
use crate::{float_dispatch, Tensor};

/// Below this many multiply-adds one GEMM runs on one thread.
const GEMM_PARALLEL_FLOPS: usize = 1 << 18;

/// A read-only storage slice that rayon tasks may share.
struct Shared<'a, T>(&'a [T]);

impl Tensor {
    /// Matrix product. 1-D operands are treated as a row (lhs) or column (rhs) vector and
    /// that dim is dropped from the result; leading dims broadcast as batch dims.
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        match (self.rank(), rhs.rank()) {
            (0, _) | (_, 0) => Err(Error::ShapeMismatch {
                op: "matmul",
                lhs: self.shape().to_vec(),
                rhs: rhs.shape().to_vec(),
            }),
            (1, 1) => self
                .unsqueeze(0)?
                .matmul_nd(&rhs.unsqueeze(1)?)?
                .reshape(&[]),
            (1, _) => self.unsqueeze(0)?.matmul_nd(rhs)?.squeeze(-2),
            (_, 1) => self.matmul_nd(&rhs.unsqueeze(1)?)?.squeeze(-1),
            _ => self.matmul_nd(rhs),
        }
    }

    /// Product of two tensors of rank ≥ 2.
    fn matmul_nd(&self, rhs: &Tensor) -> Result<Tensor> {
        expect_float("matmul", self)?;
        same_dtype("matmul", self, rhs)?;
        let (ra, rb) = (self.rank(), rhs.rank());
        let (m, k) = (self.shape()[ra - 2], self.shape()[ra - 1]);
        let (k2, n) = (rhs.shape()[rb - 2], rhs.shape()[rb - 1]);
        if k != k2 {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                lhs: self.shape().to_vec(),
                rhs: rhs.shape().to_vec(),
            });
        }
        let batch = broadcast_shapes("matmul", &self.shape()[..ra - 2], &rhs.shape()[..rb - 2])?;
        let with_mat = |r: usize, c: usize| {
            let mut s = batch.clone();
            s.extend([r, c]);
            s
        };
        let la = self.layout().broadcast_to(&with_mat(m, k))?;
        let lb = rhs.layout().broadcast_to(&with_mat(k, n))?;
        let out_shape = with_mat(m, n);
        let out = float_dispatch!("matmul", self.dtype(), T => {
            let (sa, sb) = (self.storage(), rhs.storage());
            let a = T::slice_of(&sa);
            let b = T::slice_of(&sb);
            let data = batched_gemm(Shared(a), &la, Shared(b), &lb, m, k, n);
            Tensor::from_vec(data, &out_shape)?
        });
        let (a, b) = (self.detach(), rhs.detach());
        let (need_a, need_b) = (self.requires_grad(), rhs.requires_grad());
        Ok(out.record("matmul", &[self, rhs], move |g| {
            // dA = G·Bᵀ, dB = Aᵀ·G, summed over broadcast batch dims.
            let ga = if need_a {
                Some(
                    g.matmul_nd(&b.transpose(-1, -2)?)?
                        .sum_to_shape(a.shape())?,
                )
            } else {
                None
            };
            let gb = if need_b {
                Some(a.transpose(-1, -2)?.matmul_nd(g)?.sum_to_shape(b.shape())?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        }))
    }
}

trait SliceOf: Float {
    fn slice_of(s: &crate::Storage) -> &[Self] {
        Self::slice(s).expect("dtype checked by the caller")
    }
}
impl<T: Float> SliceOf for T {}

/// Runs one GEMM per batch entry of broadcast layouts `la` [.., m, k] and `lb` [.., k, n].
fn batched_gemm<T: Float>(
    a: Shared<'_, T>,
    la: &Layout,
    b: Shared<'_, T>,
    lb: &Layout,
    m: usize,
    k: usize,
    n: usize,
) -> Vec<T> {
    let batches: usize = la.shape[..la.rank() - 2].iter().product();
    let mut out = vec![T::zero(); batches * m * n];
    if m == 0 || n == 0 || k == 0 {
        return out;
    }
    let flops = m * n * k;
    let threads = crate::cpu::num_threads();
    let run = |batch: usize, dst: &mut [T], threads: usize| {
        let oa = batch_offset(la, batch);
        let ob = batch_offset(lb, batch);
        let r = la.rank();
        // SAFETY: the layouts were validated against the storages, so every index
        // offset + i·stride the GEMM reads is in bounds; dst is an exclusive m×n block.
        unsafe {
            T::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.0.as_ptr().add(oa),
                la.strides[r - 1] as isize,
                la.strides[r - 2] as isize,
                b.0.as_ptr().add(ob),
                lb.strides[r - 1] as isize,
                lb.strides[r - 2] as isize,
                threads,
            );
        }
    };
    if batches > 1 && flops < GEMM_PARALLEL_FLOPS * 4 && threads > 1 {
        // Many small products (attention heads): one thread per product.
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, dst)| run(i, dst, 1));
    } else {
        let t = if flops >= GEMM_PARALLEL_FLOPS {
            threads
        } else {
            1
        };
        for (i, dst) in out.chunks_mut(m * n).enumerate() {
            run(i, dst, t);
        }
    }
    out
}

/// Storage offset of batch entry `batch` (row-major over the leading dims).
fn batch_offset(l: &Layout, mut batch: usize) -> usize {
    let mut off = l.offset;
    for d in (0..l.rank() - 2).rev() {
        off += (batch % l.shape[d]) * l.strides[d];
        batch /= l.shape[d];
    }
    off
}
