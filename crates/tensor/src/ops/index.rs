//! Indexing by integer tensors: index_select, gather, scatter_add and embedding lookup.
//! Their backward is a scatter-add: rows picked several times receive the sum.

use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::{expect_float, same_dtype};
use crate::shape::normalize_dim;
use crate::{float_dispatch, DType, Tensor};

/// Reads an i64 index tensor, checking every index against `size`.
fn checked_indices(op: &'static str, index: &Tensor, size: usize) -> Result<Vec<usize>> {
    if index.dtype() != DType::I64 {
        return Err(Error::DType {
            op,
            expected: DType::I64,
            got: index.dtype(),
        });
    }
    index
        .to_vec::<i64>()?
        .into_iter()
        .map(|i| {
            if i < 0 || i as usize >= size {
                Err(Error::IndexOutOfBounds { op, index: i, size })
            } else {
                Ok(i as usize)
            }
        })
        .collect()
}

/// (outer, size, inner) of `shape` split around dim `d`.
fn split_dims(shape: &[usize], d: usize) -> (usize, usize, usize) {
    (
        shape[..d].iter().product(),
        shape[d],
        shape[d + 1..].iter().product(),
    )
}

/// Copies rows `idx` of the [outer, size, inner] array `x` into [outer, idx.len(), inner].
fn select<T: Copy>(x: &[T], outer: usize, size: usize, inner: usize, idx: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &i in idx {
            let start = (o * size + i) * inner;
            out.extend_from_slice(&x[start..start + inner]);
        }
    }
    out
}

/// The adjoint of `select`: adds rows of g back at positions `idx`.
fn select_backward<T: Float>(
    g: &[T],
    outer: usize,
    size: usize,
    inner: usize,
    idx: &[usize],
) -> Vec<T> {
    let mut dx = vec![T::zero(); outer * size * inner];
    let k = idx.len();
    for o in 0..outer {
        for (j, &i) in idx.iter().enumerate() {
            let src = &g[(o * k + j) * inner..(o * k + j + 1) * inner];
            let dst = &mut dx[(o * size + i) * inner..(o * size + i + 1) * inner];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d += s;
            }
        }
    }
    dx
}

/// Position in a [outer, size, inner] array of element `flat` of an index tensor
/// [outer, k, inner] whose value is `i`.
#[inline]
fn gather_pos(flat: usize, k: usize, size: usize, inner: usize, i: usize) -> usize {
    let (o, rest) = (flat / (k * inner), flat % inner);
    (o * size + i) * inner + rest
}

fn check_gather_shape(op: &'static str, x: &[usize], index: &[usize], d: usize) -> Result<()> {
    let ok = x.len() == index.len() && (0..x.len()).all(|i| i == d || x[i] == index[i]);
    if ok {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op,
            lhs: x.to_vec(),
            rhs: index.to_vec(),
        })
    }
}

impl Tensor {
    /// Picks entries `indices` (1-D i64) along `dim`; works for every dtype.
    pub fn index_select(&self, dim: isize, indices: &Tensor) -> Result<Tensor> {
        if indices.rank() != 1 {
            return Err(Error::shape(
                "index_select",
                "indices must be 1-D",
                indices.shape(),
            ));
        }
        let d = normalize_dim("index_select", dim, self.shape())?;
        let (outer, size, inner) = split_dims(self.shape(), d);
        let idx = checked_indices("index_select", indices, size)?;
        let mut shape = self.shape().to_vec();
        shape[d] = idx.len();
        // Any dtype can be selected (integer labels too); only floats carry gradients.
        // A contiguous source is read in place: copying it would cost a whole dataset
        // per mini-batch.
        let out = if self.is_contiguous() {
            let (off, n) = (self.layout().offset, self.numel());
            let storage = self.storage();
            crate::with_storage!(&*storage, x => {
                Tensor::from_vec(select(&x[off..off + n], outer, size, inner, &idx), &shape)?
            })
        } else {
            let storage = self.contiguous_storage();
            crate::with_storage!(&storage, x => {
                Tensor::from_vec(select(x, outer, size, inner, &idx), &shape)?
            })
        };
        let in_shape = self.shape().to_vec();
        Ok(out.record("index_select", &[self], move |g| {
            let dx = float_dispatch!("index_select", g.dtype(), T => {
                let gs = g.to_vec::<T>()?;
                Tensor::from_vec(select_backward(&gs, outer, size, inner, &idx), &in_shape)?
            });
            Ok(vec![Some(dx)])
        }))
    }

    /// Embedding lookup: rows of `weight` [V, D] for every id in `ids` → [..ids.shape, D].
    pub fn embedding(ids: &Tensor, weight: &Tensor) -> Result<Tensor> {
        if weight.rank() != 2 {
            return Err(Error::shape(
                "embedding",
                "weight must be [vocab, dim]",
                weight.shape(),
            ));
        }
        let mut shape = ids.shape().to_vec();
        shape.push(weight.shape()[1]);
        weight
            .index_select(0, &ids.flatten(0, -1)?)?
            .reshape(&shape)
    }

    /// `torch.gather`: out[..i..] = self[..index[..i..]..] along `dim`; `index` has the
    /// rank of self and matches its shape except along `dim`.
    pub fn gather(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        expect_float("gather", self)?;
        let d = normalize_dim("gather", dim, self.shape())?;
        check_gather_shape("gather", self.shape(), index.shape(), d)?;
        let (_, size, inner) = split_dims(self.shape(), d);
        let k = index.shape()[d];
        let idx = checked_indices("gather", index, size)?;
        let out = float_dispatch!("gather", self.dtype(), T => {
            let data = self.with_slice(|x: &[T]| {
                idx.iter()
                    .enumerate()
                    .map(|(f, &i)| x[gather_pos(f, k, size, inner, i)])
                    .collect::<Vec<T>>()
            })?;
            Tensor::from_vec(data, index.shape())?
        });
        let (in_shape, index) = (self.shape().to_vec(), index.detach());
        Ok(out.record("gather", &[self], move |g| {
            let zeros = Tensor::zeros(&in_shape, g.dtype());
            Ok(vec![Some(zeros.scatter_add(d as isize, &index, g)?)])
        }))
    }

    /// self with `src` added at `index` along `dim` (the adjoint of gather).
    pub fn scatter_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        expect_float("scatter_add", self)?;
        same_dtype("scatter_add", self, src)?;
        let d = normalize_dim("scatter_add", dim, self.shape())?;
        check_gather_shape("scatter_add", self.shape(), index.shape(), d)?;
        if index.shape() != src.shape() {
            return Err(Error::ShapeMismatch {
                op: "scatter_add",
                lhs: index.shape().to_vec(),
                rhs: src.shape().to_vec(),
            });
        }
        let (_, size, inner) = split_dims(self.shape(), d);
        let k = index.shape()[d];
        let idx = checked_indices("scatter_add", index, size)?;
        let out = float_dispatch!("scatter_add", self.dtype(), T => {
            let mut data = self.to_vec::<T>()?;
            let s = src.to_vec::<T>()?;
            for (f, &i) in idx.iter().enumerate() {
                data[gather_pos(f, k, size, inner, i)] += s[f];
            }
            Tensor::from_vec(data, self.shape())?
        });
        let index = index.detach();
        Ok(out.record("scatter_add", &[self, src], move |g| {
            Ok(vec![Some(g.clone()), Some(g.gather(d as isize, &index)?)])
        }))
    }
}
