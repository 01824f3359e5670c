//! One binary machine: the problem laid out as LIBSVM lays it out, solved by SMO, and
//! (optionally) Platt scaling of its decision values, as LIBSVM's
//! `svm_binary_svc_probability` and `sigmoid_train`.

use super::kernel::{dot, QMatrix, ResolvedKernel};
use super::smo::{self, Options};

/// A fitted binary machine: `f(x) = Σ coef_r K(x_r, x) + intercept`, positive for the
/// positive class.
#[derive(Clone, Debug)]
pub struct BinaryFit {
    /// `(training row, coefficient)` for the support vectors, in row order; the
    /// coefficient is `+α` for positive rows and `−α` for negative ones.
    pub coef: Vec<(usize, f64)>,
    pub intercept: f64,
    pub iterations: usize,
    pub converged: bool,
    /// Platt's sigmoid `P(positive | f) = 1 / (1 + exp(A·f + B))`.
    pub platt: Option<(f64, f64)>,
}

/// Trains on the rows `rows` of `x` (`[n, f]` row-major), `positive[r]` saying which side
/// row `r` is on. Both sides must be present.
///
/// LIBSVM (inside scikit-learn) groups the rows by sorted label, so the negative rows come
/// first with `y = +1` and the positive rows follow with `y = −1`, and it negates the
/// decision function at the end. We lay the problem out the same way so the solver visits
/// the same iterates and stops at the same point as scikit-learn's `SVC`.
pub fn train(
    x: &[f64],
    f: usize,
    rows: &[usize],
    positive: &[bool],
    kernel: ResolvedKernel,
    opts: &Options,
    cache_values: usize,
) -> BinaryFit {
    let order: Vec<usize> = rows
        .iter()
        .filter(|&&r| !positive[r])
        .chain(rows.iter().filter(|&&r| positive[r]))
        .copied()
        .collect();
    let mut xs = Vec::with_capacity(order.len() * f);
    for &r in &order {
        xs.extend_from_slice(&x[r * f..(r + 1) * f]);
    }
    let y: Vec<f64> = order
        .iter()
        .map(|&r| if positive[r] { -1.0 } else { 1.0 })
        .collect();
    let mut q = QMatrix::new(xs, f, y, kernel, cache_values);
    let sol = smo::solve(&mut q, opts);
    let mut coef: Vec<(usize, f64)> = order
        .iter()
        .zip(&sol.alpha)
        .filter(|(_, &a)| a > 0.0)
        .map(|(&r, &a)| (r, if positive[r] { a } else { -a }))
        .collect();
    coef.sort_unstable_by_key(|&(r, _)| r);
    BinaryFit {
        coef,
        intercept: sol.rho,
        iterations: sol.iterations,
        converged: sol.converged,
        platt: None,
    }
}

impl BinaryFit {
    /// Decision values for the rows `rows` of `x`.
    pub fn decisions(
        &self,
        x: &[f64],
        f: usize,
        rows: &[usize],
        kernel: &ResolvedKernel,
    ) -> Vec<f64> {
        let sv: Vec<&[f64]> = self
            .coef
            .iter()
            .map(|&(r, _)| &x[r * f..(r + 1) * f])
            .collect();
        let sv2: Vec<f64> = sv.iter().map(|s| dot(s, s)).collect();
        rows.iter()
            .map(|&r| {
                let xr = &x[r * f..(r + 1) * f];
                let xr2 = dot(xr, xr);
                self.coef
                    .iter()
                    .zip(&sv)
                    .zip(&sv2)
                    .map(|((&(_, c), s), &s2)| c * kernel.eval(s, xr, s2, xr2))
                    .sum::<f64>()
                    + self.intercept
            })
            .collect()
    }
}

/// Folds of the cross-validation behind Platt scaling (LIBSVM's `nr_fold`).
const FOLDS: usize = 5;

/// Decision values of each row in `rows`, each from a machine trained without its fold
/// (folds drawn by a seeded shuffle); a fold whose training part holds one side only gets
/// ±1, as in LIBSVM.
#[allow(clippy::too_many_arguments)]
pub fn cross_validated_decisions(
    x: &[f64],
    f: usize,
    rows: &[usize],
    positive: &[bool],
    kernel: ResolvedKernel,
    opts: &Options,
    cache_values: usize,
    seed: u64,
) -> Vec<f64> {
    let l = rows.len();
    let mut perm: Vec<usize> = (0..l).collect();
    let mut rng = SplitMix64(seed);
    for i in 0..l {
        let j = i + (rng.next() % (l - i) as u64) as usize;
        perm.swap(i, j);
    }
    let mut dec = vec![0.0; l];
    for fold in 0..FOLDS {
        let (begin, end) = (fold * l / FOLDS, (fold + 1) * l / FOLDS);
        let held: Vec<usize> = perm[begin..end].to_vec();
        let train_rows: Vec<usize> = perm[..begin]
            .iter()
            .chain(&perm[end..])
            .map(|&p| rows[p])
            .collect();
        let n_pos = train_rows.iter().filter(|&&r| positive[r]).count();
        let n_neg = train_rows.len() - n_pos;
        let values = if n_pos > 0 && n_neg > 0 {
            let fit = train(x, f, &train_rows, positive, kernel, opts, cache_values);
            let held_rows: Vec<usize> = held.iter().map(|&p| rows[p]).collect();
            fit.decisions(x, f, &held_rows, &kernel)
        } else {
            let v = match (n_pos > 0, n_neg > 0) {
                (true, false) => 1.0,
                (false, true) => -1.0,
                _ => 0.0,
            };
            vec![v; held.len()]
        };
        for (&p, v) in held.iter().zip(values) {
            dec[p] = v;
        }
    }
    dec
}

/// Platt's sigmoid fitted to decision values by Newton's method with backtracking, with
/// the regularized targets of Lin, Lin & Weng (2007) — LIBSVM's `sigmoid_train`.
/// Returns `(A, B)` of `P(positive | f) = 1 / (1 + exp(A·f + B))`.
pub fn sigmoid_train(dec: &[f64], positive: &[bool]) -> (f64, f64) {
    let prior1 = positive.iter().filter(|&&p| p).count() as f64;
    let prior0 = positive.len() as f64 - prior1;
    let (max_iter, min_step, sigma, eps) = (100, 1e-10, 1e-12, 1e-5);
    let hi = (prior1 + 1.0) / (prior1 + 2.0);
    let lo = 1.0 / (prior0 + 2.0);
    let t: Vec<f64> = positive.iter().map(|&p| if p { hi } else { lo }).collect();
    let objective = |a: f64, b: f64| -> f64 {
        dec.iter()
            .zip(&t)
            .map(|(&d, &ti)| {
                let z = d * a + b;
                if z >= 0.0 {
                    ti * z + (-z).exp().ln_1p()
                } else {
                    (ti - 1.0) * z + z.exp().ln_1p()
                }
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
    let mut fval = objective(a, b);
    for _ in 0..max_iter {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
        for (&d, &ti) in dec.iter().zip(&t) {
            let z = d * a + b;
            let (p, q) = if z >= 0.0 {
                let e = (-z).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = z.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += d * d * d2;
            h22 += d2;
            h21 += d * d2;
            let d1 = ti - p;
            g1 += d * d1;
            g2 += d1;
        }
        if g1.abs() < eps && g2.abs() < eps {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= min_step {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf < fval + 1e-4 * step * gd {
                (a, b, fval) = (na, nb, nf);
                break;
            }
            step /= 2.0;
        }
        if step < min_step {
            break; // the line search failed: keep the last point
        }
    }
    (a, b)
}

/// `P(positive | f)` from Platt's sigmoid, without cancellation.
pub fn sigmoid_predict(dec: f64, a: f64, b: f64) -> f64 {
    let z = dec * a + b;
    if z >= 0.0 {
        let e = (-z).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + z.exp())
    }
}

/// A small seeded generator (SplitMix64) for the fold shuffle.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_fits_separated_scores() {
        // Positive scores for positives: A must come out negative, probabilities ordered.
        let dec = [-2.0, -1.5, -1.0, -0.2, 0.3, 1.0, 1.4, 2.2];
        let pos = [false, false, false, true, false, true, true, true];
        let (a, b) = sigmoid_train(&dec, &pos);
        assert!(a < 0.0, "A = {a}");
        let p: Vec<f64> = dec.iter().map(|&d| sigmoid_predict(d, a, b)).collect();
        assert!(p.windows(2).all(|w| w[0] < w[1]), "{p:?}");
        assert!(p[0] < 0.2 && p[7] > 0.8, "{p:?}");
    }
}
