//! Local drift correction from the module edges, for crumpled and bent labels.
//!
//! A homography is exact for a flat label; the [`super::Mesh`] bends it through the
//! alignment patterns of version 7+ symbols. A sticker that was crumpled, or a small
//! symbol on a curved ONT case, has neither: its modules wander off the plane by half a
//! module within a few modules, and versions 1-6 carry at most one alignment pattern to
//! say where. What every symbol does carry is edges: wherever two neighbouring modules
//! differ, the grey level steps at the module boundary. So the grid's local phase can be
//! read from the image itself, whatever the data: over a small window of modules, the
//! shift that puts the most contrast *across* the predicted boundaries (one sample just
//! before, one just after each) is where the boundaries really are; half a module off,
//! both samples fall inside the same module and the contrast vanishes.
//!
//! The field is a coarse lattice of shifts in module units (a node every 3 modules, 4 on
//! symbols above version 7), found node by node outwards from the three finders, each
//! search centred on what the neighbours already placed say (so it follows a bend further
//! than one search reaches), then median-filtered (one wild node cannot tear the grid).
//! A window with too little contrast (the quiet zone, a large light area) keeps its
//! neighbours' shift. Modules are then read at the homography of their centre plus the
//! shift interpolated between the four nodes around it.
//!
//! The edges give the phase only modulo one module; the neighbours' prediction is what
//! keeps the field on the right period, which is why the search starts at the finders,
//! where the homography is exact, and reaches only a third of a module past the
//! prediction. A second, narrower pass over the smoothed field was tried and read
//! nothing more on the samples or the loft sets, at half again the cost.

use super::GridGuess;
use super::geometry::apply;
use super::source::Source;

/// A symbol's module-to-image map: its guess's homography plus a smooth field of local
/// shifts (see the module documentation).
#[derive(Debug, Default, Clone)]
pub struct Drift {
    h: [f64; 9],
    size: usize,
    /// Modules between neighbouring nodes.
    step: usize,
    /// Nodes per side.
    nodes: usize,
    /// Shift (du, dv) in modules per node, row-major.
    shift: Vec<(f64, f64)>,
    placed: Vec<bool>,
    order: Vec<usize>,
    scratch: Vec<(f64, f64)>,
}

/// Half the search's span around the neighbours' shift, in modules: a crumple moves
/// neighbouring nodes a few tenths of a module apart, and at half a module the phase
/// would repeat.
const REACH: f64 = 0.35;
/// Search steps each side of the centre.
const STEPS: i32 = 3;
/// Distance of each edge sample from the boundary, in modules.
const EDGE_HALF: f64 = 0.3;
/// Modules each side of a node that its window holds.
const WINDOW: usize = 2;
/// Least module size, in pixels, at which the edges say where the grid is.
const MIN_MODULE_PX: f64 = 1.5;
/// Least mean grey step per edge sample pair for a window to count as having edges.
const MIN_EDGE: f64 = 6.0;

impl Drift {
    /// Builds the field of `guess` over `src`; false when the symbol is too small or the
    /// image gave too few edges to say anything.
    pub fn build(&mut self, src: &Source<'_>, guess: &GridGuess) -> bool {
        let n = guess.size;
        if n < 21 {
            return false;
        }
        // Below this many pixels a module, samples 0.3 of a module either side of a
        // boundary are under a pixel apart: blur, not the grid, decides the contrast.
        let middle = Local::at(&guess.h, n, n as f64 / 2.0, n as f64 / 2.0);
        let px = middle
            .per_u
            .0
            .hypot(middle.per_u.1)
            .min(middle.per_v.0.hypot(middle.per_v.1));
        if px.is_nan() || px < MIN_MODULE_PX {
            return false;
        }
        self.h = guess.h;
        self.size = n;
        self.step = if n <= 45 { 3 } else { 4 };
        self.nodes = n.div_ceil(self.step) + 1;
        let count = self.nodes * self.nodes;
        self.shift.clear();
        self.shift.resize(count, (0.0, 0.0));
        self.placed.clear();
        self.placed.resize(count, false);
        // Outwards from the finders, where the homography is exact: each node is then
        // searched around neighbours already placed on the right period.
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(0..count);
        let (s, step) = (n as f64, self.step as f64);
        let from_finders = |k: usize| {
            let (u, v) = (
                (k % self.nodes) as f64 * step,
                (k / self.nodes) as f64 * step,
            );
            [(3.5, 3.5), (s - 3.5, 3.5), (3.5, s - 3.5)]
                .iter()
                .map(|&(a, b): &(f64, f64)| (u - a).abs().max((v - b).abs()))
                .fold(f64::INFINITY, f64::min)
        };
        order.sort_by(|&a, &b| from_finders(a).total_cmp(&from_finders(b)));
        let mut believed = 0usize;
        for &k in &order {
            let (i, j) = (k % self.nodes, k / self.nodes);
            let centre = self.predicted(i, j);
            let (found, sure) = self.search(src, i, j, centre);
            believed += usize::from(sure);
            self.shift[k] = found;
            self.placed[k] = true;
        }
        self.order = order;
        if believed * 2 < count {
            return false;
        }
        self.smooth();
        true
    }

    /// Image position of module coordinates (u, v).
    pub fn apply(&self, u: f64, v: f64) -> (f64, f64) {
        let (du, dv) = self.shift_at(u, v);
        apply(&self.h, u + du, v + dv)
    }

    /// The shift at (u, v), bilinear between the four nodes around it.
    fn shift_at(&self, u: f64, v: f64) -> (f64, f64) {
        let last = self.nodes.saturating_sub(1);
        if last == 0 || self.shift.len() < self.nodes * self.nodes {
            return (0.0, 0.0);
        }
        let step = self.step as f64;
        let (fu, fv) = (
            (u / step).clamp(0.0, last as f64),
            (v / step).clamp(0.0, last as f64),
        );
        let (i, j) = ((fu as usize).min(last - 1), (fv as usize).min(last - 1));
        let (au, av) = (fu - i as f64, fv - j as f64);
        let s = |a: usize, b: usize| self.shift[b * self.nodes + a];
        let lerp =
            |p: (f64, f64), q: (f64, f64), t: f64| (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t);
        let top = lerp(s(i, j), s(i + 1, j), au);
        let bottom = lerp(s(i, j + 1), s(i + 1, j + 1), au);
        lerp(top, bottom, av)
    }

    /// What the nodes placed so far around node (i, j) say its shift is; zero where
    /// none is, at the finders.
    fn predicted(&self, i: usize, j: usize) -> (f64, f64) {
        let mut sum = (0.0, 0.0);
        let mut n = 0.0;
        let k = self.nodes;
        for b in j.saturating_sub(1)..(j + 2).min(k) {
            for a in i.saturating_sub(1)..(i + 2).min(k) {
                if self.placed[b * k + a] {
                    sum.0 += self.shift[b * k + a].0;
                    sum.1 += self.shift[b * k + a].1;
                    n += 1.0;
                }
            }
        }
        if n == 0.0 {
            (0.0, 0.0)
        } else {
            (sum.0 / n, sum.1 / n)
        }
    }

    /// The shift of node (i, j) within [`REACH`] of `centre`: u first, then v, then u again
    /// (the two barely interact, and three line searches cost far less than a square
    /// one). Returns whether the window's edges decided it; if not, `centre` stands.
    fn search(
        &self,
        src: &Source<'_>,
        i: usize,
        j: usize,
        centre: (f64, f64),
    ) -> ((f64, f64), bool) {
        let near = Local::at(
            &self.h,
            self.size,
            (i * self.step) as f64,
            (j * self.step) as f64,
        );
        let mut best = centre;
        let mut sure = true;
        for axis in [Axis::U, Axis::V, Axis::U] {
            let mut scores = [0f64; (2 * STEPS + 1) as usize];
            for (slot, t) in scores.iter_mut().zip(-STEPS..=STEPS) {
                let d = t as f64 * REACH / STEPS as f64;
                let shift = match axis {
                    Axis::U => (centre.0 + d, best.1),
                    Axis::V => (best.0, centre.1 + d),
                };
                *slot = near.edge_contrast(src, shift, axis);
            }
            // The phase repeats every module: of two equal peaks the nearer one wins.
            let weighed = |k: usize, s: f64| {
                let t = (k as i32 - STEPS) as f64 / STEPS as f64;
                s * (1.0 - 0.3 * t * t)
            };
            let (k, top) = scores.iter().enumerate().fold((0, f64::MIN), |b, (k, &s)| {
                if weighed(k, s) > weighed(b.0, b.1) {
                    (k, s)
                } else {
                    b
                }
            });
            if top < MIN_EDGE {
                sure = false;
                continue;
            }
            let d = (k as i32 - STEPS) as f64 * REACH / STEPS as f64;
            match axis {
                Axis::U => best.0 = centre.0 + d,
                Axis::V => best.1 = centre.1 + d,
            }
        }
        (best, sure)
    }

    /// Each node's shift becomes the median of its 3x3 neighbourhood, per axis.
    fn smooth(&mut self) {
        let k = self.nodes;
        self.scratch.clear();
        for j in 0..k {
            for i in 0..k {
                let mut us = [0f64; 9];
                let mut vs = [0f64; 9];
                let mut n = 0;
                for b in j.saturating_sub(1)..(j + 2).min(k) {
                    for a in i.saturating_sub(1)..(i + 2).min(k) {
                        let (du, dv) = self.shift[b * k + a];
                        us[n] = du;
                        vs[n] = dv;
                        n += 1;
                    }
                }
                self.scratch
                    .push((median(&mut us[..n]), median(&mut vs[..n])));
            }
        }
        std::mem::swap(&mut self.shift, &mut self.scratch);
        self.scratch.clear();
    }
}

/// The homography around one node, as the affine map it is over a few modules: a
/// search samples some two thousand points per node, and this spares each a division.
struct Local {
    /// The node, in modules, and where the homography puts it.
    origin: (f64, f64),
    pixel: (f64, f64),
    /// Pixels per module along u and along v there.
    per_u: (f64, f64),
    per_v: (f64, f64),
    /// The symbol's size in modules: windows stop at its edge.
    size: f64,
}

impl Local {
    fn at(h: &[f64; 9], size: usize, u: f64, v: f64) -> Self {
        let pixel = apply(h, u, v);
        let (a, b) = (apply(h, u + 1.0, v), apply(h, u, v + 1.0));
        Local {
            origin: (u, v),
            pixel,
            per_u: (a.0 - pixel.0, a.1 - pixel.1),
            per_v: (b.0 - pixel.0, b.1 - pixel.1),
            size: size as f64,
        }
    }

    /// Mean grey step across the boundaries of one axis in the window around the node,
    /// with the grid shifted by `shift`.
    fn edge_contrast(&self, src: &Source<'_>, shift: (f64, f64), axis: Axis) -> f64 {
        // (across, along): boundaries lie at whole coordinates across the axis and are
        // sampled mid-module along it; `uv` puts such a pair in (u, v) order.
        let uv = |across: f64, along: f64| match axis {
            Axis::U => (across, along),
            Axis::V => (along, across),
        };
        let origin = uv(self.origin.0, self.origin.1);
        let dir = uv(1.0, 0.0);
        let w = WINDOW as f64;
        let end = |c: f64| (c + w).min(self.size);
        let (mut sum, mut pairs) = (0.0, 0usize);
        let mut across = (origin.0 - w).max(0.0);
        while across <= end(origin.0) {
            let mut along = (origin.1 - w).max(0.0) + 0.5;
            while along < end(origin.1) {
                let (u, v) = uv(across, along);
                if let Some(step) = self.step_across(src, (u + shift.0, v + shift.1), dir) {
                    sum += step;
                    pairs += 1;
                }
                along += 1.0;
            }
            across += 1.0;
        }
        if pairs == 0 { 0.0 } else { sum / pairs as f64 }
    }

    /// The grey step across the boundary at module point `at` (direction `dir`), less
    /// the step across the middle of the module after it: positive where `at` is on a
    /// boundary between differing modules, negative where it is mid-module.
    fn step_across(&self, src: &Source<'_>, at: (f64, f64), dir: (f64, f64)) -> Option<f64> {
        let point = |t: f64| self.grey(src, at.0 + t * dir.0, at.1 + t * dir.1);
        let edge = (point(-EDGE_HALF)? - point(EDGE_HALF)?).abs();
        let inside = (point(0.5 - EDGE_HALF)? - point(0.5 + EDGE_HALF)?).abs();
        Some(edge - inside)
    }

    fn grey(&self, src: &Source<'_>, u: f64, v: f64) -> Option<f64> {
        let (du, dv) = (u - self.origin.0, v - self.origin.1);
        let (x, y) = (
            self.pixel.0 + du * self.per_u.0 + dv * self.per_v.0,
            self.pixel.1 + du * self.per_u.1 + dv * self.per_v.1,
        );
        src.grey_at(x, y)
    }
}

#[derive(Clone, Copy)]
enum Axis {
    U,
    V,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::binarize::{ThresholdMap, local_threshold};
    use crate::qr::finder::SampledGrid;
    use crate::qr::finder::grid::draw_function_patterns;

    /// The image's threshold map, as the scanner would make it.
    fn thresholds_of(gray: &[u8]) -> ThresholdMap {
        let (mut bin, mut blocks, mut map) = (Vec::new(), Vec::new(), ThresholdMap::default());
        local_threshold(gray, SIDE, SIDE, &mut bin, &mut blocks, &mut map);
        map
    }

    fn source<'a>(gray: &'a [u8], thresholds: &'a ThresholdMap) -> Source<'a> {
        Source {
            gray,
            thresholds,
            inverted: false,
            w: SIDE,
            h: SIDE,
        }
    }

    /// The flat guess: exact at the finders, where the sticker did not move.
    const FLAT: GridGuess = GridGuess {
        size: N,
        h: [M, 0.0, OFF, 0.0, M, OFF, 0.0, 0.0, 1.0],
    };

    const N: usize = 29;
    const M: f64 = 6.0;
    const OFF: f64 = 24.0;
    const SIDE: usize = 240;

    /// Modules of a version 3 symbol: its three finders, timing patterns and
    /// pseudo-random data (the field needs edges, not a valid payload).
    fn modules() -> Vec<bool> {
        let mut seed = 0x2545_f491u32;
        let mut bits: Vec<bool> = (0..N * N)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed & 1 == 1
            })
            .collect();
        draw_function_patterns(&mut bits, N);
        bits
    }

    /// How far a crumpled sticker moves module point (u, v), in modules: nearly nothing
    /// at the finders, up to 0.6 of a module in the middle, in both directions.
    fn crumple(u: f64, v: f64) -> (f64, f64) {
        let (a, b) = (
            std::f64::consts::PI * u / N as f64,
            std::f64::consts::PI * v / N as f64,
        );
        (0.6 * a.sin() * b.sin(), 0.5 * (2.0 * a).sin() * b.sin())
    }

    /// The symbol rendered crumpled: each pixel shows the module whose moved area it
    /// falls in (4 samples per pixel, so module edges are soft like a camera's).
    fn render(bits: &[bool]) -> Vec<u8> {
        let mut gray = vec![235u8; SIDE * SIDE];
        for y in 0..SIDE {
            for x in 0..SIDE {
                let mut dark = 0;
                for (sx, sy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                    let (pu, pv) = ((x as f64 + sx - OFF) / M, (y as f64 + sy - OFF) / M);
                    let (du, dv) = crumple(pu, pv);
                    let (u, v) = (pu - du, pv - dv);
                    if (0.0..N as f64).contains(&u) && (0.0..N as f64).contains(&v) {
                        dark += usize::from(bits[v as usize * N + u as usize]);
                    }
                }
                gray[y * SIDE + x] = (235 - 50 * dark) as u8;
            }
        }
        gray
    }

    fn misread(grid: &SampledGrid<'_>, truth: &[bool]) -> usize {
        use rqrr::BitGrid;
        let mut bits = Vec::new();
        let read = grid.sample_into(&mut bits);
        (0..N * N)
            .filter(|&k| read.bit(k / N, k % N) != truth[k])
            .count()
    }

    #[test]
    fn the_drift_follows_a_crumpled_small_symbol_the_plane_cannot() {
        let truth = modules();
        let gray = render(&truth);
        let thresholds = thresholds_of(&gray);
        let src = source(&gray, &thresholds);
        let guess = FLAT;
        let flat = misread(&SampledGrid::new(guess, src), &truth);
        let mut drift = Drift::default();
        assert!(drift.build(&src, &guess));
        let followed = misread(&SampledGrid::with_drift(guess, src, &drift), &truth);
        // A version 3-M symbol corrects 13 of its 44 data codewords at most (about 30
        // wrong modules when they cluster, fewer when they scatter).
        assert!(flat > 40, "the flat guess read {flat} modules wrong");
        assert!(
            followed <= 8,
            "the drift read {followed} modules wrong (flat: {flat})"
        );
        // Where the sticker is flat the field stays at rest.
        let (du, dv) = drift.shift_at(3.5, 3.5);
        assert!(du.abs() < 0.2 && dv.abs() < 0.2, "{du}, {dv}");
    }

    #[test]
    fn a_blank_image_gives_no_field() {
        let gray = vec![200u8; SIDE * SIDE];
        let thresholds = thresholds_of(&gray);
        let src = source(&gray, &thresholds);
        let mut drift = Drift::default();
        assert!(!drift.build(&src, &FLAT));
        // Far off the image, too: no edges, no field, no panic.
        let away = GridGuess {
            size: N,
            h: [M, 0.0, -9000.0, 0.0, M, 1e9, 0.0, 0.0, 1.0],
        };
        assert!(!drift.build(&src, &away));
        // Too small to be a symbol.
        assert!(!drift.build(&src, &GridGuess { size: 20, ..FLAT }));
    }
}
