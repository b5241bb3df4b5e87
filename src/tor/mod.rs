//! Tor for the accounts that ask for it: one embedded arti client per
//! engine, created and bootstrapped lazily (only when a Tor account starts
//! or a Tor account knocks), with its state and cache in Sotto's folders.
//!
//! The rule this module exists for: a Tor account never touches the
//! network directly. Its XMPP stream, its DNS (resolved at the exit, never
//! here) and its knocks all go through [`Tor::connect`]; when Tor is not
//! ready, not built in, or not set up, that is an error, never a fallback.
//!
//! Only this module (its `arti` part) imports arti-client.

#[cfg(feature = "tor")]
mod arti;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::paths::Paths;

/// Testing switch: the path of an arti TOML fragment (its `tor_network`
/// section: authorities and fallback caches, and whatever else a private
/// test network needs) applied on top of the defaults. Never set it in
/// normal use: it replaces the Tor network Sotto talks to.
pub const NETWORK_ENV: &str = "SOTTO_TOR_NETWORK";

/// How long a connection waits for Tor to bootstrap before the account
/// gives up this attempt (it retries later; bootstrapping carries on).
pub const DEFAULT_BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(120);

/// Testing switch: a shorter bootstrap timeout, in seconds.
pub const BOOTSTRAP_TIMEOUT_ENV: &str = "SOTTO_TOR_BOOTSTRAP_TIMEOUT";

/// A byte stream, direct TCP or through Tor: what connectors and the knock
/// client put TLS on.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A boxed [`Io`], so one TLS code path serves both transports.
pub type BoxedIo = Box<dyn Io>;

/// Where arti keeps its files, and how patient bootstrapping is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorSettings {
    /// Guards and keys: under Sotto's data folder.
    pub state_dir: PathBuf,
    /// The directory cache: under Sotto's cache folder.
    pub cache_dir: PathBuf,
    pub bootstrap_timeout: Duration,
    /// A private network's arti configuration (see [`NETWORK_ENV`]).
    pub network: Option<PathBuf>,
}

impl TorSettings {
    /// State and cache below `tor/` in Sotto's data folder (beside the
    /// database); the testing switches come from the environment.
    pub fn in_data_dir(data_dir: &std::path::Path) -> Self {
        let tor = data_dir.join("tor");
        Self {
            state_dir: tor.join("state"),
            cache_dir: tor.join("cache"),
            bootstrap_timeout: timeout_from_env(),
            network: std::env::var_os(NETWORK_ENV).map(PathBuf::from),
        }
    }

    /// The same, from Sotto's folders.
    pub fn under(paths: &Paths) -> Self {
        Self::in_data_dir(&paths.data_dir)
    }
}

fn timeout_from_env() -> Duration {
    std::env::var(BOOTSTRAP_TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(DEFAULT_BOOTSTRAP_TIMEOUT, Duration::from_secs)
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TorError {
    #[error(
        "Tor could not connect: this build of Sotto has no Tor support, and a Tor account never \
         connects without Tor"
    )]
    NotBuilt,
    #[error("Tor could not connect: Tor is not set up here (no folder for its state)")]
    NotConfigured,
    #[error("Tor could not start: {0}")]
    Config(String),
    #[error("Tor could not connect: {0}")]
    Bootstrap(String),
    #[error("Tor could not reach {target}: {reason}")]
    Stream { target: String, reason: String },
}

/// Where bootstrapping is, for the front ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BootstrapProgress {
    pub percent: u8,
    /// arti's own words on what it is doing or what blocks it.
    pub summary: String,
    /// Enough of the network is known to build circuits.
    pub ready: bool,
    /// Set when bootstrapping failed or took longer than allowed;
    /// connections fail with this until it recovers.
    pub failed: Option<String>,
}

/// The engine's Tor: cheap to clone, all clones share one arti client.
#[derive(Clone)]
pub struct Tor {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Option<TorSettings>,
    progress: watch::Sender<BootstrapProgress>,
    #[cfg(feature = "tor")]
    client: tokio::sync::OnceCell<Result<arti::Client, TorError>>,
}

impl std::fmt::Debug for Tor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tor")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Tor {
    /// A handle that does nothing until first used. `None`: Tor accounts
    /// cannot connect here (and say so).
    pub fn new(settings: Option<TorSettings>) -> Self {
        let (progress, _) = watch::channel(BootstrapProgress::default());
        Self {
            inner: Arc::new(Inner {
                settings,
                progress,
                #[cfg(feature = "tor")]
                client: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// Bootstrap progress; changes as arti reports it.
    pub fn progress(&self) -> watch::Receiver<BootstrapProgress> {
        self.inner.progress.subscribe()
    }

    /// Whether this build can use Tor at all.
    pub const fn built_in() -> bool {
        cfg!(feature = "tor")
    }

    /// Creates the arti client and starts bootstrapping in the background,
    /// once; later calls return at once.
    pub async fn start(&self) -> Result<(), TorError> {
        self.client().await.map(|_| ())
    }

    #[cfg(feature = "tor")]
    async fn client(&self) -> Result<&arti::Client, TorError> {
        let settings = self
            .inner
            .settings
            .as_ref()
            .ok_or(TorError::NotConfigured)?;
        self.inner
            .client
            .get_or_init(|| arti::Client::start(settings.clone(), self.inner.progress.clone()))
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    #[cfg(not(feature = "tor"))]
    async fn client(&self) -> Result<(), TorError> {
        Err(TorError::NotBuilt)
    }

    /// Opens a stream to `host:port` through Tor; the name is resolved by
    /// the exit (or is an onion service). Waits for bootstrapping, up to
    /// the configured timeout; fails rather than ever connecting directly.
    pub async fn connect(&self, host: &str, port: u16) -> Result<BoxedIo, TorError> {
        #[cfg(feature = "tor")]
        {
            let client = self.client().await?;
            let timeout = self
                .inner
                .settings
                .as_ref()
                .map_or(DEFAULT_BOOTSTRAP_TIMEOUT, |s| s.bootstrap_timeout);
            let mut progress = self.progress();
            // Owned at once: a watch guard must not live across an await.
            let waited = tokio::time::timeout(timeout, async {
                progress
                    .wait_for(|p| p.ready || p.failed.is_some())
                    .await
                    .map(|p| p.clone())
            })
            .await;
            match waited {
                Ok(Ok(p)) if p.ready => {}
                Ok(Ok(p)) => {
                    return Err(TorError::Bootstrap(p.failed.unwrap_or(p.summary)));
                }
                Ok(Err(_)) => return Err(TorError::Bootstrap("Tor stopped".into())),
                Err(_) => {
                    let last = self.inner.progress.borrow().clone();
                    return Err(TorError::Bootstrap(format!(
                        "the Tor network could not be reached within {} s (stuck at {}%: {})",
                        timeout.as_secs(),
                        last.percent,
                        last.summary
                    )));
                }
            }
            client.connect(host, port).await
        }
        #[cfg(not(feature = "tor"))]
        {
            let _ = (host, port, self.client().await?);
            Err(TorError::NotBuilt)
        }
    }
}

/// Whether `host` names an onion service: its address authenticates the
/// server, which changes what TLS has to prove (see `xmpp::connect`).
pub fn is_onion(host: &str) -> bool {
    host.trim_end_matches('.')
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.eq_ignore_ascii_case("onion"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onion_hosts_are_recognised() {
        assert!(is_onion("abcdefghijklmnop.onion"));
        assert!(is_onion("xmpp.ABCDEF.ONION."));
        assert!(!is_onion("onion.example.org"));
        assert!(!is_onion("example.org"));
    }

    #[tokio::test]
    async fn an_unconfigured_tor_refuses_to_connect() {
        let tor = Tor::new(None);
        let err = tor.connect("example.org", 5222).await.err();
        let expected = if Tor::built_in() {
            TorError::NotConfigured
        } else {
            TorError::NotBuilt
        };
        assert_eq!(err, Some(expected));
        assert!(
            err.map(|e| e.to_string())
                .is_some_and(|s| s.starts_with("Tor could not connect"))
        );
    }
}
