//! The channel canvas: channels and their glow are drawn into an image, only when they
//! changed, by a camera of their own (render layer 1); each frame shows the image as one
//! sprite. Tens of thousands of channel bars are rasterised a few times a second instead
//! of every frame. The canvas covers the free area in physical pixels, drawn around the
//! camera's centre, and is redrawn when the geometry changes, the view moves or the area
//! is resized.

use super::GraphMeshes;
use crate::ecs::lab::state::{GraphArea, ViewCam};
use bevy::camera::RenderTarget;
use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;
use bevy::render::render_resource::{
    Extent3d, TextureDescriptor, TextureDimension, TextureFormat, TextureUsages,
};

/// The render layer of the channel canvas.
pub(super) const CANVAS_LAYER: usize = 1;

/// Draws the channel layer into an image, only when it changed: tens of thousands of
/// channel bars are rasterised a few times a second instead of every frame, and each
/// frame shows the image as one sprite.
#[derive(Component)]
pub(super) struct CanvasCamera;

#[derive(Component)]
pub(super) struct CanvasSprite;

type CanvasCameraParts = (
    &'static mut Camera,
    &'static mut Transform,
    &'static mut Projection,
);
type CanvasSpriteParts = (&'static mut Sprite, &'static mut Transform);

/// The canvas camera, as the rebuild system queries it.
pub(super) type CameraQuery<'w, 's> =
    Query<'w, 's, CanvasCameraParts, (With<CanvasCamera>, Without<CanvasSprite>)>;
/// The sprite that shows the canvas.
pub(super) type SpriteQuery<'w, 's> =
    Query<'w, 's, CanvasSpriteParts, (With<CanvasSprite>, Without<CanvasCamera>)>;

pub(super) fn canvas_image(size: UVec2) -> Image {
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

/// The canvas camera (inactive until a frame asks it to draw) and the sprite showing its
/// image; returns the image.
pub(super) fn spawn(commands: &mut Commands, images: &mut Assets<Image>) -> Handle<Image> {
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
    canvas
}

/// Keep the canvas over the view: resize its image with the free area, and let the canvas
/// camera draw this frame (centred on the view, the sprite with it) when the geometry was
/// rebuilt, the view moved or the area changed size. Otherwise it stays idle.
pub(super) fn follow(
    graph: &mut GraphMeshes,
    cam: &ViewCam,
    area: &GraphArea,
    images: &mut ResMut<Assets<Image>>,
    camera: (Mut<Camera>, Mut<Transform>, Mut<Projection>),
    sprite: &mut SpriteQuery,
    geometry: bool,
) {
    let (mut canvas_cam, mut canvas_tf, mut canvas_proj) = camera;
    // The canvas camera draws only in the frames that ask for it.
    canvas_cam.is_active = false;
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
}
