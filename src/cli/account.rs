//! `sotto account ...`

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use secrecy::SecretString;
use serde::Serialize;
use sotto::config::{AccountConfig, PasswordStore};
use sotto::model::BareJid;
use sotto::xmpp::RetryPolicy;

use sotto::secrets::Secrets;

use super::{AccountCommand, Context, connect, runtime};

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
    let store = ctx.store()?;
    let secrets = ctx.secrets()?;
    if !no_connect {
        let store = store.clone();
        let online = runtime()?.block_on(async {
            let online = connect::connect_or_create(
                store,
                account.clone(),
                password.clone(),
                None,
                RetryPolicy::Never,
                create,
            )
            .await?;
            let jid = online.jid.clone();
            online.close().await;
            anyhow::Ok(jid)
        })?;
        tracing::info!(bound = %online, "login checked");
    }
    let stored = secrets
        .store_password(&account.jid, &password)
        .context("could not store the password")?;
    if let Some(reason) = &stored.keychain_unavailable {
        eprintln!(
            "sotto: no system keychain is reachable ({reason}); the password is kept in \
             Sotto's encrypted database, unlocked by your passphrase (or SOTTO_PASSPHRASE)"
        );
    }
    account.password_store = stored.store;
    let jid = account.jid.clone();
    ctx.config.add_account(account)?;
    if let Err(e) = ctx.save() {
        // Do not leave an orphan secret behind a settings file that failed.
        let _ = secrets.delete_password(&jid, stored.store);
        return Err(e);
    }
    if create {
        println!(
            "Created {jid} on its server and added it; its password is in {}.",
            stored.store
        );
    } else {
        println!("Added {jid}; its password is in {}.", stored.store);
    }
    Ok(ExitCode::SUCCESS)
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
    let account = ctx.config.remove_account(jid)?;
    let store = ctx.store()?;
    if let Err(e) = store.remove_account(jid.as_str()) {
        eprintln!("sotto: the stored messages of {jid} could not be removed: {e}");
    }
    if let Err(e) = Secrets::new(store).delete_password(jid, account.password_store) {
        eprintln!(
            "sotto: the password could not be removed from {}: {e}",
            account.password_store
        );
    }
    ctx.save()?;
    println!("Removed {jid}.");
    Ok(ExitCode::SUCCESS)
}
