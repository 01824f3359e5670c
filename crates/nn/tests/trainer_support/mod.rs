//! Helpers of the Trainer tests: a tiny model, a tiny optimizer, a separable data set,
//! and a reader for TensorBoard event files written independently of the Trainer's.

use std::path::Path;

use zhixing_data::TensorDataset;
use zhixing_nn::module::join;
use zhixing_nn::optim::{Optimizer, OptimizerState};
use zhixing_nn::{Module, Result};
use zhixing_tensor::{DType, Rng, Tensor};

/// y = x·W + b.
pub struct Linear {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Linear {
    pub fn new(inputs: usize, outputs: usize, seed: u64) -> Linear {
        let mut rng = Rng::seed(seed);
        let w = Tensor::randn(&[inputs, outputs], DType::F32, &mut rng);
        Linear {
            weight: w.mul_scalar(0.1).unwrap().requires_grad_(true),
            bias: Tensor::zeros(&[outputs], DType::F32).requires_grad_(true),
        }
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.weight)?.add(&self.bias)?)
    }
    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        f(&join(prefix, "weight"), &self.weight);
        f(&join(prefix, "bias"), &self.bias);
    }
}

/// SGD with heavy-ball momentum whose velocity is optimizer state.
pub struct MomentumSgd {
    params: Vec<Tensor>,
    lr: f64,
    momentum: f64,
    velocity: Vec<Option<Vec<f32>>>,
}

impl MomentumSgd {
    pub fn new(params: Vec<Tensor>, lr: f64, momentum: f64) -> Self {
        let velocity = vec![None; params.len()];
        MomentumSgd {
            params,
            lr,
            momentum,
            velocity,
        }
    }
}

impl Optimizer for MomentumSgd {
    fn step(&mut self) -> Result<()> {
        for (p, v) in self.params.iter().zip(&mut self.velocity) {
            let Some(g) = p.grad() else { continue };
            let g = g.to_vec::<f32>()?;
            let v = v.get_or_insert_with(|| vec![0.0; g.len()]);
            for (vi, gi) in v.iter_mut().zip(&g) {
                *vi = self.momentum as f32 * *vi + gi;
            }
            let lr = self.lr as f32;
            p.update_::<f32>(|w| w.iter_mut().zip(v.iter()).for_each(|(w, v)| *w -= lr * v))?;
        }
        Ok(())
    }
    fn zero_grad(&self) {
        self.params.iter().for_each(|p| p.zero_grad());
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn state(&self) -> OptimizerState {
        let mut st = OptimizerState::default();
        st.scalars.insert("lr".into(), self.lr);
        st.scalars.insert("momentum".into(), self.momentum);
        for (i, (v, p)) in self.velocity.iter().zip(&self.params).enumerate() {
            if let Some(v) = v {
                let t = Tensor::from_vec(v.clone(), p.shape()).unwrap();
                st.tensors.insert(format!("{i}.velocity"), t);
            }
        }
        st
    }
    fn load_state(&mut self, st: &OptimizerState) -> Result<()> {
        self.lr = st.scalars["lr"];
        self.momentum = st.scalars["momentum"];
        for (i, v) in self.velocity.iter_mut().enumerate() {
            *v = match st.tensors.get(&format!("{i}.velocity")) {
                Some(t) => Some(t.to_vec::<f32>()?),
                None => None,
            };
        }
        Ok(())
    }
}

/// Points in 2-D labelled by the side of the line x0 + 2·x1 = 0.
pub fn separable(n: usize, seed: u64) -> TensorDataset {
    let mut rng = Rng::seed(seed);
    let x = Tensor::randn(&[n, 2], DType::F32, &mut rng);
    let labels: Vec<i64> = x
        .to_vec2_f64()
        .unwrap()
        .iter()
        .map(|r| i64::from(r[0] + 2.0 * r[1] > 0.0))
        .collect();
    TensorDataset::new(x, Tensor::from_vec(labels, &[n]).unwrap()).unwrap()
}

/// Records of a TFRecord file, checking both checksums of each.
fn read_records(path: &Path) -> Vec<Vec<u8>> {
    let masked = |d: &[u8]| {
        let c = crc32c::crc32c(d);
        c.rotate_right(15).wrapping_add(0xa282_ead8)
    };
    let bytes = std::fs::read(path).unwrap();
    let (mut out, mut at) = (Vec::new(), 0);
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    while at < bytes.len() {
        let len_bytes = &bytes[at..at + 8];
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        assert_eq!(u32_at(at + 8), masked(len_bytes), "length crc");
        let data = &bytes[at + 12..at + 12 + len];
        assert_eq!(u32_at(at + 12 + len), masked(data), "data crc");
        out.push(data.to_vec());
        at += 16 + len;
    }
    out
}

fn varint(b: &[u8], at: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let byte = b[*at];
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Protobuf fields of a message: (field number, varint or fixed value, bytes).
fn fields(b: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
    let (mut out, mut at) = (Vec::new(), 0);
    while at < b.len() {
        let key = varint(b, &mut at);
        let (field, wire) = (key >> 3, key & 7);
        let (v, bytes) = match wire {
            0 => (varint(b, &mut at), vec![]),
            1 => {
                at += 8;
                (0, b[at - 8..at].to_vec())
            }
            2 => {
                let n = varint(b, &mut at) as usize;
                at += n;
                (0, b[at - n..at].to_vec())
            }
            5 => {
                at += 4;
                (0, b[at - 4..at].to_vec())
            }
            w => panic!("unexpected wire type {w}"),
        };
        out.push((field, v, bytes));
    }
    out
}

/// (step, tag, value) of every scalar in an event file, and its file_version.
pub fn scalars(path: &Path) -> (String, Vec<(u64, String, f32)>) {
    let records = read_records(path);
    let mut version = String::new();
    let mut out = Vec::new();
    for r in &records {
        let f = fields(r);
        assert!(f.iter().any(|x| x.0 == 1 && x.2.len() == 8), "wall_time");
        let step = f.iter().find(|x| x.0 == 2).map_or(0, |x| x.1);
        for (num, _, bytes) in &f {
            match num {
                3 => version = String::from_utf8(bytes.clone()).unwrap(),
                5 => {
                    for (_, _, value) in fields(bytes) {
                        let vf = fields(&value);
                        let tag = String::from_utf8(vf[0].2.clone()).unwrap();
                        let v = f32::from_le_bytes(vf[1].2.clone().try_into().unwrap());
                        out.push((step, tag, v));
                    }
                }
                _ => {}
            }
        }
    }
    (version, out)
}
