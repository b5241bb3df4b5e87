//! `sotto knock` and `sotto push-info`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;
use sotto::knock::{KnockPolicy, PushInfo, Token};
use sotto::model::BareJid;
use sotto::store::{PushSource, now_ms};

use super::{Context, PushInfoCommand, runtime};

/// A relay is never knocked twice for the same contact within this.
const COOLDOWN_MS: i64 = 30_000;

pub fn push_info(ctx: &mut Context, command: PushInfoCommand) -> Result<ExitCode> {
    match command {
        PushInfoCommand::Show {
            account,
            contact,
            json,
        } => {
            let account = ctx.account(account.as_ref())?;
            let store = ctx.store()?;
            let Some(stored) = store.push_info(account.jid.as_str(), contact.as_str())? else {
                bail!("there is no push info for {contact}");
            };
            let host = stored.info.endpoint.host_str().unwrap_or("?").to_owned();
            let hints: Vec<String> = stored.info.tokens.iter().map(Token::hint).collect();
            if json {
                println!(
                    "{}",
                    json!({
                        "contact": contact.as_str(),
                        "relay": host,
                        "knock_url": stored.info.knock_url().as_str(),
                        "tokens": hints,
                        "source": stored.source,
                        "last_knock_at": stored.last_knock_at,
                        "last_result": stored.last_result,
                    })
                );
            } else {
                println!("{contact} can be knocked through {host}");
                println!("  tokens:      {} ({})", hints.len(), hints.join(", "));
                println!("  source:      {:?}", stored.source);
                if let Some(result) = &stored.last_result {
                    println!("  last knock:  {result}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::Add {
            account,
            contact,
            endpoint,
            tokens,
            json,
        } => {
            let account = ctx.account(account.as_ref())?;
            let info = match json {
                Some(json) => PushInfo::from_json(&json)?,
                None => {
                    let tokens = tokens
                        .iter()
                        .map(|t| Token::parse(t))
                        .collect::<Result<Vec<_>, _>>()?;
                    PushInfo::new(endpoint.as_deref().unwrap_or_default(), tokens)?
                }
            };
            let store = ctx.store()?;
            let stored = store.add_push_info(
                account.jid.as_str(),
                contact.as_str(),
                info,
                PushSource::Manual,
            )?;
            println!(
                "{contact} can now be knocked through {} ({} token{}).",
                stored.info.endpoint.host_str().unwrap_or("?"),
                stored.info.tokens.len(),
                if stored.info.tokens.len() == 1 {
                    ""
                } else {
                    "s"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::Remove { account, contact } => {
            let account = ctx.account(account.as_ref())?;
            if !ctx
                .store()?
                .remove_push_info(account.jid.as_str(), contact.as_str())?
            {
                bail!("there is no push info for {contact}");
            }
            println!("Forgot the push info of {contact}.");
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn knock(
    ctx: &mut Context,
    account: Option<&BareJid>,
    contact: &BareJid,
    json: bool,
    insecure_relay: bool,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let store = ctx.store()?;
    let (acc, who) = (account.jid.as_str(), contact.as_str());
    let Some(stored) = store.push_info(acc, who)? else {
        bail!(
            "{contact} has not shared push info, so their phone cannot be knocked; \
             add it with `sotto push-info add`"
        );
    };
    if let Some(at) = stored.last_knock_at {
        let wait = COOLDOWN_MS - (now_ms() - at);
        if wait > 0 {
            bail!(
                "{contact} was knocked {} s ago; wait {} s before knocking again",
                (now_ms() - at) / 1000,
                (wait + 999) / 1000
            );
        }
    }
    let policy = KnockPolicy {
        allow_insecure: insecure_relay,
        ..KnockPolicy::default()
    };
    let relay = stored.info.endpoint.host_str().unwrap_or("?").to_owned();
    let started = std::time::Instant::now();
    let report = runtime()?.block_on(sotto::knock::knock(&stored.info, policy));
    let elapsed_ms = started.elapsed().as_millis();
    let result_text = match &report.result {
        Ok(_) => "accepted".to_owned(),
        Err(e) => e.to_string(),
    };
    let contacted = report
        .result
        .as_ref()
        .map_or_else(|e| e.reached_relay(), |_| true);
    store.record_knock(acc, who, &result_text, &report.dropped, contacted)?;
    match report.result {
        Ok(token) => {
            if json {
                println!(
                    "{}",
                    json!({
                        "result": "accepted",
                        "contact": who,
                        "relay": relay,
                        "token": token.hint(),
                        "dropped_tokens": report.dropped.len(),
                        "elapsed_ms": elapsed_ms,
                    })
                );
            } else {
                println!("Knocked: {contact}'s phone was woken (through {relay}).");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    json!({
                        "result": "failed",
                        "contact": who,
                        "relay": relay,
                        "reason": e.to_string(),
                        "dropped_tokens": report.dropped.len(),
                    })
                );
            }
            bail!("could not knock {contact}: {e}")
        }
    }
}
