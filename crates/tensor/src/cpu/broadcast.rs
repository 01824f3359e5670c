//! Binary element-wise kernels over broadcast (stride-0) and strided views.

use rayon::prelude::*;

use super::{math, PARALLEL_THRESHOLD};
use crate::dtype::Float;
use crate::shape::Layout;

/// out = f(a, b) over `la`/`lb`, two views already broadcast to the same shape.
pub fn binary<T: Float, F: Fn(T, T) -> T + Sync>(
    a: &[T],
    la: &Layout,
    b: &[T],
    lb: &Layout,
    f: F,
) -> Vec<T> {
    debug_assert_eq!(la.shape, lb.shape);
    let n = la.numel();
    if la.is_contiguous() && lb.is_contiguous() {
        return math::zip_map(
            &a[la.offset..la.offset + n],
            &b[lb.offset..lb.offset + n],
            f,
        );
    }
    let (la, lb) = coalesce(la, lb);
    let mut out = vec![T::zero(); n];
    if n == 0 {
        return out;
    }
    let rank = la.rank();
    let inner = if rank == 0 { 1 } else { la.shape[rank - 1] };
    let (sa, sb) = if rank == 0 {
        (1, 1)
    } else {
        (la.strides[rank - 1], lb.strides[rank - 1])
    };
    let row = |r: usize, dst: &mut [T]| {
        let oa = super::strided::row_offset(&la, r);
        let ob = super::strided::row_offset(&lb, r);
        row_kernel(&a[oa..], sa, &b[ob..], sb, dst, &f);
    };
    let rows_per_task = (PARALLEL_THRESHOLD / inner.max(1)).max(1);
    if n >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(inner * rows_per_task)
            .enumerate()
            .for_each(|(t, chunk)| {
                for (i, dst) in chunk.chunks_mut(inner).enumerate() {
                    row(t * rows_per_task + i, dst);
                }
            });
    } else {
        for (r, dst) in out.chunks_mut(inner).enumerate() {
            row(r, dst);
        }
    }
    out
}

#[inline(always)]
fn row_kernel<T: Float, F: Fn(T, T) -> T>(
    a: &[T],
    sa: usize,
    b: &[T],
    sb: usize,
    dst: &mut [T],
    f: &F,
) {
    let n = dst.len();
    match (sa, sb) {
        (1, 1) => {
            for ((d, &x), &y) in dst.iter_mut().zip(&a[..n]).zip(&b[..n]) {
                *d = f(x, y);
            }
        }
        (1, 0) => {
            let y = b[0];
            for (d, &x) in dst.iter_mut().zip(&a[..n]) {
                *d = f(x, y);
            }
        }
        (0, 1) => {
            let x = a[0];
            for (d, &y) in dst.iter_mut().zip(&b[..n]) {
                *d = f(x, y);
            }
        }
        _ => {
            for (j, d) in dst.iter_mut().enumerate() {
                *d = f(a[j * sa], b[j * sb]);
            }
        }
    }
}

/// Merges adjacent dims that are laid out contiguously in both views (fewer, longer rows).
fn coalesce(la: &Layout, lb: &Layout) -> (Layout, Layout) {
    let mut shape: Vec<usize> = Vec::new();
    let mut sa: Vec<usize> = Vec::new();
    let mut sb: Vec<usize> = Vec::new();
    for d in 0..la.rank() {
        let (size, a, b) = (la.shape[d], la.strides[d], lb.strides[d]);
        if size == 1 {
            continue;
        }
        if let (Some(ls), Some(pa), Some(pb)) = (shape.last_mut(), sa.last_mut(), sb.last_mut()) {
            if *pa == a * size && *pb == b * size {
                *ls *= size;
                *pa = a;
                *pb = b;
                continue;
            }
        }
        shape.push(size);
        sa.push(a);
        sb.push(b);
    }
    if shape.is_empty() {
        shape.push(1);
        sa.push(1);
        sb.push(1);
    }
    let make = |strides, offset| Layout {
        shape: shape.clone(),
        strides,
        offset,
    };
    (make(sa, la.offset), make(sb, lb.offset))
}
