//! The unread count on the dock or taskbar entry, where a Linux dock reads
//! the Unity LauncherEntry API (KDE Plasma's task manager, Dash to Dock,
//! Plank, Latte): an `Update` signal names our desktop file and the count,
//! and `Query` answers a dock that starts later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zbus::object_server::SignalEmitter;
use zbus::zvariant::{OwnedValue, Value};

use super::notify::APP_ID;

const PATH: &str = "/im/sotto/Sotto/LauncherEntry";

fn app_uri() -> String {
    format!("application://{APP_ID}.desktop")
}

fn properties(count: i64) -> HashMap<String, OwnedValue> {
    HashMap::from([
        ("count".to_owned(), OwnedValue::from(count)),
        ("count-visible".to_owned(), OwnedValue::from(count > 0)),
    ])
}

struct Entry {
    count: Arc<Mutex<i64>>,
}

#[zbus::interface(name = "com.canonical.Unity.LauncherEntry")]
impl Entry {
    fn query(&self) -> (String, HashMap<String, OwnedValue>) {
        let count = self.count.lock().map(|c| *c).unwrap_or(0);
        (app_uri(), properties(count))
    }

    #[zbus(signal)]
    async fn update(
        emitter: &SignalEmitter<'_>,
        app_uri: &str,
        properties: HashMap<&str, Value<'_>>,
    ) -> zbus::Result<()>;
}

/// Our entry on the session bus.
#[derive(Clone)]
pub struct Launcher {
    connection: zbus::Connection,
    count: Arc<Mutex<i64>>,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Launcher")
    }
}

impl Launcher {
    /// `None`, and a log line, without a session bus.
    pub async fn start() -> Option<Self> {
        let count = Arc::new(Mutex::new(0));
        let entry = Entry {
            count: count.clone(),
        };
        let built = async {
            zbus::connection::Builder::session()?
                .serve_at(PATH, entry)?
                .build()
                .await
        };
        match built.await {
            Ok(connection) => Some(Self { connection, count }),
            Err(e) => {
                tracing::info!(error = %e, "no unread count on the dock: no session bus");
                None
            }
        }
    }

    /// Shows `count` (none at 0).
    pub async fn set(self, count: i64) {
        if let Ok(mut c) = self.count.lock() {
            *c = count;
        }
        let props = HashMap::from([
            ("count", Value::from(count)),
            ("count-visible", Value::from(count > 0)),
        ]);
        let sent = async {
            let iface = self
                .connection
                .object_server()
                .interface::<_, Entry>(PATH)
                .await?;
            Entry::update(iface.signal_emitter(), &app_uri(), props).await
        };
        if let Err(e) = sent.await {
            tracing::debug!(error = %e, "the dock's count was not updated");
        }
    }
}
