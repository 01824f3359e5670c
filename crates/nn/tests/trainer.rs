//! The Trainer on tiny models: learning, early stopping, best checkpoint, exact resume,
//! (Dropout's generators included), divergence, metric logs, plots and TensorBoard events.

mod trainer_support;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zhixing_data::{ImageAugment, TensorDataset};
use zhixing_nn::layers::{self, Dropout, Identity, ReLU, Sequential};
use zhixing_nn::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use zhixing_nn::schedule::{Decay, LrSchedule};
use zhixing_nn::state::{load_module, load_safetensors, save_safetensors};
use zhixing_nn::trainer::{
    evaluate, AugmentConfig, Classification, EarlyStopping, History, Metric, Regression, Task,
    Trainer, TrainerConfig,
};
use zhixing_nn::{Error, Module, Result};
use zhixing_tensor::{DType, Rng, Tensor};

use trainer_support::{scalars, separable, Linear, MomentumSgd};

fn config(epochs: usize, out_dir: Option<&Path>) -> TrainerConfig {
    TrainerConfig {
        epochs,
        batch_size: 16,
        seed: 7,
        progress: false,
        log_every_steps: 5,
        out_dir: out_dir.map(Path::to_path_buf),
        ..TrainerConfig::default()
    }
}

fn sgd(model: &dyn Module, lr: f64) -> MomentumSgd {
    MomentumSgd::new(model.parameters(), lr, 0.9)
}

#[test]
fn loss_decreases_on_separable_data() {
    let (train, val) = (separable(200, 1), separable(100, 2));
    let model = Linear::new(2, 2, 3);
    let mut opt = sgd(&model, 0.05);
    let mut trainer = Trainer::new(config(8, None));
    let h = trainer
        .fit(&model, &mut opt, &Classification, &train, Some(&val))
        .unwrap();
    let losses = h.train_losses();
    assert_eq!(losses.len(), 8);
    assert!(losses[7] < 0.5 * losses[0], "{losses:?}");
    let last = h.last().unwrap();
    assert!(last.val_accuracy.unwrap() > 0.9, "{last:?}");
    assert_eq!(last.step, 8 * 13); // ceil(200 / 16) steps per epoch
    assert_eq!(h.step_losses.len(), 8 * 13);
}

#[test]
fn cross_entropy_matches_the_formula() {
    let logits = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 0.0, 0.0, 0.0], &[2, 3]).unwrap();
    let targets = Tensor::from_vec(vec![2i64, 1], &[2]).unwrap();
    let loss = Classification
        .loss(&logits, &targets)
        .unwrap()
        .item()
        .unwrap();
    let first = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() - 3.0;
    let expected = (first + 3f64.ln()) / 2.0;
    assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
    let correct = Classification.correct(&logits, &targets).unwrap();
    assert_eq!(correct, Some((1, 2))); // row 2 is a tie: argmax picks class 0
}

/// Trains a Linear layer normally, but in eval mode answers with a scripted output per
/// epoch, so the validation metric follows a script. It also keeps the weights it had
/// at each evaluation.
struct Scripted {
    inner: Linear,
    evals: Mutex<usize>,
    training: Mutex<bool>,
    output: fn(epoch: usize, rows: usize) -> Tensor,
    snapshots: Mutex<Vec<Vec<f32>>>,
}

impl Scripted {
    fn new(output: fn(usize, usize) -> Tensor) -> Scripted {
        Scripted {
            inner: Linear::new(2, 2, 5),
            evals: Mutex::new(0),
            training: Mutex::new(true),
            output,
            snapshots: Mutex::new(Vec::new()),
        }
    }
}

impl Module for Scripted {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if *self.training.lock().unwrap() {
            return self.inner.forward(x);
        }
        Ok((self.output)(*self.evals.lock().unwrap(), x.shape()[0]))
    }
    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        self.inner.visit_params(prefix, f)
    }
    fn set_training(&self, training: bool) {
        let mut t = self.training.lock().unwrap();
        if *t && !training {
            *self.evals.lock().unwrap() += 1;
            let w = self.inner.weight.to_vec::<f32>().unwrap();
            self.snapshots.lock().unwrap().push(w);
        }
        *t = training;
    }
}

/// Two columns of sqrt(loss): MSE against zero targets [rows, 2] is exactly `loss`.
fn mse_output(loss: f64, rows: usize) -> Tensor {
    Tensor::full(&[rows, 2], loss.sqrt(), DType::F32)
}

fn zero_targets(n: usize) -> TensorDataset {
    let x = separable(n, 9).inputs;
    TensorDataset::new(x, Tensor::zeros(&[n, 2], DType::F32)).unwrap()
}

fn fit_scripted(model: &Scripted, cfg: TrainerConfig) -> History {
    let data = zero_targets(32);
    let mut opt = sgd(model, 0.01);
    Trainer::new(cfg)
        .fit(model, &mut opt, &Regression, &data, Some(&data))
        .unwrap()
}

#[test]
fn early_stopping_stops_after_patience_epochs() {
    fn out(epoch: usize, rows: usize) -> Tensor {
        mse_output([1.0, 0.8, 0.85, 0.9, 0.1, 0.1][epoch - 1], rows)
    }
    let model = Scripted::new(out);
    let mut cfg = config(6, None);
    cfg.early_stopping = Some(EarlyStopping {
        metric: Metric::ValLoss,
        patience: 2,
        min_delta: 0.0,
    });
    let h = fit_scripted(&model, cfg);
    assert_eq!(h.epochs.len(), 4);
    assert!(h.stopped_early);
    assert_eq!(h.best_epoch, Some(2));
    assert!((h.epochs[1].val_loss.unwrap() - 0.8).abs() < 1e-6);
}

#[test]
fn early_stopping_respects_min_delta_and_accuracy() {
    fn out(epoch: usize, rows: usize) -> Tensor {
        mse_output([1.0, 0.95, 0.91, 0.5][epoch - 1], rows)
    }
    let model = Scripted::new(out);
    let mut cfg = config(4, None);
    cfg.early_stopping = Some(EarlyStopping {
        metric: Metric::ValLoss,
        patience: 2,
        min_delta: 0.1,
    });
    let h = fit_scripted(&model, cfg);
    assert_eq!((h.epochs.len(), h.best_epoch), (3, Some(1)));

    // Accuracy 5/10, 7/10, 7/10, 6/10: higher is better, so epoch 2 is best.
    fn logits(epoch: usize, rows: usize) -> Tensor {
        let right = [5, 7, 7, 6, 10][epoch - 1];
        let v: Vec<f32> = (0..rows)
            .flat_map(|r| if r < right { [1.0, 0.0] } else { [0.0, 1.0] })
            .collect();
        Tensor::from_vec(v, &[rows, 2]).unwrap()
    }
    let model = Scripted::new(logits);
    let mut cfg = config(5, None);
    cfg.early_stopping = Some(EarlyStopping {
        metric: Metric::ValAccuracy,
        patience: 2,
        min_delta: 0.0,
    });
    let data = separable(32, 1);
    let val = separable(10, 4);
    let val = TensorDataset::new(val.inputs, Tensor::zeros(&[10], DType::I64)).unwrap();
    let mut opt = sgd(&model, 0.01);
    let h = Trainer::new(cfg)
        .fit(&model, &mut opt, &Classification, &data, Some(&val))
        .unwrap();
    assert_eq!((h.epochs.len(), h.best_epoch), (4, Some(2)));
    assert_eq!(h.epochs[1].val_accuracy, Some(0.7));
}

#[test]
fn best_checkpoint_holds_the_best_epochs_weights() {
    fn out(epoch: usize, rows: usize) -> Tensor {
        mse_output([1.0, 0.5, 0.9, 0.95][epoch - 1], rows)
    }
    let dir = tempfile::tempdir().unwrap();
    let model = Scripted::new(out);
    let h = fit_scripted(&model, config(4, Some(dir.path())));
    assert_eq!((h.epochs.len(), h.best_epoch), (4, Some(2)));
    let best = Linear::new(2, 2, 99);
    load_module(&best, &dir.path().join("best.safetensors")).unwrap();
    let snapshots = model.snapshots.lock().unwrap();
    assert_eq!(best.weight.to_vec::<f32>().unwrap(), snapshots[1]);
    assert_ne!(snapshots[1], snapshots[3]);
    let (_, meta) = load_safetensors(&dir.path().join("best.safetensors")).unwrap();
    assert_eq!(meta["epoch"], "2");
    assert_eq!(meta["metric"], "val_loss");
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs 4 epochs straight, and 2 + resume + 2, with the optimizer `make` builds.
fn check_resume_is_exact(make: fn(&dyn Module) -> Box<dyn Optimizer>) {
    check_resume_with(make, None);
}

fn check_resume_with(make: fn(&dyn Module) -> Box<dyn Optimizer>, augment: Option<AugmentConfig>) {
    let (train, val) = (separable(100, 1), separable(40, 2));
    let mut cfg = config(4, None);
    cfg.augment = augment;
    cfg.clip_grad_norm = Some(0.5);
    cfg.schedule = Some(
        LrSchedule::new(
            0.1,
            Decay::Cosine {
                total_steps: 20,
                min_lr: 0.001,
            },
        )
        .with_warmup(3),
    );
    let fit = |trainer: &mut Trainer, model: &Linear| {
        let mut opt = make(model);
        trainer
            .fit(model, opt.as_mut(), &Classification, &train, Some(&val))
            .unwrap()
    };
    let straight_model = Linear::new(2, 2, 3);
    let straight = fit(&mut Trainer::new(cfg.clone()), &straight_model);

    let dir = tempfile::tempdir().unwrap();
    cfg.out_dir = Some(dir.path().to_path_buf());
    cfg.epochs = 2;
    let first_half = fit(&mut Trainer::new(cfg), &Linear::new(2, 2, 3));
    assert_eq!(first_half.epochs.len(), 2);

    let mut resumed = Trainer::resume(dir.path()).unwrap();
    assert_eq!(resumed.epochs_done(), 2);
    resumed.config.epochs = 4;
    let other_init = Linear::new(2, 2, 1234); // overwritten by the checkpoint
    let h = fit(&mut resumed, &other_init);

    assert_eq!(h.step_losses.len(), straight.step_losses.len());
    assert_eq!(bits(&h.step_losses), bits(&straight.step_losses));
    assert_eq!(h.epochs.len(), 4);
    for (a, b) in h.epochs.iter().zip(&straight.epochs) {
        assert_eq!(a.train_loss.to_bits(), b.train_loss.to_bits());
        assert_eq!(a.val_loss.map(f64::to_bits), b.val_loss.map(f64::to_bits));
        assert_eq!((a.lr, a.step), (b.lr, b.step));
    }
    assert_eq!(
        other_init.weight.to_vec::<f32>().unwrap(),
        straight_model.weight.to_vec::<f32>().unwrap()
    );
    let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4);
}

#[test]
fn resume_reproduces_the_uninterrupted_run_exactly() {
    check_resume_is_exact(|m| Box::new(sgd(m, 0.1)));
}

#[test]
fn resume_is_exact_with_adam() {
    check_resume_is_exact(|m| {
        let cfg = AdamConfig {
            lr: 0.05,
            ..AdamConfig::default()
        };
        Box::new(Adam::new(m.parameters(), cfg).unwrap())
    });
}

fn noise_augment(std: f32) -> ImageAugment {
    ImageAugment {
        noise_std: std,
        ..ImageAugment::default()
    }
}

#[test]
fn augmentation_touches_training_batches_only() {
    let (train, val) = (separable(100, 1), separable(40, 2));
    // lr 0: the weights never move, so both runs hold the same model throughout.
    let run = |trainer: Trainer| {
        let model = Linear::new(2, 2, 3);
        let mut opt = sgd(&model, 0.0);
        let mut trainer = trainer;
        let h = trainer
            .fit(&model, &mut opt, &Classification, &train, Some(&val))
            .unwrap();
        let plain = evaluate(&model, &Classification, &val, 256).unwrap();
        (h, plain)
    };
    let (clean, clean_eval) = run(Trainer::new(config(2, None)));
    let noisy_trainer = || Trainer::new(config(2, None)).with_augment(noise_augment(100.0), (1, 2));
    let (noisy, noisy_eval) = run(noisy_trainer());
    assert_eq!(clean_eval, noisy_eval);
    for (c, n) in clean.epochs.iter().zip(&noisy.epochs) {
        // Training saw inputs with noise of std 100: a much larger loss.
        assert!(
            n.train_loss > 2.0 * c.train_loss,
            "{} vs {}",
            n.train_loss,
            c.train_loss
        );
        // Validation did not: exactly `evaluate` on the raw data.
        assert_eq!(n.val_loss, Some(noisy_eval.loss));
        assert_eq!(n.val_accuracy, noisy_eval.accuracy);
        assert_eq!(c.val_loss, n.val_loss);
    }
    // Seeded: the same config gives the same augmented batches.
    let (again, _) = run(noisy_trainer());
    assert_eq!(bits(&again.step_losses), bits(&noisy.step_losses));
    // Another seed gives other noise.
    let mut cfg = config(2, None);
    cfg.seed = 8;
    let (other, _) = run(Trainer::new(cfg).with_augment(noise_augment(100.0), (1, 2)));
    assert_ne!(bits(&other.step_losses), bits(&noisy.step_losses));
    // A shape that does not fit the inputs is an error, not a panic.
    let model = Linear::new(2, 2, 3);
    let mut opt = sgd(&model, 0.0);
    let mut bad = Trainer::new(config(1, None)).with_augment(noise_augment(1.0), (3, 3));
    assert!(bad
        .fit(&model, &mut opt, &Classification, &train, Some(&val))
        .is_err());
}

#[test]
fn resume_is_exact_with_augmentation() {
    let augment = AugmentConfig {
        image: ImageAugment {
            noise_std: 0.5,
            hflip: true,
            ..ImageAugment::default()
        },
        image_shape: (1, 2),
    };
    check_resume_with(|m| Box::new(sgd(m, 0.1)), Some(augment));
}

/// Linear → ReLU → Dropout(0.3) → Linear from the library's layers, initialized from
/// `seed` (weights and the Dropout's generator alike).
fn dropout_mlp(seed: u64) -> Sequential {
    let mut rng = Rng::seed(seed);
    Sequential::new()
        .add(layers::Linear::new(2, 16, &mut rng).unwrap())
        .add(ReLU)
        .add(Dropout::new(0.3, &mut rng).unwrap())
        .add(layers::Linear::new(16, 2, &mut rng).unwrap())
}

/// Every parameter's values as bits, by name.
fn weight_bits(model: &dyn Module) -> Vec<(String, Vec<u32>)> {
    model
        .named_parameters()
        .into_iter()
        .map(|(n, t)| {
            let v = t.to_vec::<f32>().unwrap();
            (n, v.iter().map(|x| x.to_bits()).collect())
        })
        .collect()
}

fn fit_mlp(
    trainer: &mut Trainer,
    model: &dyn Module,
    make: fn(&dyn Module) -> Box<dyn Optimizer>,
) -> Result<History> {
    let (train, val) = (separable(100, 1), separable(40, 2));
    let mut opt = make(model);
    trainer.fit(model, opt.as_mut(), &Classification, &train, Some(&val))
}

/// Trains `dropout_mlp` for 2 epochs into a fresh folder and returns it.
fn dropout_checkpoint(make: fn(&dyn Module) -> Box<dyn Optimizer>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut trainer = Trainer::new(config(2, Some(dir.path())));
    fit_mlp(&mut trainer, &dropout_mlp(3), make).unwrap();
    dir
}

/// With Dropout in the model, 4 epochs straight and 2 + resume + 2 agree bit for bit:
/// the checkpoint carries the Dropout generator's position.
fn check_dropout_resume_is_exact(make: fn(&dyn Module) -> Box<dyn Optimizer>) {
    let straight_model = dropout_mlp(3);
    let straight = fit_mlp(&mut Trainer::new(config(4, None)), &straight_model, make).unwrap();

    let dir = dropout_checkpoint(make);
    let (_, meta) = load_safetensors(&dir.path().join("last.safetensors")).unwrap();
    let run: serde_json::Value = serde_json::from_str(&meta["zhixing.trainer"]).unwrap();
    let saved: Vec<&String> = run["module_rngs"].as_object().unwrap().keys().collect();
    assert_eq!(saved, ["2.rng"]);
    // The state dict is unchanged: parameters only, PyTorch's names.
    let names: Vec<String> = straight_model
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["0.weight", "0.bias", "3.weight", "3.bias"]);

    let mut resumed = Trainer::resume(dir.path()).unwrap();
    resumed.config.epochs = 4;
    let other_init = dropout_mlp(1234); // weights and generator overwritten on resume
    let h = fit_mlp(&mut resumed, &other_init, make).unwrap();

    assert_eq!(h.step_losses.len(), straight.step_losses.len());
    assert_eq!(bits(&h.step_losses), bits(&straight.step_losses));
    for (a, b) in h.epochs.iter().zip(&straight.epochs) {
        assert_eq!(a.train_loss.to_bits(), b.train_loss.to_bits());
        assert_eq!(a.val_loss.map(f64::to_bits), b.val_loss.map(f64::to_bits));
    }
    assert_eq!(weight_bits(&other_init), weight_bits(&straight_model));
}

fn real_sgd(m: &dyn Module) -> Box<dyn Optimizer> {
    let cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..SgdConfig::default()
    };
    Box::new(Sgd::new(m.parameters(), cfg).unwrap())
}

#[test]
fn resume_is_exact_with_dropout_and_sgd() {
    check_dropout_resume_is_exact(real_sgd);
}

#[test]
fn resume_is_exact_with_dropout_and_adam() {
    check_dropout_resume_is_exact(|m| {
        let cfg = AdamConfig {
            lr: 0.05,
            ..AdamConfig::default()
        };
        Box::new(Adam::new(m.parameters(), cfg).unwrap())
    });
}

#[test]
fn resume_rejects_a_model_with_other_random_generators() {
    let dir = dropout_checkpoint(real_sgd);
    // Same parameter names as `dropout_mlp`, but no Dropout: no generator "2.rng".
    let mut rng = Rng::seed(3);
    let model = Sequential::new()
        .add(layers::Linear::new(2, 16, &mut rng).unwrap())
        .add(ReLU)
        .add(Identity)
        .add(layers::Linear::new(16, 2, &mut rng).unwrap());
    let before = weight_bits(&model);
    let mut resumed = Trainer::resume(dir.path()).unwrap();
    resumed.config.epochs = 3;
    let err = fit_mlp(&mut resumed, &model, real_sgd).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("random generators") && msg.contains("2.rng"),
        "{msg}"
    );
    assert_eq!(
        weight_bits(&model),
        before,
        "nothing is loaded on a mismatch"
    );
}

#[test]
fn checkpoints_without_module_generators_still_resume() {
    let dir = dropout_checkpoint(real_sgd);
    // Rewrite the checkpoint as written before the model's generators were saved.
    let path = dir.path().join("last.safetensors");
    let (tensors, mut meta) = load_safetensors(&path).unwrap();
    let mut run: serde_json::Value = serde_json::from_str(&meta["zhixing.trainer"]).unwrap();
    assert!(run.as_object_mut().unwrap().remove("module_rngs").is_some());
    meta.insert("zhixing.trainer".into(), run.to_string());
    save_safetensors(&path, &tensors, &meta).unwrap();

    let mut resumed = Trainer::resume(dir.path()).unwrap();
    resumed.config.epochs = 3;
    let model = dropout_mlp(1234);
    let h = fit_mlp(&mut resumed, &model, real_sgd).unwrap();
    assert_eq!(h.epochs.len(), 3);
    assert_eq!(resumed.epochs_done(), 3);
}

#[test]
fn divergence_is_reported_with_epoch_and_step() {
    let data = separable(64, 1);
    let targets = data
        .inputs
        .sum(&[1], true)
        .unwrap()
        .mul_scalar(100.0)
        .unwrap();
    let data = TensorDataset::new(data.inputs, targets).unwrap();
    let model = Linear::new(2, 1, 3);
    let mut opt = MomentumSgd::new(model.parameters(), 1e10, 0.0);
    let err = Trainer::new(config(3, None))
        .fit(&model, &mut opt, &Regression, &data, None)
        .unwrap_err();
    let Error::Diverged(msg) = &err else {
        panic!("expected Diverged, got {err}")
    };
    assert!(msg.contains("epoch 1, step "), "{msg}");
    assert!(msg.contains("learning rate"), "{msg}");
}

fn fit_with_outputs(epochs: usize) -> (tempfile::TempDir, History) {
    let dir = tempfile::tempdir().unwrap();
    let (train, val) = (separable(64, 1), separable(32, 2));
    let model = Linear::new(2, 2, 3);
    let mut opt = sgd(&model, 0.05);
    let h = Trainer::new(config(epochs, Some(dir.path())))
        .fit(&model, &mut opt, &Classification, &train, Some(&val))
        .unwrap();
    (dir, h)
}

#[test]
fn metric_logs_have_one_row_per_epoch() {
    let (dir, h) = fit_with_outputs(3);
    let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("epoch,step,train_loss,train_accuracy,val_loss"));
    assert!(lines[3].starts_with("3,12,"), "{}", lines[3]);
    let jsonl = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    for key in [
        "epoch",
        "step",
        "train_loss",
        "val_accuracy",
        "lr",
        "samples_per_sec",
    ] {
        assert!(rows[2].get(key).is_some(), "{key} missing in {}", rows[2]);
    }
    assert_eq!(rows[2]["train_loss"].as_f64(), Some(h.epochs[2].train_loss));
    assert!(dir.path().join("config.json").is_file());
}

#[test]
fn loss_curves_are_written_as_png_and_svg() {
    let (dir, _) = fit_with_outputs(3);
    let png = std::fs::read(dir.path().join("loss.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let svg = std::fs::read_to_string(dir.path().join("loss.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("epoch") && svg.contains("val loss"));
}

fn event_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("events.out.tfevents."))
        .expect("an event file")
}

#[test]
fn tensorboard_events_parse_back() {
    let (dir, h) = fit_with_outputs(3);
    let (version, values) = scalars(&event_file(dir.path()));
    assert_eq!(version, "brain.Event:2");
    for r in &h.epochs {
        let find = |tag: &str| {
            values
                .iter()
                .find(|(s, t, _)| *s == r.step as u64 && t == tag)
                .map(|x| x.2)
        };
        assert_eq!(find("train/loss"), Some(r.train_loss as f32));
        assert_eq!(find("val/loss"), r.val_loss.map(|v| v as f32));
        assert_eq!(find("val/accuracy"), r.val_accuracy.map(|v| v as f32));
    }
    // log_every_steps = 5: step losses at steps 5 and 10 of 12.
    let steps: Vec<u64> = values
        .iter()
        .filter(|v| v.1 == "train/step_loss")
        .map(|v| v.0)
        .collect();
    assert_eq!(steps, vec![5, 10]);
    assert_eq!(
        values.iter().find(|v| v.1 == "train/step_loss").unwrap().2,
        h.step_losses[4] as f32
    );
}

#[test]
fn config_reads_from_partial_json() {
    let json = r#"{"epochs": 3, "early_stopping": {"metric": "val_accuracy", "patience": 2},
                   "schedule": {"base_lr": 0.1, "warmup_steps": 2, "decay": {"kind": "constant"}}}"#;
    let cfg: TrainerConfig = serde_json::from_str(json).unwrap();
    assert_eq!(cfg.epochs, 3);
    assert_eq!(cfg.batch_size, TrainerConfig::default().batch_size);
    let es = cfg.early_stopping.unwrap();
    assert_eq!(
        (es.metric, es.patience, es.min_delta),
        (Metric::ValAccuracy, 2, 0.0)
    );
    assert_eq!(cfg.schedule.unwrap().lr_at(0), 0.05);
}

#[test]
fn bad_settings_are_config_errors() {
    let data = separable(8, 1);
    let model = Linear::new(2, 2, 3);
    let mut opt = sgd(&model, 0.1);
    let mut cfg = config(1, None);
    cfg.batch_size = 0;
    let err = Trainer::new(cfg).fit(&model, &mut opt, &Classification, &data, None);
    assert!(err.unwrap_err().to_string().contains("batch_size"));
    let mut cfg = config(1, None);
    cfg.early_stopping = Some(EarlyStopping {
        metric: Metric::ValLoss,
        patience: 1,
        min_delta: 0.0,
    });
    let err = Trainer::new(cfg).fit(&model, &mut opt, &Classification, &data, None);
    assert!(err.unwrap_err().to_string().contains("validation"));
}
