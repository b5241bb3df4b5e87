//! `sotto history`, `sotto search`, `sotto export`: reads from the local
//! store, no network.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{Local, TimeZone};
use serde_json::json;
use sotto::model::BareJid;
use sotto::store::{Direction, MessageState, StoredMessage};

use super::args::ExportFormat;
use super::{Context, human};

/// A snippet with its matches between « and », for a terminal.
fn marked(snippet: &str, matches: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(snippet.len() + 4 * matches.len());
    let mut at = 0;
    for m in matches {
        let (Some(before), Some(found)) = (snippet.get(at..m.start), snippet.get(m.clone())) else {
            continue;
        };
        out.push_str(before);
        out.push('«');
        out.push_str(found);
        out.push('»');
        at = m.end;
    }
    out.push_str(snippet.get(at..).unwrap_or_default());
    out
}

fn local_time(ms: i64) -> String {
    Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "????-??-?? ??:??".into())
}

fn state_mark(m: &StoredMessage) -> String {
    match m.state {
        MessageState::Queued => " (queued)".into(),
        MessageState::Sent => " (sent)".into(),
        MessageState::Acked => " ✓".into(),
        MessageState::Delivered => " ✓✓".into(),
        MessageState::Read => " ✓✓ read".into(),
        MessageState::Failed => format!(
            " (failed: {})",
            m.failure.as_deref().unwrap_or("unknown reason")
        ),
        MessageState::Received => String::new(),
    }
}

/// `room`: the conversation is a group chat, whose authors are named by
/// their nickname (the part of the sender after the room's address).
fn print_message(out: &mut impl Write, m: &StoredMessage, room: bool) -> std::io::Result<()> {
    let who = match m.direction {
        Direction::Out => "me".to_owned(),
        Direction::In if room => m
            .sender
            .strip_prefix(&m.peer)
            .and_then(|rest| rest.strip_prefix('/'))
            .map_or_else(|| m.peer.clone(), |nick| human(nick).into_owned()),
        Direction::In => m.peer.clone(),
    };
    writeln!(
        out,
        "{}  {who}: {}{}",
        local_time(m.sent_at),
        human(&m.body),
        human(&state_mark(m))
    )
}

pub fn history(
    ctx: &mut Context,
    account: Option<&BareJid>,
    with: &BareJid,
    limit: usize,
    json: bool,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let store = ctx.reader()?;
    let page = store.messages_before(account.jid.as_str(), with.as_str(), None, limit)?;
    let room = store
        .rooms(account.jid.as_str())?
        .iter()
        .any(|r| r.jid == with.as_str());
    let mut out = std::io::stdout().lock();
    if json {
        for m in &page {
            writeln!(out, "{}", serde_json::to_string(m)?)?;
        }
    } else if page.is_empty() {
        writeln!(out, "No messages with {with} yet.")?;
    } else {
        for m in &page {
            print_message(&mut out, m, room)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn search(
    ctx: &mut Context,
    account: Option<&BareJid>,
    query: &str,
    limit: usize,
    json: bool,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let store = ctx.reader()?;
    let hits = store.search(Some(account.jid.as_str()), query, limit)?;
    let mut out = std::io::stdout().lock();
    if json {
        for hit in &hits {
            writeln!(out, "{}", serde_json::to_string(hit)?)?;
        }
    } else if hits.is_empty() {
        writeln!(out, "Nothing found for “{query}”.")?;
    } else {
        for hit in &hits {
            let m = &hit.message;
            let who = match m.direction {
                Direction::Out => format!("me → {}", m.peer),
                Direction::In => m.peer.clone(),
            };
            writeln!(
                out,
                "{}  {who}: {}",
                local_time(m.sent_at),
                human(&marked(&hit.snippet, &hit.matches))
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn export(
    ctx: &mut Context,
    account: Option<&BareJid>,
    format: ExportFormat,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let store = ctx.reader()?;
    let jid = account.jid.as_str();
    match format {
        ExportFormat::Json => {
            let conversations = store.conversations(Some(jid))?;
            let messages = store.all_messages(jid)?;
            let document = json!({
                "format": "sotto-export-1",
                "account": jid,
                "exported_at": chrono::Utc::now().to_rfc3339(),
                "conversations": conversations,
                "messages": messages,
            });
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
