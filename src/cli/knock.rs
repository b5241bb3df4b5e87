//! `sotto knock` and `sotto push-info`: reads from the store, everything
//! else through the engine (which keeps the cooldown, the route and the
//! store's copy).

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use serde_json::json;
use sotto::engine::{Command as EngineCommand, Event};
use sotto::knock::{PushInfo, Token};
use sotto::model::BareJid;

use super::args::PushInfoArgs;
use super::connect::{self, Login, Running};
use super::{Context, PushInfoCommand, human, runtime};

pub fn push_info(ctx: &mut Context, command: PushInfoCommand) -> Result<ExitCode> {
    match command {
        PushInfoCommand::Show {
            account,
            contact,
            json,
        } => {
            let account = ctx.account(account.as_ref())?;
            let reader = ctx.reader()?;
            let Some(stored) = reader.push_info(account.jid.as_str(), contact.as_str())? else {
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
                        "auto_knock": stored.auto_knock,
                    })
                );
            } else {
                println!("{contact} can be knocked through {host}");
                println!("  tokens:      {} ({})", hints.len(), hints.join(", "));
                println!("  source:      {:?}", stored.source);
                if let Some(result) = &stored.last_result {
                    println!("  last knock:  {}", human(result));
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
            let account = ctx.account(account.as_ref())?;
            let database = ctx.database()?;
            let (relay, tokens) = runtime()?.block_on(async {
                let running = connect::start(database, false)?;
                let (running, outcome) = fetch(running, account, &contact).await?;
                running.shutdown();
                outcome
            })?;
            print_knockable(&contact, &relay, tokens);
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::Publish { account, info } => {
            let info = parse_info(info)?;
            publish(ctx, account.as_ref(), Some(info.to_json()))?;
            println!("Published: contacts who see your presence can knock your phone.");
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::Send {
            account,
            contact,
            info,
        } => {
            let info = parse_info(info)?;
            send_directly(ctx, account.as_ref(), &contact, info.to_json())?;
            println!(
                "Sent to {contact} only, end-to-end encrypted: their devices can knock your phone."
            );
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::Unpublish { account } => {
            publish(ctx, account.as_ref(), None)?;
            println!("Your push info is no longer published.");
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::AutoKnock {
            account,
            contact,
            on,
        } => {
            let account = ctx.account(account.as_ref())?;
            let jid = account.jid.clone();
            let target = contact.clone();
            engine_answer(
                ctx,
                EngineCommand::SetAutoKnock {
                    account: jid,
                    contact: contact.clone(),
                    on,
                },
                move |event| match event {
                    Event::AutoKnock { contact, .. } if *contact == target => Some(Ok(())),
                    Event::PushInfoRejected { contact, .. } if *contact == target => Some(Err(
                        anyhow!("there is no push info for {target}; add or fetch it first"),
                    )),
                    _ => None,
                },
            )?;
            println!(
                "Auto-knock for {contact} is {}.",
                if on { "on" } else { "off" }
            );
            Ok(ExitCode::SUCCESS)
        }
        PushInfoCommand::AddLink { account, uri } => {
            let (contact, info) = PushInfo::from_xmpp_uri(&uri)?;
            let contact: BareJid = contact
                .parse()
                .map_err(|e| anyhow!("the link names no valid address: {e}"))?;
            add_manual(ctx, account.as_ref(), &contact, info)
        }
        PushInfoCommand::Remove { account, contact } => {
            let account = ctx.account(account.as_ref())?;
            let target = contact.clone();
            let removed = engine_answer(
                ctx,
                EngineCommand::RemovePushInfo {
                    account: account.jid.clone(),
                    contact: contact.clone(),
                },
                move |event| match event {
                    Event::PushInfoRemoved {
                        contact, removed, ..
                    } if *contact == target => Some(Ok(*removed)),
                    Event::PushInfoRejected {
                        contact, reason, ..
                    } if *contact == target => Some(Err(anyhow!("{}", human(reason)))),
                    _ => None,
                },
            )?;
            if !removed {
                bail!("there is no push info for {contact}");
            }
            println!("Forgot the push info of {contact}.");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Sends one command to an engine started for it and waits for its answer.
pub(super) fn engine_answer<T>(
    ctx: &mut Context,
    command: EngineCommand,
    answer: impl FnMut(&Event) -> Option<Result<T>>,
) -> Result<T> {
    let database = ctx.database()?;
    runtime()?.block_on(async {
        let mut running = connect::start(database, false)?;
        running.send(command)?;
        let outcome = running
            .wait_for(answer)
            .await
            .ok_or_else(|| anyhow!("the engine stopped"))?;
        running.shutdown();
        outcome
    })
}

pub fn knock(
    ctx: &mut Context,
    account: Option<&BareJid>,
    contact: &BareJid,
    json: bool,
    insecure_relay: bool,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let reader = ctx.reader()?;
    let database = ctx.database()?;
    let started = std::time::Instant::now();
    let (relay, error, token, dropped) = runtime()?.block_on(async {
        let mut running = connect::start(database, insecure_relay)?;
        // The engine knocks the way the account connects (Tor or not).
        running.send(EngineCommand::Configure(Box::new(account.clone())))?;
        if reader
            .push_info(account.jid.as_str(), contact.as_str())?
            .is_none()
        {
            // Fetch on demand: the contact may have published it.
            let (back, outcome) = fetch(running, account.clone(), contact).await?;
            running = back;
            outcome?;
        }
        running.send(EngineCommand::Knock {
            account: account.jid.clone(),
            contact: contact.clone(),
        })?;
        let outcome = running
            .wait_for(|event| match event {
                Event::Knocked {
                    contact: c,
                    relay,
                    error,
                    token,
                    dropped_tokens,
                    ..
                } if c == contact => {
                    Some((relay.clone(), error.clone(), token.clone(), *dropped_tokens))
                }
                _ => None,
            })
            .await
            .ok_or_else(|| anyhow!("the engine stopped"))?;
        running.shutdown();
        anyhow::Ok(outcome)
    })?;
    let who = contact.as_str();
    match (relay, error) {
        (Some(relay), None) => {
            if json {
                println!(
                    "{}",
                    json!({
                        "result": "accepted",
                        "contact": who,
                        "relay": relay,
                        "token": token,
                        "dropped_tokens": dropped,
                        "elapsed_ms": started.elapsed().as_millis(),
                    })
                );
            } else {
                println!("Knocked: {contact}'s phone was woken (through {relay}).");
            }
            Ok(ExitCode::SUCCESS)
        }
        (_, error) => {
            let reason = error.unwrap_or_else(|| "unknown reason".into());
            if json {
                println!(
                    "{}",
                    json!({
                        "result": "failed",
                        "contact": who,
                        "reason": reason,
                        "dropped_tokens": dropped,
                    })
                );
            }
            bail!("could not knock {contact}: {}", human(&reason))
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
/// returns the engine (account stopped) with the relay host and token
/// count, or why there is none.
async fn fetch(
    running: Running,
    account: sotto::config::AccountConfig,
    contact: &BareJid,
) -> Result<(Running, Result<(String, usize)>)> {
    let mut online = connect::connect(running, Login::once(account)).await?;
    online.engine.send(EngineCommand::FetchPushInfo {
        account: online.account.jid.clone(),
        contact: contact.clone(),
    })?;
    let outcome = online
        .wait_for(|event| match event {
            Event::PushInfoLearned {
                contact: c,
                relay,
                tokens,
                ..
            } if c == contact => Some(Ok((relay.clone(), *tokens))),
            Event::PushInfoRejected {
                contact: c, reason, ..
            } if c == contact => Some(Err(anyhow!(
                "{}; their phone cannot be knocked",
                human(reason)
            ))),
            _ => None,
        })
        .await;
    Ok((online.stop().await, outcome))
}

/// Publishes (`Some(json)`) or takes down (`None`) our own push info.
fn publish(ctx: &mut Context, account: Option<&BareJid>, json: Option<String>) -> Result<()> {
    let account = ctx.account(account)?;
    let database = ctx.database()?;
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        let jid = online.account.jid.clone();
        online.engine.send(match json {
            Some(json) => EngineCommand::PublishPushInfo { account: jid, json },
            None => EngineCommand::RetractPushInfo { account: jid },
        })?;
        let outcome = online
            .wait_for(|event| match event {
                Event::PushInfoPublished { error: None, .. } => Some(Ok(())),
                Event::PushInfoPublished { error: Some(e), .. } => {
                    Some(Err(anyhow!("{}", human(e))))
                }
                _ => None,
            })
            .await;
        online.close().await;
        outcome
    })
}

/// Sends our push info to one contact, inside OMEMO 2 encryption.
fn send_directly(
    ctx: &mut Context,
    account: Option<&BareJid>,
    contact: &BareJid,
    json: String,
) -> Result<()> {
    let account = ctx.account(account)?;
    let database = ctx.database()?;
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        online.engine.send(EngineCommand::SendPushInfo {
            account: online.account.jid.clone(),
            contact: contact.clone(),
            json,
        })?;
        let outcome = online
            .wait_for(|event| match event {
                Event::PushInfoSent {
                    contact: to, error, ..
                } if to == contact => Some(match error {
                    None => Ok(()),
                    Some(e) => Err(anyhow!("{}", human(e))),
                }),
                _ => None,
            })
            .await;
        online.close().await;
        outcome
    })
}

/// Stores push info the user gave by hand and says what it allows.
fn add_manual(
    ctx: &mut Context,
    account: Option<&BareJid>,
    contact: &BareJid,
    info: PushInfo,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let target = contact.clone();
    let (relay, tokens) = engine_answer(
        ctx,
        EngineCommand::AddPushInfo {
            account: account.jid.clone(),
            contact: contact.clone(),
            json: info.to_json(),
        },
        move |event| match event {
            Event::PushInfoLearned {
                contact,
                relay,
                tokens,
                ..
            } if *contact == target => Some(Ok((relay.clone(), *tokens))),
            Event::PushInfoRejected {
                contact, reason, ..
            } if *contact == target => Some(Err(anyhow!("{}", human(reason)))),
            _ => None,
        },
    )?;
    print_knockable(contact, &relay, tokens);
    Ok(ExitCode::SUCCESS)
}

fn print_knockable(contact: &BareJid, relay: &str, tokens: usize) {
    let plural = if tokens == 1 { "" } else { "s" };
    println!("{contact} can now be knocked through {relay} ({tokens} token{plural}).");
}
