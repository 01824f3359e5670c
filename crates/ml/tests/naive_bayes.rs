//! Naive Bayes: predict_proba parity with scikit-learn to 1e-9 for all three variants
//! (crates/ml/tests/reference/classical_naive_bayes.json, written by
//! scripts/classical_reference.py), GaussianNB's test accuracy on the shipped datasets,
//! saving and loading, and errors.

mod common;

use common::data::{ids, split_standardized};

use serde_json::Value;
use zhixing_ml::naive_bayes::{
    self, BernoulliConfig, BernoulliNB, GaussianConfig, GaussianNB, MultinomialConfig,
    MultinomialNB,
};
use zhixing_ml::{Error, Estimator};
use zhixing_tensor::Tensor;

fn mat(v: &Value) -> Tensor {
    let rows = common::vvf(v);
    Tensor::from_vec(rows.concat(), &[rows.len(), rows[0].len()]).unwrap()
}

fn ids_of(v: &Value) -> Vec<i64> {
    common::vf(v).iter().map(|&c| c as i64).collect()
}

#[track_caller]
fn close_all(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "{what}[{i}]: {g} vs {w} (diff {:e})",
            (g - w).abs()
        );
    }
}

fn model_for(case: &Value) -> Box<dyn Estimator> {
    let p = &case["params"];
    match case["variant"].as_str().unwrap() {
        "gaussian" => Box::new(GaussianNB::new(GaussianConfig {
            var_smoothing: p["var_smoothing"].as_f64().unwrap(),
        })),
        "multinomial" => Box::new(MultinomialNB::new(MultinomialConfig {
            alpha: p["alpha"].as_f64().unwrap(),
        })),
        "bernoulli" => Box::new(BernoulliNB::new(BernoulliConfig {
            alpha: p["alpha"].as_f64().unwrap(),
            binarize: p["binarize"].as_f64(),
        })),
        v => panic!("unknown variant {v}"),
    }
}

#[test]
fn predict_proba_matches_scikit_learn() {
    let r = common::load("classical_naive_bayes.json");
    let mut seen = [0; 3];
    for case in r["cases"].as_array().unwrap() {
        let variant = case["variant"].as_str().unwrap();
        let what = format!("{variant} {}", case["params"]);
        let (x, xq) = (mat(&case["x_train"]), mat(&case["x_test"]));
        let y = ids(&ids_of(&case["y_train"]));
        let mut m = model_for(case);
        m.fit(&x, &y).unwrap();
        let p = m.predict_proba(&xq).unwrap().unwrap();
        let want = common::vvf(&case["predict_proba"]);
        assert_eq!(p.shape(), &[want.len(), want[0].len()], "{what}");
        close_all(&p.to_vec::<f64>().unwrap(), &want.concat(), 1e-9, &what);
        assert_eq!(
            m.predict(&xq).unwrap().to_vec::<i64>().unwrap(),
            ids_of(&case["predict"]),
            "{what}"
        );
        // Rows sum to 1.
        for row in p.to_vec::<f64>().unwrap().chunks(p.shape()[1]) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // Fitted parameters, where scikit-learn exposes them.
        match variant {
            "gaussian" => {
                seen[0] += 1;
                let g = GaussianNB::from_parts(&m.to_parts().unwrap()).unwrap();
                close_all(
                    &g.theta().unwrap().to_vec::<f64>().unwrap(),
                    &common::vvf(&case["theta"]).concat(),
                    1e-12,
                    &what,
                );
                close_all(
                    &g.var().unwrap().to_vec::<f64>().unwrap(),
                    &common::vvf(&case["var"]).concat(),
                    1e-12,
                    &what,
                );
                close_all(
                    g.class_prior().unwrap(),
                    &common::vf(&case["class_prior"]),
                    1e-15,
                    &what,
                );
            }
            "multinomial" => {
                seen[1] += 1;
                let d = MultinomialNB::from_parts(&m.to_parts().unwrap()).unwrap();
                close_all(
                    &d.feature_log_prob().unwrap().to_vec::<f64>().unwrap(),
                    &common::vvf(&case["feature_log_prob"]).concat(),
                    1e-12,
                    &what,
                );
                close_all(
                    d.class_log_prior().unwrap(),
                    &common::vf(&case["class_log_prior"]),
                    1e-12,
                    &what,
                );
            }
            _ => {
                seen[2] += 1;
                let d = BernoulliNB::from_parts(&m.to_parts().unwrap()).unwrap();
                close_all(
                    &d.feature_log_prob().unwrap().to_vec::<f64>().unwrap(),
                    &common::vvf(&case["feature_log_prob"]).concat(),
                    1e-12,
                    &what,
                );
                close_all(
                    d.class_log_prior().unwrap(),
                    &common::vf(&case["class_log_prior"]),
                    1e-12,
                    &what,
                );
            }
        }
        // Saved and loaded through the "nb" dispatcher: the same probabilities.
        let parts = m.to_parts().unwrap();
        assert_eq!(parts.params["variant"], *variant);
        let back = naive_bayes::from_parts(&parts).unwrap();
        assert_eq!(back.name(), "nb");
        close_all(
            &back
                .predict_proba(&xq)
                .unwrap()
                .unwrap()
                .to_vec::<f64>()
                .unwrap(),
            &p.to_vec::<f64>().unwrap(),
            1e-13,
            &format!("{what} reloaded"),
        );
    }
    assert_eq!(seen, [2, 2, 3]);
}

#[test]
fn extreme_likelihoods_stay_normalized() {
    // Far from both classes, the joint log-likelihoods are around −1e6; exp() of them
    // underflows, the log-sum-exp does not.
    let x = Tensor::from_vec(vec![0.0, 0.1, -0.1, 1.0, 1.1, 0.9], &[6, 1]).unwrap();
    let y = ids(&[0, 0, 0, 1, 1, 1]);
    let mut g = GaussianNB::new(GaussianConfig::default());
    g.fit(&x, &y).unwrap();
    let q = Tensor::from_vec(vec![100.0, -100.0], &[2, 1]).unwrap();
    let p = g
        .predict_proba(&q)
        .unwrap()
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    assert!(p.iter().all(|v| v.is_finite()));
    assert_eq!(p, vec![0.0, 1.0, 1.0, 0.0]);
}

#[test]
fn a_class_absent_from_training_gets_probability_zero() {
    let x = Tensor::from_vec(vec![1.0, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0, 1.0], &[4, 2]).unwrap();
    let y = ids(&[0, 2, 0, 2]);
    let mut m = MultinomialNB::new(MultinomialConfig::default());
    m.fit(&x, &y).unwrap();
    let p = m.predict_proba(&x).unwrap().unwrap();
    assert_eq!(p.shape(), &[4, 3]);
    let p = p.to_vec::<f64>().unwrap();
    assert!(p
        .chunks(3)
        .all(|r| r[1] == 0.0 && (r[0] + r[2] - 1.0).abs() < 1e-12));
    assert_eq!(
        m.predict(&x).unwrap().to_vec::<i64>().unwrap(),
        vec![0, 2, 0, 2]
    );
}

#[test]
fn gaussian_accuracy_matches_scikit_learn_on_shipped_data() {
    let r = common::load("classical_accuracy.json");
    for ds in r["datasets"].as_array().unwrap() {
        let file = ds["file"].as_str().unwrap();
        let (xtr, ytr, xte, yte) = split_standardized(file);
        let t = std::time::Instant::now();
        let mut m = GaussianNB::new(GaussianConfig::default());
        m.fit(&xtr, &ytr).unwrap();
        let p = m.predict(&xte).unwrap().to_vec::<i64>().unwrap();
        let secs = t.elapsed().as_secs_f64();
        let acc = p.iter().zip(&yte).filter(|(a, b)| a == b).count() as f64 / yte.len() as f64;
        let want = ds["gaussian_nb_accuracy"].as_f64().unwrap();
        let sk = ids_of(&ds["gaussian_nb_predict"]);
        let agree = p.iter().zip(&sk).filter(|(a, b)| a == b).count();
        eprintln!(
            "{file}: GaussianNB accuracy {acc:.4} (scikit-learn {want:.4}), {agree}/{} \
             predictions agree, fit+predict {:.3} ms",
            sk.len(),
            secs * 1e3,
        );
        assert!(acc >= want - 0.01, "{file}: {acc} vs {want}");
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let x = Tensor::from_vec(vec![1.0, 0.0, 2.0, 1.0, 0.0, 3.0], &[3, 2]).unwrap();
    let y = ids(&[0, 1, 1]);
    let q = Tensor::from_vec(vec![1.0, 1.0], &[1, 2]).unwrap();

    let mut m = MultinomialNB::new(MultinomialConfig::default());
    assert!(m
        .predict(&q)
        .unwrap_err()
        .to_string()
        .contains("not fitted"));
    let neg = Tensor::from_vec(vec![1.0, 0.0, 2.0, -1.0, 0.0, 3.0], &[3, 2]).unwrap();
    let e = m.fit(&neg, &y).unwrap_err();
    assert!(
        e.to_string()
            .contains("negative value -1 at sample 1, feature 1"),
        "{e}"
    );
    m.fit(&x, &y).unwrap();
    assert!(m
        .predict(&Tensor::from_vec(vec![-1.0, 1.0], &[1, 2]).unwrap())
        .is_err());
    assert!(
        m.predict(&Tensor::from_vec(vec![1.0; 3], &[1, 3]).unwrap())
            .is_err(),
        "feature count"
    );
    m.config.alpha = 0.0;
    assert!(m.fit(&x, &y).unwrap_err().to_string().contains("alpha"));
    m.config.alpha = f64::NAN;
    assert!(m.fit(&x, &y).is_err());

    let mut g = GaussianNB::new(GaussianConfig::default());
    assert!(
        matches!(g.fit(&x, &ids(&[1, 1, 1])), Err(Error::Undefined { .. })),
        "one class"
    );
    assert!(g.fit(&x, &ids(&[0, 1])).is_err(), "row count");
    assert!(g.fit(&x, &ids(&[0, -1, 1])).is_err(), "negative class id");
    let nan = Tensor::from_vec(vec![1.0, f64::NAN, 2.0, 1.0, 0.0, 3.0], &[3, 2]).unwrap();
    assert!(g
        .fit(&nan, &y)
        .unwrap_err()
        .to_string()
        .contains("non-finite"));
    g.config.var_smoothing = -1.0;
    assert!(g.fit(&x, &y).is_err());
    // Constant features with no smoothing: zero variance is reported, not divided by.
    g.config.var_smoothing = 0.0;
    let flat = Tensor::from_vec(vec![1.0, 1.0, 1.0, 1.0], &[4, 1]).unwrap();
    assert!(g
        .fit(&flat, &ids(&[0, 0, 1, 1]))
        .unwrap_err()
        .to_string()
        .contains("zero variance"));

    let mut b = BernoulliNB::new(BernoulliConfig {
        binarize: None,
        ..Default::default()
    });
    assert!(b
        .fit(&x, &y)
        .unwrap_err()
        .to_string()
        .contains("not 0 or 1"));
    b.config.binarize = Some(0.5);
    b.fit(&x, &y).unwrap();
    // Parts of one variant do not load as another.
    let parts = b.to_parts().unwrap();
    assert!(MultinomialNB::from_parts(&parts).is_err());
    assert!(GaussianNB::from_parts(&parts).is_err());
    assert!(BernoulliNB::from_parts(&parts).is_ok());
}
