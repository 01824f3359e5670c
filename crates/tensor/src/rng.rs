//! The seeded random generator every random op takes: the same seed gives the same run.

use rand::{Rng as _, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded, cloneable, serializable-by-state random generator (ChaCha8).
#[derive(Debug, Clone)]
pub struct Rng {
    inner: ChaCha8Rng,
    seed: u64,
}

impl Rng {
    pub fn seed(seed: u64) -> Rng {
        Rng {
            inner: ChaCha8Rng::seed_from_u64(seed),
            seed,
        }
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.inner.gen::<f64>()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: keeps ln finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        self.inner.gen_range(0..n.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// (seed, position in the stream): enough to restore the generator exactly.
    pub fn state(&self) -> (u64, u128) {
        (self.seed, self.inner.get_word_pos())
    }

    pub fn from_state(seed: u64, word_pos: u128) -> Rng {
        let mut r = Rng::seed(seed);
        r.inner.set_word_pos(word_pos);
        r
    }
}
