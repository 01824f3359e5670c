//! Matrix products with `torch.matmul` semantics: vectors, matrices and broadcast batches.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::{expect_float, same_dtype};
use crate::shape::{broadcast_shapes, Layout};
use crate::{float_dispatch, Tensor};

/// Below this many multiply-adds one GEMM runs on one thread.
const GEMM_PARALLEL_FLOPS: usize = 1 << 18;

/// Up to this many multiply-adds, threads split the output rows instead of sharing one GEMM.
const GEMM_SPLIT_MAX_FLOPS: usize = 1 << 25;

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
            (r, 2) if r > 2 && self.is_contiguous() => {
                // [.., m, k] @ [k, n]: one tall GEMM instead of a batch of small ones.
                let k = self.shape()[r - 1];
                let rows = self.numel() / k.max(1);
                let mut shape = self.shape().to_vec();
                let out = self.reshape(&[rows, k])?.matmul_nd(rhs)?;
                shape[r - 1] = rhs.shape()[1];
                out.reshape(&shape)
            }
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
                Some(grad_operand(g, &b, &a, true)?)
            } else {
                None
            };
            let gb = if need_b {
                Some(grad_operand(g, &a, &b, false)?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        }))
    }
}

/// True for a 2-D view of a row-major matrix's transpose (strides [1, rows]).
fn is_transposed_matrix(t: &Tensor) -> bool {
    t.rank() == 2 && t.strides()[0] == 1 && t.strides()[1] == t.shape()[0] && t.shape()[0] > 1
}

/// Gradient of one matmul operand: dA = G·Bᵀ (`lhs`) or dB = Aᵀ·G.
///
/// When the operand is itself a transposed matrix (a Linear layer's `weight.t()`), the
/// gradient is computed as the transpose of (Bᵀ·Gᵀ…) so that after the transpose's own
/// backward it lands contiguous in the weight's layout — no strided copy per step.
fn grad_operand(g: &Tensor, other: &Tensor, operand: &Tensor, lhs: bool) -> Result<Tensor> {
    if g.rank() == 2 && other.rank() == 2 && is_transposed_matrix(operand) {
        let t = if lhs {
            other.matmul_nd(&g.transpose(0, 1)?)? // (G·Bᵀ)ᵀ = B·Gᵀ
        } else {
            g.transpose(0, 1)?.matmul_nd(other)? // (Aᵀ·G)ᵀ = Gᵀ·A
        };
        return t.transpose(0, 1);
    }
    let full = if lhs {
        g.matmul_nd(&other.transpose(-1, -2)?)?
    } else {
        other.transpose(-1, -2)?.matmul_nd(g)?
    };
    full.sum_to_shape(operand.shape())
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
    if m == 0 || n == 0 || k == 0 {
        return vec![T::zero(); batches * m * n];
    }
    let total = batches * m * n;
    let mut out: Vec<T> = Vec::with_capacity(total);
    let flops = m * n * k;
    let threads = crate::cpu::num_threads();
    let r = la.rank();
    // One GEMM of `rows` output rows starting at row `r0` of batch entry `batch`.
    let run = |batch: usize, r0: usize, rows: usize, dst: &mut [MaybeUninit<T>], threads: usize| {
        let oa = batch_offset(la, batch) + r0 * la.strides[r - 2];
        let ob = batch_offset(lb, batch);
        // SAFETY: the layouts were validated against the storages, so every offset
        // + i·stride the GEMM reads is in bounds; dst is an exclusive rows×n block.
        unsafe {
            T::gemm(
                rows,
                n,
                k,
                dst.as_mut_ptr().cast::<T>(),
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
    let spare = &mut out.spare_capacity_mut()[..total];
    if threads == 1 || flops < GEMM_PARALLEL_FLOPS {
        for (i, dst) in spare.chunks_mut(m * n).enumerate() {
            run(i, 0, m, dst, 1);
        }
    } else if batches > 1 && flops < GEMM_PARALLEL_FLOPS * 4 {
        // Many small products (attention heads): one thread per product.
        spare
            .par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, dst)| run(i, 0, m, dst, 1));
    } else if flops < GEMM_SPLIT_MAX_FLOPS && m >= 16 * threads {
        // Medium products (a training step's layers): split the rows across threads,
        // each a single-threaded GEMM — cheaper than the GEMM's own fork/join here.
        let rows = m.div_ceil(threads);
        for (i, dst) in spare.chunks_mut(m * n).enumerate() {
            dst.par_chunks_mut(rows * n)
                .enumerate()
                .for_each(|(t, part)| run(i, t * rows, part.len() / n, part, 1));
        }
    } else {
        for (i, dst) in spare.chunks_mut(m * n).enumerate() {
            run(i, 0, m, dst, threads);
        }
    }
    // SAFETY: the GEMMs above wrote every element (read_dst = false overwrites each
    // rows×n block, and the blocks tile the output).
    unsafe { out.set_len(total) };
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
