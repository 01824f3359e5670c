//! Gathering strided views into contiguous buffers, row by row.

use crate::shape::Layout;

/// Copies the elements of a strided view into a new row-major vector.
pub fn gather<T: Copy>(src: &[T], layout: &Layout) -> Vec<T> {
    let n = layout.numel();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let rank = layout.rank();
    if rank == 0 {
        out.push(src[layout.offset]);
        return out;
    }
    let inner = layout.shape[rank - 1];
    let inner_stride = layout.strides[rank - 1];
    for_each_row(layout, |base| {
        if inner_stride == 1 {
            out.extend_from_slice(&src[base..base + inner]);
        } else {
            out.extend((0..inner).map(|j| src[base + j * inner_stride]));
        }
    });
    out
}

/// Calls `f` with the storage offset of the first element of each innermost row, in order.
pub fn for_each_row(layout: &Layout, mut f: impl FnMut(usize)) {
    let rank = layout.rank();
    if layout.numel() == 0 {
        return;
    }
    if rank <= 1 {
        f(layout.offset);
        return;
    }
    let outer = &layout.shape[..rank - 1];
    let strides = &layout.strides[..rank - 1];
    let rows: usize = outer.iter().product();
    let mut index = vec![0usize; rank - 1];
    let mut offset = layout.offset;
    for _ in 0..rows {
        f(offset);
        for d in (0..rank - 1).rev() {
            index[d] += 1;
            offset += strides[d];
            if index[d] < outer[d] {
                break;
            }
            offset -= strides[d] * index[d];
            index[d] = 0;
        }
    }
}

/// Storage offset of the first element of row `row` (row-major over all but the last dim).
pub fn row_offset(layout: &Layout, mut row: usize) -> usize {
    let rank = layout.rank();
    let mut offset = layout.offset;
    for d in (0..rank.saturating_sub(1)).rev() {
        let size = layout.shape[d];
        offset += (row % size) * layout.strides[d];
        row /= size;
    }
    offset
}
