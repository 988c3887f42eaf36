//! `lnlab l402 demo`: one complete paid call through the simulated network, told as an
//! HTTP transcript — request, 402 with its `WWW-Authenticate` header, the decoded invoice,
//! the route and fees, the preimage, the `Authorization` header, the verification steps —
//! then the same call with a tampered token and with a wrong preimage, both rejected.

use super::header::{self, ChallengeForm, authorization};
use super::invoice;
use super::keys::node_secret;
use super::server::{Server, ServiceSpec};
use super::token;
use crate::network::{NodeId, Role};
use crate::routing::{RouterKind, build_router};
use crate::scene::Scene;
use crate::scene::build::rng_for;
use crate::sim::engine::{Engine, PaymentStatus};
use crate::sim::workload::PaymentRequest;
use serde::Serialize;

/// Simulated time 0 is this Unix time (2026-01-01), so invoices carry plausible dates.
pub const EPOCH_UNIX: u64 = 1_767_225_600;

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub step: String,
    pub ok: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct DemoReport {
    pub challenge_header: String,
    pub invoice: String,
    pub authorization_header: String,
    pub macaroon_base64: String,
    pub payment_hash_hex: String,
    pub route: Vec<String>,
    pub fees_msat: u64,
    pub verification: Vec<Step>,
    pub status: u16,
    pub tampered_status: u16,
    pub wrong_preimage_status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_key_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preimage_hex: Option<String>,
    #[serde(skip)]
    pub transcript: String,
}

/// Pick the client and the service: the first API service node and the first client node
/// (falling back to the last and the first node).
fn endpoints(scene: &Scene) -> Result<(u32, u32), String> {
    if scene.nodes.len() < 2 {
        return Err("the scene needs at least two nodes".into());
    }
    let find = |role: Role| {
        scene
            .nodes
            .iter()
            .position(|n| n.role == role)
            .map(|i| i as u32)
    };
    let service = find(Role::ApiService).unwrap_or(scene.nodes.len() as u32 - 1);
    let client = find(Role::Client)
        .filter(|&c| c != service)
        .unwrap_or(if service == 0 { 1 } else { 0 });
    Ok((client, service))
}

pub fn run(scene: &Scene, reveal_secrets: bool) -> Result<DemoReport, String> {
    let (client, service_node) = endpoints(scene)?;
    let alias = |i: u32| scene.nodes[i as usize].alias.clone();
    let spec = ServiceSpec {
        name: "weather".into(),
        node: service_node,
        price_msat: 20_000,
        tier: 0,
        capabilities: vec!["forecast".into()],
        token_lifetime_s: 3_600,
        calls_per_token: None,
        form: ChallengeForm::Aperture,
        constraints: vec![("forecast_max_days".into(), "7".into())],
    };
    let mut server = Server::new(
        spec,
        node_secret(scene.seed, service_node),
        rng_for(scene.seed, 0x1402),
    );
    let mut t = String::new();
    let mut say = |s: String| {
        t.push_str(&s);
        t.push('\n');
    };
    let request = format!(
        "GET /forecast HTTP/1.1\nHost: {}.lnlab",
        alias(service_node)
    );
    say(format!(
        "--> {} asks {} for a forecast\n{request}\n",
        alias(client),
        alias(service_node)
    ));

    let issued = server.challenge(EPOCH_UNIX)?;
    say("<-- HTTP/1.1 402 Payment Required".into());
    for h in &issued.headers {
        say(format!("WWW-Authenticate: {h}"));
    }
    let challenge =
        header::parse_challenge(&issued.headers[issued.headers.len() - 1]).map_err(|e| e.0)?;
    let (_, decoded) = invoice::parse(&challenge.invoice)?;
    say(format!(
        "\ninvoice: {} msat, payment hash {}, payee {}, expires after {} s, \"{}\"",
        decoded.amount_msat.unwrap_or(0),
        decoded.payment_hash_hex,
        decoded.payee_hex,
        decoded.expiry_secs,
        decoded.description
    ));

    // Pay it through the simulated network.
    let kind = RouterKind::parse(&scene.routing.policy)?;
    let mut engine = Engine::new(scene, scene.seed, build_router(kind, scene.seed))?;
    engine.set_payment_limit(Some(1));
    let pid = engine.start_payment(PaymentRequest {
        sender: NodeId(client),
        receiver: NodeId(service_node),
        amount_msat: decoded.amount_msat.unwrap_or(0),
    });
    engine.run_to_completion();
    let payment = &engine.payments()[pid.index()];
    let fees_msat = match payment.status {
        PaymentStatus::Succeeded { fees_msat, .. } => fees_msat,
        PaymentStatus::Failed { reason, .. } => {
            return Err(format!("the payment failed: {reason}"));
        }
        PaymentStatus::InFlight => return Err("the payment did not resolve".into()),
    };
    let attempt = engine
        .attempt(payment.last_attempt.expect("an attempt"))
        .expect("exists");
    let route: Vec<String> = attempt.nodes.iter().map(|n| alias(n.0)).collect();
    let preimage = server
        .settle(&issued.payment_hash)
        .ok_or("the service has no preimage for this payment")?;
    say(format!(
        "\npaid over {} ({} hops, {} msat in fees, {} attempt(s)); the settle revealed the preimage{}",
        route.join(" -> "),
        route.len() - 1,
        fees_msat,
        payment.attempts,
        if reveal_secrets {
            format!(" {}", header::hex(&preimage))
        } else {
            " (hidden; --reveal-secrets shows it)".into()
        }
    ));

    let auth = authorization(&challenge.token, &preimage);
    say(format!(
        "\n--> retry with the credential\n{request}\nAuthorization: {}",
        redact(&auth, reveal_secrets)
    ));
    let now = EPOCH_UNIX + engine.now_ms() / 1000;
    let v = server.verify(Some(&auth), "forecast", now);
    say(format!("\nverification ({}):", "Aperture's order"));
    for (step, ok) in &v.steps {
        say(format!("  [{}] {step}", if *ok { "ok" } else { "FAIL" }));
    }
    say(format!(
        "<-- HTTP/1.1 {} {}  ({})",
        v.outcome.status(),
        reason(v.outcome.status()),
        v.outcome.explain()
    ));

    // The same call with a tampered token: caveats widened and re-signed without the key.
    let mac = token::decode(&challenge.token)?;
    let id = token::Identifier::decode(mac.identifier())?;
    let mut preds: Vec<String> = token::caveats(&mac)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    preds.push("weather_capabilities=forecast,history".into());
    let tampered = token::encode(&token::mint(&[0u8; 32], &id, &preds)?)?;
    let tv = server.verify(Some(&authorization(&tampered, &preimage)), "forecast", now);
    say(format!(
        "\n--> same call, tampered token\n<-- HTTP/1.1 {} {}  ({})",
        tv.outcome.status(),
        reason(tv.outcome.status()),
        tv.outcome.explain()
    ));
    let wrong = [0x5au8; 32];
    let wv = server.verify(
        Some(&authorization(&challenge.token, &wrong)),
        "forecast",
        now,
    );
    say(format!(
        "\n--> same call, wrong preimage\n<-- HTTP/1.1 {} {}  ({})",
        wv.outcome.status(),
        reason(wv.outcome.status()),
        wv.outcome.explain()
    ));

    Ok(DemoReport {
        challenge_header: issued.headers[0].clone(),
        invoice: challenge.invoice.clone(),
        authorization_header: redact(&auth, reveal_secrets),
        macaroon_base64: challenge.token.clone(),
        payment_hash_hex: decoded.payment_hash_hex.clone(),
        route,
        fees_msat,
        verification: v
            .steps
            .iter()
            .map(|(s, ok)| Step {
                step: s.clone(),
                ok: *ok,
            })
            .collect(),
        status: v.outcome.status(),
        tampered_status: tv.outcome.status(),
        wrong_preimage_status: wv.outcome.status(),
        root_key_hex: reveal_secrets
            .then(|| {
                server
                    .root_key_of(&challenge.token)
                    .map(|k| header::hex(&k))
            })
            .flatten(),
        preimage_hex: reveal_secrets.then(|| header::hex(&preimage)),
        transcript: t,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        402 => "Payment Required",
        _ => "",
    }
}

/// Hide the preimage in printed and written headers unless secrets are revealed.
fn redact(auth: &str, reveal: bool) -> String {
    match (reveal, auth.rsplit_once(':')) {
        (false, Some((head, _))) => format!("{head}:<preimage>"),
        _ => auth.to_string(),
    }
}
