//! The Trainer: one loop for every neural model.
//!
//! Per epoch: shuffle with a seeded generator, run mini-batches (forward, loss, backward,
//! clip, learning-rate schedule, optimizer step), evaluate on the validation set, log,
//! checkpoint, and stop early when the watched metric stops improving. A run written to
//! `out_dir` can be resumed from `last.safetensors` and continues bit for bit as if it had
//! never stopped.

mod checkpoint;
mod config;
mod history;
mod plot;
mod progress;
mod task;
pub mod tensorboard;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use zhixing_data::{Batch, ImageAugment, TensorDataset};
use zhixing_tensor::{no_grad, Rng, Tensor};

pub use checkpoint::{BEST_FILE, LAST_FILE};
pub use config::{AugmentConfig, EarlyStopping, Metric, TrainerConfig};
pub use history::{EpochRecord, History};
pub use plot::{plot_history, register_font as register_plot_font};
pub use task::{Classification, Regression, Task};

use crate::optim::{Optimizer, OptimizerState};
use crate::state::{load_state_dict, write_atomic};
use crate::{Error, Module, Result};
use checkpoint::{rng_state, RunState};
use progress::Progress;
use tensorboard::EventWriter;

/// Mean loss (and accuracy, when the task has one) over a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: Option<f64>,
}

/// Running sums over the batches of an epoch or an evaluation.
#[derive(Default)]
struct Totals {
    loss_sum: f64,
    rows: usize,
    correct: usize,
    counted: usize,
    has_accuracy: bool,
}

impl Totals {
    fn add(&mut self, loss: f64, rows: usize, correct: Option<(usize, usize)>) {
        self.loss_sum += loss * rows as f64;
        self.rows += rows;
        if let Some((right, total)) = correct {
            self.has_accuracy = true;
            self.correct += right;
            self.counted += total;
        }
    }

    fn finish(&self) -> Evaluation {
        Evaluation {
            loss: self.loss_sum / self.rows.max(1) as f64,
            accuracy: (self.has_accuracy && self.counted > 0)
                .then(|| self.correct as f64 / self.counted as f64),
        }
    }
}

fn data_error(e: zhixing_data::Error) -> Error {
    match e {
        zhixing_data::Error::Tensor(t) => Error::Tensor(t),
        other => Error::config("dataset", other.to_string()),
    }
}

/// The model's mean loss and accuracy on `data`, in eval mode and without recording
/// gradients. The model is left in eval mode.
pub fn evaluate(
    model: &dyn Module,
    task: &dyn Task,
    data: &TensorDataset,
    batch_size: usize,
) -> Result<Evaluation> {
    if data.is_empty() {
        return Err(Error::config(
            "dataset",
            "cannot evaluate on an empty dataset",
        ));
    }
    model.eval();
    no_grad(|| {
        let mut totals = Totals::default();
        for batch in data.batches(batch_size, None).map_err(data_error)? {
            let batch = batch.map_err(data_error)?;
            let output = model.forward(&batch.inputs)?;
            let loss = task.loss(&output, &batch.targets)?.item()?;
            let correct = task.correct(&output, &batch.targets)?;
            totals.add(loss, batch.inputs.shape()[0], correct);
        }
        Ok(totals.finish())
    })
}

/// What `Trainer::resume` read, waiting for the model and optimizer of the next `fit`.
struct Pending {
    /// The checkpoint file, for errors.
    path: PathBuf,
    model: Vec<(String, Tensor)>,
    optimizer: OptimizerState,
    /// The model's generators by name (None: the checkpoint saved none).
    rngs: Option<BTreeMap<String, Rng>>,
}

/// Drives training: holds the config and the run's progress (epoch, step, RNG, history),
/// so `fit` can be called again to continue, and a run can be resumed from disk.
pub struct Trainer {
    pub config: TrainerConfig,
    rng: Rng,
    epochs_done: usize,
    global_step: usize,
    history: History,
    best_value: Option<f64>,
    bad_epochs: usize,
    /// Model, optimizer and model-RNG state from `resume`, loaded at the start of the
    /// next `fit`.
    pending: Option<Pending>,
    events: Option<EventWriter>,
}

impl Trainer {
    pub fn new(config: TrainerConfig) -> Trainer {
        Trainer {
            rng: Rng::seed(config.seed),
            config,
            epochs_done: 0,
            global_step: 0,
            history: History::default(),
            best_value: None,
            bad_epochs: 0,
            pending: None,
            events: None,
        }
    }

    /// Continues the run saved in `path` (a `last.safetensors` file or the run's folder).
    /// The next `fit` loads the saved model and optimizer state (and the positions of the
    /// model's random generators, e.g. Dropout's) into the ones it is given and goes on
    /// from the saved epoch; raise `config.epochs` to train further.
    pub fn resume(path: impl AsRef<Path>) -> Result<Trainer> {
        let path = path.as_ref();
        let file = if path.is_dir() {
            path.join(LAST_FILE)
        } else {
            path.to_path_buf()
        };
        let loaded = checkpoint::load_last(&file)?;
        let mut config = loaded.run.config;
        // The run continues where its checkpoint now lives, even if the folder moved.
        config.out_dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => Some(p.to_path_buf()),
            _ => Some(PathBuf::from(".")),
        };
        Ok(Trainer {
            config,
            rng: loaded.rng,
            epochs_done: loaded.run.epochs_done,
            global_step: loaded.run.global_step,
            history: loaded.run.history,
            best_value: loaded.run.best_value,
            bad_epochs: loaded.run.bad_epochs,
            pending: Some(Pending {
                path: file,
                model: loaded.model,
                optimizer: loaded.optimizer,
                rngs: loaded.module_rngs,
            }),
            events: None,
        })
    }

    /// Augments every training batch with `aug` (images of `image_shape` = (H, W));
    /// validation and `evaluate` always see the data as it is. Stored in the config, so
    /// checkpoints and resumed runs keep it.
    pub fn with_augment(mut self, aug: ImageAugment, image_shape: (usize, usize)) -> Trainer {
        self.config.augment = Some(AugmentConfig {
            image: aug,
            image_shape,
        });
        self
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn global_step(&self) -> usize {
        self.global_step
    }

    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Trains `model` until `config.epochs` epochs are done or early stopping ends the
    /// run; returns the whole run's history (including epochs before a resume).
    pub fn fit(
        &mut self,
        model: &dyn Module,
        optimizer: &mut dyn Optimizer,
        task: &dyn Task,
        train: &TensorDataset,
        val: Option<&TensorDataset>,
    ) -> Result<History> {
        self.check(train, val)?;
        if let Some(p) = self.pending.take() {
            if let Some(rngs) = &p.rngs {
                checkpoint::check_module_rngs(model, rngs, &p.path)?;
            }
            load_state_dict(model, &p.model)?;
            optimizer.load_state(&p.optimizer)?;
            if let Some(rngs) = &p.rngs {
                checkpoint::load_module_rngs(model, rngs);
            }
        }
        self.open_outputs()?;
        while self.epochs_done < self.config.epochs && !self.history.stopped_early {
            let epoch = self.epochs_done + 1;
            let record = self.run_epoch(model, optimizer, task, train, val, epoch)?;
            self.end_epoch(model, &*optimizer, record)?;
        }
        if let Some(dir) = &self.config.out_dir {
            plot_history(&self.history, &dir.join("loss.png"), &dir.join("loss.svg"))?;
        }
        Ok(self.history.clone())
    }

    fn check(&self, train: &TensorDataset, val: Option<&TensorDataset>) -> Result<()> {
        self.config.validate()?;
        if train.is_empty() {
            return Err(Error::config("training set", "is empty"));
        }
        if val.is_some_and(|v| v.is_empty()) {
            return Err(Error::config("validation set", "is empty"));
        }
        if self.config.early_stopping.is_some() && val.is_none() {
            return Err(Error::config(
                "early_stopping",
                "needs a validation set: pass `val` to fit",
            ));
        }
        Ok(())
    }

    fn out_file(&self, name: &str) -> Option<PathBuf> {
        self.config.out_dir.as_ref().map(|d| d.join(name))
    }

    /// Writes config.json and opens a TensorBoard event file when there is an out_dir.
    fn open_outputs(&mut self) -> Result<()> {
        let Some(dir) = self.config.out_dir.clone() else {
            return Ok(());
        };
        let json = serde_json::to_string_pretty(&self.config)
            .map_err(|e| Error::config("config", e.to_string()))?;
        write_atomic(&dir.join("config.json"), json.as_bytes())?;
        if self.events.is_none() {
            self.events = Some(EventWriter::create(&dir)?);
        }
        Ok(())
    }

    fn run_epoch(
        &mut self,
        model: &dyn Module,
        optimizer: &mut dyn Optimizer,
        task: &dyn Task,
        train: &TensorDataset,
        val: Option<&TensorDataset>,
        epoch: usize,
    ) -> Result<EpochRecord> {
        let start = Instant::now();
        let (train_eval, train_secs) = self.train_epoch(model, optimizer, task, train, epoch)?;
        let val_eval = match val {
            Some(v) => Some(evaluate(model, task, v, self.config.eval_batch_size)?),
            None => None,
        };
        model.train();
        Ok(EpochRecord {
            epoch,
            step: self.global_step,
            train_loss: train_eval.loss,
            train_accuracy: train_eval.accuracy,
            val_loss: val_eval.map(|e| e.loss),
            val_accuracy: val_eval.and_then(|e| e.accuracy),
            lr: optimizer.lr(),
            seconds: start.elapsed().as_secs_f64(),
            samples_per_sec: train.len() as f64 / train_secs.max(1e-9),
        })
    }

    /// One pass over the training set: (mean loss and accuracy, seconds).
    fn train_epoch(
        &mut self,
        model: &dyn Module,
        optimizer: &mut dyn Optimizer,
        task: &dyn Task,
        train: &TensorDataset,
        epoch: usize,
    ) -> Result<(Evaluation, f64)> {
        model.train();
        let params = model.parameters();
        let rng = self.config.shuffle.then_some(&mut self.rng);
        let batches = train
            .batches(self.config.batch_size, rng)
            .map_err(data_error)?;
        let progress = Progress::new(
            self.config.progress,
            batches.num_batches(),
            epoch,
            self.config.epochs,
        );
        let start = Instant::now();
        let mut totals = Totals::default();
        for (i, batch) in batches.enumerate() {
            let batch = batch.map_err(data_error)?;
            let rows = batch.inputs.shape()[0];
            let (loss, correct) =
                self.train_step(model, optimizer, task, &params, &batch, (epoch, i + 1))?;
            totals.add(loss, rows, correct);
            progress.step(loss, totals.rows as f64 / start.elapsed().as_secs_f64());
        }
        let secs = start.elapsed().as_secs_f64();
        let result = totals.finish();
        progress.finish(format!(
            "loss {:.4} · {:.0} samples/s",
            result.loss,
            totals.rows as f64 / secs
        ));
        Ok((result, secs))
    }

    /// forward → loss → backward → clip → lr → step. `at` is (epoch, step in epoch).
    fn train_step(
        &mut self,
        model: &dyn Module,
        optimizer: &mut dyn Optimizer,
        task: &dyn Task,
        params: &[Tensor],
        batch: &Batch,
        at: (usize, usize),
    ) -> Result<(f64, Option<(usize, usize)>)> {
        model.zero_grad();
        optimizer.zero_grad();
        let augmented = self.augment(&batch.inputs)?;
        let output = model.forward(augmented.as_ref().unwrap_or(&batch.inputs))?;
        let loss = task.loss(&output, &batch.targets)?;
        let value = loss.item()?;
        if !value.is_finite() {
            return Err(self.diverged("the loss", value, at, optimizer.lr()));
        }
        let correct = no_grad(|| task.correct(&output, &batch.targets))?;
        loss.backward()?;
        if let Some(max_norm) = self.config.clip_grad_norm {
            let norm = crate::clip::clip_grad_norm(params, max_norm, 2.0)?;
            if !norm.is_finite() {
                return Err(self.diverged("the gradient norm", norm, at, optimizer.lr()));
            }
        }
        if let Some(schedule) = &self.config.schedule {
            optimizer.set_lr(schedule.lr_at(self.global_step));
        }
        optimizer.step()?;
        self.global_step += 1;
        self.history.step_losses.push(value);
        self.log_step(value, optimizer.lr())?;
        Ok((value, correct))
    }

    /// The training inputs augmented when the config says so, with a generator that
    /// depends only on (seed, global step): nothing extra to checkpoint for exact resume.
    fn augment(&self, inputs: &Tensor) -> Result<Option<Tensor>> {
        let Some(a) = &self.config.augment else {
            return Ok(None);
        };
        let step = self.global_step as u64 + 1;
        let mut rng = Rng::seed(self.config.seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let out = a
            .image
            .apply(inputs, a.image_shape, &mut rng)
            .map_err(data_error)?;
        Ok(Some(out))
    }

    fn diverged(&self, what: &str, value: f64, at: (usize, usize), lr: f64) -> Error {
        Error::Diverged(format!(
            "training diverged: {what} is {value} at epoch {}, step {} (global step {}); \
             lower the learning rate (now {lr}) or set clip_grad_norm",
            at.0,
            at.1,
            self.global_step + 1
        ))
    }

    fn log_step(&mut self, loss: f64, lr: f64) -> Result<()> {
        let every = self.config.log_every_steps;
        match &mut self.events {
            Some(ev) if every > 0 && self.global_step.is_multiple_of(every) => ev.add_scalars(
                self.global_step,
                &[("train/step_loss", loss as f32), ("lr", lr as f32)],
            ),
            _ => Ok(()),
        }
    }

    /// Records the epoch, tracks the best metric and early stopping, writes outputs.
    fn end_epoch(
        &mut self,
        model: &dyn Module,
        optimizer: &dyn Optimizer,
        record: EpochRecord,
    ) -> Result<()> {
        let (metric, value) = self.watched(&record)?;
        let min_delta = self
            .config
            .early_stopping
            .as_ref()
            .map_or(0.0, |e| e.min_delta);
        let improved = match (self.best_value, metric) {
            (None, _) => true,
            (Some(best), Some(m)) => m.improves(value, best, min_delta),
            (Some(best), None) => value < best, // train loss: no early stopping here
        };
        let epoch = record.epoch;
        self.history.epochs.push(record);
        self.epochs_done = epoch;
        if improved {
            self.best_value = Some(value);
            self.bad_epochs = 0;
            self.history.best_epoch = Some(epoch);
            if let Some(path) = self.out_file(BEST_FILE) {
                let name = metric.map_or("train_loss", Metric::name);
                checkpoint::save_best(&path, model, epoch, name, value)?;
            }
        } else {
            self.bad_epochs += 1;
            // Keras semantics: stop after `patience` epochs in a row without improvement.
            let patience = self.config.early_stopping.as_ref().map(|e| e.patience);
            if patience.is_some_and(|p| self.bad_epochs >= p) && epoch < self.config.epochs {
                self.history.stopped_early = true;
            }
        }
        self.write_outputs(model, optimizer)
    }

    /// The metric that decides the best epoch: early stopping's, else val loss, else
    /// train loss (metric None).
    fn watched(&self, r: &EpochRecord) -> Result<(Option<Metric>, f64)> {
        let metric = match &self.config.early_stopping {
            Some(es) => es.metric,
            None if r.val_loss.is_some() => Metric::ValLoss,
            None => return Ok((None, r.train_loss)),
        };
        let value = match metric {
            Metric::ValLoss => r.val_loss,
            Metric::ValAccuracy => r.val_accuracy,
        };
        let value = value.ok_or_else(|| {
            Error::config(
                "early_stopping.metric",
                format!("{} is not computed by this task", metric.name()),
            )
        })?;
        Ok((Some(metric), value))
    }

    fn write_outputs(&mut self, model: &dyn Module, optimizer: &dyn Optimizer) -> Result<()> {
        let Some(dir) = self.config.out_dir.clone() else {
            return Ok(());
        };
        let run = RunState {
            version: 1,
            config: self.config.clone(),
            epochs_done: self.epochs_done,
            global_step: self.global_step,
            rng_state: rng_state(&self.rng),
            history: self.history.clone(),
            best_value: self.best_value,
            bad_epochs: self.bad_epochs,
            optim_scalar_names: Vec::new(),
            module_rngs: None,
        };
        checkpoint::save_last(&dir.join(LAST_FILE), model, &optimizer.state(), &run)?;
        self.history.write_logs(&dir)?;
        if let (Some(ev), Some(r)) = (&mut self.events, self.history.last()) {
            let mut scalars = vec![("train/loss", r.train_loss as f32), ("lr", r.lr as f32)];
            let optional = [
                ("train/accuracy", r.train_accuracy),
                ("val/loss", r.val_loss),
                ("val/accuracy", r.val_accuracy),
            ];
            scalars.extend(
                optional
                    .iter()
                    .filter_map(|(t, v)| v.map(|v| (*t, v as f32))),
            );
            ev.add_scalars(r.step, &scalars)?;
            ev.flush()?;
        }
        Ok(())
    }
}
