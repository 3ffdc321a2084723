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

use super::binarize::ThresholdMap;

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

#[derive(Debug, Clone, Copy)]
struct Candidate {
    x: f32,
    y: f32,
    module: f32,
    count: u32,
}

impl Workspace {
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

/// A [`GridGuess`] over a grey image, read as an rqrr bit grid.
///
/// Modules are read by bilinear interpolation of the grey image at the mapped centre,
/// compared with the local threshold: at the 3-5 pixels per module typical of a
/// downscaled camera frame, nearest-pixel reads of the binary image lose a quarter of a
/// module to rounding.
pub struct SampledGrid<'a> {
    guess: GridGuess,
    src: Source<'a>,
}

impl<'a> SampledGrid<'a> {
    pub fn new(guess: GridGuess, src: Source<'a>) -> Self {
        SampledGrid { guess, src }
    }
}

impl SampledGrid<'_> {
    /// Samples every module once into `bits` (row-major); rqrr reads modules repeatedly.
    pub fn sample_into<'b>(&self, bits: &'b mut Vec<bool>) -> CachedGrid<'b> {
        let n = self.guess.size;
        bits.clear();
        bits.extend((0..n * n).map(|i| self.module(i / n, i % n)));
        CachedGrid { size: n, bits }
    }

    fn module(&self, y: usize, x: usize) -> bool {
        let (px, py) = apply(&self.guess.h, x as f64 + 0.5, y as f64 + 0.5);
        let s = &self.src;
        // Pixel centres are at +0.5.
        let (fx, fy) = (px - 0.5, py - 0.5);
        if !(fx >= 0.0 && fy >= 0.0) || fx >= (s.w - 1) as f64 || fy >= (s.h - 1) as f64 {
            return false;
        }
        let (ix, iy) = (fx as usize, fy as usize);
        let (ax, ay) = (fx - ix as f64, fy - iy as f64);
        let i = iy * s.w + ix;
        let g = |k: usize| s.gray[k] as f64;
        let top = g(i) * (1.0 - ax) + g(i + 1) * ax;
        let bottom = g(i + s.w) * (1.0 - ax) + g(i + s.w + 1) * ax;
        let v = top * (1.0 - ay) + bottom * ay;
        let dark = v <= s.thresholds.at(ix, iy) as f64;
        dark != s.inverted
    }
}

/// Modules sampled once, read by rqrr's decoder.
pub struct CachedGrid<'a> {
    size: usize,
    bits: &'a [bool],
}

/// Least share of finder-pattern modules a guess must read as expected.
const MIN_FINDER_FIT: f64 = 0.6;
/// Least share of timing-pattern modules a guess must read as alternating.
const MIN_TIMING_FIT: f64 = 0.7;

impl SampledGrid<'_> {
    /// Whether the guess's modules hold what every QR symbol holds: the three finder
    /// patterns and the two timing patterns between them. Only those modules are
    /// sampled (a few hundred, against up to 31,000 for the whole grid), so a guess that
    /// fails costs little; one that fails is not worth a decoder call either (rqrr's
    /// Reed-Solomon check costs 0.2-2 ms, twice when it retries mirrored). Over the
    /// reference samples and synthetic frames, every guess that decoded read at least
    /// 67 % of the finder modules and 88 % of the timing modules as expected, while 90 %
    /// of the guesses that failed to decode fell below the limits here; on noisy frames
    /// without a code that is most of the time.
    pub fn has_function_patterns(&self) -> bool {
        function_patterns_fit(self.guess.size, |y, x| self.module(y, x))
    }
}

/// See [`SampledGrid::has_function_patterns`]; `bit(y, x)` reads a module (true: dark).
fn function_patterns_fit(n: usize, bit: impl Fn(usize, usize) -> bool) -> bool {
    if n < 21 {
        return false;
    }
    let mut finder_fit = 0usize;
    for (row, col) in [(0, 0), (0, n - 7), (n - 7, 0)] {
        for dy in 0..7usize {
            for dx in 0..7usize {
                // Dark: the outer ring (distance 3 from the centre) and the 3x3 core.
                let d = dy.abs_diff(3).max(dx.abs_diff(3));
                if bit(row + dy, col + dx) == (d == 3 || d <= 1) {
                    finder_fit += 1;
                }
            }
        }
    }
    let mut timing_fit = 0usize;
    for i in 8..n - 8 {
        timing_fit += usize::from(bit(6, i) == (i % 2 == 0));
        timing_fit += usize::from(bit(i, 6) == (i % 2 == 0));
    }
    finder_fit as f64 >= MIN_FINDER_FIT * 147.0
        && timing_fit as f64 >= MIN_TIMING_FIT * (2 * (n - 16)) as f64
}

impl rqrr::BitGrid for CachedGrid<'_> {
    fn size(&self) -> usize {
        self.size
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        self.bits.get(y * self.size + x).copied().unwrap_or(false)
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

/// A homography from the symbol's four outer edges, each traced along the outer side
/// of the finder patterns that lie on it (top: top-left and top-right finders; left:
/// top-left and bottom-left; right: top-right; bottom: bottom-left). Lines stay lines
/// under perspective, so the edges' intersections are the symbol's true corners even
/// where the parallelogram guess is off: the case of version 1 codes, which have no
/// alignment pattern to pin the fourth corner, seen at an angle.
fn outer_edges(bin: &[u8], w: usize, h: usize, h0: &[f64; 9], s: f64) -> Option<[f64; 9]> {
    let mut points = [(0f64, 0f64); 32];
    let top = edge_line(bin, w, h, h0, Side::Top, s, &mut points)?;
    let left = edge_line(bin, w, h, h0, Side::Left, s, &mut points)?;
    let right = edge_line(bin, w, h, h0, Side::Right, s, &mut points)?;
    let bottom = edge_line(bin, w, h, h0, Side::Bottom, s, &mut points)?;
    let corners = [
        top.intersect(&left)?,
        top.intersect(&right)?,
        bottom.intersect(&left)?,
        bottom.intersect(&right)?,
    ];
    homography([(0.0, 0.0), (s, 0.0), (0.0, s), (s, s)], corners)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Top,
    Left,
    Right,
    Bottom,
}

/// A line through `point` with unit `direction`, in image coordinates.
#[derive(Debug, Clone, Copy)]
struct Line {
    point: (f64, f64),
    direction: (f64, f64),
}

impl Line {
    /// Least-squares fit (principal axis) through the points.
    fn fit(points: &[(f64, f64)]) -> Option<Line> {
        let n = points.len() as f64;
        let (mx, my) = points
            .iter()
            .fold((0.0, 0.0), |(ax, ay), &(x, y)| (ax + x / n, ay + y / n));
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for &(x, y) in points {
            let (dx, dy) = (x - mx, y - my);
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
        let line = Line {
            point: (mx, my),
            direction: (angle.cos(), angle.sin()),
        };
        line.point.0.is_finite().then_some(line)
    }

    fn distance(&self, (x, y): (f64, f64)) -> f64 {
        ((x - self.point.0) * self.direction.1 - (y - self.point.1) * self.direction.0).abs()
    }

    fn intersect(&self, other: &Line) -> Option<(f64, f64)> {
        let (d1, d2) = (self.direction, other.direction);
        let denom = d1.0 * d2.1 - d1.1 * d2.0;
        // Nearly parallel edges cannot be a square symbol's neighbours.
        if denom.abs() < 0.2 {
            return None;
        }
        let (px, py) = (other.point.0 - self.point.0, other.point.1 - self.point.1);
        let t = (px * d2.1 - py * d2.0) / denom;
        Some((self.point.0 + t * d1.0, self.point.1 + t * d1.1))
    }
}

/// Traces one outer edge of the symbol where finder patterns form it: at each half
/// module along the finder's side, scans from the quiet zone (1.5 modules outside)
/// inwards until the first dark pixel, and fits a line through those edge points,
/// dropping outliers (label print, dirt) once.
fn edge_line(
    bin: &[u8],
    w: usize,
    h: usize,
    h0: &[f64; 9],
    side: Side,
    s: f64,
    points: &mut [(f64, f64); 32],
) -> Option<Line> {
    // Spans along the edge covered by finders, inset half a module from their corners.
    let spans: &[(f64, f64)] = match side {
        Side::Top | Side::Left => &[(0.5, 6.5), (s - 6.5, s - 0.5)],
        Side::Right | Side::Bottom => &[(0.5, 6.5)],
    };
    let (edge, outward) = match side {
        Side::Top | Side::Left => (0.0, -1.0),
        Side::Right | Side::Bottom => (s, 1.0),
    };
    let module_coords = |along: f64, across: f64| match side {
        Side::Top | Side::Bottom => (along, across),
        Side::Left | Side::Right => (across, along),
    };
    let dark = |(x, y): (f64, f64)| {
        x >= 0.0
            && y >= 0.0
            && (x as usize) < w
            && (y as usize) < h
            && bin[y as usize * w + x as usize] != 0
    };
    let mut n = 0;
    for &(from, to) in spans {
        let mut along = from;
        while along <= to + 1e-9 && n < points.len() {
            let mut previous = None;
            let mut step = 0.0;
            while step <= 3.0 {
                let across = edge + outward * (1.5 - step);
                let (u, v) = module_coords(along, across);
                let p = apply(h0, u, v);
                if dark(p) {
                    if let Some(q) = previous {
                        points[n] = midpoint(p, q);
                        n += 1;
                    }
                    break;
                }
                previous = Some(p);
                step += 0.1;
            }
            along += 0.5;
        }
    }
    if n < 6 {
        return None;
    }
    let first = Line::fit(&points[..n])?;
    // Tolerance: a third of a module, measured along the edge's scale.
    let (a, b) = (apply(h0, 0.0, 0.0), apply(h0, 7.0, 0.0));
    let module = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt() / 7.0;
    let mut kept = 0;
    for i in 0..n {
        if first.distance(points[i]) <= 0.5 + module / 3.0 {
            points[kept] = points[i];
            kept += 1;
        }
    }
    if kept < 6 {
        return None;
    }
    Line::fit(&points[..kept])
}

fn midpoint(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
}

/// Checks the run lengths of a b-w-b-w-b sequence against 1:1:3:1:1.
fn finder_ratio(c: [u32; 5]) -> bool {
    let total: u32 = c.iter().sum();
    if total < 7 {
        return false;
    }
    // Each run within 60 % of its share (1/7, 3/7 for the centre), in integers:
    // |7c - t| < 0.6 t  <=>  5 |7c - t| < 3 t.
    let off = |run: u32, share: u32| (7 * run).abs_diff(share * total) * 5;
    off(c[0], 1) < 3 * total
        && off(c[1], 1) < 3 * total
        && off(c[2], 3) < 9 * total
        && off(c[3], 1) < 3 * total
        && off(c[4], 1) < 3 * total
}

fn find_candidates(bin: &[u8], w: usize, h: usize, cands: &mut Vec<Candidate>) {
    // Every row on small images; on larger ones a finder core spans several rows.
    let step = if h > 240 { 2 } else { 1 };
    let mut y = 0;
    while y < h {
        let row = &bin[y * w..(y + 1) * w];
        // Runs: counts[0..5] hold the last five runs, the newest last.
        let mut counts = [0u32; 5];
        let mut nruns = 0usize;
        let mut x = 0;
        while x < w {
            let color = row[x];
            let start = x;
            x = run_end(row, x);
            let len = (x - start) as u32;
            counts = [counts[1], counts[2], counts[3], counts[4], len];
            nruns += 1;
            // The newest run must be black and the pattern complete (b w b w b).
            if color != 0 && nruns >= 5 && finder_ratio(counts) {
                let center_end = x - (counts[4] + counts[3]) as usize;
                let cx = center_end as f32 - counts[2] as f32 / 2.0;
                let total: u32 = counts.iter().sum();
                confirm(bin, w, h, cx, y, total, cands);
            }
        }
        y += step;
    }
}

/// End (exclusive) of the run of equal pixels starting at `start`: eight pixels per
/// step, the first differing byte found from the XOR of two words.
fn run_end(row: &[u8], start: usize) -> usize {
    let color = row[start];
    let splat = u64::from_le_bytes([color; 8]);
    let mut x = start + 1;
    while let Some(chunk) = row.get(x..x + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let diff = u64::from_le_bytes(word) ^ splat;
        if diff != 0 {
            return x + (diff.trailing_zeros() / 8) as usize;
        }
        x += 8;
    }
    while x < row.len() && row[x] == color {
        x += 1;
    }
    x
}

/// Cross-checks a row hit vertically, then horizontally, and records it.
fn confirm(
    bin: &[u8],
    w: usize,
    h: usize,
    cx: f32,
    y: usize,
    total: u32,
    cands: &mut Vec<Candidate>,
) {
    let px = |x: usize, y: usize| bin[y * w + x] != 0;
    let Some((cy, vtotal)) = cross_check(y, total, h, |i| px(cx as usize, i)) else {
        return;
    };
    let Some((cx2, htotal)) = cross_check(cx as usize, total, w, |i| px(i, cy as usize)) else {
        return;
    };
    let module = (vtotal + htotal) as f32 / 14.0;
    for c in cands.iter_mut() {
        if (c.x - cx2).abs() <= c.module.max(module) * 1.5
            && (c.y - cy).abs() <= c.module.max(module) * 1.5
            && (c.module - module).abs() <= c.module.max(module) * 0.5 + 1.0
        {
            let n = c.count as f32;
            c.x = (c.x * n + cx2) / (n + 1.0);
            c.y = (c.y * n + cy) / (n + 1.0);
            c.module = (c.module * n + module) / (n + 1.0);
            c.count += 1;
            return;
        }
    }
    if cands.len() < 256 {
        cands.push(Candidate {
            x: cx2,
            y: cy,
            module,
            count: 1,
        });
    }
}

/// Walks along one axis through `center` (black), measuring the five runs of a finder
/// pattern. `get(i)` reads the pixel at position `i` on that axis. Returns the centre
/// of the middle run and the pattern's total length.
fn cross_check(
    center: usize,
    expected_total: u32,
    len: usize,
    get: impl Fn(usize) -> bool,
) -> Option<(f32, u32)> {
    if center >= len || !get(center) {
        return None;
    }
    let max_run = expected_total.max(7);
    let mut c = [0u32; 5];
    // Upwards / leftwards: centre black, then white, then black.
    let mut i = center as isize;
    let expect = [true, false, true];
    let mut lo = center;
    for (k, &black) in expect.iter().enumerate() {
        let slot = 2 - k;
        while i >= 0 && get(i as usize) == black {
            c[slot] += 1;
            if c[slot] > max_run {
                return None;
            }
            i -= 1;
        }
        if k == 0 {
            lo = (i + 1) as usize;
        }
        if i < 0 && k < 2 {
            return None;
        }
    }
    // Downwards / rightwards, from just after the centre.
    let mut j = center + 1;
    let mut hi = center;
    for (k, &black) in expect.iter().enumerate() {
        let slot = 2 + k;
        while j < len && get(j) == black {
            c[slot] += 1;
            if c[slot] > max_run {
                return None;
            }
            j += 1;
        }
        if k == 0 {
            hi = j - 1;
        }
        if j >= len && k < 2 {
            return None;
        }
    }
    let total: u32 = c.iter().sum();
    // The other axis must see a pattern of similar size (perspective allows some slack).
    if total * 2 < expected_total || total > expected_total * 2 {
        return None;
    }
    if !finder_ratio(c) {
        return None;
    }
    Some(((lo + hi) as f32 / 2.0 + 0.5, total))
}

fn dist(a: &Candidate, b: &Candidate) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

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
    let right = (hyp * hyp - (l1 * l1 + l2 * l2)).abs() / (hyp * hyp);
    if right > 0.4 {
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

/// Looks for an alignment pattern (a 5x5 ring: b-w-b-w-b at 1:1:1:1:1 through its centre,
/// both ways) near (ex, ey); the confirmed one closest to the prediction wins.
fn find_alignment(bin: &[u8], w: usize, h: usize, ex: f64, ey: f64, m: f64) -> Option<(f64, f64)> {
    let mut best: Option<(f64, (f64, f64))> = None;
    for radius in [5.0, 10.0] {
        let r = radius * m;
        let (x0, x1) = (
            (ex - r).max(0.0) as usize,
            ((ex + r) as usize).min(w.saturating_sub(1)),
        );
        let (y0, y1) = (
            (ey - r).max(0.0) as usize,
            ((ey + r) as usize).min(h.saturating_sub(1)),
        );
        if x1 <= x0 + 5 || y1 <= y0 + 5 {
            return None;
        }
        for y in y0..=y1 {
            let row = &bin[y * w..(y + 1) * w];
            let mut x = x0;
            // The last five runs within the window: (start, length, colour).
            let mut runs: [(usize, usize, u8); 5] = [(0, 0, 0); 5];
            let mut n = 0;
            while x <= x1 {
                let c = row[x];
                let s = x;
                while x <= x1 && row[x] == c {
                    x += 1;
                }
                runs.rotate_left(1);
                runs[4] = (s, x - s, c);
                n += 1;
                if n >= 5 && c != 0 && ring_ok(runs.map(|r| r.1 as f64), m) {
                    let centre = runs[2];
                    let cx = centre.0 as f64 + centre.1 as f64 / 2.0;
                    if let Some(cy) = alignment_vertical(bin, w, h, cx as usize, y, m) {
                        let d = (cx - ex).powi(2) + (cy - ey).powi(2);
                        if best.is_none_or(|(bd, _)| d < bd) {
                            best = Some((d, (cx, cy)));
                        }
                    }
                }
            }
        }
        if let Some((_, p)) = best {
            return Some(p);
        }
    }
    None
}

/// Five runs of about one module each (the outer two may be cut by the window or merge
/// with neighbouring dark modules, so they only need to be at least half a module).
fn ring_ok(r: [f64; 5], m: f64) -> bool {
    let near = |len: f64| (len - m).abs() <= m * 0.6 + 0.5;
    r[0] >= m * 0.5 && near(r[1]) && near(r[2]) && near(r[3]) && r[4] >= m * 0.5
}

/// Vertical check through (x, y): the same ring profile; returns the centre row.
fn alignment_vertical(bin: &[u8], w: usize, h: usize, x: usize, y: usize, m: f64) -> Option<f64> {
    let get = |yy: usize| bin[yy * w + x] != 0;
    if !get(y) {
        return None;
    }
    let max = (m * 2.0).ceil() as usize + 1;
    // Up: centre black, white, outer black; down likewise.
    let mut up = [0usize; 3];
    let mut i = y;
    for (k, black) in [true, false, true].into_iter().enumerate() {
        while i > 0 && get(i - 1) == black && up[k] <= max {
            i -= 1;
            up[k] += 1;
        }
    }
    let mut down = [0usize; 3];
    let mut j = y;
    for (k, black) in [true, false, true].into_iter().enumerate() {
        while j + 1 < h && get(j + 1) == black && down[k] <= max {
            j += 1;
            down[k] += 1;
        }
    }
    let centre = (up[0] + down[0] + 1) as f64;
    let runs = [
        up[2] as f64,
        up[1] as f64,
        centre,
        down[1] as f64,
        down[2] as f64,
    ];
    ring_ok(runs, m).then_some((y as f64 - up[0] as f64 + y as f64 + down[0] as f64) / 2.0 + 0.5)
}

/// Module coordinates of the finder centres (top-left, top-right, bottom-left) of a
/// symbol `s` modules wide.
fn finder_centres(s: f64) -> [(f64, f64); 3] {
    [(3.5, 3.5), (s - 3.5, 3.5), (3.5, s - 3.5)]
}

/// The finder centres and a fourth point: the module-side corners of a homography.
fn with_fourth(s: f64, fourth: (f64, f64)) -> [(f64, f64); 4] {
    let [a, b, c] = finder_centres(s);
    [a, b, c, fourth]
}

/// The homography taking the four `src` points to the four `dst` points.
fn homography(src: [(f64, f64); 4], dst: [(f64, f64); 4]) -> Option<[f64; 9]> {
    // Unknowns h0..h7 (h8 = 1): x' = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), same for y'.
    let mut a = [[0f64; 9]; 8];
    for (i, ((x, y), (u, v))) in src.iter().zip(dst.iter()).enumerate() {
        a[2 * i] = [*x, *y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, *u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, *x, *y, 1.0, -v * x, -v * y, *v];
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..8 {
        let pivot = (col..8).max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        for r in 0..8 {
            if r != col {
                let f = a[r][col] / a[col][col];
                if f != 0.0 {
                    let pivot_row = a[col];
                    for (dst, src) in a[r][col..].iter_mut().zip(&pivot_row[col..]) {
                        *dst -= f * src;
                    }
                }
            }
        }
    }
    let mut hm = [0f64; 9];
    for i in 0..8 {
        hm[i] = a[i][8] / a[i][i];
    }
    hm[8] = 1.0;
    hm.iter().all(|v| v.is_finite()).then_some(hm)
}

fn apply(hm: &[f64; 9], x: f64, y: f64) -> (f64, f64) {
    let d = hm[6] * x + hm[7] * y + hm[8];
    (
        (hm[0] * x + hm[1] * y + hm[2]) / d,
        (hm[3] * x + hm[4] * y + hm[5]) / d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 1 grid holding only the function patterns (data modules light).
    fn function_patterns(n: usize) -> Vec<bool> {
        let mut bits = vec![false; n * n];
        for (row, col) in [(0, 0), (0, n - 7), (n - 7, 0)] {
            for dy in 0..7usize {
                for dx in 0..7usize {
                    let d = dy.abs_diff(3).max(dx.abs_diff(3));
                    bits[(row + dy) * n + col + dx] = d == 3 || d <= 1;
                }
            }
        }
        for i in 8..n - 8 {
            bits[6 * n + i] = i % 2 == 0;
            bits[i * n + 6] = i % 2 == 0;
        }
        bits
    }

    #[test]
    fn run_end_finds_the_first_different_pixel() {
        let row = [1u8, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        assert_eq!(run_end(&row, 0), 3);
        assert_eq!(run_end(&row, 3), 17);
        assert_eq!(run_end(&row, 17), 18);
        assert_eq!(run_end(&row, 18), 19);
        let long = [0u8; 40];
        assert_eq!(run_end(&long, 5), 40);
        for start in 0..row.len() {
            let slow = (start..row.len())
                .find(|&i| row[i] != row[start])
                .unwrap_or(row.len());
            assert_eq!(run_end(&row, start), slow, "{start}");
        }
    }

    fn fits(n: usize, bits: &[bool]) -> bool {
        function_patterns_fit(n, |y, x| bits[y * n + x])
    }

    #[test]
    fn function_pattern_check_accepts_symbols_and_rejects_noise() {
        for n in [21, 25, 57] {
            let bits = function_patterns(n);
            assert!(fits(n, &bits), "{n}");

            // A few misread modules (blur, glare) are tolerated...
            let mut damaged = bits.clone();
            for i in [0, 8, 2 * n + 2, 6 * n + 9] {
                damaged[i] = !damaged[i];
            }
            assert!(fits(n, &damaged), "{n}");

            // ...timing patterns that do not alternate (a wrong size guess) are not.
            let mut wrong_size = bits.clone();
            for i in 8..n - 8 {
                wrong_size[6 * n + i] = (i / 2) % 2 == 0;
                wrong_size[i * n + 6] = (i / 2) % 2 == 0;
            }
            assert!(!fits(n, &wrong_size), "{n}");
        }
        let blank = vec![false; 21 * 21];
        assert!(!fits(21, &blank));
        let tiny = vec![true; 9];
        assert!(!fits(3, &tiny));
    }
}
