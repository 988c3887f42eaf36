//! The lab's colours, in one place so the graph, the pulses, the badges and the panels
//! agree, and sizes that change with presenter mode. Chosen for a dark background that
//! reads well on a projector: liquidity in teal and amber, success green, failure red,
//! L402 violet.

use crate::network::Role;
use bevy::color::{Color, LinearRgba};

pub const BACKGROUND: Color = Color::srgb(0.055, 0.063, 0.086);

/// sRGB bytes, for both Bevy (linear vertex colours) and egui.
pub type Rgb = [u8; 3];

pub const LOCAL: Rgb = [38, 198, 178];
pub const REMOTE: Rgb = [245, 166, 35];
pub const SUCCESS: Rgb = [92, 214, 92];
pub const FAILURE: Rgb = [240, 72, 72];
pub const IN_FLIGHT: Rgb = [235, 235, 245];
pub const L402: Rgb = [176, 120, 255];
pub const CONGESTION: Rgb = [255, 70, 40];
/// The traffic overlay: what channels carried over the last minute.
pub const TRAFFIC: Rgb = [255, 110, 190];
pub const SELECTED: Rgb = [255, 255, 255];
pub const HOVERED: Rgb = [255, 230, 120];
pub const OFFLINE: Rgb = [70, 72, 80];
pub const TEXT: Rgb = [225, 228, 235];

/// Node fill by role (nodes that are not agents).
pub fn role(role: Role) -> Rgb {
    match role {
        Role::Router => [120, 140, 170],
        Role::Merchant => [110, 200, 120],
        Role::Client => [90, 180, 230],
        Role::ApiService => [200, 110, 230],
    }
}

/// Node fill for agent group `g`.
pub fn group(g: usize) -> Rgb {
    const PALETTE: [Rgb; 6] = [
        [255, 140, 50],
        [255, 205, 60],
        [255, 100, 150],
        [150, 230, 90],
        [90, 200, 255],
        [210, 150, 255],
    ];
    PALETTE[g % PALETTE.len()]
}

/// Arena `i`'s colour: its viewport's frame, its lines on the charts, its scoreboard row.
pub fn arena(i: usize) -> Rgb {
    const PALETTE: [Rgb; 4] = [
        [120, 200, 255],
        [255, 150, 90],
        [170, 230, 110],
        [230, 130, 230],
    ];
    PALETTE[i % PALETTE.len()]
}

pub fn linear(c: Rgb, alpha: f32) -> [f32; 4] {
    let l = LinearRgba::from(Color::srgb_u8(c[0], c[1], c[2]));
    [l.red, l.green, l.blue, alpha]
}

pub fn bevy(c: Rgb) -> Color {
    Color::srgb_u8(c[0], c[1], c[2])
}

pub fn bevy_alpha(c: Rgb, alpha: f32) -> Color {
    Color::srgba_u8(c[0], c[1], c[2], (alpha.clamp(0.0, 1.0) * 255.0) as u8)
}

pub fn egui(c: Rgb) -> bevy_egui::egui::Color32 {
    bevy_egui::egui::Color32::from_rgb(c[0], c[1], c[2])
}

pub fn egui_alpha(c: Rgb, alpha: f32) -> bevy_egui::egui::Color32 {
    bevy_egui::egui::Color32::from_rgba_unmultiplied(
        c[0],
        c[1],
        c[2],
        (alpha.clamp(0.0, 1.0) * 255.0) as u8,
    )
}

/// egui's zoom in presenter mode.
pub const PRESENTER_ZOOM: f32 = 1.7;
