//! `sotto knock` and `sotto push-info`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;
use sotto::knock::{KnockPolicy, PushInfo, Token};
use sotto::model::BareJid;
use sotto::store::{PushSource, now_ms};

use secrecy::SecretString;
use sotto::config::AccountConfig;
use sotto::engine::{Command as EngineCommand, Event};
use sotto::store::Store;
use sotto::xmpp::RetryPolicy;

use super::args::PushInfoArgs;
use super::{Context, PushInfoCommand, connect, runtime};

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
            info,
        } => {
            let info = parse_info(info)?;
            add_manual(ctx, account.as_ref(), &contact, info)
        }
        PushInfoCommand::Fetch { account, contact } => {
            let (account, password, store) = ctx.login(account.as_ref())?;
            let (relay, tokens) = runtime()?.block_on(fetch(store, account, password, &contact))?;
            print_knockable(&contact, &relay, tokens);
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::Publish { account, info } => {
            let info = parse_info(info)?;
            let (account, password, store) = ctx.login(account.as_ref())?;
            runtime()?.block_on(publish(store, account, password, Some(info.to_json())))?;
            println!("Published: contacts who see your presence can knock your phone.");
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::AutoKnock {
            account,
            contact,
            on,
        } => {
            let account = ctx.account(account.as_ref())?;
            if !ctx
                .store()?
                .set_auto_knock(account.jid.as_str(), contact.as_str(), on)?
            {
                bail!("there is no push info for {contact}; add or fetch it first");
            }
            println!(
                "Auto-knock for {contact} is {}.",
                if on { "on" } else { "off" }
            );
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::Unpublish { account } => {
            let (account, password, store) = ctx.login(account.as_ref())?;
            runtime()?.block_on(publish(store, account, password, None))?;
            println!("Your push info is no longer published.");
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::AddLink { account, uri } => {
            let (contact, info) = PushInfo::from_xmpp_uri(&uri)?;
            let contact: BareJid = contact
                .parse()
                .map_err(|e| anyhow::anyhow!("the link names no valid address: {e}"))?;
            add_manual(ctx, account.as_ref(), &contact, info)
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
    let (account, password, store) = ctx.login(account)?;
    let (acc, who) = (account.jid.as_str(), contact.as_str());
    if store.push_info(acc, who)?.is_none() {
        // Fetch on demand: the contact may have published it.
        runtime()?.block_on(fetch(store.clone(), account.clone(), password, contact))?;
    }
    let Some(stored) = store.push_info(acc, who)? else {
        bail!("{contact} has no usable push info");
    };
    if let Some(wait) = sotto::knock::cooldown_left(stored.last_knock_at, now_ms()) {
        bail!(
            "{contact} was knocked moments ago; wait {} s before knocking again",
            (wait + 999) / 1000
        );
    }
    let policy = KnockPolicy {
        allow_insecure: insecure_relay,
        ..KnockPolicy::default()
    };
    let relay = stored.info.endpoint.host_str().unwrap_or("?").to_owned();
    let started = std::time::Instant::now();
    // A Tor account knocks only through Tor, with the same arti state as
    // its connection (Sotto's data folder).
    let route = if account.tor {
        sotto::knock::KnockRoute::Tor(sotto::tor::Tor::new(Some(sotto::tor::TorSettings::under(
            &ctx.paths,
        ))))
    } else {
        sotto::knock::KnockRoute::Direct
    };
    let report = runtime()?.block_on(sotto::knock::knock_via(&stored.info, policy, &route));
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

fn parse_info(args: PushInfoArgs) -> Result<PushInfo> {
    Ok(match args.json {
        Some(json) => PushInfo::from_json(&json)?,
        None => {
            let tokens = args
                .tokens
                .iter()
                .map(|t| Token::parse(t))
                .collect::<Result<Vec<_>, _>>()?;
            PushInfo::new(args.endpoint.as_deref().unwrap_or_default(), tokens)?
        }
    })
}

/// Connects, fetches the contact's PEP push info into the store, and
/// returns the relay host and token count.
async fn fetch(
    store: Store,
    account: AccountConfig,
    password: SecretString,
    contact: &BareJid,
) -> Result<(String, usize)> {
    let mut online = connect::connect(store, account, password, None, RetryPolicy::Never).await?;
    online.engine.send(EngineCommand::FetchPushInfo {
        account: online.account.jid.clone(),
        contact: contact.clone(),
    })?;
    let outcome = loop {
        match online.events.recv().await {
            Some(Event::PushInfoLearned {
                contact: c,
                relay,
                tokens,
                ..
            }) if &c == contact => break Ok((relay, tokens)),
            Some(Event::PushInfoRejected {
                contact: c, reason, ..
            }) if &c == contact => {
                break Err(anyhow::anyhow!("{reason}; their phone cannot be knocked"));
            }
            Some(_) => {}
            None => break Err(anyhow::anyhow!("the connection closed")),
        }
    };
    online.close().await;
    outcome
}

/// Publishes (`Some(json)`) or takes down (`None`) our own push info.
async fn publish(
    store: Store,
    account: AccountConfig,
    password: SecretString,
    json: Option<String>,
) -> Result<()> {
    let mut online = connect::connect(store, account, password, None, RetryPolicy::Never).await?;
    let jid = online.account.jid.clone();
    online.engine.send(match json {
        Some(json) => EngineCommand::PublishPushInfo { account: jid, json },
        None => EngineCommand::RetractPushInfo { account: jid },
    })?;
    let outcome = loop {
        match online.events.recv().await {
            Some(Event::PushInfoPublished { error: None, .. }) => break Ok(()),
            Some(Event::PushInfoPublished { error: Some(e), .. }) => {
                break Err(anyhow::anyhow!("{e}"));
            }
            Some(_) => {}
            None => break Err(anyhow::anyhow!("the connection closed")),
        }
    };
    online.close().await;
    outcome
}

/// Stores push info the user gave by hand and says what it allows.
fn add_manual(
    ctx: &mut Context,
    account: Option<&BareJid>,
    contact: &BareJid,
    info: PushInfo,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let stored = ctx.store()?.add_push_info(
        account.jid.as_str(),
        contact.as_str(),
        info,
        PushSource::Manual,
    )?;
    let relay = stored.info.endpoint.host_str().unwrap_or("?");
    print_knockable(contact, relay, stored.info.tokens.len());
    Ok(ExitCode::SUCCESS)
}

fn print_knockable(contact: &BareJid, relay: &str, tokens: usize) {
    let plural = if tokens == 1 { "" } else { "s" };
    println!("{contact} can now be knocked through {relay} ({tokens} token{plural}).");
}
