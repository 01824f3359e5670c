//! Lasso, elastic net, polynomial regression and L1 / elastic-net logistic regression
//! against scikit-learn (`scripts/linear_reference.py` → `tests/reference/linear.json`),
//! plus behaviour that must hold whatever the reference: lasso zeroes irrelevant
//! coefficients.

mod common;

use common::data::{ids, standardized_all};
use serde_json::Value;
use zhixing_ml::linear::{
    monomials, polynomial_features, ElasticNet, ElasticNetConfig, LinearConfig, LinearRegression,
    LinearSolver, LogisticConfig, LogisticRegression, Penalty, PolynomialConfig,
    PolynomialRegression,
};
use zhixing_ml::{metrics, Estimator};
use zhixing_tensor::{Rng, Tensor};

fn reference() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/linear.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// data/diabetes.csv as rows of numbers (the target last).
fn diabetes_rows() -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/diabetes.csv"
    ))
    .unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// data/diabetes.csv standardized over all rows (population std), and its target.
fn diabetes() -> (Vec<f64>, Vec<f64>, usize, usize) {
    let rows = diabetes_rows();
    let (n, f) = (rows.len(), rows[0].len() - 1);
    let mut x = vec![0.0; n * f];
    for j in 0..f {
        let col: Vec<f64> = rows.iter().map(|r| r[j]).collect();
        let mean = col.iter().sum::<f64>() / n as f64;
        let std = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        for i in 0..n {
            x[i * f + j] = (col[i] - mean) / std;
        }
    }
    (x, rows.iter().map(|r| r[f]).collect(), n, f)
}

fn t2(x: &[f64], n: usize, f: usize) -> Tensor {
    Tensor::from_vec(x.to_vec(), &[n, f]).unwrap()
}

fn t1(y: &[f64]) -> Tensor {
    Tensor::from_vec(y.to_vec(), &[y.len()]).unwrap()
}

#[test]
fn lasso_and_elastic_net_match_scikit_learn() {
    let (x, y, n, f) = diabetes();
    for case in reference()["enet"].as_array().unwrap() {
        let config = ElasticNetConfig {
            alpha: case["alpha"].as_f64().unwrap(),
            l1_ratio: case["l1_ratio"].as_f64().unwrap(),
            tol: 1e-10,
            max_iter: 100_000,
        };
        let mut m = ElasticNet::new(config.clone());
        m.fit(&t2(&x, n, f), &t1(&y)).unwrap();
        let want = floats(&case["coef"]);
        for (j, (a, b)) in m.coef().iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() < 1e-6 * b.abs().max(1.0),
                "{config:?} coef {j}: {a} vs {b}"
            );
            assert_eq!(
                *a == 0.0,
                *b == 0.0,
                "{config:?} coef {j}: the same coefficients are exactly zero"
            );
        }
        let b0 = case["intercept"].as_f64().unwrap();
        assert!((m.intercept() - b0).abs() < 1e-6 * b0.abs());
    }
}

#[test]
fn lasso_zeroes_irrelevant_features() {
    // y depends on features 0 and 1 only; features 2..6 are noise.
    let mut rng = Rng::seed(3);
    let (n, f) = (300, 6);
    let x = Tensor::randn(&[n, f], zhixing_tensor::DType::F64, &mut rng)
        .to_vec::<f64>()
        .unwrap();
    let y: Vec<f64> = x.chunks(f).map(|r| 3.0 * r[0] - 2.0 * r[1] + 0.5).collect();
    let mut lasso = ElasticNet::new(ElasticNetConfig::lasso(0.1));
    lasso.fit(&t2(&x, n, f), &t1(&y)).unwrap();
    let w = lasso.coef();
    assert!(
        w[2..].iter().all(|v| *v == 0.0),
        "irrelevant features keep weight: {w:?}"
    );
    // The relevant ones are shrunk by exactly alpha (orthogonal-ish design): 3 − 0.1, −2 + 0.1.
    assert!(
        (w[0] - 2.9).abs() < 0.05 && (w[1] + 1.9).abs() < 0.05,
        "{w:?}"
    );
    // Ridge-like elastic net keeps every feature non-zero.
    let mut ridge_like = ElasticNet::new(ElasticNetConfig {
        alpha: 0.1,
        l1_ratio: 0.0,
        ..Default::default()
    });
    ridge_like.fit(&t2(&x, n, f), &t1(&y)).unwrap();
    assert!(ridge_like.coef().iter().all(|v| *v != 0.0));
}

#[test]
fn polynomial_features_follow_scikit_learns_order() {
    let r = reference();
    for (key, degree, inter) in [
        ("poly_2_full", 2, false),
        ("poly_3_full", 3, false),
        ("poly_3_inter", 3, true),
    ] {
        let case = &r[key];
        let input: Vec<f64> = case["input"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(floats)
            .collect();
        let out = polynomial_features(&t2(&input, 2, 3), degree, inter).unwrap();
        let want: Vec<f64> = case["output"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(floats)
            .collect();
        assert_eq!(out.to_vec::<f64>().unwrap(), want, "{key}");
        let powers: Vec<Vec<usize>> = monomials(3, degree, inter)
            .iter()
            .map(|t| {
                (0..3)
                    .map(|j| t.iter().filter(|&&i| i == j).count())
                    .collect()
            })
            .collect();
        let want_powers: Vec<Vec<usize>> = case["powers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                p.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect()
            })
            .collect();
        assert_eq!(powers, want_powers, "{key}");
    }
}

#[test]
fn polynomial_regression_matches_scikit_learns_r2() {
    let (x, y, n, f) = diabetes();
    let (train, test): (Vec<usize>, Vec<usize>) = (0..n).partition(|i| i % 5 != 0);
    let pick = |rows: &[usize]| -> (Tensor, Vec<f64>) {
        let xs: Vec<f64> = rows
            .iter()
            .flat_map(|&i| x[i * f..(i + 1) * f].to_vec())
            .collect();
        (t2(&xs, rows.len(), f), rows.iter().map(|&i| y[i]).collect())
    };
    let (xtr, ytr) = pick(&train);
    let (xte, yte) = pick(&test);
    let mut m = PolynomialRegression::new(PolynomialConfig::default());
    m.fit(&xtr, &t1(&ytr)).unwrap();
    assert_eq!(m.coef().len(), 65, "10 linear + 55 quadratic terms");
    let pred = m.predict(&xte).unwrap().to_vec::<f64>().unwrap();
    let r2 = metrics::r2(&yte, &pred).unwrap();
    let want = reference()["poly2_r2_test"].as_f64().unwrap();
    assert!((r2 - want).abs() < 1e-6, "{r2} vs {want}");
    let back = PolynomialRegression::from_parts(&m.to_parts().unwrap()).unwrap();
    assert_eq!(back.predict(&xte).unwrap().to_vec::<f64>().unwrap(), pred);
}

#[test]
fn l1_and_elastic_net_logistic_regression_match_scikit_learn() {
    for case in reference()["logistic"].as_array().unwrap() {
        let data = case["data"].as_str().unwrap();
        let (x, y) = standardized_all(&format!("{data}.csv"));
        let penalty = match case["penalty"].as_str().unwrap() {
            "l1" => Penalty::L1,
            _ => Penalty::ElasticNet,
        };
        let config = LogisticConfig {
            c: case["c"].as_f64().unwrap(),
            penalty,
            l1_ratio: case["l1_ratio"].as_f64().unwrap(),
            ..Default::default()
        };
        let mut m = LogisticRegression::new(config.clone());
        m.fit(&x, &ids(&y)).unwrap();
        let what = format!("{data} {config:?}");
        let got = m.coef().unwrap().to_vec::<f64>().unwrap();
        let want: Vec<f64> = case["coef"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(floats)
            .collect();
        assert_eq!(got.len(), want.len(), "{what}");
        // The objective is the criterion: ours is as low as saga's (tol 1e-12) to 1e-9
        // relative. Coefficients then agree to 1e-3: the collinear radius / perimeter /
        // area features leave a valley so flat that the objective's rounding floor
        // (~1e-14 relative) is reached before the coefficients settle further.
        let intercept = floats(&case["intercept"]);
        let ours = logistic_objective(&x, &y, &got, m.intercept(), &config);
        let theirs = logistic_objective(&x, &y, &want, &intercept, &config);
        assert!(
            ours <= theirs * (1.0 + 1e-9),
            "{what}: objective {ours} vs {theirs}"
        );
        for (j, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!((a - b).abs() < 1e-3, "{what} coef {j}: {a} vs {b}");
            if b.abs() > 1e-3 {
                assert_ne!(*a, 0.0, "{what} coef {j}: {b} in scikit-learn, zero here");
            }
        }
        // The L1 penalty's point: many coefficients are exactly zero, in both fits.
        let zeros = got.iter().filter(|v| **v == 0.0).count();
        let want_zeros = want.iter().filter(|v| v.abs() < 1e-8).count();
        assert!(want_zeros > 0, "{what}: the reference is sparse");
        assert!(
            zeros.abs_diff(want_zeros) <= 1 && zeros > 0,
            "{what}: {zeros} exact zeros here, {want_zeros} in scikit-learn"
        );
        for (a, b) in m.intercept().iter().zip(&intercept) {
            assert!((a - b).abs() < 1e-3, "{what} intercept: {a} vs {b}");
        }
    }
}

/// scikit-learn's objective `C·Σ loss + ρ‖W‖₁ + (1−ρ)/2·‖W‖²`, weights `[K', F]` (one row
/// for a binary problem).
fn logistic_objective(
    x: &Tensor,
    y: &[i64],
    coef: &[f64],
    intercept: &[f64],
    config: &LogisticConfig,
) -> f64 {
    let x = x.to_vec::<f64>().unwrap();
    let rows = intercept.len();
    let f = coef.len() / rows;
    let mut loss = 0.0;
    for (xi, &yi) in x.chunks(f).zip(y) {
        let z: Vec<f64> = (0..rows)
            .map(|r| {
                let w = &coef[r * f..(r + 1) * f];
                w.iter().zip(xi).map(|(a, b)| a * b).sum::<f64>() + intercept[r]
            })
            .collect();
        loss += if rows == 1 {
            // softplus(z) − y·z
            let z = z[0];
            z.max(0.0) + (-z.abs()).exp().ln_1p() - yi as f64 * z
        } else {
            let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln() - z[yi as usize]
        };
    }
    let rho = config.l1_ratio;
    let l1: f64 = coef.iter().map(|v| v.abs()).sum();
    let l2: f64 = coef.iter().map(|v| v * v).sum();
    config.c * loss + rho * l1 + 0.5 * (1.0 - rho) * l2
}

#[test]
fn smaller_c_means_fewer_non_zero_coefficients_under_l1() {
    let (x, y) = standardized_all("breast_cancer.csv");
    let non_zero = |c: f64| {
        let mut m = LogisticRegression::new(LogisticConfig {
            c,
            penalty: Penalty::L1,
            ..Default::default()
        });
        m.fit(&x, &ids(&y)).unwrap();
        let w = m.coef().unwrap().to_vec::<f64>().unwrap();
        w.iter().filter(|v| **v != 0.0).count()
    };
    let (few, more, most) = (non_zero(0.01), non_zero(0.1), non_zero(10.0));
    assert!(few < more && more < most, "{few} {more} {most}");
    assert!(few >= 1, "a tiny C still keeps the strongest feature");
}

#[test]
fn elastic_net_logistic_rejects_a_bad_l1_ratio() {
    let (x, y) = standardized_all("iris.csv");
    let mut m = LogisticRegression::new(LogisticConfig {
        penalty: Penalty::ElasticNet,
        l1_ratio: 1.5,
        ..Default::default()
    });
    let e = m.fit(&x, &ids(&y)).unwrap_err().to_string();
    assert!(e.contains("l1_ratio must be in [0, 1], got 1.5"), "{e}");
}

fn fit_linear(config: LinearConfig, x: &[f64], n: usize, f: usize, y: &[f64]) -> LinearRegression {
    let mut m = LinearRegression::new(config);
    m.fit(&t2(x, n, f), &t1(y)).unwrap();
    m
}

fn gd(alpha: f64) -> LinearConfig {
    LinearConfig {
        alpha,
        solver: LinearSolver::GradientDescent,
        ..Default::default()
    }
}

#[test]
fn gradient_descent_reaches_the_closed_form_solution() {
    // Diabetes in raw units (features ~0.05, target ~150): the solver standardizes inside.
    let rows = diabetes_rows();
    let (n, f) = (rows.len(), rows[0].len() - 1);
    let x: Vec<f64> = rows.iter().flat_map(|r| r[..f].to_vec()).collect();
    let y: Vec<f64> = rows.iter().map(|r| r[f]).collect();
    for alpha in [0.0, 1.0, 50.0] {
        let exact = fit_linear(LinearConfig::ridge(alpha), &x, n, f, &y);
        let by_gd = fit_linear(gd(alpha), &x, n, f, &y);
        let (iters, converged) = by_gd.iterations().unwrap();
        assert!(converged, "alpha {alpha}: {iters} passes");
        for (j, (a, b)) in by_gd.coef().iter().zip(exact.coef()).enumerate() {
            assert!(
                (a - b).abs() < 1e-6 * b.abs().max(1.0),
                "alpha {alpha} coef {j}: {a} vs {b}"
            );
        }
        let (a, b) = (by_gd.intercept(), exact.intercept());
        assert!((a - b).abs() < 1e-6 * b.abs(), "alpha {alpha}: {a} vs {b}");
    }
}

#[test]
fn gradient_descent_finds_the_minimum_norm_solution_of_a_rank_deficient_design() {
    // Column 1 duplicates column 0 and column 2 is constant: the minimum-norm least-squares
    // solution splits the weight evenly and gives the constant column none — starting at
    // zero, gradient descent never leaves the row space, so it ends there too.
    let mut rng = Rng::seed(11);
    let n = 400;
    let base = Tensor::randn(&[n, 2], zhixing_tensor::DType::F64, &mut rng)
        .to_vec::<f64>()
        .unwrap();
    let x: Vec<f64> = base
        .chunks(2)
        .flat_map(|r| [r[0], r[0], 7.0, r[1]])
        .collect();
    let y: Vec<f64> = base.chunks(2).map(|r| 4.0 * r[0] - r[1] + 2.0).collect();
    let svd = fit_linear(LinearConfig::default(), &x, n, 4, &y);
    let by_gd = fit_linear(gd(0.0), &x, n, 4, &y);
    assert_eq!(svd.rank(), Some(2));
    let want = [2.0, 2.0, 0.0, -1.0];
    for (j, w) in want.iter().enumerate() {
        assert!((svd.coef()[j] - w).abs() < 1e-9, "svd {:?}", svd.coef());
        assert!((by_gd.coef()[j] - w).abs() < 1e-8, "gd {:?}", by_gd.coef());
    }
    assert!((by_gd.intercept() - 2.0).abs() < 1e-8);
}

#[test]
fn gradient_descent_on_a_larger_noisy_problem_matches_the_svd() {
    let mut rng = Rng::seed(5);
    let (n, f) = (50_000, 20);
    let x = Tensor::randn(&[n, f], zhixing_tensor::DType::F64, &mut rng)
        .to_vec::<f64>()
        .unwrap();
    let noise = Tensor::randn(&[n], zhixing_tensor::DType::F64, &mut rng)
        .to_vec::<f64>()
        .unwrap();
    // Correlated columns (each mixes in the previous one) make the problem less trivial.
    let x: Vec<f64> = x
        .chunks(f)
        .flat_map(|r| {
            (0..f)
                .map(|j| r[j] * (j + 1) as f64 + if j > 0 { 0.9 * r[j - 1] } else { 0.0 })
                .collect::<Vec<_>>()
        })
        .collect();
    let y: Vec<f64> = x
        .chunks(f)
        .zip(&noise)
        .map(|(r, e)| {
            r.iter()
                .enumerate()
                .map(|(j, v)| v / (j + 1) as f64)
                .sum::<f64>()
                + e
        })
        .collect();
    let svd = fit_linear(LinearConfig::default(), &x, n, f, &y);
    let by_gd = fit_linear(gd(0.0), &x, n, f, &y);
    assert!(by_gd.iterations().unwrap().1);
    for (j, (a, b)) in by_gd.coef().iter().zip(svd.coef()).enumerate() {
        assert!((a - b).abs() < 1e-7, "coef {j}: {a} vs {b}");
    }
}
