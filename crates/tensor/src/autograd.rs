//! Define-by-run reverse-mode automatic differentiation.
//!
//! Every op whose inputs require grad records a [`Node`]: its inputs and a backward rule
//! mapping the output gradient to input gradients (the chain rule, one op at a time).
//! `backward()` walks the recorded graph in reverse topological order, sums gradients of
//! tensors used more than once, stores the result in each leaf's `.grad()`, and frees the
//! graph unless asked to retain it.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Maps the gradient of an op's output to the gradients of its inputs (None: no gradient).
pub(crate) type BackwardFn = Box<dyn Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

pub(crate) struct Node {
    pub(crate) name: &'static str,
    state: Mutex<Option<NodeState>>,
}

struct NodeState {
    inputs: Vec<Tensor>,
    backward: BackwardFn,
}

impl Node {
    fn inputs(&self) -> Option<Vec<Tensor>> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.as_ref().map(|s| s.inputs.clone())
    }
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops record the graph on this thread.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// While alive, ops on this thread record nothing (inference, optimizer updates).
pub struct NoGradGuard {
    previous: bool,
}

impl NoGradGuard {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let previous = GRAD_ENABLED.with(|g| g.replace(false));
        NoGradGuard { previous }
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Runs `f` without recording the graph.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = NoGradGuard::new();
    f()
}

/// True when an op over `inputs` must record a node.
pub(crate) fn needs_grad(inputs: &[&Tensor]) -> bool {
    is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())
}

impl Tensor {
    /// Records `self` as the output of op `name` over `inputs` when any of them needs grad.
    ///
    /// `backward` receives the output gradient and returns one gradient per input, each of
    /// the input's shape. It runs with recording off.
    pub(crate) fn record(
        self,
        name: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Tensor {
        if !needs_grad(inputs) {
            return self;
        }
        let node = Node {
            name,
            state: Mutex::new(Some(NodeState {
                inputs: inputs.iter().map(|t| (*t).clone()).collect(),
                backward: Box::new(backward),
            })),
        };
        self.with_node(Arc::new(node))
    }

    /// Backpropagates from a one-element tensor (d self / d self = 1).
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::Autograd(format!(
                "backward() needs a one-element output, got shape {:?}; pass an output gradient with backward_with()",
                self.shape()
            )));
        }
        self.backward_with(&self.ones_like())
    }

    /// Backpropagates `grad` (the gradient of some scalar w.r.t. `self`) and frees the graph.
    pub fn backward_with(&self, grad: &Tensor) -> Result<()> {
        self.run_backward(grad, false)
    }

    /// Like `backward()` but keeps the graph so backward can run through it again.
    pub fn backward_retain_graph(&self) -> Result<()> {
        self.run_backward(&self.ones_like(), true)
    }

    fn run_backward(&self, grad: &Tensor, retain_graph: bool) -> Result<()> {
        if !self.requires_grad() {
            return Err(Error::Autograd(
                "backward(): this tensor does not require grad (no input had requires_grad set, or it was computed under no_grad)".into(),
            ));
        }
        if grad.shape() != self.shape() {
            return Err(Error::ShapeMismatch {
                op: "backward",
                lhs: self.shape().to_vec(),
                rhs: grad.shape().to_vec(),
            });
        }
        let _no_grad = NoGradGuard::new();
        let order = topological_order(self)?;
        let mut grads: HashMap<usize, Tensor> = HashMap::new();
        grads.insert(self.id(), grad.detach());
        for tensor in order.iter().rev() {
            let Some(g) = grads.remove(&tensor.id()) else {
                continue;
            };
            let Some(node) = &tensor.0.node else {
                accumulate_leaf(tensor, g)?;
                continue;
            };
            let (inputs, input_grads) = apply_node(node, &g, retain_graph)?;
            for (input, ig) in inputs.iter().zip(input_grads) {
                let Some(ig) = ig else { continue };
                if !input.requires_grad() {
                    continue;
                }
                if ig.shape() != input.shape() {
                    return Err(Error::Autograd(format!(
                        "internal: backward of '{}' produced a gradient of shape {:?} for an input of shape {:?}",
                        node.name,
                        ig.shape(),
                        input.shape()
                    )));
                }
                match grads.remove(&input.id()) {
                    Some(prev) => grads.insert(input.id(), prev.add(&ig)?),
                    None => grads.insert(input.id(), ig),
                };
            }
        }
        Ok(())
    }
}

fn apply_node(node: &Node, g: &Tensor, retain: bool) -> Result<(Vec<Tensor>, Vec<Option<Tensor>>)> {
    let mut state = node.state.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = state.as_ref() else {
        return Err(Error::Autograd(format!(
            "backward through '{}' a second time: its graph was freed by the first backward(); use backward_retain_graph() the first time",
            node.name
        )));
    };
    let grads = (s.backward)(g)?;
    if grads.len() != s.inputs.len() {
        return Err(Error::Autograd(format!(
            "internal: backward of '{}' returned {} gradients for {} inputs",
            node.name,
            grads.len(),
            s.inputs.len()
        )));
    }
    let inputs = if retain {
        s.inputs.clone()
    } else {
        state.take().map(|s| s.inputs).unwrap_or_default()
    };
    Ok((inputs, grads))
}

fn accumulate_leaf(leaf: &Tensor, g: Tensor) -> Result<()> {
    let total = match leaf.grad() {
        Some(prev) => prev.add(&g)?,
        None => owned_copy(g),
    };
    leaf.set_grad(Some(total));
    Ok(())
}

/// `g` itself when nothing else holds its storage, else a contiguous copy: a leaf's
/// gradient is updated in place (clipping, optimizers), so it must not alias another
/// leaf's gradient or a tensor the caller passed to `backward_with`.
fn owned_copy(g: Tensor) -> Tensor {
    let whole = g.is_contiguous() && g.layout().offset == 0 && g.numel() == g.storage().len();
    if whole && Arc::strong_count(&g.0.storage) == 1 {
        return g;
    }
    Tensor::from_storage(g.contiguous_storage(), g.shape())
}

/// Tensors reachable from `root` through recorded nodes, each after all its inputs.
fn topological_order(root: &Tensor) -> Result<Vec<Tensor>> {
    let mut order = Vec::new();
    let mut visited = HashSet::new();
    // Iterative DFS: (tensor, inputs already pushed?) so deep graphs cannot overflow the stack.
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !visited.insert(t.id()) {
            continue;
        }
        let inputs = match &t.0.node {
            Some(node) => match node.inputs() {
                Some(inputs) => inputs,
                None => {
                    return Err(Error::Autograd(format!(
                        "backward through '{}' a second time: its graph was freed by the first backward(); use backward_retain_graph() the first time",
                        node.name
                    )))
                }
            },
            None => Vec::new(),
        };
        stack.push((t, true));
        for input in inputs {
            if input.requires_grad() && !visited.contains(&input.id()) {
                stack.push((input, false));
            }
        }
    }
    Ok(order)
}
