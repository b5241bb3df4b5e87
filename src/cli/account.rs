//! `sotto account ...`

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use secrecy::SecretString;
use serde::Serialize;
use sotto::config::{AccountConfig, PasswordStore};
use sotto::engine::{Command as EngineCommand, Event};
use sotto::model::BareJid;

use super::connect::{self, Login};
use super::{AccountCommand, Context, runtime};

pub fn run(ctx: &mut Context, command: AccountCommand) -> Result<ExitCode> {
    match command {
        AccountCommand::Add {
            jid,
            password_stdin,
            server,
            direct_tls,
            trust_fingerprint,
            no_connect,
            create,
            tor,
        } => {
            let account = AccountConfig {
                jid,
                server,
                direct_tls,
                pinned_certificate: trust_fingerprint,
                // Decided below, once the password is stored.
                password_store: PasswordStore::Keychain,
                enabled: true,
                tor,
            };
            add(ctx, account, password_stdin, no_connect, create)
        }
        AccountCommand::List { json } => list(ctx, json),
        AccountCommand::Trust { jid, fingerprint } => {
            ctx.config.account_mut(&jid)?.pinned_certificate = Some(fingerprint);
            ctx.save()?;
            println!("{jid} now accepts only the certificate {fingerprint}.");
            Ok(ExitCode::SUCCESS)
        }
        AccountCommand::Remove { jid } => remove(ctx, &jid),
    }
}

fn read_password(from_stdin: bool, jid: &BareJid, create: bool) -> Result<SecretString> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("could not read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let password = rpassword::prompt_password(if create {
            format!("New password for {jid}: ")
        } else {
            format!("Password for {jid}: ")
        })
        .context("could not read the password")?;
        if create
            && rpassword::prompt_password("The same password again: ")
                .context("could not read the password")?
                != password
        {
            bail!("the two passwords differ; nothing was created");
        }
        password
    } else {
        bail!("no terminal to ask for the password: pass it with --password-stdin");
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(SecretString::from(password))
}

fn add(
    ctx: &mut Context,
    mut account: AccountConfig,
    password_stdin: bool,
    no_connect: bool,
    create: bool,
) -> Result<ExitCode> {
    if account.jid.node().is_none() {
        bail!(
            "{} is a server, not an account: give the full address, like alice@{}",
            account.jid,
            account.jid
        );
    }
    if ctx.config.account(&account.jid).is_some() {
        bail!("the account {} already exists", account.jid);
    }
    let password = read_password(password_stdin, &account.jid, create)?;
    let database = ctx.database()?;
    let jid = account.jid.clone();
    let runtime = runtime()?;
    let (mut running, stored) = runtime.block_on(async {
        let mut running = connect::start(database, false)?;
        if !no_connect {
            let online = connect::connect(
                running,
                Login {
                    password: Some(password.clone()),
                    create,
                    ..Login::once(account.clone())
                },
            )
            .await?;
            tracing::info!(bound = %online.jid, "login checked");
            running = online.stop().await;
        }
        running.send(EngineCommand::StorePassword {
            account: jid.clone(),
            password,
        })?;
        let stored = running
            .wait_for(|event| match event {
                Event::PasswordStored {
                    account,
                    store,
                    keychain_unavailable,
                    error,
                } if *account == jid => Some(match (store, error) {
                    (Some(store), _) => Ok((*store, keychain_unavailable.clone())),
                    (None, error) => Err(anyhow!(
                        "could not store the password: {}",
                        error.as_deref().unwrap_or("unknown reason")
                    )),
                }),
                _ => None,
            })
            .await
            .ok_or_else(|| anyhow!("the engine stopped"))??;
        anyhow::Ok((running, stored))
    })?;
    let (store, keychain_unavailable) = stored;
    if let Some(reason) = &keychain_unavailable {
        eprintln!(
            "sotto: no system keychain is reachable ({reason}); the password is kept in \
             Sotto's encrypted database, unlocked by your passphrase (or SOTTO_PASSPHRASE)"
        );
    }
    account.password_store = store;
    ctx.config.add_account(account)?;
    if let Err(e) = ctx.save() {
        // Do not leave an orphan secret behind a settings file that failed.
        runtime.block_on(forget(&mut running, &jid, store));
        return Err(e);
    }
    running.shutdown();
    if create {
        println!("Created {jid} on its server and added it; its password is in {store}.");
    } else {
        println!("Added {jid}; its password is in {store}.");
    }
    Ok(ExitCode::SUCCESS)
}

/// Has the engine forget an account's password and data; problems are
/// said, not fatal (the settings no longer name it).
async fn forget(running: &mut connect::Running, jid: &BareJid, store: PasswordStore) {
    let command = EngineCommand::ForgetAccount {
        account: jid.clone(),
        password_store: store,
    };
    if running.send(command).is_err() {
        return;
    }
    let error = running
        .wait_for(|event| match event {
            Event::AccountForgotten { account, error } if account == jid => Some(error.clone()),
            _ => None,
        })
        .await
        .flatten();
    if let Some(error) = error {
        eprintln!("sotto: {jid}: {error}");
    }
}

#[derive(Serialize)]
struct AccountRow<'a> {
    jid: &'a BareJid,
    server: Option<String>,
    tls: &'static str,
    pinned_certificate: Option<String>,
    password_store: PasswordStore,
    enabled: bool,
    tor: bool,
}

fn list(ctx: &Context, json: bool) -> Result<ExitCode> {
    let rows: Vec<AccountRow<'_>> = ctx
        .config
        .accounts
        .iter()
        .map(|a| AccountRow {
            jid: &a.jid,
            server: a.server.as_ref().map(ToString::to_string),
            tls: if a.direct_tls { "direct" } else { "starttls" },
            pinned_certificate: a.pinned_certificate.map(|f| f.to_string()),
            password_store: a.password_store,
            enabled: a.enabled,
            tor: a.tor,
        })
        .collect();
    if json {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("No accounts yet. Add one with: sotto account add alice@example.org");
    }
    for row in rows {
        println!(
            "{}{}",
            row.jid,
            if row.enabled { "" } else { " (disabled)" }
        );
        println!(
            "  server:   {} ({})",
            row.server.as_deref().unwrap_or("found through DNS"),
            if row.tls == "direct" {
                "direct TLS"
            } else {
                "STARTTLS"
            }
        );
        if let Some(fp) = row.pinned_certificate {
            println!("  pinned:   {fp}");
        }
        if row.tor {
            println!("  network:  only through Tor");
        }
        println!("  password: in {}", row.password_store);
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(ctx: &mut Context, jid: &BareJid) -> Result<ExitCode> {
    let account = ctx.account(Some(jid))?;
    let database = ctx.database()?;
    runtime()?.block_on(async {
        let mut running = connect::start(database, false)?;
        forget(&mut running, jid, account.password_store).await;
        running.shutdown();
        anyhow::Ok(())
    })?;
    ctx.config.remove_account(jid)?;
    ctx.save()?;
    println!("Removed {jid}.");
    Ok(ExitCode::SUCCESS)
}
