//! K-means: k-means++ seeds, inertia against scikit-learn's best of 10 runs
//! (crates/ml/tests/reference/classical_cluster.json, written by
//! scripts/classical_reference.py), labels = nearest centroid, saving, errors.

mod common;

use serde_json::Value;
use zhixing_ml::cluster::{self, KMeans, KMeansConfig};
use zhixing_tensor::Tensor;

fn mat(v: &Value) -> (Tensor, Vec<Vec<f64>>) {
    let rows = common::vvf(v);
    (
        Tensor::from_vec(rows.concat(), &[rows.len(), rows[0].len()]).unwrap(),
        rows,
    )
}

fn sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[test]
fn kmeans_plusplus_seeds_are_distinct_data_points() {
    let r = common::load("classical_cluster.json");
    for name in ["iris", "blobs"] {
        let (x, rows) = mat(&r["datasets"][name]);
        for k in [2, 3, 8, 20] {
            for seed in 0..20 {
                let s = cluster::kmeans_plusplus(&x, k, seed).unwrap();
                assert_eq!(s.len(), k);
                // Distinct points (iris has duplicate rows: distinct values, not just indices).
                for i in 0..k {
                    for j in 0..i {
                        assert!(rows[s[i]] != rows[s[j]], "{name} k={k} seed={seed}: {s:?}");
                    }
                }
            }
        }
    }
    // Deterministic per seed, different across seeds.
    let (x, _) = mat(&r["datasets"]["blobs"]);
    assert_eq!(
        cluster::kmeans_plusplus(&x, 6, 1).unwrap(),
        cluster::kmeans_plusplus(&x, 6, 1).unwrap()
    );
    assert_ne!(
        cluster::kmeans_plusplus(&x, 6, 1).unwrap(),
        cluster::kmeans_plusplus(&x, 6, 2).unwrap()
    );
}

#[test]
fn inertia_within_one_percent_of_scikit_learn() {
    let r = common::load("classical_cluster.json");
    for case in r["cases"].as_array().unwrap() {
        let name = case["dataset"].as_str().unwrap();
        let k = case["k"].as_u64().unwrap() as usize;
        let (x, rows) = mat(&r["datasets"][name]);
        let mut km = KMeans::new(KMeansConfig {
            k,
            ..Default::default()
        });
        let t = std::time::Instant::now();
        km.fit(&x).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let want = case["inertia"].as_f64().unwrap();
        let got = km.inertia().unwrap();
        eprintln!(
            "{name} k={k}: inertia {got:.6} (scikit-learn {want:.6}, ratio {:.6}), {} iterations \
             (scikit-learn {}), {:.2} ms",
            got / want,
            km.n_iter().unwrap(),
            case["n_iter"],
            secs * 1e3
        );
        assert!(got <= want * 1.01, "{name} k={k}: {got} vs {want}");

        // Labels are the nearest centroid, and the inertia is their squared distance sum.
        let c = km.cluster_centers().unwrap().to_vec2_f64().unwrap();
        let labels = km.labels().unwrap();
        let mut total = 0.0;
        for (row, &l) in rows.iter().zip(labels) {
            let d: Vec<f64> = c.iter().map(|ci| sq(row, ci)).collect();
            let best = d.iter().cloned().fold(f64::INFINITY, f64::min);
            assert!(
                d[l] <= best + 1e-9 * (1.0 + best),
                "{name} k={k}: label not nearest"
            );
            total += d[l];
        }
        assert!((total - got).abs() < 1e-9 * got);
        let pred = km.predict(&x).unwrap().to_vec::<i64>().unwrap();
        assert_eq!(pred, labels.iter().map(|&l| l as i64).collect::<Vec<_>>());
        // Every cluster is used; each centroid is the mean of its samples.
        for (j, cj) in c.iter().enumerate() {
            let members: Vec<&Vec<f64>> = rows
                .iter()
                .zip(labels)
                .filter(|(_, &l)| l == j)
                .map(|(r, _)| r)
                .collect();
            assert!(!members.is_empty());
            for (d, &cd) in cj.iter().enumerate() {
                let m = members.iter().map(|r| r[d]).sum::<f64>() / members.len() as f64;
                assert!((m - cd).abs() < 1e-9 * (1.0 + m.abs()));
            }
        }
    }
}

#[test]
fn elbow_decreases_and_matches_single_fits() {
    let r = common::load("classical_cluster.json");
    let (x, _) = mat(&r["datasets"]["iris"]);
    let config = KMeansConfig {
        seed: 3,
        ..Default::default()
    };
    let curve = cluster::elbow(&x, &[1, 2, 3, 4, 5, 6], &config).unwrap();
    assert_eq!(
        curve.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    for w in curve.windows(2) {
        assert!(w[1].1 < w[0].1, "{curve:?}");
    }
    // k = 1: the total sum of squares about the mean (iris: 681.3706).
    assert!((curve[0].1 - 681.3706).abs() < 1e-3, "{curve:?}");
    let mut km = KMeans::new(KMeansConfig { k: 3, ..config });
    km.fit(&x).unwrap();
    assert_eq!(km.inertia().unwrap(), curve[2].1);
    for case in r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["dataset"] == "iris")
    {
        let k = case["k"].as_u64().unwrap() as usize;
        assert!(curve[k - 1].1 <= case["inertia"].as_f64().unwrap() * 1.01);
    }
}

#[test]
fn same_seed_same_clustering_and_saved_model_predicts_the_same() {
    let r = common::load("classical_cluster.json");
    let (x, _) = mat(&r["datasets"]["blobs"]);
    let config = KMeansConfig {
        k: 6,
        n_init: 4,
        seed: 42,
        ..Default::default()
    };
    let mut a = KMeans::new(config.clone());
    let mut b = KMeans::new(config);
    let la = a.fit_predict(&x).unwrap().to_vec::<i64>().unwrap();
    let lb = b.fit_predict(&x).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(la, lb);
    assert_eq!(a.inertia().unwrap(), b.inertia().unwrap());
    let back = KMeans::from_parts(&a.to_parts().unwrap()).unwrap();
    assert_eq!(back.predict(&x).unwrap().to_vec::<i64>().unwrap(), la);
    assert_eq!(back.inertia().unwrap(), a.inertia().unwrap());
    assert_eq!(back.labels().unwrap(), a.labels().unwrap());
    // transform: distances to each centroid; score: minus the inertia on the training set.
    let d = back.transform(&x).unwrap();
    assert_eq!(d.shape(), &[600, 6]);
    let d = d.to_vec::<f64>().unwrap();
    let from_d: f64 = d
        .chunks(6)
        .zip(&la)
        .map(|(r, &l)| r[l as usize].powi(2))
        .sum();
    assert!((from_d - a.inertia().unwrap()).abs() < 1e-8 * from_d);
    assert!((back.score(&x).unwrap() + a.inertia().unwrap()).abs() < 1e-8 * from_d);
}

#[test]
fn fewer_distinct_points_than_clusters_still_fits() {
    // Three distinct points, four clusters: a cluster must stay (or become) empty-handed,
    // without a panic or a NaN.
    let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 5.0], &[6, 1]).unwrap();
    let mut km = KMeans::new(KMeansConfig {
        k: 4,
        ..Default::default()
    });
    km.fit(&x).unwrap();
    assert_eq!(km.inertia().unwrap(), 0.0);
    assert!(km
        .cluster_centers()
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
        .iter()
        .all(|v| v.is_finite()));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let x = Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0], &[2, 2]).unwrap();
    let mut km = KMeans::new(KMeansConfig {
        k: 3,
        ..Default::default()
    });
    assert!(km
        .predict(&x)
        .unwrap_err()
        .to_string()
        .contains("not fitted"));
    let e = km.fit(&x).unwrap_err();
    assert!(
        e.to_string().contains("k = 3 clusters but only 2 samples"),
        "{e}"
    );
    km.config.k = 0;
    assert!(km.fit(&x).is_err());
    km.config.k = 1;
    km.config.n_init = 0;
    assert!(km.fit(&x).is_err());
    km.config.n_init = 1;
    km.config.tol = -1.0;
    assert!(km.fit(&x).is_err());
    km.config.tol = 1e-4;
    let nan = Tensor::from_vec(vec![0.0, f64::NAN, 2.0, 3.0], &[2, 2]).unwrap();
    assert!(km.fit(&nan).unwrap_err().to_string().contains("non-finite"));
    assert!(
        km.fit(&Tensor::from_vec(vec![1.0; 4], &[4]).unwrap())
            .is_err(),
        "1-D"
    );
    km.fit(&x).unwrap();
    assert!(km
        .predict(&Tensor::from_vec(vec![1.0; 3], &[1, 3]).unwrap())
        .is_err());
    assert!(cluster::elbow(&x, &[1, 5], &KMeansConfig::default()).is_err());
    assert!(cluster::kmeans_plusplus(&x, 3, 0).is_err());
}
