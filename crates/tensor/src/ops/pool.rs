//! Max and average 2-D pooling with their backward.
