//! Grey to black-and-white, and the resampling done before it.
//!
//! rqrr's own preparation is a running row average, which breaks on glare, vignetting
//! and labels printed small in a large frame. The main binariser here is block based:
//! the image is cut into 8x8 blocks, each block's threshold is the mean of the block
//! averages around it (5x5 blocks), and flat blocks (little contrast: blank label, or the
//! inside of a large module) borrow their neighbours' level instead of amplifying noise.
//! This is the approach most robust QR readers take; it costs two passes over the image.
//!
//! All functions write into caller-owned buffers so a scanner reuses them frame after
//! frame. The output is 1 for black and 0 for white, the encoding rqrr's region
//! detector expects.

/// The threshold used at each pixel by the last binarisation, so the sampler can
/// compare interpolated grey values against the same level.
#[derive(Debug, Default, Clone)]
pub struct ThresholdMap {
    /// Blocks per row; 0 means one global threshold in `values[0]`.
    blocks_wide: usize,
    values: Vec<u8>,
    /// Scratch (block sums, minima and maxima of one block row; window sums), kept so
    /// binarising allocates nothing per frame.
    block_stats: Vec<(u32, u8, u8)>,
    column_stats: ColumnStats,
    column_sums: Vec<u32>,
}

impl ThresholdMap {
    /// Threshold at pixel (x, y); pixels at or below it are black.
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> u8 {
        if self.blocks_wide == 0 {
            return self.values.first().copied().unwrap_or(127);
        }
        let i = (y / BLOCK) * self.blocks_wide + x / BLOCK;
        self.values.get(i).copied().unwrap_or(127)
    }
}

/// Per-pixel-column sums, minima and maxima over one block row.
#[derive(Debug, Default, Clone)]
struct ColumnStats {
    sums: Vec<u16>,
    mins: Vec<u8>,
    maxs: Vec<u8>,
}

/// Block size of the local-threshold binariser, in pixels.
const BLOCK: usize = 8;
/// Blocks whose min..max range is below this are treated as flat.
const MIN_CONTRAST: u8 = 24;

/// Block-based local threshold. `blocks` is scratch space.
pub fn local_threshold(
    gray: &[u8],
    w: usize,
    h: usize,
    out: &mut Vec<u8>,
    blocks: &mut Vec<u8>,
    map: &mut ThresholdMap,
) {
    out.clear();
    out.resize(w * h, 0);
    if w < BLOCK * 5 || h < BLOCK * 5 {
        global_threshold(gray, out, map);
        return;
    }
    let bw = w.div_ceil(BLOCK);
    let bh = h.div_ceil(BLOCK);
    map.blocks_wide = bw;
    map.values.clear();
    map.values.resize(bw * bh, 0);
    blocks.clear();
    blocks.resize(bw * bh, 0);
    // Block statistics, a block row at a time: per-column sums, minima and maxima
    // over the block row's eight pixel rows first (element-wise over whole rows, which
    // vectorises), then eight columns per block. The last block of a row or column is
    // shifted inwards to stay whole when the size is not a multiple of 8.
    let mut stats = std::mem::take(&mut map.block_stats);
    let mut cols = std::mem::take(&mut map.column_stats);
    for by in 0..bh {
        let y0 = (by * BLOCK).min(h - BLOCK);
        cols.sums.clear();
        cols.sums.resize(w, 0);
        cols.mins.clear();
        cols.mins.resize(w, 255);
        cols.maxs.clear();
        cols.maxs.resize(w, 0);
        for row in gray[y0 * w..].chunks(w).take(BLOCK) {
            for (acc, &p) in cols.sums.iter_mut().zip(row) {
                *acc += p as u16;
            }
            for (acc, &p) in cols.mins.iter_mut().zip(row) {
                *acc = (*acc).min(p);
            }
            for (acc, &p) in cols.maxs.iter_mut().zip(row) {
                *acc = (*acc).max(p);
            }
        }
        stats.clear();
        stats.extend((0..bw).map(|bx| {
            let x = (bx * BLOCK).min(w - BLOCK)..(bx * BLOCK).min(w - BLOCK) + BLOCK;
            (
                cols.sums[x.clone()].iter().map(|&v| v as u32).sum::<u32>(),
                cols.mins[x.clone()].iter().copied().fold(255, u8::min),
                cols.maxs[x].iter().copied().fold(0, u8::max),
            )
        }));
        for (bx, &(sum, min, max)) in stats.iter().enumerate() {
            let mut avg = (sum / (BLOCK * BLOCK) as u32) as u8;
            if max - min <= MIN_CONTRAST {
                // Flat: assume it is background (white) unless the neighbours say the
                // area is darker, so a large module's interior keeps its colour.
                avg = min / 2;
                if by > 0 && bx > 0 {
                    let n = (blocks[(by - 1) * bw + bx] as u32
                        + 2 * blocks[by * bw + bx - 1] as u32
                        + blocks[(by - 1) * bw + bx - 1] as u32)
                        / 4;
                    if (min as u32) < n {
                        avg = n as u8;
                    }
                }
            }
            blocks[by * bw + bx] = avg;
        }
    }
    map.block_stats = stats;
    map.column_stats = cols;
    // Each block's threshold is the mean of the 5x5 blocks around it (the window is
    // shifted inwards at the edges). Column sums over the window rows first, then a
    // window over those, so each block costs a handful of additions.
    let mut column_sums = std::mem::take(&mut map.column_sums);
    column_sums.clear();
    column_sums.resize(bw, 0);
    for by in 0..bh {
        let cy = by.clamp(2, bh.saturating_sub(3).max(2));
        let rows = cy.saturating_sub(2)..(cy + 3).min(bh);
        for (bx, c) in column_sums.iter_mut().enumerate() {
            *c = rows.clone().map(|yy| blocks[yy * bw + bx] as u32).sum();
        }
        for bx in 0..bw {
            let cx = bx.clamp(2, bw.saturating_sub(3).max(2));
            let sum: u32 = column_sums[cx.saturating_sub(2)..(cx + 3).min(bw)]
                .iter()
                .sum();
            map.values[by * bw + bx] = (sum / 25) as u8;
        }
    }
    map.column_sums = column_sums;
    // Apply row by row: contiguous slices, so the compare loop vectorises. The last
    // block of a row or column is shifted inwards to stay whole, as above.
    for y in 0..h {
        let by = (y / BLOCK).min(bh - 1);
        let thresholds = &map.values[by * bw..(by + 1) * bw];
        let src = &gray[y * w..(y + 1) * w];
        let dst = &mut out[y * w..(y + 1) * w];
        for (bx, &t) in thresholds.iter().enumerate() {
            let x0 = (bx * BLOCK).min(w - BLOCK);
            for (o, &p) in dst[x0..x0 + BLOCK].iter_mut().zip(&src[x0..x0 + BLOCK]) {
                *o = u8::from(p <= t);
            }
        }
    }
}

/// Otsu's global threshold: best for clean, evenly lit images and tiny ones.
pub fn global_threshold(gray: &[u8], out: &mut [u8], map: &mut ThresholdMap) {
    let t = otsu(gray);
    map.blocks_wide = 0;
    map.values.clear();
    map.values.push(t);
    for (o, &p) in out.iter_mut().zip(gray) {
        *o = u8::from(p <= t);
    }
}

fn otsu(gray: &[u8]) -> u8 {
    let mut hist = [0u32; 256];
    for &p in gray {
        hist[p as usize] += 1;
    }
    let total = gray.len() as f64;
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w_b, mut sum_b, mut best, mut best_t) = (0f64, 0f64, 0f64, 127u8);
    for (t, &c) in hist.iter().enumerate() {
        w_b += c as f64;
        if w_b == 0.0 {
            continue;
        }
        let w_f = total - w_b;
        if w_f == 0.0 {
            break;
        }
        sum_b += t as f64 * c as f64;
        let m_b = sum_b / w_b;
        let m_f = (sum_all - sum_b) / w_f;
        let between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Box-filter downscale by an integer factor into `out`; returns the new size.
/// `acc` is scratch space (one row of sums).
pub fn downscale(
    gray: &[u8],
    w: usize,
    h: usize,
    factor: usize,
    out: &mut Vec<u8>,
    acc: &mut Vec<u32>,
) -> (usize, usize) {
    let f = factor.max(1);
    let (nw, nh) = (w / f, h / f);
    out.clear();
    out.resize(nw * nh, 0);
    let area = (f * f) as u32;
    if f == 2 {
        // The common case (a 1280x720 frame to 640x360), written so it vectorises.
        for (ny, out_row) in out.chunks_exact_mut(nw.max(1)).enumerate().take(nh) {
            let top = &gray[2 * ny * w..2 * ny * w + 2 * nw];
            let bottom = &gray[(2 * ny + 1) * w..(2 * ny + 1) * w + 2 * nw];
            for ((o, t), b) in out_row
                .iter_mut()
                .zip(top.chunks_exact(2))
                .zip(bottom.chunks_exact(2))
            {
                *o = ((t[0] as u16 + t[1] as u16 + b[0] as u16 + b[1] as u16) / 4) as u8;
            }
        }
        return (nw, nh);
    }
    for (ny, out_row) in out.chunks_exact_mut(nw.max(1)).enumerate().take(nh) {
        acc.clear();
        acc.resize(nw, 0);
        for y in ny * f..ny * f + f {
            let src = &gray[y * w..y * w + nw * f];
            for (a, px) in acc.iter_mut().zip(src.chunks_exact(f)) {
                *a += px.iter().map(|&p| p as u32).sum::<u32>();
            }
        }
        for (o, &a) in out_row.iter_mut().zip(acc.iter()) {
            *o = (a / area) as u8;
        }
    }
    (nw, nh)
}

/// Inverts black and white in place (for light-on-dark codes).
pub fn invert(bin: &mut [u8]) {
    for p in bin {
        *p ^= 1;
    }
}
