//! Convolutional layers against PyTorch (float64 reference values written by
//! scripts/conv_reference.py), the ResNet's gradient flow, and shape errors.

#[path = "reference/nn_json.rs"]
mod nn_json;

use std::collections::HashMap;

use nn_json::{arrays, assert_tensor, tensor, Array};
use serde_json::Value;
use zhixing_nn::layers::BatchNormConfig;
use zhixing_nn::layers::{
    seed_cnn, AdaptiveAvgPool2d, AvgPool2d, BasicBlock, BatchNorm2d, Conv1d, Conv1dConfig, Conv2d,
    Conv2dConfig, Dropout2d, MaxPool2d, ResNet, ResNetConfig,
};
use zhixing_nn::loss::cross_entropy;
use zhixing_nn::Module;
use zhixing_tensor::{DType, Rng, Tensor};

struct Case {
    t: HashMap<String, Array>,
    params: Value,
}

impl Case {
    fn load(name: &str) -> Case {
        let doc: Value = serde_json::from_str(include_str!("reference/conv_reference.json"))
            .expect("valid reference JSON");
        let c = &doc["cases"][name];
        assert!(c.is_object(), "reference case {name} missing");
        Case {
            t: arrays(c),
            params: c["params"].clone(),
        }
    }

    fn get(&self, name: &str) -> &Array {
        self.t
            .get(name)
            .unwrap_or_else(|| panic!("reference tensor {name} missing"))
    }

    fn tensor(&self, name: &str, dtype: DType) -> Tensor {
        tensor(self.get(name), dtype)
    }

    /// (a, b) from a param that is an int or a [a, b] list; `default` when absent.
    fn pair(&self, key: &str, default: usize) -> (usize, usize) {
        match &self.params[key] {
            Value::Number(n) => {
                let v = n.as_u64().unwrap() as usize;
                (v, v)
            }
            Value::Array(a) => (
                a[0].as_u64().unwrap() as usize,
                a[1].as_u64().unwrap() as usize,
            ),
            _ => (default, default),
        }
    }
}

/// Copies the case's parameters into the module (by state-dict name).
fn load_params(m: &dyn Module, case: &Case, dtype: DType) {
    for (name, p) in m.named_parameters() {
        p.assign(&case.tensor(&name, dtype))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Forward + backward of `m` on the case's input, checked against every output and grad.
fn check_module(m: &dyn Module, case: &Case, dtype: DType, tol: f64) {
    load_params(m, case, dtype);
    let x = case.tensor("input", dtype).requires_grad_(true);
    let y = m.forward(&x).unwrap();
    assert_tensor("output", &y, case.get("output"), tol);
    y.backward_with(&case.tensor("upstream", dtype)).unwrap();
    assert_tensor(
        "grad.input",
        &x.grad().unwrap(),
        case.get("grad.input"),
        tol,
    );
    for (name, p) in m.named_parameters() {
        let what = format!("grad.{name}");
        let g = p.grad().unwrap_or_else(|| panic!("{what} missing"));
        assert_tensor(&what, &g, case.get(&what), tol);
    }
    for (name, b) in m.named_buffers() {
        assert_tensor(&name, &b, case.get(&format!("after.{name}")), tol);
    }
}

fn conv_from_case(case: &Case, dtype: DType) -> Conv2d {
    let w = case.get("weight").0.clone();
    let groups = case.params["groups"].as_u64().unwrap_or(1) as usize;
    let cfg = Conv2dConfig {
        in_channels: w[1] * groups,
        out_channels: w[0],
        kernel_size: (w[2], w[3]),
        stride: case.pair("stride", 1),
        padding: case.pair("padding", 0),
        dilation: case.pair("dilation", 1),
        groups,
        bias: true,
        dtype,
    };
    Conv2d::from_config(&cfg, &mut Rng::seed(0)).unwrap()
}

#[test]
fn conv2d_matches_pytorch() {
    for name in ["conv2d_basic", "conv2d_groups_dilation", "conv2d_depthwise"] {
        let case = Case::load(name);
        for (dtype, tol) in [(DType::F64, 1e-10), (DType::F32, 1e-4)] {
            let conv = conv_from_case(&case, dtype);
            check_module(&conv, &case, dtype, tol);
        }
    }
}

#[test]
fn batch_norm2d_train_steps_running_stats_and_eval_match_pytorch() {
    let case = Case::load("batch_norm2d");
    for (dtype, tol) in [(DType::F64, 1e-10), (DType::F32, 1e-4)] {
        let bn = BatchNorm2d::from_config(&BatchNormConfig {
            dtype,
            ..BatchNormConfig::new(3)
        });
        load_params(&bn, &case, dtype);
        let y1 = bn.forward(&case.tensor("x1", dtype)).unwrap();
        assert_tensor("y1", &y1, case.get("y1"), tol);
        let x2 = case.tensor("x2", dtype).requires_grad_(true);
        let y2 = bn.forward(&x2).unwrap();
        assert_tensor("y2", &y2, case.get("y2"), tol);
        y2.backward_with(&case.tensor("upstream", dtype)).unwrap();
        assert_tensor("grad x2", &x2.grad().unwrap(), case.get("grad.input"), tol);
        let (w, b) = (bn.weight.as_ref().unwrap(), bn.bias.as_ref().unwrap());
        assert_tensor(
            "grad weight",
            &w.grad().unwrap(),
            case.get("grad.weight"),
            tol,
        );
        assert_tensor("grad bias", &b.grad().unwrap(), case.get("grad.bias"), tol);
        for (name, buf) in bn.named_buffers() {
            assert_tensor(&name, &buf, case.get(&name), tol);
        }
        assert_eq!(bn.num_batches_tracked.item().unwrap(), 2.0);

        bn.eval();
        let x3 = case.tensor("x3", dtype).requires_grad_(true);
        let y3 = bn.forward(&x3).unwrap();
        assert_tensor("y_eval", &y3, case.get("y_eval"), tol);
        y3.backward_with(&case.tensor("upstream_eval", dtype))
            .unwrap();
        let g = x3.grad().unwrap();
        assert_tensor("grad_eval x3", &g, case.get("grad_eval.input"), tol);
        // Eval mode leaves the running statistics alone.
        assert_eq!(bn.num_batches_tracked.item().unwrap(), 2.0);
    }
}

#[test]
fn basic_blocks_match_pytorch() {
    for name in ["basic_block_identity", "basic_block_projection"] {
        let case = Case::load(name);
        let p = |k: &str| case.params[k].as_u64().unwrap() as usize;
        for (dtype, tol) in [(DType::F64, 1e-9), (DType::F32, 2e-4)] {
            let block = BasicBlock::with_dtype(
                p("c_in"),
                p("c_out"),
                p("stride"),
                dtype,
                &mut Rng::seed(1),
            )
            .unwrap();
            assert_eq!(block.downsample.is_some(), name.ends_with("projection"));
            check_module(&block, &case, dtype, tol);
        }
    }
}

#[test]
fn resnet_names_and_every_parameter_gets_a_gradient() {
    let mut rng = Rng::seed(3);
    let model = ResNet::new(&ResNetConfig::mnist(), &mut rng).unwrap();
    let names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for want in [
        "conv1.weight",
        "bn1.weight",
        "layer1.0.conv1.weight",
        "layer2.0.downsample.0.weight",
        "layer3.0.bn2.bias",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let buffers: Vec<String> = model.named_buffers().into_iter().map(|(n, _)| n).collect();
    assert!(buffers.contains(&"layer2.0.downsample.1.running_var".to_string()));

    let x = Tensor::randn(&[4, 1, 28, 28], DType::F32, &mut rng);
    let y = Tensor::from_vec(vec![1i64, 7, 3, 0], &[4]).unwrap();
    let logits = model.forward(&x).unwrap();
    assert_eq!(logits.shape(), &[4, 10]);
    cross_entropy(&logits, &y).unwrap().backward().unwrap();
    for (name, p) in model.named_parameters() {
        let g = p.grad().unwrap_or_else(|| panic!("{name}: no gradient"));
        let norm: f64 = g.to_vec_f64().iter().map(|v| v * v).sum();
        assert!(
            norm > 0.0 && norm.is_finite(),
            "{name}: gradient norm {norm}"
        );
    }
    // Eval mode runs on a single image.
    model.eval();
    let one = model.forward(&x.narrow(0, 0, 1).unwrap()).unwrap();
    assert_eq!(one.shape(), &[1, 10]);
}

#[test]
fn seed_cnn_shapes_and_gradients() {
    let mut rng = Rng::seed(5);
    let model = seed_cnn(0.25, &mut rng).unwrap();
    let names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "0.weight",
            "0.bias",
            "3.weight",
            "3.bias",
            "7.weight",
            "7.bias",
            "10.weight",
            "10.bias",
            "13.weight",
            "13.bias"
        ]
    );
    let x = Tensor::randn(&[3, 1, 28, 28], DType::F32, &mut rng);
    let logits = model.forward(&x).unwrap();
    assert_eq!(logits.shape(), &[3, 10]);
    let y = Tensor::from_vec(vec![1i64, 2, 3], &[3]).unwrap();
    cross_entropy(&logits, &y).unwrap().backward().unwrap();
    for (name, p) in model.named_parameters() {
        let norm: f64 = p.grad().unwrap().to_vec_f64().iter().map(|v| v * v).sum();
        assert!(norm > 0.0, "{name}: zero gradient");
    }
}

#[test]
fn conv_default_init_bounds() {
    let mut rng = Rng::seed(7);
    let conv = Conv2d::from_config(&Conv2dConfig::new(4, 8, 3).groups(2), &mut rng).unwrap();
    assert_eq!(conv.weight.shape(), &[8, 2, 3, 3]);
    let bound = 1.0 / 18f64.sqrt(); // fan_in = 2 · 3 · 3
    for t in [&conv.weight, conv.bias.as_ref().unwrap()] {
        let v = t.to_vec_f64();
        assert!(v.iter().all(|x| x.abs() <= bound + 1e-7));
        assert!(v.iter().any(|x| x.abs() > bound / 2.0));
    }
    let c1 = Conv1d::from_config(&Conv1dConfig::new(3, 5, 4), &mut rng).unwrap();
    let y = c1
        .forward(&Tensor::randn(&[2, 3, 10], DType::F32, &mut rng))
        .unwrap();
    assert_eq!(y.shape(), &[2, 5, 7]);
}

#[test]
fn pooling_and_dropout2d_modules() {
    let mut rng = Rng::seed(9);
    let x = Tensor::randn(&[2, 3, 8, 8], DType::F32, &mut rng);
    assert_eq!(
        MaxPool2d::new(2).forward(&x).unwrap().shape(),
        &[2, 3, 4, 4]
    );
    assert_eq!(
        AvgPool2d::new(4).forward(&x).unwrap().shape(),
        &[2, 3, 2, 2]
    );
    let gap = AdaptiveAvgPool2d::new((1, 1)).forward(&x).unwrap();
    assert_eq!(gap.shape(), &[2, 3, 1, 1]);

    let drop = Dropout2d::new(0.5, &mut rng).unwrap();
    let ones = Tensor::ones(&[4, 16, 5, 5], DType::F32);
    let y = drop.forward(&ones).unwrap().to_vec_f64();
    let mut dropped = 0;
    for plane in y.chunks(25) {
        // A whole channel is either zeroed or scaled by 1/(1−p) = 2.
        assert!(
            plane.iter().all(|&v| v == plane[0]),
            "mixed plane {plane:?}"
        );
        assert!(plane[0] == 0.0 || plane[0] == 2.0);
        dropped += (plane[0] == 0.0) as usize;
    }
    assert!(
        dropped > 8 && dropped < 56,
        "{dropped} of 64 channels dropped"
    );
    drop.eval();
    assert_eq!(drop.forward(&ones).unwrap().to_vec_f64(), ones.to_vec_f64());
    assert!(Dropout2d::new(1.0, &mut rng).is_err());
}

#[test]
fn shape_mistakes_are_errors() {
    let mut rng = Rng::seed(11);
    let conv = Conv2d::from_config(&Conv2dConfig::new(3, 4, 3), &mut rng).unwrap();
    // Wrong channel count, wrong rank, input smaller than the kernel.
    for shape in [&[2, 2, 8, 8][..], &[2, 3, 8], &[2, 3, 2, 2], &[8]] {
        let x = Tensor::zeros(shape, DType::F32);
        assert!(conv.forward(&x).is_err(), "{shape:?}");
    }
    let bn = BatchNorm2d::new(4);
    assert!(bn
        .forward(&Tensor::zeros(&[2, 3, 4, 4], DType::F32))
        .is_err());
    assert!(bn.forward(&Tensor::zeros(&[2, 4, 4], DType::F32)).is_err());
    // One value per channel cannot be batch-normalized in training mode.
    assert!(bn
        .forward(&Tensor::zeros(&[1, 4, 1, 1], DType::F32))
        .is_err());
    assert!(MaxPool2d::new(2)
        .forward(&Tensor::zeros(&[2, 3], DType::F32))
        .is_err());
    assert!(Dropout2d::new(0.5, &mut rng)
        .unwrap()
        .forward(&Tensor::zeros(&[2, 3], DType::F32))
        .is_err());
    let block = BasicBlock::new(4, 8, 2, &mut rng).unwrap();
    assert!(block
        .forward(&Tensor::zeros(&[2, 3, 8, 8], DType::F32))
        .is_err());
    let resnet = ResNet::new(&ResNetConfig::mnist(), &mut rng).unwrap();
    assert!(resnet
        .forward(&Tensor::zeros(&[2, 784], DType::F32))
        .is_err());
    assert!(resnet
        .forward(&Tensor::zeros(&[2, 3, 28, 28], DType::F32))
        .is_err());
    // Bad configurations.
    assert!(Conv2d::from_config(&Conv2dConfig::new(3, 4, 3).groups(2), &mut rng).is_err());
    assert!(Conv2d::from_config(&Conv2dConfig::new(3, 4, 0), &mut rng).is_err());
    assert!(Conv2d::from_config(&Conv2dConfig::new(3, 4, 3).stride(0), &mut rng).is_err());
}
