//! On-the-fly image augmentation for training batches: random integer shift, small
//! rotation (bilinear), optional horizontal flip and Gaussian noise, seeded.
//!
//! All random parameters of a batch are drawn from the caller's generator in image order
//! before any pixel is touched (noise through one derived seed per image), so the output
//! depends only on the generator's state, never on how many threads do the work.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::{DType, Rng, Tensor};

use crate::{Error, Result};

/// Above this many pixels in a batch, images are transformed in parallel.
const PARALLEL_PIXELS: usize = 1 << 16;

/// Random per-image transforms. The default changes nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageAugment {
    /// Integer shift drawn uniformly in [-max_shift, max_shift] on each axis.
    pub max_shift: usize,
    /// Rotation about the centre drawn uniformly in [-max, max] degrees
    /// (positive: counter-clockwise as displayed, rows going down).
    pub max_rotation_deg: f32,
    /// Standard deviation of the Gaussian noise added to every pixel.
    pub noise_std: f32,
    /// Mirror left-right with probability 0.5 (leave off for digits and text).
    pub hflip: bool,
    /// Value of the pixels shifted or rotated in from outside the image (0 unless the
    /// inputs are normalized so that the background is not 0).
    pub fill: f32,
}

impl Default for ImageAugment {
    fn default() -> Self {
        ImageAugment {
            max_shift: 0,
            max_rotation_deg: 0.0,
            noise_std: 0.0,
            hflip: false,
            fill: 0.0,
        }
    }
}

/// The random parameters drawn for one image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draw {
    /// Columns to the right (negative: left).
    pub dx: i64,
    /// Rows down (negative: up).
    pub dy: i64,
    pub angle_deg: f32,
    pub flip: bool,
    /// Seeds this image's noise generator.
    pub noise_seed: u64,
}

impl ImageAugment {
    /// Whether `apply` returns its input unchanged.
    pub fn is_noop(&self) -> bool {
        self.max_shift == 0 && self.max_rotation_deg == 0.0 && self.noise_std == 0.0 && !self.hflip
    }

    pub fn validate(&self) -> Result<()> {
        let ok = |v: f32| v.is_finite() && v >= 0.0;
        if !ok(self.max_rotation_deg) || !ok(self.noise_std) || !self.fill.is_finite() {
            return Err(Error::Invalid(format!(
                "augment: max_rotation_deg and noise_std must be finite and >= 0, fill finite \
                 (got {}, {}, {})",
                self.max_rotation_deg, self.noise_std, self.fill
            )));
        }
        Ok(())
    }

    /// Draws one image's parameters (always the same number of draws, whatever is enabled).
    pub fn draw(&self, rng: &mut Rng) -> Draw {
        let s = self.max_shift as i64;
        let dx = rng.below(2 * self.max_shift + 1) as i64 - s;
        let dy = rng.below(2 * self.max_shift + 1) as i64 - s;
        let angle_deg = ((2.0 * rng.uniform() - 1.0) * f64::from(self.max_rotation_deg)) as f32;
        let flip = rng.uniform() < 0.5 && self.hflip;
        Draw {
            dx,
            dy,
            angle_deg,
            flip,
            noise_seed: rng.next_u64(),
        }
    }

    /// Augments `images`, f32 [N, C, H, W], [N, H, W] or [N, C·H·W] (rows of flattened
    /// images, `image_shape` = (H, W)); the output has the input's shape. Every channel of
    /// an image gets the same draw.
    pub fn apply(
        &self,
        images: &Tensor,
        image_shape: (usize, usize),
        rng: &mut Rng,
    ) -> Result<Tensor> {
        self.validate()?;
        let (h, w) = image_shape;
        let shape = images.shape();
        if images.dtype() != DType::F32 {
            return Err(Error::Invalid(format!(
                "augment expects f32 images, got {}",
                images.dtype()
            )));
        }
        let per_image: usize = shape.iter().skip(1).product();
        let spatial_ok = match shape.len() {
            2 => true,
            3 => shape[1..] == [h, w],
            4 => shape[2..] == [h, w],
            _ => false,
        };
        if !spatial_ok || h == 0 || w == 0 || !per_image.is_multiple_of(h * w) {
            return Err(Error::Invalid(format!(
                "augment expects images [N, C, H, W], [N, H, W] or [N, C*H*W] with (H, W) = \
                 {image_shape:?}, got {shape:?}"
            )));
        }
        let n = shape[0];
        if self.is_noop() || n == 0 || per_image == 0 {
            return Ok(images.clone());
        }
        let draws: Vec<Draw> = (0..n).map(|_| self.draw(rng)).collect();
        let mut data = images.to_vec::<f32>()?;
        let work = |(img, d): (&mut [f32], &Draw)| {
            for plane in img.chunks_mut(h * w) {
                self.apply_draw(plane, h, w, d);
            }
        };
        if data.len() >= PARALLEL_PIXELS {
            data.par_chunks_mut(per_image)
                .zip(draws.par_iter())
                .for_each(work);
        } else {
            data.chunks_mut(per_image).zip(draws.iter()).for_each(work);
        }
        Ok(Tensor::from_vec(data, shape)?)
    }

    /// Applies one draw to one [H, W] plane in place: shift, rotate, flip, then noise.
    pub fn apply_draw(&self, plane: &mut [f32], h: usize, w: usize, d: &Draw) {
        let moved = d.dx != 0 || d.dy != 0 || d.angle_deg != 0.0 || d.flip;
        if moved {
            let src = plane.to_vec();
            sample(&src, plane, h, w, d, self.fill);
        }
        if self.noise_std > 0.0 {
            let mut noise = Rng::seed(d.noise_seed);
            let std = f64::from(self.noise_std);
            for p in plane.iter_mut() {
                *p += (noise.normal() * std) as f32;
            }
        }
    }
}

/// One pass of inverse mapping: output (y, x) ← un-flip, un-rotate about the centre, then
/// un-shift, sampled bilinearly (exactly, by index, when there is no rotation).
fn sample(src: &[f32], out: &mut [f32], h: usize, w: usize, d: &Draw, fill: f32) {
    let at = |y: i64, x: i64| -> f32 {
        let (y, x) = (y - d.dy, x - d.dx);
        if y < 0 || x < 0 || y >= h as i64 || x >= w as i64 {
            fill
        } else {
            src[y as usize * w + x as usize]
        }
    };
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let theta = f64::from(d.angle_deg).to_radians();
    let (sin, cos) = theta.sin_cos();
    for y in 0..h {
        for x in 0..w {
            let xf = if d.flip { w - 1 - x } else { x };
            out[y * w + x] = if d.angle_deg == 0.0 {
                at(y as i64, xf as i64)
            } else {
                let (u, v) = (xf as f64 - cx, y as f64 - cy);
                let sx = cx + u * cos - v * sin;
                let sy = cy + u * sin + v * cos;
                let (x0, y0) = (sx.floor(), sy.floor());
                let (fx, fy) = ((sx - x0) as f32, (sy - y0) as f32);
                let (x0, y0) = (x0 as i64, y0 as i64);
                let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1) * fx;
                let bottom = at(y0 + 1, x0) * (1.0 - fx) + at(y0 + 1, x0 + 1) * fx;
                top * (1.0 - fy) + bottom * fy
            };
        }
    }
}

/// `plane` [H, W] rotated by `deg` about its centre (bilinear, `fill` outside).
pub fn rotate(plane: &[f32], h: usize, w: usize, deg: f32, fill: f32) -> Result<Vec<f32>> {
    transform(plane, h, w, (0, 0), deg, false, fill)
}

/// `plane` [H, W] shifted `dx` columns right and `dy` rows down (`fill` coming in).
pub fn shift(plane: &[f32], h: usize, w: usize, dx: i64, dy: i64, fill: f32) -> Result<Vec<f32>> {
    transform(plane, h, w, (dx, dy), 0.0, false, fill)
}

/// `plane` [H, W] mirrored left-right.
pub fn hflip(plane: &[f32], h: usize, w: usize) -> Result<Vec<f32>> {
    transform(plane, h, w, (0, 0), 0.0, true, 0.0)
}

fn transform(
    plane: &[f32],
    h: usize,
    w: usize,
    (dx, dy): (i64, i64),
    deg: f32,
    flip: bool,
    fill: f32,
) -> Result<Vec<f32>> {
    if plane.len() != h * w {
        return Err(Error::Invalid(format!(
            "a {h}x{w} plane needs {} pixels, got {}",
            h * w,
            plane.len()
        )));
    }
    let d = Draw {
        dx,
        dy,
        angle_deg: deg,
        flip,
        noise_seed: 0,
    };
    let mut out = vec![0.0; h * w];
    sample(plane, &mut out, h, w, &d, fill);
    Ok(out)
}
