//! The `Tensor` type: shared storage + a strided view + its place in the autograd graph.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use half::{bf16, f16};

use crate::autograd::Node;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Layout;
use crate::storage::Storage;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// An n-dimensional array that records the ops applied to it for backpropagation.
///
/// Cloning is cheap: clones share storage, view and gradient slot.
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) id: usize,
    pub(crate) storage: Arc<RwLock<Storage>>,
    pub(crate) layout: Layout,
    pub(crate) dtype: DType,
    pub(crate) requires_grad: AtomicBool,
    /// The op that produced this tensor, when it was recorded for backward.
    pub(crate) node: Option<Arc<Node>>,
    /// Accumulated gradient (leaves only).
    pub(crate) grad: Mutex<Option<Tensor>>,
}

impl Tensor {
    // ---- construction -------------------------------------------------------------------

    pub(crate) fn from_parts(
        storage: Arc<RwLock<Storage>>,
        layout: Layout,
        dtype: DType,
    ) -> Tensor {
        Tensor(Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            storage,
            layout,
            dtype,
            requires_grad: AtomicBool::new(false),
            node: None,
            grad: Mutex::new(None),
        }))
    }

    /// A new contiguous tensor owning `storage` (whose length must be the shape's product).
    pub(crate) fn from_storage(storage: Storage, shape: &[usize]) -> Tensor {
        debug_assert_eq!(storage.len(), shape.iter().product::<usize>());
        let dtype = storage.dtype();
        Tensor::from_parts(
            Arc::new(RwLock::new(storage)),
            Layout::contiguous(shape),
            dtype,
        )
    }

    /// A view sharing this tensor's storage with another layout (no graph recorded).
    pub(crate) fn view_with_layout(&self, layout: Layout) -> Tensor {
        Tensor::from_parts(self.0.storage.clone(), layout, self.0.dtype)
    }

    /// The same data recorded as the output of `node`.
    pub(crate) fn with_node(&self, node: Arc<Node>) -> Tensor {
        Tensor(Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            storage: self.0.storage.clone(),
            layout: self.0.layout.clone(),
            dtype: self.0.dtype,
            requires_grad: AtomicBool::new(true),
            node: Some(node),
            grad: Mutex::new(None),
        }))
    }

    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if data.len() != n {
            return Err(Error::shape(
                "from_vec",
                format!("{} elements given for a shape of {n}", data.len()),
                shape,
            ));
        }
        Ok(Tensor::from_storage(T::into_storage(data), shape))
    }

    pub fn from_slice<T: Element>(data: &[T], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// A 0-dimensional tensor.
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor::from_storage(T::into_storage(vec![value]), &[])
    }

    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::from_storage(Storage::zeros(dtype, shape.iter().product()), shape)
    }

    pub fn ones(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::full(shape, 1.0, dtype)
    }

    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        Tensor::from_storage(Storage::full(dtype, shape.iter().product(), value), shape)
    }

    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape(), self.dtype())
    }

    pub fn ones_like(&self) -> Tensor {
        Tensor::ones(self.shape(), self.dtype())
    }

    pub fn full_like(&self, value: f64) -> Tensor {
        Tensor::full(self.shape(), value, self.dtype())
    }

    /// `start, start+step, …` up to but excluding `end`, as a 1-D tensor.
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::invalid(
                "arange",
                format!("bad range {start}..{end} step {step}"),
            ));
        }
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        let values: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
        Ok(Tensor::from_f64_values(&values, &[n], dtype))
    }

    /// Uniform samples in [0, 1).
    pub fn rand(shape: &[usize], dtype: DType, rng: &mut Rng) -> Tensor {
        let n = shape.iter().product();
        let values: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
        Tensor::from_f64_values(&values, shape, dtype)
    }

    /// Uniform samples in [low, high).
    pub fn uniform(shape: &[usize], low: f64, high: f64, dtype: DType, rng: &mut Rng) -> Tensor {
        let n = shape.iter().product();
        let values: Vec<f64> = (0..n).map(|_| low + (high - low) * rng.uniform()).collect();
        Tensor::from_f64_values(&values, shape, dtype)
    }

    /// Standard normal samples.
    pub fn randn(shape: &[usize], dtype: DType, rng: &mut Rng) -> Tensor {
        let n = shape.iter().product();
        let values: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        Tensor::from_f64_values(&values, shape, dtype)
    }

    pub(crate) fn from_f64_values(values: &[f64], shape: &[usize], dtype: DType) -> Tensor {
        fn conv<T: Element>(v: &[f64]) -> Storage {
            T::into_storage(v.iter().map(|&x| T::from_f64(x)).collect())
        }
        let storage = match dtype {
            DType::F32 => conv::<f32>(values),
            DType::F64 => conv::<f64>(values),
            DType::I64 => conv::<i64>(values),
            DType::U8 => conv::<u8>(values),
            DType::BF16 => conv::<bf16>(values),
            DType::F16 => conv::<f16>(values),
        };
        Tensor::from_storage(storage, shape)
    }

    // ---- accessors -----------------------------------------------------------------------

    pub fn shape(&self) -> &[usize] {
        &self.0.layout.shape
    }

    pub fn dims(&self) -> &[usize] {
        self.shape()
    }

    /// Size of dim `d` (negative counts from the end).
    pub fn dim(&self, d: isize) -> Result<usize> {
        let d = crate::shape::normalize_dim("dim", d, self.shape())?;
        Ok(self.shape()[d])
    }

    pub fn rank(&self) -> usize {
        self.0.layout.rank()
    }

    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }

    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }

    pub fn strides(&self) -> &[usize] {
        &self.0.layout.strides
    }

    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }

    /// A process-unique id (used by the autograd engine and optimizers).
    pub fn id(&self) -> usize {
        self.0.id
    }

    /// True when both tensors are views of the same storage buffer.
    pub fn same_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    pub(crate) fn storage(&self) -> RwLockReadGuard<'_, Storage> {
        self.0.storage.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn storage_mut(&self) -> RwLockWriteGuard<'_, Storage> {
        self.0.storage.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the elements of this view in row-major order, borrowing the storage
    /// when the view is contiguous (copying only if strided). `T` must be the dtype.
    pub fn with_slice<T: Element, R>(&self, f: impl FnOnce(&[T]) -> R) -> Result<R> {
        let storage = self.storage();
        let data = T::slice(&storage).ok_or(Error::DType {
            op: "read",
            expected: T::DTYPE,
            got: self.dtype(),
        })?;
        let layout = &self.0.layout;
        if layout.is_contiguous() {
            Ok(f(&data[layout.offset..layout.offset + layout.numel()]))
        } else {
            let copy = crate::cpu::strided::gather(data, layout);
            drop(storage);
            Ok(f(&copy))
        }
    }

    /// The elements in row-major order. `T` must be this tensor's dtype.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        self.with_slice(|s: &[T]| s.to_vec())
    }

    /// The elements converted to f64, whatever the dtype.
    pub fn to_vec_f64(&self) -> Vec<f64> {
        let storage = self.storage();
        self.0
            .layout
            .offsets()
            .map(|i| storage.get_f64(i))
            .collect()
    }

    /// The single element of a one-element tensor, as f64.
    pub fn item(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "item",
                "tensor must hold exactly one element",
                self.shape(),
            ));
        }
        Ok(self.to_vec_f64()[0])
    }

    /// Rows of a 2-D tensor as nested vectors (convenient in tests and printing).
    pub fn to_vec2_f64(&self) -> Result<Vec<Vec<f64>>> {
        if self.rank() != 2 {
            return Err(Error::shape(
                "to_vec2",
                "expected a 2-D tensor",
                self.shape(),
            ));
        }
        let cols = self.shape()[1];
        Ok(self
            .to_vec_f64()
            .chunks(cols.max(1))
            .map(|r| r.to_vec())
            .collect())
    }

    // ---- autograd surface ----------------------------------------------------------------

    /// Whether gradients flow to or through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// Marks a leaf tensor as a parameter whose `.grad()` backward fills. Returns `self`.
    pub fn requires_grad_(self, on: bool) -> Tensor {
        self.set_requires_grad(on);
        self
    }

    pub fn set_requires_grad(&self, on: bool) {
        self.0.requires_grad.store(on, Ordering::Relaxed);
    }

    /// A leaf is a tensor not produced by a recorded op.
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }

    /// The gradient accumulated by `backward()`, if any.
    pub fn grad(&self) -> Option<Tensor> {
        self.0
            .grad
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn zero_grad(&self) {
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub(crate) fn set_grad(&self, g: Option<Tensor>) {
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = g;
    }

    /// The same data cut from the graph: no gradient flows through it.
    pub fn detach(&self) -> Tensor {
        self.view_with_layout(self.0.layout.clone())
    }

    /// Name of the op that produced this tensor (None for leaves).
    pub fn op_name(&self) -> Option<&'static str> {
        self.0.node.as_ref().map(|n| n.name)
    }

    // ---- in-place updates (optimizers, initializers) -------------------------------------

    /// Overwrites this tensor's elements with `src`'s (same shape and dtype). Not recorded.
    pub fn assign(&self, src: &Tensor) -> Result<()> {
        if src.shape() != self.shape() {
            return Err(Error::ShapeMismatch {
                op: "assign",
                lhs: self.shape().to_vec(),
                rhs: src.shape().to_vec(),
            });
        }
        if src.dtype() != self.dtype() {
            return Err(Error::DTypeMismatch {
                op: "assign",
                lhs: self.dtype(),
                rhs: src.dtype(),
            });
        }
        let values = src.contiguous_storage();
        let layout = self.0.layout.clone();
        let mut dst = self.storage_mut();
        crate::with_storage!(&mut *dst, d => {
            let s = Element::slice(&values).expect("dtype checked above");
            for (i, o) in layout.offsets().enumerate() {
                d[o] = s[i];
            }
        });
        Ok(())
    }

    /// Applies `f` to every element of a contiguous float tensor in place. Not recorded.
    pub fn update_<T: Element>(&self, mut f: impl FnMut(&mut [T])) -> Result<()> {
        if !self.is_contiguous() {
            return Err(Error::shape(
                "update_",
                "in-place update needs a contiguous tensor",
                self.shape(),
            ));
        }
        let (off, n) = (self.0.layout.offset, self.numel());
        let dtype = self.dtype();
        let mut storage = self.storage_mut();
        let data = T::slice_mut(&mut storage).ok_or(Error::DType {
            op: "update_",
            expected: T::DTYPE,
            got: dtype,
        })?;
        f(&mut data[off..off + n]);
        Ok(())
    }

    /// A contiguous copy of this view's elements as a fresh storage.
    pub(crate) fn contiguous_storage(&self) -> Storage {
        let storage = self.storage();
        let layout = &self.0.layout;
        crate::with_storage!(&*storage, v => {
            if layout.is_contiguous() {
                Element::into_storage(v[layout.offset..layout.offset + layout.numel()].to_vec())
            } else {
                Element::into_storage(crate::cpu::strided::gather(v, layout))
            }
        })
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
