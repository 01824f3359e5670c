//! Least squares by gradient descent, for data too large for a dense SVD: one pass over the
//! rows per iteration and no copy beyond the input. Nesterov's accelerated gradient with
//! step 1/L (L from a power iteration) and adaptive restart (O'Donoghue & Candès, 2015),
//! on internally standardized features and target so the tolerance is scale-free.

use rayon::prelude::*;

/// The solution in the caller's units.
pub struct GdSolution {
    pub coef: Vec<f64>,
    pub intercept: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// Rows per parallel task.
const CHUNK: usize = 1024;
/// Power-iteration steps for the largest eigenvalue of the scaled Gram matrix.
const POWER_STEPS: usize = 30;

/// Row-major data with per-column means and scales: `zᵢⱼ = (xᵢⱼ − mⱼ) / sⱼ`.
struct Standardized<'a> {
    x: &'a [f64],
    f: usize,
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl Standardized<'_> {
    /// `(Zᵀ(Z·u − t), Σ(Z·u − t)²)` with `t` the target, in one pass; `t = None` means zero.
    fn normal_product(&self, u: &[f64], t: Option<&[f64]>) -> (Vec<f64>, f64) {
        let f = self.f;
        // Z·u = X·v − c with vⱼ = uⱼ / sⱼ and c = Σ mⱼ vⱼ.
        let v: Vec<f64> = u.iter().zip(&self.scale).map(|(a, s)| a / s).collect();
        let c: f64 = v.iter().zip(&self.mean).map(|(a, m)| a * m).sum();
        let (xtr, r_sum, rr) = self
            .x
            .par_chunks(CHUNK * f)
            .enumerate()
            .map(|(k, rows)| {
                let mut xtr = vec![0.0; f];
                let (mut r_sum, mut rr) = (0.0, 0.0);
                for (i, row) in rows.chunks(f).enumerate() {
                    let target = t.map_or(0.0, |t| t[k * CHUNK + i]);
                    let r = dot(row, &v) - c - target;
                    xtr.iter_mut().zip(row).for_each(|(g, x)| *g += r * x);
                    r_sum += r;
                    rr += r * r;
                }
                (xtr, r_sum, rr)
            })
            .reduce(
                || (vec![0.0; f], 0.0, 0.0),
                |(mut a, sa, ra), (b, sb, rb)| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    (a, sa + sb, ra + rb)
                },
            );
        // Zᵀr = (Xᵀr − m·Σr) / s.
        let g = (0..f)
            .map(|j| (xtr[j] - self.mean[j] * r_sum) / self.scale[j])
            .collect();
        (g, rr)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// Minimizes `(1/2n)‖y − Xw − b‖² + (α/2n)‖w‖²` (scikit-learn's ridge objective divided by
/// 2n; α = 0 is least squares) until the largest gradient component in standardized units
/// is below `tol`. Constant columns get weight 0.
pub fn solve(
    x: &[f64],
    n: usize,
    f: usize,
    y: &[f64],
    alpha: f64,
    tol: f64,
    max_iter: usize,
) -> GdSolution {
    let inv_n = 1.0 / n as f64;
    let mut mean = vec![0.0; f];
    for row in x.chunks(f) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m *= inv_n);
    let mut var = vec![0.0; f];
    for row in x.chunks(f) {
        for j in 0..f {
            var[j] += (row[j] - mean[j]).powi(2);
        }
    }
    // A constant column has scale 1: its standardized values are all zero.
    let scale: Vec<f64> = var
        .iter()
        .map(|v| (v * inv_n).sqrt())
        .map(|s| if s > 0.0 { s } else { 1.0 })
        .collect();
    let y_mean = y.iter().sum::<f64>() * inv_n;
    let y_scale = (y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() * inv_n).sqrt();
    let y_scale = if y_scale > 0.0 { y_scale } else { 1.0 };
    let t: Vec<f64> = y.iter().map(|v| (v - y_mean) / y_scale).collect();
    let z = Standardized { x, f, mean, scale };
    // In standardized units the ridge term is (α / s²ⱼ) per coordinate.
    let ridge: Vec<f64> = z.scale.iter().map(|s| alpha * inv_n / (s * s)).collect();
    let gradient = |u: &[f64]| -> Vec<f64> {
        let (g, _) = z.normal_product(u, Some(&t));
        g.iter()
            .zip(u)
            .zip(&ridge)
            .map(|((g, u), r)| g * inv_n + r * u)
            .collect()
    };
    let lipschitz = largest_eigenvalue(&z, n) * 1.05 + ridge.iter().fold(0.0f64, |a, &b| a.max(b));
    let step = 1.0 / lipschitz.max(f64::MIN_POSITIVE);

    let mut u = vec![0.0; f];
    let mut u_prev = u.clone();
    let mut momentum_k = 0usize;
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        iterations += 1;
        let beta = momentum_k as f64 / (momentum_k as f64 + 3.0);
        let ahead: Vec<f64> = (0..f).map(|j| u[j] + beta * (u[j] - u_prev[j])).collect();
        let g = gradient(&ahead);
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) <= tol {
            u = ahead;
            converged = true;
            break;
        }
        let next: Vec<f64> = (0..f).map(|j| ahead[j] - step * g[j]).collect();
        // Restart the momentum when it points uphill.
        let uphill: f64 = (0..f).map(|j| g[j] * (next[j] - u[j])).sum();
        momentum_k = if uphill > 0.0 { 0 } else { momentum_k + 1 };
        u_prev = std::mem::replace(&mut u, next);
    }
    let coef: Vec<f64> = (0..f).map(|j| u[j] / z.scale[j] * y_scale).collect();
    let intercept = y_mean - dot(&coef, &z.mean);
    GdSolution {
        coef,
        intercept,
        iterations,
        converged,
    }
}

/// λmax(ZᵀZ / n) by power iteration from the all-ones vector.
fn largest_eigenvalue(z: &Standardized, n: usize) -> f64 {
    let mut v = vec![1.0 / (z.f as f64).sqrt(); z.f];
    let mut lambda = 0.0;
    for _ in 0..POWER_STEPS {
        let (w, _) = z.normal_product(&v, None);
        let len = norm(&w);
        if len == 0.0 {
            return 0.0;
        }
        lambda = len / n as f64;
        v = w.iter().map(|a| a / len).collect();
    }
    lambda
}
