//! Paid APIs in a running simulation: services (Aperture-like servers at nodes) and agent
//! clients that call them, get a 402, check the price against their caps, pay the
//! invoice through the simulated network (as an ordinary payment to the service node),
//! present `token:preimage`, and reuse the token until it expires or runs out of calls.
//! Failed payments are retried with a fresh challenge within the client's budget and
//! deadline. Every step is an [`L402Event`] tied to its payment, for the lab to draw, and
//! the counters end up in the run report under `l402`.

use super::demo::EPOCH_UNIX;
use super::header::{self, authorization};
use super::invoice;
use super::keys::node_secret;
use super::server::{Outcome, Server, ServiceSpec};
use crate::network::NodeId;
use crate::rng::{rng_for, stream};
use crate::sim::engine::{Engine, PaymentId, SimEvent};
use crate::sim::metrics::percentile;
use crate::sim::workload::{PaymentRequest, poisson_gap_ms};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Exp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An agent that pays for APIs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub node: u32,
    /// Names of the services it calls (picked at random per call).
    pub services: Vec<String>,
    /// Mean calls per simulated second.
    pub calls_per_s: f64,
    /// Most it pays for one token.
    pub max_price_msat: u64,
    /// Total it may spend, prices and routing fees together.
    pub budget_msat: u64,
    /// How long a call may take to get served, retries included.
    #[serde(default = "default_deadline")]
    pub deadline_ms: u64,
}

fn default_deadline() -> u64 {
    30_000
}

/// The scene's `l402` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L402Section {
    pub services: Vec<ServiceSpec>,
    pub clients: Vec<ClientSpec>,
}

impl L402Section {
    pub fn validate(&self, nodes: usize) -> Result<(), String> {
        for (i, s) in self.services.iter().enumerate() {
            let year_s = crate::limits::MAX_DURATION_MS / 1000;
            if s.node as usize >= nodes
                || s.price_msat == 0
                || s.capabilities.is_empty()
                || !(1..=year_s).contains(&s.token_lifetime_s)
                || s.calls_per_token == Some(0)
            {
                return Err(format!(
                    "l402.services[{i}] ({}): node out of range, zero price, no capabilities, \
                     token_lifetime_s outside 1..={year_s}, or calls_per_token 0",
                    s.name
                ));
            }
        }
        for (i, c) in self.clients.iter().enumerate() {
            if c.node as usize >= nodes || !(1e-6..=1e6).contains(&c.calls_per_s) {
                return Err(format!(
                    "l402.clients[{i}]: node out of range or calls_per_s outside 1e-6..=1e6"
                ));
            }
            if c.services.is_empty() {
                return Err(format!("l402.clients[{i}]: calls no service"));
            }
            if let Some(name) = c
                .services
                .iter()
                .find(|n| !self.services.iter().any(|s| &s.name == *n))
            {
                return Err(format!("l402.clients[{i}]: no service named `{name}`"));
            }
        }
        Ok(())
    }
}

/// What happened, tied to the payment it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum L402EventKind {
    Challenge,
    InvoicePaid,
    CredentialPresented,
    Served,
    Rejected(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct L402Event {
    pub at_ms: u64,
    pub client: NodeId,
    pub service: NodeId,
    pub payment: Option<PaymentId>,
    pub kind: L402EventKind,
}

/// The `l402` part of a run report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct L402Report {
    pub calls_requested: u64,
    pub challenged: u64,
    pub paid: u64,
    pub served: u64,
    /// Calls that ended unserved, by reason.
    pub rejected: BTreeMap<String, u64>,
    pub spent_price_msat: u64,
    pub spent_fees_msat: u64,
    /// From a call's first request to its first served response, for calls that had to
    /// pay (calls served from a cached token take no time).
    pub first_served_latency_ms_p50: u64,
    pub first_served_latency_ms_p95: u64,
    pub calls_served_per_sat_of_fees: f64,
    /// Per service: tokens paid for and calls served.
    pub services: BTreeMap<String, ServiceCounts>,
    /// What clients spent in all, prices and routing fees.
    pub clients_spent_msat: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCounts {
    pub paid: u64,
    pub served: u64,
}

struct Client {
    spec: ClientSpec,
    rng: ChaCha8Rng,
    /// Time between calls (validated rate, so always constructible).
    interarrival: Exp<f64>,
    next_ms: u64,
    spent_msat: u64,
    /// Price and fee room held for purchases in flight.
    reserved_msat: u64,
    /// Cached token and preimage per service name.
    tokens: BTreeMap<String, (String, [u8; 32])>,
}

/// A call waiting for its payment.
struct Pending {
    client: usize,
    service: usize,
    token: String,
    payment_hash: [u8; 32],
    price_msat: u64,
    reserved_msat: u64,
    started_ms: u64,
    /// Further calls to the same service that wait for this purchase (their start times).
    waiting: Vec<u64>,
}

pub struct Market {
    servers: Vec<Server>,
    clients: Vec<Client>,
    pending: BTreeMap<PaymentId, Pending>,
    pub events: Vec<L402Event>,
    pub report: L402Report,
    latencies: Vec<u64>,
}

impl Market {
    pub fn new(section: &L402Section, seed: u64) -> Self {
        let servers = section
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Server::new(
                    s.clone(),
                    node_secret(seed, s.node),
                    rng_for(seed ^ (i as u64) << 20, stream::L402_SERVER),
                )
            })
            .collect();
        let clients = section
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut rng = rng_for(seed ^ (i as u64) << 24, stream::L402_CLIENT);
                let interarrival = Exp::new(c.calls_per_s.max(1e-9)).expect("positive rate");
                let next_ms = poisson_gap_ms(&interarrival, &mut rng);
                Client {
                    spec: c.clone(),
                    rng,
                    interarrival,
                    next_ms,
                    spent_msat: 0,
                    reserved_msat: 0,
                    tokens: BTreeMap::new(),
                }
            })
            .collect();
        Market {
            servers,
            clients,
            pending: BTreeMap::new(),
            events: Vec::new(),
            report: L402Report::default(),
            latencies: Vec::new(),
        }
    }

    /// When the next call is due (`u64::MAX` if none).
    pub fn next_call_ms(&self) -> u64 {
        self.clients
            .iter()
            .map(|c| c.next_ms)
            .min()
            .unwrap_or(u64::MAX)
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    fn event(
        &mut self,
        at_ms: u64,
        client: usize,
        service: usize,
        payment: Option<PaymentId>,
        kind: L402EventKind,
    ) {
        self.events.push(L402Event {
            at_ms,
            client: NodeId(self.clients[client].spec.node),
            service: NodeId(self.servers[service].spec.node),
            payment,
            kind,
        });
    }

    fn reject(
        &mut self,
        at_ms: u64,
        client: usize,
        service: usize,
        payment: Option<PaymentId>,
        reason: &str,
    ) {
        *self.report.rejected.entry(reason.to_string()).or_default() += 1;
        self.event(
            at_ms,
            client,
            service,
            payment,
            L402EventKind::Rejected(reason.to_string()),
        );
    }

    /// Make every call due now. `open` is false once the run takes no new payments.
    pub fn make_calls(&mut self, engine: &mut Engine, open: bool) {
        let open = open && !run_over(engine);
        let now = engine.now_ms();
        for ci in 0..self.clients.len() {
            if self.clients[ci].next_ms > now {
                continue;
            }
            if !open {
                self.clients[ci].next_ms = u64::MAX;
                continue;
            }
            let c = &mut self.clients[ci];
            c.next_ms = now.saturating_add(poisson_gap_ms(&c.interarrival, &mut c.rng));
            let name = c.spec.services[c.rng.random_range(0..c.spec.services.len())].clone();
            let si = self
                .servers
                .iter()
                .position(|s| s.spec.name == name)
                .expect("validated");
            self.report.calls_requested += 1;
            self.call(engine, ci, si, now);
        }
    }

    /// One call: reuse the cached token, or take the challenge and pay.
    fn call(&mut self, engine: &mut Engine, ci: usize, si: usize, started_ms: u64) {
        let now = engine.now_ms();
        let name = self.servers[si].spec.name.clone();
        let capability = self.servers[si].spec.capabilities[0].clone();
        if let Some((token, preimage)) = self.clients[ci].tokens.get(&name).cloned() {
            self.event(now, ci, si, None, L402EventKind::CredentialPresented);
            let v = self.servers[si].verify(
                Some(&authorization(&token, &preimage)),
                &capability,
                unix(now),
            );
            if v.outcome == Outcome::Served {
                self.report.served += 1;
                self.report.services.entry(name).or_default().served += 1;
                self.event(now, ci, si, None, L402EventKind::Served);
                return;
            }
            // Expired or used up: drop it and buy a new one.
            self.clients[ci].tokens.remove(&name);
        }
        // A purchase for this service already in flight: wait for its token.
        if let Some(p) = self
            .pending
            .values_mut()
            .find(|p| p.client == ci && p.service == si)
        {
            p.waiting.push(started_ms);
            return;
        }
        self.challenge(engine, ci, si, started_ms, Vec::new());
    }

    /// Reject a call and every call waiting with it.
    fn reject_all(
        &mut self,
        at_ms: u64,
        ci: usize,
        si: usize,
        payment: Option<PaymentId>,
        calls: usize,
        reason: &str,
    ) {
        for _ in 0..calls {
            self.reject(at_ms, ci, si, payment, reason);
        }
    }

    fn challenge(
        &mut self,
        engine: &mut Engine,
        ci: usize,
        si: usize,
        started_ms: u64,
        waiting: Vec<u64>,
    ) {
        let now = engine.now_ms();
        let calls = 1 + waiting.len();
        if run_over(engine) {
            return self.reject_all(now, ci, si, None, calls, "run_over");
        }
        let issued = match self.servers[si].challenge(unix(now)) {
            Ok(i) => i,
            Err(e) => {
                return self.reject_all(now, ci, si, None, calls, &format!("challenge_error: {e}"));
            }
        };
        self.report.challenged += 1;
        self.event(now, ci, si, None, L402EventKind::Challenge);
        // The client reads the header and the invoice as a real client would.
        let parsed = header::parse_challenge(&issued.headers[issued.headers.len() - 1])
            .map_err(|e| e.0)
            .and_then(|c| invoice::parse(&c.invoice).map(|(_, d)| (c.token, d)));
        let (token, decoded) = match parsed {
            Ok(x) => x,
            Err(_) => return self.reject_all(now, ci, si, None, calls, "bad_challenge"),
        };
        let price = decoded.amount_msat.unwrap_or(0);
        let c = &self.clients[ci];
        if price > c.spec.max_price_msat {
            return self.reject_all(now, ci, si, None, calls, "over_price_cap");
        }
        // Hold the price and room for routing fees (the sender's fee limit) until the
        // payment resolves, so overlapping purchases cannot overspend the budget.
        let reserve = price + engine.routing_settings().fee_limit_msat(price);
        if c.spent_msat + c.reserved_msat + reserve > c.spec.budget_msat {
            return self.reject_all(now, ci, si, None, calls, "over_budget");
        }
        self.clients[ci].reserved_msat += reserve;
        let c = &self.clients[ci];
        let request = PaymentRequest {
            sender: NodeId(c.spec.node),
            receiver: NodeId(self.servers[si].spec.node),
            amount_msat: price,
        };
        let payment = engine.start_payment(request);
        self.pending.insert(
            payment,
            Pending {
                client: ci,
                service: si,
                token,
                payment_hash: issued.payment_hash,
                price_msat: price,
                reserved_msat: reserve,
                started_ms,
                waiting,
            },
        );
    }

    /// React to the engine's events: settled payments reveal preimages and the client
    /// presents its credential; failed ones are retried or given up.
    pub fn on_events(&mut self, engine: &mut Engine, events: &[SimEvent]) {
        for e in events {
            let (payment, succeeded, fees_msat) = match *e {
                SimEvent::PaymentSucceeded { payment, fees_msat } => (payment, true, fees_msat),
                SimEvent::PaymentFailed { payment, .. } => (payment, false, 0),
                _ => continue,
            };
            let Some(p) = self.pending.remove(&payment) else {
                continue;
            };
            let now = engine.now_ms();
            let (ci, si) = (p.client, p.service);
            self.clients[ci].reserved_msat -= p.reserved_msat;
            let calls = 1 + p.waiting.len();
            if !succeeded {
                if now.saturating_sub(p.started_ms) < self.clients[ci].spec.deadline_ms {
                    self.challenge(engine, ci, si, p.started_ms, p.waiting);
                } else {
                    self.reject_all(now, ci, si, Some(payment), calls, "payment_failed");
                }
                continue;
            }
            self.report.paid += 1;
            let name = self.servers[si].spec.name.clone();
            self.report.services.entry(name.clone()).or_default().paid += 1;
            self.report.spent_price_msat += p.price_msat;
            self.report.spent_fees_msat += fees_msat;
            self.clients[ci].spent_msat += p.price_msat + fees_msat;
            self.event(now, ci, si, Some(payment), L402EventKind::InvoicePaid);
            let Some(preimage) = self.servers[si].settle(&p.payment_hash) else {
                self.reject_all(now, ci, si, Some(payment), calls, "no_preimage");
                continue;
            };
            let capability = self.servers[si].spec.capabilities[0].clone();
            let deadline_ms = self.clients[ci].spec.deadline_ms;
            let mut cached = false;
            // The purchasing call first, then those that waited for the token.
            for started_ms in std::iter::once(p.started_ms).chain(p.waiting) {
                self.event(
                    now,
                    ci,
                    si,
                    Some(payment),
                    L402EventKind::CredentialPresented,
                );
                let auth = authorization(&p.token, &preimage);
                let v = self.servers[si].verify(Some(&auth), &capability, unix(now));
                if v.outcome != Outcome::Served {
                    self.reject(now, ci, si, Some(payment), v.outcome.name());
                    continue;
                }
                cached = true;
                if now - started_ms > deadline_ms {
                    self.reject(now, ci, si, Some(payment), "deadline_passed");
                    continue;
                }
                self.report.served += 1;
                self.report.services.entry(name.clone()).or_default().served += 1;
                self.latencies.push(now - started_ms);
                self.event(now, ci, si, Some(payment), L402EventKind::Served);
            }
            if cached {
                self.clients[ci].tokens.insert(name, (p.token, preimage));
            }
        }
    }

    /// Final counters.
    pub fn summary(&self) -> L402Report {
        let mut r = self.report.clone();
        let mut latencies = self.latencies.clone();
        r.first_served_latency_ms_p50 = percentile(&mut latencies, 50.0);
        r.first_served_latency_ms_p95 = percentile(&mut latencies, 95.0);
        let fee_sat = r.spent_fees_msat as f64 / 1000.0;
        r.calls_served_per_sat_of_fees = if fee_sat > 0.0 {
            r.served as f64 / fee_sat
        } else {
            0.0
        };
        r.clients_spent_msat = self.clients.iter().map(|c| c.spent_msat).sum();
        // Calls whose purchase never resolved (the run ended first).
        let unfinished: u64 = self
            .pending
            .values()
            .map(|p| 1 + p.waiting.len() as u64)
            .sum();
        if unfinished > 0 {
            *r.rejected.entry("unfinished".into()).or_default() += unfinished;
        }
        r
    }

    /// Calls served per token at most, for each service (None: unlimited).
    pub fn calls_per_token(&self) -> Vec<Option<u32>> {
        self.servers
            .iter()
            .map(|s| s.spec.calls_per_token)
            .collect()
    }
}

/// Whether the run takes no new payments any more (its payment limit is reached).
fn run_over(engine: &Engine) -> bool {
    engine
        .payment_limit()
        .is_some_and(|l| engine.metrics().payments >= l)
}

fn unix(now_ms: u64) -> u64 {
    EPOCH_UNIX + now_ms / 1000
}
