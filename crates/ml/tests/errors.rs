//! Bad input gives a typed error, never a panic.

use zhixing_ml::metrics::{self, Average, ConfusionMatrix};
use zhixing_ml::stats::{self, ColumnStats, Estimate};
use zhixing_ml::Error;
use zhixing_tensor::Tensor;

const NAN: f64 = f64::NAN;

#[test]
fn empty_inputs() {
    let e: [i64; 0] = [];
    assert!(matches!(
        metrics::accuracy(&e, &e),
        Err(Error::Empty { .. })
    ));
    assert!(ConfusionMatrix::new(&e, &e).is_err());
    assert!(metrics::precision_recall_f1(&e, &e, None).is_err());
    assert!(metrics::roc_auc(&[], &[]).is_err());
    assert!(metrics::log_loss::<i64, Vec<f64>>(&[], &[], None).is_err());
    assert!(metrics::mse(&[], &[]).is_err());
    assert!(metrics::hit_rate_at_k::<i32, Vec<i32>, Vec<i32>>(&[], &[], 1).is_err());
    for f in [
        stats::mean,
        stats::median,
        stats::mode,
        stats::min,
        stats::max,
        stats::iqr,
    ] {
        assert!(matches!(f(&[]), Err(Error::Empty { .. })));
    }
    assert!(stats::variance(&[], Estimate::Population).is_err());
    assert!(stats::quantiles(&[], &[0.5]).is_err());
    assert!(stats::entropy(&[], None).is_err());
    assert!(stats::covariance_matrix::<Vec<f64>>(&[], Estimate::Sample).is_err());
}

#[test]
fn length_mismatches() {
    let lm = |r: Result<f64, Error>| matches!(r, Err(Error::LengthMismatch { .. }));
    assert!(lm(metrics::accuracy(&[1, 2], &[1])));
    assert!(lm(metrics::mse(&[1.0, 2.0], &[1.0])));
    assert!(lm(metrics::r2(&[1.0, 2.0], &[1.0])));
    assert!(lm(metrics::roc_auc(&[true, false], &[0.3])));
    assert!(lm(metrics::log_loss_binary(&[true, false], &[0.3])));
    assert!(lm(metrics::log_loss(&[0, 1], &[vec![0.5, 0.5]], None)));
    // A probability row of the wrong width.
    assert!(lm(metrics::log_loss(
        &[0, 1],
        &[vec![0.5, 0.5], vec![1.0]],
        None
    )));
    assert!(lm(stats::kl_divergence(&[0.5, 0.5], &[1.0], None)));
    assert!(lm(metrics::mean_reciprocal_rank(
        &[vec![1]],
        &[vec![1], vec![2]],
        None
    )));
    assert!(stats::covariance_matrix(&[vec![1.0, 2.0], vec![1.0]], Estimate::Sample).is_err());
    assert!(ConfusionMatrix::new(&[1, 2], &[1]).is_err());
    assert!(metrics::binary_scores(&[1, 0], &[1], &1).is_err());
}

#[test]
fn one_class_where_two_are_needed() {
    let undef = |r: Result<f64, Error>| matches!(r, Err(Error::Undefined { .. }));
    assert!(undef(metrics::roc_auc(&[true, true], &[0.2, 0.9])));
    assert!(undef(metrics::roc_auc(&[false, false], &[0.2, 0.9])));
    assert!(undef(metrics::log_loss_binary(&[true, true], &[0.2, 0.9])));
    assert!(undef(metrics::log_loss(
        &[1, 1],
        &[vec![0.5, 0.5], vec![0.5, 0.5]],
        None
    )));
    // With both labels given, a single class in y_true is fine.
    assert!(metrics::log_loss(&[1, 1], &[vec![0.5, 0.5], vec![0.5, 0.5]], Some(&[0, 1])).is_ok());
    // Binary scores on a three-class problem, or with a positive label never seen.
    assert!(metrics::binary_scores(&[0, 1, 2], &[0, 1, 1], &1).is_err());
    assert!(metrics::binary_scores(&[0, 1], &[0, 1], &7).is_err());
}

#[test]
fn nan_and_infinity() {
    let nf = |r: Result<f64, Error>| matches!(r, Err(Error::NonFinite { .. }));
    assert!(nf(stats::mean(&[1.0, NAN])));
    assert!(nf(stats::median(&[NAN])));
    assert!(nf(stats::quantile(&[1.0, f64::INFINITY], 0.5)));
    assert!(nf(stats::skewness(&[1.0, 2.0, NAN, 4.0], Estimate::Sample)));
    assert!(nf(metrics::mse(&[1.0, NAN], &[1.0, 2.0])));
    assert!(nf(metrics::r2(&[1.0, 2.0], &[1.0, NAN])));
    assert!(nf(metrics::roc_auc(&[true, false], &[NAN, 0.1])));
    assert!(stats::entropy(&[0.5, NAN], None).is_err());
    assert!(metrics::log_loss_binary(&[true, false], &[NAN, 0.1]).is_err());
    assert!(metrics::log_loss(&[0, 1], &[vec![NAN, 0.5], vec![0.5, 0.5]], None).is_err());
    assert!(stats::covariance_matrix(&[vec![1.0, NAN]], Estimate::Population).is_err());
    assert!(ColumnStats::new("x", &[1.0, f64::NEG_INFINITY]).is_err());
}

#[test]
fn invalid_arguments() {
    let inv = |r: Result<f64, Error>| matches!(r, Err(Error::Invalid { .. }));
    assert!(inv(stats::quantile(&[1.0, 2.0], 1.5)));
    assert!(inv(stats::quantile(&[1.0, 2.0], -0.1)));
    assert!(inv(stats::quantile(&[1.0, 2.0], NAN)));
    assert!(inv(stats::entropy(&[0.5, -0.5, 1.0], None)));
    assert!(inv(stats::entropy(&[0.0, 0.0], None)));
    assert!(inv(stats::entropy(&[0.5, 0.5], Some(1.0))));
    assert!(inv(stats::entropy(&[0.5, 0.5], Some(-2.0))));
    assert!(inv(metrics::log_loss_binary(&[true, false], &[1.2, 0.1])));
    assert!(inv(metrics::log_loss(
        &[0, 1],
        &[vec![0.5, 0.5], vec![-0.1, 1.1]],
        None
    )));
    // A true label outside the given labels.
    assert!(inv(metrics::log_loss(
        &[0, 5],
        &[vec![0.5, 0.5], vec![0.5, 0.5]],
        Some(&[0, 1])
    )));
    assert!(inv(metrics::hit_rate_at_k(&[vec![1]], &[vec![1]], 0)));
    assert!(inv(metrics::mean_reciprocal_rank(
        &[vec![1]],
        &[vec![1]],
        Some(0)
    )));
    // Label lists: empty, repeated, or with no label present in y_true.
    assert!(ConfusionMatrix::with_labels(&[0, 1], &[0, 1], &[]).is_err());
    assert!(ConfusionMatrix::with_labels(&[0, 1], &[0, 1], &[0, 0]).is_err());
    assert!(ConfusionMatrix::with_labels(&[0, 1], &[0, 1], &[7]).is_err());
    assert!(
        metrics::precision_recall_f1_average(&[0, 1], &[0, 1], Some(&[]), Average::Macro).is_err()
    );
    // Tensors of rank 3 have no columns.
    let t = Tensor::from_vec(vec![0.0f32; 8], &[2, 2, 2]).unwrap();
    assert!(stats::describe_tensor(&t, None).is_err());
    let t = Tensor::from_vec(vec![0.0f32; 4], &[2, 2]).unwrap();
    assert!(stats::describe_tensor(&t, Some(&["only one".to_string()])).is_err());
}

#[test]
fn too_few_values_and_undefined_shapes() {
    let few = |r: Result<f64, Error>| matches!(r, Err(Error::TooFew { .. }));
    assert!(few(stats::variance(&[1.0], Estimate::Sample)));
    assert!(few(stats::std(&[1.0], Estimate::Sample)));
    assert!(few(stats::skewness(&[1.0, 2.0], Estimate::Sample)));
    assert!(few(stats::kurtosis(&[1.0, 2.0, 3.0], Estimate::Sample)));
    assert!(few(metrics::r2(&[1.0], &[1.0])));
    assert!(stats::covariance_matrix(&[vec![1.0]], Estimate::Sample).is_err());
    assert_eq!(stats::variance(&[1.0], Estimate::Population).unwrap(), 0.0);
    let undef = |r: Result<f64, Error>| matches!(r, Err(Error::Undefined { .. }));
    assert!(undef(stats::skewness(&[3.0; 5], Estimate::Population)));
    assert!(undef(stats::kurtosis(&[3.0; 5], Estimate::Sample)));
    assert!(undef(stats::pearson(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0])));
    // Errors say what went wrong.
    let msg = stats::quantile(&[1.0], 2.0).unwrap_err().to_string();
    assert!(msg.contains("quantile") && msg.contains("[0, 1]"), "{msg}");
}
