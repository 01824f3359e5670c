//! PCA: explained variance, ratios, singular values and components against scikit-learn
//! (crates/ml/tests/reference/classical_decomposition.json, written by
//! scripts/classical_reference.py), exact reconstruction, saving, errors.

mod common;

use serde_json::Value;
use zhixing_ml::decomposition::{PcaConfig, PcaSolver, PCA};
use zhixing_tensor::Tensor;

fn mat(v: &Value) -> Tensor {
    let rows = common::vvf(v);
    Tensor::from_vec(rows.concat(), &[rows.len(), rows[0].len()]).unwrap()
}

/// Largest |got − want| relative to `scale`.
#[track_caller]
fn close_rel(got: &[f64], want: &[f64], tol: f64, scale: f64, what: &str) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs() / scale;
        assert!(d <= tol, "{what}[{i}]: {g} vs {w} (relative diff {d:e})");
        worst = worst.max(d);
    }
    worst
}

fn fit(x: &Tensor, n_components: Option<usize>, solver: PcaSolver) -> PCA {
    let mut p = PCA::new(PcaConfig {
        n_components,
        solver,
    });
    p.fit(x).unwrap();
    p
}

#[test]
fn matches_scikit_learn() {
    let r = common::load("classical_decomposition.json");
    for case in r["cases"].as_array().unwrap() {
        let name = case["dataset"].as_str().unwrap();
        let nc = case["n_components"].as_u64().map(|v| v as usize);
        let x = mat(&r["datasets"][name]);
        // Auto picks what scikit-learn picked; the other solver must agree as well.
        for solver in [PcaSolver::Auto, PcaSolver::CovarianceEigh, PcaSolver::Full] {
            let what = format!("{name} n_components={nc:?} {solver:?}");
            let p = fit(&x, nc, solver);
            let ev = common::vf(&case["explained_variance"]);
            let top = ev[0];
            let e1 = close_rel(p.explained_variance().unwrap(), &ev, 1e-6, top, &what);
            // Each one to 1e-6 of itself, the smallest included.
            for (g, w) in p.explained_variance().unwrap().iter().zip(&ev) {
                assert!(
                    (g - w).abs() <= 1e-6 * w + 1e-13 * top,
                    "{what}: {g} vs {w}"
                );
            }
            let e2 = close_rel(
                p.explained_variance_ratio().unwrap(),
                &common::vf(&case["explained_variance_ratio"]),
                1e-6,
                1.0,
                &what,
            );
            let sv = common::vf(&case["singular_values"]);
            close_rel(p.singular_values().unwrap(), &sv, 1e-6, sv[0], &what);
            close_rel(
                p.mean().unwrap(),
                &common::vf(&case["mean"]),
                1e-12,
                1.0,
                &what,
            );
            // Components, sign convention included.
            let comps = p.components().unwrap().to_vec::<f64>().unwrap();
            let e3 = close_rel(
                &comps,
                &common::vvf(&case["components"]).concat(),
                1e-6,
                1.0,
                &what,
            );
            let z = p.transform(&x).unwrap().to_vec2_f64().unwrap();
            let want_z = common::vvf(&case["transform_first10"]);
            for (g, w) in z.iter().zip(&want_z) {
                close_rel(
                    g,
                    w,
                    1e-6,
                    1.0 + w.iter().map(|v| v.abs()).fold(0.0, f64::max),
                    &what,
                );
            }
            assert!(
                (p.noise_variance().unwrap() - case["noise_variance"].as_f64().unwrap()).abs()
                    <= 1e-6 * top
            );
            if solver == PcaSolver::Auto {
                eprintln!(
                    "{what} (scikit-learn's solver {}): max diff explained_variance \
                     {e1:.1e} (relative to the largest), ratio {e2:.1e}, components {e3:.1e}",
                    case["solver"]
                );
            }
        }
    }
}

#[test]
fn all_components_reconstruct_the_data() {
    let r = common::load("classical_decomposition.json");
    for name in ["iris", "wine", "wine_first40"] {
        let x = mat(&r["datasets"][name]);
        for solver in [PcaSolver::Auto, PcaSolver::CovarianceEigh, PcaSolver::Full] {
            let mut p = PCA::new(PcaConfig {
                solver,
                ..Default::default()
            });
            let z = p.fit_transform(&x).unwrap();
            let k = z.shape()[1];
            assert_eq!(k, x.shape()[0].min(x.shape()[1]));
            let back = p.inverse_transform(&z).unwrap().to_vec::<f64>().unwrap();
            let orig = x.to_vec::<f64>().unwrap();
            // wine_first40 with the covariance solver: 13 axes from 40 samples, full rank.
            for (i, (a, b)) in back.iter().zip(&orig).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                    "{name} {solver:?} [{i}]: {a} vs {b}"
                );
            }
            // Components are orthonormal.
            let c = p.components().unwrap().to_vec2_f64().unwrap();
            for i in 0..c.len() {
                for j in 0..=i {
                    let d: f64 = c[i].iter().zip(&c[j]).map(|(a, b)| a * b).sum();
                    assert!(
                        (d - (i == j) as u8 as f64).abs() < 1e-10,
                        "{name} {solver:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn saved_model_transforms_the_same() {
    let r = common::load("classical_decomposition.json");
    let x = mat(&r["datasets"]["wine"]);
    let p = fit(&x, Some(4), PcaSolver::Auto);
    let back = PCA::from_parts(&p.to_parts().unwrap()).unwrap();
    assert_eq!(
        back.transform(&x).unwrap().to_vec::<f64>().unwrap(),
        p.transform(&x).unwrap().to_vec::<f64>().unwrap()
    );
    assert_eq!(
        back.explained_variance_ratio().unwrap(),
        p.explained_variance_ratio().unwrap()
    );
    assert_eq!(back.n_components().unwrap(), 4);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 7.0], &[3, 2]).unwrap();
    let mut p = PCA::new(PcaConfig {
        n_components: Some(3),
        ..Default::default()
    });
    assert!(p
        .transform(&x)
        .unwrap_err()
        .to_string()
        .contains("not fitted"));
    let e = p.fit(&x).unwrap_err();
    assert!(e.to_string().contains("n_components = 3"), "{e}");
    p.config.n_components = Some(0);
    assert!(p.fit(&x).is_err());
    p.config.n_components = None;
    assert!(
        p.fit(&Tensor::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap())
            .is_err(),
        "one sample"
    );
    let nan = Tensor::from_vec(vec![1.0, 2.0, f64::NAN, 4.0, 5.0, 7.0], &[3, 2]).unwrap();
    assert!(p.fit(&nan).unwrap_err().to_string().contains("non-finite"));
    let flat = Tensor::from_vec(vec![1.0; 6], &[3, 2]).unwrap();
    assert!(p.fit(&flat).unwrap_err().to_string().contains("constant"));
    p.fit(&x).unwrap();
    assert!(p
        .transform(&Tensor::from_vec(vec![1.0; 3], &[1, 3]).unwrap())
        .is_err());
    assert!(p
        .inverse_transform(&Tensor::from_vec(vec![1.0; 3], &[1, 3]).unwrap())
        .is_err());
}
