//! The lab's charts (egui_plot): traffic (success rate, fees, latency p95, L402 calls
//! served per second), the agents' mean reward, PPO diagnostics per group, and hub
//! concentration over a recent window, all against simulated time with linked x axes.
//! Each chart has a legend, and a line keeps its colour on every chart (an agent group's
//! colour is its nodes' colour). Timeline events are vertical markers, labelled where the
//! label has room. Each chart can be hidden or expanded. Samples are taken a few times a
//! second from the feed's tallies and from each finished PPO update.

use super::LabSet;
use super::arena::Arenas;
use super::feed::Tally;
use super::state::{Lab, LabCommand, Marker};
use super::theme;
use crate::ecs::sim::{SimDriver, SimStatus};
use crate::session::SessionView;
use crate::sim::metrics::{gini, percentile};
use bevy::prelude::*;
use bevy_egui::egui;
use egui_plot::{Corner, Legend, Line, Plot, PlotPoint, PlotPoints, Text, VLine};
use std::collections::BTreeMap;
use std::collections::VecDeque;

/// Seconds of wall time between traffic samples.
const SAMPLE_S: f32 = 0.25;
/// Points kept per series; older ones are thinned to every other point.
const MAX_POINTS: usize = 4000;
/// Samples the hub-concentration window spans (about five seconds of wall time).
const HUB_WINDOW_SAMPLES: usize = 20;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Chart {
    Success,
    Reward,
    Fees,
    Latency,
    L402,
    PolicyLoss,
    ValueLoss,
    Entropy,
    ApproxKl,
    ClipFraction,
    ExplainedVariance,
    HubGini,
}

impl Chart {
    pub const ALL: [Chart; 12] = [
        Chart::Success,
        Chart::Reward,
        Chart::Fees,
        Chart::Latency,
        Chart::L402,
        Chart::HubGini,
        Chart::PolicyLoss,
        Chart::ValueLoss,
        Chart::Entropy,
        Chart::ApproxKl,
        Chart::ClipFraction,
        Chart::ExplainedVariance,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Chart::Success => "success rate",
            Chart::Reward => "mean reward",
            Chart::Fees => "fees (sat / payment)",
            Chart::Latency => "latency p95 (ms)",
            Chart::L402 => "L402 calls served / s",
            Chart::PolicyLoss => "policy loss",
            Chart::ValueLoss => "value loss",
            Chart::Entropy => "entropy",
            Chart::ApproxKl => "approx KL",
            Chart::ClipFraction => "clip fraction",
            Chart::ExplainedVariance => "explained variance",
            Chart::HubGini => "hub concentration (gini, recent)",
        }
    }

    pub fn is_ppo(self) -> bool {
        matches!(
            self,
            Chart::Reward
                | Chart::PolicyLoss
                | Chart::ValueLoss
                | Chart::Entropy
                | Chart::ApproxKl
                | Chart::ClipFraction
                | Chart::ExplainedVariance
        )
    }
}

#[derive(Resource)]
pub struct Plots {
    /// (chart, line name) -> points (simulated seconds, value).
    series: BTreeMap<(Chart, String), Vec<[f64; 2]>>,
    pub hidden: Vec<Chart>,
    pub expanded: Option<Chart>,
    sampled_s: f32,
    sampled_sim_ms: u64,
    generation: u64,
    /// Where each run (the network, or each arena) stood at the last sample.
    runs: Vec<RunMark>,
}

impl Default for Plots {
    fn default() -> Self {
        Plots {
            series: BTreeMap::new(),
            hidden: vec![
                Chart::ExplainedVariance,
                Chart::PolicyLoss,
                Chart::ValueLoss,
                Chart::ApproxKl,
                Chart::ClipFraction,
            ],
            expanded: None,
            sampled_s: 0.0,
            sampled_sim_ms: 0,
            generation: 0,
            runs: Vec::new(),
        }
    }
}

impl Plots {
    fn push(&mut self, chart: Chart, line: &str, x: f64, y: f64) {
        if !y.is_finite() {
            return;
        }
        let points = self.series.entry((chart, line.to_string())).or_default();
        points.push([x, y]);
        if points.len() > MAX_POINTS {
            // Thin the older half to every other point; recent detail stays.
            let half = points.len() / 2;
            let mut kept: Vec<[f64; 2]> = points[..half].iter().step_by(2).copied().collect();
            kept.extend_from_slice(&points[half..]);
            *points = kept;
        }
    }
}

pub struct PlotsPlugin;

impl Plugin for PlotsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Plots>()
            .add_systems(Update, sample.in_set(LabSet::Draw))
            .add_systems(Update, export.in_set(LabSet::Apply));
    }
}

fn sample(
    driver: NonSend<SimDriver>,
    mut arenas: NonSendMut<Arenas>,
    lab: Res<Lab>,
    time: Res<Time<Real>>,
    mut status: ResMut<SimStatus>,
    mut tally: ResMut<Tally>,
    mut plots: ResMut<Plots>,
) {
    if plots.generation != lab.generation {
        let keep = (plots.hidden.clone(), plots.expanded);
        *plots = Plots {
            hidden: keep.0,
            expanded: keep.1,
            generation: lab.generation,
            ..default()
        };
    }
    let engine = driver.session.view();
    let now_ms = engine.now_ms();
    let x = now_ms as f64 / 1000.0;
    // One line per run: the network's, or each arena's (named by the arena).
    let first = if lab.arenas.is_empty() {
        "all".to_string()
    } else {
        lab.arena_label(0)
    };
    let prefix = |run: &str, group: &str| {
        if run == "all" {
            group.to_string()
        } else {
            format!("{run}: {group}")
        }
    };
    let lanes = arenas
        .lanes
        .iter()
        .map(|l| (l.lane.label.as_str(), &l.new_rows));
    let rows = std::iter::once((first.as_str(), &status.new_rows)).chain(lanes);
    for (run, rows) in rows {
        for row in rows {
            let g = prefix(run, &row.group);
            plots.push(Chart::Reward, &g, x, row.episodic_reward as f64);
            plots.push(Chart::PolicyLoss, &g, x, row.policy_loss as f64);
            plots.push(Chart::ValueLoss, &g, x, row.value_loss as f64);
            plots.push(Chart::Entropy, &g, x, row.entropy as f64);
            plots.push(Chart::ApproxKl, &g, x, row.approx_kl as f64);
            plots.push(Chart::ClipFraction, &g, x, row.clipfrac as f64);
            plots.push(
                Chart::ExplainedVariance,
                &g,
                x,
                row.explained_variance as f64,
            );
        }
    }
    status.new_rows.clear();
    for l in &mut arenas.lanes {
        l.new_rows.clear();
    }
    let now_s = time.elapsed_secs();
    if now_s - plots.sampled_s < SAMPLE_S || now_ms <= plots.sampled_sim_ms {
        return;
    }
    let dt_s = (now_ms - plots.sampled_sim_ms) as f64 / 1000.0;
    plots.sampled_s = now_s;
    plots.sampled_sim_ms = now_ms;
    let t = std::mem::take(&mut *tally);
    if driver.session.view().has_market() {
        plots.push(Chart::L402, &first, x, t.l402_served as f64 / dt_s);
    }
    // Every run is sampled when the first one is (the other arenas follow its clock).
    let runs = std::iter::once((first.clone(), engine)).chain(
        arenas
            .lanes
            .iter()
            .map(|l| (l.lane.label.clone(), l.lane.session.view())),
    );
    for (i, (line, view)) in runs.enumerate() {
        if plots.runs.len() <= i {
            plots.runs.resize_with(i + 1, RunMark::default);
        }
        // At the run's own clock: an arena catching up is drawn where it is.
        let x = view.now_ms() as f64 / 1000.0;
        sample_run(&mut plots, i, &line, view, x);
    }
}

/// One run's counters when it was last sampled, and each node's forwarded volume at recent
/// samples (oldest first), so each point covers only what happened since.
#[derive(Default)]
struct RunMark {
    succeeded: u64,
    failed: u64,
    fees_msat: u64,
    latencies: usize,
    forwarded: VecDeque<Vec<u64>>,
}

/// Success, fees and latency since run `i`'s last sample, and the concentration of what
/// it forwarded over the recent window, as points at `x` on line `line`.
fn sample_run(plots: &mut Plots, i: usize, line: &str, view: SessionView, x: f64) {
    let m = view.metrics();
    let mark = &plots.runs[i];
    let succeeded = m.succeeded.saturating_sub(mark.succeeded);
    let resolved = succeeded + m.failed.saturating_sub(mark.failed);
    let fees_msat = m.fees_paid_msat.saturating_sub(mark.fees_msat);
    let mut latencies = m.latencies_ms.get(mark.latencies..).unwrap_or(&[]).to_vec();
    // Concentration of recent forwarding, not of everything since the start (which
    // moves ever more slowly and hides a shift in where traffic goes).
    let nodes = view.network().node_bound();
    let now: Vec<u64> = (0..nodes)
        .map(|n| m.nodes.get(n).map_or(0, |s| s.forwarded_msat))
        .collect();
    let recent_gini = mark.forwarded.front().and_then(|oldest| {
        let mut recent: Vec<u64> = now
            .iter()
            .enumerate()
            .map(|(n, &v)| v.saturating_sub(oldest.get(n).copied().unwrap_or(0)))
            .collect();
        recent.iter().any(|&v| v > 0).then(|| gini(&mut recent))
    });
    if resolved > 0 {
        plots.push(Chart::Success, line, x, succeeded as f64 / resolved as f64);
    }
    if succeeded > 0 {
        let fees_sat = fees_msat as f64 / 1000.0 / succeeded as f64;
        plots.push(Chart::Fees, line, x, fees_sat);
        plots.push(
            Chart::Latency,
            line,
            x,
            percentile(&mut latencies, 95.0) as f64,
        );
    }
    if let Some(g) = recent_gini {
        plots.push(Chart::HubGini, line, x, g);
    }
    let mark = &mut plots.runs[i];
    mark.succeeded = m.succeeded;
    mark.failed = m.failed;
    mark.fees_msat = m.fees_paid_msat;
    mark.latencies = m.latencies_ms.len();
    mark.forwarded.push_back(now);
    if mark.forwarded.len() > HUB_WINDOW_SAMPLES {
        mark.forwarded.pop_front();
    }
}

/// A line's colour, the same on every chart: an arena's is its viewport's colour; an agent
/// group's is its nodes' colour; the whole network's is the text colour.
fn line_color(lab: &Lab, name: &str) -> egui::Color32 {
    if let Some(i) = (0..lab.arenas.len()).find(|&i| {
        let label = lab.arena_label(i);
        name == label || name.starts_with(&format!("{label}: "))
    }) {
        return theme::egui(theme::arena(i));
    }
    let group = lab
        .scene
        .agents
        .as_ref()
        .and_then(|a| a.groups.iter().position(|g| g.name == name));
    match group {
        Some(g) => theme::egui(theme::group(g)),
        None => theme::egui(theme::TEXT),
    }
}

/// Every chart's data as CSV: one row per point, charts and lines in a fixed order.
pub fn to_csv(plots: &Plots) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["chart", "line", "sim_s", "value"])?;
    for ((chart, line), points) in &plots.series {
        let line = if line == "all" { "network" } else { line };
        for [x, y] in points {
            w.write_record([chart.title(), line, &x.to_string(), &y.to_string()])?;
        }
    }
    Ok(w.into_inner()?)
}

/// `ExportCharts`: write the charts' data, atomically, and say where.
fn export(mut incoming: MessageReader<LabCommand>, plots: Res<Plots>, mut lab: ResMut<Lab>) {
    for command in incoming.read() {
        let LabCommand::ExportCharts(path) = command else {
            continue;
        };
        let written = to_csv(&plots).and_then(|bytes| {
            crate::files::write_atomically(path, &bytes).map_err(anyhow::Error::from)
        });
        let at = plots.sampled_sim_ms;
        match written {
            Ok(()) => lab.say(at, format!("charts -> {}", path.display()), false),
            Err(e) => lab.say(at, format!("{}: cannot write: {e}", path.display()), true),
        }
    }
}

/// Where the export button writes: beside the scene, `STEM-charts.csv`.
fn export_path(lab: &Lab) -> std::path::PathBuf {
    let stem = lab
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scene".into());
    lab.path.with_file_name(format!("{stem}-charts.csv"))
}

/// The charts: a toggle strip, then the visible charts side by side. Returns a command
/// when a button asked for one.
pub fn show(
    ui: &mut egui::Ui,
    plots: &mut Plots,
    lab: &Lab,
    l402: bool,
    height: f32,
) -> Option<LabCommand> {
    let applies = |c: Chart| (!c.is_ppo() || lab.has_agents()) && (c != Chart::L402 || l402);
    // Presenter mode shows only the lesson's charts, without the toggles.
    if lab.presenter {
        let kept: Vec<Chart> = lab
            .lesson_charts
            .iter()
            .copied()
            .filter(|&c| applies(c))
            .collect();
        charts_row(ui, plots, lab, &kept, height);
        return None;
    }
    let mut command = None;
    ui.horizontal_wrapped(|ui| {
        if ui
            .small_button("export CSV")
            .on_hover_text("write every chart's data beside the scene (STEM-charts.csv)")
            .clicked()
        {
            command = Some(LabCommand::ExportCharts(export_path(lab)));
        }
        for chart in Chart::ALL {
            if !applies(chart) {
                continue;
            }
            let mut on = !plots.hidden.contains(&chart);
            if ui.toggle_value(&mut on, chart.title()).changed() {
                if on {
                    plots.hidden.retain(|c| *c != chart);
                } else {
                    plots.hidden.push(chart);
                }
            }
        }
    });
    let visible: Vec<Chart> = Chart::ALL
        .into_iter()
        .filter(|c| !plots.hidden.contains(c) && applies(*c))
        .collect();
    charts_row(ui, plots, lab, &visible, height);
    command
}

/// The given charts side by side, each with its expand button.
fn charts_row(ui: &mut egui::Ui, plots: &mut Plots, lab: &Lab, visible: &[Chart], height: f32) {
    if visible.is_empty() {
        return;
    }
    let width = (ui.available_width() / visible.len() as f32 - 8.0).max(140.0);
    egui::ScrollArea::horizontal().show(ui, |ui| {
        ui.horizontal(|ui| {
            for &chart in visible {
                ui.vertical(|ui| {
                    ui.set_width(width);
                    ui.horizontal(|ui| {
                        ui.strong(chart.title());
                        if ui
                            .small_button("expand")
                            .on_hover_text("show this chart large")
                            .clicked()
                        {
                            plots.expanded = Some(chart);
                        }
                    });
                    chart_ui(ui, plots, lab, chart, width, height);
                });
            }
        });
    });
}

/// Marker lines a chart draws at most across its width, about.
const MARKER_GROUPS: f64 = 12.0;
/// Screen points kept clear between one marker label's end and the next label.
const MARKER_LABEL_GAP_PX: f32 = 6.0;

/// Markers as drawn: (sim seconds, label). A marker within `gap_s` of the first of the
/// group before it joins that group, whose label then counts the others. A scripted attack
/// has hundreds of timeline entries, whose lines would otherwise bury the chart.
fn marker_groups(markers: &[Marker], gap_s: f64) -> Vec<(f64, String)> {
    let mut sorted: Vec<&Marker> = markers.iter().collect();
    sorted.sort_by_key(|m| m.at_ms);
    let mut groups: Vec<(f64, &str, usize)> = Vec::new();
    for m in sorted {
        let x = m.at_ms as f64 / 1000.0;
        match groups.last_mut() {
            Some((start, _, n)) if x - *start < gap_s => *n += 1,
            _ => groups.push((x, &m.label, 1)),
        }
    }
    groups
        .into_iter()
        .map(|(x, label, n)| match n {
            1 => (x, label.to_owned()),
            _ => (x, format!("{label} (+{} more)", n - 1)),
        })
        .collect()
}

/// Where to draw each marker's label, left to right: to the right of its line, or to
/// the left where the chart's right edge `right_px` leaves no room, and only where it
/// clears the label drawn before it (`None`), so a burst of markers on a narrow chart
/// never piles its labels up. `markers` are (screen x, label width) in points, in order
/// of x.
fn label_anchors(markers: &[(f32, f32)], right_px: f32) -> Vec<Option<egui::Align2>> {
    let mut clear_from = f32::NEG_INFINITY;
    markers
        .iter()
        .map(|&(x, width)| {
            let (start, anchor) = if x + width <= right_px {
                (x, egui::Align2::LEFT_TOP)
            } else {
                (x - width, egui::Align2::RIGHT_TOP)
            };
            if start < clear_from {
                return None;
            }
            clear_from = start + width + MARKER_LABEL_GAP_PX;
            Some(anchor)
        })
        .collect()
}

/// One chart, its lines and the injected-event markers.
pub fn chart_ui(
    ui: &mut egui::Ui,
    plots: &Plots,
    lab: &Lab,
    chart: Chart,
    width: f32,
    height: f32,
) {
    let group = egui::Id::new("lnlab-plots-x");
    let mut plot = Plot::new(("chart", chart as u8, width as u32));
    if matches!(chart, Chart::Success | Chart::HubGini | Chart::ClipFraction) {
        plot = plot.include_y(0.0).include_y(1.0);
    }
    plot.width(width)
        .height(height)
        .legend(Legend::default().position(Corner::LeftTop))
        .link_axis(group, [true, false])
        .link_cursor(group, [true, false])
        .allow_scroll(false)
        .show_axes([true, true])
        .x_axis_label("sim s")
        .show(ui, |p| {
            for ((c, name), points) in &plots.series {
                if *c == chart {
                    let label = if name == "all" { "network" } else { name };
                    p.line(
                        Line::new(label, PlotPoints::from(points.clone()))
                            .color(line_color(lab, name)),
                    );
                }
            }
            // Markers stay out of the legend (no name); their label sits at the top of
            // the data (not of the plot bounds, which the label would then push up).
            let top = plots
                .series
                .iter()
                .filter(|((c, _), _)| *c == chart)
                .flat_map(|(_, points)| points.iter().map(|p| p[1]))
                .fold(f64::NEG_INFINITY, f64::max);
            let top = if matches!(chart, Chart::Success | Chart::HubGini | Chart::ClipFraction) {
                top.max(1.0)
            } else if top.is_finite() {
                top
            } else {
                0.0
            };
            let marker = theme::egui(theme::CONGESTION);
            // Every chart groups alike (their x axes are linked): over the whole run's span.
            let right_s = plots
                .series
                .values()
                .flat_map(|points| points.iter().map(|p| p[0]))
                .chain(lab.markers.iter().map(|m| m.at_ms as f64 / 1000.0))
                .fold(0.0, f64::max);
            let groups = marker_groups(&lab.markers, right_s / MARKER_GROUPS);
            // Labels only where they have room (at last frame's scale); the log names
            // every entry.
            let font = egui::TextStyle::Small.resolve(&p.ctx().global_style());
            let placed: Vec<(f32, f32)> = groups
                .iter()
                .map(|(x, label)| {
                    let width = p.ctx().fonts_mut(|f| {
                        f.layout_no_wrap(label.clone(), font.clone(), marker)
                            .size()
                            .x
                    });
                    (p.screen_from_plot(PlotPoint::new(*x, top)).x, width)
                })
                .collect();
            let right_px = p.transform().frame().right();
            for ((x, label), anchor) in groups.into_iter().zip(label_anchors(&placed, right_px)) {
                p.vline(VLine::new("", x).color(marker));
                if let Some(anchor) = anchor {
                    p.text(
                        Text::new("", PlotPoint::new(x, top), label)
                            .color(marker)
                            .anchor(anchor),
                    );
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(at_ms: u64, label: &str) -> Marker {
        Marker {
            at_ms,
            label: label.into(),
        }
    }

    /// A burst of timeline entries draws as one line counting the rest, apart markers
    /// keep their own lines, and the order they were recorded in does not matter.
    #[test]
    fn markers_close_together_share_one_line() {
        let markers = [
            marker(10_000, "jam a"),
            marker(12_000, "jam b"),
            marker(11_000, "jam c"),
            marker(60_000, "fee change"),
            marker(61_500, "jam d"),
            marker(200_000, "offline"),
        ];
        assert_eq!(
            marker_groups(&markers, 5.0),
            [
                (10.0, "jam a (+2 more)".to_owned()),
                (60.0, "fee change (+1 more)".to_owned()),
                (200.0, "offline".to_owned()),
            ]
        );
        let apart = marker_groups(&markers, 0.5);
        assert_eq!(apart.len(), markers.len());
        assert!(apart.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(marker_groups(&[], 5.0).is_empty());
    }

    /// A label is drawn only clear of the last one drawn: one that would overlap it is
    /// skipped, and the next one with room shows again. Near the right edge a label goes
    /// to the left of its line.
    #[test]
    fn marker_labels_show_only_where_they_have_room() {
        const LEFT_TOP: egui::Align2 = egui::Align2::LEFT_TOP;
        const RIGHT_TOP: egui::Align2 = egui::Align2::RIGHT_TOP;
        // Labels 100 points wide at x = 0, 50 (overlaps), 120 (clear of the first, with
        // the gap) and 200 (overlaps the third), on a wide chart.
        let markers = [(0.0, 100.0), (50.0, 100.0), (120.0, 100.0), (200.0, 30.0)];
        assert_eq!(
            label_anchors(&markers, 1000.0),
            [Some(LEFT_TOP), None, Some(LEFT_TOP), None]
        );
        // Spread wide, every label shows; the last, 50 points from the right edge, to the
        // left of its line.
        let wide = [(0.0, 100.0), (200.0, 100.0), (450.0, 100.0)];
        assert_eq!(
            label_anchors(&wide, 500.0),
            [Some(LEFT_TOP), Some(LEFT_TOP), Some(RIGHT_TOP)]
        );
        // Turned left, a label must still clear the one before it.
        assert_eq!(
            label_anchors(&[(0.0, 100.0), (180.0, 100.0)], 200.0),
            [Some(LEFT_TOP), None]
        );
        assert!(label_anchors(&[], 500.0).is_empty());
    }
}
