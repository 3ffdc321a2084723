//! Where located symbols are read from: the grey image the binary one was made from,
//! and the thresholds that made it. Grids are sampled (through one homography, the mesh
//! or the drift), and the drift finds module edges, from grey values between pixels, not
//! from the binary image: at 3-5 pixels a module, nearest-pixel reads lose a quarter of a
//! module to rounding.

use crate::qr::binarize::ThresholdMap;

/// Where a sampled grid reads its modules from.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    /// Grey image the binary image was made from (same size).
    pub gray: &'a [u8],
    /// The thresholds that made it.
    pub thresholds: &'a ThresholdMap,
    /// Whether black and white are swapped (light-on-dark codes).
    pub inverted: bool,
    pub w: usize,
    pub h: usize,
}

impl Source<'_> {
    /// Grey level at image point (x, y), bilinear between the four pixels around it
    /// (pixel centres are at +0.5); `None` outside the image.
    pub fn grey_at(&self, x: f64, y: f64) -> Option<f64> {
        let (fx, fy) = (x - 0.5, y - 0.5);
        if !(fx >= 0.0 && fy >= 0.0) || fx >= (self.w - 1) as f64 || fy >= (self.h - 1) as f64 {
            return None;
        }
        let (ix, iy) = (fx as usize, fy as usize);
        let (ax, ay) = (fx - ix as f64, fy - iy as f64);
        let i = iy * self.w + ix;
        let g = |k: usize| self.gray[k] as f64;
        let top = g(i) * (1.0 - ax) + g(i + 1) * ax;
        let bottom = g(i + self.w) * (1.0 - ax) + g(i + self.w + 1) * ax;
        Some(top * (1.0 - ay) + bottom * ay)
    }
}
