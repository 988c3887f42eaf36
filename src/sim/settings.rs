//! Timing of the simulated network: the scene's `sim` section (default processing delay,
//! gossip propagation delay), and the checks it makes of itself.

use crate::limits::MAX_DURATION_MS;
use crate::network::DelayModel;
use serde::{Deserialize, Serialize};

/// Timing of the simulated network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimSettings {
    /// Default per-node processing delay before forwarding or relaying a resolution.
    pub processing_delay: DelayModel,
    /// How long a policy or topology change takes to reach the other nodes' gossip view.
    pub gossip_delay_ms: u64,
}

impl SimSettings {
    /// Ranges the parser cannot check; errors name the field (`sim.gossip_delay_ms ...`).
    pub fn validate(&self) -> Result<(), String> {
        self.processing_delay
            .validate()
            .map_err(|e| format!("sim.processing_delay: {e}"))?;
        if self.gossip_delay_ms > MAX_DURATION_MS {
            return Err(format!(
                "sim.gossip_delay_ms {} is longer than a year",
                self.gossip_delay_ms
            ));
        }
        Ok(())
    }
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            processing_delay: DelayModel::default(),
            gossip_delay_ms: 60_000,
        }
    }
}
