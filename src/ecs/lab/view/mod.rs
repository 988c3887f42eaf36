//! The graph drawing. Channels, their congestion glow and the nodes are three retained
//! meshes with per-vertex colours (one entity and one material each, however large the
//! graph), rebuilt from the session's read-only view a few times a second or when the zoom
//! or selection changes. Sizes are in screen pixels, so the drawing stays readable at any
//! zoom. This file sets the scene up (cameras, meshes, materials) and runs the rebuild; the
//! parts live in their own files:
//! - `camera`: the graph's camera, its viewport between the panels, and fitting the graph;
//! - `canvas`: the image the channel layer is drawn into, only when it changed;
//! - `meshes`: what the meshes hold (bars, glow, node discs) and the nodes' sizes.

mod camera;
mod canvas;
mod meshes;

pub use meshes::NodeSizes;
pub(crate) use meshes::build as build_meshes;

use super::LabSet;
use super::state::{GraphArea, Hover, Lab, Selection, ViewCam};
use crate::ecs::sim::SimDriver;
use bevy::asset::RenderAssetUsages;
use bevy::camera::CameraOutputMode;
use bevy::camera::visibility::NoFrustumCulling;
use bevy::camera::visibility::RenderLayers;
use bevy::mesh::PrimitiveTopology;
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy::render::renderer::RenderAdapterInfo;
use bevy::sprite_render::AlphaMode2d;
use meshes::Buffers;

/// Seconds between rebuilds when nothing but balances changed (small and large graphs).
const REBUILD_S: f32 = 0.1;
const REBUILD_LARGE_S: f32 = 0.5;

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
    built_marks: (Option<Selection>, Hover, bool, bool, u64),
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
                (camera::fit, camera::sync_camera, rebuild)
                    .chain()
                    .in_set(LabSet::Draw),
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

fn setup(
    mut commands: Commands,
    mut images: ResMut<Assets<Image>>,
    mut mesh_assets: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    mut egui_settings: ResMut<bevy_egui::EguiGlobalSettings>,
) {
    // Two cameras: the graph's, restricted to the free area, and egui's over the whole
    // window (drawing nothing else, blended over the graph).
    egui_settings.auto_create_primary_context = false;
    commands.spawn((Camera2d, camera::GraphCamera));
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
    let glow = mesh_assets.add(empty());
    let channels = mesh_assets.add(empty());
    let nodes = mesh_assets.add(empty());
    let blend = materials.add(ColorMaterial {
        alpha_mode: AlphaMode2d::Blend,
        ..ColorMaterial::from_color(Color::WHITE)
    });
    let opaque = materials.add(ColorMaterial::from_color(Color::WHITE));
    // Channels and their glow are drawn into the canvas (layer 1), nodes live (layer 0).
    for (mesh, material, z, layer) in [
        (glow.clone(), blend.clone(), 0.0, canvas::CANVAS_LAYER),
        (channels.clone(), blend, 1.0, canvas::CANVAS_LAYER),
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
    let canvas = canvas::spawn(&mut commands, &mut images);
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
        built_marks: (None, Hover::default(), false, false, 0),
    });
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
    mut mesh_assets: ResMut<Assets<Mesh>>,
    mut images: ResMut<Assets<Image>>,
    mut canvas_camera: canvas::CameraQuery,
    mut sprite: canvas::SpriteQuery,
) {
    let Ok(canvas_parts) = canvas_camera.single_mut() else {
        return;
    };
    let now = time.elapsed_secs();
    let marks = (
        lab.selection,
        *hover,
        lab.presenter,
        lab.traffic.on,
        lab.layout_version,
    );
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
    canvas::follow(
        &mut graph,
        &cam,
        &area,
        &mut images,
        canvas_parts,
        &mut sprite,
        geometry,
    );
    if !geometry {
        return;
    }
    graph.built_s = now;
    graph.built_scale = cam.world_per_px;
    graph.built_generation = lab.generation;
    graph.built_marks = marks;

    let [glow, bars, discs] =
        meshes::build(driver.session.view(), &lab, &hover, cam.world_per_px, true);
    for (handle, buffers) in [
        (&graph.glow, glow),
        (&graph.channels, bars),
        (&graph.nodes, discs),
    ] {
        if let Some(mut mesh) = mesh_assets.get_mut(handle) {
            buffers.write(&mut mesh);
        }
    }
}
