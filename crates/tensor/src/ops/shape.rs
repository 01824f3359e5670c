//! Views that move no data (reshape, transpose, permute, narrow, broadcast, squeeze) and
//! the copying ops that join or cut tensors (cat, stack, split, chunk).

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::shape::{contiguous_strides, normalize_dim, Layout};
use crate::Tensor;

impl Tensor {
    /// The same elements with another shape; a view when the data is contiguous.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != self.numel() {
            return Err(Error::ShapeMismatch {
                op: "reshape",
                lhs: self.shape().to_vec(),
                rhs: shape.to_vec(),
            });
        }
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let source = if self.is_contiguous() {
            self.detach()
        } else {
            Tensor::from_storage(self.contiguous_storage(), self.shape())
        };
        let layout = Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: source.layout().offset,
        };
        let out = source.view_with_layout(layout);
        let in_shape = self.shape().to_vec();
        Ok(out.record("reshape", &[self], move |g| {
            Ok(vec![Some(g.reshape(&in_shape)?)])
        }))
    }

    /// Reshape where one dim may be -1 (inferred from the others).
    pub fn reshape_infer(&self, shape: &[isize]) -> Result<Tensor> {
        let known: usize = shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        let unknown = shape.iter().filter(|&&d| d < 0).count();
        let bad = || Error::shape("reshape", format!("cannot view as {shape:?}"), self.shape());
        if unknown > 1 || shape.iter().any(|&d| d < -1) {
            return Err(bad());
        }
        let dims: Vec<usize> = if unknown == 1 {
            if known == 0 || !self.numel().is_multiple_of(known) {
                return Err(bad());
            }
            let inferred = self.numel() / known;
            shape
                .iter()
                .map(|&d| if d < 0 { inferred } else { d as usize })
                .collect()
        } else {
            shape.iter().map(|&d| d as usize).collect()
        };
        self.reshape(&dims)
    }

    /// Collapses dims `start..=end` into one.
    pub fn flatten(&self, start: isize, end: isize) -> Result<Tensor> {
        if self.rank() == 0 {
            return self.reshape(&[1]);
        }
        let s = normalize_dim("flatten", start, self.shape())?;
        let e = normalize_dim("flatten", end, self.shape())?;
        if s > e {
            return Err(Error::invalid(
                "flatten",
                format!("start dim {start} is after end dim {end}"),
            ));
        }
        let mut shape = self.shape()[..s].to_vec();
        shape.push(self.shape()[s..=e].iter().product());
        shape.extend_from_slice(&self.shape()[e + 1..]);
        self.reshape(&shape)
    }

    /// Swaps two dims (a view).
    pub fn transpose(&self, d0: isize, d1: isize) -> Result<Tensor> {
        let a = normalize_dim("transpose", d0, self.shape())?;
        let b = normalize_dim("transpose", d1, self.shape())?;
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// Transpose of a 2-D tensor.
    pub fn t(&self) -> Result<Tensor> {
        if self.rank() != 2 {
            return Err(Error::shape("t", "expected a 2-D tensor", self.shape()));
        }
        self.transpose(0, 1)
    }

    /// Reorders dims: output dim i is input dim `perm[i]` (a view).
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let rank = self.rank();
        let mut seen = vec![false; rank];
        for &p in perm {
            if p >= rank || std::mem::replace(&mut seen[p], true) {
                return Err(Error::shape(
                    "permute",
                    format!("{perm:?} is not a permutation of the dims"),
                    self.shape(),
                ));
            }
        }
        if perm.len() != rank {
            return Err(Error::shape(
                "permute",
                format!("{perm:?} is not a permutation of the dims"),
                self.shape(),
            ));
        }
        let l = self.layout();
        let layout = Layout {
            shape: perm.iter().map(|&p| l.shape[p]).collect(),
            strides: perm.iter().map(|&p| l.strides[p]).collect(),
            offset: l.offset,
        };
        let mut inverse = vec![0; rank];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        let out = self.view_with_layout(layout);
        Ok(out.record("permute", &[self], move |g| {
            Ok(vec![Some(g.permute(&inverse)?)])
        }))
    }

    /// Elements `start..start+len` along `dim` (a view).
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Result<Tensor> {
        let d = normalize_dim("narrow", dim, self.shape())?;
        if start + len > self.shape()[d] {
            return Err(Error::shape(
                "narrow",
                format!("range {start}..{} exceeds dim {d}", start + len),
                self.shape(),
            ));
        }
        let mut layout = self.layout().clone();
        layout.offset += start * layout.strides[d];
        layout.shape[d] = len;
        let out = self.view_with_layout(layout);
        let in_shape = self.shape().to_vec();
        let dtype = self.dtype();
        Ok(out.record("narrow", &[self], move |g| {
            let full = Tensor::zeros(&in_shape, dtype);
            full.narrow(d as isize, start, len)?.assign(g)?;
            Ok(vec![Some(full)])
        }))
    }

    /// Alias of [`Tensor::narrow`] taking a half-open range.
    pub fn slice(&self, dim: isize, range: std::ops::Range<usize>) -> Result<Tensor> {
        self.narrow(dim, range.start, range.end.saturating_sub(range.start))
    }

    /// Repeats size-1 dims (and prepends dims) to reach `shape` (a stride-0 view).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let layout = self.layout().broadcast_to(shape)?;
        let out = self.view_with_layout(layout);
        let in_shape = self.shape().to_vec();
        Ok(out.record("broadcast_to", &[self], move |g| {
            Ok(vec![Some(g.sum_to_shape(&in_shape)?)])
        }))
    }

    /// Removes dim `dim`, which must have size 1.
    pub fn squeeze(&self, dim: isize) -> Result<Tensor> {
        let d = normalize_dim("squeeze", dim, self.shape())?;
        if self.shape()[d] != 1 {
            return Err(Error::shape(
                "squeeze",
                format!("dim {d} has size {} (not 1)", self.shape()[d]),
                self.shape(),
            ));
        }
        let mut shape = self.shape().to_vec();
        shape.remove(d);
        self.reshape(&shape)
    }

    /// Inserts a size-1 dim at `dim` (which may equal the rank, or be negative).
    pub fn unsqueeze(&self, dim: isize) -> Result<Tensor> {
        let rank = self.rank() as isize;
        let d = if dim < 0 { dim + rank + 1 } else { dim };
        if d < 0 || d > rank {
            return Err(Error::DimOutOfRange {
                op: "unsqueeze",
                dim,
                shape: self.shape().to_vec(),
            });
        }
        let mut shape = self.shape().to_vec();
        shape.insert(d as usize, 1);
        self.reshape(&shape)
    }

    /// A contiguous tensor with the same elements (self when already contiguous).
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let out = Tensor::from_storage(self.contiguous_storage(), self.shape());
        Ok(out.record("contiguous", &[self], |g| Ok(vec![Some(g.clone())])))
    }

    /// Joins tensors along an existing dim; all other dims must agree.
    pub fn cat(tensors: &[Tensor], dim: isize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::invalid("cat", "no tensors given"))?;
        let d = normalize_dim("cat", dim, first.shape())?;
        let mut shape = first.shape().to_vec();
        shape[d] = 0;
        for t in tensors {
            let compatible = t.rank() == first.rank()
                && t.dtype() == first.dtype()
                && (0..t.rank()).all(|i| i == d || t.shape()[i] == first.shape()[i]);
            if !compatible {
                return Err(Error::ShapeMismatch {
                    op: "cat",
                    lhs: first.shape().to_vec(),
                    rhs: t.shape().to_vec(),
                });
            }
            shape[d] += t.shape()[d];
        }
        let out = Tensor::zeros(&shape, first.dtype());
        let mut sizes = Vec::with_capacity(tensors.len());
        no_grad(|| -> Result<()> {
            let mut start = 0;
            for t in tensors {
                let len = t.shape()[d];
                out.narrow(d as isize, start, len)?.assign(t)?;
                sizes.push(len);
                start += len;
            }
            Ok(())
        })?;
        let inputs: Vec<&Tensor> = tensors.iter().collect();
        Ok(out.record("cat", &inputs, move |g| {
            let mut start = 0;
            let mut grads = Vec::with_capacity(sizes.len());
            for &len in &sizes {
                grads.push(Some(g.narrow(d as isize, start, len)?.contiguous()?));
                start += len;
            }
            Ok(grads)
        }))
    }

    /// Joins tensors of one shape along a new dim.
    pub fn stack(tensors: &[Tensor], dim: isize) -> Result<Tensor> {
        let expanded = tensors
            .iter()
            .map(|t| t.unsqueeze(dim))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&expanded, dim)
    }

    /// Cuts `dim` into pieces of `size` (the last may be smaller); views.
    pub fn split(&self, size: usize, dim: isize) -> Result<Vec<Tensor>> {
        let d = normalize_dim("split", dim, self.shape())?;
        if size == 0 {
            return Err(Error::invalid("split", "split size must be positive"));
        }
        let total = self.shape()[d];
        (0..total)
            .step_by(size)
            .map(|start| self.narrow(dim, start, size.min(total - start)))
            .collect()
    }

    /// Cuts `dim` into `chunks` nearly equal pieces (as `torch.chunk`).
    pub fn chunk(&self, chunks: usize, dim: isize) -> Result<Vec<Tensor>> {
        if chunks == 0 {
            return Err(Error::invalid("chunk", "number of chunks must be positive"));
        }
        let d = normalize_dim("chunk", dim, self.shape())?;
        let size = self.shape()[d].div_ceil(chunks).max(1);
        self.split(size, dim)
    }
}
