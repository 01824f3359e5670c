//! A few thousand random, truncated, mutated and deeply nested bodies: each is answered
//! 2xx or 4xx with a JSON body, and the server stays up and right.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Map, Value as Json};

/// splitmix64: a small seeded generator (the same bodies every run).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FIELDS: &[&str] = &[
    "sepal_length",
    "sepal_width",
    "petal_length",
    "petal_width",
    "species",
    "x",
];

fn scalar(g: &mut Gen) -> Json {
    match g.below(9) {
        0 => Json::Null,
        1 => json!(g.below(2) == 0),
        2 => json!(g.below(20) as f64 / 3.0),
        3 => json!(*g.pick(&[1e308, -1e308, 5e-324, 0.0, -0.0, 1e15, 123456789012.0])),
        4 => json!(-(g.below(1000) as i64)),
        5 => json!(*g.pick(&["", "5.1", "abc", "NaN", "inf", "1e999", "true", "☃", "\u{0}"])),
        6 => json!(g.next() as f64),
        7 => json!([g.below(3), "a"]),
        _ => json!({ "nested": g.below(5) }),
    }
}

fn value(g: &mut Gen, depth: usize) -> Json {
    if depth == 0 || g.below(3) > 0 {
        return scalar(g);
    }
    if g.below(2) == 0 {
        Json::Array((0..g.below(4)).map(|_| value(g, depth - 1)).collect())
    } else {
        Json::Object(rand_record(g, depth - 1))
    }
}

fn rand_record(g: &mut Gen, depth: usize) -> Map<String, Json> {
    let mut m = Map::new();
    for _ in 0..g.below(7) {
        let key = if g.below(4) > 0 {
            g.pick(FIELDS).to_string()
        } else {
            format!("k{}", g.below(100))
        };
        let v = value(g, depth);
        m.insert(key, v);
    }
    m
}

fn body(g: &mut Gen, good: &[Json]) -> Vec<u8> {
    let valid = Json::Array(good[..1 + g.below(good.len())].to_vec())
        .to_string()
        .into_bytes();
    match g.below(8) {
        0 => (0..g.below(200)).map(|_| g.next() as u8).collect(),
        1 => valid[..g.below(valid.len())].to_vec(),
        2 => {
            let depth = 1 + g.below(3000);
            let (open, close) = if g.below(2) == 0 {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let closes = if g.below(2) == 0 {
                depth
            } else {
                g.below(depth)
            };
            let mut s = open.repeat(depth);
            s.push('1');
            s.push_str(&close.repeat(closes));
            s.into_bytes()
        }
        3 => value(g, 4).to_string().into_bytes(),
        4 => {
            let mut rec = good[g.below(good.len())].clone();
            let f = *g.pick(FIELDS);
            rec[f] = scalar(g);
            rec.to_string().into_bytes()
        }
        5 => {
            let mut b = valid.clone();
            for _ in 0..1 + g.below(3) {
                let i = g.below(b.len());
                b[i] = g.next() as u8;
            }
            b
        }
        6 => {
            let recs: Vec<Json> = (0..1 + g.below(20))
                .map(|_| Json::Object(rand_record(g, 2)))
                .collect();
            Json::Array(recs).to_string().into_bytes()
        }
        _ => valid,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bodies_get_2xx_or_4xx_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let table = iris();
    let model = train(&table, None);
    let server = serve_files(dir.path(), &[("iris", &model)], config()).await;
    let good: Vec<Json> = (0..150)
        .step_by(11)
        .map(|i| record(&table, i, &[]))
        .collect();
    let (per_task, tasks_n) = (400usize, 8u64);
    let mut tasks = Vec::new();
    for t in 0..tasks_n {
        let (good, addr) = (good.clone(), server.addr());
        tasks.push(tokio::spawn(async move {
            let mut g = Gen(0x5eed + t);
            let mut c = zhixing_serve::client::Client::connect(addr).await.unwrap();
            let (mut ok, mut bad) = (0, 0);
            for _ in 0..per_task {
                let b = body(&mut g, &good);
                let r = c.post("/v1/models/iris/predict", &b).await.unwrap();
                let j = r.json();
                match r.status {
                    200 => {
                        assert!(j["predictions"].is_array(), "{}", r.text());
                        ok += 1;
                    }
                    400..=499 => {
                        assert!(j["error"]["code"].is_string(), "{}", r.text());
                        bad += 1;
                    }
                    s => panic!(
                        "status {s} for {:?}: {}",
                        String::from_utf8_lossy(&b),
                        r.text()
                    ),
                }
            }
            (ok, bad)
        }));
    }
    let (mut ok, mut bad) = (0, 0);
    for t in tasks {
        let (o, b) = t.await.unwrap();
        ok += o;
        bad += b;
    }
    assert_eq!(ok + bad, per_task * tasks_n as usize);
    assert!(
        ok > 300 && bad > 1000,
        "ok {ok}, bad {bad}: the mix should have both"
    );

    let mut c = client(&server).await;
    assert_eq!(c.get("/healthz").await.unwrap().status, 200);
    let r = c
        .post("/v1/models/iris/predict", good[3].to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_same_prediction(
        &r.json()["predictions"][0],
        &expected(&model, &table, &[33])[0],
    );
    let m = c.get("/metrics").await.unwrap().text();
    assert!(!m.contains("status=\"500\""), "{m}");
    assert_eq!(metric(&m, "zhixing_inference_panics_total"), 0.0);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}
