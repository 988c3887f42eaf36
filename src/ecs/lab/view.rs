//! The graph drawing and its camera. Channels, their congestion glow and the nodes are
//! three retained meshes with per-vertex colours (one entity and one material each, however
//! large the graph), rebuilt from the engine's state a few times a second or when the zoom
//! or selection changes. Sizes are in screen pixels, so the drawing stays readable at any
//! zoom. The camera renders into the area the panels leave free.

use super::LabSet;
use super::state::{GraphArea, Hover, Lab, Selection, ViewCam, world_pos};
use super::theme;
use crate::ecs::sim::SimDriver;
use crate::network::{Direction, NodeId};
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::camera::visibility::NoFrustumCulling;
use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, Viewport};
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::render_resource::{
    BlendState, Extent3d, TextureDescriptor, TextureDimension, TextureFormat, TextureUsages,
};
use bevy::render::renderer::RenderAdapterInfo;
use bevy::sprite_render::AlphaMode2d;

/// Seconds between rebuilds when nothing but balances changed (small and large graphs).
const REBUILD_S: f32 = 0.1;
const REBUILD_LARGE_S: f32 = 0.5;
/// The render layer of the channel canvas.
const CANVAS_LAYER: usize = 1;

/// Draws the channel layer into an image, only when it changed: tens of thousands of
/// channel bars are rasterised a few times a second instead of every frame, and each
/// frame shows the image as one sprite.
#[derive(Component)]
struct CanvasCamera;

#[derive(Component)]
struct CanvasSprite;

type CanvasCameraParts = (
    &'static mut Camera,
    &'static mut Transform,
    &'static mut Projection,
);
type CanvasSpriteParts = (&'static mut Sprite, &'static mut Transform);

fn canvas_image(size: UVec2) -> Image {
    let extent = Extent3d {
        width: size.x.max(1),
        height: size.y.max(1),
        ..default()
    };
    let mut image = Image {
        texture_descriptor: TextureDescriptor {
            label: Some("lnlab channel canvas"),
            size: extent,
            dimension: TextureDimension::D2,
            format: TextureFormat::Rgba8UnormSrgb,
            mip_level_count: 1,
            sample_count: 1,
            usage: TextureUsages::TEXTURE_BINDING
                | TextureUsages::COPY_DST
                | TextureUsages::RENDER_ATTACHMENT,
            view_formats: &[],
        },
        ..default()
    };
    image.resize(extent);
    image
}

#[derive(Resource)]
struct GraphMeshes {
    /// The channel layer's render target, the size it was made for, and where it was
    /// last drawn.
    canvas: Handle<Image>,
    canvas_size: UVec2,
    canvas_center: Vec2,
    nodes: Handle<Mesh>,
    channels: Handle<Mesh>,
    glow: Handle<Mesh>,
    built_s: f32,
    built_scale: f32,
    built_generation: u64,
    built_marks: (Option<Selection>, Hover, bool),
}

pub struct ViewPlugin;

impl Plugin for ViewPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ViewCam>()
            .init_resource::<GraphArea>()
            .init_resource::<Hover>()
            .add_systems(Startup, setup)
            .add_systems(PostStartup, choose_msaa)
            .add_systems(
                Update,
                (fit, sync_camera, rebuild).chain().in_set(LabSet::Draw),
            );
    }
}

/// Multisampling: smooth edges on a GPU, off under software rendering (lavapipe), where
/// it triples the frame time. `LNLAB_MSAA=0` or `=4` overrides. Both cameras draw into the
/// same window and must agree.
fn choose_msaa(adapter: Option<Res<RenderAdapterInfo>>, mut cameras: Query<&mut Msaa>) {
    // Bevy does not re-export wgpu's `DeviceType`; its Debug name is stable (`Cpu`).
    let software = adapter.is_some_and(|a| format!("{:?}", a.device_type) == "Cpu");
    let msaa = match std::env::var("LNLAB_MSAA").as_deref() {
        Ok("0") | Ok("off") => Msaa::Off,
        Ok("4") => Msaa::Sample4,
        _ if software => Msaa::Off,
        _ => Msaa::Sample4,
    };
    for mut m in &mut cameras {
        *m = msaa;
    }
}

/// The camera that draws the graph (into the area between the panels).
#[derive(Component)]
struct GraphCamera;

fn setup(
    mut commands: Commands,
    mut images: ResMut<Assets<Image>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    mut egui_settings: ResMut<bevy_egui::EguiGlobalSettings>,
) {
    // Two cameras: the graph's, restricted to the free area, and egui's over the whole
    // window (drawing nothing else, blended over the graph).
    egui_settings.auto_create_primary_context = false;
    commands.spawn((Camera2d, GraphCamera));
    commands.spawn((
        bevy_egui::PrimaryEguiContext,
        Camera2d,
        RenderLayers::none(),
        Camera {
            order: 1,
            output_mode: CameraOutputMode::Write {
                blend_state: Some(BlendState::ALPHA_BLENDING),
                clear_color: ClearColorConfig::None,
            },
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
    ));
    let empty = || {
        let mut m = Mesh::new(
            PrimitiveTopology::TriangleList,
            RenderAssetUsages::default(),
        );
        Buffers::new().write(&mut m);
        m
    };
    let glow = meshes.add(empty());
    let channels = meshes.add(empty());
    let nodes = meshes.add(empty());
    let blend = materials.add(ColorMaterial {
        alpha_mode: AlphaMode2d::Blend,
        ..ColorMaterial::from_color(Color::WHITE)
    });
    let opaque = materials.add(ColorMaterial::from_color(Color::WHITE));
    // Channels and their glow are drawn into the canvas (layer 1), nodes live (layer 0).
    for (mesh, material, z, layer) in [
        (glow.clone(), blend.clone(), 0.0, CANVAS_LAYER),
        (channels.clone(), blend, 1.0, CANVAS_LAYER),
        (nodes.clone(), opaque, 2.0, 0),
    ] {
        commands.spawn((
            Mesh2d(mesh),
            MeshMaterial2d(material),
            Transform::from_xyz(0.0, 0.0, z),
            NoFrustumCulling,
            RenderLayers::layer(layer),
        ));
    }
    let canvas = images.add(canvas_image(UVec2::splat(16)));
    commands.spawn((
        Camera2d,
        Camera {
            order: -1,
            is_active: false,
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
        RenderTarget::Image(canvas.clone().into()),
        Msaa::Off,
        CanvasCamera,
        RenderLayers::layer(CANVAS_LAYER),
    ));
    commands.spawn((
        Sprite::from_image(canvas.clone()),
        Transform::from_xyz(0.0, 0.0, 1.0),
        CanvasSprite,
    ));
    commands.insert_resource(GraphMeshes {
        canvas,
        canvas_size: UVec2::splat(16),
        canvas_center: Vec2::NAN,
        nodes,
        channels,
        glow,
        built_s: f32::NEG_INFINITY,
        built_scale: 0.0,
        built_generation: 0,
        built_marks: (None, Hover::default(), false),
    });
}

/// Fit the graph into the free area when asked (start, open, `F` key).
fn fit(
    mut lab: ResMut<Lab>,
    area: Res<GraphArea>,
    driver: NonSend<SimDriver>,
    mut cam: ResMut<ViewCam>,
) {
    if !lab.fit_requested || !area.is_known() {
        return;
    }
    lab.fit_requested = false;
    let net = driver.session.view().network();
    let mut lo = Vec2::splat(f32::INFINITY);
    let mut hi = Vec2::splat(f32::NEG_INFINITY);
    for (_, n) in net.nodes() {
        let p = world_pos(n.position);
        lo = lo.min(p);
        hi = hi.max(p);
    }
    if !lo.is_finite() {
        return;
    }
    let size = (hi - lo).max(Vec2::splat(1e-3));
    let logical = (area.max - area.min) * area.logical_per_point();
    // A margin for node circles and labels.
    let fit = (size / (logical - Vec2::splat(60.0)).max(Vec2::splat(50.0))).max_element();
    cam.center = (lo + hi) / 2.0;
    cam.world_per_px = fit;
}

fn sync_camera(
    cam: Res<ViewCam>,
    area: Res<GraphArea>,
    mut camera: Query<(&mut Camera, &mut Transform, &mut Projection), With<GraphCamera>>,
) {
    let Ok((mut camera, mut transform, mut projection)) = camera.single_mut() else {
        return;
    };
    transform.translation.x = cam.center.x;
    transform.translation.y = cam.center.y;
    if let Projection::Orthographic(o) = projection.as_mut()
        && o.scale != cam.world_per_px
    {
        o.scale = cam.world_per_px;
    }
    if area.is_known() {
        let pos = (area.min * area.pixels_per_point).max(Vec2::ZERO);
        let size = ((area.max - area.min) * area.pixels_per_point).max(Vec2::splat(1.0));
        let viewport = Viewport {
            physical_position: UVec2::new(pos.x as u32, pos.y as u32),
            physical_size: UVec2::new(size.x as u32, size.y as u32),
            ..default()
        };
        if camera
            .viewport
            .as_ref()
            .map(|v| (v.physical_position, v.physical_size))
            != Some((viewport.physical_position, viewport.physical_size))
        {
            camera.viewport = Some(viewport);
        }
    }
}

struct Buffers {
    topology: PrimitiveTopology,
    pos: Vec<[f32; 3]>,
    col: Vec<[f32; 4]>,
    idx: Vec<u32>,
}

impl Buffers {
    fn new() -> Self {
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

    fn write(mut self, mesh: &mut Mesh) {
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
    pub fn new(engine: crate::session::SessionView<'a>, presenter: bool) -> Self {
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

#[allow(clippy::too_many_arguments)]
fn rebuild(
    driver: NonSend<SimDriver>,
    lab: Res<Lab>,
    cam: Res<ViewCam>,
    area: Res<GraphArea>,
    hover: Res<Hover>,
    time: Res<Time<Real>>,
    mut graph: ResMut<GraphMeshes>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut images: ResMut<Assets<Image>>,
    mut canvas_camera: Query<CanvasCameraParts, (With<CanvasCamera>, Without<CanvasSprite>)>,
    mut sprite: Query<CanvasSpriteParts, (With<CanvasSprite>, Without<CanvasCamera>)>,
) {
    let Ok((mut canvas_cam, mut canvas_tf, mut canvas_proj)) = canvas_camera.single_mut() else {
        return;
    };
    // The canvas camera draws only in the frames that ask for it.
    canvas_cam.is_active = false;
    let now = time.elapsed_secs();
    let marks = (lab.selection, *hover, lab.presenter);
    let zoomed = (cam.world_per_px / graph.built_scale - 1.0).abs() > 0.01;
    let interval = if driver.session.view().network().node_count() > 1000 {
        REBUILD_LARGE_S
    } else {
        REBUILD_S
    };
    let geometry = zoomed
        || graph.built_generation != lab.generation
        || graph.built_marks != marks
        || now - graph.built_s >= interval;
    // The canvas covers the free area in physical pixels, drawn around the camera centre.
    let size = if area.is_known() {
        ((area.max - area.min) * area.pixels_per_point)
            .max(Vec2::ONE)
            .as_uvec2()
    } else {
        graph.canvas_size
    };
    let world_per_physical = cam.world_per_px / area.scale_factor.max(1e-3);
    let moved = cam.center.distance(graph.canvas_center) > 0.25 * world_per_physical
        || graph.canvas_center.is_nan();
    let resized = size != graph.canvas_size;
    if geometry || moved || resized {
        if resized {
            if let Some(mut image) = images.get_mut(&graph.canvas) {
                *image = canvas_image(size);
            }
            graph.canvas_size = size;
        }
        canvas_cam.is_active = true;
        canvas_tf.translation.x = cam.center.x;
        canvas_tf.translation.y = cam.center.y;
        if let Projection::Orthographic(o) = canvas_proj.as_mut() {
            o.scale = world_per_physical;
        }
        graph.canvas_center = cam.center;
        if let Ok((mut sprite, mut tf)) = sprite.single_mut() {
            sprite.custom_size = Some(size.as_vec2() * world_per_physical);
            tf.translation.x = cam.center.x;
            tf.translation.y = cam.center.y;
        }
    }
    if !geometry {
        return;
    }
    graph.built_s = now;
    graph.built_scale = cam.world_per_px;
    graph.built_generation = lab.generation;
    graph.built_marks = marks;

    let engine = driver.session.view();
    let net = engine.network();
    let n = net.node_count();
    let px = cam.world_per_px;
    let mut glow = Buffers::new();
    let large = n > 1000;
    let mut bars = if large {
        Buffers::lines()
    } else {
        Buffers::new()
    };
    let bar_alpha = if large { 0.55 } else { 1.0 };
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
            match driver.session.view().group_of(id) {
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
    for (handle, buffers) in [
        (&graph.glow, glow),
        (&graph.channels, bars),
        (&graph.nodes, discs),
    ] {
        if let Some(mut mesh) = meshes.get_mut(handle) {
            buffers.write(&mut mesh);
        }
    }
}
