//! Logging with `tracing`. Sotto's own code never logs secrets or message
//! bodies; third-party protocol crates can (they debug-print stanzas), so
//! they are held to errors whatever `RUST_LOG` asks for.

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;

/// Crates whose debug output may contain stanzas, and so message bodies.
const WIRE_CRATES: &[&str] = &[
    "tokio_xmpp",
    "xmpp_parsers",
    "xso",
    "minidom",
    "rxml",
    "sasl",
    "tokio_rustls",
    "rustls",
];

fn is_wire_noise(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    *meta.level() > Level::ERROR
        && WIRE_CRATES.iter().any(|c| {
            target == *c
                || target
                    .strip_prefix(c)
                    .is_some_and(|rest| rest.starts_with("::"))
        })
}

/// Installs the global subscriber: `RUST_LOG` if set, else warnings, or
/// more with each `-v`. Logs go to stderr so stdout stays for output.
pub fn init(verbosity: u8) {
    let default = match verbosity {
        // The certificate verifier's own error line repeats what Sotto
        // reports itself (with the certificate and a pin offer).
        0 => "warn,rustls_platform_verifier=off",
        1 => "info,sotto=info",
        2 => "info,sotto=debug",
        _ => "debug,sotto=trace",
    };
    let filter = if verbosity == 0 {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
    } else {
        EnvFilter::new(default)
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(verbosity > 1)
        .with_filter(filter)
        .with_filter(filter_fn(|meta| !is_wire_noise(meta)));
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_crates_are_capped_at_error() {
        struct Probe;
        impl tracing::Callsite for Probe {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!()
            }
        }
        let make = |target: &'static str, level: Level| {
            Metadata::new(
                "probe",
                target,
                level,
                None,
                None,
                None,
                tracing::field::FieldSet::new(&[], tracing::callsite::Identifier(&Probe)),
                tracing::metadata::Kind::EVENT,
            )
        };
        assert!(is_wire_noise(&make(
            "tokio_xmpp::stanzastream",
            Level::DEBUG
        )));
        assert!(is_wire_noise(&make("xso", Level::WARN)));
        assert!(!is_wire_noise(&make("tokio_xmpp", Level::ERROR)));
        assert!(!is_wire_noise(&make("sotto::xmpp", Level::TRACE)));
        assert!(!is_wire_noise(&make("saslx", Level::DEBUG)));
    }
}
