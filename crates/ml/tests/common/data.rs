//! The shipped CSV tables as test inputs: features and class ids, standardized like
//! scikit-learn's StandardScaler (population standard deviation).

use zhixing_tensor::Tensor;

/// Class ids as an i64 tensor.
pub fn ids(v: &[i64]) -> Tensor {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

/// Features and class ids (sorted unique labels) of a shipped CSV; target = last column.
pub fn load_csv(name: &str) -> (Vec<Vec<f64>>, Vec<i64>) {
    let path = format!("{}/../../data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    let mut labels: Vec<&str> = rows.iter().map(|r| *r.last().unwrap()).collect();
    labels.sort();
    labels.dedup();
    let x = rows
        .iter()
        .map(|r| {
            r[..r.len() - 1]
                .iter()
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    let y = rows
        .iter()
        .map(|r| labels.binary_search(r.last().unwrap()).unwrap() as i64)
        .collect();
    (x, y)
}

/// Train/test split (test = rows with i % 5 == 0), standardized with the training
/// statistics (population standard deviation, as StandardScaler).
pub fn split_standardized(name: &str) -> (Tensor, Tensor, Tensor, Vec<i64>) {
    let (x, y) = load_csv(name);
    let f = x[0].len();
    let train: Vec<usize> = (0..x.len()).filter(|i| i % 5 != 0).collect();
    let test: Vec<usize> = (0..x.len()).filter(|i| i % 5 == 0).collect();
    let nt = train.len() as f64;
    let mean: Vec<f64> = (0..f)
        .map(|j| train.iter().map(|&i| x[i][j]).sum::<f64>() / nt)
        .collect();
    let sd: Vec<f64> = (0..f)
        .map(|j| {
            (train
                .iter()
                .map(|&i| (x[i][j] - mean[j]).powi(2))
                .sum::<f64>()
                / nt)
                .sqrt()
        })
        .collect();
    let scaled = |rows: &[usize]| {
        let v: Vec<f64> = rows
            .iter()
            .flat_map(|&i| {
                (0..f)
                    .map(|j| (x[i][j] - mean[j]) / sd[j])
                    .collect::<Vec<_>>()
            })
            .collect();
        Tensor::from_vec(v, &[rows.len(), f]).unwrap()
    };
    let ytr = ids(&train.iter().map(|&i| y[i]).collect::<Vec<_>>());
    (
        scaled(&train),
        ytr,
        scaled(&test),
        test.iter().map(|&i| y[i]).collect(),
    )
}

/// Every row of a shipped CSV standardized with the statistics of all rows, as a
/// `[N, F]` tensor, and its class ids.
pub fn standardized_all(name: &str) -> (Tensor, Vec<i64>) {
    let (x, y) = load_csv(name);
    let (n, f) = (x.len(), x[0].len());
    let mut out = vec![0.0; n * f];
    for j in 0..f {
        let mean = x.iter().map(|r| r[j]).sum::<f64>() / n as f64;
        let var = x.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n as f64;
        for i in 0..n {
            out[i * f + j] = (x[i][j] - mean) / var.sqrt();
        }
    }
    (Tensor::from_vec(out, &[n, f]).unwrap(), y)
}
