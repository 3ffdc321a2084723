//! Piecewise sampling through every alignment pattern, for large and curved symbols.
//!
//! One homography is exact for a flat symbol, but a label on a curved or bent surface,
//! or a lens with distortion, moves modules off the single plane it assumes; over a
//! version 7+ symbol (45+ modules) a drift of half a module is enough to misread whole
//! codewords. Symbols of version 7 and up carry a grid of alignment patterns for exactly
//! this: each one is searched for near where the neighbours already found put it (the
//! global guess corrected by their offsets, so the search follows a bend), and every
//! cell between four neighbouring reference points gets its own homography. The
//! reference points are the alignment patterns' centres, and for the three corners that
//! hold finders instead, the global guess there (exact near the finders it was built
//! from). A pattern that is not found (glare, a smudge) takes its predicted place, so
//! the mesh is never worse than the guess it starts from by more than that cell.

use super::GridGuess;
use super::alignment::find_alignment;
use super::geometry::{apply, homography};

/// Module indices of the alignment pattern centres of a symbol `size` modules wide
/// (ISO/IEC 18004 annex E), including the rows and columns the finders take (6 and
/// size - 7); empty for version 1.
pub(crate) fn alignment_positions(size: usize) -> Vec<usize> {
    if size < 25 || (size - 17) % 4 != 0 {
        return Vec::new();
    }
    let version = (size - 17) / 4;
    let num = version / 7 + 2;
    let step = if version == 32 {
        26
    } else {
        // Twice the rounded-up half of the span per gap: the standard's even spacing.
        (size - 13).div_ceil(2 * num - 2) * 2
    };
    let mut out = Vec::with_capacity(num);
    out.push(6);
    for i in (0..num - 1).rev() {
        out.push(size - 7 - i * step);
    }
    out
}

/// Whether point (i, j) of a `k` x `k` alignment grid is a corner the finders take.
fn finder_corner(i: usize, j: usize, k: usize) -> bool {
    let last = k - 1;
    [(0, 0), (last, 0), (0, last)].contains(&(i, j))
}

/// A symbol's module-to-image map as one homography per cell of the alignment grid.
#[derive(Debug, Default, Clone)]
pub struct Mesh {
    /// Module coordinates of the reference lines (alignment centres), ascending.
    lines: Vec<f64>,
    /// Homography of cell (row j, column i) at `j * (lines - 1) + i`.
    cells: Vec<[f64; 9]>,
    /// Reference points (row-major over `lines` x `lines`) and how many were found.
    points: Vec<(f64, f64)>,
    found: usize,
}

impl Mesh {
    /// Builds the mesh of `guess` in binary image `bin`; false when the symbol has no
    /// alignment grid worth it (below version 7) or too few patterns were found to say
    /// more than the guess does.
    pub fn build(&mut self, bin: &[u8], w: usize, h: usize, guess: &GridGuess) -> bool {
        let size = guess.size;
        let pos = alignment_positions(size);
        self.lines.clear();
        self.cells.clear();
        self.points.clear();
        self.found = 0;
        if pos.len() < 3 {
            return false;
        }
        let k = pos.len();
        self.lines.extend(pos.iter().map(|&p| p as f64 + 0.5));
        let hm = guess.h;
        // Offset (found - predicted by the guess) per point, for the neighbours' correction.
        let mut offsets: Vec<Option<(f64, f64)>> = vec![None; k * k];
        for j in 0..k {
            for i in 0..k {
                let (u, v) = (self.lines[i], self.lines[j]);
                let (px, py) = apply(&hm, u, v);
                if finder_corner(i, j, k) {
                    offsets[j * k + i] = Some((0.0, 0.0));
                    self.points.push((px, py));
                    continue;
                }
                // Neighbours already placed: left, above, above-left.
                let mut n = 0.0;
                let (mut ox, mut oy) = (0.0, 0.0);
                for (di, dj) in [(1usize, 0usize), (0, 1), (1, 1)] {
                    if i >= di
                        && j >= dj
                        && let Some((dx, dy)) = offsets[(j - dj) * k + (i - di)]
                    {
                        ox += dx;
                        oy += dy;
                        n += 1.0;
                    }
                }
                if n > 0.0 {
                    ox /= n;
                    oy /= n;
                }
                let (ex, ey) = (px + ox, py + oy);
                // Module size here, from the guess.
                let (qx, qy) = apply(&hm, u + 1.0, v);
                let (rx, ry) = apply(&hm, u, v + 1.0);
                let m = (((qx - px).hypot(qy - py) + (rx - px).hypot(ry - py)) / 2.0).max(1.0);
                let hit = find_alignment(bin, w, h, ex, ey, m)
                    .filter(|&(ax, ay)| (ax - ex).hypot(ay - ey) <= 3.0 * m);
                let (x, y) = match hit {
                    Some(p) => {
                        self.found += 1;
                        p
                    }
                    None => (ex, ey),
                };
                offsets[j * k + i] = Some((x - px, y - py));
                self.points.push((x, y));
            }
        }
        // Half the patterns (not counting the finder corners) or the mesh is guesswork.
        if self.found * 2 < k * k - 3 {
            return false;
        }
        for j in 0..k - 1 {
            for i in 0..k - 1 {
                let src = [
                    (self.lines[i], self.lines[j]),
                    (self.lines[i + 1], self.lines[j]),
                    (self.lines[i], self.lines[j + 1]),
                    (self.lines[i + 1], self.lines[j + 1]),
                ];
                let p = |a: usize, b: usize| self.points[b * k + a];
                let dst = [p(i, j), p(i + 1, j), p(i, j + 1), p(i + 1, j + 1)];
                self.cells.push(homography(src, dst).unwrap_or(hm));
            }
        }
        true
    }

    /// Image position of module coordinates (u, v) through the cell that holds them;
    /// modules outside the reference lines use the nearest edge cell.
    pub fn apply(&self, u: f64, v: f64) -> (f64, f64) {
        let cells = self.lines.len().saturating_sub(1);
        let cell = |t: f64| {
            self.lines[1..cells]
                .iter()
                .take_while(|&&l| l <= t)
                .count()
                .min(cells.saturating_sub(1))
        };
        let (i, j) = (cell(u), cell(v));
        match self.cells.get(j * cells + i) {
            Some(hm) => apply(hm, u, v),
            None => (f64::NAN, f64::NAN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_positions_follow_the_standard_table() {
        // Rows of ISO/IEC 18004 table E.1.
        assert!(alignment_positions(21).is_empty());
        assert_eq!(alignment_positions(25), [6, 18]);
        assert_eq!(alignment_positions(45), [6, 22, 38]);
        assert_eq!(alignment_positions(97), [6, 34, 62, 90]);
        assert_eq!(alignment_positions(17 + 4 * 32), [6, 34, 60, 86, 112, 138]);
        assert_eq!(
            alignment_positions(17 + 4 * 36),
            [6, 24, 50, 76, 102, 128, 154]
        );
        assert_eq!(alignment_positions(177), [6, 30, 58, 86, 114, 142, 170]);
        // Not a symbol size.
        assert!(alignment_positions(46).is_empty());
    }

    /// A version 7 symbol's alignment patterns on a label bent along its width: the
    /// middle and right columns sag by up to 1.5 modules, which one homography (the flat
    /// guess) cannot follow and the mesh must.
    #[test]
    fn the_mesh_follows_a_bent_symbol_through_its_alignment_patterns() {
        let (w, h, m, off) = (240usize, 240usize, 4.0f64, 20.0f64);
        let size = 45;
        let sag = |u: f64| 6.0 * ((u - 6.5) / 32.0).powi(2);
        let mut bin = vec![0u8; w * h];
        let pos = alignment_positions(size);
        let k = pos.len();
        let mut centres = Vec::new();
        for (j, &pv) in pos.iter().enumerate() {
            for (i, &pu) in pos.iter().enumerate() {
                if finder_corner(i, j, k) {
                    continue;
                }
                let (u, v) = (pu as f64 + 0.5, pv as f64 + 0.5);
                let (cx, cy) = (off + m * u, off + m * v + sag(u));
                centres.push(((u, v), (cx, cy)));
                // A 5x5-module ring: dark outer ring and centre.
                for dy in -10i32..10 {
                    for dx in -10i32..10 {
                        // Distance from the centre in modules (Chebyshev).
                        let (mx, my) = ((dx as f64 + 0.5) / m, (dy as f64 + 0.5) / m);
                        let d = mx.abs().max(my.abs());
                        let dark = d < 0.5 || (1.5..2.5).contains(&d);
                        let (x, y) = ((cx + dx as f64) as usize, (cy + dy as f64) as usize);
                        if x < w && y < h {
                            bin[y * w + x] = u8::from(dark);
                        }
                    }
                }
            }
        }
        // The flat guess: 4 px per module from (20, 20), no sag.
        let guess = GridGuess {
            size,
            h: [m, 0.0, off, 0.0, m, off, 0.0, 0.0, 1.0],
        };
        let mut mesh = Mesh::default();
        assert!(mesh.build(&bin, w, h, &guess));
        assert_eq!(mesh.found, centres.len());
        for &((u, v), (cx, cy)) in &centres {
            let (x, y) = mesh.apply(u, v);
            assert!(
                (x - cx).hypot(y - cy) < 1.0,
                "({u}, {v}): {x},{y} vs {cx},{cy}"
            );
        }
        // Between the patterns the sag is interpolated, not ignored: the flat guess is
        // off by more than a module at the right edge's middle, the mesh is not.
        let (u, v) = (38.5, 30.5);
        let (x, y) = mesh.apply(u, v);
        let want = (off + m * u, off + m * v + sag(u));
        assert!((x - want.0).hypot(y - want.1) < 1.0);
        let flat = apply(&guess.h, u, v);
        assert!((flat.0 - want.0).hypot(flat.1 - want.1) > m);
    }

    #[test]
    fn too_few_patterns_build_no_mesh() {
        let bin = vec![0u8; 240 * 240];
        let guess = GridGuess {
            size: 45,
            h: [4.0, 0.0, 20.0, 0.0, 4.0, 20.0, 0.0, 0.0, 1.0],
        };
        let mut mesh = Mesh::default();
        assert!(!mesh.build(&bin, 240, 240, &guess));
        // Version 1-6 symbols have at most one alignment pattern: nothing to mesh.
        let small = GridGuess { size: 25, ..guess };
        assert!(!mesh.build(&bin, 240, 240, &small));
    }
}
