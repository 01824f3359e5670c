//! Sequential minimal optimization for the C-SVC dual, as LIBSVM's `Solver`:
//!
//! ```text
//! min_α ½ αᵀQα − eᵀα   subject to   yᵀα = 0,  0 ≤ α_i ≤ C,   Q_ij = y_i y_j K(x_i, x_j)
//! ```
//!
//! Each iteration picks the pair (i, j) by the second-order working-set selection of Fan,
//! Chen & Lin (2005, "Working set selection using second order information for training
//! SVM"): `i` maximizes `−y_i ∇f(α)_i` over the indices that may move up, and `j`, among
//! the indices that violate the optimality conditions with `i`, maximizes the decrease of
//! the objective along the pair, `(∇_i − ∇_j)² / (Q_ii + Q_jj − 2 y_i y_j Q_ij)`. The two
//! multipliers are then optimized analytically and clipped to the box. Stops when the
//! maximal violation `m(α) − M(α)` is below `eps`.
//!
//! With shrinking, every `min(l, 1000)` iterations the variables that sit at a bound and
//! are unlikely to move are taken out of the active set (the problem is permuted so the
//! active ones come first); the full gradient is rebuilt from `Ḡ` (the contribution of the
//! variables at the upper bound) before the final check, so the result is the same
//! optimum as without shrinking.

use super::kernel::QMatrix;

/// The curvature used when `Q_ii + Q_jj − 2Q_ij ≤ 0` (non-PSD kernels, duplicate points).
const TAU: f64 = 1e-12;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Lower,
    Upper,
    Free,
}

/// The solver's settings.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub c: f64,
    pub eps: f64,
    pub max_iter: usize,
    pub shrinking: bool,
}

/// The optimum found: `α` in the problem's original order and `ρ` (the decision function is
/// `Σ y_i α_i K(x_i, x) − ρ`).
#[derive(Clone, Debug)]
pub struct Solution {
    pub alpha: Vec<f64>,
    pub rho: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// Solves the dual over `q` (which it permutes while shrinking).
pub fn solve(q: &mut QMatrix, opts: &Options) -> Solution {
    let l = q.size();
    let s = Solver {
        q,
        c: opts.c,
        eps: opts.eps,
        l,
        active_size: l,
        alpha: vec![0.0; l],
        status: vec![Bound::Lower; l],
        g: vec![-1.0; l],
        g_bar: vec![0.0; l],
        active_set: (0..l).collect(),
        unshrink: false,
    };
    s.run(opts.max_iter, opts.shrinking)
}

struct Solver<'a> {
    q: &'a mut QMatrix,
    c: f64,
    eps: f64,
    l: usize,
    active_size: usize,
    alpha: Vec<f64>,
    status: Vec<Bound>,
    /// The gradient `Qα − e`.
    g: Vec<f64>,
    /// `Ḡ_i = C Σ_{j at upper bound} Q_ij`, to rebuild the gradient after shrinking.
    g_bar: Vec<f64>,
    /// The original index of each position.
    active_set: Vec<usize>,
    unshrink: bool,
}

impl Solver<'_> {
    fn run(mut self, max_iter: usize, shrinking: bool) -> Solution {
        let l = self.l;
        let mut counter = l.min(1000) + 1;
        let mut iterations = 0;
        let mut converged = false;
        while iterations < max_iter {
            counter -= 1;
            if counter == 0 {
                counter = l.min(1000);
                if shrinking {
                    self.do_shrinking();
                }
            }
            let (i, j) = match self.select_working_set() {
                Some(pair) => pair,
                None => {
                    // Optimal on the active set: check again on the whole problem.
                    self.reconstruct_gradient();
                    self.active_size = l;
                    match self.select_working_set() {
                        Some(pair) => {
                            counter = 1; // shrink at the next iteration
                            pair
                        }
                        None => {
                            converged = true;
                            break;
                        }
                    }
                }
            };
            iterations += 1;
            self.update(i, j);
        }
        if self.active_size < l {
            self.reconstruct_gradient();
            self.active_size = l;
        }
        let rho = self.calculate_rho();
        let mut alpha = vec![0.0; l];
        for (pos, &orig) in self.active_set.iter().enumerate() {
            alpha[orig] = self.alpha[pos];
        }
        Solution {
            alpha,
            rho,
            iterations,
            converged,
        }
    }

    #[inline]
    fn is_upper(&self, i: usize) -> bool {
        self.status[i] == Bound::Upper
    }

    #[inline]
    fn is_lower(&self, i: usize) -> bool {
        self.status[i] == Bound::Lower
    }

    fn update_status(&mut self, i: usize) {
        self.status[i] = if self.alpha[i] >= self.c {
            Bound::Upper
        } else if self.alpha[i] <= 0.0 {
            Bound::Lower
        } else {
            Bound::Free
        };
    }

    /// The pair to optimize next, or `None` when the active set is optimal to `eps`.
    fn select_working_set(&mut self) -> Option<(usize, usize)> {
        let active = self.active_size;
        // i = argmax { −y_t ∇f_t : t may increase y_t α_t }.
        let mut gmax = f64::NEG_INFINITY;
        let mut gmax_idx = None;
        for t in 0..active {
            if self.q.y(t) > 0.0 {
                if !self.is_upper(t) && -self.g[t] >= gmax {
                    gmax = -self.g[t];
                    gmax_idx = Some(t);
                }
            } else if !self.is_lower(t) && self.g[t] >= gmax {
                gmax = self.g[t];
                gmax_idx = Some(t);
            }
        }
        let i = gmax_idx?;
        self.q.load(i, active);
        let qi = self.q.row(i);
        let (yi, qdi) = (self.q.y(i), self.q.qd(i));
        // j = argmin over the violating pairs of −(grad diff)² / curvature.
        let mut gmax2 = f64::NEG_INFINITY;
        let mut best = None;
        let mut obj_diff_min = f64::INFINITY;
        for (j, &qij) in qi[..active].iter().enumerate() {
            let gj = self.g[j];
            let (grad_diff, quad) = if self.q.y(j) > 0.0 {
                if self.is_lower(j) {
                    continue;
                }
                gmax2 = gmax2.max(gj);
                (gmax + gj, qdi + self.q.qd(j) - 2.0 * yi * qij)
            } else {
                if self.is_upper(j) {
                    continue;
                }
                gmax2 = gmax2.max(-gj);
                (gmax - gj, qdi + self.q.qd(j) + 2.0 * yi * qij)
            };
            if grad_diff > 0.0 {
                let obj_diff = -(grad_diff * grad_diff) / if quad > 0.0 { quad } else { TAU };
                if obj_diff <= obj_diff_min {
                    best = Some(j);
                    obj_diff_min = obj_diff;
                }
            }
        }
        if gmax + gmax2 < self.eps {
            return None;
        }
        best.map(|j| (i, j))
    }

    /// Optimizes α_i, α_j analytically, clips them to the box and updates the gradient.
    fn update(&mut self, i: usize, j: usize) {
        let (active, c) = (self.active_size, self.c);
        self.q.load(i, active);
        self.q.load(j, active);
        let (old_ai, old_aj) = (self.alpha[i], self.alpha[j]);
        let (mut ai, mut aj) = (old_ai, old_aj);
        let qij = self.q.row(i)[j];
        let (qdi, qdj) = (self.q.qd(i), self.q.qd(j));
        let (gi, gj) = (self.g[i], self.g[j]);
        if self.q.y(i) != self.q.y(j) {
            let delta = (-gi - gj) / positive(qdi + qdj + 2.0 * qij);
            let diff = ai - aj;
            ai += delta;
            aj += delta;
            if diff > 0.0 {
                if aj < 0.0 {
                    aj = 0.0;
                    ai = diff;
                }
            } else if ai < 0.0 {
                ai = 0.0;
                aj = -diff;
            }
            if diff > 0.0 {
                if ai > c {
                    ai = c;
                    aj = c - diff;
                }
            } else if aj > c {
                aj = c;
                ai = c + diff;
            }
        } else {
            let delta = (gi - gj) / positive(qdi + qdj - 2.0 * qij);
            let sum = ai + aj;
            ai -= delta;
            aj += delta;
            if sum > c {
                if ai > c {
                    ai = c;
                    aj = sum - c;
                }
            } else if aj < 0.0 {
                aj = 0.0;
                ai = sum;
            }
            if sum > c {
                if aj > c {
                    aj = c;
                    ai = sum - c;
                }
            } else if ai < 0.0 {
                ai = 0.0;
                aj = sum;
            }
        }
        self.alpha[i] = ai;
        self.alpha[j] = aj;
        let dai = self.alpha[i] - old_ai;
        let daj = self.alpha[j] - old_aj;
        {
            let (qi, qj) = (&self.q.row(i)[..active], &self.q.row(j)[..active]);
            for ((g, a), b) in self.g[..active].iter_mut().zip(qi).zip(qj) {
                *g += a * dai + b * daj;
            }
        }
        for k in [i, j] {
            let was_upper = self.is_upper(k);
            self.update_status(k);
            if was_upper != self.is_upper(k) {
                let l = self.l;
                self.q.load(k, l);
                let sign = if was_upper { -c } else { c };
                for (gb, qk) in self.g_bar.iter_mut().zip(self.q.row(k)) {
                    *gb += sign * qk;
                }
            }
        }
    }

    /// Whether the bounded variable at `i` is unlikely to move (LIBSVM's `be_shrunk`).
    fn be_shrunk(&self, i: usize, gmax1: f64, gmax2: f64) -> bool {
        let (g, up) = (self.g[i], self.q.y(i) > 0.0);
        if self.is_upper(i) {
            -g > if up { gmax1 } else { gmax2 }
        } else if self.is_lower(i) {
            g > if up { gmax2 } else { gmax1 }
        } else {
            false
        }
    }

    fn do_shrinking(&mut self) {
        let mut gmax1 = f64::NEG_INFINITY; // max { −y_i ∇f_i : i ∈ I_up }
        let mut gmax2 = f64::NEG_INFINITY; // max { y_i ∇f_i : i ∈ I_low }
        for i in 0..self.active_size {
            let g = self.g[i];
            if self.q.y(i) > 0.0 {
                if !self.is_upper(i) {
                    gmax1 = gmax1.max(-g);
                }
                if !self.is_lower(i) {
                    gmax2 = gmax2.max(g);
                }
            } else {
                if !self.is_upper(i) {
                    gmax2 = gmax2.max(-g);
                }
                if !self.is_lower(i) {
                    gmax1 = gmax1.max(g);
                }
            }
        }
        if !self.unshrink && gmax1 + gmax2 <= self.eps * 10.0 {
            // Close to the optimum: unshrink once and shrink again against the true gradient.
            self.unshrink = true;
            self.reconstruct_gradient();
            self.active_size = self.l;
        }
        let mut i = 0;
        while i < self.active_size {
            if self.be_shrunk(i, gmax1, gmax2) {
                self.active_size -= 1;
                while self.active_size > i {
                    if !self.be_shrunk(self.active_size, gmax1, gmax2) {
                        self.swap_index(i, self.active_size);
                        break;
                    }
                    self.active_size -= 1;
                }
            }
            i += 1;
        }
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.q.swap_index(i, j);
        self.g.swap(i, j);
        self.status.swap(i, j);
        self.alpha.swap(i, j);
        self.active_set.swap(i, j);
        self.g_bar.swap(i, j);
    }

    /// Rebuilds the gradient of the inactive variables from `Ḡ` and the free variables.
    fn reconstruct_gradient(&mut self) {
        let (active, l) = (self.active_size, self.l);
        if active == l {
            return;
        }
        for j in active..l {
            self.g[j] = self.g_bar[j] - 1.0;
        }
        let nr_free = (0..active)
            .filter(|&j| self.status[j] == Bound::Free)
            .count();
        if nr_free * l > 2 * active * (l - active) {
            for i in active..l {
                self.q.load(i, active);
                let qi = self.q.row(i);
                let add: f64 = (0..active)
                    .filter(|&j| self.status[j] == Bound::Free)
                    .map(|j| self.alpha[j] * qi[j])
                    .sum();
                self.g[i] += add;
            }
        } else {
            for i in 0..active {
                if self.status[i] != Bound::Free {
                    continue;
                }
                self.q.load(i, l);
                let (qi, ai) = (self.q.row(i), self.alpha[i]);
                for (g, q) in self.g[active..l].iter_mut().zip(&qi[active..l]) {
                    *g += ai * q;
                }
            }
        }
    }

    /// `ρ`: the mean of `y_i ∇f_i` over the free variables, or the middle of the feasible
    /// interval when none is free.
    fn calculate_rho(&self) -> f64 {
        let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut nr_free, mut sum_free) = (0usize, 0.0);
        for i in 0..self.active_size {
            let y = self.q.y(i);
            let yg = y * self.g[i];
            match self.status[i] {
                Bound::Upper => {
                    if y < 0.0 {
                        ub = ub.min(yg);
                    } else {
                        lb = lb.max(yg);
                    }
                }
                Bound::Lower => {
                    if y > 0.0 {
                        ub = ub.min(yg);
                    } else {
                        lb = lb.max(yg);
                    }
                }
                Bound::Free => {
                    nr_free += 1;
                    sum_free += yg;
                }
            }
        }
        if nr_free > 0 {
            sum_free / nr_free as f64
        } else {
            (ub + lb) / 2.0
        }
    }
}

fn positive(quad: f64) -> f64 {
    if quad > 0.0 {
        quad
    } else {
        TAU
    }
}
