//! CPU kernels. They know nothing about autograd: slices and layouts in, slices out.

pub mod broadcast;
pub mod math;
pub mod strided;

/// Below this many elements a loop runs on one thread: rayon's fork/join costs more.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Threads rayon may use for kernels.
pub fn num_threads() -> usize {
    rayon::current_num_threads()
}

/// Splits `n` items into chunks big enough to amortize a rayon task.
pub fn chunk_len(n: usize) -> usize {
    let threads = num_threads().max(1);
    (n.div_ceil(threads * 4)).max(PARALLEL_THRESHOLD / 4)
}
