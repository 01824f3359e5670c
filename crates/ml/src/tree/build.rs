//! Growing a tree depth-first (as scikit-learn's `DepthFirstTreeBuilder` with its `best`
//! splitter).
//!
//! The samples of a node are a range of an index array that is partitioned when the node
//! splits. Two ways to get a node's samples in the order of a feature:
//! - sorting: the node's `(value, sample)` pairs are gathered into one reused buffer and
//!   sorted, O(n log n) per candidate feature per node (as scikit-learn);
//! - presorting: the index array holds one segment per feature, each sorted by its feature
//!   once per fit; a split partitions every segment stably, O(n) per feature per node, so
//!   a node's samples are always in order. This wins unless only a few of many features
//!   are tried per split ([`presort_pays`]).
//!
//! Both give the same tree. One sweep from left to right then evaluates every threshold
//! between distinct values (their midpoint) in O(1) each: Gini from running sums of
//! squared class counts, entropy from running sums of `c·ln c` looked up in a table
//! (sample weights are integer bootstrap counts), squared error from running target sums.
//! Nothing is allocated per node.

use rayon::prelude::*;

use super::rng::Rng;
use super::structure::Tree;

/// Values closer than this count as equal (scikit-learn's `FEATURE_THRESHOLD`).
const FEATURE_THRESHOLD: f64 = 1e-7;
/// A node whose impurity is at most this is pure (scikit-learn's `EPSILON`).
const EPSILON: f64 = f64::EPSILON;

/// The impurity a split minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Crit {
    Gini,
    Entropy,
    /// Per feature, the threshold with the largest information gain; across features, the
    /// largest gain ratio among features whose gain is at least the average (C4.5).
    GainRatio,
    SquaredError,
}

/// What the tree predicts.
pub(crate) enum Target<'a> {
    Classes { y: &'a [u32], k: usize },
    Values(&'a [f64]),
}

/// The training data, shared by all trees of a forest.
pub(crate) struct Data<'a> {
    /// Column-major features: feature `f` is `cols[f * n..(f + 1) * n]`.
    pub cols: &'a [f64],
    pub n: usize,
    pub n_features: usize,
    pub target: Target<'a>,
    /// `c·ln c` for `c` in `0..=n` (used by the entropy criteria).
    pub xlogx: &'a [f64],
    /// Empty, or (presorting) per feature all samples in increasing order of that feature:
    /// feature `f` is `order[f * n..(f + 1) * n]` ([`argsort_columns`]).
    pub order: &'a [u32],
}

/// Whether presorting is cheaper than sorting per node: partitioning all `F` features
/// costs about `F` per sample and level, sorting the `k` tried ones about `k·log₂ n`.
pub(crate) fn presort_pays(n: usize, n_features: usize, max_features: usize) -> bool {
    max_features as f64 * (n.max(2) as f64).log2() >= 2.0 * n_features as f64
}

/// Per feature, the sample indices in increasing order of that feature.
pub(crate) fn argsort_columns(cols: &[f64], n: usize, n_features: usize) -> Vec<u32> {
    let mut order = vec![0u32; n * n_features];
    order
        .par_chunks_mut(n.max(1))
        .enumerate()
        .for_each(|(f, o)| {
            let col = &cols[f * n..(f + 1) * n];
            o.iter_mut().enumerate().for_each(|(i, v)| *v = i as u32);
            o.sort_unstable_by(|&a, &b| {
                col[a as usize].total_cmp(&col[b as usize]).then(a.cmp(&b))
            });
        });
    order
}

/// `c·ln c` for `c` in `0..=n`.
pub(crate) fn xlogx_table(n: usize) -> Vec<f64> {
    (0..=n)
        .map(|c| {
            if c == 0 {
                0.0
            } else {
                c as f64 * (c as f64).ln()
            }
        })
        .collect()
}

/// Resolved growth limits.
#[derive(Clone, Debug)]
pub(crate) struct Growth {
    pub crit: Crit,
    pub max_depth: usize,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub min_impurity_decrease: f64,
    pub max_features: usize,
    pub seed: u64,
}

#[derive(Clone, Copy, Debug)]
struct Split {
    feature: usize,
    threshold: f64,
}

/// A per-feature candidate of the gain-ratio criterion.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    split: Split,
    gain: f64,
    ratio: f64,
}

struct Builder<'a> {
    data: &'a Data<'a>,
    weights: &'a [u32],
    g: &'a Growth,
    rng: Rng,
    features: Vec<usize>,
    pairs: Vec<(f64, u32)>,
    /// Class counts of the node, and of the left/right side during a sweep.
    total: Vec<u64>,
    cl: Vec<u64>,
    cr: Vec<u64>,
    candidates: Vec<Candidate>,
    value: Vec<f64>,
    /// Presorting: the number of in-bag samples (the length of each feature's segment),
    /// which side each sample goes to, and a buffer for stable partitions.
    presort: Option<usize>,
    left: Vec<bool>,
    scratch: Vec<u32>,
    tree: Tree,
}

/// Grows a tree on the samples with a non-zero weight (`weights[i]` is how often sample
/// `i` was drawn).
pub(crate) fn grow(data: &Data, weights: &[u32], g: &Growth) -> Tree {
    let k = match data.target {
        Target::Classes { k, .. } => k,
        Target::Values(_) => 1,
    };
    let in_bag = |&i: &u32| weights[i as usize] > 0;
    let m = weights.iter().filter(|&&w| w > 0).count();
    // The node's samples are `samples[start..end]`; presorting, `samples` holds one
    // segment of `m` per feature and segment 0 doubles as the node's sample list.
    let (mut samples, presort): (Vec<u32>, _) = if data.order.is_empty() {
        ((0..data.n as u32).filter(in_bag).collect(), None)
    } else {
        let s = data
            .order
            .chunks(data.n)
            .flat_map(|o| o.iter().copied().filter(in_bag));
        (s.collect(), Some(m))
    };
    let mut b = Builder {
        data,
        weights,
        g,
        rng: Rng::new(g.seed),
        features: (0..data.n_features).collect(),
        pairs: vec![(0.0, 0); m],
        total: vec![0; k],
        cl: vec![0; k],
        cr: vec![0; k],
        candidates: Vec::with_capacity(data.n_features),
        value: vec![0.0; k],
        presort,
        left: vec![false; if presort.is_some() { data.n } else { 0 }],
        scratch: Vec::with_capacity(if presort.is_some() { m } else { 0 }),
        tree: Tree::empty(data.n_features, k),
    };
    // (start, end, depth, parent and whether this is its left child)
    let mut stack = vec![(0usize, m, 0usize, None)];
    while let Some((start, end, depth, parent)) = stack.pop() {
        let (impurity, weight) = b.node_stats(&samples[start..end]);
        let n = end - start;
        let node = b
            .tree
            .push_node(parent, &b.value, impurity, n, weight as f64);
        if depth >= g.max_depth
            || n < g.min_samples_split
            || n < 2 * g.min_samples_leaf
            || impurity <= EPSILON
        {
            continue;
        }
        let Some(split) = b.find_split(&samples, start, end, impurity, weight) else {
            continue;
        };
        let col = &data.cols[split.feature * data.n..(split.feature + 1) * data.n];
        let goes_left = |s: u32| col[s as usize] <= split.threshold;
        let mid = match presort {
            None => partition(&mut samples[start..end], goes_left),
            Some(m) => b.partition_segments(&mut samples, m, start, end, goes_left),
        };
        // The weighted impurity decrease, as a fraction of all training samples.
        let (imp_l, w_l) = b.node_stats(&samples[start..start + mid]);
        let (imp_r, w_r) = b.node_stats(&samples[start + mid..end]);
        let root_w = b.tree.weighted_n_samples[0];
        let w = weight as f64;
        let improvement =
            (w / root_w) * (impurity - w_l as f64 / w * imp_l - w_r as f64 / w * imp_r);
        if improvement + EPSILON < g.min_impurity_decrease {
            continue;
        }
        b.tree.set_split(node, split.feature, split.threshold);
        stack.push((start + mid, end, depth + 1, Some((node, false))));
        stack.push((start, start + mid, depth + 1, Some((node, true))));
    }
    b.tree
}

/// Moves the samples where `left` holds to the front; returns how many there are.
fn partition(s: &mut [u32], left: impl Fn(u32) -> bool) -> usize {
    let (mut i, mut j) = (0, s.len());
    while i < j {
        if left(s[i]) {
            i += 1;
        } else {
            j -= 1;
            s.swap(i, j);
        }
    }
    i
}

impl Builder<'_> {
    /// Stably partitions every feature's segment of `samples[start..end]` by `goes_left`
    /// (so each stays sorted); returns the number of samples on the left.
    fn partition_segments(
        &mut self,
        samples: &mut [u32],
        m: usize,
        start: usize,
        end: usize,
        goes_left: impl Fn(u32) -> bool,
    ) -> usize {
        for &s in &samples[start..end] {
            self.left[s as usize] = goes_left(s);
        }
        let mut mid = 0;
        for seg in samples.chunks_exact_mut(m) {
            let node = &mut seg[start..end];
            self.scratch.clear();
            let mut w = 0;
            for i in 0..node.len() {
                let s = node[i];
                if self.left[s as usize] {
                    node[w] = s;
                    w += 1;
                } else {
                    self.scratch.push(s);
                }
            }
            node[w..].copy_from_slice(&self.scratch);
            mid = w;
        }
        mid
    }

    /// Fills `self.total` (class counts) and `self.value`; returns (impurity, weight).
    fn node_stats(&mut self, samples: &[u32]) -> (f64, u64) {
        let w = self.weights;
        match self.data.target {
            Target::Classes { y, .. } => {
                self.total.iter_mut().for_each(|c| *c = 0);
                for &s in samples {
                    self.total[y[s as usize] as usize] += w[s as usize] as u64;
                }
                let wt: u64 = self.total.iter().sum();
                let wf = wt as f64;
                for (v, &c) in self.value.iter_mut().zip(&self.total) {
                    *v = c as f64 / wf;
                }
                let imp = match self.g.crit {
                    Crit::Gini => 1.0 - self.value.iter().map(|p| p * p).sum::<f64>(),
                    _ => -self
                        .value
                        .iter()
                        .filter(|&&p| p > 0.0)
                        .map(|p| p * p.log2())
                        .sum::<f64>(),
                };
                (imp.max(0.0), wt)
            }
            Target::Values(y) => {
                let (mut wt, mut sum, mut sq) = (0u64, 0.0, 0.0);
                for &s in samples {
                    let (wi, yi) = (w[s as usize], y[s as usize]);
                    wt += wi as u64;
                    sum += wi as f64 * yi;
                    sq += wi as f64 * yi * yi;
                }
                let mean = sum / wt as f64;
                self.value[0] = mean;
                ((sq / wt as f64 - mean * mean).max(0.0), wt)
            }
        }
    }

    /// The best split of a node (its class counts in `self.total`), or `None` when every
    /// candidate feature is constant or no threshold leaves `min_samples_leaf` per side.
    fn find_split(
        &mut self,
        samples: &[u32],
        start: usize,
        end: usize,
        impurity: f64,
        weight: u64,
    ) -> Option<Split> {
        let data = self.data;
        let n = end - start;
        let nf = data.n_features;
        let all = self.g.max_features >= nf;
        let mut best: Option<(f64, Split)> = None;
        self.candidates.clear();
        let mut visited = 0;
        let mut i = 0;
        while i < nf && visited < self.g.max_features {
            if !all {
                let j = i + self.rng.below(nf - i);
                self.features.swap(i, j);
            }
            let f = self.features[i];
            i += 1;
            let col = &data.cols[f * data.n..(f + 1) * data.n];
            let pairs = &mut self.pairs[..n];
            let sorted = self.presort.is_some();
            let node = match self.presort {
                Some(m) => &samples[f * m + start..f * m + end],
                None => &samples[start..end],
            };
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for (p, &s) in pairs.iter_mut().zip(node) {
                let v = col[s as usize];
                lo = lo.min(v);
                hi = hi.max(v);
                *p = (v, s);
            }
            if hi <= lo + FEATURE_THRESHOLD {
                continue; // constant here: does not count towards max_features
            }
            visited += 1;
            if !sorted {
                pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            }
            let found = match (self.g.crit, &data.target) {
                (Crit::Gini, Target::Classes { y, .. }) => self.sweep_gini(y, n),
                (Crit::Entropy | Crit::GainRatio, Target::Classes { y, .. }) => {
                    self.sweep_entropy(y, n)
                }
                (_, Target::Values(y)) => self.sweep_mse(y, n, weight),
                (Crit::SquaredError, Target::Classes { .. }) => None,
            };
            let Some((proxy, pos)) = found else { continue };
            let pairs = &self.pairs;
            let (a, b) = (pairs[pos - 1].0, pairs[pos].0);
            let mut threshold = a / 2.0 + b / 2.0;
            if threshold == b || !threshold.is_finite() {
                threshold = a;
            }
            let split = Split {
                feature: f,
                threshold,
            };
            if self.g.crit == Crit::GainRatio {
                self.candidates
                    .push(self.gain_ratio(split, proxy, pos, impurity, weight));
            } else if best.is_none_or(|(b, _)| proxy > b) {
                best = Some((proxy, split));
            }
        }
        if self.g.crit != Crit::GainRatio {
            return best.map(|(_, s)| s);
        }
        // C4.5: the best gain ratio among candidates with at least the average gain.
        let n = self.candidates.len() as f64;
        let avg = self.candidates.iter().map(|c| c.gain).sum::<f64>() / n;
        let mut best: Option<Candidate> = None;
        for c in &self.candidates {
            if c.gain + 1e-12 >= avg && best.is_none_or(|b| c.ratio > b.ratio) {
                best = Some(*c);
            }
        }
        best.map(|c| c.split)
    }

    /// Gain (in bits per sample) and gain ratio of a split whose entropy proxy is `proxy`.
    fn gain_ratio(&self, split: Split, proxy: f64, pos: usize, impurity: f64, w: u64) -> Candidate {
        let wt = self.weights;
        let wl: u64 = self.pairs[..pos]
            .iter()
            .map(|&(_, s)| wt[s as usize] as u64)
            .sum();
        let (wf, pl) = (w as f64, wl as f64 / w as f64);
        // proxy = Σ c ln c − w ln w over both sides = −(children's weighted entropy, nats)
        let children = -proxy / wf / std::f64::consts::LN_2;
        let gain = (impurity - children).max(0.0);
        let pr = 1.0 - pl;
        let split_info = -(pl * pl.log2() + pr * pr.log2());
        Candidate {
            split,
            gain,
            ratio: if split_info > 0.0 {
                gain / split_info
            } else {
                0.0
            },
        }
    }

    /// Maximizes Σ_L c²/w_L + Σ_R c²/w_R (the weighted Gini of the children, negated and
    /// shifted); returns (proxy, number of samples on the left).
    fn sweep_gini(&mut self, y: &[u32], n: usize) -> Option<(f64, usize)> {
        let (w, min_leaf) = (self.weights, self.g.min_samples_leaf);
        self.cl.iter_mut().for_each(|c| *c = 0);
        self.cr.copy_from_slice(&self.total);
        let (cl, cr) = (&mut self.cl, &mut self.cr);
        let mut sql: u64 = 0;
        let mut sqr: u64 = cr.iter().map(|c| c * c).sum();
        let mut wl: u64 = 0;
        let mut wr: u64 = cr.iter().sum();
        let mut best: Option<(f64, usize)> = None;
        let pairs = &self.pairs[..n];
        for p in 0..n - 1 {
            let (v, s) = pairs[p];
            let c = y[s as usize] as usize;
            let ws = w[s as usize] as u64;
            sql += (2 * cl[c] + ws) * ws;
            sqr -= (2 * cr[c] - ws) * ws;
            cl[c] += ws;
            cr[c] -= ws;
            wl += ws;
            wr -= ws;
            if pairs[p + 1].0 <= v + FEATURE_THRESHOLD || p + 1 < min_leaf || n - p - 1 < min_leaf {
                continue;
            }
            let proxy = sql as f64 / wl as f64 + sqr as f64 / wr as f64;
            if best.is_none_or(|(b, _)| proxy > b) {
                best = Some((proxy, p + 1));
            }
        }
        best
    }

    /// Maximizes Σ c ln c − w ln w over both children (their weighted entropy, negated).
    fn sweep_entropy(&mut self, y: &[u32], n: usize) -> Option<(f64, usize)> {
        let (w, min_leaf, t) = (self.weights, self.g.min_samples_leaf, self.data.xlogx);
        self.cl.iter_mut().for_each(|c| *c = 0);
        self.cr.copy_from_slice(&self.total);
        let (cl, cr) = (&mut self.cl, &mut self.cr);
        let mut sl = 0.0;
        let mut sr: f64 = cr.iter().map(|&c| t[c as usize]).sum();
        let mut wl: usize = 0;
        let mut wr: usize = cr.iter().sum::<u64>() as usize;
        let mut best: Option<(f64, usize)> = None;
        let pairs = &self.pairs[..n];
        for p in 0..n - 1 {
            let (v, s) = pairs[p];
            let c = y[s as usize] as usize;
            let ws = w[s as usize] as u64;
            let (a, b) = (cl[c] as usize, cr[c] as usize);
            let wsu = ws as usize;
            sl += t[a + wsu] - t[a];
            sr += t[b - wsu] - t[b];
            cl[c] += ws;
            cr[c] -= ws;
            wl += wsu;
            wr -= wsu;
            if pairs[p + 1].0 <= v + FEATURE_THRESHOLD || p + 1 < min_leaf || n - p - 1 < min_leaf {
                continue;
            }
            let proxy = sl + sr - t[wl] - t[wr];
            if best.is_none_or(|(b, _)| proxy > b) {
                best = Some((proxy, p + 1));
            }
        }
        best
    }

    /// Maximizes sum_L²/w_L + sum_R²/w_R (the children's weighted squared error, negated
    /// and shifted).
    fn sweep_mse(&self, y: &[f64], n: usize, weight: u64) -> Option<(f64, usize)> {
        let (w, min_leaf) = (self.weights, self.g.min_samples_leaf);
        let pairs = &self.pairs[..n];
        let total: f64 = pairs
            .iter()
            .map(|&(_, s)| w[s as usize] as f64 * y[s as usize])
            .sum();
        let (mut sum_l, mut wl) = (0.0, 0u64);
        let mut best: Option<(f64, usize)> = None;
        for p in 0..n - 1 {
            let (v, s) = pairs[p];
            let ws = w[s as usize] as u64;
            sum_l += ws as f64 * y[s as usize];
            wl += ws;
            if pairs[p + 1].0 <= v + FEATURE_THRESHOLD || p + 1 < min_leaf || n - p - 1 < min_leaf {
                continue;
            }
            let sum_r = total - sum_l;
            let proxy = sum_l * sum_l / wl as f64 + sum_r * sum_r / (weight - wl) as f64;
            if best.is_none_or(|(b, _)| proxy > b) {
                best = Some((proxy, p + 1));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Presorting and sorting per node grow the same tree, with bootstrap weights and
    /// sampled features too.
    #[test]
    fn presorting_gives_the_same_tree_as_sorting() {
        let (n, nf) = (300, 6);
        let mut rng = Rng::new(5);
        // coarse values, so there are many ties
        let cols: Vec<f64> = (0..n * nf).map(|_| (rng.below(40) as f64) / 4.0).collect();
        let y: Vec<u32> = (0..n)
            .map(|i| (cols[i] + cols[n + i] > 10.0) as u32 + (cols[2 * n + i] > 8.0) as u32)
            .collect();
        let v: Vec<f64> = (0..n).map(|i| cols[i] * 2.0 - cols[3 * n + i]).collect();
        let xlogx = xlogx_table(n);
        let order = argsort_columns(&cols, n, nf);
        let mut weights = vec![0u32; n];
        (0..n).for_each(|_| weights[rng.below(n)] += 1);
        for crit in [
            Crit::Gini,
            Crit::Entropy,
            Crit::GainRatio,
            Crit::SquaredError,
        ] {
            for max_features in [nf, 2] {
                let g = Growth {
                    crit,
                    max_depth: usize::MAX,
                    min_samples_split: 2,
                    min_samples_leaf: 2,
                    min_impurity_decrease: 0.0,
                    max_features,
                    seed: 9,
                };
                let target = || match crit {
                    Crit::SquaredError => Target::Values(&v),
                    _ => Target::Classes { y: &y, k: 3 },
                };
                let data = |order| Data {
                    cols: &cols,
                    n,
                    n_features: nf,
                    target: target(),
                    xlogx: &xlogx,
                    order,
                };
                let sorting = grow(&data(&[]), &weights, &g);
                let presorted = grow(&data(&order), &weights, &g);
                assert!(sorting.n_nodes() > 20, "{crit:?}");
                assert_eq!(sorting, presorted, "{crit:?}, max_features {max_features}");
            }
        }
    }
}
