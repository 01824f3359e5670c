//! Recurrent layers: `torch.nn.RNN`, `torch.nn.LSTM` and `torch.nn.GRU`.
//!
//! Multi-layer, `batch_first` or time-major, optional initial states, all outputs plus the
//! final states (h_n, and c_n for the LSTM), and variable-length batches through
//! per-example lengths (outputs past an example's length are zero and its final state is
//! the one at its last valid step, as with PyTorch's packed sequences). Parameters carry
//! PyTorch's names and layouts (`weight_ih_l0` [G·H, I], `weight_hh_l0` [G·H, H],
//! `bias_ih_l0`, `bias_hh_l0`; LSTM gates i, f, g, o and GRU gates r, z, n), initialized
//! U(−1/√H, 1/√H), so state dicts move both ways.
//!
//! Each layer computes its input projection for all steps with one GEMM and then runs the
//! fused recurrence op of zhixing-tensor (one GEMM h·W_hhᵀ and a fused cell per step;
//! backpropagation through time inside the op).

use zhixing_tensor::ops::recurrent::CellKind;
pub use zhixing_tensor::ops::recurrent::RnnActivation;
use zhixing_tensor::{DType, Rng, Tensor};

use crate::init;
use crate::layers::Linear;
use crate::module::join;
use crate::{Error, Module, Result};

/// Configuration shared by [`Rnn`], [`Lstm`] and [`Gru`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrentConfig {
    pub input_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    /// `bias_ih_l*` and `bias_hh_l*` parameters.
    pub bias: bool,
    /// Inputs and outputs are [batch, steps, features] (else [steps, batch, features]).
    pub batch_first: bool,
    /// The Elman RNN's nonlinearity (ignored by LSTM and GRU).
    pub nonlinearity: RnnActivation,
    pub dtype: DType,
}

impl RecurrentConfig {
    /// One layer, with biases, time-major, tanh, f32.
    pub fn new(input_size: usize, hidden_size: usize) -> Self {
        RecurrentConfig {
            input_size,
            hidden_size,
            num_layers: 1,
            bias: true,
            batch_first: false,
            nonlinearity: RnnActivation::Tanh,
            dtype: DType::F32,
        }
    }

    pub fn num_layers(mut self, n: usize) -> Self {
        self.num_layers = n;
        self
    }

    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    pub fn batch_first(mut self, on: bool) -> Self {
        self.batch_first = on;
        self
    }

    pub fn nonlinearity(mut self, act: RnnActivation) -> Self {
        self.nonlinearity = act;
        self
    }

    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }
}

/// What a recurrent layer returns: every step's top-layer output and the final states.
#[derive(Debug, Clone)]
pub struct RecurrentOutput {
    /// [batch, steps, H] with `batch_first`, else [steps, batch, H].
    pub output: Tensor,
    /// Final hidden state of every layer, [num_layers, batch, H].
    pub h_n: Tensor,
    /// Final cell state of every layer (LSTM only), [num_layers, batch, H].
    pub c_n: Option<Tensor>,
}

/// The weights of one layer.
struct LayerWeights {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Option<Tensor>,
    b_hh: Option<Tensor>,
}

/// The machinery shared by the three recurrent layers.
struct Recurrent {
    kind: CellKind,
    cfg: RecurrentConfig,
    layers: Vec<LayerWeights>,
}

impl Recurrent {
    fn new(kind: CellKind, cfg: &RecurrentConfig, rng: &mut Rng) -> Result<Self> {
        if cfg.input_size == 0 || cfg.hidden_size == 0 || cfg.num_layers == 0 {
            return Err(Error::config(
                "recurrent layer",
                format!(
                    "input_size ({}), hidden_size ({}) and num_layers ({}) must be at least 1",
                    cfg.input_size, cfg.hidden_size, cfg.num_layers
                ),
            ));
        }
        if !cfg.dtype.is_float() {
            return Err(Error::config(
                "recurrent layer dtype",
                format!("{} (must be f32 or f64)", cfg.dtype),
            ));
        }
        let (h, g) = (cfg.hidden_size, kind.gates() * cfg.hidden_size);
        let bound = 1.0 / (h as f64).sqrt();
        let mut param = |shape: &[usize]| -> Result<Tensor> {
            let t = Tensor::zeros(shape, cfg.dtype);
            init::uniform(&t, -bound, bound, rng)?;
            Ok(t.requires_grad_(true))
        };
        let mut layers = Vec::with_capacity(cfg.num_layers);
        for l in 0..cfg.num_layers {
            let input = if l == 0 { cfg.input_size } else { h };
            let w_ih = param(&[g, input])?;
            let w_hh = param(&[g, h])?;
            let (b_ih, b_hh) = if cfg.bias {
                (Some(param(&[g])?), Some(param(&[g])?))
            } else {
                (None, None)
            };
            layers.push(LayerWeights {
                w_ih,
                w_hh,
                b_ih,
                b_hh,
            });
        }
        Ok(Recurrent {
            kind,
            cfg: cfg.clone(),
            layers,
        })
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (l, w) in self.layers.iter().enumerate() {
            f(&join(prefix, &format!("weight_ih_l{l}")), &w.w_ih);
            f(&join(prefix, &format!("weight_hh_l{l}")), &w.w_hh);
            if let Some(b) = &w.b_ih {
                f(&join(prefix, &format!("bias_ih_l{l}")), b);
            }
            if let Some(b) = &w.b_hh {
                f(&join(prefix, &format!("bias_hh_l{l}")), b);
            }
        }
    }

    fn shape_error(&self, what: &str, got: &[usize], want: String) -> Error {
        Error::config(
            "recurrent input",
            format!("{what} has shape {got:?}, expected {want}"),
        )
    }

    /// Checks an initial state [num_layers, batch, H].
    fn check_state(&self, what: &str, s: &Tensor, batch: usize) -> Result<()> {
        let want = [self.cfg.num_layers, batch, self.cfg.hidden_size];
        if s.shape() != want {
            return Err(self.shape_error(what, s.shape(), format!("{want:?}")));
        }
        if s.dtype() != self.cfg.dtype {
            return Err(Error::config(
                "recurrent input",
                format!("{what} is {}, the layer is {}", s.dtype(), self.cfg.dtype),
            ));
        }
        Ok(())
    }

    fn run(
        &self,
        x: &Tensor,
        h0: Option<&Tensor>,
        c0: Option<&Tensor>,
        lengths: Option<&[usize]>,
    ) -> Result<RecurrentOutput> {
        let cfg = &self.cfg;
        let layout = if cfg.batch_first {
            "[batch, steps, input_size]"
        } else {
            "[steps, batch, input_size]"
        };
        if x.rank() != 3 || x.shape()[2] != cfg.input_size {
            return Err(self.shape_error(
                "input",
                x.shape(),
                format!("{layout} with input_size {}", cfg.input_size),
            ));
        }
        if x.dtype() != cfg.dtype {
            return Err(Error::config(
                "recurrent input",
                format!("input is {}, the layer is {}", x.dtype(), cfg.dtype),
            ));
        }
        // Time-major inside: each step's rows are contiguous.
        let x = if cfg.batch_first {
            x.permute(&[1, 0, 2])?.contiguous()?
        } else {
            x.clone()
        };
        let (steps, batch) = (x.shape()[0], x.shape()[1]);
        if steps == 0 || batch == 0 {
            return Err(self.shape_error(
                "input",
                x.shape(),
                "at least one step and one row".into(),
            ));
        }
        if let Some(l) = lengths {
            if l.len() != batch {
                return Err(Error::config(
                    "lengths",
                    format!("{} lengths for a batch of {batch}", l.len()),
                ));
            }
            if let Some(&bad) = l.iter().find(|&&n| n == 0 || n > steps) {
                return Err(Error::config(
                    "lengths",
                    format!("length {bad} is outside 1..={steps} (the input's steps)"),
                ));
            }
        }
        let lstm = self.kind == CellKind::Lstm;
        if let Some(h0) = h0 {
            self.check_state("h0", h0, batch)?;
        }
        match (lstm, c0) {
            (true, Some(c0)) => self.check_state("c0", c0, batch)?,
            (false, Some(_)) => {
                return Err(Error::config("c0", "only an LSTM has a cell state"));
            }
            _ => {}
        }
        let (h, g) = (cfg.hidden_size, self.kind.gates() * cfg.hidden_size);
        let zeros = Tensor::zeros(&[batch, h], cfg.dtype);
        let state = |s: Option<&Tensor>, l: usize| -> Result<Tensor> {
            match s {
                Some(s) => Ok(s.narrow(0, l, 1)?.reshape(&[batch, h])?),
                None => Ok(zeros.clone()),
            }
        };
        let mut input = x;
        let (mut h_n, mut c_n) = (Vec::new(), Vec::new());
        for (l, w) in self.layers.iter().enumerate() {
            let features = input.shape()[2];
            let mut xproj = input
                .reshape(&[steps * batch, features])?
                .matmul(&w.w_ih.t()?)?;
            if let Some(b) = &w.b_ih {
                xproj = xproj.add(b)?;
            }
            let xproj = xproj.reshape(&[steps, batch, g])?;
            let h0l = state(h0, l)?;
            let (out, hl, cl) = match self.kind {
                CellKind::Lstm => {
                    let c0l = state(c0, l)?;
                    let (o, hn, cn) = Tensor::lstm_sequence(
                        &xproj,
                        &w.w_hh,
                        w.b_hh.as_ref(),
                        &h0l,
                        &c0l,
                        lengths,
                    )?;
                    (o, hn, Some(cn))
                }
                CellKind::Gru => {
                    let (o, hn) =
                        Tensor::gru_sequence(&xproj, &w.w_hh, w.b_hh.as_ref(), &h0l, lengths)?;
                    (o, hn, None)
                }
                CellKind::Rnn(act) => {
                    let (o, hn) =
                        Tensor::rnn_sequence(&xproj, &w.w_hh, w.b_hh.as_ref(), &h0l, act, lengths)?;
                    (o, hn, None)
                }
            };
            h_n.push(hl);
            c_n.extend(cl);
            input = out;
        }
        let output = if cfg.batch_first {
            input.permute(&[1, 0, 2])?.contiguous()?
        } else {
            input
        };
        Ok(RecurrentOutput {
            output,
            h_n: Tensor::stack(&h_n, 0)?,
            c_n: if lstm {
                Some(Tensor::stack(&c_n, 0)?)
            } else {
                None
            },
        })
    }
}

macro_rules! recurrent_layer {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(Recurrent);

        impl $name {
            pub fn config(&self) -> &RecurrentConfig {
                &self.0.cfg
            }

            /// The final hidden states of the top layer, [batch, H].
            pub fn last_hidden(out: &RecurrentOutput) -> Result<Tensor> {
                let layers = out.h_n.shape()[0];
                let (b, h) = (out.h_n.shape()[1], out.h_n.shape()[2]);
                Ok(out.h_n.narrow(0, layers - 1, 1)?.reshape(&[b, h])?)
            }
        }

        impl Module for $name {
            /// Every step's top-layer output (zero initial states, full lengths).
            fn forward(&self, x: &Tensor) -> Result<Tensor> {
                Ok(self.0.run(x, None, None, None)?.output)
            }

            fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
                self.0.visit_params(prefix, f)
            }
        }
    };
}

recurrent_layer!(
    /// `torch.nn.RNN`: h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh), act = tanh or ReLU.
    Rnn
);
recurrent_layer!(
    /// `torch.nn.LSTM`: input, forget, cell and output gates with a cell state.
    Lstm
);
recurrent_layer!(
    /// `torch.nn.GRU`: reset and update gates, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
    Gru
);

impl Rnn {
    pub fn new(cfg: &RecurrentConfig, rng: &mut Rng) -> Result<Self> {
        Ok(Rnn(Recurrent::new(
            CellKind::Rnn(cfg.nonlinearity),
            cfg,
            rng,
        )?))
    }

    /// Runs the layer from the initial state `h0` [num_layers, batch, H] (zeros if None)
    /// over sequences of the given `lengths` (all full if None).
    pub fn forward_with(
        &self,
        x: &Tensor,
        h0: Option<&Tensor>,
        lengths: Option<&[usize]>,
    ) -> Result<RecurrentOutput> {
        self.0.run(x, h0, None, lengths)
    }
}

impl Lstm {
    pub fn new(cfg: &RecurrentConfig, rng: &mut Rng) -> Result<Self> {
        Ok(Lstm(Recurrent::new(CellKind::Lstm, cfg, rng)?))
    }

    /// Runs the layer from the initial states `(h0, c0)`, each [num_layers, batch, H]
    /// (zeros if None), over sequences of the given `lengths` (all full if None).
    pub fn forward_with(
        &self,
        x: &Tensor,
        state: Option<(&Tensor, &Tensor)>,
        lengths: Option<&[usize]>,
    ) -> Result<RecurrentOutput> {
        self.0
            .run(x, state.map(|s| s.0), state.map(|s| s.1), lengths)
    }
}

impl Gru {
    pub fn new(cfg: &RecurrentConfig, rng: &mut Rng) -> Result<Self> {
        Ok(Gru(Recurrent::new(CellKind::Gru, cfg, rng)?))
    }

    /// Runs the layer from the initial state `h0` [num_layers, batch, H] (zeros if None)
    /// over sequences of the given `lengths` (all full if None).
    pub fn forward_with(
        &self,
        x: &Tensor,
        h0: Option<&Tensor>,
        lengths: Option<&[usize]>,
    ) -> Result<RecurrentOutput> {
        self.0.run(x, h0, None, lengths)
    }
}

/// Which recurrent layer a [`SequenceClassifier`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellType {
    Rnn(RnnActivation),
    Lstm,
    Gru,
}

impl std::str::FromStr for CellType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "rnn" | "rnn_tanh" => Ok(CellType::Rnn(RnnActivation::Tanh)),
            "rnn_relu" => Ok(CellType::Rnn(RnnActivation::Relu)),
            "lstm" => Ok(CellType::Lstm),
            "gru" => Ok(CellType::Gru),
            other => Err(Error::config(
                "cell",
                format!("'{other}' (choose rnn, rnn_relu, lstm or gru)"),
            )),
        }
    }
}

enum AnyRecurrent {
    Rnn(Rnn),
    Lstm(Lstm),
    Gru(Gru),
}

/// A batch-first recurrent layer whose top layer's final hidden state feeds a Linear
/// head: `rnn.{weight_ih_l0, …}` and `fc.{weight, bias}`, as the PyTorch model
/// `self.rnn = nn.LSTM(..., batch_first=True); self.fc = nn.Linear(H, classes)`.
///
/// Inputs are [batch, steps, input_size]; a 2-D input [batch, steps·input_size] (a
/// flattened image read row by row) is reshaped to that.
pub struct SequenceClassifier {
    rnn: AnyRecurrent,
    pub fc: Linear,
    input_size: usize,
}

impl SequenceClassifier {
    pub fn new(
        cell: CellType,
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        classes: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        let mut cfg = RecurrentConfig::new(input_size, hidden_size)
            .num_layers(num_layers)
            .batch_first(true);
        let rnn = match cell {
            CellType::Rnn(act) => {
                cfg = cfg.nonlinearity(act);
                AnyRecurrent::Rnn(Rnn::new(&cfg, rng)?)
            }
            CellType::Lstm => AnyRecurrent::Lstm(Lstm::new(&cfg, rng)?),
            CellType::Gru => AnyRecurrent::Gru(Gru::new(&cfg, rng)?),
        };
        Ok(SequenceClassifier {
            rnn,
            fc: Linear::new(hidden_size, classes, rng)?,
            input_size,
        })
    }

    fn recurrent(&self) -> &Recurrent {
        match &self.rnn {
            AnyRecurrent::Rnn(r) => &r.0,
            AnyRecurrent::Lstm(r) => &r.0,
            AnyRecurrent::Gru(r) => &r.0,
        }
    }
}

impl Module for SequenceClassifier {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = if x.rank() == 2 && x.shape()[1].is_multiple_of(self.input_size) {
            x.reshape(&[
                x.shape()[0],
                x.shape()[1] / self.input_size,
                self.input_size,
            ])?
        } else {
            x.clone()
        };
        let out = self.recurrent().run(&x, None, None, None)?;
        self.fc.forward(&Lstm::last_hidden(&out)?)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        self.recurrent().visit_params(&join(prefix, "rnn"), f);
        self.fc.visit_params(&join(prefix, "fc"), f);
    }
}
