//! Shapes, strides and how views map an index to a storage offset.

use crate::error::{Error, Result};

/// Where a tensor's elements live in its storage: `offset + Σ index[d]·strides[d]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub shape: Vec<usize>,
    pub strides: Vec<usize>,
    pub offset: usize,
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Row-major contiguous (size-1 dims may carry any stride).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }

    /// The same view with dims of size 1 given a broadcast stride of 0 where `shape` asks.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Layout> {
        if shape.len() < self.rank() {
            return Err(Error::Broadcast {
                op: "broadcast_to",
                lhs: self.shape.clone(),
                rhs: shape.to_vec(),
            });
        }
        let lead = shape.len() - self.rank();
        let mut strides = vec![0; shape.len()];
        for (i, &target) in shape.iter().enumerate().skip(lead) {
            let (d, s) = (self.shape[i - lead], self.strides[i - lead]);
            strides[i] = if d == target {
                s
            } else if d == 1 {
                0
            } else {
                return Err(Error::Broadcast {
                    op: "broadcast_to",
                    lhs: self.shape.clone(),
                    rhs: shape.to_vec(),
                });
            };
        }
        Ok(Layout {
            shape: shape.to_vec(),
            strides,
            offset: self.offset,
        })
    }

    /// Storage offsets of every element, in row-major order of the view.
    pub fn offsets(&self) -> OffsetIter<'_> {
        OffsetIter::new(self)
    }
}

pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1.
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::Broadcast {
                op,
                lhs: a.to_vec(),
                rhs: b.to_vec(),
            });
        };
    }
    Ok(out)
}

/// Resolves a possibly negative dim against `rank`.
pub fn normalize_dim(op: &'static str, dim: isize, shape: &[usize]) -> Result<usize> {
    let rank = shape.len() as isize;
    let d = if dim < 0 { dim + rank } else { dim };
    if d < 0 || d >= rank.max(1) || (rank == 0 && d != 0) {
        return Err(Error::DimOutOfRange {
            op,
            dim,
            shape: shape.to_vec(),
        });
    }
    Ok(d as usize)
}

/// Iterates storage offsets of a strided view in row-major order.
pub struct OffsetIter<'a> {
    layout: &'a Layout,
    index: Vec<usize>,
    next: usize,
    remaining: usize,
}

impl<'a> OffsetIter<'a> {
    fn new(layout: &'a Layout) -> Self {
        OffsetIter {
            layout,
            index: vec![0; layout.rank()],
            next: layout.offset,
            remaining: layout.numel(),
        }
    }
}

impl Iterator for OffsetIter<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let current = self.next;
        // Advance the multi-index like an odometer, updating the offset incrementally.
        for d in (0..self.index.len()).rev() {
            self.index[d] += 1;
            self.next += self.layout.strides[d];
            if self.index[d] < self.layout.shape[d] {
                break;
            }
            self.next -= self.layout.strides[d] * self.index[d];
            self.index[d] = 0;
        }
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for OffsetIter<'_> {}
