//! Sampling a located grid: module centres mapped through the guess's homography, read
//! by bilinear interpolation of the grey image against the local threshold, and the cheap
//! function-pattern check that spares the decoder most wrong guesses.

use super::GridGuess;
use super::drift::Drift;
use super::geometry::apply;
use super::mesh::Mesh;
use super::source::Source;

/// How a sampled grid maps module coordinates into the image.
#[derive(Clone, Copy)]
enum Map<'a> {
    /// The guess's one homography.
    Flat,
    /// Per-cell homographies through the alignment patterns (see [`Mesh`]).
    Mesh(&'a Mesh),
    /// The homography plus local shifts read from the module edges (see [`Drift`]).
    Drift(&'a Drift),
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
    map: Map<'a>,
}

impl<'a> SampledGrid<'a> {
    pub fn new(guess: GridGuess, src: Source<'a>) -> Self {
        SampledGrid {
            guess,
            src,
            map: Map::Flat,
        }
    }

    /// Samples through `mesh` (built from `guess`) instead of the guess's one homography.
    pub fn with_mesh(guess: GridGuess, src: Source<'a>, mesh: &'a Mesh) -> Self {
        SampledGrid {
            guess,
            src,
            map: Map::Mesh(mesh),
        }
    }

    /// Samples through `drift` (built from `guess`): its homography plus local shifts.
    pub fn with_drift(guess: GridGuess, src: Source<'a>, drift: &'a Drift) -> Self {
        SampledGrid {
            guess,
            src,
            map: Map::Drift(drift),
        }
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
        let (u, v) = (x as f64 + 0.5, y as f64 + 0.5);
        let (px, py) = match self.map {
            Map::Flat => apply(&self.guess.h, u, v),
            Map::Mesh(mesh) => mesh.apply(u, v),
            Map::Drift(drift) => drift.apply(u, v),
        };
        let s = &self.src;
        let Some(v) = s.grey_at(px, py) else {
            return false;
        };
        // The threshold of the pixel the point falls in.
        let (ix, iy) = ((px - 0.5).max(0.0) as usize, (py - 0.5).max(0.0) as usize);
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

/// Draws the three finders and the two timing patterns of an `n`-module symbol into
/// `bits` (row-major), for tests that build symbols.
#[cfg(test)]
pub(super) fn draw_function_patterns(bits: &mut [bool], n: usize) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid holding only the function patterns (data modules light).
    fn function_patterns(n: usize) -> Vec<bool> {
        let mut bits = vec![false; n * n];
        draw_function_patterns(&mut bits, n);
        bits
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
