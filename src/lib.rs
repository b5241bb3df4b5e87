//! Sotto's core: everything but the front ends.
//!
//! Front ends (the iced GUI and the CLI, both in the binary) talk to the core
//! through [`engine::Engine`]: they send [`engine::Command`]s, receive
//! [`engine::Event`]s, and read what they show through the engine's
//! read-only [`store::Reader`]. Only `xmpp` speaks XMPP, only `store` speaks
//! SQL, only `keychain` touches the OS keychain (for `secrets`, which keeps
//! passwords, and for the store's own key). `omemo` is the OMEMO protocol
//! core (X3DH, Double Ratchet, payload encryption): bytes in, bytes out, no
//! I/O and no XML.

pub mod address;
pub mod config;
pub mod engine;
pub mod fingerprint;
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod fuzzing;
pub mod handover;
pub mod instance;
pub mod keychain;
pub mod knock;
pub mod logging;
pub mod model;
pub mod omemo;
pub mod paths;
pub mod sandbox;
pub mod secrets;
pub mod store;
pub mod tor;
pub mod uri;
pub mod xmpp;

pub use engine::{Command, Engine, Event};
