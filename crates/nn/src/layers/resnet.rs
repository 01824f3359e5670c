//! The ResNet basic block and a small ResNet for 28×28 images (torchvision's names), and
//! the seed CNN as a `Sequential`.

use zhixing_tensor::{DType, Error as TensorError, Rng, Tensor};

use super::conv::{shape_error, BatchNorm2d, Conv2d, Conv2dConfig, MaxPool2d};
use crate::layers::{BatchNormConfig, Linear};
use crate::module::join;
use crate::{Error, Module, Result};

/// A 3×3 conv without bias (BatchNorm follows), padding 1.
fn conv3x3(
    c_in: usize,
    c_out: usize,
    stride: usize,
    dtype: DType,
    rng: &mut Rng,
) -> Result<Conv2d> {
    let cfg = Conv2dConfig::new(c_in, c_out, 3)
        .stride(stride)
        .padding(1)
        .bias(false)
        .dtype(dtype);
    Conv2d::from_config(&cfg, rng)
}

fn batch_norm(c: usize, dtype: DType) -> BatchNorm2d {
    BatchNorm2d::from_config(&BatchNormConfig {
        dtype,
        ..BatchNormConfig::new(c)
    })
}

/// The projection shortcut: 1×1 conv (stride s, no bias) then BatchNorm, named
/// "downsample.0" and "downsample.1" as in torchvision.
pub struct Downsample {
    pub conv: Conv2d,
    pub bn: BatchNorm2d,
}

/// torchvision's ResNet `BasicBlock`: y = relu(bn2(conv2(relu(bn1(conv1(x))))) + s(x)),
/// where s is the identity, or a 1×1-conv + BatchNorm projection when the stride or the
/// channel count changes. Parameters: conv1, bn1, conv2, bn2, downsample.{0,1}.
pub struct BasicBlock {
    pub conv1: Conv2d,
    pub bn1: BatchNorm2d,
    pub conv2: Conv2d,
    pub bn2: BatchNorm2d,
    pub downsample: Option<Downsample>,
}

impl BasicBlock {
    /// `c_in → c_out` channels; the first conv has `stride`. A projection shortcut is made
    /// when `stride != 1` or `c_in != c_out`.
    pub fn new(c_in: usize, c_out: usize, stride: usize, rng: &mut Rng) -> Result<Self> {
        Self::with_dtype(c_in, c_out, stride, DType::F32, rng)
    }

    pub fn with_dtype(
        c_in: usize,
        c_out: usize,
        stride: usize,
        dtype: DType,
        rng: &mut Rng,
    ) -> Result<Self> {
        let conv1 = conv3x3(c_in, c_out, stride, dtype, rng)?;
        let conv2 = conv3x3(c_out, c_out, 1, dtype, rng)?;
        let downsample = if stride != 1 || c_in != c_out {
            let cfg = Conv2dConfig::new(c_in, c_out, 1)
                .stride(stride)
                .bias(false)
                .dtype(dtype);
            Some(Downsample {
                conv: Conv2d::from_config(&cfg, rng)?,
                bn: batch_norm(c_out, dtype),
            })
        } else {
            None
        };
        Ok(BasicBlock {
            conv1,
            bn1: batch_norm(c_out, dtype),
            conv2,
            bn2: batch_norm(c_out, dtype),
            downsample,
        })
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        let mut v: Vec<(String, &dyn Module)> = vec![
            ("conv1".into(), &self.conv1),
            ("bn1".into(), &self.bn1),
            ("conv2".into(), &self.conv2),
            ("bn2".into(), &self.bn2),
        ];
        if let Some(d) = &self.downsample {
            v.push(("downsample.0".into(), &d.conv));
            v.push(("downsample.1".into(), &d.bn));
        }
        v
    }
}

impl Module for BasicBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.bn1.forward(&self.conv1.forward(x)?)?.relu()?;
        let h = self.bn2.forward(&self.conv2.forward(&h)?)?;
        let shortcut = match &self.downsample {
            Some(d) => d.bn.forward(&d.conv.forward(x)?)?,
            None => x.clone(),
        };
        if h.shape() != shortcut.shape() {
            return Err(TensorError::ShapeMismatch {
                op: "basic_block (residual vs shortcut)",
                lhs: h.shape().to_vec(),
                rhs: shortcut.shape().to_vec(),
            }
            .into());
        }
        Ok(h.add(&shortcut)?.relu()?)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (name, m) in self.children() {
            m.visit_params(&join(prefix, &name), f);
        }
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (name, m) in self.children() {
            m.visit_buffers(&join(prefix, &name), f);
        }
    }

    fn set_training(&self, training: bool) {
        for (_, m) in self.children() {
            m.set_training(training);
        }
    }
}

/// Configuration of a small [`ResNet`] for single-channel 28×28 images (MNIST).
#[derive(Debug, Clone, PartialEq)]
pub struct ResNetConfig {
    pub in_channels: usize,
    /// Channels of each stage; stage i > 0 halves the resolution (stride 2).
    pub widths: Vec<usize>,
    /// Basic blocks per stage.
    pub blocks: usize,
    pub num_classes: usize,
    pub dtype: DType,
}

impl ResNetConfig {
    /// 1 input channel, stages of 16, 32, 64 channels with one block each, 10 classes.
    pub fn mnist() -> Self {
        ResNetConfig {
            in_channels: 1,
            widths: vec![16, 32, 64],
            blocks: 1,
            num_classes: 10,
            dtype: DType::F32,
        }
    }
}

/// A small ResNet: stem (3×3 conv, BatchNorm, ReLU), stages of basic blocks
/// ("layer1", "layer2", …, each a list of blocks "layer1.0", …), global average pooling
/// and a linear classifier "fc". Input [N, C, H, W]; output logits [N, classes].
pub struct ResNet {
    pub conv1: Conv2d,
    pub bn1: BatchNorm2d,
    pub layers: Vec<Vec<BasicBlock>>,
    pub fc: Linear,
}

impl ResNet {
    pub fn new(cfg: &ResNetConfig, rng: &mut Rng) -> Result<Self> {
        let first = *cfg
            .widths
            .first()
            .ok_or_else(|| Error::config("resnet widths", "needs at least one stage"))?;
        if cfg.blocks == 0 || cfg.num_classes == 0 {
            return Err(Error::config(
                "resnet",
                "blocks and num_classes must be positive",
            ));
        }
        let conv1 = conv3x3(cfg.in_channels, first, 1, cfg.dtype, rng)?;
        let mut layers = Vec::new();
        let mut c_in = first;
        for (i, &w) in cfg.widths.iter().enumerate() {
            let mut stage = Vec::new();
            for b in 0..cfg.blocks {
                let stride = if i > 0 && b == 0 { 2 } else { 1 };
                stage.push(BasicBlock::with_dtype(c_in, w, stride, cfg.dtype, rng)?);
                c_in = w;
            }
            layers.push(stage);
        }
        let fc_cfg = crate::layers::LinearConfig::new(c_in, cfg.num_classes).dtype(cfg.dtype);
        Ok(ResNet {
            conv1,
            bn1: batch_norm(first, cfg.dtype),
            layers,
            fc: Linear::from_config(&fc_cfg, rng)?,
        })
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        let mut v: Vec<(String, &dyn Module)> =
            vec![("conv1".into(), &self.conv1), ("bn1".into(), &self.bn1)];
        for (i, stage) in self.layers.iter().enumerate() {
            for (j, block) in stage.iter().enumerate() {
                v.push((format!("layer{}.{j}", i + 1), block));
            }
        }
        v.push(("fc".into(), &self.fc));
        v
    }
}

impl Module for ResNet {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() != 4 {
            return Err(shape_error(
                "resnet",
                "expected an input [N, C, H, W]".into(),
                x.shape(),
            ));
        }
        let mut h = self.bn1.forward(&self.conv1.forward(x)?)?.relu()?;
        for block in self.layers.iter().flatten() {
            h = block.forward(&h)?;
        }
        let h = h.adaptive_avg_pool2d((1, 1))?.flatten(1, -1)?;
        self.fc.forward(&h)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (name, m) in self.children() {
            m.visit_params(&join(prefix, &name), f);
        }
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (name, m) in self.children() {
            m.visit_buffers(&join(prefix, &name), f);
        }
    }

    fn set_training(&self, training: bool) {
        for (_, m) in self.children() {
            m.set_training(training);
        }
    }
}

/// The seed CNN for 28×28 single-channel images: conv 1→16 3×3 pad 1, ReLU, 2×2 max-pool,
/// conv 16→32 3×3 pad 1, ReLU, 2×2 max-pool, flatten 1568 → FC 120 → ReLU → dropout →
/// FC 84 → ReLU → dropout → FC 10. Names are those of the same `nn.Sequential` in PyTorch
/// ("0.weight", "3.weight", "7.weight", …).
pub fn seed_cnn(dropout: f64, rng: &mut Rng) -> Result<crate::layers::Sequential> {
    seed_cnn_for([1, 28, 28], 10, dropout, rng)
}

/// The seed CNN for `[channels, height, width]` inputs and `classes` outputs: the same
/// layers, with the first fully connected layer sized to what the two pools leave
/// (`32 · ⌊h/4⌋ · ⌊w/4⌋`; 1568 for MNIST).
pub fn seed_cnn_for(
    input: [usize; 3],
    classes: usize,
    dropout: f64,
    rng: &mut Rng,
) -> Result<crate::layers::Sequential> {
    use crate::layers::{Dropout, Flatten, ReLU, Sequential};
    let [c, h, w] = input;
    if h < 4 || w < 4 {
        return Err(crate::Error::config(
            "CNN input",
            format!("images must be at least 4×4 pixels, got {w}×{h}"),
        ));
    }
    let conv = |c_in, c_out, rng: &mut Rng| {
        Conv2d::from_config(&Conv2dConfig::new(c_in, c_out, 3).padding(1), rng)
    };
    Ok(Sequential::new()
        .add(conv(c, 16, rng)?)
        .add(ReLU)
        .add(MaxPool2d::new(2))
        .add(conv(16, 32, rng)?)
        .add(ReLU)
        .add(MaxPool2d::new(2))
        .add(Flatten::default())
        .add(Linear::new(32 * (h / 4) * (w / 4), 120, rng)?)
        .add(ReLU)
        .add(Dropout::new(dropout, rng)?)
        .add(Linear::new(120, 84, rng)?)
        .add(ReLU)
        .add(Dropout::new(dropout, rng)?)
        .add(Linear::new(84, classes, rng)?))
}
