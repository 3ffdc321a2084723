//! Our own QR locator: finder-pattern search, grid estimation and perspective sampling.
//!
//! rqrr's detector labels connected regions and needs each finder pattern to be a clean
//! ring in the binary image; blur, low resolution and perspective often break that. The
//! approach here is the one the robust readers use, written for this crate:
//!
//! 1. **Finder search.** Every row of the binary image is run-length scanned for the
//!    1:1:3:1:1 black/white profile of a finder pattern. Each hit is cross-checked
//!    vertically and horizontally through its centre; confirmed hits are merged into
//!    candidates (centre, module size, number of confirming rows).
//! 2. **Triples.** Candidates with similar module sizes are grouped in threes; the
//!    corner opposite the longest side is the top-left finder, and the cross product of
//!    the two legs tells top-right from bottom-left. Triples are ranked by how close they
//!    are to a right isosceles triangle.
//! 3. **Geometry.** The symbol size follows from the finder distance over the module
//!    size, snapped to 17 + 4v; the three nearest sizes are ranked by how well the
//!    timing patterns alternate. Each (triple, size) is a cheap *plan*; it is expanded
//!    into grid guesses only when the plans before it failed to decode: for version 2
//!    and up the bottom-right alignment pattern, searched for near its predicted place,
//!    pins down perspective; then the symbol's outer edges, traced along the outer
//!    sides of the three finders and intersected, give its four true corners (this is
//!    what reads a version 1 code seen at an angle); last, the fourth corner
//!    extrapolated as a parallelogram.
//! 4. **Sampling.** A homography maps module centres into the image. The grid handed
//!    to rqrr reads bits lazily through it, so no grid buffer is built, and rqrr's decoder
//!    (format, Reed-Solomon, payload) does the rest.
//!
//! Where a guess is wrong the decoder rejects it and the caller tries the next; the
//! decoder is by far the costliest step (rqrr's Reed-Solomon check alone takes
//! 0.2-2 ms), so guesses are ordered so that the first one is usually right.

//!
//! The parts live in submodules along those seams: [`search`] (step 1), this module
//! (steps 2-3: triples, sizes, plans, nudges), [`alignment`] and [`edges`] (the
//! fourth-corner evidence), [`geometry`] (the homography), [`source`] (the grey image
//! and thresholds every sampler reads) and [`grid`] (step 4), with
//! two second looks for symbols that are not flat: [`mesh`] (through the alignment
//! patterns of version 7 and up) and [`drift`] (from the module edges, any version).

mod alignment;
mod drift;
mod edges;
mod geometry;
mod grid;
mod mesh;
mod search;
mod source;

pub use drift::Drift;
pub use grid::SampledGrid;
pub use mesh::Mesh;
pub use source::Source;

use alignment::find_alignment;
use edges::outer_edges;
use geometry::{apply, finder_centres, homography, with_fourth};
use search::{Candidate, dist, find_candidates};

/// Reusable storage for the search.
#[derive(Debug, Default)]
pub struct Workspace {
    candidates: Vec<Candidate>,
    triples: Vec<(f32, [usize; 3])>,
    plans: Vec<SizePlan>,
    seeds: Vec<NudgeSeed>,
}

/// One symbol-size hypothesis for one finder triple, with the parallelogram
/// homography. Cheap to make; [`expand`] turns it into grid guesses, searching for the
/// alignment pattern only then, because the first plan usually decodes.
#[derive(Debug, Clone, Copy)]
struct SizePlan {
    size: usize,
    h0: [f64; 9],
    /// Module size near the bottom-right corner, for the alignment search.
    m_br: f64,
    /// The nudge seed made from this plan, if any.
    seed: Option<usize>,
}

/// What is needed to nudge a guess's fourth corner later, if the plain guesses fail.
#[derive(Debug, Clone, Copy)]
struct NudgeSeed {
    /// Whether a guess from its plan sampled a symbol's finder and timing patterns;
    /// only then can moving the fourth corner help.
    plausible: bool,
    size: usize,
    src: [(f64, f64); 4],
    dst: [(f64, f64); 4],
    e_u: (f64, f64),
    e_v: (f64, f64),
}

impl Workspace {
    /// Finder-pattern candidates the last [`locate`] found confirmed on more than one
    /// row (before keeping the best): what rqrr's detector would also see as finders.
    pub fn candidate_count(&self) -> usize {
        self.candidates.iter().filter(|c| c.count >= 2).count()
    }

    /// Records that a guess from plan `index` sampled a symbol's finder and timing
    /// patterns (see [`CachedGrid::has_function_patterns`]): only such plans' fourth
    /// corners are worth nudging, which on a noisy frame without a code saves sampling
    /// two dozen candidate grids per finder triple.
    pub fn mark_plausible(&mut self, index: usize) {
        let seed = self.plans.get(index).and_then(|p| p.seed);
        if let Some(seed) = seed.and_then(|i| self.seeds.get_mut(i)) {
            seed.plausible = true;
        }
    }
}

/// A located symbol: its size in modules and the module-to-image homography.
#[derive(Debug, Clone, Copy)]
pub struct GridGuess {
    pub size: usize,
    h: [f64; 9],
}

impl GridGuess {
    /// The symbol's four outer corners in image pixels (top-left, top-right,
    /// bottom-left, bottom-right).
    pub fn corners(&self) -> [(f64, f64); 4] {
        let s = self.size as f64;
        [(0.0, 0.0), (s, 0.0), (0.0, s), (s, s)].map(|(u, v)| apply(&self.h, u, v))
    }
}

/// Finds likely symbols in a binary image (1 = black) and plans the guesses to try,
/// best first; returns how many plans there are. Grid guesses come from [`expand`].
pub fn locate(bin: &[u8], w: usize, h: usize, ws: &mut Workspace) -> usize {
    ws.candidates.clear();
    ws.triples.clear();
    ws.plans.clear();
    ws.seeds.clear();
    if w < 21 || h < 21 || bin.len() < w * h {
        return 0;
    }
    find_candidates(bin, w, h, &mut ws.candidates);
    let cands = &mut ws.candidates;
    cands.sort_by_key(|c| std::cmp::Reverse(c.count));
    // Lone single-row hits are mostly noise when stronger candidates exist.
    let strong = cands.iter().filter(|c| c.count >= 2).count();
    let keep = if strong >= 3 { strong } else { cands.len() }.min(12);
    let cands = &cands[..keep];

    for i in 0..cands.len() {
        for j in i + 1..cands.len() {
            for k in j + 1..cands.len() {
                if let Some(score) = triple_score(&cands[i], &cands[j], &cands[k]) {
                    ws.triples.push((score, [i, j, k]));
                }
            }
        }
    }
    ws.triples.sort_by(|a, b| a.0.total_cmp(&b.0));
    for &(_, [i, j, k]) in ws.triples.iter().take(4) {
        plan_sizes(
            bin,
            w,
            h,
            [cands[i], cands[j], cands[k]],
            &mut ws.plans,
            &mut ws.seeds,
        );
    }
    ws.plans.len()
}

/// The grid guesses of plan `index` (see [`locate`]): with the alignment pattern when
/// one is found near its predicted place, then the plain parallelogram.
pub fn expand(
    bin: &[u8],
    w: usize,
    h: usize,
    ws: &Workspace,
    index: usize,
    out: &mut Vec<GridGuess>,
) {
    out.clear();
    let Some(plan) = ws.plans.get(index) else {
        return;
    };
    let (size, h0) = (plan.size, plan.h0);
    let s = size as f64;
    if size >= 25 {
        let (ex, ey) = apply(&h0, s - 6.5, s - 6.5);
        if let Some(al) = find_alignment(bin, w, h, ex, ey, plan.m_br) {
            let [ptl, ptr, pbl] = finder_centres(s).map(|(u, v)| apply(&h0, u, v));
            let src = with_fourth(s, (s - 6.5, s - 6.5));
            if let Some(h1) = homography(src, [ptl, ptr, pbl, al]) {
                out.push(GridGuess { size, h: h1 });
            }
        }
    }
    if let Some(h2) = outer_edges(bin, w, h, &h0, s) {
        out.push(GridGuess { size, h: h2 });
    }
    out.push(GridGuess { size, h: h0 });
}

/// Rows a finder must be confirmed on to join a strongly sheared triple.
const SHEARED_MIN_ROWS: u32 = 3;

/// Lower is better; `None` if the three cannot be one symbol's finders.
fn triple_score(a: &Candidate, b: &Candidate, c: &Candidate) -> Option<f32> {
    let (mn, mx) = (
        a.module.min(b.module).min(c.module),
        a.module.max(b.module).max(c.module),
    );
    if mx > mn * 2.0 {
        return None;
    }
    let mut d = [dist(a, b), dist(b, c), dist(a, c)];
    d.sort_by(f32::total_cmp);
    let (l1, l2, hyp) = (d[0], d[1], d[2]);
    let m = (a.module + b.module + c.module) / 3.0;
    if l1 < 7.0 * m || l2 > l1 * 1.8 {
        return None;
    }
    // A label seen obliquely shears the finders' right angle: at 0.6 the legs may meet
    // at about 70 or 110 degrees (an ONT sticker photographed along a shelf), still far
    // from three finders in a row. Only finders confirmed on several rows may be that
    // sheared: on a noisy frame, weak hits make many such triples, each a plan to try.
    let right = (hyp * hyp - (l1 * l1 + l2 * l2)).abs() / (hyp * hyp);
    let confirmed = a.count.min(b.count).min(c.count) >= SHEARED_MIN_ROWS;
    if right > 0.6 || (right > 0.4 && !confirmed) {
        return None;
    }
    Some((l2 - l1) / l2 + right + (mx - mn) / mx)
}

/// Orders a triple as (top-left, top-right, bottom-left) and plans its likely sizes,
/// ranked by how well the timing patterns fit.
fn plan_sizes(
    bin: &[u8],
    w: usize,
    h: usize,
    t: [Candidate; 3],
    plans: &mut Vec<SizePlan>,
    seeds: &mut Vec<NudgeSeed>,
) {
    let (d01, d12, d02) = (dist(&t[0], &t[1]), dist(&t[1], &t[2]), dist(&t[0], &t[2]));
    let (tl, mut tr, mut bl) = if d12 >= d01 && d12 >= d02 {
        (t[0], t[1], t[2])
    } else if d02 >= d01 && d02 >= d12 {
        (t[1], t[0], t[2])
    } else {
        (t[2], t[0], t[1])
    };
    // In image coordinates (y down) top-right x bottom-left is positive.
    let cross = (tr.x - tl.x) * (bl.y - tl.y) - (tr.y - tl.y) * (bl.x - tl.x);
    if cross < 0.0 {
        std::mem::swap(&mut tr, &mut bl);
    }
    let m = (tl.module + tr.module + bl.module) / 3.0;
    let modules = (dist(&tl, &tr) + dist(&tl, &bl)) / 2.0 / m + 7.0;
    let version = ((modules - 17.0) / 4.0).round().clamp(1.0, 40.0) as i32;
    let p = |c: &Candidate| (c.x as f64, c.y as f64);
    let (ptl, ptr, pbl) = (p(&tl), p(&tr), p(&bl));
    let pbr = (ptr.0 + pbl.0 - ptl.0, ptr.1 + pbl.1 - ptl.1);
    // Rank the size estimate and its neighbours by how well the timing patterns (which
    // lie between the finders, so the unknown fourth corner hardly matters) alternate.
    let mut sizes: [(f64, i32); 3] = [(f64::INFINITY, 0); 3];
    for (slot, dv) in sizes.iter_mut().zip([0, 1, -1]) {
        let v = version + dv;
        if !(1..=40).contains(&v) {
            continue;
        }
        let s = (17 + 4 * v) as f64;
        if let Some(h0) = homography(with_fourth(s, (s - 3.5, s - 3.5)), [ptl, ptr, pbl, pbr]) {
            *slot = (timing_mismatch(bin, w, h, &h0, (17 + 4 * v) as usize), v);
        }
    }
    sizes.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Perspective makes modules near the bottom-right like those of the top-right and
    // bottom-left finders rather than the top-left one.
    let m_br = ((tr.module + bl.module) / 2.0) as f64;
    for (rank, &(mismatch, v)) in sizes.iter().enumerate() {
        if !mismatch.is_finite() {
            continue;
        }
        let size = (17 + 4 * v) as usize;
        let s = size as f64;
        let src4 = with_fourth(s, (s - 3.5, s - 3.5));
        let Some(h0) = homography(src4, [ptl, ptr, pbl, pbr]) else {
            continue;
        };
        plans.push(SizePlan {
            size,
            h0,
            m_br,
            seed: None,
        });
        // Perspective moves the true fourth corner off the parallelogram; if the plain
        // guesses fail, [`nudged`] moves it by whole modules along the grid axes, ranks
        // the nudges by how cleanly modules sample (an aligned grid reads module
        // interiors, a misaligned one straddles edges) and hands only the best few to
        // the decoder, which is far costlier.
        if rank == 0 {
            let (ux, uy) = (apply(&h0, s - 2.5, s - 3.5), apply(&h0, s - 3.5, s - 2.5));
            if let Some(plan) = plans.last_mut() {
                plan.seed = Some(seeds.len());
            }
            seeds.push(NudgeSeed {
                plausible: false,
                size,
                src: src4,
                dst: [ptl, ptr, pbl, pbr],
                e_u: (ux.0 - pbr.0, ux.1 - pbr.1),
                e_v: (uy.0 - pbr.0, uy.1 - pbr.1),
            });
        }
    }
}

/// Second-chance guesses for the symbols [`locate`] found: the fourth corner nudged
/// along the grid axes, the best three per symbol by [`consistency`].
pub fn nudged(bin: &[u8], w: usize, h: usize, ws: &Workspace, out: &mut Vec<GridGuess>) {
    out.clear();
    for seed in ws.seeds.iter().filter(|s| s.plausible) {
        let [ptl, ptr, pbl, pbr] = seed.dst;
        let (e_u, e_v) = (seed.e_u, seed.e_v);
        let mut ranked = [(f64::INFINITY, [0f64; 9]); NUDGES.len()];
        for (slot, (a, b)) in ranked.iter_mut().zip(NUDGES) {
            let moved = (pbr.0 + a * e_u.0 + b * e_v.0, pbr.1 + a * e_u.1 + b * e_v.1);
            if let Some(hn) = homography(seed.src, [ptl, ptr, pbl, moved]) {
                *slot = (-consistency(bin, w, h, &hn, seed.size), hn);
            }
        }
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        for &(score, hn) in ranked.iter().take(3) {
            if score.is_finite() {
                out.push(GridGuess {
                    size: seed.size,
                    h: hn,
                });
            }
        }
    }
}

/// Share of modules whose centre agrees with four points a third of a module away:
/// high when the grid sits on the modules, lower when it straddles their edges.
fn consistency(bin: &[u8], w: usize, h: usize, hm: &[f64; 9], size: usize) -> f64 {
    let read = |u: f64, v: f64| {
        let (x, y) = apply(hm, u, v);
        if !(x >= 0.0 && y >= 0.0) || x as usize >= w || y as usize >= h {
            return None;
        }
        Some(bin[y as usize * w + x as usize] != 0)
    };
    let (mut agree, mut total) = (0usize, 0usize);
    // The bottom-right half is where a wrong fourth corner shows.
    for v in size / 2..size {
        for u in size / 2..size {
            let (cu, cv) = (u as f64 + 0.5, v as f64 + 0.5);
            let Some(c) = read(cu, cv) else {
                return 0.0;
            };
            for (du, dv) in [(-0.33, 0.0), (0.33, 0.0), (0.0, -0.33), (0.0, 0.33)] {
                total += 1;
                if read(cu + du, cv + dv) == Some(c) {
                    agree += 1;
                }
            }
        }
    }
    if total == 0 {
        0.0
    } else {
        agree as f64 / total as f64
    }
}

/// Fraction of timing-pattern modules (row 6 and column 6 between the finders) that do
/// not alternate as they should under homography `hm` for a symbol of `size` modules.
fn timing_mismatch(bin: &[u8], w: usize, h: usize, hm: &[f64; 9], size: usize) -> f64 {
    let read = |u: usize, v: usize| {
        let (x, y) = apply(hm, u as f64 + 0.5, v as f64 + 0.5);
        if !(x >= 0.0 && y >= 0.0) || x as usize >= w || y as usize >= h {
            return None;
        }
        Some(bin[y as usize * w + x as usize] != 0)
    };
    let (mut bad, mut total) = (0usize, 0usize);
    for i in 8..size.saturating_sub(8) {
        for bit in [read(i, 6), read(6, i)] {
            total += 1;
            if bit != Some(i % 2 == 0) {
                bad += 1;
            }
        }
    }
    if total == 0 {
        1.0
    } else {
        bad as f64 / total as f64
    }
}

/// Offsets of the fourth corner, in modules along the grid's two axes, nearest first.
const NUDGES: [(f64, f64); 24] = [
    (-1.0, -1.0),
    (1.0, 1.0),
    (-1.0, 1.0),
    (1.0, -1.0),
    (-1.0, 0.0),
    (0.0, -1.0),
    (1.0, 0.0),
    (0.0, 1.0),
    (-2.0, -2.0),
    (2.0, 2.0),
    (-2.0, 0.0),
    (0.0, -2.0),
    (2.0, 0.0),
    (0.0, 2.0),
    (-2.0, -1.0),
    (-1.0, -2.0),
    (2.0, 1.0),
    (1.0, 2.0),
    (-3.0, -3.0),
    (3.0, 3.0),
    (-3.0, -1.5),
    (-1.5, -3.0),
    (3.0, 1.5),
    (1.5, 3.0),
];
