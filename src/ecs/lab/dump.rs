//! The engine's state as JSON (`--dump-state OUT.json`, written on exit): the clock,
//! run metrics, every channel's balances, HTLCs and slots, every node's status and
//! statistics, the commands applied from the lab, the engine's refused commands, the
//! busiest channels of the last minute (the traffic overlay's data), and the agents' and
//! L402 counters, and each arena's run report. Tests check scripted runs against it.

use super::state::Lab;
use crate::ecs::sim::SimDriver;
use crate::network::Direction;
use serde_json::{Value, json};

pub fn state(lab: &Lab, driver: &SimDriver, arenas: &super::arena::Arenas) -> Value {
    let t = driver.session.view();
    let engine = t;
    let net = engine.network();
    let m = engine.metrics();
    let channels: Vec<Value> = net
        .channels()
        .map(|(_, a, b, ch)| {
            let side = |d: Direction| {
                let s = ch.side(d);
                json!({
                    "balance_msat": s.balance_msat,
                    "in_flight_msat": s.in_flight_msat(),
                    "htlcs": s.slots_used(),
                    "slots_free": s.slots_free(),
                    "disabled": s.policy.disabled,
                    "fee_base_msat": s.policy.fee_base_msat,
                    "fee_rate_ppm": s.policy.fee_rate_ppm,
                })
            };
            json!({
                "scid": ch.scid.to_string(),
                "node1": a.0,
                "node2": b.0,
                "capacity_sat": ch.capacity_sat,
                "closing": ch.closing,
                "forward": side(Direction::Forward),
                "backward": side(Direction::Backward),
            })
        })
        .collect();
    let nodes: Vec<Value> = net
        .nodes()
        .map(|(id, n)| {
            let s = m.nodes.get(id.index()).copied().unwrap_or_default();
            json!({
                "id": id.0,
                "alias": n.alias,
                "online": n.online,
                "agent_group": t.group_of(id),
                "forwarded_msat": s.forwarded_msat,
                "fees_earned_msat": s.fees_earned_msat,
                "failures_caused": s.failures_caused,
            })
        })
        .collect();
    let applied: Vec<Value> = lab
        .markers
        .iter()
        .map(|mk| json!({"at_ms": mk.at_ms, "label": mk.label}))
        .collect();
    let refused: Vec<Value> = engine
        .command_errors()
        .iter()
        .map(|(at, e)| json!({"at_ms": at, "error": e}))
        .collect();
    let lab_errors: Vec<&str> = lab
        .log
        .iter()
        .filter(|l| l.error)
        .map(|l| l.text.as_str())
        .collect();
    let centrality = crate::sim::hubs::betweenness_if_small(net);
    let hubs: Vec<Value> =
        crate::sim::hubs::ranking(net, m, centrality.as_deref().unwrap_or(&[]), 10)
            .into_iter()
            .map(|r| {
                json!({
                    "node": r.node.0,
                    "alias": r.alias,
                    "forwarded_share": r.forwarded_share,
                    "fees_earned_msat": r.fees_earned_msat,
                    "betweenness": centrality.as_ref().map(|_| r.betweenness),
                })
            })
            .collect();
    let busiest: Vec<Value> = lab
        .traffic
        .busiest(5)
        .into_iter()
        .filter_map(|(id, msat)| {
            let ch = net.channel(id)?;
            Some(json!({"scid": ch.scid.to_string(), "msat": msat}))
        })
        .collect();
    // Each arena's report as `lnlab run --json` writes it, without the wall-clock fields.
    let arenas: Vec<Value> = arenas
        .scores
        .iter()
        .map(|row| json!({"label": row.label, "report": row.report.without_timing()}))
        .collect();
    json!({
        "scene": lab.scene.name,
        "arenas": arenas,
        "traffic": {"on": lab.traffic.on, "window_ms": super::traffic::WINDOW_MS, "busiest": busiest},
        "scene_path": lab.path.display().to_string(),
        "sim_ms": engine.now_ms(),
        "events_processed": t.events_processed(),
        "paused": lab.paused,
        "speed": lab.speed.label(),
        "policy": lab.policy,
        "unsaved_changes": lab.dirty,
        "caption": lab.caption,
        "lesson_charts": lab.lesson_charts,
        "lesson": lab.lesson,
        "lessons": lab.lessons,
        "selection": lab.selection,
        "metrics": {
            "payments": m.payments,
            "succeeded": m.succeeded,
            "failed": m.failed,
            "success_rate": m.success_rate(),
            "fees_paid_msat": m.fees_paid_msat,
            "hub_gini": m.hub_gini(net.node_count()),
        },
        "agents": {
            "groups": t.group_names(),
            "mode": lab.agents.label(),
            "decisions": t.decisions(),
            "updates": t.update_rows().len(),
        },
        "l402": t.l402_report().map(|r| serde_json::to_value(r).ok()),
        "hubs": hubs,
        "applied_commands": applied,
        "refused_commands": refused,
        "lab_errors": lab_errors,
        "channels": channels,
        "nodes": nodes,
    })
}
