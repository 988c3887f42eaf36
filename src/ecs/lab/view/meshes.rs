//! What the three retained meshes hold, rebuilt from the session's read-only view:
//! channel bars split at the balance (teal node1's side, amber node2's; hairlines on large
//! graphs), a glow for congestion (HTLC slots in use) and for the selected or hovered
//! channel, and node discs sized by forwarded volume and coloured by role or agent group,
//! with a ring for the selected, hovered or offline node. Sizes are in screen pixels.

use crate::ecs::lab::state::{Hover, Lab, Selection, world_pos};
use crate::ecs::lab::theme;
use crate::network::{Direction, NodeId};
use crate::session::SessionView;
use bevy::asset::RenderAssetUsages;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy_egui::egui;

pub(crate) struct Buffers {
    topology: PrimitiveTopology,
    pos: Vec<[f32; 3]>,
    col: Vec<[f32; 4]>,
    idx: Vec<u32>,
}

impl Buffers {
    pub(super) fn new() -> Self {
        Buffers {
            topology: PrimitiveTopology::TriangleList,
            pos: Vec::new(),
            col: Vec::new(),
            idx: Vec::new(),
        }
    }

    /// Hairline segments (one pixel wide whatever the zoom): for large graphs, where
    /// tens of thousands of thin quads cost a software rasteriser twice as much.
    fn lines() -> Self {
        Buffers {
            topology: PrimitiveTopology::LineList,
            ..Buffers::new()
        }
    }

    fn line(&mut self, a: Vec2, b: Vec2, color: [f32; 4]) {
        let base = self.pos.len() as u32;
        self.pos.push([a.x, a.y, 0.0]);
        self.pos.push([b.x, b.y, 0.0]);
        self.col.extend_from_slice(&[color, color]);
        self.idx.extend_from_slice(&[base, base + 1]);
    }

    /// A quad along `a`->`b`, `half` wide on each side.
    fn segment(&mut self, a: Vec2, b: Vec2, half: f32, color: [f32; 4]) {
        let d = b - a;
        let len = d.length();
        if len <= f32::EPSILON {
            return;
        }
        let n = Vec2::new(-d.y, d.x) / len * half;
        let base = self.pos.len() as u32;
        for p in [a + n, a - n, b - n, b + n] {
            self.pos.push([p.x, p.y, 0.0]);
            self.col.push(color);
        }
        self.idx
            .extend_from_slice(&[base, base + 1, base + 2, base, base + 2, base + 3]);
    }

    fn disc(&mut self, c: Vec2, r: f32, segments: u32, color: [f32; 4]) {
        let base = self.pos.len() as u32;
        self.pos.push([c.x, c.y, 0.0]);
        self.col.push(color);
        for i in 0..segments {
            let a = i as f32 / segments as f32 * std::f32::consts::TAU;
            self.pos.push([c.x + r * a.cos(), c.y + r * a.sin(), 0.0]);
            self.col.push(color);
            let next = (i + 1) % segments;
            self.idx
                .extend_from_slice(&[base, base + 1 + i, base + 1 + next]);
        }
    }

    /// The buffers as an egui mesh (the arenas' other viewports are painted by egui), each
    /// world position mapped by `to_screen`; hairlines become quads one point wide, since
    /// egui meshes are triangles.
    pub(crate) fn to_egui(&self, to_screen: impl Fn(Vec2) -> egui::Pos2) -> egui::Mesh {
        // Runs of vertices share a colour (a disc, a bar): convert each run once.
        let mut last: Option<([f32; 4], egui::Color32)> = None;
        let mut color = |c: [f32; 4]| match last {
            Some((l, out)) if l == c => out,
            _ => {
                let s = Color::linear_rgba(c[0], c[1], c[2], c[3]).to_srgba();
                let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                let out = egui::Color32::from_rgba_unmultiplied(
                    byte(s.red),
                    byte(s.green),
                    byte(s.blue),
                    byte(s.alpha),
                );
                last = Some((c, out));
                out
            }
        };
        let at = |i: u32| {
            let p = self.pos[i as usize];
            to_screen(Vec2::new(p[0], p[1]))
        };
        let mut mesh = egui::Mesh::default();
        if self.topology == PrimitiveTopology::LineList {
            for pair in self.idx.chunks_exact(2) {
                let (a, b) = (at(pair[0]), at(pair[1]));
                let d = b - a;
                let len = d.length();
                if len <= f32::EPSILON {
                    continue;
                }
                let n = egui::vec2(-d.y, d.x) / len * 0.5;
                let c = color(self.col[pair[0] as usize]);
                let base = mesh.vertices.len() as u32;
                for p in [a + n, a - n, b - n, b + n] {
                    mesh.colored_vertex(p, c);
                }
                mesh.add_triangle(base, base + 1, base + 2);
                mesh.add_triangle(base, base + 2, base + 3);
            }
        } else {
            for (i, c) in self.col.iter().enumerate() {
                mesh.colored_vertex(at(i as u32), color(*c));
            }
            for t in self.idx.chunks_exact(3) {
                mesh.add_triangle(t[0], t[1], t[2]);
            }
        }
        mesh
    }

    pub(super) fn write(mut self, mesh: &mut Mesh) {
        if self.idx.is_empty() {
            // One degenerate primitive: the renderer does not handle empty meshes well.
            self.pos.push([0.0; 3]);
            self.col.push([0.0; 4]);
            let corners = if self.topology == PrimitiveTopology::LineList {
                2
            } else {
                3
            };
            self.idx.extend(std::iter::repeat_n(0, corners));
        }
        if mesh.primitive_topology() != self.topology {
            *mesh = Mesh::new(self.topology, RenderAssetUsages::default());
        }
        mesh.insert_attribute(Mesh::ATTRIBUTE_POSITION, self.pos);
        mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, self.col);
        mesh.insert_indices(Indices::U32(self.idx));
    }
}

/// On-screen radius of each node, in pixels, from its forwarded volume (hubs stand out).
pub struct NodeSizes<'a> {
    stats: &'a [crate::sim::metrics::NodeStats],
    max_volume: f32,
    nodes: usize,
    presenter: bool,
}

impl<'a> NodeSizes<'a> {
    pub fn new(engine: SessionView<'a>, presenter: bool) -> Self {
        let stats = &engine.metrics().nodes[..];
        let max_volume = stats.iter().map(|s| s.forwarded_msat).max().unwrap_or(0);
        NodeSizes {
            stats,
            max_volume: max_volume.max(1) as f32,
            nodes: engine.network().node_count(),
            presenter,
        }
    }

    pub fn radius_px(&self, id: NodeId) -> f32 {
        let volume = self.stats.get(id.index()).map_or(0, |s| s.forwarded_msat) as f32;
        let share = (volume / self.max_volume).clamp(0.0, 1.0);
        let (base, extra) = if self.nodes > 1000 {
            (1.6, 7.0)
        } else {
            (5.0, 13.0)
        };
        let r = base + extra * share.sqrt();
        if self.presenter { r * 1.4 } else { r }
    }
}

/// Width of a channel bar, in pixels, from its capacity.
fn channel_width_px(nodes: usize, capacity_sat: u64) -> f32 {
    let lg = ((capacity_sat.max(1) as f32).log10() - 4.0).clamp(0.0, 4.0) / 4.0;
    if nodes > 1000 {
        0.5 + 1.5 * lg
    } else {
        1.5 + 4.5 * lg
    }
}

/// The meshes' contents, in drawing order: glow, channel bars, node discs. `px` is world
/// units per screen pixel.
/// `traffic`: whether the traffic overlay applies (it holds the first arena's traffic).
pub(crate) fn build(
    engine: SessionView,
    lab: &Lab,
    hover: &Hover,
    px: f32,
    traffic: bool,
) -> [Buffers; 3] {
    let net = engine.network();
    let n = net.node_count();
    let mut glow = Buffers::new();
    let large = n > 1000;
    let mut bars = if large {
        Buffers::lines()
    } else {
        Buffers::new()
    };
    // The traffic overlay dims the liquidity bars and draws each channel's recent volume
    // over them, wider and brighter the more it carried.
    let traffic = (traffic && lab.traffic.on).then_some(&lab.traffic);
    let bar_alpha = match (large, traffic.is_some()) {
        (true, false) => 0.55,
        (false, false) => 1.0,
        (true, true) => 0.2,
        (false, true) => 0.35,
    };
    for (id, a, b, ch) in net.channels() {
        let (Some(na), Some(nb)) = (net.node(a), net.node(b)) else {
            continue;
        };
        let (pa, pb) = (world_pos(na.position), world_pos(nb.position));
        let half = channel_width_px(n, ch.capacity_sat) * px / 2.0;
        let s1 = ch.side(Direction::Forward);
        let s2 = ch.side(Direction::Backward);
        let total = (s1.balance_msat + s2.balance_msat).max(1) as f32;
        let split = pa.lerp(pb, s1.balance_msat as f32 / total);
        let selected = lab.selection == Some(Selection::Channel(id));
        let hovered = hover.channel == Some(id);
        if selected || hovered {
            let c = if selected {
                theme::SELECTED
            } else {
                theme::HOVERED
            };
            glow.segment(pa, pb, half + 3.0 * px, theme::linear(c, 0.9));
        }
        if let Some(t) = traffic {
            let share = t.share(id);
            if share > 0.0 {
                // Linear in the share, so the busiest channels stand out from the many
                // that carried a little.
                let (base, extra) = if large { (0.5, 5.0) } else { (1.0, 12.0) };
                glow.segment(
                    pa,
                    pb,
                    half + (base + extra * share) * px,
                    theme::linear(theme::TRAFFIC, 0.15 + 0.8 * share),
                );
            }
        }
        let occupancy = s1.slot_occupancy().max(s2.slot_occupancy());
        if occupancy > 0.02 {
            let spread = half + (3.0 + 9.0 * occupancy) * px;
            glow.segment(
                pa,
                pb,
                spread,
                theme::linear(theme::CONGESTION, 0.25 + 0.6 * occupancy),
            );
        }
        if large {
            bars.line(pa, split, theme::linear(theme::LOCAL, bar_alpha));
            bars.line(split, pb, theme::linear(theme::REMOTE, bar_alpha));
        } else {
            bars.segment(pa, split, half, theme::linear(theme::LOCAL, bar_alpha));
            bars.segment(split, pb, half, theme::linear(theme::REMOTE, bar_alpha));
        }
    }

    let sizes = NodeSizes::new(engine, lab.presenter);
    let segments = if large { 8 } else { 24 };
    let mut discs = Buffers::new();
    for (id, node) in net.nodes() {
        let r = sizes.radius_px(id) * px;
        let c = world_pos(node.position);
        let fill = if !node.online {
            theme::OFFLINE
        } else {
            match engine.group_of(id) {
                Some(g) => theme::group(g),
                None => theme::role(node.role),
            }
        };
        let ring = if lab.selection == Some(Selection::Node(id)) {
            Some(theme::SELECTED)
        } else if hover.node == Some(id) {
            Some(theme::HOVERED)
        } else if !node.online {
            Some(theme::FAILURE)
        } else if large {
            None
        } else {
            Some([20, 22, 30])
        };
        if let Some(ring) = ring {
            discs.disc(c, r + 2.0 * px, segments, theme::linear(ring, 1.0));
        }
        discs.disc(c, r, segments, theme::linear(fill, 1.0));
    }
    [glow, bars, discs]
}
