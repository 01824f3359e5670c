//! Minimal cost-complexity pruning (Breiman et al.; scikit-learn's `ccp_alpha`).
//!
//! The cost of a subtree `T` is `R(T) + α·|leaves(T)|`, where `R` is the total leaf
//! impurity weighted by the fraction of training samples in each leaf. Repeatedly the
//! "weakest link" — the internal node `t` with the smallest effective alpha
//! `(R(t) − R(T_t)) / (|leaves(T_t)| − 1)` — is collapsed into a leaf, while that alpha is
//! at most `ccp_alpha`. Ties go to the lowest node id, as in scikit-learn.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::structure::{Tree, LEAF};

/// The sequence of effective alphas at which the tree shrinks, and the total weighted leaf
/// impurity of the pruned tree at each (as scikit-learn's `cost_complexity_pruning_path`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PruningPath {
    pub ccp_alphas: Vec<f64>,
    pub impurities: Vec<f64>,
}

/// An order-preserving integer key of a finite f64.
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// Runs the weakest-link loop until the effective alpha exceeds `ccp_alpha` (or, with
/// `None`, down to the root). Returns which nodes stay in the tree and which of those
/// become leaves, and the path.
fn weakest_links(tree: &Tree, ccp_alpha: Option<f64>) -> (Vec<bool>, Vec<bool>, PruningPath) {
    let n = tree.n_nodes();
    let total = tree.weighted_n_samples[0];
    let mut parent = vec![LEAF; n];
    for i in 0..n {
        if let Some((l, r)) = tree.children(i) {
            parent[l] = i;
            parent[r] = i;
        }
    }
    let r_node: Vec<f64> = (0..n)
        .map(|i| tree.weighted_n_samples[i] * tree.impurity[i] / total)
        .collect();
    let mut r_branch = vec![0.0; n];
    let mut n_leaves = vec![0usize; n];
    for i in (0..n).rev() {
        match tree.children(i) {
            None => {
                r_branch[i] = r_node[i];
                n_leaves[i] = 1;
            }
            Some((l, r)) => {
                r_branch[i] = r_branch[l] + r_branch[r];
                n_leaves[i] = n_leaves[l] + n_leaves[r];
            }
        }
    }
    let alpha = |i: usize, r_branch: &[f64], n_leaves: &[usize]| {
        (r_node[i] - r_branch[i]) / (n_leaves[i] - 1) as f64
    };
    let mut candidates: BTreeSet<(u64, usize)> = (0..n)
        .filter(|&i| !tree.is_leaf(i))
        .map(|i| (key(alpha(i, &r_branch, &n_leaves)), i))
        .collect();
    let mut in_tree = vec![true; n];
    let mut leaf: Vec<bool> = (0..n).map(|i| tree.is_leaf(i)).collect();
    let mut path = PruningPath {
        ccp_alphas: vec![0.0],
        impurities: vec![r_branch[0]],
    };
    let mut stack = Vec::new();
    while let Some(&(_, node)) = candidates.first() {
        let effective = alpha(node, &r_branch, &n_leaves);
        if ccp_alpha.is_some_and(|a| a < effective) {
            break;
        }
        // Collapse `node`: its descendants leave the tree (and the candidate set).
        candidates.remove(&(key(effective), node));
        if let Some((l, r)) = tree.children(node) {
            stack.extend([l, r]);
        }
        while let Some(d) = stack.pop() {
            if in_tree[d] && !leaf[d] {
                candidates.remove(&(key(alpha(d, &r_branch, &n_leaves)), d));
                if let Some((l, r)) = tree.children(d) {
                    stack.extend([l, r]);
                }
            }
            in_tree[d] = false;
        }
        leaf[node] = true;
        let pruned = n_leaves[node] - 1;
        n_leaves[node] = 1;
        let diff = r_node[node] - r_branch[node];
        r_branch[node] = r_node[node];
        let mut a = parent[node];
        while a != LEAF {
            candidates.remove(&(key(alpha(a, &r_branch, &n_leaves)), a));
            n_leaves[a] -= pruned;
            r_branch[a] += diff;
            candidates.insert((key(alpha(a, &r_branch, &n_leaves)), a));
            a = parent[a];
        }
        path.ccp_alphas.push(effective);
        path.impurities.push(r_branch[0]);
    }
    (in_tree, leaf, path)
}

/// The tree pruned with `ccp_alpha` (renumbered depth-first, left child first).
pub(crate) fn prune(tree: &Tree, ccp_alpha: f64) -> Tree {
    if ccp_alpha <= 0.0 || tree.n_nodes() <= 1 {
        return tree.clone();
    }
    let (_, leaf, _) = weakest_links(tree, Some(ccp_alpha));
    let mut out = Tree::empty(tree.n_features, tree.n_outputs);
    let mut stack = vec![(0usize, None)];
    while let Some((old, parent)) = stack.pop() {
        let id = out.push_node(
            parent,
            tree.value(old),
            tree.impurity[old],
            tree.n_samples[old],
            tree.weighted_n_samples[old],
        );
        if !leaf[old] {
            out.set_split(id, tree.feature[old], tree.threshold[old]);
            stack.push((tree.right[old], Some((id, false))));
            stack.push((tree.left[old], Some((id, true))));
        }
    }
    out
}

/// The full pruning path of `tree` (from alpha 0 until only the root is left).
pub(crate) fn pruning_path(tree: &Tree) -> PruningPath {
    if tree.n_nodes() <= 1 {
        return PruningPath {
            ccp_alphas: vec![0.0],
            impurities: vec![tree.impurity.first().copied().unwrap_or(0.0)],
        };
    }
    weakest_links(tree, None).2
}
