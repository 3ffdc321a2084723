//! Finder-pattern search: row scans for the 1:1:3:1:1 black/white profile of a finder
//! pattern, each hit cross-checked vertically and horizontally through its centre, and
//! confirmed hits merged into candidates (centre, module size, confirming rows).

/// A finder pattern seen in the binary image.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate {
    pub(super) x: f32,
    pub(super) y: f32,
    pub(super) module: f32,
    pub(super) count: u32,
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

pub(super) fn find_candidates(bin: &[u8], w: usize, h: usize, cands: &mut Vec<Candidate>) {
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

pub(super) fn dist(a: &Candidate, b: &Candidate) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn finder_ratio_accepts_1_1_3_1_1_at_any_scale() {
        assert!(finder_ratio([1, 1, 3, 1, 1]));
        assert!(finder_ratio([4, 4, 12, 4, 4]));
        assert!(finder_ratio([5, 3, 13, 4, 4]));
        assert!(!finder_ratio([1, 1, 1, 1, 1]));
        assert!(!finder_ratio([4, 4, 4, 4, 12]));
    }

    #[test]
    fn a_drawn_finder_is_one_candidate_at_its_centre() {
        let (w, h, m) = (60usize, 60usize, 4usize);
        let mut bin = vec![0u8; w * h];
        for y in 0..7 * m {
            for x in 0..7 * m {
                let (u, v) = (x / m, y / m);
                let ring = u.min(v).min(6 - u).min(6 - v);
                bin[(y + 10) * w + x + 10] = u8::from(ring != 1);
            }
        }
        let mut cands = Vec::new();
        find_candidates(&bin, w, h, &mut cands);
        assert_eq!(cands.len(), 1, "{cands:?}");
        let c = cands[0];
        assert!(
            (c.x - 24.0).abs() < 1.0 && (c.y - 24.0).abs() < 1.0,
            "{c:?}"
        );
        assert!((c.module - 4.0).abs() < 0.5, "{c:?}");
    }
}
