//! Sotto's integration tests: one binary, real servers: Prosody, and
//! ejabberd for every scenario that needs no Prosody-only module.

/// One scenario against both server implementations: a module named
/// after it, with a test `prosody` and a test `ejabberd`.
macro_rules! on_both_servers {
    ($(#[$meta:meta])* async fn $name:ident($server:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            async fn scenario($server: &'static dyn crate::harness::XmppServer) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn prosody() {
                scenario(crate::harness::shared()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ejabberd() {
                scenario(crate::ejabberd::shared_ejabberd()).await
            }
        }
    };
}

mod chat;
mod cli;
mod client;
mod crash;
mod delivery;
mod demo;
mod ejabberd;
mod extras;
mod fake_server;
mod handover;
mod harness;
mod hostile;
mod keychain;
mod knock;
mod load;
mod omemo;
mod omemo_bots;
mod omemo_chat;
mod peers;
mod proxy;
mod reconnect;
mod register;
mod rooms;
mod sandbox;
mod sync;
mod tls;
mod tor;
mod upgrade;
