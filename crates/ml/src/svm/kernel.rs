//! Kernels and the solver's view of them: `Q_ij = y_i·y_j·K(x_i, x_j)` computed a row at a
//! time into a least-recently-used cache, as LIBSVM's `Cache` / `SVC_Q`.
//!
//! The solver permutes its problem as it shrinks (LIBSVM's `swap_index`), so [`QMatrix`]
//! owns a permuted copy of the rows, labels and diagonal, and the cache swaps the two
//! entries in every cached row (dropping rows too short to hold both).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A kernel with its coefficients resolved (gamma is a number here).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResolvedKernel {
    /// `x·z`
    Linear,
    /// `exp(−γ‖x − z‖²)`
    Rbf { gamma: f64 },
    /// `(γ·x·z + coef0)^degree`
    Poly { degree: u32, gamma: f64, coef0: f64 },
}

impl ResolvedKernel {
    /// `K(a, b)`; `a2`, `b2` are `‖a‖²`, `‖b‖²` (used by the RBF kernel only).
    #[inline]
    pub fn eval(&self, a: &[f64], b: &[f64], a2: f64, b2: f64) -> f64 {
        let d = dot(a, b);
        match *self {
            ResolvedKernel::Linear => d,
            ResolvedKernel::Rbf { gamma } => (-gamma * (a2 + b2 - 2.0 * d).max(0.0)).exp(),
            ResolvedKernel::Poly {
                degree,
                gamma,
                coef0,
            } => (gamma * d + coef0).powi(degree as i32),
        }
    }
}

/// A dot product with four accumulators so the compiler can vectorize it.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in ca.by_ref().zip(cb.by_ref()) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Squared norms of the rows of a row-major `[n, f]` matrix.
pub fn squared_norms(x: &[f64], f: usize) -> Vec<f64> {
    x.chunks(f).map(|r| dot(r, r)).collect()
}

/// Kernel evaluations (row length × features) above which a row is filled in parallel.
const PAR_WORK: usize = 1 << 17;

/// Fills `out[j] = K(q, x_j)` for the rows `x_j` of `x` (`[out.len(), f]`, squared norms
/// `x2`): dot products first, then the kernel's transform — two tight loops, the kernel's
/// kind matched once rather than per value.
pub fn kernel_values(
    kernel: &ResolvedKernel,
    q: &[f64],
    q2: f64,
    x: &[f64],
    x2: &[f64],
    f: usize,
    out: &mut [f64],
) {
    for (o, xj) in out.iter_mut().zip(x.chunks_exact(f)) {
        *o = dot(q, xj);
    }
    match *kernel {
        ResolvedKernel::Linear => {}
        ResolvedKernel::Rbf { gamma } => {
            for (o, &n2) in out.iter_mut().zip(x2) {
                *o = (-gamma * (q2 + n2 - 2.0 * *o).max(0.0)).exp();
            }
        }
        ResolvedKernel::Poly {
            degree,
            gamma,
            coef0,
        } => {
            for o in out.iter_mut() {
                *o = (gamma * *o + coef0).powi(degree as i32);
            }
        }
    }
}

/// [`kernel_values`], split over threads when the row is long enough to pay for them.
pub fn kernel_row(
    kernel: &ResolvedKernel,
    q: &[f64],
    q2: f64,
    x: &[f64],
    x2: &[f64],
    f: usize,
    out: &mut [f64],
) {
    if out.len() * f >= PAR_WORK {
        let rows = (PAR_WORK / (4 * f)).max(64);
        out.par_chunks_mut(rows)
            .zip(x.par_chunks(rows * f))
            .zip(x2.par_chunks(rows))
            .for_each(|((o, xs), x2s)| kernel_values(kernel, q, q2, xs, x2s, f, o));
    } else {
        kernel_values(kernel, q, q2, x, x2, f, out);
    }
}

/// The sentinel node of the LRU list.
const NIL: usize = usize::MAX;

/// Rows of `Q`, each cached up to some length, evicted least-recently-used first.
struct Cache {
    rows: Vec<Vec<f64>>,
    /// LRU links: `prev`/`next` of row `i`; `head` is least recent, `tail` most recent.
    prev: Vec<usize>,
    next: Vec<usize>,
    head: usize,
    tail: usize,
    /// Values that may still be cached.
    free: usize,
}

impl Cache {
    fn new(l: usize, budget: usize) -> Self {
        Cache {
            rows: vec![Vec::new(); l],
            prev: vec![NIL; l],
            next: vec![NIL; l],
            head: NIL,
            tail: NIL,
            // Two full rows at least, so fetching row j never evicts row i just fetched.
            free: budget.max(2 * l),
        }
    }

    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.prev[i], self.next[i]);
        if p == NIL {
            self.head = n;
        } else {
            self.next[p] = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.prev[n] = p;
        }
        self.prev[i] = NIL;
        self.next[i] = NIL;
    }

    fn push_back(&mut self, i: usize) {
        self.prev[i] = self.tail;
        self.next[i] = NIL;
        if self.tail == NIL {
            self.head = i;
        } else {
            self.next[self.tail] = i;
        }
        self.tail = i;
    }

    fn drop_row(&mut self, i: usize) {
        self.unlink(i);
        self.free += self.rows[i].len();
        self.rows[i] = Vec::new();
    }

    /// Makes row `i` hold `len` values (the new ones zero) and the most recent; returns
    /// how many it held before (the values still to compute start there).
    fn get(&mut self, i: usize, len: usize) -> usize {
        let have = self.rows[i].len();
        if have > 0 {
            self.unlink(i);
        }
        if len > have {
            let more = len - have;
            while self.free < more && self.head != NIL {
                self.drop_row(self.head);
            }
            self.free -= more;
            let row = &mut self.rows[i];
            row.reserve_exact(more);
            row.resize(len, 0.0);
        }
        self.push_back(i);
        have
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        let (li, lj) = (!self.rows[i].is_empty(), !self.rows[j].is_empty());
        if li {
            self.unlink(i);
        }
        if lj {
            self.unlink(j);
        }
        self.rows.swap(i, j);
        if !self.rows[i].is_empty() {
            self.push_back(i);
        }
        if !self.rows[j].is_empty() {
            self.push_back(j);
        }
        let (lo, hi) = if i < j { (i, j) } else { (j, i) };
        let mut h = self.head;
        while h != NIL {
            let next = self.next[h];
            let len = self.rows[h].len();
            if len > lo {
                if len > hi {
                    self.rows[h].swap(lo, hi);
                } else {
                    // The row covers `lo` but not `hi`: it cannot hold the swap.
                    self.drop_row(h);
                }
            }
            h = next;
        }
    }
}

/// `Q` of a two-class problem over a permutable copy of the training rows.
pub struct QMatrix {
    x: Vec<f64>,
    f: usize,
    sq: Vec<f64>,
    y: Vec<f64>,
    qd: Vec<f64>,
    kernel: ResolvedKernel,
    cache: Cache,
}

impl QMatrix {
    /// `x` is row-major `[l, f]`, `y` holds ±1; `cache_values` bounds the cached values.
    pub fn new(
        x: Vec<f64>,
        f: usize,
        y: Vec<f64>,
        kernel: ResolvedKernel,
        cache_values: usize,
    ) -> Self {
        let sq = squared_norms(&x, f);
        let qd: Vec<f64> = x
            .chunks_exact(f)
            .zip(&sq)
            .map(|(r, &n2)| kernel.eval(r, r, n2, n2))
            .collect();
        let l = y.len();
        QMatrix {
            x,
            f,
            sq,
            y,
            qd,
            kernel,
            cache: Cache::new(l, cache_values),
        }
    }

    /// The number of training rows.
    pub fn size(&self) -> usize {
        self.y.len()
    }

    /// `y_i` (±1) at the current position `i`.
    #[inline]
    pub fn y(&self, i: usize) -> f64 {
        self.y[i]
    }

    /// The diagonal `Q_ii = K(x_i, x_i)`.
    #[inline]
    pub fn qd(&self, i: usize) -> f64 {
        self.qd[i]
    }

    /// Makes sure row `i` is cached for positions `0..len`; read it with [`QMatrix::row`].
    pub fn load(&mut self, i: usize, len: usize) {
        let start = self.cache.get(i, len);
        if start >= len {
            return;
        }
        let f = self.f;
        let (xi, xi2, yi) = (&self.x[i * f..(i + 1) * f], self.sq[i], self.y[i]);
        let out = &mut self.cache.rows[i][start..len];
        kernel_row(
            &self.kernel,
            xi,
            xi2,
            &self.x[start * f..len * f],
            &self.sq[start..len],
            f,
            out,
        );
        for (o, &yj) in out.iter_mut().zip(&self.y[start..len]) {
            *o *= yi * yj;
        }
    }

    /// Row `i` as last loaded (at least the length asked of [`QMatrix::load`]).
    #[inline]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.cache.rows[i]
    }

    pub fn swap_index(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        self.cache.swap_index(i, j);
        let f = self.f;
        let (lo, hi) = if i < j { (i, j) } else { (j, i) };
        let (a, b) = self.x.split_at_mut(hi * f);
        a[lo * f..(lo + 1) * f].swap_with_slice(&mut b[..f]);
        self.sq.swap(i, j);
        self.y.swap(i, j);
        self.qd.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_swaps_and_evicts() {
        // 4 rows of 1-D data; a budget of 8 values (= 2 full rows).
        let x = vec![1.0, 2.0, 3.0, 4.0];
        let y = vec![1.0, -1.0, 1.0, -1.0];
        let mut q = QMatrix::new(x, 1, y, ResolvedKernel::Linear, 0);
        let want = |q: &QMatrix, i: usize, j: usize| {
            q.y[i] * q.y[j] * q.x[i] * q.x[j] // linear kernel in 1-D
        };
        for round in 0..3 {
            for i in 0..4 {
                q.load(i, 4);
                for j in 0..4 {
                    assert_eq!(q.row(i)[j], want(&q, i, j), "round {round} row {i} col {j}");
                }
            }
            q.swap_index(round, 3);
            q.load(1, 2);
            q.swap_index(0, 1);
        }
        assert!(q.cache.free <= 8);
    }
}
