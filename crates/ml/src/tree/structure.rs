//! A fitted tree as flat per-node arrays (as scikit-learn's `tree_`): node 0 is the root,
//! nodes are numbered depth-first with the left child first, so every child's id is larger
//! than its parent's. A sample goes left when `x[feature] <= threshold`.

use zhixing_tensor::Tensor;

use crate::error::{Error, Result};
use crate::estimator::Parts;

/// The child id (and feature) of a leaf.
pub(crate) const LEAF: usize = usize::MAX;

/// One node of [`Tree::packed`]: `feature == u32::MAX` marks a leaf.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PackedNode {
    pub threshold: f64,
    pub feature: u32,
    pub right: u32,
}

/// The leaves that rows (row-major, `f` features each) reach, walking eight rows at once
/// so their independent node loads overlap instead of waiting on each other.
pub(crate) fn apply_packed_rows(
    nodes: &[PackedNode],
    rows: &[f64],
    f: usize,
    leaves: &mut [usize],
) {
    const LANES: usize = 8;
    for (block, out) in rows.chunks(LANES * f).zip(leaves.chunks_mut(LANES)) {
        let m = out.len();
        let mut at = [0usize; LANES];
        loop {
            let mut moved = false;
            for j in 0..m {
                let n = nodes[at[j]];
                if n.feature != u32::MAX {
                    let x = block[j * f + n.feature as usize];
                    at[j] = if x <= n.threshold {
                        at[j] + 1
                    } else {
                        n.right as usize
                    };
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
        out.copy_from_slice(&at[..m]);
    }
}

/// A fitted decision tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    pub(crate) n_features: usize,
    /// Values per node: class fractions (classifier, `K`) or the mean (regressor, 1).
    pub(crate) n_outputs: usize,
    pub(crate) feature: Vec<usize>,
    pub(crate) threshold: Vec<f64>,
    pub(crate) left: Vec<usize>,
    pub(crate) right: Vec<usize>,
    pub(crate) value: Vec<f64>,
    pub(crate) impurity: Vec<f64>,
    pub(crate) n_samples: Vec<usize>,
    pub(crate) weighted_n_samples: Vec<f64>,
}

impl Tree {
    pub(crate) fn empty(n_features: usize, n_outputs: usize) -> Self {
        Tree {
            n_features,
            n_outputs,
            feature: Vec::new(),
            threshold: Vec::new(),
            left: Vec::new(),
            right: Vec::new(),
            value: Vec::new(),
            impurity: Vec::new(),
            n_samples: Vec::new(),
            weighted_n_samples: Vec::new(),
        }
    }

    /// Appends a leaf (its split is set later by [`Tree::set_split`]) and links it to
    /// its parent; returns its id.
    pub(crate) fn push_node(
        &mut self,
        parent: Option<(usize, bool)>,
        value: &[f64],
        impurity: f64,
        n_samples: usize,
        weighted_n_samples: f64,
    ) -> usize {
        let id = self.feature.len();
        self.feature.push(LEAF);
        self.threshold.push(0.0);
        self.left.push(LEAF);
        self.right.push(LEAF);
        self.value.extend_from_slice(value);
        self.impurity.push(impurity);
        self.n_samples.push(n_samples);
        self.weighted_n_samples.push(weighted_n_samples);
        if let Some((p, is_left)) = parent {
            if is_left {
                self.left[p] = id;
            } else {
                self.right[p] = id;
            }
        }
        id
    }

    pub(crate) fn set_split(&mut self, node: usize, feature: usize, threshold: f64) {
        self.feature[node] = feature;
        self.threshold[node] = threshold;
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    pub fn n_nodes(&self) -> usize {
        self.feature.len()
    }

    pub fn is_leaf(&self, node: usize) -> bool {
        self.left[node] == LEAF
    }

    pub fn n_leaves(&self) -> usize {
        self.left.iter().filter(|&&l| l == LEAF).count()
    }

    /// The number of edges on the longest root-to-leaf path (0 for a single leaf).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.n_nodes()];
        let mut max = 0;
        for i in 0..self.n_nodes() {
            if !self.is_leaf(i) {
                depth[self.left[i]] = depth[i] + 1;
                depth[self.right[i]] = depth[i] + 1;
            }
            max = max.max(depth[i]);
        }
        max
    }

    /// The split feature of an internal node (`None` for a leaf).
    pub fn feature(&self, node: usize) -> Option<usize> {
        (!self.is_leaf(node)).then(|| self.feature[node])
    }

    pub fn threshold(&self, node: usize) -> f64 {
        self.threshold[node]
    }

    /// The children `(left, right)` of an internal node.
    pub fn children(&self, node: usize) -> Option<(usize, usize)> {
        (!self.is_leaf(node)).then(|| (self.left[node], self.right[node]))
    }

    /// Class fractions (classifier) or the mean target (regressor) of the node's samples.
    pub fn value(&self, node: usize) -> &[f64] {
        &self.value[node * self.n_outputs..(node + 1) * self.n_outputs]
    }

    pub fn impurity(&self, node: usize) -> f64 {
        self.impurity[node]
    }

    /// Distinct training samples that reached the node.
    pub fn n_node_samples(&self, node: usize) -> usize {
        self.n_samples[node]
    }

    /// Training samples that reached the node, counted with their bootstrap multiplicity.
    pub fn weighted_n_node_samples(&self, node: usize) -> f64 {
        self.weighted_n_samples[node]
    }

    /// The leaf a row (of `n_features` values) falls into.
    #[inline]
    /// The split nodes packed for prediction (16 bytes each, one cache line holds four):
    /// the left child of node `i` is always `i + 1` (depth-first numbering), so only the
    /// right child is stored. `None` for a tree not numbered that way (a hand-edited file).
    pub(crate) fn packed(&self) -> Option<Vec<PackedNode>> {
        let too_many = self.left.len() > u32::MAX as usize || self.n_features > u32::MAX as usize;
        if too_many || (0..self.left.len()).any(|i| self.left[i] != LEAF && self.left[i] != i + 1) {
            return None;
        }
        let nodes = (0..self.feature.len())
            .map(|i| PackedNode {
                threshold: self.threshold[i],
                feature: if self.left[i] == LEAF {
                    u32::MAX
                } else {
                    self.feature[i] as u32
                },
                right: if self.left[i] == LEAF {
                    0
                } else {
                    self.right[i] as u32
                },
            })
            .collect();
        Some(nodes)
    }

    pub fn apply(&self, row: &[f64]) -> usize {
        let mut i = 0;
        loop {
            let l = self.left[i];
            if l == LEAF {
                return i;
            }
            i = if row[self.feature[i]] <= self.threshold[i] {
                l
            } else {
                self.right[i]
            };
        }
    }

    /// Total weighted impurity decrease per feature, normalized to sum to 1 (all zeros
    /// for a tree that is a single leaf).
    pub fn feature_importances(&self) -> Vec<f64> {
        let mut imp = vec![0.0; self.n_features];
        for i in 0..self.n_nodes() {
            if let Some((l, r)) = self.children(i) {
                let w = &self.weighted_n_samples;
                imp[self.feature[i]] +=
                    w[i] * self.impurity[i] - w[l] * self.impurity[l] - w[r] * self.impurity[r];
            }
        }
        let total: f64 = imp.iter().sum();
        if total > 0.0 {
            imp.iter_mut().for_each(|v| *v /= total);
        } else {
            imp.iter_mut().for_each(|v| *v = 0.0);
        }
        imp
    }

    /// A text dump like scikit-learn's `export_text`; `leaf` formats a leaf's value.
    pub(crate) fn export_text(&self, names: &[String], leaf: &dyn Fn(&[f64]) -> String) -> String {
        enum Item {
            Node(usize, usize),
            Line(String),
        }
        let mut out = String::new();
        let mut stack = vec![Item::Node(0, 0)];
        while let Some(item) = stack.pop() {
            let (node, depth) = match item {
                Item::Line(line) => {
                    out.push_str(&line);
                    continue;
                }
                Item::Node(node, depth) => (node, depth),
            };
            let indent = "|   ".repeat(depth);
            match self.children(node) {
                None => out.push_str(&format!("{indent}|--- {}\n", leaf(self.value(node)))),
                Some((l, r)) => {
                    let name = &names[self.feature[node]];
                    let t = self.threshold[node];
                    stack.push(Item::Node(r, depth + 1));
                    stack.push(Item::Line(format!("{indent}|--- {name} >  {t:.2}\n")));
                    stack.push(Item::Node(l, depth + 1));
                    stack.push(Item::Line(format!("{indent}|--- {name} <= {t:.2}\n")));
                }
            }
        }
        out
    }
}

/// Trees saved as one set of concatenated node arrays; `offsets[t]..offsets[t + 1]` are
/// tree `t`'s nodes, and child ids are local to their tree.
pub(crate) fn trees_to_tensors(trees: &[Tree], parts: &mut Parts) -> Result<()> {
    let n_outputs = trees.first().map_or(1, |t| t.n_outputs);
    let total: usize = trees.iter().map(Tree::n_nodes).sum();
    let id = |v: usize| if v == LEAF { -1 } else { v as i64 };
    let mut offsets = vec![0i64];
    let (mut feature, mut left, mut right, mut n_samples) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    let (mut threshold, mut value, mut impurity, mut weighted) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total * n_outputs),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    for t in trees {
        feature.extend(t.feature.iter().map(|&v| id(v)));
        left.extend(t.left.iter().map(|&v| id(v)));
        right.extend(t.right.iter().map(|&v| id(v)));
        n_samples.extend(t.n_samples.iter().map(|&v| v as i64));
        threshold.extend_from_slice(&t.threshold);
        value.extend_from_slice(&t.value);
        impurity.extend_from_slice(&t.impurity);
        weighted.extend_from_slice(&t.weighted_n_samples);
        offsets.push(offsets.last().copied().unwrap_or(0) + t.n_nodes() as i64);
    }
    let t = &mut parts.tensors;
    t.push((
        "offsets".into(),
        Tensor::from_vec(offsets, &[trees.len() + 1])?,
    ));
    t.push(("feature".into(), Tensor::from_vec(feature, &[total])?));
    t.push(("threshold".into(), Tensor::from_vec(threshold, &[total])?));
    t.push(("left".into(), Tensor::from_vec(left, &[total])?));
    t.push(("right".into(), Tensor::from_vec(right, &[total])?));
    t.push((
        "value".into(),
        Tensor::from_vec(value, &[total, n_outputs])?,
    ));
    t.push(("impurity".into(), Tensor::from_vec(impurity, &[total])?));
    t.push(("n_samples".into(), Tensor::from_vec(n_samples, &[total])?));
    t.push((
        "weighted_n_samples".into(),
        Tensor::from_vec(weighted, &[total])?,
    ));
    Ok(())
}

fn bad(what: &'static str, msg: String) -> Error {
    Error::invalid(what, format!("corrupt saved tree: {msg}"))
}

fn read(parts: &Parts, name: &str, len: usize, what: &'static str) -> Result<Vec<f64>> {
    let v = parts.tensor(name)?.to_vec_f64();
    if v.len() != len {
        return Err(bad(
            what,
            format!("`{name}` has {} values, expected {len}", v.len()),
        ));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(bad(what, format!("`{name}` holds a non-finite value")));
    }
    Ok(v)
}

/// Reads what [`trees_to_tensors`] wrote, checking every link so prediction cannot go
/// out of bounds or loop.
pub(crate) fn trees_from_tensors(
    parts: &Parts,
    n_features: usize,
    n_outputs: usize,
    what: &'static str,
) -> Result<Vec<Tree>> {
    let offsets = parts.tensor("offsets")?.to_vec_f64();
    let total = parts.tensor("feature")?.numel();
    let ok = offsets.first() == Some(&0.0)
        && offsets.last() == Some(&(total as f64))
        && offsets.windows(2).all(|w| w[1] > w[0]);
    if !ok || offsets.len() < 2 {
        return Err(bad(what, "`offsets` do not partition the nodes".into()));
    }
    let feature = read(parts, "feature", total, what)?;
    let threshold = read(parts, "threshold", total, what)?;
    let left = read(parts, "left", total, what)?;
    let right = read(parts, "right", total, what)?;
    let value = read(parts, "value", total * n_outputs, what)?;
    let impurity = read(parts, "impurity", total, what)?;
    let n_samples = read(parts, "n_samples", total, what)?;
    let weighted = read(parts, "weighted_n_samples", total, what)?;
    let mut trees = Vec::with_capacity(offsets.len() - 1);
    for w in offsets.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        let mut t = Tree::empty(n_features, n_outputs);
        for i in a..b {
            let local = i - a;
            let (f, l, r) = (feature[i], left[i], right[i]);
            let node_ok = if l < 0.0 {
                l == -1.0 && r == -1.0 && f == -1.0
            } else {
                l.fract() == 0.0
                    && r.fract() == 0.0
                    && f.fract() == 0.0
                    && (f as usize) < n_features
                    && f >= 0.0
                    && (l as usize) > local
                    && (r as usize) > local
                    && (l as usize) < b - a
                    && (r as usize) < b - a
            };
            if !node_ok {
                return Err(bad(what, format!("node {local} has invalid links")));
            }
            let leaf = l < 0.0;
            let ids = |v: f64| if leaf { LEAF } else { v as usize };
            t.feature.push(ids(f));
            t.left.push(ids(l));
            t.right.push(ids(r));
            t.threshold.push(threshold[i]);
            t.impurity.push(impurity[i]);
            t.n_samples.push(n_samples[i].max(0.0) as usize);
            t.weighted_n_samples.push(weighted[i]);
            t.value
                .extend_from_slice(&value[i * n_outputs..(i + 1) * n_outputs]);
        }
        trees.push(t);
    }
    Ok(trees)
}
