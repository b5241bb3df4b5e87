//! The headless command line, on the same engine as the GUI. Output for
//! people and scripts goes to stdout; diagnostics go to stderr.

// Printing is this module's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod account;
mod args;
mod chat;
mod connect;
#[cfg(feature = "gui")]
mod demo;
mod history;
mod knock;
mod omemo;
mod room;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use sotto::config::{AccountConfig, Config};
use sotto::model::BareJid;
use sotto::paths::Paths;
use sotto::store::{Database, EnvOrTerminal, Reader};

pub use args::{AccountCommand, Args, Command, PushInfoCommand};

/// Prints a failure as one line, the way people read it.
pub fn report_error(error: &anyhow::Error) {
    eprintln!("sotto: {}", human(&format!("{error:#}")));
}

/// Text from the network made safe for a terminal: control characters
/// (C0 but newline and tab, DEL, and the 8-bit C1 set that terminals read
/// as escape sequences) are shown as `\u{..}` instead of acted upon.
pub fn human(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            // Bidirectional overrides reorder what follows on screen.
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if unsafe_char(c) {
                    format!("\\u{{{:x}}}", u32::from(c))
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// What every command needs: where files are, the settings, and (opened
/// on first use, since it may ask for a passphrase) the database.
pub struct Context {
    pub paths: Paths,
    pub config: Config,
    database: Option<Database>,
    pub sandbox: sotto::sandbox::SandboxStatus,
}

impl Context {
    fn open(home: Option<&Path>) -> Result<Self> {
        let paths = Paths::resolve(home)?;
        paths.create()?;
        // From here on the process reaches only its own folders (and what
        // every program must read).
        let sandbox = sotto::sandbox::confine(&paths);
        let config = Config::load(&paths.config_file())?;
        Ok(Self {
            paths,
            config,
            database: None,
            sandbox,
        })
    }

    /// The encrypted database, unlocked through the keychain or a
    /// passphrase. Must be called before the async runtime starts: the
    /// keychain client blocks.
    fn database(&mut self) -> Result<Database> {
        if let Some(database) = &self.database {
            return Ok(database.clone());
        }
        let (database, origin) = sotto::store::unlock(&self.paths, &EnvOrTerminal)?;
        tracing::debug!(?origin, "store unlocked");
        self.database = Some(database.clone());
        Ok(database)
    }

    /// The database, read-only: for commands that only show what is
    /// stored (they work while Sotto runs elsewhere).
    fn reader(&mut self) -> Result<Reader> {
        Ok(self.database()?.reader()?)
    }

    fn save(&self) -> Result<()> {
        self.config.save(&self.paths.config_file())?;
        Ok(())
    }

    /// The named account, or the only one when none is named.
    fn account(&self, jid: Option<&BareJid>) -> Result<AccountConfig> {
        match jid {
            Some(jid) => self
                .config
                .account(jid)
                .cloned()
                .with_context(|| format!("there is no account {jid}; see `sotto account list`")),
            None => match self.config.accounts.as_slice() {
                [only] => Ok(only.clone()),
                [] => bail!("there is no account yet; add one with `sotto account add JID`"),
                _ => bail!("there are several accounts; say which with --account JID"),
            },
        }
    }
}

pub fn run(home: Option<&Path>, command: Command) -> Result<ExitCode> {
    // The demo lives in throwaway folders of its own, not in `home`.
    if let Command::Demo { seconds } = command {
        return demo(seconds);
    }
    let mut ctx = Context::open(home)?;
    match command {
        Command::Account(command) => account::run(&mut ctx, command),
        Command::Send {
            account,
            to,
            text,
            plain,
        } => chat::send(&mut ctx, account.as_ref(), to, text, plain),
        Command::Listen {
            account,
            count,
            json,
        } => chat::listen(&mut ctx, account.as_ref(), count, json),
        Command::Chat {
            account,
            with,
            json,
            plain,
        } => chat::chat(&mut ctx, account.as_ref(), with, json, plain),
        Command::Room(command) => room::run(&mut ctx, command),
        Command::Contacts { account, json } => chat::contacts(&mut ctx, account.as_ref(), json),
        Command::Knock {
            account,
            contact,
            json,
            insecure_relay,
        } => knock::knock(&mut ctx, account.as_ref(), &contact, json, insecure_relay),
        Command::PushInfo(command) => knock::push_info(&mut ctx, command),
        Command::Omemo(command) => omemo::run(&mut ctx, command),
        Command::History {
            account,
            with,
            limit,
            json,
        } => history::history(&mut ctx, account.as_ref(), &with, limit, json),
        Command::Search {
            account,
            query,
            limit,
            json,
        } => history::search(&mut ctx, account.as_ref(), &query, limit, json),
        Command::SandboxCheck { path } => {
            println!("sandbox: {}", ctx.sandbox);
            match std::fs::read(&path) {
                Ok(_) => println!("read {}: allowed", path.display()),
                Err(e) => println!("read {}: refused ({e})", path.display()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { account, format } => history::export(&mut ctx, account.as_ref(), format),
        Command::Demo { seconds } => demo(seconds),
    }
}

#[cfg(feature = "gui")]
fn demo(seconds: Option<u64>) -> Result<ExitCode> {
    demo::demo(seconds.map(std::time::Duration::from_secs))
}

#[cfg(not(feature = "gui"))]
fn demo(_seconds: Option<u64>) -> Result<ExitCode> {
    bail!("this build of Sotto has no window, so it cannot show the demo")
}

/// A tokio runtime for one command; created after the keychain has been
/// read, since its blocking client must not run inside one.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")
}
