//! Tessera's risk engine: what a sign-in attempt looks like (signals), how it compares with the
//! account's usual behaviour (a profile learned from successful sign-ins, with decay), how fast
//! a source or a password is moving (velocity windows), and the transparent score, reasons and
//! decision (`allow`, `challenge`, `block`) that follow from a tenant's [`RiskSettings`].
//!
//! Pure domain logic: no HTTP, no SQL, no clock. Time comes with each [`Attempt`]. The geo-IP
//! database is a port ([`geo::GeoLookup`]), read from a MaxMind-format `.mmdb` by
//! [`geo::MmdbGeo`]; [`mmdb`] writes such files for tests and the synthetic traffic generator
//! ([`sim`]). [`backtest`] replays recorded sign-in events (`tessera risk evaluate`).
//! See docs/risk.md.

pub mod backtest;
pub mod engine;
pub mod geo;
pub mod lists;
pub mod mmdb;
pub mod profile;
pub mod settings;
pub mod signal;
pub mod sim;
pub mod ua;
pub mod velocity;

pub use engine::{Attempt, Observation, Outcome, RiskEngine, RiskState, StateLimits};
pub use settings::{ProofOfWork, ProofOfWorkMode, RiskMode, RiskSettings, SettingsError};
pub use signal::{Assessment, Decision, Reason, Signal, Stage};

/// Time as the engine sees it.
pub type Timestamp = time::OffsetDateTime;
