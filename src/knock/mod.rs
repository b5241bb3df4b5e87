//! Knocks: waking an offline phone contact through the push relay it
//! published (see `shared/docs/knock-protocol.md`). Push info in, HTTP
//! out; the only module that speaks HTTP.

mod push_info;
mod relay;

pub use push_info::{MAX_TOKENS, PushInfo, PushInfoError, Token};
pub use relay::{KnockError, KnockPolicy, KnockReport, KnockRoute, knock, knock_via};

/// A relay is never knocked twice for the same contact within this, so
/// nobody can hammer it (the relay itself does no rate limiting).
pub const COOLDOWN_MS: i64 = 30_000;

/// How long to wait before `contact` may be knocked again, if at all.
pub fn cooldown_left(last_knock_at: Option<i64>, now_ms: i64) -> Option<i64> {
    let left = COOLDOWN_MS - (now_ms - last_knock_at?);
    (left > 0).then_some(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldown_counts_from_the_last_knock() {
        assert_eq!(cooldown_left(None, 1_000_000), None);
        assert_eq!(cooldown_left(Some(1_000_000), 1_010_000), Some(20_000));
        assert_eq!(cooldown_left(Some(1_000_000), 1_030_000), None);
    }
}
