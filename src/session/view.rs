//! A read-only view of a running session, for observers: the lab's panels and drawing, the
//! state dump, and reports. It answers what the network, the clock, the counters, the
//! agents and the market look like now, and nothing through it can change the run (the
//! lab changes a run only through [`Session`] commands).

use super::Session;
use crate::l402::market::L402Report;
use crate::network::{Network, NodeId};
use crate::rl::agents::{Explained, MetricsRow};
use crate::rl::onward::Onward;
use crate::sim::engine::{Attempt, AttemptId, Payment, PaymentId};
use crate::sim::metrics::Metrics;

#[derive(Clone, Copy)]
pub struct SessionView<'a> {
    session: &'a Session,
}

impl<'a> SessionView<'a> {
    pub(super) fn new(session: &'a Session) -> Self {
        SessionView { session }
    }

    /// The simulated clock.
    pub fn now_ms(&self) -> u64 {
        self.session.engine.now_ms()
    }

    pub fn network(&self) -> &'a Network {
        self.session.engine.network()
    }

    /// Counters since the session started.
    pub fn metrics(&self) -> &'a Metrics {
        self.session.engine.metrics()
    }

    /// A payment the engine still keeps (open-ended runs forget old ones).
    pub fn payment(&self, id: PaymentId) -> Option<&'a Payment> {
        self.session.engine.payments().get(id.index())
    }

    /// The id of the oldest payment still kept.
    pub fn first_kept_payment(&self) -> usize {
        self.session.engine.payments().first_id()
    }

    pub fn attempt(&self, id: AttemptId) -> Option<&'a Attempt> {
        self.session.engine.attempt(id)
    }

    /// Events the engine has processed in this session.
    pub fn events_processed(&self) -> u64 {
        self.session.events_processed
    }

    /// Whether the run has agents at all.
    pub fn has_agents(&self) -> bool {
        self.session.agents.is_some()
    }

    /// The agent group deciding at `node`, if any.
    pub fn group_of(&self, node: NodeId) -> Option<usize> {
        self.session.agents.as_ref()?.group_of(node)
    }

    /// The agent groups' names, in group order.
    pub fn group_names(&self) -> Vec<&'a str> {
        self.session.agents.as_ref().map_or(Vec::new(), |a| {
            a.groups.iter().map(|g| g.name.as_str()).collect()
        })
    }

    /// Agent decisions made so far.
    pub fn decisions(&self) -> u64 {
        self.session.decisions()
    }

    /// Whether a PPO update is in progress.
    pub fn is_updating(&self) -> bool {
        self.session.is_updating()
    }

    /// Every finished update's metrics row, oldest first.
    pub fn update_rows(&self) -> &'a [MetricsRow] {
        self.session.agents.as_ref().map_or(&[], |a| &a.rows)
    }

    /// The agent at `node`'s policy for a payment of `amount_msat` to `destination` (see
    /// [`crate::rl::agents::Agents::explain`]); `onward` is the caller's own search cache.
    pub fn explain(
        &self,
        onward: &mut Onward,
        node: NodeId,
        destination: NodeId,
        amount_msat: u64,
    ) -> Option<Vec<Explained>> {
        self.session.agents.as_ref()?.explain(
            &self.session.engine,
            onward,
            node,
            destination,
            amount_msat,
        )
    }

    /// Whether the scene runs an L402 market.
    pub fn has_market(&self) -> bool {
        self.session.market.is_some()
    }

    /// The market's running counters.
    pub fn l402_report(&self) -> Option<&'a L402Report> {
        self.session.market.as_ref().map(|m| &m.report)
    }

    /// The scene's own timeline entry `index`, as the engine runs it.
    pub fn timeline_entry(&self, index: u32) -> Option<&'a crate::sim::command::TimedCommand> {
        self.session.engine.timeline().get(index as usize)
    }

    /// Commands the engine refused, with when.
    pub fn command_errors(&self) -> &'a [(u64, String)] {
        self.session.engine.command_errors()
    }
}
