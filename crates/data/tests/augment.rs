//! Image augmentation: no-op default, exact shifts, rotation, flips, seeding, noise level
//! and shape errors.

use zhixing_data::augment::{hflip, rotate, shift};
use zhixing_data::ImageAugment;
use zhixing_tensor::{DType, Rng, Tensor};

fn images(n: usize, c: usize, h: usize, w: usize, seed: u64) -> Tensor {
    Tensor::randn(&[n, c, h, w], DType::F32, &mut Rng::seed(seed))
}

fn values(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().unwrap()
}

#[test]
fn default_is_a_no_op() {
    let aug = ImageAugment::default();
    assert!(aug.is_noop());
    let x = images(3, 2, 5, 4, 1);
    let y = aug.apply(&x, (5, 4), &mut Rng::seed(0)).unwrap();
    assert_eq!(y.shape(), x.shape());
    assert_eq!(values(&y), values(&x));
    // Flattened rows too.
    let flat = x.reshape(&[3, 40]).unwrap();
    let y = aug.apply(&flat, (5, 4), &mut Rng::seed(0)).unwrap();
    assert_eq!(values(&y), values(&x));
}

#[test]
fn shift_moves_a_bright_pixel_by_the_drawn_offset() {
    let aug = ImageAugment {
        max_shift: 3,
        ..Default::default()
    };
    let (h, w, n) = (9, 11, 40);
    let mut pixels = vec![0.0f32; n * h * w];
    for i in 0..n {
        pixels[i * h * w + 4 * w + 5] = 1.0; // (row 4, column 5)
    }
    let x = Tensor::from_vec(pixels, &[n, 1, h, w]).unwrap();
    let mut rng = Rng::seed(42);
    let mut replay = rng.clone();
    let y = values(&aug.apply(&x, (h, w), &mut rng).unwrap());
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..n {
        let d = aug.draw(&mut replay);
        assert!(d.dx.abs() <= 3 && d.dy.abs() <= 3, "{d:?}");
        seen.insert((d.dx, d.dy));
        let img = &y[i * h * w..(i + 1) * h * w];
        let (r, c) = ((4 + d.dy) as usize, (5 + d.dx) as usize);
        assert_eq!(img[r * w + c], 1.0, "image {i}, {d:?}");
        assert_eq!(img.iter().sum::<f32>(), 1.0, "image {i}");
        let plane = &x.to_vec::<f32>().unwrap()[i * h * w..(i + 1) * h * w];
        assert_eq!(img, shift(plane, h, w, d.dx, d.dy, 0.0).unwrap().as_slice());
    }
    assert!(seen.len() > 10, "shifts should vary: {seen:?}");
}

#[test]
fn shifting_out_of_the_frame_fills() {
    let plane: Vec<f32> = (1..=6).map(|v| v as f32).collect(); // 2 x 3
    assert_eq!(
        shift(&plane, 2, 3, 1, 0, 0.0).unwrap(),
        [0.0, 1.0, 2.0, 0.0, 4.0, 5.0]
    );
    assert_eq!(
        shift(&plane, 2, 3, 0, -1, -1.0).unwrap(),
        [4.0, 5.0, 6.0, -1.0, -1.0, -1.0]
    );
}

#[test]
fn rotation_by_90_degrees_is_transpose_then_vertical_flip() {
    for n in [3usize, 4] {
        let plane: Vec<f32> = (0..n * n).map(|v| v as f32 + 1.0).collect();
        let rotated = rotate(&plane, n, n, 90.0, 0.0).unwrap();
        // Counter-clockwise as displayed: out[i][j] = in[j][n - 1 - i].
        for i in 0..n {
            for j in 0..n {
                let want = plane[j * n + (n - 1 - i)];
                let got = rotated[i * n + j];
                assert!(
                    (got - want).abs() < 1e-4,
                    "n {n} ({i}, {j}): {got} vs {want}"
                );
            }
        }
        let back = rotate(&rotated, n, n, -90.0, 0.0).unwrap();
        for (a, b) in back.iter().zip(&plane) {
            assert!((a - b).abs() < 1e-4);
        }
    }
    // Zero rotation is exact; a small one keeps the centre of a symmetric blob.
    let plane: Vec<f32> = (0..25).map(|v| v as f32).collect();
    assert_eq!(rotate(&plane, 5, 5, 0.0, 0.0).unwrap(), plane);
    let rotated = rotate(&plane, 5, 5, 7.0, 0.0).unwrap();
    assert!((rotated[12] - plane[12]).abs() < 1e-5);
}

#[test]
fn flip_twice_is_identity() {
    let plane: Vec<f32> = (0..12).map(|v| v as f32).collect(); // 3 x 4
    let once = hflip(&plane, 3, 4).unwrap();
    assert_eq!(&once[..4], &[3.0, 2.0, 1.0, 0.0]);
    assert_eq!(hflip(&once, 3, 4).unwrap(), plane);
    // Through `apply`: about half of the images are mirrored.
    let aug = ImageAugment {
        hflip: true,
        ..Default::default()
    };
    let x = images(200, 1, 3, 4, 5);
    let y = values(&aug.apply(&x, (3, 4), &mut Rng::seed(1)).unwrap());
    let xs = values(&x);
    let flipped = (0..200)
        .filter(|&i| {
            let img = &xs[i * 12..(i + 1) * 12];
            let out = &y[i * 12..(i + 1) * 12];
            if out == img {
                return false;
            }
            assert_eq!(out, hflip(img, 3, 4).unwrap().as_slice());
            true
        })
        .count();
    assert!((70..=130).contains(&flipped), "{flipped} of 200 flipped");
}

fn everything() -> ImageAugment {
    ImageAugment {
        max_shift: 2,
        max_rotation_deg: 15.0,
        noise_std: 0.1,
        hflip: true,
        fill: 0.0,
    }
}

#[test]
fn same_seed_same_output_other_seed_different() {
    let aug = everything();
    // Large enough to take the parallel path; small enough to compare with the serial one.
    for n in [3usize, 128] {
        let x = images(n, 3, 16, 16, 2);
        let a = values(&aug.apply(&x, (16, 16), &mut Rng::seed(9)).unwrap());
        let b = values(&aug.apply(&x, (16, 16), &mut Rng::seed(9)).unwrap());
        let c = values(&aug.apply(&x, (16, 16), &mut Rng::seed(10)).unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, values(&x));
    }
    // The same images per image whether the batch is processed in parallel or not.
    let x = images(128, 3, 16, 16, 2);
    let all = values(&aug.apply(&x, (16, 16), &mut Rng::seed(9)).unwrap());
    let head = x.narrow(0, 0, 3).unwrap();
    let few = values(&aug.apply(&head, (16, 16), &mut Rng::seed(9)).unwrap());
    assert_eq!(&all[..few.len()], few.as_slice());
}

#[test]
fn noise_has_the_requested_std() {
    let aug = ImageAugment {
        noise_std: 0.3,
        ..Default::default()
    };
    let x = Tensor::zeros(&[2, 1, 256, 256], DType::F32);
    let y = values(&aug.apply(&x, (256, 256), &mut Rng::seed(3)).unwrap());
    let n = y.len() as f64;
    let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = y
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!(mean.abs() < 0.01, "mean {mean}");
    assert!((var.sqrt() - 0.3).abs() < 0.05 * 0.3, "std {}", var.sqrt());
}

#[test]
fn bad_inputs_are_errors() {
    let aug = everything();
    let mut rng = Rng::seed(0);
    let x = images(2, 1, 4, 4, 0);
    assert!(aug.apply(&x, (4, 5), &mut rng).is_err());
    assert!(aug.apply(&x, (0, 4), &mut rng).is_err());
    let flat = Tensor::zeros(&[2, 15], DType::F32);
    assert!(aug.apply(&flat, (4, 4), &mut rng).is_err());
    let vector = Tensor::zeros(&[16], DType::F32);
    assert!(aug.apply(&vector, (4, 4), &mut rng).is_err());
    let ints = Tensor::zeros(&[2, 1, 4, 4], DType::I64);
    assert!(aug.apply(&ints, (4, 4), &mut rng).is_err());
    let bad = ImageAugment {
        noise_std: -1.0,
        ..Default::default()
    };
    assert!(bad.apply(&x, (4, 4), &mut rng).is_err());
    assert!(rotate(&[0.0; 5], 2, 3, 10.0, 0.0).is_err());
    // A no-op config still checks the shape.
    assert!(ImageAugment::default().apply(&x, (3, 3), &mut rng).is_err());
}

#[test]
fn serde_round_trip_and_defaults() {
    let aug: ImageAugment = serde_json::from_str(r#"{"max_shift": 2}"#).unwrap();
    assert_eq!(aug.max_shift, 2);
    assert_eq!(aug.max_rotation_deg, 0.0);
    let json = serde_json::to_string(&everything()).unwrap();
    assert_eq!(
        serde_json::from_str::<ImageAugment>(&json).unwrap(),
        everything()
    );
}
