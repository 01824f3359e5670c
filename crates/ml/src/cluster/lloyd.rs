//! The k-means machinery: a seeded generator, greedy k-means++ seeding and Lloyd
//! iterations, parallel over blocks of samples. Partial sums are combined in block order,
//! so a seed gives the same clustering on any number of threads.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Samples per parallel task.
const CHUNK: usize = 256;

/// xoshiro256** seeded through SplitMix64: small, fast, reproducible.
#[derive(Clone, Debug)]
pub(crate) struct Rng([u64; 4]);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (n ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n - 1)
    }
}

#[inline]
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Greedy k-means++ (as scikit-learn): each new center is the best, by the resulting
/// potential, of `2 + ⌊ln k⌋` samples drawn with probability ∝ squared distance to the
/// nearest chosen center. Returns the indices of the chosen samples; a sample at
/// distance 0 from a chosen center is never drawn, so the seeds are distinct points
/// whenever the data have at least k distinct points.
pub(crate) fn kmeans_plusplus(
    x: &[f64],
    n: usize,
    f: usize,
    k: usize,
    rng: &mut Rng,
) -> Vec<usize> {
    let trials = 2 + (k as f64).ln() as usize;
    let first = rng.below(n);
    let mut chosen = vec![first];
    let c0 = &x[first * f..(first + 1) * f];
    let mut closest: Vec<f64> = x.par_chunks(f).map(|r| sq_dist(r, c0)).collect();
    let mut pot = ordered_sum(&closest);
    let mut cumsum = vec![0.0; n];
    let mut cand_dist = vec![0.0; trials * n];
    for _ in 1..k {
        let mut acc = 0.0;
        for (c, d) in cumsum.iter_mut().zip(&closest) {
            acc += d;
            *c = acc;
        }
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let r = rng.uniform() * pot;
                // The first sample whose cumulative weight exceeds r (zero weights never).
                cumsum.partition_point(|&c| c <= r).min(n - 1)
            })
            .collect();
        let pots: Vec<f64> = cand_dist
            .par_chunks_mut(n)
            .zip(&candidates)
            .map(|(row, &ci)| {
                let c = &x[ci * f..(ci + 1) * f];
                row.iter_mut()
                    .zip(x.chunks(f))
                    .zip(&closest)
                    .for_each(|((o, r), &old)| *o = sq_dist(r, c).min(old));
                ordered_sum(row)
            })
            .collect();
        let best = (0..trials).fold(0, |b, t| if pots[t] < pots[b] { t } else { b });
        pot = pots[best];
        closest.copy_from_slice(&cand_dist[best * n..(best + 1) * n]);
        chosen.push(candidates[best]);
    }
    chosen
}

/// Sum in blocks of `CHUNK`, blocks added in order.
fn ordered_sum(v: &[f64]) -> f64 {
    let parts: Vec<f64> = v
        .par_chunks(CHUNK * 16)
        .map(|c| c.iter().sum::<f64>())
        .collect();
    parts.iter().sum()
}

/// One run's result.
pub(crate) struct Run {
    pub centers: Vec<f64>,
    pub labels: Vec<usize>,
    pub inertia: f64,
    pub n_iter: usize,
}

/// Nearest center of each sample (ties to the lower center id), using
/// `argmin ‖c‖² − 2 x·c`.
fn assign(
    x: &[f64],
    f: usize,
    centers: &[f64],
    k: usize,
    labels: &mut [usize],
    sums: Option<&mut [f64]>,
) {
    let c_norms: Vec<f64> = centers
        .chunks(f)
        .map(|c| c.iter().map(|v| v * v).sum())
        .collect();
    let use_gemm = k * f >= 64;
    // Per block: labels, and (when `sums` is asked for) per-center sums and counts.
    let blocks: Vec<Option<Vec<f64>>> = x
        .par_chunks(CHUNK * f)
        .zip(labels.par_chunks_mut(CHUNK))
        .map(|(xs, ls)| {
            let rows = ls.len();
            let mut dots = vec![0.0; rows * k];
            if use_gemm {
                matmul(
                    MatMut::from_row_major_slice_mut(&mut dots, rows, k),
                    Accum::Replace,
                    MatRef::from_row_major_slice(xs, rows, f),
                    MatRef::from_row_major_slice(centers, k, f).transpose(),
                    1.0,
                    Par::Seq,
                );
            } else {
                for (d, r) in dots.chunks_mut(k).zip(xs.chunks(f)) {
                    for (dj, c) in d.iter_mut().zip(centers.chunks(f)) {
                        *dj = r.iter().zip(c).map(|(a, b)| a * b).sum();
                    }
                }
            }
            for (l, d) in ls.iter_mut().zip(dots.chunks(k)) {
                let mut best = 0;
                let mut best_d = f64::INFINITY;
                for (j, (&dot, &cn)) in d.iter().zip(&c_norms).enumerate() {
                    let v = cn - 2.0 * dot;
                    if v < best_d {
                        best_d = v;
                        best = j;
                    }
                }
                *l = best;
            }
            sums.as_ref().map(|_| {
                // [k·f sums | k counts]
                let mut s = vec![0.0; k * f + k];
                for (r, &l) in xs.chunks(f).zip(ls.iter()) {
                    s[l * f..(l + 1) * f]
                        .iter_mut()
                        .zip(r)
                        .for_each(|(a, b)| *a += b);
                    s[k * f + l] += 1.0;
                }
                s
            })
        })
        .collect();
    if let Some(out) = sums {
        out.iter_mut().for_each(|v| *v = 0.0);
        for b in blocks.into_iter().flatten() {
            out.iter_mut().zip(&b).for_each(|(a, v)| *a += v);
        }
    }
}

/// Σ ‖xᵢ − c_{labelᵢ}‖².
pub(crate) fn inertia(x: &[f64], f: usize, centers: &[f64], labels: &[usize]) -> f64 {
    let parts: Vec<f64> = x
        .par_chunks(CHUNK * f)
        .zip(labels.par_chunks(CHUNK))
        .map(|(xs, ls)| {
            xs.chunks(f)
                .zip(ls)
                .map(|(r, &l)| sq_dist(r, &centers[l * f..(l + 1) * f]))
                .sum::<f64>()
        })
        .collect();
    parts.iter().sum()
}

/// Nearest-center labels of `x` (row-major `[n, f]`).
pub(crate) fn nearest(x: &[f64], f: usize, centers: &[f64], k: usize) -> Vec<usize> {
    let mut labels = vec![0; x.len() / f];
    assign(x, f, centers, k, &mut labels, None);
    labels
}

/// Lloyd's algorithm from `centers` until the labels stop changing, the centers move less
/// than `tol` (total squared shift), or `max_iter` iterations; as scikit-learn, an empty
/// cluster takes the sample farthest from its center.
pub(crate) fn lloyd(
    x: &[f64],
    n: usize,
    f: usize,
    mut centers: Vec<f64>,
    max_iter: usize,
    tol: f64,
) -> Run {
    let k = centers.len() / f;
    let mut labels = vec![usize::MAX; n];
    let mut new_labels = vec![0; n];
    let mut sums = vec![0.0; k * f + k];
    let mut strict = false;
    let mut n_iter = 0;
    for _ in 0..max_iter {
        n_iter += 1;
        assign(x, f, &centers, k, &mut new_labels, Some(&mut sums));
        let (s, counts) = sums.split_at_mut(k * f);
        let empty: Vec<usize> = (0..k).filter(|&j| counts[j] == 0.0).collect();
        if !empty.is_empty() {
            relocate(x, f, &centers, &new_labels, &empty, s, counts);
        }
        let mut shift = 0.0;
        for j in 0..k {
            let inv = 1.0 / counts[j];
            for (c, &v) in centers[j * f..(j + 1) * f]
                .iter_mut()
                .zip(&s[j * f..(j + 1) * f])
            {
                let new = v * inv;
                shift += (new - *c) * (new - *c);
                *c = new;
            }
        }
        std::mem::swap(&mut labels, &mut new_labels);
        if labels == new_labels {
            strict = true;
            break;
        }
        if shift <= tol {
            break;
        }
    }
    if !strict {
        assign(x, f, &centers, k, &mut labels, None);
    }
    let inertia = inertia(x, f, &centers, &labels);
    Run {
        centers,
        labels,
        inertia,
        n_iter,
    }
}

/// Moves the samples farthest from their (old) centers into the empty clusters.
fn relocate(
    x: &[f64],
    f: usize,
    centers: &[f64],
    labels: &[usize],
    empty: &[usize],
    sums: &mut [f64],
    counts: &mut [f64],
) {
    let dist: Vec<f64> = x
        .par_chunks(f)
        .zip(labels.par_iter())
        .map(|(r, &l)| sq_dist(r, &centers[l * f..(l + 1) * f]))
        .collect();
    let mut order: Vec<usize> = (0..dist.len()).collect();
    let m = empty.len().min(order.len());
    let cmp = |a: &usize, b: &usize| dist[*b].total_cmp(&dist[*a]).then(a.cmp(b));
    if m < order.len() {
        order.select_nth_unstable_by(m, cmp);
    }
    order.truncate(m);
    order.sort_unstable_by(cmp);
    for (&j, &i) in empty.iter().zip(&order) {
        let old = labels[i];
        if counts[old] <= 1.0 {
            continue; // never empty another cluster
        }
        let r = &x[i * f..(i + 1) * f];
        sums[old * f..(old + 1) * f]
            .iter_mut()
            .zip(r)
            .for_each(|(a, b)| *a -= b);
        sums[j * f..(j + 1) * f].copy_from_slice(r);
        counts[old] -= 1.0;
        counts[j] = 1.0;
    }
    // A cluster still empty (more empty clusters than movable samples) keeps its center.
    for &j in empty {
        if counts[j] == 0.0 {
            sums[j * f..(j + 1) * f].copy_from_slice(&centers[j * f..(j + 1) * f]);
            counts[j] = 1.0;
        }
    }
}
