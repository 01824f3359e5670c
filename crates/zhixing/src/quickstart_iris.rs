//! Second stop of the tour: a small MLP on the built-in Iris table, trained by the Trainer
//! (mini-batches, validation each epoch, progress bar, metrics log and curve picture).

use std::path::Path;

use anyhow::{bail, Context, Result};
use zhixing_data::TensorDataset;
use zhixing_nn::layers::{Linear, ReLU, Sequential};
use zhixing_nn::optim::{Adam, AdamConfig};
use zhixing_nn::trainer::{Classification, Trainer, TrainerConfig};
use zhixing_nn::Module;
use zhixing_tensor::{Rng, Tensor};

/// Fisher's Iris data as shipped in `data/iris.csv` (see data/README.md).
const IRIS_CSV: &str = include_str!("../../../data/iris.csv");
const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// Rows of (4 measurements, species index) from the built-in CSV.
fn parse_iris() -> Result<Vec<([f32; 4], i64)>> {
    let mut rows = Vec::new();
    for (i, line) in IRIS_CSV.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 5 {
            bail!(
                "data/iris.csv line {}: expected 5 fields, got {}",
                i + 1,
                fields.len()
            );
        }
        let mut x = [0.0f32; 4];
        for (j, v) in fields[..4].iter().enumerate() {
            x[j] = v
                .parse()
                .with_context(|| format!("data/iris.csv line {}: field {}", i + 1, j + 1))?;
        }
        let label = SPECIES
            .iter()
            .position(|s| *s == fields[4])
            .with_context(|| {
                format!(
                    "data/iris.csv line {}: unknown species {}",
                    i + 1,
                    fields[4]
                )
            })?;
        rows.push((x, label as i64));
    }
    Ok(rows)
}

/// A seeded 80/20 split, features standardized with the training split's mean and std.
fn split(rows: &[([f32; 4], i64)], rng: &mut Rng) -> Result<(TensorDataset, TensorDataset)> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    rng.shuffle(&mut order);
    let n_train = rows.len() * 4 / 5;
    let mut mean = [0.0f32; 4];
    let mut std = [0.0f32; 4];
    for &i in &order[..n_train] {
        for (m, &v) in mean.iter_mut().zip(&rows[i].0) {
            *m += v / n_train as f32;
        }
    }
    for &i in &order[..n_train] {
        for ((s, &v), &m) in std.iter_mut().zip(&rows[i].0).zip(&mean) {
            *s += (v - m).powi(2) / n_train as f32;
        }
    }
    let std = std.map(|v| v.sqrt().max(1e-6));
    let make = |idx: &[usize]| -> Result<TensorDataset> {
        let x: Vec<f32> = idx
            .iter()
            .flat_map(|&i| (0..4).map(move |j| (rows[i].0[j] - mean[j]) / std[j]))
            .collect();
        let y: Vec<i64> = idx.iter().map(|&i| rows[i].1).collect();
        let inputs = Tensor::from_vec(x, &[idx.len(), 4])?;
        Ok(TensorDataset::new(
            inputs,
            Tensor::from_vec(y, &[idx.len()])?,
        )?)
    };
    Ok((make(&order[..n_train])?, make(&order[n_train..])?))
}

pub fn run(out: &Path) -> Result<()> {
    let mut rng = Rng::seed(7);
    let (train, val) = split(&parse_iris()?, &mut rng)?;
    println!(
        "Iris: {} training and {} validation flowers, a 4-16-3 ReLU MLP trained by the Trainer (Adam, batch 16)",
        train.len(),
        val.len()
    );
    let model = Sequential::new()
        .add(Linear::new(4, 16, &mut rng)?)
        .add(ReLU)
        .add(Linear::new(16, 3, &mut rng)?);
    let config = TrainerConfig {
        epochs: 60,
        batch_size: 16,
        out_dir: Some(out.to_path_buf()),
        ..Default::default()
    };
    let adam = AdamConfig {
        lr: 0.01,
        ..Default::default()
    };
    let mut optimizer = Adam::new(model.parameters(), adam)?;
    let history =
        Trainer::new(config).fit(&model, &mut optimizer, &Classification, &train, Some(&val))?;
    println!("epoch  train loss  train acc  val loss  val acc");
    for r in history
        .epochs
        .iter()
        .filter(|r| r.epoch == 1 || r.epoch % 10 == 0)
    {
        println!(
            "{:>5}  {:>10.4}  {:>8.1}%  {:>8.4}  {:>6.1}%",
            r.epoch,
            r.train_loss,
            100.0 * r.train_accuracy.unwrap_or(f64::NAN),
            r.val_loss.unwrap_or(f64::NAN),
            100.0 * r.val_accuracy.unwrap_or(f64::NAN)
        );
    }
    let last = history.last().context("no epoch ran")?;
    println!(
        "\nvalidation accuracy {:.1}%; loss curves in {}, metrics in {}",
        100.0 * last.val_accuracy.unwrap_or(f64::NAN),
        out.join("loss.png").display(),
        out.join("metrics.csv").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iris_parses_and_splits_without_leaking_validation_rows() {
        let rows = parse_iris().unwrap();
        assert_eq!(rows.len(), 150);
        assert_eq!(rows.iter().filter(|r| r.1 == 2).count(), 50);
        let (train, val) = split(&rows, &mut Rng::seed(7)).unwrap();
        assert_eq!((train.len(), val.len()), (120, 30));
        // Standardized with training statistics: the training mean is ~0, std ~1.
        let means = train
            .inputs
            .mean(&[0], false)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert!(means.iter().all(|m| m.abs() < 1e-5), "{means:?}");
    }

    #[test]
    fn iris_mlp_learns() {
        let dir = std::env::temp_dir().join(format!("zhixing-quickstart-{}", std::process::id()));
        run(&dir).unwrap();
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        let last = csv.lines().last().unwrap();
        let val_acc: f64 = last.split(',').nth(5).unwrap().parse().unwrap();
        assert!(val_acc >= 0.9, "validation accuracy {val_acc}");
        assert!(dir.join("loss.png").exists() && dir.join("loss.svg").exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
