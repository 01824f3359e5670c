//! Learning-rate schedules checked against PyTorch's schedulers and the warm-up formula.
//!
//! `tests/reference/optim_reference.json` ("schedules") holds the rates PyTorch's StepLR,
//! ExponentialLR, CosineAnnealingLR and LinearLR give for steps 0..N
//! (`scripts/optim_reference.py`).

use serde_json::Value;
use zhixing_nn::schedule::{Decay, LrSchedule};
use zhixing_nn::Error;

/// The PyTorch rates of a reference case and its settings.
fn case(name: &str) -> (Vec<f64>, Value) {
    let r: Value = serde_json::from_str(include_str!("reference/optim_reference.json")).unwrap();
    let c = &r["schedules"][name];
    assert!(c.is_object(), "reference schedule {name} missing");
    let lrs = c["lrs"].as_array().unwrap();
    let lrs = lrs.iter().map(|v| v.as_f64().unwrap()).collect();
    (lrs, c.clone())
}

fn check(name: &str, s: &LrSchedule, want: &[f64]) {
    s.validate().unwrap();
    for (step, w) in want.iter().enumerate() {
        let got = s.lr_at(step);
        assert!(
            (got - w).abs() <= 1e-12 * w.abs().max(1e-3),
            "{name} step {step}: got {got}, want {w}"
        );
    }
}

fn num(c: &Value, path: &[&str]) -> f64 {
    path.iter().fold(c, |v, k| &v[*k]).as_f64().unwrap()
}

#[test]
fn step_decay_matches_step_lr() {
    let (want, c) = case("step");
    let decay = Decay::Step {
        step_size: num(&c, &["settings", "step_size"]) as usize,
        gamma: num(&c, &["settings", "gamma"]),
    };
    check(
        "step",
        &LrSchedule::new(num(&c, &["base_lr"]), decay),
        &want,
    );
}

#[test]
fn exponential_decay_matches_exponential_lr() {
    let (want, c) = case("exponential");
    let decay = Decay::Exponential {
        gamma: num(&c, &["settings", "gamma"]),
    };
    check(
        "exponential",
        &LrSchedule::new(num(&c, &["base_lr"]), decay),
        &want,
    );
}

#[test]
fn cosine_decay_matches_cosine_annealing_lr() {
    let (want, c) = case("cosine");
    let min_lr = num(&c, &["settings", "eta_min"]);
    let decay = Decay::Cosine {
        total_steps: num(&c, &["settings", "T_max"]) as usize,
        min_lr,
    };
    let s = LrSchedule::new(num(&c, &["base_lr"]), decay);
    check("cosine", &s, &want);
    // After total_steps the rate stays at min_lr.
    assert_eq!(s.lr_at(want.len()), min_lr);
    assert_eq!(s.lr_at(1000), min_lr);
}

#[test]
fn linear_decay_matches_linear_lr() {
    let (want, c) = case("linear");
    let base = num(&c, &["base_lr"]);
    let end_lr = base * num(&c, &["settings", "end_factor"]);
    let decay = Decay::Linear {
        total_steps: num(&c, &["settings", "total_iters"]) as usize,
        end_lr,
    };
    let s = LrSchedule::new(base, decay);
    check("linear", &s, &want);
    assert_eq!(s.lr_at(1000), end_lr);
}

#[test]
fn constant_is_constant() {
    let s = LrSchedule::new(0.3, Decay::Constant);
    assert!((0..50).all(|t| s.lr_at(t) == 0.3));
}

#[test]
fn warmup_rises_linearly_then_hands_over_to_the_decay() {
    let base = 0.2;
    let warm = 5;
    let decay = Decay::Cosine {
        total_steps: 10,
        min_lr: 0.01,
    };
    let plain = LrSchedule::new(base, decay);
    let s = plain.with_warmup(warm);
    assert_eq!(s.warmup_steps, warm);
    for step in 0..warm {
        let want = base * (step + 1) as f64 / warm as f64;
        assert!((s.lr_at(step) - want).abs() < 1e-15, "warm-up step {step}");
    }
    assert_eq!(s.lr_at(warm - 1), base);
    for t in 0..20 {
        assert_eq!(s.lr_at(warm + t), plain.lr_at(t), "decay step {t}");
    }
    let stepped = LrSchedule::new(
        1.0,
        Decay::Step {
            step_size: 2,
            gamma: 0.5,
        },
    )
    .with_warmup(3);
    let lrs: Vec<f64> = (0..8).map(|t| stepped.lr_at(t)).collect();
    assert_eq!(lrs[3..], [1.0, 1.0, 0.5, 0.5, 0.25]);
}

#[test]
fn invalid_schedules_are_config_errors() {
    let bad = [
        LrSchedule::new(-0.1, Decay::Constant),
        LrSchedule::new(f64::NAN, Decay::Constant),
        LrSchedule::new(
            0.1,
            Decay::Step {
                step_size: 0,
                gamma: 0.5,
            },
        ),
        LrSchedule::new(0.1, Decay::Exponential { gamma: -0.9 }),
        LrSchedule::new(
            0.1,
            Decay::Cosine {
                total_steps: 0,
                min_lr: 0.0,
            },
        ),
        LrSchedule::new(
            0.1,
            Decay::Linear {
                total_steps: 10,
                end_lr: f64::INFINITY,
            },
        ),
    ];
    for s in bad {
        assert!(matches!(s.validate(), Err(Error::Config { .. })), "{s:?}");
    }
    // Invalid lengths do not make lr_at panic or divide by zero.
    let s = LrSchedule::new(
        0.1,
        Decay::Cosine {
            total_steps: 0,
            min_lr: 0.0,
        },
    );
    assert_eq!(s.lr_at(0), 0.0);
}

#[test]
fn schedules_round_trip_through_serde() {
    let s = LrSchedule::new(
        3e-4,
        Decay::Cosine {
            total_steps: 1000,
            min_lr: 3e-5,
        },
    )
    .with_warmup(100);
    let text = serde_json::to_string(&s).unwrap();
    assert!(text.contains("\"kind\":\"cosine\""), "{text}");
    let back: LrSchedule = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
    let text = serde_json::to_string(&LrSchedule::new(0.1, Decay::Constant)).unwrap();
    let back: LrSchedule = serde_json::from_str(&text).unwrap();
    assert_eq!(back.decay, Decay::Constant);
}
