//! Knocks: waking an offline phone contact through the push relay it
//! published (see `shared/docs/knock-protocol.md`). Push info in, HTTP
//! out; the only module that speaks HTTP.

mod push_info;
mod relay;

pub use push_info::{MAX_TOKENS, PushInfo, PushInfoError, Token};
pub use relay::{KnockError, KnockPolicy, KnockReport, knock};
