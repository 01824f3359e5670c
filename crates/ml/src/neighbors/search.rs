//! Exact k-nearest-neighbour search over the training rows: a KD-tree for euclidean /
//! manhattan in few dimensions, brute force otherwise. Brute force runs over blocks of
//! query rows in parallel; euclidean and cosine distances come from a blocked matrix
//! product (`‖a‖² + ‖b‖² − 2a·b`, or `1 − â·b̂`) through faer's GEMM.
//!
//! Every search returns, per query, the k smallest `(distance, training index)` pairs in
//! increasing order: ties in distance go to the lower training index.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;
use zhixing_tensor::Tensor;

use super::kdtree::{l1_dist, KdTree, Reduced};
use super::{Algorithm, Metric};
use crate::error::Result;

/// Dimensions up to which `Algorithm::Auto` picks the KD-tree.
pub const KD_TREE_MAX_DIM: usize = 15;
/// Query rows per parallel task.
const QUERY_BLOCK: usize = 64;
/// Training rows per block of the brute-force matrix product.
const TRAIN_BLOCK: usize = 512;

/// The k best `(distance, index)` pairs seen so far, sorted increasingly.
pub(crate) struct TopK {
    k: usize,
    d: Vec<f64>,
    i: Vec<usize>,
}

impl TopK {
    pub fn new(k: usize) -> TopK {
        TopK {
            k,
            d: Vec::with_capacity(k + 1),
            i: Vec::with_capacity(k + 1),
        }
    }

    /// The distance a candidate must not exceed to enter (∞ until k are held).
    #[inline]
    pub fn worst(&self) -> f64 {
        if self.d.len() < self.k {
            f64::INFINITY
        } else {
            self.d[self.k - 1]
        }
    }

    /// Offers a candidate; kept if it is among the k smallest `(distance, index)`.
    #[inline]
    pub fn push(&mut self, d: f64, i: usize) {
        let full = self.d.len() == self.k;
        if full {
            let (wd, wi) = (self.d[self.k - 1], self.i[self.k - 1]);
            if d > wd || (d == wd && i > wi) {
                return;
            }
        }
        let mut pos = self.d.len();
        while pos > 0 && (self.d[pos - 1] > d || (self.d[pos - 1] == d && self.i[pos - 1] > i)) {
            pos -= 1;
        }
        self.d.insert(pos, d);
        self.i.insert(pos, i);
        if full {
            self.d.pop();
            self.i.pop();
        }
    }
}

/// The training rows prepared for searching.
#[derive(Clone, Debug)]
pub(crate) struct Index {
    pub n: usize,
    pub f: usize,
    metric: Metric,
    /// The training rows as given: f64 `[n, f]`, contiguous. Sharing the caller's tensor
    /// storage (as scikit-learn keeps a reference) makes fitting free of copies.
    rows: Tensor,
    /// Unit-length rows (cosine brute force only).
    unit: Vec<f64>,
    /// `‖row‖²` (euclidean brute force only).
    sq_norms: Vec<f64>,
    tree: Option<KdTree>,
}

impl Index {
    /// Prepares `rows` (f64 `[n, f]`, contiguous), keeping it. The caller has checked that
    /// a KD-tree request comes with a metric the tree supports.
    pub fn new(rows: Tensor, metric: Metric, algorithm: Algorithm) -> Result<Index> {
        let (n, f) = (rows.shape()[0], rows.shape()[1]);
        let (tree, unit, sq_norms) =
            rows.with_slice(|x: &[f64]| Self::prepare(x, n, f, metric, algorithm))?;
        Ok(Index {
            n,
            f,
            metric,
            rows,
            unit,
            sq_norms,
            tree,
        })
    }

    /// The KD-tree, unit rows (cosine brute force) and squared norms (euclidean brute force).
    fn prepare(
        x: &[f64],
        n: usize,
        f: usize,
        metric: Metric,
        algorithm: Algorithm,
    ) -> (Option<KdTree>, Vec<f64>, Vec<f64>) {
        let reduced = match metric {
            Metric::Euclidean => Some(Reduced::SquaredEuclidean),
            Metric::Manhattan => Some(Reduced::Manhattan),
            Metric::Cosine => None,
        };
        let use_tree = match algorithm {
            Algorithm::Brute => false,
            Algorithm::KdTree => true,
            Algorithm::Auto => f <= KD_TREE_MAX_DIM,
        };
        let tree = match (use_tree, reduced) {
            (true, Some(r)) => Some(KdTree::build(x, n, f, r)),
            _ => None,
        };
        let (unit, sq_norms) = match (&tree, metric) {
            (None, Metric::Cosine) => (normalized(x, f), Vec::new()),
            (None, Metric::Euclidean) => (Vec::new(), x.par_chunks(f).map(sq_norm).collect()),
            _ => (Vec::new(), Vec::new()),
        };
        (tree, unit, sq_norms)
    }

    /// The training rows as given.
    pub fn rows(&self) -> &Tensor {
        &self.rows
    }

    pub fn uses_tree(&self) -> bool {
        self.tree.is_some()
    }

    /// The k nearest training rows of each of the `nq` query rows: distances and indices,
    /// row-major `[nq, k]`, increasing. Needs `1 ≤ k ≤ n` and `q.len() == nq · f`.
    pub fn query(&self, q: &[f64], nq: usize, k: usize) -> Result<(Vec<f64>, Vec<usize>)> {
        self.rows
            .with_slice(|train: &[f64]| self.query_rows(train, q, nq, k))
            .map_err(Into::into)
    }

    fn query_rows(&self, train: &[f64], q: &[f64], nq: usize, k: usize) -> (Vec<f64>, Vec<usize>) {
        let f = self.f;
        let mut dist = vec![0.0; nq * k];
        let mut idx = vec![0usize; nq * k];
        q.par_chunks(QUERY_BLOCK * f)
            .zip(dist.par_chunks_mut(QUERY_BLOCK * k))
            .zip(idx.par_chunks_mut(QUERY_BLOCK * k))
            .for_each(|((qb, db), ib)| {
                let rows = qb.len() / f;
                let mut tops: Vec<TopK> = (0..rows).map(|_| TopK::new(k)).collect();
                match (&self.tree, self.metric) {
                    (Some(tree), _) => {
                        for (t, qr) in tops.iter_mut().zip(qb.chunks(f)) {
                            tree.query(qr, t);
                        }
                    }
                    (None, Metric::Manhattan) => self.brute_manhattan(train, qb, &mut tops),
                    (None, _) => self.brute_gemm(train, qb, &mut tops),
                }
                let squared = self.metric == Metric::Euclidean;
                for (r, t) in tops.iter().enumerate() {
                    for j in 0..k {
                        let d = t.d[j];
                        db[r * k + j] = if squared { d.sqrt() } else { d };
                        ib[r * k + j] = t.i[j];
                    }
                }
            });
        (dist, idx)
    }

    fn brute_manhattan(&self, rows: &[f64], qb: &[f64], tops: &mut [TopK]) {
        let f = self.f;
        for (t, qr) in tops.iter_mut().zip(qb.chunks(f)) {
            for (i, row) in rows.chunks(f).enumerate() {
                let d = l1_dist(qr, row);
                if d < t.worst() {
                    t.push(d, i);
                }
            }
        }
    }

    /// Euclidean (squared) or cosine distances of a query block to every training row,
    /// one `[queries, TRAIN_BLOCK]` matrix product at a time.
    fn brute_gemm(&self, rows: &[f64], qb: &[f64], tops: &mut [TopK]) {
        let f = self.f;
        let nq = qb.len() / f;
        let cosine = self.metric == Metric::Cosine;
        let q_owned;
        let q: &[f64] = if cosine {
            q_owned = normalized(qb, f);
            &q_owned
        } else {
            qb
        };
        let train = if cosine { &self.unit[..] } else { rows };
        let q_norms: Vec<f64> = q.chunks(f).map(sq_norm).collect();
        let lhs = MatRef::from_row_major_slice(q, nq, f);
        let mut buf = vec![0.0; nq * TRAIN_BLOCK.min(self.n)];
        for t0 in (0..self.n).step_by(TRAIN_BLOCK) {
            let tn = TRAIN_BLOCK.min(self.n - t0);
            let block = &train[t0 * f..(t0 + tn) * f];
            let rhs = MatRef::from_row_major_slice(block, tn, f).transpose();
            let g = &mut buf[..nq * tn];
            matmul(
                MatMut::from_row_major_slice_mut(g, nq, tn),
                Accum::Replace,
                lhs,
                rhs,
                1.0,
                Par::Seq,
            );
            for (r, t) in tops.iter_mut().enumerate() {
                let gr = &g[r * tn..(r + 1) * tn];
                if cosine {
                    for (j, &dot) in gr.iter().enumerate() {
                        let d = (1.0 - dot).clamp(0.0, 2.0);
                        if d < t.worst() {
                            t.push(d, t0 + j);
                        }
                    }
                } else {
                    let qn = q_norms[r];
                    let norms = &self.sq_norms[t0..t0 + tn];
                    for (j, (&dot, &tn2)) in gr.iter().zip(norms).enumerate() {
                        let d = (qn + tn2 - 2.0 * dot).max(0.0);
                        if d < t.worst() {
                            t.push(d, t0 + j);
                        }
                    }
                }
            }
        }
    }
}

#[inline]
fn sq_norm(r: &[f64]) -> f64 {
    r.iter().map(|v| v * v).sum()
}

/// Rows scaled to unit length; all-zero rows stay zero (cosine distance 1 to anything).
fn normalized(x: &[f64], f: usize) -> Vec<f64> {
    let mut out = x.to_vec();
    for r in out.chunks_mut(f) {
        let norm = sq_norm(r).sqrt();
        if norm > 0.0 {
            r.iter_mut().for_each(|v| *v /= norm);
        }
    }
    out
}
