//! k-nearest neighbours: hand-checked cases, KD-tree = brute force, parity with
//! scikit-learn (crates/ml/tests/reference/classical_neighbors.json, written by
//! scripts/classical_reference.py) and test accuracy on the shipped datasets.

mod common;

use common::data::{ids, split_standardized};

use serde_json::Value;
use zhixing_ml::neighbors::{
    self, Algorithm, KNeighborsClassifier, KNeighborsRegressor, KnnConfig, Metric, Weights,
};
use zhixing_ml::{Error, Estimator, EstimatorKind};
use zhixing_tensor::Tensor;

fn t2(rows: &[&[f64]]) -> Tensor {
    let f = rows[0].len();
    Tensor::from_vec(rows.concat(), &[rows.len(), f]).unwrap()
}

fn cfg(k: usize, weights: Weights, metric: Metric) -> KnnConfig {
    KnnConfig {
        k,
        weights,
        metric,
        ..Default::default()
    }
}

fn classifier(x: &Tensor, y: &Tensor, c: KnnConfig) -> KNeighborsClassifier {
    let mut m = KNeighborsClassifier::new(c);
    m.fit(x, y).unwrap();
    m
}

fn pred(m: &dyn Estimator, x: &Tensor) -> Vec<i64> {
    m.predict(x).unwrap().to_vec::<i64>().unwrap()
}

fn proba(m: &dyn Estimator, x: &Tensor) -> Vec<f64> {
    m.predict_proba(x)
        .unwrap()
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
}

fn line() -> (Tensor, Tensor) {
    // 1-D: class 0 at 0, 1, 2; class 1 at 10, 11, 12, 13.
    let x: Vec<f64> = vec![0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 13.0];
    (
        Tensor::from_vec(x, &[7, 1]).unwrap(),
        ids(&[0, 0, 0, 1, 1, 1, 1]),
    )
}

#[test]
fn k1_and_k3_by_hand() {
    let (x, y) = line();
    let q = Tensor::from_vec(vec![-5.0, 5.9, 6.1, 100.0, 2.4], &[5, 1]).unwrap();
    let m1 = classifier(&x, &y, cfg(1, Weights::Uniform, Metric::Euclidean));
    assert_eq!(pred(&m1, &q), vec![0, 0, 1, 1, 0]);
    // k = 3 at 6.1: neighbours 10 (1), 2 (0), 11 (1) → class 1 with 2/3.
    let m3 = classifier(&x, &y, cfg(3, Weights::Uniform, Metric::Euclidean));
    assert_eq!(pred(&m3, &q), vec![0, 0, 1, 1, 0]);
    let p = proba(&m3, &q);
    assert_eq!(&p[4..6], &[1.0 / 3.0, 2.0 / 3.0]);
    let (d, i) = m3.kneighbors(&q).unwrap();
    assert_eq!(i.to_vec::<i64>().unwrap()[6..9], [3, 2, 4]);
    let d = d.to_vec::<f64>().unwrap();
    assert!((d[6] - 3.9).abs() < 1e-12 && (d[7] - 4.1).abs() < 1e-12 && (d[8] - 4.9).abs() < 1e-12);
    // k = 7 votes 4 to 3 everywhere.
    let m7 = classifier(&x, &y, cfg(7, Weights::Uniform, Metric::Euclidean));
    assert_eq!(pred(&m7, &q), vec![1; 5]);
}

#[test]
fn ties_go_to_the_lower_training_index_and_lower_class() {
    // Query 0 is at distance 1 from training rows 0, 1, 2, 3 (classes 1, 0, 1, 0).
    let x = t2(&[&[1.0, 0.0], &[0.0, 1.0], &[-1.0, 0.0], &[0.0, -1.0]]);
    let y = ids(&[1, 0, 1, 0]);
    let q = t2(&[&[0.0, 0.0]]);
    for algorithm in [Algorithm::KdTree, Algorithm::Brute] {
        for k in 1..=4 {
            let c = KnnConfig {
                k,
                algorithm,
                ..Default::default()
            };
            let m = classifier(&x, &y, c);
            let (_, i) = m.kneighbors(&q).unwrap();
            assert_eq!(
                i.to_vec::<i64>().unwrap(),
                (0..k as i64).collect::<Vec<_>>()
            );
            // k = 1 → row 0 (class 1); k = 2 → a 1-1 vote, the lower class 0 wins.
            let want = if k % 2 == 1 { 1 } else { 0 };
            assert_eq!(pred(&m, &q), vec![want], "k = {k}, {algorithm:?}");
        }
    }
}

#[test]
fn distance_weights_by_hand() {
    let x = Tensor::from_vec(vec![0.0, 3.0, 4.0], &[3, 1]).unwrap();
    let y = ids(&[0, 1, 1]);
    let q = Tensor::from_vec(vec![0.5, 3.0], &[2, 1]).unwrap();
    let uni = classifier(&x, &y, cfg(3, Weights::Uniform, Metric::Euclidean));
    assert_eq!(pred(&uni, &q), vec![1, 1]);
    let dist = classifier(&x, &y, cfg(3, Weights::Distance, Metric::Euclidean));
    let (w0, w1, w2) = (1.0 / 0.5, 1.0 / 2.5, 1.0 / 3.5);
    let p = proba(&dist, &q);
    assert!((p[0] - w0 / (w0 + w1 + w2)).abs() < 1e-15, "{p:?}");
    // A neighbour at distance 0 takes all the weight.
    assert_eq!(&p[2..], &[0.0, 1.0]);
    assert_eq!(pred(&dist, &q), vec![0, 1]);

    let yr = Tensor::from_vec(vec![1.0, 2.0, 10.0], &[3]).unwrap();
    let mut r = KNeighborsRegressor::new(cfg(3, Weights::Distance, Metric::Euclidean));
    r.fit(&x, &yr).unwrap();
    let got = r.predict(&q).unwrap().to_vec::<f64>().unwrap();
    let want = (w0 * 1.0 + w1 * 2.0 + w2 * 10.0) / (w0 + w1 + w2);
    assert!((got[0] - want).abs() < 1e-12 && got[1] == 2.0, "{got:?}");
    let mut r = KNeighborsRegressor::new(cfg(2, Weights::Uniform, Metric::Manhattan));
    r.fit(&x, &yr).unwrap();
    assert_eq!(
        r.predict(&q).unwrap().to_vec::<f64>().unwrap(),
        vec![1.5, 6.0]
    );
    assert_eq!(r.kind(), EstimatorKind::Regressor);
}

#[test]
fn cosine_ignores_length() {
    let x = t2(&[&[10.0, 0.0], &[0.1, 0.1]]);
    let y = ids(&[0, 1]);
    let q = t2(&[&[5.0, 1.0], &[0.0, 0.0]]);
    let eu = classifier(&x, &y, cfg(1, Weights::Uniform, Metric::Euclidean));
    assert_eq!(pred(&eu, &q)[0], 1);
    let cos = classifier(&x, &y, cfg(1, Weights::Uniform, Metric::Cosine));
    assert!(!cos.uses_kd_tree().unwrap());
    assert_eq!(pred(&cos, &q)[0], 0);
    let (d, _) = cos.kneighbors(&q).unwrap();
    let d = d.to_vec::<f64>().unwrap();
    assert!((d[0] - (1.0 - 5.0 / 26f64.sqrt())).abs() < 1e-12, "{d:?}");
    // The zero vector is at distance 1 from everything; the tie goes to row 0.
    assert_eq!(d[1], 1.0);
    assert_eq!(pred(&cos, &q)[1], 0);
}

/// A deterministic pseudo-random stream in [0, 1).
fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn tree_vs_brute(x: &Tensor, q: &Tensor, k: usize, metric: Metric, exact: bool) {
    let n = x.shape()[0];
    let y = ids(&(0..n as i64).map(|i| i % 3).collect::<Vec<_>>());
    let fit = |algorithm| {
        classifier(
            x,
            &y,
            KnnConfig {
                k,
                metric,
                algorithm,
                ..Default::default()
            },
        )
    };
    let (tree, brute) = (fit(Algorithm::KdTree), fit(Algorithm::Brute));
    assert!(tree.uses_kd_tree().unwrap() && !brute.uses_kd_tree().unwrap());
    let (dt, it) = tree.kneighbors(q).unwrap();
    let (db, ib) = brute.kneighbors(q).unwrap();
    assert_eq!(
        it.to_vec::<i64>().unwrap(),
        ib.to_vec::<i64>().unwrap(),
        "{metric:?}"
    );
    for (a, b) in dt
        .to_vec::<f64>()
        .unwrap()
        .iter()
        .zip(db.to_vec::<f64>().unwrap())
    {
        if exact {
            assert_eq!(*a, b);
        } else {
            assert!((a - b).abs() <= 1e-9 * (1.0 + b), "{a} vs {b}");
        }
    }
    assert_eq!(pred(&tree, q), pred(&brute, q));
}

#[test]
fn kd_tree_equals_brute_force() {
    let mut r = lcg(7);
    let (n, f, nq) = (3000, 5, 400);
    let x = Tensor::from_vec(
        (0..n * f).map(|_| r() * 10.0 - 5.0).collect::<Vec<_>>(),
        &[n, f],
    )
    .unwrap();
    let q = Tensor::from_vec(
        (0..nq * f).map(|_| r() * 12.0 - 6.0).collect::<Vec<_>>(),
        &[nq, f],
    )
    .unwrap();
    for metric in [Metric::Euclidean, Metric::Manhattan] {
        tree_vs_brute(&x, &q, 7, metric, false);
        tree_vs_brute(&x, &q, 1, metric, false);
    }
    // Small integers: many exact ties and duplicate rows, all distances exact — the
    // tie-break by training index must agree exactly.
    let (n, f, nq) = (800, 3, 200);
    let x = Tensor::from_vec(
        (0..n * f).map(|_| (r() * 4.0).floor()).collect::<Vec<_>>(),
        &[n, f],
    )
    .unwrap();
    let q = Tensor::from_vec(
        (0..nq * f)
            .map(|_| (r() * 5.0).floor() - 0.5)
            .collect::<Vec<_>>(),
        &[nq, f],
    )
    .unwrap();
    for metric in [Metric::Euclidean, Metric::Manhattan] {
        tree_vs_brute(&x, &q, 10, metric, true);
    }
}

fn mat(v: &Value) -> Tensor {
    let rows = common::vvf(v);
    Tensor::from_vec(rows.concat(), &[rows.len(), rows[0].len()]).unwrap()
}

fn name_to<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn parity_with_scikit_learn() {
    let r = common::load("classical_neighbors.json");
    let mut checked = 0;
    for case in r["cases"].as_array().unwrap() {
        let ds = &r["datasets"][case["dataset"].as_str().unwrap()];
        let (x, xq) = (mat(&ds["x_train"]), mat(&ds["x_test"]));
        let c = KnnConfig {
            k: case["k"].as_u64().unwrap() as usize,
            weights: name_to(&case["weights"]),
            metric: name_to(&case["metric"]),
            ..Default::default()
        };
        let what = format!("{} {:?}", case["dataset"], c);
        let model: Box<dyn Estimator> = if case["task"] == "classifier" {
            let y = ids(&common::vf(&ds["y_train"])
                .iter()
                .map(|&v| v as i64)
                .collect::<Vec<_>>());
            let m = classifier(&x, &y, c);
            let want: Vec<i64> = common::vf(&case["predict"])
                .iter()
                .map(|&v| v as i64)
                .collect();
            assert_eq!(pred(&m, &xq), want, "{what}");
            let want = common::vvf(&case["predict_proba"]).concat();
            for (g, w) in proba(&m, &xq).iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "{what}: proba {g} vs {w}");
            }
            let (d, i) = m.kneighbors(&xq).unwrap();
            compare_neighbours(&d, &i, case, &what);
            Box::new(m)
        } else {
            let y = Tensor::from_vec(common::vf(&ds["y_train"]), &[x.shape()[0]]).unwrap();
            let mut m = KNeighborsRegressor::new(c);
            m.fit(&x, &y).unwrap();
            let got = m.predict(&xq).unwrap().to_vec::<f64>().unwrap();
            for (g, w) in got.iter().zip(common::vf(&case["predict"])) {
                assert!(
                    (g - w).abs() < 1e-10 * (1.0 + w.abs()),
                    "{what}: {g} vs {w}"
                );
            }
            let (d, i) = m.kneighbors(&xq).unwrap();
            compare_neighbours(&d, &i, case, &what);
            Box::new(m)
        };
        // Saved and loaded, the model predicts the same.
        let back = neighbors::from_parts(&model.to_parts().unwrap()).unwrap();
        assert_eq!(back.kind(), model.kind());
        assert_eq!(back.name(), "knn");
        let (a, b) = (model.predict(&xq).unwrap(), back.predict(&xq).unwrap());
        assert_eq!(a.to_vec_f64(), b.to_vec_f64(), "{what}: reloaded");
        checked += 1;
    }
    assert_eq!(checked, 26);
}

fn compare_neighbours(d: &Tensor, i: &Tensor, case: &Value, what: &str) {
    let want_i: Vec<i64> = common::vvf(&case["indices"])
        .concat()
        .iter()
        .map(|&v| v as i64)
        .collect();
    assert_eq!(i.to_vec::<i64>().unwrap(), want_i, "{what}: indices");
    let want_d = common::vvf(&case["distances"]).concat();
    for (g, w) in d.to_vec::<f64>().unwrap().iter().zip(&want_d) {
        assert!(
            (g - w).abs() < 1e-9 * (1.0 + w),
            "{what}: distance {g} vs {w}"
        );
    }
}

#[test]
fn accuracy_matches_scikit_learn_on_shipped_data() {
    let r = common::load("classical_accuracy.json");
    for ds in r["datasets"].as_array().unwrap() {
        let file = ds["file"].as_str().unwrap();
        let (xtr, ytr, xte, yte) = split_standardized(file);
        let t = std::time::Instant::now();
        let m = classifier(&xtr, &ytr, KnnConfig::default());
        let p = pred(&m, &xte);
        let secs = t.elapsed().as_secs_f64();
        let acc = p.iter().zip(&yte).filter(|(a, b)| a == b).count() as f64 / yte.len() as f64;
        let want = ds["knn_accuracy"].as_f64().unwrap();
        let sk: Vec<i64> = common::vf(&ds["knn_predict"])
            .iter()
            .map(|&v| v as i64)
            .collect();
        let agree = p.iter().zip(&sk).filter(|(a, b)| a == b).count();
        eprintln!(
            "{file}: knn accuracy {acc:.4} (scikit-learn {want:.4}), {agree}/{} predictions \
             agree, fit+predict {:.2} ms",
            sk.len(),
            secs * 1e3,
        );
        assert!(acc >= want - 0.01, "{file}: {acc} vs {want}");
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let (x, y) = line();
    let q = Tensor::from_vec(vec![1.0], &[1, 1]).unwrap();
    let mut m = KNeighborsClassifier::new(cfg(8, Weights::Uniform, Metric::Euclidean));
    let e = m.fit(&x, &y).unwrap_err();
    assert!(e.to_string().contains("only 7 training samples"), "{e}");
    assert!(m
        .predict(&q)
        .unwrap_err()
        .to_string()
        .contains("not fitted"));
    m.config.k = 0;
    assert!(m.fit(&x, &y).is_err());
    m.config = KnnConfig {
        metric: Metric::Cosine,
        algorithm: Algorithm::KdTree,
        ..Default::default()
    };
    assert!(matches!(m.fit(&x, &y), Err(Error::Invalid { .. })));
    m.config = KnnConfig::default();
    assert!(m.fit(&x, &ids(&[0, 1])).is_err(), "row count mismatch");
    assert!(
        matches!(m.fit(&x, &ids(&[1; 7])), Err(Error::Undefined { .. })),
        "one class"
    );
    let nan = Tensor::from_vec(vec![0.0, f64::NAN, 1.0, 2.0, 3.0, 4.0, 5.0], &[7, 1]).unwrap();
    assert!(m
        .fit(&nan, &y)
        .unwrap_err()
        .to_string()
        .contains("non-finite"));
    assert!(
        m.fit(&Tensor::from_vec(vec![1.0; 7], &[7]).unwrap(), &y)
            .is_err(),
        "1-D x"
    );
    m.fit(&x, &y).unwrap();
    assert!(m
        .predict(&t2(&[&[1.0, 2.0]]))
        .unwrap_err()
        .to_string()
        .contains("fitted on 1 features"));
    let mut r = KNeighborsRegressor::new(KnnConfig::default());
    let yr = Tensor::from_vec(vec![0.0, 1.0, 2.0, f64::INFINITY, 1.0, 1.0, 1.0], &[7]).unwrap();
    assert!(r.fit(&x, &yr).is_err(), "non-finite target");
    // A classifier's parts do not load as a regressor.
    let parts = m.to_parts().unwrap();
    assert!(KNeighborsRegressor::from_parts(&parts).is_err());
    assert!(KNeighborsClassifier::from_parts(&parts).is_ok());
}
