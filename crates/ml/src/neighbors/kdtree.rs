//! A KD-tree for exact k-nearest-neighbour queries under the euclidean or manhattan
//! metric: nodes split at the median of their widest dimension, each node keeps its
//! bounding box, and a query visits the nearer child first and skips any box farther
//! than the current k-th neighbour.
//!
//! Distances inside the tree are "reduced" (squared for euclidean, plain sums for
//! manhattan); ties are broken by training index, so the result is exactly the k smallest
//! `(distance, index)` pairs — the same neighbours as a brute-force scan.

use super::search::TopK;

/// Points per leaf (at most).
const LEAF: usize = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reduced {
    /// Σ (a − b)²
    SquaredEuclidean,
    /// Σ |a − b|
    Manhattan,
}

#[derive(Clone, Debug)]
struct Node {
    start: usize,
    end: usize,
    /// Children (`0` for a leaf: the root is never a child).
    left: usize,
    right: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct KdTree {
    f: usize,
    metric: Reduced,
    /// Training rows in tree order, `[n, f]`.
    points: Vec<f64>,
    /// Tree position → training index.
    index: Vec<usize>,
    nodes: Vec<Node>,
    /// Per node: `f` lower bounds then `f` upper bounds.
    bounds: Vec<f64>,
}

impl KdTree {
    /// Builds the tree over `n` rows of `f` features (`x` row-major).
    pub fn build(x: &[f64], n: usize, f: usize, metric: Reduced) -> KdTree {
        let mut tree = KdTree {
            f,
            metric,
            points: Vec::new(),
            index: (0..n).collect(),
            nodes: Vec::with_capacity(2 * n / LEAF + 1),
            bounds: Vec::with_capacity((2 * n / LEAF + 1) * 2 * f),
        };
        tree.split(x, 0, n);
        tree.points = Vec::with_capacity(n * f);
        for &i in &tree.index {
            tree.points.extend_from_slice(&x[i * f..(i + 1) * f]);
        }
        tree
    }

    /// Adds the node over `index[start..end]` (and its subtree); returns its id.
    fn split(&mut self, x: &[f64], start: usize, end: usize) -> usize {
        let f = self.f;
        let id = self.nodes.len();
        self.nodes.push(Node {
            start,
            end,
            left: 0,
            right: 0,
        });
        let mut lo = vec![f64::INFINITY; f];
        let mut hi = vec![f64::NEG_INFINITY; f];
        for &i in &self.index[start..end] {
            for (j, &v) in x[i * f..(i + 1) * f].iter().enumerate() {
                lo[j] = lo[j].min(v);
                hi[j] = hi[j].max(v);
            }
        }
        self.bounds.extend_from_slice(&lo);
        self.bounds.extend_from_slice(&hi);
        if end - start <= LEAF {
            return id;
        }
        let (dim, spread) = (0..f)
            .map(|j| (j, hi[j] - lo[j]))
            .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
        if spread <= 0.0 {
            return id; // all points identical: one leaf
        }
        let mid = start + (end - start) / 2;
        self.index[start..end].select_nth_unstable_by(mid - start, |&a, &b| {
            x[a * f + dim].total_cmp(&x[b * f + dim]).then(a.cmp(&b))
        });
        let left = self.split(x, start, mid);
        let right = self.split(x, mid, end);
        self.nodes[id].left = left;
        self.nodes[id].right = right;
        id
    }

    /// Reduced distance from `q` to the bounding box of `node` (0 inside it), summed in
    /// the same order as [`sq_dist`] / [`l1_dist`] so it never exceeds the computed
    /// distance of a point inside the box.
    #[inline]
    fn box_dist(&self, node: usize, q: &[f64]) -> f64 {
        let b = &self.bounds[node * 2 * self.f..(node + 1) * 2 * self.f];
        let (lo, hi) = b.split_at(self.f);
        let gap = |j: usize| {
            let d = (lo[j] - q[j]).max(q[j] - hi[j]).max(0.0);
            match self.metric {
                Reduced::SquaredEuclidean => d * d,
                Reduced::Manhattan => d,
            }
        };
        let mut acc = [0.0; 4];
        let full = self.f / 4 * 4;
        for c in (0..full).step_by(4) {
            for (l, a) in acc.iter_mut().enumerate() {
                *a += gap(c + l);
            }
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for j in full..self.f {
            s += gap(j);
        }
        s
    }

    /// Adds the k nearest training rows of `q` to `top` (reduced distances).
    pub fn query(&self, q: &[f64], top: &mut TopK) {
        let d = self.box_dist(0, q);
        self.visit(0, d, q, top);
    }

    fn visit(&self, node: usize, node_dist: f64, q: &[f64], top: &mut TopK) {
        // Strictly farther only: an equal distance can still win on a smaller index.
        if node_dist > top.worst() {
            return;
        }
        let n = &self.nodes[node];
        if n.left == 0 {
            let f = self.f;
            for p in n.start..n.end {
                let row = &self.points[p * f..(p + 1) * f];
                let d = match self.metric {
                    Reduced::SquaredEuclidean => sq_dist(q, row),
                    Reduced::Manhattan => l1_dist(q, row),
                };
                if d <= top.worst() {
                    top.push(d, self.index[p]);
                }
            }
            return;
        }
        let (dl, dr) = (self.box_dist(n.left, q), self.box_dist(n.right, q));
        if dl <= dr {
            self.visit(n.left, dl, q, top);
            self.visit(n.right, dr, q, top);
        } else {
            self.visit(n.right, dr, q, top);
            self.visit(n.left, dl, q, top);
        }
    }
}

/// Σ (a − b)², summed in four lanes.
#[inline]
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            let d = x[l] - y[l];
            acc[l] += d * d;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        let d = x - y;
        s += d * d;
    }
    s
}

/// Σ |a − b|, summed in four lanes.
#[inline]
pub(crate) fn l1_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += (x[l] - y[l]).abs();
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += (x - y).abs();
    }
    s
}
