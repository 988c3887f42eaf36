//! lnlab: a lab where agents learn to route Lightning payments and pay for APIs with L402.
//!
//! The engine (`network`, `routing`, `sim`, `rl`, `l402`, `scene`, `session`) is plain Rust
//! with no Bevy types, so it can be tested and benchmarked headless. `ecs` wraps it in Bevy
//! plugins, and `cli` is a thin shell over it.
//!
//! Data flows one way: a scene builds a session; the session runs the engine, asks the
//! routers and agents for decisions, and collects metrics; the lab draws them and sends
//! commands back through the session.
//!
//! # Layers
//! Each module imports only from the modules listed beside it (a test in `layering.rs`
//! checks every `crate::` path against this table; test modules may import anything):
//!
//! | module | may import |
//! |---|---|
//! | `rng`, `limits`, `files` | nothing of the crate |
//! | `network` | `rng`, `limits` |
//! | `routing` | `network`, `rng`, `limits` |
//! | `sim` | `routing`, `network`, `rng`, `limits` |
//! | `rl` | `sim`, `routing`, `network`, `rng`, `limits`, `files` |
//! | `l402` | `sim`, `network`, `rng`, `limits` |
//! | `scene` | `rl`, `l402`, `sim`, `routing`, `network`, `rng`, `limits`, `files` |
//! | `session` | `scene`, `rl`, `l402`, `sim`, `routing`, `network`, `rng`, `limits`, `files` |
//! | `ecs` | `session`, `scene`, `rl`, `l402`, `sim`, `routing`, `network`, `files` |
//! | `cli` | anything |
//!
//! - `rng`: seeded random streams, every stream tag registered; `limits`: bounds on user
//!   values; `files`: atomic writes.
//! - `network`: nodes, channels, HTLC slots, gossip view, failure reasons, delays, layout.
//! - `routing`: the router trait, path finding, the baseline routers, routing settings.
//! - `sim`: the discrete-event engine, workload, commands, timing settings, metrics.
//! - `rl`: PPO agents, features, networks, checkpoints.
//! - `l402`: invoices, macaroons, headers, servers, and the market of paying clients.
//! - `scene`: the file format for a whole experiment, graph import and generation.
//! - `session`: one running session (engine, agents, market), headless runs and reports.
//! - `ecs`: the Bevy plugins (simulation, headless-capable; the desktop lab).
//! - `cli`: the command line.

mod cli;
mod ecs;
mod files;
mod l402;
mod limits;
mod network;
mod rl;
mod rng;
mod routing;
mod scene;
mod session;
mod sim;

#[cfg(test)]
mod layering;

// The public surface: what the binary, the tests and a program embedding lnlab use.

/// The command line (`lnlab ...`); returns the process exit code.
pub use cli::main as run_cli;

/// Scenes: the file format for a whole experiment, and graphs in and out of it.
pub use scene::build::{build_engine, build_network};
pub use scene::generate::{GenerateParams, GraphModel, generate as generate_scene};
pub use scene::import::{
    ImportError, ImportSummary, import_describegraph, import_describegraph_str,
};
pub use scene::io::to_string as scene_to_ron;
pub use scene::{FORMAT_VERSION, Scene, SceneChannel, SceneError, SceneNode};
pub use scene::{load as load_scene, parse as parse_scene, save as save_scene};

/// Running a scene: sessions, headless runs, reports.
pub use session::{
    Budget, NodeReport, PolicyChoice, Progress, Report, RunOptions, RunOutput, Session,
    SessionOptions, SessionView, l402_demo, pay_once, run_scene,
};

/// The network model.
pub use network::{
    Channel, ChannelId, ChannelPolicy, DelayModel, Direction, FailureReason, GossipView,
    HalfChannel, LiquidityModel, Network, Node, NodeId, PubKey, Role, ShortChannelId,
};

/// Routing: the router trait, the baselines, and what a deciding node can know.
pub use routing::cache::{amount_bucket, bucket_amount_msat};
pub use routing::settings::{DEFAULT_MAX_PARTS, DEFAULT_MIN_PART_MSAT, MPP_TIMEOUT_MS};
pub use routing::{
    Decision, DecisionContext, Route, RouteHop, Router, RouterKind, RoutingSettings, Unroutable,
    UnroutableCounts, build_router,
};

/// The discrete-event engine and what it takes and reports.
pub use sim::SimSettings;
pub use sim::command::{Command, TimedCommand};
pub use sim::engine::{
    Attempt, AttemptId, CommandError, Engine, Hop, Parts, Payment, PaymentId, PaymentStatus,
    Setup as EngineSetup, SimEvent,
};
pub use sim::metrics::{Metrics, NodeStats, PaymentRecord};
pub use sim::workload::{AmountModel, EndpointModel, PaymentRequest, Workload};

/// PPO agents and their checkpoints.
pub use rl::agents::{Agents, Explained, MetricsRow, PaymentWindow};
pub use rl::config::{
    AgentGroup, AgentsSection, Credit, FeeBudget, PpoConfig, RewardMode, RewardWeights,
};
pub use rl::net::parameters as policy_parameters;
pub use rl::onward::Onward;
pub use rl::policy::{CheckpointError, Policy, Sidecar, sidecar_path};

/// L402: invoices, tokens, headers, services and the market.
pub use l402::demo::DemoReport;
pub use l402::header::{
    Challenge, ChallengeForm, Credential, HeaderError, authorization, challenge_headers,
    hex as to_hex, parse_authorization, parse_challenge,
};
pub use l402::invoice::parse as parse_invoice;
pub use l402::keys::{node_public, node_secret};
pub use l402::market::{ClientSpec, L402Event, L402EventKind, L402Report, L402Section};
pub use l402::server::{Outcome, Server, ServiceSpec};

/// The Bevy plugins: simulation and training (headless-capable) and the desktop lab.
pub use ecs::lab::theme as lab_theme;
pub use ecs::lab::{LabCommand, LabOptions, Lesson, LessonStep, Speed, Wait, run as run_lab};
pub use ecs::sim::{SimDriver, SimPlugin, SimSet, SimStatus, headless_app, run_headless};
