//! `zhixing cluster DATA --k K` (k-means: sizes, centroids, optional elbow picture) and
//! `zhixing pca DATA --components N` (explained variance, loadings, optional scatter plot
//! coloured by a label column). Features come from the same fitted transform as `train`
//! (imputation, one-hot, scaling) over every row.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use serde_json::json;
use zhixing_data::pipeline::{FeatureTransform, PipelineOptions, Step, TransformOptions};
use zhixing_data::scale::Scaling;
use zhixing_data::schema::{infer_schema, ColumnKind, SchemaOptions};
use zhixing_data::Table;
use zhixing_ml::cluster::{elbow, KMeans, KMeansConfig};
use zhixing_ml::decomposition::{PcaConfig, PCA};
use zhixing_ml::plot::{line, scatter, Labels};
use zhixing_tensor::Tensor;

use crate::train_cmd::{parse_name, read};

#[derive(clap::Args, Debug)]
pub struct ClusterArgs {
    /// A CSV, JSON array or JSON Lines file of records.
    pub data: PathBuf,
    /// Number of clusters.
    #[arg(long)]
    pub k: usize,
    /// A column left out of the features (e.g. a known label), compared with the clusters.
    #[arg(long)]
    pub label: Option<String>,
    /// k-means++ restarts; the lowest inertia is kept.
    #[arg(long, default_value_t = 10)]
    pub n_init: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// standard | min-max | none.
    #[arg(long, default_value = "standard")]
    pub scaling: String,
    /// Also fit k = 1..=MAX and draw the elbow curve (inertia against k) into --plot.
    #[arg(long, value_name = "MAX")]
    pub elbow: Option<usize>,
    /// Where to draw the elbow curve (.png or .svg).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    #[arg(long)]
    pub skip_bad_rows: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct PcaArgs {
    pub data: PathBuf,
    /// Components to keep.
    #[arg(long, default_value_t = 2)]
    pub components: usize,
    /// A column left out of the features and used to colour the plot.
    #[arg(long)]
    pub label: Option<String>,
    /// standard | min-max | none.
    #[arg(long, default_value = "standard")]
    pub scaling: String,
    /// Draw the first two components, coloured by --label (.png or .svg).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    #[arg(long)]
    pub skip_bad_rows: bool,
    #[arg(long)]
    pub json: bool,
}

/// Every row's features (no target), the fitted transform, and the notices.
fn features(
    table: &Table,
    label: Option<&str>,
    scaling: &str,
) -> Result<(Tensor, FeatureTransform)> {
    let mut opts = SchemaOptions::new("");
    if let Some(l) = label {
        if table.column_index(l).is_none() {
            bail!(
                "{}: unknown label column `{l}` (the columns are: {})",
                table.source.display(),
                table.columns.join(", ")
            );
        }
        opts.kinds.insert(l.to_string(), ColumnKind::Ignore);
    }
    let schema = infer_schema(table, &opts)?;
    let popts = PipelineOptions {
        scaling: parse_name::<Scaling>("scaling", scaling, "standard, min-max, none")?,
        ..Default::default()
    };
    let rows: Vec<usize> = (0..table.len()).collect();
    let ft = FeatureTransform::fit(table, &schema, &rows, &popts)?;
    let f = ft.transform(table, &TransformOptions::default())?;
    Ok((f.x, ft))
}

/// A feature vector in the original units where a numeric column was scaled.
fn unscale(ft: &FeatureTransform, v: &[f64]) -> Vec<f64> {
    let mut out = v.to_vec();
    let mut at = 0;
    for c in &ft.columns {
        if let Step::Numeric { scaler, .. } = &c.step {
            out[at] = v[at] * scaler.scale + scaler.offset;
        }
        at += c.width();
    }
    out
}

/// Group ids by label value (sorted) for colouring and cross-tabulation.
fn label_groups(table: &Table, label: &str) -> (Vec<usize>, Vec<String>) {
    let j = table.column_index(label).expect("checked by features()");
    let values: Vec<String> = table
        .rows
        .iter()
        .map(|r| r[j].as_text().unwrap_or_else(|| "(missing)".into()))
        .collect();
    let mut names: Vec<String> = values.clone();
    names.sort();
    names.dedup();
    let ids = values
        .iter()
        .map(|v| names.binary_search(v).expect("present"))
        .collect();
    (ids, names)
}

pub fn cluster(args: &ClusterArgs) -> Result<()> {
    let table = read(&args.data, args.skip_bad_rows)?;
    let (x, ft) = features(&table, args.label.as_deref(), &args.scaling)?;
    let config = KMeansConfig {
        k: args.k,
        n_init: args.n_init,
        seed: args.seed,
        ..Default::default()
    };
    let mut km = KMeans::new(config.clone());
    km.fit(&x)?;
    let labels = km.labels()?.to_vec();
    let centers = km.cluster_centers()?;
    let f = ft.n_features();
    let centers: Vec<Vec<f64>> = centers
        .to_vec::<f64>()?
        .chunks(f)
        .map(|c| unscale(&ft, c))
        .collect();
    let mut sizes = vec![0usize; args.k];
    labels.iter().for_each(|&c| sizes[c] += 1);
    let curve = match args.elbow {
        Some(max) => {
            let ks: Vec<usize> = (1..=max.min(table.len())).collect();
            Some(elbow(&x, &ks, &config)?)
        }
        None => None,
    };
    if let (Some(curve), Some(path)) = (&curve, &args.plot) {
        let pts: Vec<(f64, f64)> = curve.iter().map(|&(k, i)| (k as f64, i)).collect();
        line(
            path,
            &pts,
            &Labels {
                title: "k-means elbow curve",
                x: "k (clusters)",
                y: "inertia",
            },
        )?;
    } else if args.plot.is_some() {
        bail!("--plot draws the elbow curve: add --elbow MAX");
    }
    let crosstab = args.label.as_deref().map(|l| {
        let (ids, names) = label_groups(&table, l);
        let mut t: BTreeMap<String, Vec<usize>> =
            names.iter().map(|n| (n.clone(), vec![0; args.k])).collect();
        ids.iter()
            .zip(&labels)
            .for_each(|(&g, &c)| t.get_mut(&names[g]).expect("name")[c] += 1);
        t
    });
    if args.json {
        let doc = json!({
            "data": args.data, "rows": table.len(), "k": args.k, "features": ft.feature_names,
            "inertia": km.inertia()?, "iterations": km.n_iter()?, "sizes": sizes, "centroids": centers,
            "elbow": curve.map(|c| c.into_iter().map(|(k, i)| json!({"k": k, "inertia": i})).collect::<Vec<_>>()),
            "label_counts": crosstab,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "k-means on {}: {} rows, {} features, k = {} ({} restarts, seed {})",
        args.data.display(),
        table.len(),
        f,
        args.k,
        args.n_init,
        args.seed
    );
    println!(
        "inertia {:.4} after {} iterations (standardized features)\n",
        km.inertia()?,
        km.n_iter()?
    );
    let shown: Vec<usize> = (0..f).take(8).collect();
    let head: Vec<String> = shown
        .iter()
        .map(|&j| format!("{:>12}", short(&ft.feature_names[j])))
        .collect();
    println!("cluster   size {}", head.join(" "));
    for (c, center) in centers.iter().enumerate() {
        let vals: Vec<String> = shown
            .iter()
            .map(|&j| format!("{:>12.4}", center[j]))
            .collect();
        println!("{c:>7} {:>6} {}", sizes[c], vals.join(" "));
    }
    if f > shown.len() {
        println!("(first {} of {f} features; --json gives all)", shown.len());
    }
    if let Some(t) = crosstab {
        println!(
            "\n{:>14} {}",
            args.label.as_deref().unwrap_or(""),
            (0..args.k).map(|c| format!("{c:>6}")).collect::<String>()
        );
        for (name, counts) in t {
            println!(
                "{:>14} {}",
                short(&name),
                counts.iter().map(|n| format!("{n:>6}")).collect::<String>()
            );
        }
    }
    if let Some(curve) = curve {
        println!("\n    k      inertia");
        for (k, i) in curve {
            println!("{k:>5} {i:>12.4}");
        }
        if let Some(p) = &args.plot {
            println!("elbow curve drawn in {}", p.display());
        }
    }
    Ok(())
}

fn short(s: &str) -> String {
    if s.chars().count() <= 12 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(11).collect::<String>())
    }
}

pub fn pca(args: &PcaArgs) -> Result<()> {
    let table = read(&args.data, args.skip_bad_rows)?;
    let (x, ft) = features(&table, args.label.as_deref(), &args.scaling)?;
    let mut p = PCA::new(PcaConfig {
        n_components: Some(args.components),
        ..Default::default()
    });
    let z = p.fit_transform(&x)?;
    let ratio = p.explained_variance_ratio()?.to_vec();
    let k = ratio.len();
    let f = ft.n_features();
    let comps = p.components()?.to_vec::<f64>()?;
    if let Some(path) = &args.plot {
        if k < 2 {
            bail!("--plot needs at least 2 components");
        }
        let zv = z.to_vec::<f64>()?;
        let pts: Vec<(f64, f64)> = zv.chunks(k).map(|r| (r[0], r[1])).collect();
        let (groups, names) = match &args.label {
            Some(l) => label_groups(&table, l),
            None => (vec![0; pts.len()], Vec::new()),
        };
        let x_lab = format!("PC1 ({:.1} % of variance)", 100.0 * ratio[0]);
        let y_lab = format!("PC2 ({:.1} % of variance)", 100.0 * ratio[1]);
        let title = format!(
            "PCA of {}",
            args.data
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        scatter(
            path,
            &pts,
            &groups,
            &names,
            &Labels {
                title: &title,
                x: &x_lab,
                y: &y_lab,
            },
        )?;
    }
    if args.json {
        let doc = json!({
            "data": args.data, "rows": table.len(), "features": ft.feature_names,
            "explained_variance": p.explained_variance()?, "explained_variance_ratio": ratio,
            "components": comps.chunks(f).collect::<Vec<_>>(), "plot": args.plot,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "PCA of {}: {} rows, {} features (scaling: {})\n",
        args.data.display(),
        table.len(),
        f,
        args.scaling
    );
    println!("component  variance ratio  cumulative  largest loadings");
    let mut cum = 0.0;
    for (i, r) in ratio.iter().enumerate() {
        cum += r;
        let row = &comps[i * f..(i + 1) * f];
        let mut idx: Vec<usize> = (0..f).collect();
        idx.sort_by(|&a, &b| row[b].abs().total_cmp(&row[a].abs()));
        let top: Vec<String> = idx
            .iter()
            .take(3)
            .map(|&j| format!("{} {:+.3}", ft.feature_names[j], row[j]))
            .collect();
        println!(
            "PC{:<8} {:>14.4}  {:>10.4}  {}",
            i + 1,
            r,
            cum,
            top.join(", ")
        );
    }
    if let Some(path) = &args.plot {
        println!("\nprojection drawn in {}", path.display());
    }
    Ok(())
}
