//! Sotto's integration tests: one binary, a real Prosody.

mod chat;
mod cli;
mod client;
mod crash;
mod extras;
mod harness;
mod keychain;
mod knock;
mod reconnect;
mod register;
mod sandbox;
mod sync;
mod tls;
mod tor;
