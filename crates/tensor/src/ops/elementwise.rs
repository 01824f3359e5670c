//! Element-wise arithmetic (NumPy broadcasting) and activation functions.

use crate::cpu::broadcast;
use crate::cpu::math::{self, FastMath};
use crate::dtype::Element;
use crate::error::Result;
use crate::ops::{expect_float, same_dtype};
use crate::shape::broadcast_shapes;
use crate::{float_dispatch, Storage, Tensor};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Maximum,
    Minimum,
    /// 1 where lhs > rhs, ½ on ties, 0 otherwise: how max splits its gradient.
    GreaterMask,
}

impl Binary {
    fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
            Binary::Pow => "pow",
            Binary::Maximum => "maximum",
            Binary::Minimum => "minimum",
            Binary::GreaterMask => "greater_mask",
        }
    }
}

/// Unary element-wise functions; parameters are stored as f64 and cast per dtype.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Unary {
    Neg,
    Abs,
    Exp,
    Log,
    Sqrt,
    Sin,
    Cos,
    Recip,
    Relu,
    LeakyRelu(f64),
    Sigmoid,
    Tanh,
    Gelu,
    GeluTanh,
    Softplus,
    Powf(f64),
    Clamp(f64, f64),
    /// x·scale + shift.
    Affine(f64, f64),
}

impl Unary {
    fn name(self) -> &'static str {
        match self {
            Unary::Neg => "neg",
            Unary::Abs => "abs",
            Unary::Exp => "exp",
            Unary::Log => "log",
            Unary::Sqrt => "sqrt",
            Unary::Sin => "sin",
            Unary::Cos => "cos",
            Unary::Recip => "recip",
            Unary::Relu => "relu",
            Unary::LeakyRelu(_) => "leaky_relu",
            Unary::Sigmoid => "sigmoid",
            Unary::Tanh => "tanh",
            Unary::Gelu => "gelu",
            Unary::GeluTanh => "gelu_tanh",
            Unary::Softplus => "softplus",
            Unary::Powf(_) => "powf",
            Unary::Clamp(..) => "clamp",
            Unary::Affine(..) => "affine",
        }
    }
}

/// √(2/π), the GELU tanh-approximation constant.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const GELU_CUBIC: f64 = 0.044_715;

fn typed<T: Element>(s: &Storage) -> &[T] {
    T::slice(s).expect("dtype checked by the caller")
}

fn unary_forward<T: FastMath>(op: Unary, x: &[T]) -> Vec<T> {
    let c = |v: f64| T::from_f64(v);
    let (one, half) = (T::one(), c(0.5));
    match op {
        Unary::Neg => math::map(x, |v| -v),
        Unary::Abs => math::map(x, |v| v.abs()),
        Unary::Exp => math::map(x, |v| v.fexp()),
        Unary::Log => math::map(x, |v| v.ln()),
        Unary::Sqrt => math::map(x, |v| v.sqrt()),
        Unary::Sin => math::map(x, |v| v.sin()),
        Unary::Cos => math::map(x, |v| v.cos()),
        Unary::Recip => math::map(x, |v| one / v),
        Unary::Relu => math::map(x, |v| v.max(T::zero())),
        Unary::LeakyRelu(s) => {
            let s = c(s);
            math::map(x, move |v| if v > T::zero() { v } else { v * s })
        }
        Unary::Sigmoid => math::map(x, |v| one / (one + (-v).fexp())),
        Unary::Tanh => math::map(x, |v| v.ftanh()),
        Unary::Gelu => {
            let r = c(std::f64::consts::FRAC_1_SQRT_2);
            math::map(x, move |v| half * v * (one + (v * r).ferf()))
        }
        Unary::GeluTanh => {
            let (k, a) = (c(SQRT_2_OVER_PI), c(GELU_CUBIC));
            math::map(x, move |v| {
                half * v * (one + (k * (v + a * v * v * v)).ftanh())
            })
        }
        // max(x,0) + ln(1 + e^-|x|): never overflows.
        Unary::Softplus => math::map(x, |v| v.max(T::zero()) + (-v.abs()).fexp().ln_1p()),
        Unary::Powf(p) => {
            let p = c(p);
            math::map(x, move |v| v.powf(p))
        }
        Unary::Clamp(lo, hi) => {
            let (lo, hi) = (c(lo), c(hi));
            math::map(x, move |v| v.max(lo).min(hi))
        }
        Unary::Affine(m, a) => {
            let (m, a) = (c(m), c(a));
            math::map(x, move |v| v * m + a)
        }
    }
}

/// g · dy/dx, given the input x and the output y.
fn unary_backward<T: FastMath>(op: Unary, x: &[T], y: &[T], g: &[T]) -> Vec<T> {
    let c = |v: f64| T::from_f64(v);
    let (zero, one, half) = (T::zero(), T::one(), c(0.5));
    match op {
        Unary::Neg => math::zip3_map(x, y, g, |_, _, g| -g),
        Unary::Abs => math::zip3_map(x, y, g, move |x, _, g| {
            if x > zero {
                g
            } else if x < zero {
                -g
            } else {
                zero
            }
        }),
        Unary::Exp => math::zip3_map(x, y, g, |_, y, g| g * y),
        Unary::Log => math::zip3_map(x, y, g, |x, _, g| g / x),
        Unary::Sqrt => math::zip3_map(x, y, g, move |_, y, g| g * half / y),
        Unary::Sin => math::zip3_map(x, y, g, |x, _, g| g * x.cos()),
        Unary::Cos => math::zip3_map(x, y, g, |x, _, g| -g * x.sin()),
        Unary::Recip => math::zip3_map(x, y, g, |_, y, g| -g * y * y),
        Unary::Relu => math::zip3_map(x, y, g, move |x, _, g| if x > zero { g } else { zero }),
        Unary::LeakyRelu(s) => {
            let s = c(s);
            math::zip3_map(x, y, g, move |x, _, g| if x > zero { g } else { g * s })
        }
        Unary::Sigmoid => math::zip3_map(x, y, g, move |_, y, g| g * y * (one - y)),
        Unary::Tanh => math::zip3_map(x, y, g, move |_, y, g| g * (one - y * y)),
        Unary::Gelu => {
            // d/dx x·Φ(x) = Φ(x) + x·φ(x)
            let (r, pdf) = (
                c(std::f64::consts::FRAC_1_SQRT_2),
                c(0.398_942_280_401_432_7),
            );
            math::zip3_map(x, y, g, move |x, _, g| {
                let cdf = half * (one + (x * r).ferf());
                g * (cdf + x * pdf * (-half * x * x).fexp())
            })
        }
        Unary::GeluTanh => {
            let (k, a, a3) = (c(SQRT_2_OVER_PI), c(GELU_CUBIC), c(3.0 * GELU_CUBIC));
            math::zip3_map(x, y, g, move |x, _, g| {
                let t = (k * (x + a * x * x * x)).ftanh();
                g * (half * (one + t) + half * x * (one - t * t) * k * (one + a3 * x * x))
            })
        }
        Unary::Softplus => math::zip3_map(x, y, g, move |x, _, g| g / (one + (-x).fexp())),
        Unary::Powf(p) => {
            let (p, pm1) = (c(p), c(p - 1.0));
            math::zip3_map(x, y, g, move |x, _, g| g * p * x.powf(pm1))
        }
        Unary::Clamp(lo, hi) => {
            let (lo, hi) = (c(lo), c(hi));
            math::zip3_map(
                x,
                y,
                g,
                move |x, _, g| {
                    if x >= lo && x <= hi {
                        g
                    } else {
                        zero
                    }
                },
            )
        }
        Unary::Affine(m, _) => {
            let m = c(m);
            math::zip3_map(x, y, g, move |_, _, g| g * m)
        }
    }
}

impl Tensor {
    pub(crate) fn unary(&self, op: Unary) -> Result<Tensor> {
        expect_float(op.name(), self)?;
        let out = float_dispatch!(op.name(), self.dtype(), T => {
            let y = self.with_slice(|x: &[T]| unary_forward(op, x))?;
            Tensor::from_vec(y, self.shape())?
        });
        let (x, y) = (self.detach(), out.detach());
        Ok(out.record(op.name(), &[self], move |g| {
            let gx = float_dispatch!(op.name(), g.dtype(), T => {
                // Borrow the (usually contiguous) buffers instead of copying them.
                let dx = x.with_slice(|xs: &[T]| {
                    y.with_slice(|ys: &[T]| g.with_slice(|gs: &[T]| unary_backward(op, xs, ys, gs)))
                })???;
                Tensor::from_vec(dx, x.shape())?
            });
            Ok(vec![Some(gx)])
        }))
    }

    fn binary(&self, rhs: &Tensor, op: Binary) -> Result<Tensor> {
        let out = self.binary_forward(rhs, op)?;
        let (a, b, y) = (self.detach(), rhs.detach(), out.detach());
        let (need_a, need_b) = (self.requires_grad(), rhs.requires_grad());
        Ok(out.record(op.name(), &[self, rhs], move |g| {
            let (ga, gb) = binary_backward(op, &a, &b, &y, g, need_a, need_b)?;
            let ga = ga.map(|t| t.sum_to_shape(a.shape())).transpose()?;
            let gb = gb.map(|t| t.sum_to_shape(b.shape())).transpose()?;
            Ok(vec![ga, gb])
        }))
    }

    fn binary_forward(&self, rhs: &Tensor, op: Binary) -> Result<Tensor> {
        let name = op.name();
        expect_float(name, self)?;
        same_dtype(name, self, rhs)?;
        let shape = broadcast_shapes(name, self.shape(), rhs.shape())?;
        let la = self.layout().broadcast_to(&shape)?;
        let lb = rhs.layout().broadcast_to(&shape)?;
        float_dispatch!(name, self.dtype(), T => {
            let (sa, sb) = (self.storage(), rhs.storage());
            let (a, b) = (typed::<T>(&sa), typed::<T>(&sb));
            let (zero, one, half) = (0.0 as T, 1.0 as T, 0.5 as T);
            let out = match op {
                Binary::Add => broadcast::binary(a, &la, b, &lb, |x, y| x + y),
                Binary::Sub => broadcast::binary(a, &la, b, &lb, |x, y| x - y),
                Binary::Mul => broadcast::binary(a, &la, b, &lb, |x, y| x * y),
                Binary::Div => broadcast::binary(a, &la, b, &lb, |x, y| x / y),
                Binary::Pow => broadcast::binary(a, &la, b, &lb, |x: T, y| x.powf(y)),
                Binary::Maximum => broadcast::binary(a, &la, b, &lb, |x: T, y| x.max(y)),
                Binary::Minimum => broadcast::binary(a, &la, b, &lb, |x: T, y| x.min(y)),
                Binary::GreaterMask => broadcast::binary(a, &la, b, &lb, move |x, y| {
                    if x > y { one } else if x == y { half } else { zero }
                }),
            };
            Tensor::from_vec(out, &shape)
        })
    }

    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, Binary::Add)
    }
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, Binary::Sub)
    }
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, Binary::Mul)
    }
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, Binary::Div)
    }
    /// self^rhs element-wise (broadcast).
    pub fn pow(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, Binary::Pow)
    }
    /// Element-wise max; on ties the gradient is split equally, as in PyTorch.
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, Binary::Maximum)
    }
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, Binary::Minimum)
    }

    pub fn neg(&self) -> Result<Tensor> {
        self.unary(Unary::Neg)
    }
    pub fn abs(&self) -> Result<Tensor> {
        self.unary(Unary::Abs)
    }
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(Unary::Exp)
    }
    /// Natural logarithm.
    pub fn log(&self) -> Result<Tensor> {
        self.unary(Unary::Log)
    }
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary(Unary::Sqrt)
    }
    pub fn sin(&self) -> Result<Tensor> {
        self.unary(Unary::Sin)
    }
    pub fn cos(&self) -> Result<Tensor> {
        self.unary(Unary::Cos)
    }
    /// 1/x.
    pub fn recip(&self) -> Result<Tensor> {
        self.unary(Unary::Recip)
    }
    pub fn square(&self) -> Result<Tensor> {
        self.unary(Unary::Powf(2.0))
    }
    /// x^p for a scalar exponent.
    pub fn powf(&self, p: f64) -> Result<Tensor> {
        self.unary(Unary::Powf(p))
    }
    pub fn clamp(&self, min: f64, max: f64) -> Result<Tensor> {
        self.unary(Unary::Clamp(min, max))
    }
    pub fn relu(&self) -> Result<Tensor> {
        self.unary(Unary::Relu)
    }
    pub fn leaky_relu(&self, negative_slope: f64) -> Result<Tensor> {
        self.unary(Unary::LeakyRelu(negative_slope))
    }
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(Unary::Sigmoid)
    }
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary(Unary::Tanh)
    }
    /// GELU with the exact Gaussian CDF: x·Φ(x).
    pub fn gelu(&self) -> Result<Tensor> {
        self.unary(Unary::Gelu)
    }
    /// GELU's tanh approximation (GPT-2's): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    pub fn gelu_tanh(&self) -> Result<Tensor> {
        self.unary(Unary::GeluTanh)
    }
    /// ln(1 + eˣ).
    pub fn softplus(&self) -> Result<Tensor> {
        self.unary(Unary::Softplus)
    }
    /// x·scale + shift.
    pub fn affine(&self, scale: f64, shift: f64) -> Result<Tensor> {
        self.unary(Unary::Affine(scale, shift))
    }
    pub fn add_scalar(&self, s: f64) -> Result<Tensor> {
        self.unary(Unary::Affine(1.0, s))
    }
    pub fn sub_scalar(&self, s: f64) -> Result<Tensor> {
        self.unary(Unary::Affine(1.0, -s))
    }
    pub fn mul_scalar(&self, s: f64) -> Result<Tensor> {
        self.unary(Unary::Affine(s, 0.0))
    }
    pub fn div_scalar(&self, s: f64) -> Result<Tensor> {
        self.unary(Unary::Affine(1.0 / s, 0.0))
    }
}

/// Gradients of a binary op w.r.t. each (broadcast) input, before reduction to its shape.
fn binary_backward(
    op: Binary,
    a: &Tensor,
    b: &Tensor,
    y: &Tensor,
    g: &Tensor,
    need_a: bool,
    need_b: bool,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let when = |need: bool, f: &dyn Fn() -> Result<Tensor>| -> Result<Option<Tensor>> {
        if need {
            f().map(Some)
        } else {
            Ok(None)
        }
    };
    match op {
        Binary::Add => Ok((
            when(need_a, &|| Ok(g.clone()))?,
            when(need_b, &|| Ok(g.clone()))?,
        )),
        Binary::Sub => Ok((when(need_a, &|| Ok(g.clone()))?, when(need_b, &|| g.neg())?)),
        Binary::Mul => Ok((when(need_a, &|| g.mul(b))?, when(need_b, &|| g.mul(a))?)),
        Binary::Div => Ok((
            when(need_a, &|| g.div(b))?,
            // d(a/b)/db = -a/b² = -y/b
            when(need_b, &|| g.mul(y)?.div(b)?.neg())?,
        )),
        Binary::Pow => Ok((
            // b·a^(b-1) = b·y/a would divide by zero at a = 0; recompute a^(b-1).
            when(need_a, &|| g.mul(b)?.mul(&a.pow(&b.add_scalar(-1.0)?)?))?,
            when(need_b, &|| g.mul(y)?.mul(&a.log()?))?,
        )),
        Binary::Maximum | Binary::Minimum => {
            let mask = if op == Binary::Maximum {
                a.binary_forward(b, Binary::GreaterMask)?
            } else {
                b.binary_forward(a, Binary::GreaterMask)?
            };
            Ok((
                when(need_a, &|| g.mul(&mask))?,
                when(need_b, &|| g.mul(&mask.affine(-1.0, 1.0)?))?,
            ))
        }
        Binary::GreaterMask => Ok((None, None)),
    }
}
