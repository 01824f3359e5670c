//! 2-D convolution (im2col + GEMM) with its backward.
