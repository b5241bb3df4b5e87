//! The arti side of [`super::Tor`]: building the client from Sotto's
//! settings, bootstrapping it in the background, and opening streams.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arti_client::config::TorClientConfigBuilder;
use arti_client::{BootstrapBehavior, StreamPrefs, TorClient};
use futures::StreamExt;
use tokio::sync::watch;
use tor_rtcompat::PreferredRuntime;

use super::{BootstrapProgress, BoxedIo, TorError, TorSettings, is_onion};

/// A stream may take a while (a new circuit, an exit that resolves the
/// name), but not forever.
const STREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// After a failed bootstrap, try again after this long.
const BOOTSTRAP_RETRY: Duration = Duration::from_secs(30);

pub(super) struct Client {
    tor: Arc<TorClient<PreferredRuntime>>,
}

impl Client {
    /// Creates the client (no network traffic yet) and spawns the
    /// bootstrap, which reports into `progress`.
    pub(super) async fn start(
        settings: TorSettings,
        progress: watch::Sender<BootstrapProgress>,
    ) -> Result<Self, TorError> {
        let config = config(&settings)?;
        let tor = TorClient::builder()
            .config(config)
            // We bootstrap ourselves, once, so nothing bootstraps behind
            // our back and progress has one source.
            .bootstrap_behavior(BootstrapBehavior::Manual)
            .create_unbootstrapped_async()
            .await
            .map_err(|e| TorError::Config(e.to_string()))?;
        tracing::info!(state = %settings.state_dir.display(), "starting Tor");
        let events = tor.bootstrap_events();
        tokio::spawn(report(events, progress.clone()));
        tokio::spawn(bootstrap(tor.clone(), settings.bootstrap_timeout, progress));
        Ok(Self { tor })
    }

    pub(super) async fn connect(&self, host: &str, port: u16) -> Result<BoxedIo, TorError> {
        let target = format!("{host}:{port}");
        let mut prefs = StreamPrefs::new();
        // Each stream on its own circuit: two accounts, or an account and
        // a knock, are not linkable by sharing an exit.
        prefs.new_isolation_group();
        if is_onion(host) {
            prefs.connect_to_onion_services(arti_client::config::BoolOrAuto::Explicit(true));
        }
        // A hostname goes to the exit as is: arti never resolves it here.
        let stream = tokio::time::timeout(
            STREAM_TIMEOUT,
            self.tor.connect_with_prefs((host, port), &prefs),
        )
        .await
        .map_err(|_| TorError::Stream {
            target: target.clone(),
            reason: "no answer in time".into(),
        })?
        .map_err(|e| TorError::Stream {
            target,
            reason: e.to_string(),
        })?;
        Ok(Box::new(stream))
    }
}

fn config(settings: &TorSettings) -> Result<arti_client::TorClientConfig, TorError> {
    let mut builder = match &settings.network {
        Some(path) => {
            tracing::warn!(file = %path.display(), "using a custom Tor network (testing switch)");
            let text = std::fs::read_to_string(path)
                .map_err(|e| TorError::Config(format!("{}: {e}", path.display())))?;
            toml::from_str::<TorClientConfigBuilder>(&text)
                .map_err(|e| TorError::Config(format!("{}: {e}", path.display())))?
        }
        None => TorClientConfigBuilder::default(),
    };
    builder
        .storage()
        .state_dir(tor_config_path(&settings.state_dir))
        .cache_dir(tor_config_path(&settings.cache_dir));
    builder.build().map_err(|e| TorError::Config(e.to_string()))
}

fn tor_config_path(path: &std::path::Path) -> arti_client::config::CfgPath {
    arti_client::config::CfgPath::new_literal(path)
}

/// Bootstraps; past the timeout, marks Tor as failed (connections then
/// fail at once with the reason) but keeps going, so it recovers by itself.
async fn bootstrap(
    tor: Arc<TorClient<PreferredRuntime>>,
    timeout: Duration,
    progress: watch::Sender<BootstrapProgress>,
) {
    let started = Instant::now();
    loop {
        let attempt = tor.bootstrap();
        tokio::pin!(attempt);
        let result = tokio::select! {
            r = &mut attempt => r,
            () = tokio::time::sleep(timeout) => {
                let why = stuck(&progress.borrow(), timeout);
                tracing::warn!(reason = %why, "Tor bootstrap is taking too long");
                progress.send_modify(|p| p.failed = Some(why));
                attempt.await
            }
        };
        match result {
            Ok(()) => {
                tracing::info!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "Tor is ready"
                );
                progress.send_modify(|p| {
                    p.ready = true;
                    p.percent = 100;
                    p.failed = None;
                });
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "Tor bootstrap failed");
                progress.send_modify(|p| p.failed = Some(format!("bootstrap failed: {e}")));
                tokio::time::sleep(BOOTSTRAP_RETRY).await;
            }
        }
    }
}

fn stuck(p: &BootstrapProgress, timeout: Duration) -> String {
    format!(
        "the Tor network could not be reached within {} s (stuck at {}%: {})",
        timeout.as_secs(),
        p.percent,
        p.summary
    )
}

/// Copies arti's bootstrap events into `progress`.
async fn report(
    mut events: arti_client::status::BootstrapEvents,
    progress: watch::Sender<BootstrapProgress>,
) {
    while let Some(status) = events.next().await {
        let percent = (status.as_frac().clamp(0.0, 1.0) * 100.0).round() as u8;
        let summary = match status.blocked() {
            Some(blockage) => blockage.to_string(),
            // arti's text starts with the percentage, which we carry apart.
            None => {
                let text = status.to_string();
                match text.split_once("%: ") {
                    Some((_, rest)) => rest.to_owned(),
                    None => text,
                }
            }
        };
        let ready = status.ready_for_traffic();
        tracing::debug!(percent, %summary, "Tor bootstrap");
        progress.send_if_modified(|p| {
            let changed = p.percent != percent || p.summary != summary || (ready && !p.ready);
            p.percent = percent;
            p.summary = summary.clone();
            if ready {
                p.ready = true;
                p.failed = None;
            }
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_network_file_configures_arti() {
        let dir = tempfile::tempdir().expect("tempdir");
        let network = dir.path().join("network.toml");
        std::fs::write(
            &network,
            format!(
                r#"[tor_network]
fallback_caches = [
  {{ rsa_identity = "{}", ed_identity = "{}", orports = ["127.0.0.1:9"] }},
]
[tor_network.authorities]
v3idents = ["{}"]
"#,
                "AB".repeat(20),
                "8fAVjVy/+hXpjl/T2tkGxeGB1wGdgWJw5x/Kyz4vncw",
                "CD".repeat(20)
            ),
        )
        .expect("write");
        let settings = TorSettings {
            state_dir: dir.path().join("state"),
            cache_dir: dir.path().join("cache"),
            bootstrap_timeout: Duration::from_secs(1),
            network: Some(network),
        };
        let custom = config(&settings).expect("config");
        let default = config(&TorSettings {
            network: None,
            ..settings
        })
        .expect("config");
        assert_ne!(custom, default);
        assert!(
            config(&TorSettings {
                network: Some(dir.path().join("missing.toml")),
                ..TorSettings::in_data_dir(dir.path())
            })
            .is_err()
        );
    }
}
