//! What the engine reports: [`SimEvent`]s as it runs (kept only when tracing is on, for
//! drawing and for the L402 and training layers) and the [`Step`] outcome of one step.

use super::{AttemptId, Engine, PaymentId};
use crate::network::FailureReason;
use crate::network::{ChannelId, Direction, NodeId};

/// Outcome of [`Engine::step_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// An event was processed.
    Advanced,
    /// The next event needs a decision from outside (an agent) that has not been given.
    Blocked,
    /// Every requested payment resolved (or nothing is left to do).
    Done,
}

/// What the engine reports as it runs, for drawing and for L402 and training layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimEvent {
    PaymentStarted {
        payment: PaymentId,
    },
    HtlcAdded {
        attempt: AttemptId,
        hop: u32,
        channel: ChannelId,
        direction: Direction,
    },
    HtlcSettled {
        attempt: AttemptId,
        hop: u32,
    },
    /// It names its channel too: a local retry may drop the hop from the attempt at once.
    HtlcFailed {
        attempt: AttemptId,
        hop: u32,
        channel: ChannelId,
        direction: Direction,
    },
    AttemptFailed {
        attempt: AttemptId,
        reason: FailureReason,
        failing_node: Option<NodeId>,
    },
    /// A failure came back to `node`, which retries locally ([`Engine::set_local_retries`]):
    /// the attempt's hops from `hop` on are gone and `node` decides again.
    RetriedLocally {
        attempt: AttemptId,
        hop: u32,
        node: NodeId,
    },
    /// The sender learnt how an attempt ended (after the settle or failure came back).
    AttemptResolved {
        attempt: AttemptId,
        succeeded: bool,
        at_ms: u64,
    },
    PaymentSucceeded {
        payment: PaymentId,
        fees_msat: u64,
    },
    PaymentFailed {
        payment: PaymentId,
        reason: FailureReason,
    },
    CommandApplied {
        at_ms: u64,
    },
    /// The scene's own timeline entry `index` was applied (after its `CommandApplied`).
    TimelineApplied {
        index: u32,
        at_ms: u64,
    },
}

impl Engine {
    pub fn drain_trace(&mut self) -> Vec<SimEvent> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    pub(super) fn emit(&mut self, e: SimEvent) {
        if let Some(t) = &mut self.trace {
            t.push(e);
        }
    }
}
