//! Force-directed layout for drawing the network: a Fruchterman–Reingold simulation with a
//! Barnes–Hut quadtree for repulsion on large graphs (exact pairwise repulsion on small
//! ones). This file owns node placement only: it never reads channel state, it is
//! deterministic for a seed, it keeps nodes with a given position exactly where they are,
//! and it always returns finite coordinates (roughly within `[-1000, 1000]` when nothing is
//! pinned, so drawing code can fit the graph to a window).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Half the side of the output box when no node is pinned.
const OUTPUT_HALF_EXTENT: f64 = 1000.0;
/// Above this many nodes repulsion uses the Barnes–Hut approximation.
const EXACT_REPULSION_MAX_NODES: usize = 300;
/// Barnes–Hut opening criterion: a cell of side `s` at distance `d` is approximated when
/// `s / d < THETA`.
const THETA: f64 = 0.9;
/// Bodies per quadtree leaf (and the cap on depth, for coincident points).
const LEAF_CAPACITY: usize = 8;
const MAX_TREE_DEPTH: u32 = 32;
/// Linear pull toward the centre (in units of the ideal edge length), which keeps separate
/// components from drifting to the frame.
const GRAVITY: f64 = 1.0;
/// Squared distance below which two bodies count as coincident.
const MIN_DIST2: f64 = 1e-6;
/// Rough budget of force evaluations (body-cell or body-body interactions plus edges) for
/// one layout: about one second in release for 6,000 nodes and 30,000 edges.
const WORK_BUDGET: f64 = 1.2e8;
const MIN_ITERATIONS: usize = 40;
const MAX_ITERATIONS: usize = 400;

/// Lay out `given.len()` nodes. Nodes with `Some` position stay exactly there; the others
/// are placed by a force-directed simulation over `edges` (pairs of node indices; pairs out
/// of range and self-loops are ignored). Deterministic for `seed`.
pub fn force_directed(
    given: &[Option<(f32, f32)>],
    edges: &[(u32, u32)],
    seed: u64,
) -> Vec<(f32, f32)> {
    let n = given.len();
    // Non-finite given positions are treated as missing rather than poisoning the layout.
    let pinned: Vec<Option<(f64, f64)>> = given
        .iter()
        .map(|p| {
            p.filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| (f64::from(x), f64::from(y)))
        })
        .collect();
    if n == 0 {
        return Vec::new();
    }
    if pinned.iter().all(Option::is_some) {
        return pinned
            .iter()
            .flatten()
            .map(|&(x, y)| (x as f32, y as f32))
            .collect();
    }
    let frame = Frame::new(&pinned);
    let edges: Vec<(u32, u32)> = edges
        .iter()
        .copied()
        .filter(|&(a, b)| a != b && (a as usize) < n && (b as usize) < n)
        .collect();

    // Internal coordinates: ideal edge length 1, frame half-side `half`.
    let half = frame.half_internal;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pos: Vec<(f64, f64)> = pinned
        .iter()
        .map(|p| match p {
            Some(q) => frame.to_internal(*q),
            None => (rng.random_range(-half..half), rng.random_range(-half..half)),
        })
        .collect();
    let free: Vec<bool> = pinned.iter().map(Option::is_none).collect();

    let iterations = iteration_count(n, edges.len());
    let t_start = (half * 0.2).max(1.0);
    let t_end = 0.01;
    let mut disp = vec![(0.0f64, 0.0f64); n];
    let mut tree = QuadTree::default();
    for it in 0..iterations {
        let frac = it as f64 / (iterations.max(2) - 1) as f64;
        let temperature = t_start * (t_end / t_start).powf(frac);
        disp.iter_mut().for_each(|d| *d = (0.0, 0.0));
        if n <= EXACT_REPULSION_MAX_NODES {
            exact_repulsion(&pos, &free, &mut disp);
        } else {
            tree.build(&pos);
            for i in (0..n).filter(|&i| free[i]) {
                disp[i] = tree.repulsion(i, &pos);
            }
        }
        for &(a, b) in &edges {
            let (a, b) = (a as usize, b as usize);
            let dx = pos[a].0 - pos[b].0;
            let dy = pos[a].1 - pos[b].1;
            let d = (dx * dx + dy * dy).sqrt();
            // Attraction d²/k with k = 1, along the unit vector: (dx, dy) * d.
            let (fx, fy) = (dx * d, dy * d);
            if free[a] {
                disp[a].0 -= fx;
                disp[a].1 -= fy;
            }
            if free[b] {
                disp[b].0 += fx;
                disp[b].1 += fy;
            }
        }
        for i in (0..n).filter(|&i| free[i]) {
            let (gx, gy) = frame.gravity_center;
            let dx = disp[i].0 - GRAVITY * (pos[i].0 - gx);
            let dy = disp[i].1 - GRAVITY * (pos[i].1 - gy);
            let len = (dx * dx + dy * dy).sqrt();
            if !(len.is_finite() && len > 0.0) {
                continue;
            }
            let step = len.min(temperature) / len;
            // A safety net only: gravity keeps the layout compact.
            let limit = 100.0 * half;
            pos[i].0 = (pos[i].0 + dx * step).clamp(-limit, limit);
            pos[i].1 = (pos[i].1 + dy * step).clamp(-limit, limit);
        }
    }
    frame.finish(&pinned, &pos)
}

/// How many iterations fit the work budget for a graph of this size.
fn iteration_count(n: usize, m: usize) -> usize {
    let per_iteration = if n <= EXACT_REPULSION_MAX_NODES {
        (n * n) as f64 + m as f64
    } else {
        // A Barnes–Hut query visits on the order of a few dozen cells per log level.
        n as f64 * 12.0 * (n as f64).log2() + m as f64 + 4.0 * n as f64
    };
    ((WORK_BUDGET / per_iteration.max(1.0)) as usize).clamp(MIN_ITERATIONS, MAX_ITERATIONS)
}

/// The mapping between output coordinates and the simulation's internal units.
struct Frame {
    /// Output coordinates of the internal origin.
    origin: (f64, f64),
    /// Output units per internal unit (the ideal edge length in output units).
    scale: f64,
    /// Internal half-side of the frame free nodes start in.
    half_internal: f64,
    /// Internal point gravity pulls toward.
    gravity_center: (f64, f64),
    /// Whether any node is pinned (then output is not rescaled).
    any_pinned: bool,
}

impl Frame {
    fn new(pinned: &[Option<(f64, f64)>]) -> Self {
        let n = pinned.len() as f64;
        let half_internal = n.sqrt() * 0.5 + 1.0;
        let fixed: Vec<(f64, f64)> = pinned.iter().flatten().copied().collect();
        if fixed.is_empty() {
            return Frame {
                origin: (0.0, 0.0),
                scale: OUTPUT_HALF_EXTENT / half_internal,
                half_internal,
                gravity_center: (0.0, 0.0),
                any_pinned: false,
            };
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in &fixed {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let origin = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let mut half_out = (x1 - x0).max(y1 - y0) / 2.0;
        if !(half_out.is_finite() && half_out > 1e-3) {
            half_out = OUTPUT_HALF_EXTENT;
        }
        Frame {
            origin,
            scale: half_out / half_internal,
            half_internal,
            gravity_center: (0.0, 0.0),
            any_pinned: true,
        }
    }

    fn to_internal(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            (x - self.origin.0) / self.scale,
            (y - self.origin.1) / self.scale,
        )
    }

    /// Output positions: pinned nodes exactly as given; free nodes mapped back, and when
    /// nothing is pinned, recentred and scaled to fill the output box.
    fn finish(&self, pinned: &[Option<(f64, f64)>], pos: &[(f64, f64)]) -> Vec<(f32, f32)> {
        let (mut origin, mut scale, mut centre) = (self.origin, self.scale, (0.0, 0.0));
        if !self.any_pinned {
            let (x0, y0, x1, y1) = bounds(pos);
            centre = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
            let half = (x1 - x0).max(y1 - y0) / 2.0;
            origin = (0.0, 0.0);
            scale = if half.is_finite() && half > 1e-9 {
                OUTPUT_HALF_EXTENT / half
            } else {
                0.0
            };
        }
        pos.iter()
            .zip(pinned)
            .map(|(&(x, y), p)| match p {
                Some((px, py)) => (*px as f32, *py as f32),
                None => {
                    let ox = origin.0 + (x - centre.0) * scale;
                    let oy = origin.1 + (y - centre.1) * scale;
                    if ox.is_finite() && oy.is_finite() {
                        (ox as f32, oy as f32)
                    } else {
                        (origin.0 as f32, origin.1 as f32)
                    }
                }
            })
            .collect()
    }
}

/// Repulsion `k² / d` (k = 1) from `(dx, dy)`, the vector from the other body to this one,
/// scaled by `mass`. Coincident bodies push apart in a direction derived from their indices.
fn repel(dx: f64, dy: f64, mass: f64, i: usize, j: usize) -> (f64, f64) {
    let d2 = dx * dx + dy * dy;
    if d2 < MIN_DIST2 {
        let angle = ((i.wrapping_mul(7919) ^ j.wrapping_mul(104_729)) % 360) as f64;
        let (s, c) = angle.to_radians().sin_cos();
        return (c * mass * 1e3, s * mass * 1e3);
    }
    (dx * mass / d2, dy * mass / d2)
}

fn exact_repulsion(pos: &[(f64, f64)], free: &[bool], disp: &mut [(f64, f64)]) {
    for i in (0..pos.len()).filter(|&i| free[i]) {
        let (mut fx, mut fy) = (0.0, 0.0);
        for (j, p) in pos.iter().enumerate() {
            if j != i {
                let (ax, ay) = repel(pos[i].0 - p.0, pos[i].1 - p.1, 1.0, i, j);
                fx += ax;
                fy += ay;
            }
        }
        disp[i] = (fx, fy);
    }
}

const NO_CHILD: u32 = u32::MAX;

/// One quadtree cell: its square, the bodies it holds (a range of `QuadTree::order`), their
/// count and centre of mass, and up to four children.
#[derive(Clone, Copy)]
struct Cell {
    x0: f64,
    y0: f64,
    size: f64,
    cx: f64,
    cy: f64,
    mass: f64,
    start: u32,
    end: u32,
    children: [u32; 4],
    leaf: bool,
}

/// A Barnes–Hut quadtree rebuilt every iteration; buffers are reused between builds.
#[derive(Default)]
struct QuadTree {
    cells: Vec<Cell>,
    order: Vec<u32>,
    stack: Vec<u32>,
}

impl QuadTree {
    fn build(&mut self, pos: &[(f64, f64)]) {
        self.cells.clear();
        self.order.clear();
        self.order.extend(0..pos.len() as u32);
        let (x0, y0, x1, y1) = bounds(pos);
        let size = (x1 - x0).max(y1 - y0).max(1e-9) * (1.0 + 1e-9);
        self.build_cell(pos, 0, pos.len(), x0, y0, size, 0);
    }

    #[allow(clippy::too_many_arguments)]
    fn build_cell(
        &mut self,
        pos: &[(f64, f64)],
        start: usize,
        end: usize,
        x0: f64,
        y0: f64,
        size: f64,
        depth: u32,
    ) -> u32 {
        let (mut sx, mut sy) = (0.0, 0.0);
        for &b in &self.order[start..end] {
            sx += pos[b as usize].0;
            sy += pos[b as usize].1;
        }
        let mass = (end - start) as f64;
        let index = self.cells.len() as u32;
        let leaf = end - start <= LEAF_CAPACITY || depth >= MAX_TREE_DEPTH;
        self.cells.push(Cell {
            x0,
            y0,
            size,
            cx: sx / mass,
            cy: sy / mass,
            mass,
            start: start as u32,
            end: end as u32,
            children: [NO_CHILD; 4],
            leaf,
        });
        if leaf {
            return index;
        }
        let h = size / 2.0;
        let (mx, my) = (x0 + h, y0 + h);
        let slice = &mut self.order[start..end];
        let lower = partition(slice, |b| pos[b as usize].1 < my);
        let left_low = partition(&mut slice[..lower], |b| pos[b as usize].0 < mx);
        let left_high = partition(&mut slice[lower..], |b| pos[b as usize].0 < mx);
        let bounds = [
            (start, start + left_low, x0, y0),
            (start + left_low, start + lower, mx, y0),
            (start + lower, start + lower + left_high, x0, my),
            (start + lower + left_high, end, mx, my),
        ];
        for (q, (s, e, qx, qy)) in bounds.into_iter().enumerate() {
            if e > s {
                let child = self.build_cell(pos, s, e, qx, qy, h, depth + 1);
                self.cells[index as usize].children[q] = child;
            }
        }
        index
    }

    /// Total repulsion on body `i`.
    fn repulsion(&mut self, i: usize, pos: &[(f64, f64)]) -> (f64, f64) {
        let (x, y) = pos[i];
        let (mut fx, mut fy) = (0.0, 0.0);
        self.stack.clear();
        if !self.cells.is_empty() {
            self.stack.push(0);
        }
        while let Some(c) = self.stack.pop() {
            let cell = &self.cells[c as usize];
            if cell.leaf {
                for &j in &self.order[cell.start as usize..cell.end as usize] {
                    let j = j as usize;
                    if j != i {
                        let (ax, ay) = repel(x - pos[j].0, y - pos[j].1, 1.0, i, j);
                        fx += ax;
                        fy += ay;
                    }
                }
                continue;
            }
            let (dx, dy) = (x - cell.cx, y - cell.cy);
            let d2 = dx * dx + dy * dy;
            let inside = x >= cell.x0
                && x <= cell.x0 + cell.size
                && y >= cell.y0
                && y <= cell.y0 + cell.size;
            if !inside && cell.size * cell.size < THETA * THETA * d2 {
                let (ax, ay) = repel(dx, dy, cell.mass, i, c as usize);
                fx += ax;
                fy += ay;
            } else {
                self.stack
                    .extend(cell.children.iter().copied().filter(|&ch| ch != NO_CHILD));
            }
        }
        (fx, fy)
    }
}

/// Move the elements satisfying `pred` to the front; returns how many there are.
fn partition(slice: &mut [u32], pred: impl Fn(u32) -> bool) -> usize {
    let mut first = 0;
    for k in 0..slice.len() {
        if pred(slice[k]) {
            slice.swap(first, k);
            first += 1;
        }
    }
    first
}

/// The bounding box of `pos`: (min x, min y, max x, max y).
fn bounds(pos: &[(f64, f64)]) -> (f64, f64, f64, f64) {
    pos.iter().fold(
        (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
        |(x0, y0, x1, y1), &(x, y)| (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(n: u32) -> Vec<(u32, u32)> {
        (0..n).map(|i| (i, (i + 1) % n)).collect()
    }

    /// A random sparse connected graph (a random tree plus extra edges).
    fn random_graph(n: u32, extra: u32, seed: u64) -> Vec<(u32, u32)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut edges: Vec<(u32, u32)> = (1..n).map(|i| (i, rng.random_range(0..i))).collect();
        for _ in 0..extra {
            let a = rng.random_range(0..n);
            let b = rng.random_range(0..n);
            if a != b {
                edges.push((a, b));
            }
        }
        edges
    }

    fn dist(a: (f32, f32), b: (f32, f32)) -> f64 {
        (f64::from(a.0 - b.0).powi(2) + f64::from(a.1 - b.1).powi(2)).sqrt()
    }

    fn check_closer(pos: &[(f32, f32)], edges: &[(u32, u32)]) {
        let n = pos.len();
        let edge_mean = edges
            .iter()
            .map(|&(a, b)| dist(pos[a as usize], pos[b as usize]))
            .sum::<f64>()
            / edges.len() as f64;
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let samples = 2000;
        let random_mean = (0..samples)
            .map(|_| dist(pos[rng.random_range(0..n)], pos[rng.random_range(0..n)]))
            .sum::<f64>()
            / f64::from(samples);
        assert!(
            edge_mean * 2.0 < random_mean,
            "neighbours {edge_mean:.1} apart on average, random pairs {random_mean:.1}"
        );
    }

    #[test]
    fn deterministic_and_finite_in_the_box() {
        for (n, edges) in [
            (40, random_graph(40, 30, 1)),
            (700, random_graph(700, 1400, 2)),
        ] {
            let given = vec![None; n];
            let a = force_directed(&given, &edges, 7);
            let b = force_directed(&given, &edges, 7);
            assert_eq!(a, b);
            assert_ne!(a, force_directed(&given, &edges, 8));
            assert!(a.iter().all(|p| p.0.is_finite() && p.1.is_finite()));
            assert!(a.iter().all(|p| p.0.abs() <= 1000.5 && p.1.abs() <= 1000.5));
            let max = a
                .iter()
                .map(|p| p.0.abs().max(p.1.abs()))
                .fold(0.0, f32::max);
            assert!(max > 900.0, "layout does not fill the box: {max}");
        }
    }

    #[test]
    fn pinned_nodes_stay_put() {
        let edges = ring(30);
        let mut given = vec![None; 30];
        given[0] = Some((-200.0, 50.0));
        given[15] = Some((300.0, -75.5));
        given[7] = Some((0.0, 0.0));
        let pos = force_directed(&given, &edges, 3);
        assert_eq!(pos[0], (-200.0, 50.0));
        assert_eq!(pos[15], (300.0, -75.5));
        assert_eq!(pos[7], (0.0, 0.0));
        assert!(pos.iter().all(|p| p.0.is_finite() && p.1.is_finite()));
        // Free nodes near the pinned ones, not flung away.
        assert!(pos.iter().all(|p| p.0.abs() < 5000.0 && p.1.abs() < 5000.0));
        // All pinned: returned as given; a single pinned node with non-finite input is freed.
        let all: Vec<_> = (0..3).map(|i| Some((i as f32, 1.0))).collect();
        assert_eq!(
            force_directed(&all, &[(0, 1)], 1),
            vec![(0.0, 1.0), (1.0, 1.0), (2.0, 1.0)]
        );
        let nan = force_directed(&[Some((f32::NAN, 0.0)), None], &[(0, 1)], 1);
        assert!(nan.iter().all(|p| p.0.is_finite() && p.1.is_finite()));
    }

    #[test]
    fn neighbours_end_closer_than_random_pairs() {
        let small = random_graph(120, 60, 4);
        check_closer(&force_directed(&vec![None; 120], &small, 1), &small);
        let large = random_graph(1500, 1500, 5);
        check_closer(&force_directed(&vec![None; 1500], &large, 1), &large);
    }

    #[test]
    fn components_do_not_collapse_and_degenerate_input_is_safe() {
        // Two separate triangles.
        let edges = [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)];
        let pos = force_directed(&[None; 6], &edges, 11);
        assert!(pos.iter().any(|p| *p != pos[0]));
        let a = (
            (pos[0].0 + pos[1].0 + pos[2].0) / 3.0,
            (pos[0].1 + pos[1].1 + pos[2].1) / 3.0,
        );
        let b = (
            (pos[3].0 + pos[4].0 + pos[5].0) / 3.0,
            (pos[3].1 + pos[4].1 + pos[5].1) / 3.0,
        );
        assert!(dist(a, b) > 50.0);
        assert!(force_directed(&[], &[], 1).is_empty());
        let one = force_directed(&[None], &[(0, 0), (0, 9)], 1);
        assert!(one[0].0.is_finite() && one[0].1.is_finite());
        // Many isolated nodes, no edges: still spread and finite (Barnes–Hut path).
        let pos = force_directed(&vec![None; 500], &[], 2);
        assert!(pos.iter().all(|p| p.0.is_finite() && p.1.is_finite()));
        let distinct: std::collections::HashSet<(u32, u32)> =
            pos.iter().map(|p| (p.0.to_bits(), p.1.to_bits())).collect();
        assert!(distinct.len() > 490);
    }
}
