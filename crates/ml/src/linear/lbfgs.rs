//! Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4/7.5) with a backtracking Armijo
//! line search, for the smooth convex objectives of the linear models.

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
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: Vec<f64>,
    opts: &LbfgsOptions,
    mut on_iter: impl FnMut(usize, f64),
) -> LbfgsResult {
    let n = x0.len();
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(opts.memory);
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    for iter in 1..=opts.max_iter {
        if max_abs(&g) <= opts.gtol {
            return LbfgsResult {
                x,
                f: fx,
                iterations: iter - 1,
                converged: true,
            };
        }
        let mut d = two_loop(&g, &history);
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            history.clear();
            d = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
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
                x_new[i] = x[i] + step * d[i];
            }
            f_new = f(&x_new, &mut g_new);
            // Armijo sufficient decrease, c1 = 1e-4.
            if f_new.is_finite() && f_new <= fx + 1e-4 * step * slope {
                break;
            }
            step *= 0.5;
            tries += 1;
            if tries > 60 {
                return LbfgsResult {
                    x,
                    f: fx,
                    iterations: iter,
                    converged: max_abs(&g) <= opts.gtol * 10.0,
                };
            }
        }
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
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
        if decrease <= opts.ftol * fx.abs().max(1.0) {
            return LbfgsResult {
                x,
                f: fx,
                iterations: iter,
                converged: true,
            };
        }
    }
    let converged = max_abs(&g) <= opts.gtol;
    LbfgsResult {
        x,
        f: fx,
        iterations: opts.max_iter,
        converged,
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
}
