//! The symbol's outer edges: traced along the outer sides of the finder patterns and
//! intersected, they give the four true corners where the parallelogram guess is off
//! (a version 1 code, which has no alignment pattern, seen at an angle).

use super::geometry::{apply, homography};

/// A homography from the symbol's four outer edges, each traced along the outer side
/// of the finder patterns that lie on it (top: top-left and top-right finders; left:
/// top-left and bottom-left; right: top-right; bottom: bottom-left). Lines stay lines
/// under perspective, so the edges' intersections are the symbol's true corners even
/// where the parallelogram guess is off: the case of version 1 codes, which have no
/// alignment pattern to pin the fourth corner, seen at an angle.
pub(super) fn outer_edges(
    bin: &[u8],
    w: usize,
    h: usize,
    h0: &[f64; 9],
    s: f64,
) -> Option<[f64; 9]> {
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
