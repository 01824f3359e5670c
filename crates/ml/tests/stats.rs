//! Statistics against numpy 2.4 / scipy 1.17 values committed in tests/reference/.

mod common;

use common::*;
use zhixing_ml::stats::{self, ColumnStats, Estimate};
use zhixing_tensor::Tensor;

#[test]
fn descriptive_statistics_match_numpy_and_scipy() {
    let r = load("stats.json");
    for case in r["samples"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let x = vf(&case["x"]);
        let c = |k: &str| f(&case[k]);
        close(stats::mean(&x).unwrap(), c("mean"), name);
        close(stats::median(&x).unwrap(), c("median"), name);
        close(stats::mode(&x).unwrap(), c("mode"), name);
        close(stats::min(&x).unwrap(), c("min"), name);
        close(stats::max(&x).unwrap(), c("max"), name);
        let (pop, sam) = (Estimate::Population, Estimate::Sample);
        close(stats::variance(&x, pop).unwrap(), c("var_population"), name);
        close(stats::variance(&x, sam).unwrap(), c("var_sample"), name);
        close(stats::std(&x, pop).unwrap(), c("std_population"), name);
        close(stats::std(&x, sam).unwrap(), c("std_sample"), name);
        let qs = vf(&case["q"]);
        let want = vf(&case["quantiles"]);
        close_all(&stats::quantiles(&x, &qs).unwrap(), &want, name);
        for (q, w) in qs.iter().zip(&want) {
            close(stats::quantile(&x, *q).unwrap(), *w, name);
        }
        close(stats::iqr(&x).unwrap(), c("iqr"), name);
        close(
            stats::skewness(&x, pop).unwrap(),
            c("skew_population"),
            name,
        );
        close(stats::skewness(&x, sam).unwrap(), c("skew_sample"), name);
        close(
            stats::kurtosis(&x, pop).unwrap(),
            c("kurtosis_population"),
            name,
        );
        close(
            stats::kurtosis(&x, sam).unwrap(),
            c("kurtosis_sample"),
            name,
        );

        let cs = ColumnStats::new(name, &x).unwrap();
        assert_eq!(cs.count, x.len());
        close(cs.std.unwrap(), c("std_sample"), name);
        close(cs.kurtosis.unwrap(), c("kurtosis_sample"), name);
        close(cs.iqr.unwrap(), c("iqr"), name);
    }
}

#[test]
fn covariance_and_correlation_match_numpy() {
    let r = load("stats.json");
    let m = &r["matrices"];
    let cols = vvf(&m["columns"]);
    let check = |got: Vec<Vec<f64>>, want: &serde_json::Value, what: &str| {
        let want = vvf(want);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            close_all(g, w, what);
        }
    };
    check(
        stats::covariance_matrix(&cols, Estimate::Sample).unwrap(),
        &m["cov_sample"],
        "cov",
    );
    check(
        stats::covariance_matrix(&cols, Estimate::Population).unwrap(),
        &m["cov_population"],
        "cov ddof=0",
    );
    check(
        stats::correlation_matrix(&cols).unwrap(),
        &m["corr"],
        "corr",
    );
    let wc = &m["with_constant"];
    check(
        stats::correlation_matrix(&vvf(&wc["columns"])).unwrap(),
        &wc["corr"],
        "corr with a constant column",
    );
    close(
        stats::pearson(&cols[0], &cols[1]).unwrap(),
        f(&m["corr"][0][1]),
        "pearson",
    );

    // The same through a [samples, features] tensor.
    let n = cols[0].len();
    let flat: Vec<f64> = (0..n)
        .flat_map(|i| cols.iter().map(move |c| c[i]))
        .collect();
    let x = Tensor::from_vec(flat, &[n, cols.len()]).unwrap();
    check(
        stats::covariance_matrix_tensor(&x, Estimate::Sample).unwrap(),
        &m["cov_sample"],
        "cov tensor",
    );
    check(
        stats::correlation_matrix_tensor(&x).unwrap(),
        &m["corr"],
        "corr tensor",
    );
}

#[test]
fn information_measures_match_scipy() {
    let r = load("stats.json");
    for case in r["info"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (p, q) = (vf(&case["p"]), vf(&case["q"]));
        for (key, base) in [
            ("base_e", None),
            ("base_2", Some(2.0)),
            ("base_10", Some(10.0)),
        ] {
            let w = &case[key];
            let what = format!("{name} {key}");
            close(stats::entropy(&p, base).unwrap(), f(&w["entropy"]), &what);
            close(
                stats::kl_divergence(&p, &q, base).unwrap(),
                f(&w["kl"]),
                &what,
            );
            close(
                stats::cross_entropy(&p, &q, base).unwrap(),
                f(&w["cross_entropy"]),
                &what,
            );
        }
    }
    // Where q is 0 and p is not, the divergence is infinite (as scipy).
    assert_eq!(
        stats::kl_divergence(&[0.5, 0.5], &[1.0, 0.0], None).unwrap(),
        f64::INFINITY
    );
    assert_eq!(stats::entropy(&[1.0, 0.0], None).unwrap(), 0.0);
}

#[test]
fn column_stats_count_missing_and_render() {
    let x = [1.0, f64::NAN, 3.0, 3.0, f64::NAN, 7.0];
    assert_eq!(stats::count(&x), 4);
    assert_eq!(stats::missing(&x), 2);
    let cs = ColumnStats::new("age", &x).unwrap();
    assert_eq!((cs.count, cs.missing), (4, 2));
    assert_eq!(cs.mean, Some(3.5));
    assert_eq!(cs.median, Some(3.0));
    assert_eq!(cs.mode, Some(3.0));
    assert_eq!((cs.min, cs.max), (Some(1.0), Some(7.0)));

    // A constant column: no skewness or kurtosis, the rest defined.
    let k = ColumnStats::new("k", &[2.0; 5]).unwrap();
    assert_eq!(k.std, Some(0.0));
    assert_eq!((k.skewness, k.kurtosis), (None, None));
    // An all-missing column: counts only.
    let e = ColumnStats::new("e", &[f64::NAN; 3]).unwrap();
    assert_eq!((e.count, e.missing, e.mean), (0, 3, None));

    let table = stats::stats_table(&[cs.clone(), k, e]);
    assert_eq!(table.lines().count(), 4);
    assert!(table.lines().next().unwrap().starts_with("column"));
    assert!(cs.to_string().contains("missing"));
    let json = serde_json::to_value(&cs).unwrap();
    assert_eq!(json["missing"], 2);
    assert_eq!(json["mean"], 3.5);

    let names = vec!["a".to_string(), "b".to_string()];
    let m = stats::matrix_table(&names, &[vec![1.0, f64::NAN], vec![f64::NAN, 1.0]]);
    assert!(m.contains('-') && m.contains("1.0000"));

    let t = Tensor::from_vec(vec![1.0f32, 10.0, 2.0, 20.0, 3.0, 30.0], &[3, 2]).unwrap();
    let d = stats::describe_tensor(&t, Some(&names)).unwrap();
    assert_eq!(d[1].name, "b");
    assert_eq!(d[1].mean, Some(20.0));
    assert_eq!(stats::describe_tensor(&t, None).unwrap()[0].name, "x0");
}
