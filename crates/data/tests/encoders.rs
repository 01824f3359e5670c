//! Scalers, encoders, text vectorizers and imputation against scikit-learn 1.9.1 values
//! (tests/reference/data_reference.json, written by scripts/data_reference.py).

use serde_json::Value as J;
use zhixing_data::pipeline::{FeatureTransform, PipelineOptions, TransformOptions};
use zhixing_data::{
    infer_schema, read_table, MissingPolicy, OneHotEncoder, OrdinalEncoder, ReadOptions, Scaler,
    SchemaOptions, TextMode, TextOptions, TextVectorizer,
};

fn reference() -> J {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/data_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn mat(v: &J) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn strs(v: &J) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn close(a: &[Vec<f64>], b: &[Vec<f64>], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (ra, rb) in a.iter().zip(b) {
        assert_eq!(ra.len(), rb.len(), "{what}");
        for (x, y) in ra.iter().zip(rb) {
            assert!((x - y).abs() < 1e-12, "{what}: {x} vs {y}\n{a:?}\n{b:?}");
        }
    }
}

fn scale_all(train: &[Vec<f64>], rows: &[Vec<f64>], fit: fn(&[f64]) -> Scaler) -> Vec<Vec<f64>> {
    let scalers: Vec<Scaler> = (0..train[0].len())
        .map(|j| fit(&train.iter().map(|r| r[j]).collect::<Vec<_>>()))
        .collect();
    rows.iter()
        .map(|r| r.iter().zip(&scalers).map(|(x, s)| s.apply(*x)).collect())
        .collect()
}

#[test]
fn standard_scaler_matches_sklearn() {
    let r = reference();
    let (train, test) = (mat(&r["scaler_train"]), mat(&r["scaler_test"]));
    for j in 0..3 {
        let s = Scaler::standard(&train.iter().map(|row| row[j]).collect::<Vec<_>>());
        assert!((s.offset - r["standard_mean"][j].as_f64().unwrap()).abs() < 1e-12);
        assert!((s.scale - r["standard_scale"][j].as_f64().unwrap()).abs() < 1e-12);
    }
    close(
        &scale_all(&train, &train, Scaler::standard),
        &mat(&r["standard_train"]),
        "std train",
    );
    close(
        &scale_all(&train, &test, Scaler::standard),
        &mat(&r["standard_test"]),
        "std test",
    );
}

#[test]
fn min_max_scaler_matches_sklearn() {
    let r = reference();
    let (train, test) = (mat(&r["scaler_train"]), mat(&r["scaler_test"]));
    close(
        &scale_all(&train, &train, Scaler::min_max),
        &mat(&r["minmax_train"]),
        "mm train",
    );
    close(
        &scale_all(&train, &test, Scaler::min_max),
        &mat(&r["minmax_test"]),
        "mm test",
    );
}

#[test]
fn one_hot_and_ordinal_match_sklearn_with_unseen_categories() {
    let r = reference();
    let train = strs(&r["cats_train"]);
    let test = strs(&r["cats_test"]);
    let ohe = OneHotEncoder::fit(train.iter().map(String::as_str));
    assert_eq!(ohe.categories, strs(&r["onehot_categories"]));
    let mut unseen = 0;
    let got: Vec<Vec<f64>> = test
        .iter()
        .map(|c| {
            let mut row = vec![0.0; ohe.width()];
            if !ohe.encode_into(Some(c), &mut row) {
                unseen += 1;
            }
            row
        })
        .collect();
    close(&got, &mat(&r["onehot_test"]), "one-hot");
    assert_eq!(unseen, 1);
    let ord = OrdinalEncoder::fit(train.iter().map(String::as_str));
    let got: Vec<Vec<f64>> = test.iter().map(|c| vec![ord.encode(c).0 as f64]).collect();
    close(&got, &mat(&r["ordinal_test"]), "ordinal");
    assert!(!ord.encode("purple").1);
}

fn vectorize(v: &TextVectorizer, docs: &[String]) -> Vec<Vec<f64>> {
    docs.iter()
        .map(|d| {
            let mut row = vec![0.0; v.width()];
            v.encode_into(d, &mut row);
            row
        })
        .collect()
}

#[test]
fn tfidf_matches_sklearn_tfidf_vectorizer() {
    let r = reference();
    let docs = strs(&r["docs"]);
    let new = strs(&r["new_docs"]);
    let all = TextOptions {
        max_features: None,
        ..TextOptions::default()
    };
    let v = TextVectorizer::fit(docs.iter().map(String::as_str), &all);
    assert_eq!(v.vocabulary, strs(&r["tfidf_vocabulary"]));
    let idf: Vec<f64> = r["tfidf_idf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    close(std::slice::from_ref(&v.idf), &[idf], "idf");
    close(&vectorize(&v, &docs), &mat(&r["tfidf_docs"]), "tfidf docs");
    close(&vectorize(&v, &new), &mat(&r["tfidf_new"]), "tfidf new");

    let min2 = TextOptions { min_df: 2, ..all };
    let v = TextVectorizer::fit(docs.iter().map(String::as_str), &min2);
    assert_eq!(v.vocabulary, strs(&r["tfidf_min_df2_vocabulary"]));
    close(
        &vectorize(&v, &new),
        &mat(&r["tfidf_min_df2_new"]),
        "tfidf min_df",
    );

    let counts = TextOptions {
        mode: TextMode::Counts,
        ..all
    };
    let v = TextVectorizer::fit(docs.iter().map(String::as_str), &counts);
    assert_eq!(v.vocabulary, strs(&r["counts_vocabulary"]));
    close(&vectorize(&v, &new), &mat(&r["counts_new"]), "counts");
}

#[test]
fn max_features_keeps_the_most_frequent_words() {
    let docs = ["b b b a", "c c a", "d"];
    let o = TextOptions {
        mode: TextMode::Counts,
        max_features: Some(2),
        min_df: 1,
    };
    let v = TextVectorizer::fit(docs.iter().copied(), &o);
    // Single letters are not tokens; "bb"-style words are.
    assert!(v.vocabulary.is_empty());
    let docs = ["bb bb bb aa", "cc cc aa", "dd"];
    let v = TextVectorizer::fit(docs.iter().copied(), &o);
    // bb: 3; aa and cc: 2 each, the tie goes to the alphabetically first.
    assert_eq!(v.vocabulary, ["aa", "bb"]);
}

#[test]
fn imputation_matches_sklearn_simple_imputer() {
    let r = reference();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("imp.csv");
    let mut text = String::from("x,y\n");
    for (i, v) in r["impute_column"].as_array().unwrap().iter().enumerate() {
        let cell = v.as_f64().map(|x| x.to_string()).unwrap_or_default();
        text.push_str(&format!("{cell},{}\n", i % 2));
    }
    std::fs::write(&p, text).unwrap();
    let t = read_table(&p, &ReadOptions::default()).unwrap();
    let rows: Vec<usize> = (0..t.len()).collect();
    for (policy, key) in [
        (MissingPolicy::Mean, "mean"),
        (MissingPolicy::Median, "median"),
        (MissingPolicy::MostFrequent, "most_frequent"),
    ] {
        let mut o = SchemaOptions::new("y");
        o.missing.insert("x".into(), policy);
        let s = infer_schema(&t, &o).unwrap();
        let opts = PipelineOptions {
            scaling: zhixing_data::Scaling::None,
            ..PipelineOptions::default()
        };
        let ft = FeatureTransform::fit(&t, &s, &rows, &opts).unwrap();
        let f = ft.transform(&t, &TransformOptions::default()).unwrap();
        let x = f.x.to_vec::<f32>().unwrap();
        let want = r["impute"][key].as_f64().unwrap() as f32;
        assert_eq!(x[1], want, "{key}");
        assert_eq!(x[5], want, "{key}");
        assert_eq!(f.imputed["x"], 2);
    }
}
