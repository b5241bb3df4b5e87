//! Behaviour tests of the window: iced's headless simulator over the
//! real app (booted, unlocked and updated as in production), its real
//! engine signed in to a real Prosody (the integration tests' harness),
//! and a bot, an engine in the test, writing to it over XMPP.

#[allow(dead_code)]
#[path = "../../../tests/it/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../../../tests/it/harness.rs"]
mod harness;

mod accounts;
mod autostart;
mod chat;
mod history;
mod knock;
mod links;
mod notifications;
mod overlays;
mod relay;
mod rooms;
pub mod session;
mod tray;
mod window;

use std::sync::OnceLock;

use secrecy::SecretString;
use sotto::config::{AccountConfig, Config};
use sotto::engine::{Command, Engine, Event};
use sotto::model::{BareJid, OutgoingMessage};
use sotto::omemo::Profile;
use sotto::paths::Paths;
use sotto::store::{Store, StoreKey};
use sotto::xmpp::RetryPolicy;

use self::client::TestClient;
use self::window::Window;

/// The store's passphrase in every test home (no keychain in tests).
pub const PASSPHRASE: &str = "gui test passphrase";
/// What the window's account calls the bot.
pub const BOT: &str = "Robin Bot";

/// The runtime the bots and the window's tasks run on.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// A home as Sotto leaves it on a computer without a keychain: the
/// database protected by [`PASSPHRASE`], the accounts' passwords inside
/// it, their settings beside it.
pub struct Home {
    _dir: tempfile::TempDir,
    pub paths: Paths,
    pub config: Config,
}

impl Home {
    pub fn new(accounts: &[(AccountConfig, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = Paths::under(dir.path());
        paths.create().expect("paths");
        let db = sotto::store::database_file(&paths);
        let salt: [u8; 16] = rand::random();
        std::fs::write(db.with_extension("db.salt"), salt).expect("salt");
        let key = StoreKey::derive(&SecretString::from(PASSPHRASE), &salt).expect("key");
        let store = Store::open(&db, &key).expect("store");
        for (account, password) in accounts {
            // Where the engine keeps a password when no keychain is
            // reachable (sotto::secrets).
            store
                .set_secret(&format!("xmpp:{}", account.jid), password)
                .expect("password");
        }
        let config = Config {
            accounts: accounts.iter().map(|(a, _)| a.clone()).collect(),
        };
        config.save(&paths.config_file()).expect("config");
        Self {
            _dir: dir,
            paths,
            config,
        }
    }

    /// The window on this home, unlocked.
    pub fn open(&self) -> Window {
        self.open_on(None)
    }

    /// With its notifications on the server on `bus`.
    pub fn open_on(&self, bus: Option<crate::gui::notify::Bus>) -> Window {
        Window::unlocked_on(self.paths.clone(), self.config.clone(), PASSPHRASE, bus)
    }
}

/// The window signed in to the test server, and a bot who is its
/// account's mutual contact (receipts and read markers go only to such).
pub struct Scene {
    pub window: Window,
    pub me: BareJid,
    pub bot: TestClient,
    /// The bot's account and password, for a second device of it.
    pub bot_login: (AccountConfig, String),
    pub home: Home,
}

impl Scene {
    pub fn new() -> Self {
        Self::on(None)
    }

    /// A scene whose window notifies through the server on `bus`.
    pub fn on(bus: Option<crate::gui::notify::Bus>) -> Self {
        let server = harness::shared();
        let (me, me_pw) = harness::new_user(server, "gui");
        let (bot_user, bot_pw) = harness::new_user(server, "bot");
        let mine = server.account(&me);
        let bot = rt().block_on(async {
            let mut window_side = TestClient::start(mine.clone(), &me_pw, RetryPolicy::Never);
            let mut bot = TestClient::start(server.account(&bot_user), &bot_pw, RetryPolicy::Never);
            window_side.online().await;
            bot.online().await;
            client::befriend(&mut window_side, &mut bot).await;
            window_side.send(Command::RenameContact {
                account: window_side.jid.clone(),
                jid: bot.jid.clone(),
                name: Some(BOT.into()),
            });
            window_side
                .wait_for("the bot renamed", |e| match e {
                    Event::ContactChanged { contact, .. }
                        if contact.name.as_deref() == Some(BOT) =>
                    {
                        Some(())
                    }
                    _ => None,
                })
                .await;
            window_side.send(Command::Shutdown);
            bot
        });
        let home = Home::new(&[(mine.clone(), me_pw.as_str())]);
        let mut window = home.open_on(bus);
        let online = format!("{} · online", mine.jid);
        window.until("the account online", |w| w.shows(&online));
        window.until("the contacts from the server", |w| {
            w.dashboard()
                .people()
                .contact(&mine.jid, &bot.jid)
                .is_some_and(|c| c.contact.is_some())
        });
        // The window is the account's second OMEMO device (the set-up
        // client above was the first). Until the bot has heard of it, what
        // the bot sends is encrypted for the first device only, as OMEMO
        // means, and the window shows notices instead of the messages.
        let bot_store = bot.store.clone();
        let (bot_jid, me_jid) = (bot.jid.to_string(), mine.jid.to_string());
        window.until("the bot to know the window's device", |_| {
            bot_store.omemo_devices(&bot_jid, &me_jid).is_ok_and(|d| {
                d.iter()
                    .filter(|d| d.active && d.profile == Profile::Omemo2)
                    .count()
                    >= 2
            })
        });
        Self {
            window,
            me: mine.jid,
            bot,
            bot_login: (server.account(&bot_user), bot_pw),
            home,
        }
    }

    /// The bot writes to the window's account; returns the message's id.
    pub fn bot_says(&self, body: &str) -> String {
        let id = Engine::new_message_id();
        self.bot.send(Command::SendMessage {
            account: self.bot.jid.clone(),
            message: OutgoingMessage {
                id: id.clone(),
                to: self.me.clone(),
                body: body.to_owned(),
                plain: false,
            },
        });
        id
    }

    /// Waits, while the window runs, for a bot event `pick` accepts.
    pub fn bot_sees<T>(&mut self, what: &str, pick: impl FnMut(&Event) -> Option<T>) -> T {
        let Self { window, bot, .. } = self;
        window.alongside(what, bot.wait_for(what, pick))
    }

    /// Opens the chat with the bot through the quick switcher.
    pub fn open_bot_chat(&mut self) {
        let w = &mut self.window;
        w.press(
            iced::keyboard::Key::Character("k".into()),
            iced::keyboard::Modifiers::CTRL,
        );
        w.until("the switcher", |w| w.shows("Switch to…"));
        w.enter_in(crate::gui::overlay::INPUT.into(), "robin");
        w.until("the chat open", |w| {
            w.dashboard().open_chat().is_some() && w.shows("Details")
        });
    }
}
