//! Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4/7.5) with a backtracking Armijo
//! line search, for the convex objectives of the linear models; with an L1 term it runs as
//! OWL-QN.

/// Stopping rules.
#[derive(Clone, Copy, Debug)]
pub struct LbfgsOptions {
    /// Stop when the largest gradient component is below this.
    pub gtol: f64,
    /// Stop when an iteration lowers the objective by less than `ftol · max(|f|, 1)`.
    pub ftol: f64,
    pub max_iter: usize,
    /// Pairs (s, y) kept for the inverse-Hessian approximation.
    pub memory: usize,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        LbfgsOptions {
            gtol: 1e-8,
            ftol: 1e-14,
            max_iter: 1000,
            memory: 10,
        }
    }
}

/// The end of a run.
#[derive(Clone, Debug)]
pub struct LbfgsResult {
    pub x: Vec<f64>,
    pub f: f64,
    pub iterations: usize,
    pub converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimizes `f` from `x0`. `f(x, grad)` returns the objective and writes its gradient;
/// `on_iter(iteration, f)` is called after each accepted step (progress reporting).
pub fn minimize(
    f: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: Vec<f64>,
    opts: &LbfgsOptions,
    on_iter: impl FnMut(usize, f64),
) -> LbfgsResult {
    let l1 = vec![0.0; x0.len()];
    minimize_l1(f, x0, &l1, opts, on_iter)
}

/// Minimizes `f(x) + Σ l1ᵢ·|xᵢ|` by OWL-QN (Andrew & Gao, 2007): L-BFGS on the smooth
/// part, steered by the pseudo-gradient of the whole objective and kept inside one orthant
/// per line search, so coordinates reach exact zeros. Where `l1ᵢ = 0` the coordinate is
/// free and this is plain L-BFGS. The result's `f` includes the penalty.
pub fn minimize_l1(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: Vec<f64>,
    l1: &[f64],
    opts: &LbfgsOptions,
    mut on_iter: impl FnMut(usize, f64),
) -> LbfgsResult {
    let n = x0.len();
    assert_eq!(l1.len(), n, "one L1 weight per coordinate");
    let penalty = |x: &[f64]| -> f64 { x.iter().zip(l1).map(|(v, c)| c * v.abs()).sum() };
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g) + penalty(&x);
    let mut pg = vec![0.0; n];
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(opts.memory);
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut stalled = 0;
    for iter in 1..=opts.max_iter {
        pseudo_gradient(&x, &g, l1, &mut pg);
        if max_abs(&pg) <= opts.gtol {
            return LbfgsResult {
                x,
                f: fx,
                iterations: iter - 1,
                converged: true,
            };
        }
        let mut d = two_loop(&pg, &history);
        constrain_direction(&mut d, &pg, l1);
        if dot(&pg, &d) >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            history.clear();
            d = pg.iter().map(|v| -v).collect();
        }
        // The orthant each penalized coordinate may move in during this line search.
        let orthant: Vec<f64> = x
            .iter()
            .zip(&pg)
            .map(|(&xi, &pgi)| {
                if xi != 0.0 {
                    xi.signum()
                } else {
                    -pgi.signum()
                }
            })
            .collect();
        // The first step has no curvature information: scale it to a unit move.
        let mut step = if history.is_empty() {
            1.0 / max_abs(&d).max(1.0)
        } else {
            1.0
        };
        let mut f_new;
        let mut tries = 0;
        loop {
            for i in 0..n {
                let v = x[i] + step * d[i];
                // Crossing out of the orthant lands on zero instead.
                x_new[i] = if l1[i] > 0.0 && v * orthant[i] <= 0.0 {
                    0.0
                } else {
                    v
                };
            }
            f_new = f(&x_new, &mut g_new) + penalty(&x_new);
            // Armijo sufficient decrease along the projected step, c1 = 1e-4.
            // (Without projection this is the usual step · slope.)
            let moved: f64 = (0..n).map(|i| pg[i] * (x_new[i] - x[i])).sum();
            if f_new.is_finite() && f_new <= fx + 1e-4 * moved {
                break;
            }
            step *= 0.5;
            tries += 1;
            if tries > 60 {
                return LbfgsResult {
                    x,
                    f: fx,
                    iterations: iter,
                    converged: max_abs(&pg) <= opts.gtol * 10.0,
                };
            }
        }
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        // Curvature pairs use the smooth part's gradient only.
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        // Keep the pair only when the curvature condition holds (keeps H positive definite).
        if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            if history.len() == opts.memory {
                history.remove(0);
            }
            history.push((s, y, 1.0 / sy));
        }
        let decrease = fx - f_new;
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        fx = f_new;
        on_iter(iter, fx);
        if decrease > opts.ftol * fx.abs().max(1.0) {
            stalled = 0;
            continue;
        }
        // A stall in an ill-conditioned valley is often the curvature pairs gone stale:
        // restart from steepest descent a few times before giving up. (Near the optimum the
        // decrease also reaches the rounding floor of the summed objective.)
        stalled += 1;
        history.clear();
        if stalled >= 10 {
            pseudo_gradient(&x, &g, l1, &mut pg);
            return LbfgsResult {
                x,
                f: fx,
                iterations: iter,
                converged: true,
            };
        }
    }
    pseudo_gradient(&x, &g, l1, &mut pg);
    let converged = max_abs(&pg) <= opts.gtol;
    LbfgsResult {
        x,
        f: fx,
        iterations: opts.max_iter,
        converged,
    }
}

/// The minimum-norm subgradient of `f + Σ cᵢ|xᵢ|`: at `xᵢ = 0` it is zero when
/// `|gᵢ| ≤ cᵢ` (zero is optimal along that axis), else the one-sided derivative.
fn pseudo_gradient(x: &[f64], g: &[f64], l1: &[f64], pg: &mut [f64]) {
    for i in 0..x.len() {
        let (xi, gi, c) = (x[i], g[i], l1[i]);
        pg[i] = if c == 0.0 {
            gi
        } else if xi > 0.0 {
            gi + c
        } else if xi < 0.0 {
            gi - c
        } else if gi + c < 0.0 {
            gi + c
        } else if gi - c > 0.0 {
            gi - c
        } else {
            0.0
        };
    }
}

/// Zeroes direction components that point uphill for the pseudo-gradient (penalized
/// coordinates only), so the step stays a descent direction of the whole objective.
fn constrain_direction(d: &mut [f64], pg: &[f64], l1: &[f64]) {
    for i in 0..d.len() {
        if l1[i] > 0.0 && d[i] * pg[i] >= 0.0 {
            d[i] = 0.0;
        }
    }
}

/// The two-loop recursion: `-H·g` with H the L-BFGS inverse-Hessian approximation.
fn two_loop(g: &[f64], history: &[(Vec<f64>, Vec<f64>, f64)]) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = vec![0.0; history.len()];
    for (k, (s, y, rho)) in history.iter().enumerate().rev() {
        let a = rho * dot(s, &q);
        alphas[k] = a;
        q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
    }
    if let Some((s, y, _)) = history.last() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|v| *v *= gamma);
    }
    for (k, (s, y, rho)) in history.iter().enumerate() {
        let b = rho * dot(y, &q);
        q.iter_mut()
            .zip(s)
            .for_each(|(qi, si)| *qi += (alphas[k] - b) * si);
    }
    q.iter_mut().for_each(|v| *v = -*v);
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimizes_the_rosenbrock_function() {
        let rosen = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let r = minimize(rosen, vec![-1.2, 1.0], &LbfgsOptions::default(), |_, _| {});
        assert!(r.converged, "{r:?}");
        assert!(
            (r.x[0] - 1.0).abs() < 1e-6 && (r.x[1] - 1.0).abs() < 1e-6,
            "{r:?}"
        );
    }

    #[test]
    fn solves_a_quadratic_exactly() {
        // f = ½ xᵀAx − bᵀx with A = [[3,1],[1,2]], b = [1,1]: x* = A⁻¹b = [0.2, 0.4].
        let quad = |x: &[f64], g: &mut [f64]| {
            g[0] = 3.0 * x[0] + x[1] - 1.0;
            g[1] = x[0] + 2.0 * x[1] - 1.0;
            0.5 * (3.0 * x[0] * x[0] + 2.0 * x[0] * x[1] + 2.0 * x[1] * x[1]) - x[0] - x[1]
        };
        let r = minimize(quad, vec![0.0, 0.0], &LbfgsOptions::default(), |_, _| {});
        assert!(
            (r.x[0] - 0.2).abs() < 1e-9 && (r.x[1] - 0.4).abs() < 1e-9,
            "{r:?}"
        );
    }

    #[test]
    fn l1_term_soft_thresholds_to_exact_zeros() {
        // ½‖x − a‖² + c‖x‖₁ is minimized by the soft threshold sign(a)·max(|a| − c, 0).
        let a = [3.0, -0.5, 0.2, -2.0, 0.0];
        let c = 0.6;
        let quad = |x: &[f64], g: &mut [f64]| {
            let mut f = 0.0;
            for i in 0..x.len() {
                g[i] = x[i] - a[i];
                f += 0.5 * g[i] * g[i];
            }
            f
        };
        let l1 = [c, c, c, c, 0.0];
        let r = minimize_l1(quad, vec![1.0; 5], &l1, &LbfgsOptions::default(), |_, _| {});
        let want = [2.4, 0.0, 0.0, -1.4, 0.0];
        for (i, (got, want)) in r.x.iter().zip(want).enumerate() {
            assert!((got - want).abs() < 1e-9, "{i}: {r:?}");
        }
        assert_eq!((r.x[1], r.x[2]), (0.0, 0.0), "exact zeros: {r:?}");
        let f_want = 0.5 * (0.36 + 0.25 + 0.04 + 0.36) + c * (2.4 + 1.4);
        assert!((r.f - f_want).abs() < 1e-9, "{r:?}");
    }
}
