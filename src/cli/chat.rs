//! `sotto send`, `sotto listen`, `sotto contacts`.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde_json::json;
use sotto::engine::{Command, Engine, Event};
use sotto::model::{BareJid, ConnectionState, OutgoingMessage, OutgoingState};
use sotto::store::{ChatEncryption, Direction, StoredMessage};

use super::connect::{self, Login};
use super::{Context, human, runtime};

/// `--plain` is for a chat that would encrypt by itself; one the user (or
/// an earlier encrypted message) made always-encrypted refuses it, before
/// anything is queued.
fn refuse_plain_where_always_encrypted(
    ctx: &mut Context,
    account: &BareJid,
    to: &BareJid,
    plain: bool,
) -> Result<()> {
    if !plain {
        return Ok(());
    }
    let setting = ctx
        .reader()?
        .chat_encryption(account.as_str(), to.as_str())
        .context("could not read the chat's settings")?;
    if setting == ChatEncryption::On {
        bail!(
            "the chat with {to} is always encrypted, so --plain is refused; to send in clear, \
             turn its encryption off first: sotto omemo encryption {to} off"
        );
    }
    Ok(())
}

pub fn send(
    ctx: &mut Context,
    account: Option<&BareJid>,
    to: BareJid,
    text: String,
    plain: bool,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    refuse_plain_where_always_encrypted(ctx, &account.jid, &to, plain)?;
    let to_room = ctx
        .reader()?
        .rooms(account.jid.as_str())?
        .iter()
        .any(|r| r.jid == to.as_str());
    let database = ctx.database()?;
    let body = if text == "-" {
        let mut body = String::new();
        std::io::stdin()
            .read_to_string(&mut body)
            .context("could not read the message from stdin")?;
        body.trim_end_matches('\n').to_owned()
    } else {
        text
    };
    if body.trim().is_empty() {
        bail!("the message is empty");
    }
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        let id = Engine::new_message_id();
        online.engine.send(Command::SendMessage {
            account: online.account.jid.clone(),
            message: OutgoingMessage {
                id: id.clone(),
                to: to.clone(),
                body,
                plain,
            },
        })?;
        // With stream management the server's ack proves it has the
        // message; without, a clean close after writing it does.
        let wanted = if to_room {
            // The room's copy of it, sent back to us, proves the room
            // passed it on.
            OutgoingState::Delivered
        } else if online.acks {
            OutgoingState::Acked
        } else {
            OutgoingState::Sent
        };
        while let Some(event) = online.events.recv().await {
            match event {
                Event::MessageState { id: got, state, .. } if got == id => match state {
                    OutgoingState::Failed { reason } => bail!("{reason}"),
                    state if state == wanted => break,
                    _ => {}
                },
                Event::MessageError {
                    id: Some(got),
                    reason,
                    ..
                } if got == id => {
                    bail!("{to} could not be reached: {reason}")
                }
                Event::Connection {
                    state: ConnectionState::Failed { reason, .. },
                    ..
                } => bail!("{reason}"),
                _ => {}
            }
        }
        online.close().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn listen(
    ctx: &mut Context,
    account: Option<&BareJid>,
    count: Option<u64>,
    json: bool,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let database = ctx.database()?;
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::present(account)).await?;
        eprintln!("Listening as {}", online.jid);
        let mut messages = 0u64;
        let mut out = std::io::stdout().lock();
        if count == Some(0) {
            online.close().await;
            return Ok(());
        }
        loop {
            let event = tokio::select! {
                event = online.events.recv() => event,
                _ = tokio::signal::ctrl_c() => break,
            };
            let Some(event) = event else { break };
            for message in incoming(&event) {
                print_incoming(&mut out, &event, message, json)?;
                messages += 1;
            }
            match &event {
                Event::Presence { update, .. } => {
                    if json {
                        writeln!(out, "{}", serde_json::to_string(&event)?)?;
                    } else {
                        let status = update
                            .status
                            .as_deref()
                            .map(|s| format!(" ({})", human(s)))
                            .unwrap_or_default();
                        writeln!(out, "* {} is {}{status}", update.from, update.availability)?;
                    }
                }
                Event::RoomJoined { room, nick, .. } => {
                    if json {
                        writeln!(out, "{}", serde_json::to_string(&event)?)?;
                    } else {
                        writeln!(out, "* in {room} as {}", human(nick))?;
                    }
                }
                Event::RoomJoinFailed { room, reason, .. } => {
                    if json {
                        writeln!(out, "{}", serde_json::to_string(&event)?)?;
                    } else {
                        writeln!(out, "* {room} refused: {}", human(reason))?;
                    }
                }
                Event::RoomLeft {
                    room, departure, ..
                } => {
                    if json {
                        writeln!(out, "{}", serde_json::to_string(&event)?)?;
                    } else {
                        writeln!(out, "* out of {room}: {}", departure_text(departure))?;
                    }
                }
                Event::Subscription { from, change, .. } => {
                    if json {
                        writeln!(out, "{}", serde_json::to_string(&event)?)?;
                    } else {
                        writeln!(out, "* {from}: subscription {change:?}")?;
                    }
                }
                Event::Connection { state, .. } => {
                    online.report(state)?;
                    if let ConnectionState::Online { jid, .. } = state {
                        eprintln!("Listening as {jid}");
                    }
                }
                _ => {}
            }
            out.flush()?;
            if count.is_some_and(|n| messages >= n) {
                break;
            }
        }
        online.close().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn contacts(ctx: &mut Context, account: Option<&BareJid>, json: bool) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let database = ctx.database()?;
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        let mut contacts = loop {
            match online.events.recv().await {
                Some(Event::Roster { contacts, .. }) => break contacts,
                Some(_) => {}
                None => bail!("the connection closed before the contact list arrived"),
            }
        };
        online.close().await;
        contacts.sort_by(|a, b| a.jid.as_str().cmp(b.jid.as_str()));
        let mut out = std::io::stdout().lock();
        if json {
            for c in &contacts {
                writeln!(out, "{}", serde_json::to_string(&json!(c))?)?;
            }
        } else if contacts.is_empty() {
            writeln!(out, "No contacts yet.")?;
        } else {
            for c in &contacts {
                let name = c
                    .name
                    .as_deref()
                    .map(|n| format!("{} ", human(n)))
                    .unwrap_or_default();
                let pending = if c.pending_out {
                    ", request pending"
                } else {
                    ""
                };
                let groups = if c.groups.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", human(&c.groups.join(", ")))
                };
                writeln!(
                    out,
                    "{name}<{}>  subscription: {}{pending}{groups}",
                    c.jid, c.subscription
                )?;
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn chat(
    ctx: &mut Context,
    account: Option<&BareJid>,
    with: BareJid,
    json: bool,
    plain: bool,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    refuse_plain_where_always_encrypted(ctx, &account.jid, &with, plain)?;
    let database = ctx.database()?;
    let jid = account.jid.to_string();
    // Lines are read on a thread of their own: stdin blocks.
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::present(account)).await?;
        eprintln!("Chatting with {with} as {}", online.jid);
        let mut out = std::io::stdout().lock();
        let mut input_open = true;
        let mut caught_up = false;
        let reader = online.engine.reader().clone();
        let outbox_empty = || reader.outbox(&jid).map(|o| o.is_empty()).unwrap_or(false);
        loop {
            if !input_open && caught_up && outbox_empty() {
                break;
            }
            let event = tokio::select! {
                line = lines.recv(), if input_open => {
                    match line {
                        Some(line) if !line.trim().is_empty() => {
                            online.engine.send(Command::SendMessage {
                                account: online.account.jid.clone(),
                                message: OutgoingMessage {
                                    id: Engine::new_message_id(),
                                    to: with.clone(),
                                    body: line,
                                    plain,
                                },
                            })?;
                        }
                        Some(_) => {}
                        None => input_open = false,
                    }
                    continue;
                }
                event = online.events.recv() => event,
                _ = tokio::signal::ctrl_c() => break,
            };
            let Some(event) = event else { break };
            for message in incoming(&event) {
                print_incoming(&mut out, &event, message, json)?;
                out.flush()?;
            }
            match &event {
                Event::CatchUp { done: true, .. } => caught_up = true,
                Event::Connection { state, .. } => {
                    online.report(state)?;
                    // A fresh stream starts a new catch-up; a resumed one
                    // lost nothing.
                    if matches!(state, ConnectionState::Online { resumed: false, .. }) {
                        caught_up = false;
                    }
                }
                Event::MessageError { reason, .. } => {
                    eprintln!("sotto: not delivered: {}", human(reason));
                }
                _ => {}
            }
        }
        online.close().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The incoming messages an event brings: one live, or a page caught up
/// from the archive.
/// Why we are out of a room, in words.
fn departure_text(departure: &sotto::model::Departure) -> String {
    use sotto::model::Departure;
    let with = |by: &Option<String>, reason: &Option<String>| {
        let by = by
            .as_deref()
            .map(|b| format!(" by {}", human(b)))
            .unwrap_or_default();
        let reason = reason
            .as_deref()
            .map(|r| format!(" ({})", human(r)))
            .unwrap_or_default();
        format!("{by}{reason}")
    };
    match departure {
        Departure::Left => "left".into(),
        Departure::Kicked { by, reason } => format!("kicked{}", with(by, reason)),
        Departure::Banned { by, reason } => format!("banned{}", with(by, reason)),
        Departure::Removed => "no longer allowed in the room".into(),
        Departure::Shutdown => "the room's service shut down".into(),
        Departure::Destroyed { reason } => format!("the room was destroyed{}", with(&None, reason)),
    }
}

fn incoming(event: &Event) -> Vec<&StoredMessage> {
    let all: Vec<&StoredMessage> = match event {
        Event::Message { message, .. } => vec![message],
        Event::Archived { messages, .. } => messages.iter().collect(),
        _ => Vec::new(),
    };
    all.into_iter()
        .filter(|m| m.direction == Direction::In)
        .collect()
}

/// One line per message: `sender: body`, or the JSON of a message event.
fn print_incoming(
    out: &mut impl Write,
    event: &Event,
    message: &StoredMessage,
    json: bool,
) -> Result<()> {
    if json {
        let account = match event {
            Event::Message { account, .. } | Event::Archived { account, .. } => account.clone(),
            _ => return Ok(()),
        };
        let single = Event::Message {
            account,
            message: message.clone(),
        };
        writeln!(out, "{}", serde_json::to_string(&single)?)?;
    } else {
        writeln!(out, "{}: {}", message.sender, human(&message.body))?;
    }
    Ok(())
}
