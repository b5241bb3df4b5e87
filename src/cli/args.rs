//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use sotto::model::BareJid;

#[derive(Debug, Parser)]
#[command(
    name = "sotto",
    version,
    about = "Sotto, a secure desktop XMPP messenger",
    long_about = "Sotto, a secure desktop XMPP messenger.\n\n\
        With no command, Sotto opens its window, or raises the one that is open; \
        with an xmpp: link (RFC 5122), the window opens what the link names. The \
        commands below use the same core, for testers and scripts."
)]
pub struct Args {
    /// Keep all of Sotto's data and settings in this folder.
    #[arg(long, global = true, env = "SOTTO_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// More log output on stderr (-v, -vv, -vvv); RUST_LOG also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Start with the window hidden in the tray, as at login; it shows
    /// where there is no tray, or when the database wants its passphrase.
    #[arg(long)]
    pub background: bool,

    /// An xmpp: link to open in the window, like
    /// 'xmpp:bob@example.org?message;body=Hi' (a running Sotto is handed it).
    #[arg(value_name = "XMPP_LINK", value_parser = xmpp_link)]
    pub link: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Refuses a link that cannot be opened before any window starts; the
/// window reads it again, as it reads every link handed to it.
fn xmpp_link(s: &str) -> Result<String, String> {
    sotto::uri::XmppUri::parse(s)
        .map(|_| s.trim().to_owned())
        .map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add, list, trust or remove accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Send one message.
    Send {
        /// The account to send from (optional when there is only one).
        #[arg(long, short)]
        account: Option<BareJid>,
        /// The recipient's address.
        to: BareJid,
        /// The message; `-` reads it from stdin.
        text: String,
        /// Send in clear even where the chat would encrypt (refused in a
        /// chat that is always encrypted).
        #[arg(long)]
        plain: bool,
    },
    /// Print incoming messages and presence as they come.
    Listen {
        #[arg(long, short)]
        account: Option<BareJid>,
        /// Stop after this many messages.
        #[arg(long, short = 'n')]
        count: Option<u64>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Chat on the terminal: each line of stdin is sent to WITH; incoming
    /// messages are printed. At the end of input, waits until everything
    /// queued has reached the server, then exits.
    Chat {
        #[arg(long, short)]
        account: Option<BareJid>,
        with: BareJid,
        /// Incoming messages as JSON, one object per line.
        #[arg(long)]
        json: bool,
        /// Send every line in clear even where the chat would encrypt
        /// (refused in a chat that is always encrypted).
        #[arg(long)]
        plain: bool,
    },
    /// Group chats: join, leave, list, who is in one.
    #[command(subcommand)]
    Room(RoomCommand),
    /// List the account's contacts.
    Contacts {
        #[arg(long, short)]
        account: Option<BareJid>,
        #[arg(long)]
        json: bool,
    },
    /// Wake a contact's phone through the push relay they gave you.
    Knock {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
        #[arg(long)]
        json: bool,
        /// Development only: allow plain http and relays on this machine or
        /// the local network (also SOTTO_KNOCK_INSECURE=1).
        #[arg(
            long,
            env = "SOTTO_KNOCK_INSECURE",
            action = clap::ArgAction::SetTrue,
            value_parser = clap::builder::BoolishValueParser::new()
        )]
        insecure_relay: bool,
    },
    /// Show, add or remove a contact's push info (relay endpoint + tokens).
    #[command(subcommand)]
    PushInfo(PushInfoCommand),
    /// End-to-end encryption (OMEMO): fingerprints, devices, trust, and
    /// whether a chat is encrypted.
    #[command(subcommand)]
    Omemo(OmemoCommand),
    /// Show the latest messages of a conversation, from the local store.
    History {
        #[arg(long, short)]
        account: Option<BareJid>,
        /// The other side of the conversation.
        with: BareJid,
        /// How many messages, newest last.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Search all stored messages.
    Search {
        #[arg(long, short)]
        account: Option<BareJid>,
        /// Words to find; the last one may be the start of a word.
        query: String,
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Try Sotto without an account: a throwaway local server (needs
    /// Prosody), you as alice and a bot that answers, in the window.
    Demo {
        /// Close the window by itself after this many seconds (for
        /// screenshots and tests).
        #[arg(long, hide = true)]
        seconds: Option<u64>,
    },
    /// Diagnostic: report the sandbox and try to read PATH under it.
    #[command(hide = true)]
    SandboxCheck { path: PathBuf },
    /// Write everything stored for an account to stdout.
    Export {
        #[arg(long, short)]
        account: Option<BareJid>,
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
    },
}

/// Push info as typed: an endpoint and tokens, or the JSON form.
#[derive(Debug, clap::Args)]
pub struct PushInfoArgs {
    /// The relay's knock URL or API base, e.g. https://push.example.net/api/v1/
    #[arg(long, required_unless_present = "json")]
    pub endpoint: Option<String>,
    /// A whitelist token (repeat for several).
    #[arg(long = "token", required_unless_present = "json")]
    pub tokens: Vec<String>,
    /// The push info JSON: {"endpoint": ..., "tokens": [...]}
    #[arg(long, conflicts_with_all = ["endpoint", "tokens"])]
    pub json: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// Enter a room, and enter it at every login from now on (its recent
    /// history is read from the room's archive).
    Join {
        #[arg(long, short)]
        account: Option<BareJid>,
        /// The room's address, like tea@conference.example.org.
        room: BareJid,
        /// The nickname to use there (default: the one used before, or
        /// the account's name).
        #[arg(long)]
        nick: Option<String>,
        /// Read the room's password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Make a room and enter it: a public room, or with --private a group
    /// only members (those you invite) may enter.
    Create {
        #[arg(long, short)]
        account: Option<BareJid>,
        /// The new room's address, on your server's group chat service,
        /// like tea@conference.example.org.
        room: BareJid,
        #[arg(long)]
        nick: Option<String>,
        /// Its name, as people see it in their lists.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Only members enter, everyone sees everyone's address, and the
        /// room is not listed.
        #[arg(long)]
        private: bool,
    },
    /// Leave a room and stop entering it at login; its history stays.
    Leave {
        #[arg(long, short)]
        account: Option<BareJid>,
        room: BareJid,
    },
    /// The rooms this account is in, or was in.
    List {
        #[arg(long, short)]
        account: Option<BareJid>,
        #[arg(long)]
        json: bool,
    },
    /// Invite someone into one of the account's rooms (through the room
    /// where only members may enter, which makes them a member).
    Invite {
        #[arg(long, short)]
        account: Option<BareJid>,
        room: BareJid,
        /// Who to invite.
        who: BareJid,
        /// A word for them.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Set the room's subject (where you may; an empty one clears it).
    Subject {
        #[arg(long, short)]
        account: Option<BareJid>,
        room: BareJid,
        subject: String,
    },
    /// Put someone out of the room (a moderator may); they may come back.
    Kick {
        #[arg(long, short)]
        account: Option<BareJid>,
        room: BareJid,
        nick: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Keep someone out of the room for good, by address (an admin may).
    Ban {
        #[arg(long, short)]
        account: Option<BareJid>,
        room: BareJid,
        who: BareJid,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Let someone speak in a moderated room, or (--off) no longer.
    Voice {
        #[arg(long, short)]
        account: Option<BareJid>,
        room: BareJid,
        nick: String,
        #[arg(long)]
        off: bool,
    },
    /// Who is in one of the account's rooms (enters it to ask).
    Occupants {
        #[arg(long, short)]
        account: Option<BareJid>,
        room: BareJid,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PushInfoCommand {
    /// Show what is stored for a contact (tokens are never shown in full).
    Show {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
        #[arg(long)]
        json: bool,
    },
    /// Add push info by hand: an endpoint and tokens, or the JSON a
    /// contact gave you.
    Add {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
        #[command(flatten)]
        info: PushInfoArgs,
    },
    /// Add push info from a knock link a contact shared:
    /// xmpp:bob@example.net?knock;endpoint=...;token=...
    AddLink {
        #[arg(long, short)]
        account: Option<BareJid>,
        uri: String,
    },
    /// Forget a contact's push info.
    Remove {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
    },
    /// Fetch a contact's published push info (their PEP node) and store it.
    Fetch {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
    },
    /// Publish your own push info (from your phone's relay account) for
    /// the contacts who see your presence.
    Publish {
        #[arg(long, short)]
        account: Option<BareJid>,
        #[command(flatten)]
        info: PushInfoArgs,
    },
    /// Send your push info to one contact only, end-to-end encrypted
    /// (OMEMO 2; refused for contacts whose devices speak only legacy
    /// OMEMO: publish it for them instead).
    Send {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
        #[command(flatten)]
        info: PushInfoArgs,
    },
    /// Knock once by itself when a message is queued for this contact
    /// while they are offline.
    AutoKnock {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
        #[arg(value_parser = clap::builder::BoolishValueParser::new())]
        on: bool,
    },
    /// Take your published push info down.
    Unpublish {
        #[arg(long, short)]
        account: Option<BareJid>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OmemoCommand {
    /// This device's id and fingerprints: what your contacts compare.
    Fingerprint {
        #[arg(long, short)]
        account: Option<BareJid>,
        #[arg(long)]
        json: bool,
    },
    /// A contact's devices with their fingerprints and your trust in them;
    /// without CONTACT, your own account's other devices.
    Devices {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: Option<BareJid>,
        #[arg(long)]
        json: bool,
    },
    /// Mark a device verified, once you compared its fingerprint with
    /// what its owner's device shows. Once a contact has a verified
    /// device, their new devices wait for your decision.
    Trust {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
        device: u32,
        /// Refuse unless the device's fingerprint is this one (spaces and
        /// case do not matter).
        #[arg(long)]
        fingerprint: Option<String>,
    },
    /// Stop encrypting to a device (a lost phone, a key you do not
    /// recognise).
    Untrust {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
        device: u32,
    },
    /// Take one of your account's stale devices off its published device
    /// lists, so contacts stop encrypting to it (connects to the server).
    RemoveDevice {
        #[arg(long, short)]
        account: Option<BareJid>,
        device: u32,
    },
    /// Show or set whether a chat is encrypted: `on` (never in clear),
    /// `off`, or `auto` (encrypted once the contact publishes OMEMO).
    Encryption {
        #[arg(long, short)]
        account: Option<BareJid>,
        contact: BareJid,
        #[arg(value_enum)]
        setting: Option<EncryptionSetting>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EncryptionSetting {
    On,
    Off,
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Json,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an account; Sotto logs in once to check it before saving.
    Add {
        /// The account's address, like alice@example.org.
        jid: BareJid,
        /// Read the password from the first line of stdin instead of asking.
        #[arg(long)]
        password_stdin: bool,
        /// Connect to this HOST:PORT instead of looking up the domain in DNS.
        #[arg(long, value_name = "HOST:PORT")]
        server: Option<sotto::config::ServerAddress>,
        /// TLS from the first byte (XEP-0368) instead of STARTTLS.
        #[arg(long)]
        direct_tls: bool,
        /// Accept exactly this server certificate (SHA-256), for servers with
        /// a self-signed certificate.
        #[arg(long, value_name = "SHA256")]
        trust_fingerprint: Option<sotto::fingerprint::Fingerprint>,
        /// Save without logging in to check.
        #[arg(long, conflicts_with = "create")]
        no_connect: bool,
        /// Create the account on the server first (XEP-0077 in-band
        /// registration; the server must allow it). Asks for the new
        /// password twice at a terminal.
        #[arg(long)]
        create: bool,
        /// Connect only through Tor (embedded): the connection, its DNS
        /// and knocks never leave this machine directly. .onion servers
        /// work; without --server, the domain's port 5222 (5223 with
        /// --direct-tls) is used, since SRV lookups would bypass Tor.
        #[arg(long)]
        tor: bool,
    },
    /// List the accounts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Pin the server certificate with this SHA-256 fingerprint: from now
    /// on exactly that certificate is accepted for the account.
    Trust {
        jid: BareJid,
        #[arg(value_name = "SHA256")]
        fingerprint: sotto::fingerprint::Fingerprint,
    },
    /// Remove an account and its stored password.
    Remove { jid: BareJid },
}
