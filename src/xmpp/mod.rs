//! XMPP on the wire: connecting securely, logging in, and turning stanzas
//! into Sotto's events. Nothing outside this module sees XML, and this
//! module knows nothing of who listens: sessions report
//! [`SessionEvent`]s to their owner.

mod backoff;
pub mod bookmarks;
mod connect;
pub(crate) mod convert;
pub mod muc;
mod nonza;
pub mod omemo;
pub(crate) mod pep;
mod register;
mod sasl;
mod session;
mod srv;
mod tls;

#[cfg(any(fuzzing, test))]
pub(crate) use session::iq;

pub use backoff::Backoff;
pub use connect::{ConnectError, Route, server_end_point};
pub use register::RegisterError;
pub use sasl::{MAX_ITERATIONS, SaslError};
pub use session::{
    CatchUpFrom, Delivery, OmemoEvent, RetryPolicy, SealedKind, SealedMessage, SessionEvent, new_id,
};
pub(crate) use session::{SessionCommand, SessionParams, run_session};
pub use srv::{Candidate, SrvRecord, order_srv};
