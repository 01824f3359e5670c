//! Comparisons (→ u8 masks), `where_cond` and `masked_fill`.

use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::ops::{expect_float, same_dtype};
use crate::shape::broadcast_shapes;
use crate::{float_dispatch, DType, Storage, Tensor};

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn name(self) -> &'static str {
        match self {
            Cmp::Eq => "eq",
            Cmp::Ne => "ne",
            Cmp::Lt => "lt",
            Cmp::Le => "le",
            Cmp::Gt => "gt",
            Cmp::Ge => "ge",
        }
    }
}

fn compare_slices<T: Element>(
    a: &[T],
    la: &crate::Layout,
    b: &[T],
    lb: &crate::Layout,
    op: Cmp,
) -> Vec<u8> {
    let pairs = la.offsets().zip(lb.offsets());
    macro_rules! run {
        ($f:expr) => {
            pairs.map(|(i, j)| $f(a[i], b[j]) as u8).collect()
        };
    }
    match op {
        Cmp::Eq => run!(|x: T, y: T| x == y),
        Cmp::Ne => run!(|x: T, y: T| x != y),
        Cmp::Lt => run!(|x: T, y: T| x < y),
        Cmp::Le => run!(|x: T, y: T| x <= y),
        Cmp::Gt => run!(|x: T, y: T| x > y),
        Cmp::Ge => run!(|x: T, y: T| x >= y),
    }
}

impl Tensor {
    fn compare(&self, rhs: &Tensor, op: Cmp) -> Result<Tensor> {
        same_dtype(op.name(), self, rhs)?;
        let shape = broadcast_shapes(op.name(), self.shape(), rhs.shape())?;
        let la = self.layout().broadcast_to(&shape)?;
        let lb = rhs.layout().broadcast_to(&shape)?;
        let (sa, sb) = (self.storage(), rhs.storage());
        let mask = match (&*sa, &*sb) {
            (Storage::F32(a), Storage::F32(b)) => compare_slices(a, &la, b, &lb, op),
            (Storage::F64(a), Storage::F64(b)) => compare_slices(a, &la, b, &lb, op),
            (Storage::I64(a), Storage::I64(b)) => compare_slices(a, &la, b, &lb, op),
            (Storage::U8(a), Storage::U8(b)) => compare_slices(a, &la, b, &lb, op),
            (Storage::BF16(a), Storage::BF16(b)) => compare_slices(a, &la, b, &lb, op),
            (Storage::F16(a), Storage::F16(b)) => compare_slices(a, &la, b, &lb, op),
            _ => unreachable!("dtypes checked equal above"),
        };
        Tensor::from_vec(mask, &shape)
    }

    fn compare_scalar(&self, value: f64, op: Cmp) -> Result<Tensor> {
        self.compare(&Tensor::full(&[], value, self.dtype()), op)
    }

    /// 1 where equal (u8 mask, broadcast).
    pub fn eq(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Cmp::Eq)
    }
    pub fn ne(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Cmp::Ne)
    }
    pub fn lt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Cmp::Lt)
    }
    pub fn le(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Cmp::Le)
    }
    pub fn gt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Cmp::Gt)
    }
    pub fn ge(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Cmp::Ge)
    }
    pub fn eq_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, Cmp::Eq)
    }
    pub fn lt_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, Cmp::Lt)
    }
    pub fn gt_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, Cmp::Gt)
    }
    pub fn ge_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, Cmp::Ge)
    }
    pub fn le_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, Cmp::Le)
    }

    /// `cond ? on_true : on_false` element-wise; `cond` is a u8 mask; all three broadcast.
    pub fn where_cond(cond: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
        if cond.dtype() != DType::U8 {
            return Err(Error::DType {
                op: "where_cond",
                expected: DType::U8,
                got: cond.dtype(),
            });
        }
        expect_float("where_cond", on_true)?;
        same_dtype("where_cond", on_true, on_false)?;
        let shape = broadcast_shapes("where_cond", on_true.shape(), on_false.shape())?;
        let shape = broadcast_shapes("where_cond", cond.shape(), &shape)?;
        let out = float_dispatch!("where_cond", on_true.dtype(), T => {
            let lc = cond.layout().broadcast_to(&shape)?;
            let lt = on_true.layout().broadcast_to(&shape)?;
            let lf = on_false.layout().broadcast_to(&shape)?;
            let (sc, st, sf) = (cond.storage(), on_true.storage(), on_false.storage());
            let (c, t, f) = (
                u8::slice(&sc).expect("u8 checked"),
                T::slice(&st).expect("dtype checked"),
                T::slice(&sf).expect("dtype checked"),
            );
            let data: Vec<T> = lc
                .offsets()
                .zip(lt.offsets())
                .zip(lf.offsets())
                .map(|((i, j), k)| if c[i] != 0 { t[j] } else { f[k] })
                .collect();
            Tensor::from_vec(data, &shape)?
        });
        let (mask, t_shape, f_shape) = (
            cond.detach(),
            on_true.shape().to_vec(),
            on_false.shape().to_vec(),
        );
        Ok(out.record("where_cond", &[on_true, on_false], move |g| {
            let zero = g.zeros_like();
            let gt = Tensor::where_cond(&mask, g, &zero)?.sum_to_shape(&t_shape)?;
            let gf = Tensor::where_cond(&mask, &zero, g)?.sum_to_shape(&f_shape)?;
            Ok(vec![Some(gt), Some(gf)])
        }))
    }

    /// Replaces elements where `mask` (u8, broadcastable to self) is set by `value`.
    pub fn masked_fill(&self, mask: &Tensor, value: f64) -> Result<Tensor> {
        let fill = Tensor::full(&[], value, self.dtype());
        let out = Tensor::where_cond(mask, &fill, self)?;
        if out.shape() != self.shape() {
            return Err(Error::Broadcast {
                op: "masked_fill",
                lhs: self.shape().to_vec(),
                rhs: mask.shape().to_vec(),
            });
        }
        Ok(out)
    }
}
