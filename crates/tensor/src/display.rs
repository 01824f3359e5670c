//! PyTorch-like printing, summarized (first and last 3 along each dim) for large tensors.

use std::fmt;

use crate::Tensor;

const SUMMARIZE_OVER: usize = 1000;
const EDGE: usize = 3;

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.to_vec_f64();
        let summarize = values.len() > SUMMARIZE_OVER;
        let float = self.dtype().is_float()
            || matches!(self.dtype(), crate::DType::BF16 | crate::DType::F16);
        let fmt_value = |v: f64| {
            if !float {
                format!("{v}")
            } else if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-4) {
                format!("{v:.4e}")
            } else {
                format!("{v:.4}")
            }
        };
        let mut text = String::from("tensor(");
        write_dim(
            &mut text,
            &values,
            self.shape(),
            0,
            summarize,
            &fmt_value,
            7,
        );
        text.push_str(&format!(
            ", shape={:?}, dtype={}",
            self.shape(),
            self.dtype()
        ));
        if self.requires_grad() {
            match self.op_name() {
                Some(op) => text.push_str(&format!(", grad_fn={op}")),
                None => text.push_str(", requires_grad=true"),
            }
        }
        text.push(')');
        f.write_str(&text)
    }
}

fn write_dim(
    out: &mut String,
    values: &[f64],
    shape: &[usize],
    depth: usize,
    summarize: bool,
    fmt_value: &dyn Fn(f64) -> String,
    indent: usize,
) {
    if shape.is_empty() {
        out.push_str(&fmt_value(values[0]));
        return;
    }
    let n = shape[0];
    let stride: usize = shape[1..].iter().product();
    let indices: Vec<Option<usize>> = if summarize && n > 2 * EDGE {
        (0..EDGE)
            .map(Some)
            .chain([None])
            .chain((n - EDGE..n).map(Some))
            .collect()
    } else {
        (0..n).map(Some).collect()
    };
    out.push('[');
    for (pos, idx) in indices.iter().enumerate() {
        if pos > 0 {
            out.push(',');
            if shape.len() > 1 {
                out.push_str(&"\n".repeat(shape.len() - 1));
                out.push_str(&" ".repeat(indent + depth + 1));
            } else {
                out.push(' ');
            }
        }
        match idx {
            None => out.push_str("..."),
            Some(i) => write_dim(
                out,
                &values[i * stride..(i + 1) * stride],
                &shape[1..],
                depth + 1,
                summarize,
                fmt_value,
                indent,
            ),
        }
    }
    out.push(']');
}
