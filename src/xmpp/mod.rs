//! XMPP on the wire: connecting securely, logging in, and turning stanzas
//! into Sotto's events. Nothing outside this module sees XML.

mod backoff;
mod connect;
mod convert;
mod nonza;
mod pep;
mod register;
mod session;
mod srv;
mod tls;

pub use backoff::Backoff;
pub use connect::{ConnectError, Route};
pub use register::RegisterError;
pub use session::{CatchUpFrom, RetryPolicy, new_id};
pub(crate) use session::{SessionCommand, SessionParams, run_session};
pub use srv::{Candidate, SrvRecord, order_srv};
