//! The bottom-right alignment pattern (versions 2 and up): searched for near where the
//! parallelogram guess puts it, it pins down the perspective.

/// Looks for an alignment pattern (a 5x5 ring: b-w-b-w-b at 1:1:1:1:1 through its centre,
/// both ways) near (ex, ey); the confirmed one closest to the prediction wins.
pub(super) fn find_alignment(
    bin: &[u8],
    w: usize,
    h: usize,
    ex: f64,
    ey: f64,
    m: f64,
) -> Option<(f64, f64)> {
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
