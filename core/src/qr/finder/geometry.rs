//! Plane geometry of a symbol: the module coordinates of its finder centres and the
//! homography (projective map) from module coordinates to image pixels, solved from four
//! point pairs.

/// Module coordinates of the finder centres (top-left, top-right, bottom-left) of a
/// symbol `s` modules wide.
pub(super) fn finder_centres(s: f64) -> [(f64, f64); 3] {
    [(3.5, 3.5), (s - 3.5, 3.5), (3.5, s - 3.5)]
}

/// The finder centres and a fourth point: the module-side corners of a homography.
pub(super) fn with_fourth(s: f64, fourth: (f64, f64)) -> [(f64, f64); 4] {
    let [a, b, c] = finder_centres(s);
    [a, b, c, fourth]
}

/// The homography taking the four `src` points to the four `dst` points.
pub(super) fn homography(src: [(f64, f64); 4], dst: [(f64, f64); 4]) -> Option<[f64; 9]> {
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

pub(super) fn apply(hm: &[f64; 9], x: f64, y: f64) -> (f64, f64) {
    let d = hm[6] * x + hm[7] * y + hm[8];
    (
        (hm[0] * x + hm[1] * y + hm[2]) / d,
        (hm[3] * x + hm[4] * y + hm[5]) / d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6
    }

    #[test]
    fn homography_maps_its_four_points() {
        let src = [(0.0, 0.0), (21.0, 0.0), (0.0, 21.0), (21.0, 21.0)];
        // A trapezoid: the symbol seen at an angle.
        let dst = [(100.0, 80.0), (300.0, 95.0), (90.0, 310.0), (320.0, 280.0)];
        let hm = homography(src, dst).unwrap();
        for (s, d) in src.iter().zip(dst) {
            assert!(close(apply(&hm, s.0, s.1), d), "{s:?}");
        }
    }

    #[test]
    fn an_affine_map_keeps_midpoints_and_lines() {
        // Scale 5, rotate 90 degrees, shift: no perspective, so h6 = h7 = 0.
        let src = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0), (10.0, 10.0)];
        let dst = [(50.0, 20.0), (50.0, 70.0), (0.0, 20.0), (0.0, 70.0)];
        let hm = homography(src, dst).unwrap();
        assert!(hm[6].abs() < 1e-9 && hm[7].abs() < 1e-9);
        assert!(close(apply(&hm, 5.0, 5.0), (25.0, 45.0)));
        // Collinear points stay collinear.
        let (a, b, c) = (
            apply(&hm, 1.0, 2.0),
            apply(&hm, 4.0, 5.0),
            apply(&hm, 7.0, 8.0),
        );
        let cross = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
        assert!(cross.abs() < 1e-6);
    }

    #[test]
    fn perspective_is_projective_and_inverts() {
        let s = 25.0;
        let src = with_fourth(s, (s - 6.5, s - 6.5));
        let dst = [(10.0, 10.0), (200.0, 20.0), (15.0, 190.0), (160.0, 150.0)];
        let hm = homography(src, dst).unwrap();
        assert!(hm[6].abs() > 1e-6 || hm[7].abs() > 1e-6);
        let [tl, tr, bl] = finder_centres(s);
        assert!(close(apply(&hm, tl.0, tl.1), dst[0]));
        assert!(close(apply(&hm, tr.0, tr.1), dst[1]));
        assert!(close(apply(&hm, bl.0, bl.1), dst[2]));
        let inv = homography(dst, src).unwrap();
        let p = apply(&hm, 12.3, 4.5);
        assert!(close(apply(&inv, p.0, p.1), (12.3, 4.5)));
    }

    #[test]
    fn degenerate_point_sets_have_no_homography() {
        let src = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0), (10.0, 10.0)];
        // All four targets in one point, or on one line: no plane map.
        assert!(homography(src, [(5.0, 5.0); 4]).is_none());
        assert!(homography([(5.0, 5.0); 4], src).is_none());
        let line = [(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0)];
        assert!(homography(line, src).is_none());
    }
}
