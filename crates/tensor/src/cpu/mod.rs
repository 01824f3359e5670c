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

/// A vector of `n` elements built by `fill`, which must write every one of them.
///
/// Skips the zero-fill pass of `vec![0; n]` for outputs that are overwritten anyway.
///
/// # Safety
/// `fill` must initialize all `n` slots of the slice it is given.
pub(crate) unsafe fn write_vec<T>(
    n: usize,
    fill: impl FnOnce(&mut [std::mem::MaybeUninit<T>]),
) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    fill(&mut out.spare_capacity_mut()[..n]);
    // SAFETY: the caller guarantees `fill` wrote all n slots.
    unsafe { out.set_len(n) };
    out
}

/// `dst` overwritten with `value` everywhere, then viewed as initialized.
pub(crate) fn fill_uninit<T: Copy>(dst: &mut [std::mem::MaybeUninit<T>], value: T) -> &mut [T] {
    for d in dst.iter_mut() {
        d.write(value);
    }
    // SAFETY: every slot was just written; MaybeUninit<T> has T's layout.
    unsafe { &mut *(dst as *mut [std::mem::MaybeUninit<T>] as *mut [T]) }
}
