//! Sotto's core: everything but the front ends.
//!
//! Front ends (the iced GUI and the CLI, both in the binary) talk to the core
//! through [`engine::Engine`]: they send [`engine::Command`]s and receive
//! [`engine::Event`]s. Only `xmpp` speaks XMPP, only `secrets` touches the OS
//! keychain.

pub mod config;
pub mod engine;
pub mod fingerprint;
pub mod knock;
pub mod logging;
pub mod model;
pub mod paths;
pub mod sandbox;
pub mod secrets;
pub mod store;
pub mod tor;
pub mod xmpp;

pub use engine::{Command, Engine, Event};
