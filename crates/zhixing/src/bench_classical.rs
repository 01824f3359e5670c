//! `zhixing bench classical`: fit and predict throughput (rows/s) of every classical
//! estimator on the same workloads as benches/reference/bench_sklearn.py — Digits
//! (1797 × 64) for the classifiers, k-means and PCA, Diabetes (442 × 10) for the
//! regressors, and a synthetic 100 000 × 50 set for the forest, KNN, k-means and least
//! squares (closed form and gradient descent).

use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use zhixing_data::pipeline::{FeatureTransform, PipelineOptions, TransformOptions};
use zhixing_data::schema::{infer_schema, SchemaOptions};
use zhixing_data::{read_table, ReadOptions};
use zhixing_ml::cluster::{KMeans, KMeansConfig};
use zhixing_ml::decomposition::{PcaConfig, PCA};
use zhixing_ml::linear::{
    ElasticNet, ElasticNetConfig, LinearConfig, LinearRegression, LinearSolver, LogisticConfig,
    LogisticRegression,
};
use zhixing_ml::naive_bayes::{GaussianConfig, GaussianNB};
use zhixing_ml::neighbors::{KNeighborsClassifier, KnnConfig};
use zhixing_ml::svm::{SvmClassifier, SvmConfig};
use zhixing_ml::tree::{DecisionTreeClassifier, ForestConfig, RandomForestClassifier, TreeConfig};
use zhixing_ml::Estimator;
use zhixing_tensor::{DType, Rng, Tensor};

use crate::bench::{report, time_calls, Args};

/// Standardized features (f64) and target of a shipped table.
fn load(name: &str, target: &str) -> Result<(Tensor, Tensor)> {
    let table = read_table(format!("data/{name}.csv"), &ReadOptions::default())?;
    let schema = infer_schema(&table, &SchemaOptions::new(target))?;
    let rows: Vec<usize> = (0..table.len()).collect();
    let ft = FeatureTransform::fit(&table, &schema, &rows, &PipelineOptions::default())?;
    let f = ft.transform(
        &table,
        &TransformOptions {
            require_target: true,
            ..Default::default()
        },
    )?;
    Ok((f.x.to_dtype(DType::F64)?, f.y.expect("target required")))
}

/// Gaussian features, a linearly separable label and a linear target with unit noise:
/// the shape of the reference's set.
fn synthetic(n: usize, f: usize) -> Result<(Tensor, Tensor, Tensor)> {
    let mut rng = Rng::seed(0);
    let x = Tensor::randn(&[n, f], DType::F64, &mut rng);
    let w = Tensor::randn(&[f, 1], DType::F64, &mut rng);
    let score = x.matmul(&w)?.to_vec::<f64>()?;
    let y: Vec<i64> = score.iter().map(|s| i64::from(*s > 0.0)).collect();
    let noise = Tensor::randn(&[n], DType::F64, &mut rng).to_vec::<f64>()?;
    let target: Vec<f64> = score.iter().zip(&noise).map(|(s, e)| s + e).collect();
    Ok((
        x,
        Tensor::from_vec(y, &[n])?,
        Tensor::from_vec(target, &[n])?,
    ))
}

/// Rows/s of `f` over `runs` timed calls after one warm-up; small workloads repeat within a run.
fn measure(args: &Args, big: bool, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    if !big {
        return time_calls(args, f);
    }
    f()?;
    (0..args.runs.min(3))
        .map(|_| {
            let t = Instant::now();
            f()?;
            Ok(t.elapsed().as_secs_f64())
        })
        .collect()
}

struct Bench<'a> {
    args: &'a Args,
    threads: usize,
    data: &'static str,
    big: bool,
}

impl Bench<'_> {
    fn selected(&self, name: &str) -> bool {
        self.args.only.is_empty() || self.args.only.iter().any(|o| o == name)
    }

    fn emit(&self, name: &str, phase: &str, rows: usize, secs: &[f64]) {
        let config = json!({"data": self.data, "threads": self.threads});
        report(
            self.args,
            &format!("{name}.{phase}"),
            config,
            "rows/s",
            rows as f64,
            secs,
        );
    }

    /// Fit and predict timings of a supervised estimator made by `make`.
    fn supervised<E: Estimator>(
        &self,
        name: &str,
        x: &Tensor,
        y: &Tensor,
        predict_x: &Tensor,
        make: impl Fn() -> E,
    ) -> Result<()> {
        if !self.selected(name) {
            return Ok(());
        }
        let mut fitted = None;
        let secs = measure(self.args, self.big, || {
            let mut m = make();
            m.fit(x, y)?;
            fitted = Some(m);
            Ok(())
        })?;
        self.emit(name, "fit", x.shape()[0], &secs);
        let m = fitted.expect("fitted at least once");
        let secs = measure(self.args, self.big, || {
            m.predict(predict_x)?;
            Ok(())
        })?;
        self.emit(name, "predict", predict_x.shape()[0], &secs);
        Ok(())
    }

    fn kmeans(&self, x: &Tensor, k: usize, n_init: usize) -> Result<()> {
        if !self.selected("kmeans") {
            return Ok(());
        }
        let mut fitted = None;
        let secs = measure(self.args, self.big, || {
            let mut m = KMeans::new(KMeansConfig {
                k,
                n_init,
                seed: 0,
                ..Default::default()
            });
            m.fit(x)?;
            fitted = Some(m);
            Ok(())
        })?;
        self.emit("kmeans", "fit", x.shape()[0], &secs);
        let m = fitted.expect("fitted");
        let secs = measure(self.args, self.big, || {
            m.predict(x)?;
            Ok(())
        })?;
        self.emit("kmeans", "predict", x.shape()[0], &secs);
        Ok(())
    }

    fn pca(&self, x: &Tensor) -> Result<()> {
        if !self.selected("pca") {
            return Ok(());
        }
        let mut fitted = None;
        let secs = measure(self.args, self.big, || {
            let mut m = PCA::new(PcaConfig {
                n_components: Some(10),
                ..Default::default()
            });
            m.fit(x)?;
            fitted = Some(m);
            Ok(())
        })?;
        self.emit("pca", "fit", x.shape()[0], &secs);
        let m = fitted.expect("fitted");
        let secs = measure(self.args, self.big, || {
            m.transform(x)?;
            Ok(())
        })?;
        self.emit("pca", "predict", x.shape()[0], &secs);
        Ok(())
    }
}

pub fn classical(args: &Args, threads: usize) -> Result<()> {
    let (xd, yd) = load("digits", "digit")?;
    let b = Bench {
        args,
        threads,
        data: "digits",
        big: false,
    };
    b.supervised("logistic", &xd, &yd, &xd, || {
        LogisticRegression::new(LogisticConfig::default())
    })?;
    b.supervised("tree", &xd, &yd, &xd, || {
        DecisionTreeClassifier::new(TreeConfig::default())
    })?;
    b.supervised("forest", &xd, &yd, &xd, || {
        RandomForestClassifier::new(ForestConfig {
            seed: 0,
            ..Default::default()
        })
    })?;
    b.supervised("knn", &xd, &yd, &xd, || {
        KNeighborsClassifier::new(KnnConfig::default())
    })?;
    b.supervised("nb", &xd, &yd, &xd, || {
        GaussianNB::new(GaussianConfig::default())
    })?;
    b.supervised("svm", &xd, &yd, &xd, || {
        SvmClassifier::new(SvmConfig::default())
    })?;
    b.kmeans(&xd, 10, 10)?;
    b.pca(&xd)?;
    let (xr, yr) = load("diabetes", "progression")?;
    let b = Bench {
        data: "diabetes",
        ..b
    };
    b.supervised("linear", &xr, &yr, &xr, || {
        LinearRegression::new(LinearConfig::default())
    })?;
    b.supervised("ridge", &xr, &yr, &xr, || {
        LinearRegression::new(LinearConfig::ridge(1.0))
    })?;
    b.supervised("lasso", &xr, &yr, &xr, || {
        ElasticNet::new(ElasticNetConfig::lasso(1.0))
    })?;
    b.supervised("elastic_net", &xr, &yr, &xr, || {
        ElasticNet::new(ElasticNetConfig::default())
    })?;
    if args.skip_large {
        return Ok(());
    }
    let (xs, ys, targets) = synthetic(100_000, 50)?;
    let b = Bench {
        data: "synthetic-100000x50",
        big: true,
        ..b
    };
    let forest = ForestConfig {
        n_estimators: 20,
        seed: 0,
        ..Default::default()
    };
    b.supervised("forest", &xs, &ys, &xs.narrow(0, 0, 20_000)?, || {
        RandomForestClassifier::new(forest.clone())
    })?;
    b.supervised("knn", &xs, &ys, &xs.narrow(0, 0, 2_000)?, || {
        KNeighborsClassifier::new(KnnConfig::default())
    })?;
    b.kmeans(&xs, 8, 3)?;
    b.supervised("linear", &xs, &targets, &xs, || {
        LinearRegression::new(LinearConfig::default())
    })?;
    // The same least squares by gradient descent; the reference side runs scikit-learn's
    // exact LinearRegression under this name, since both reach the same solution.
    b.supervised("linear_gd", &xs, &targets, &xs, || {
        LinearRegression::new(LinearConfig {
            solver: LinearSolver::GradientDescent,
            ..Default::default()
        })
    })?;
    Ok(())
}
