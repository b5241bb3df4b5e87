//! `sotto omemo`: fingerprints, devices and trust from the local store;
//! trust and chat settings through the engine; removing a stale device of
//! ours through the server.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use serde_json::json;
use sotto::engine::{Command as EngineCommand, Event};
use sotto::model::BareJid;
use sotto::omemo::{DeviceId, Profile};
use sotto::store::{ChatEncryption, OmemoTrust, StoredDevice};

use super::args::{EncryptionSetting, OmemoCommand};
use super::connect::{self, Login};
use super::knock::engine_answer;
use super::{Context, human, runtime};

pub fn run(ctx: &mut Context, command: OmemoCommand) -> Result<ExitCode> {
    match command {
        OmemoCommand::Fingerprint { account, json } => fingerprint(ctx, account.as_ref(), json),
        OmemoCommand::Devices {
            account,
            contact,
            json,
        } => devices(ctx, account.as_ref(), contact.as_ref(), json),
        OmemoCommand::Trust {
            account,
            contact,
            device,
            fingerprint,
        } => trust(
            ctx,
            account.as_ref(),
            &contact,
            device,
            fingerprint.as_deref(),
        ),
        OmemoCommand::Untrust {
            account,
            contact,
            device,
        } => untrust(ctx, account.as_ref(), &contact, device),
        OmemoCommand::RemoveDevice { account, device } => {
            remove_device(ctx, account.as_ref(), device)
        }
        OmemoCommand::Encryption {
            account,
            contact,
            setting,
        } => encryption(ctx, account.as_ref(), &contact, setting),
    }
}

fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Legacy => "legacy OMEMO",
        Profile::Omemo2 => "OMEMO 2",
    }
}

fn profile_key(profile: Profile) -> &'static str {
    match profile {
        Profile::Legacy => "legacy",
        Profile::Omemo2 => "omemo2",
    }
}

fn trust_name(trust: OmemoTrust) -> &'static str {
    match trust {
        OmemoTrust::Blind => "trusted (not verified)",
        OmemoTrust::Verified => "verified",
        OmemoTrust::Untrusted => "untrusted",
        OmemoTrust::Undecided => "new: not encrypted to until you trust or untrust it",
    }
}

/// A fingerprint as typed: hex digits only, lowercase.
fn normalized(fingerprint: &str) -> String {
    fingerprint
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn device_id(id: u32) -> Result<DeviceId> {
    DeviceId::new(id).ok_or_else(|| {
        anyhow!(
            "{id} is not an OMEMO device id (they run from 1 to {})",
            DeviceId::MAX
        )
    })
}

fn fingerprint(ctx: &mut Context, account: Option<&BareJid>, json: bool) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let reader = ctx.reader()?;
    let Some(own) = reader.omemo_own_identity(account.jid.as_str())? else {
        bail!(
            "{} has no OMEMO device yet: Sotto makes one the first time the account connects",
            account.jid
        );
    };
    if json {
        let keys: serde_json::Map<String, serde_json::Value> = own
            .keys
            .iter()
            .map(|k| (profile_key(k.profile()).to_owned(), json!(k.fingerprint())))
            .collect();
        println!(
            "{}",
            json!({"account": account.jid, "device": own.device_id.get(), "fingerprints": keys})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}, this device: {}", account.jid, own.device_id.get());
    for key in &own.keys {
        println!(
            "  {:<13} {}",
            profile_name(key.profile()),
            key.fingerprint()
        );
    }
    println!(
        "Contacts with Conversations, Dino, Gajim or Monal see the legacy one; with Kaidan or \
         Converse.js, the OMEMO 2 one."
    );
    Ok(ExitCode::SUCCESS)
}

fn device_json(d: &StoredDevice) -> serde_json::Value {
    json!({
        "device": d.device_id.get(),
        "namespace": profile_key(d.profile),
        "label": d.label,
        "active": d.active,
        "first_seen": d.first_seen,
        "fingerprint": d.identity.as_ref().map(|(k, _)| k.fingerprint()),
        "trust": d.identity.as_ref().map(|(_, t)| t.as_str()),
    })
}

fn devices(
    ctx: &mut Context,
    account: Option<&BareJid>,
    contact: Option<&BareJid>,
    json: bool,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let reader = ctx.reader()?;
    let whose = contact.unwrap_or(&account.jid);
    let mut devices = reader.omemo_devices(account.jid.as_str(), whose.as_str())?;
    let own = reader.omemo_own_identity(account.jid.as_str())?;
    if contact.is_none() {
        // "Other devices": this one is in the list too.
        devices.retain(|d| Some(d.device_id) != own.as_ref().map(|o| o.device_id));
    }
    if json {
        let all: Vec<_> = devices.iter().map(device_json).collect();
        println!("{}", json!({"jid": whose, "devices": all}));
        return Ok(ExitCode::SUCCESS);
    }
    if devices.is_empty() {
        match contact {
            Some(c) => println!(
                "Sotto knows no OMEMO device of {c} yet: it reads their device list when you \
                 first write to them, or when they publish one."
            ),
            None => println!("{} has no other OMEMO device.", account.jid),
        }
        return Ok(ExitCode::SUCCESS);
    }
    for d in &devices {
        let state = if d.active { "" } else { " (no longer listed)" };
        let label = d
            .label
            .as_deref()
            .map(|l| format!(" \"{}\"", human(l)))
            .unwrap_or_default();
        println!(
            "{}  {}{label}{state}",
            d.device_id.get(),
            profile_name(d.profile)
        );
        match &d.identity {
            Some((key, trust)) => {
                println!("    {}  {}", key.fingerprint(), trust_name(*trust));
            }
            None => println!("    fingerprint not known yet (no bundle or message seen)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn set_trust(
    ctx: &mut Context,
    account: &BareJid,
    contact: &BareJid,
    device: DeviceId,
    trust: OmemoTrust,
) -> Result<()> {
    let (who, id) = (contact.clone(), device.get());
    engine_answer(
        ctx,
        EngineCommand::SetDeviceTrust {
            account: account.clone(),
            jid: contact.clone(),
            device,
            trust,
        },
        move |event| match event {
            Event::DeviceTrust {
                jid, device, error, ..
            } if *jid == who && *device == id => Some(match error {
                None => Ok(()),
                Some(e) => Err(anyhow!("{}", human(e))),
            }),
            _ => None,
        },
    )
}

fn trust(
    ctx: &mut Context,
    account: Option<&BareJid>,
    contact: &BareJid,
    device: u32,
    expected: Option<&str>,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let device = device_id(device)?;
    let reader = ctx.reader()?;
    let known: Vec<StoredDevice> = reader
        .omemo_devices(account.jid.as_str(), contact.as_str())?
        .into_iter()
        .filter(|d| d.device_id == device && d.identity.is_some())
        .collect();
    if known.is_empty() {
        bail!(
            "Sotto does not know the fingerprint of device {} of {contact} yet; `sotto omemo \
             devices {contact}` lists what it knows",
            device.get()
        );
    }
    let fingerprints: Vec<String> = known
        .iter()
        .filter_map(|d| d.identity.as_ref().map(|(k, _)| k.fingerprint()))
        .collect();
    if let Some(expected) = expected
        && !fingerprints
            .iter()
            .any(|f| normalized(f) == normalized(expected))
    {
        bail!(
            "the fingerprint of device {} of {contact} is {}, not the one given: nothing was \
             marked. If the owner's device shows another, someone may be in between",
            device.get(),
            fingerprints.join(" / ")
        );
    }
    set_trust(ctx, &account.jid, contact, device, OmemoTrust::Verified)?;
    println!(
        "Device {} of {contact} is verified: {}",
        device.get(),
        fingerprints.join(" / ")
    );
    Ok(ExitCode::SUCCESS)
}

fn untrust(
    ctx: &mut Context,
    account: Option<&BareJid>,
    contact: &BareJid,
    device: u32,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let device = device_id(device)?;
    set_trust(ctx, &account.jid, contact, device, OmemoTrust::Untrusted)?;
    println!(
        "Device {} of {contact} is untrusted: nothing is encrypted to it any more.",
        device.get()
    );
    Ok(ExitCode::SUCCESS)
}

fn remove_device(ctx: &mut Context, account: Option<&BareJid>, device: u32) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let device = device_id(device)?;
    let database = ctx.database()?;
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        online.engine.send(EngineCommand::RemoveOwnDevice {
            account: online.account.jid.clone(),
            device,
        })?;
        let id = device.get();
        let outcome = online
            .wait_for(|event| match event {
                Event::OwnDeviceRemoved {
                    device: got, error, ..
                } if *got == id => Some(Ok(error.clone())),
                _ => None,
            })
            .await;
        online.close().await;
        match outcome? {
            None => Ok(()),
            Some(e) => Err(anyhow!("{}", human(&e))),
        }
    })?;
    println!(
        "Device {} is off your device lists; contacts stop encrypting to it. (If that device is \
         still in use, it will add itself back.)",
        device.get()
    );
    Ok(ExitCode::SUCCESS)
}

fn encryption(
    ctx: &mut Context,
    account: Option<&BareJid>,
    contact: &BareJid,
    setting: Option<EncryptionSetting>,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let describe = |s: ChatEncryption| match s {
        ChatEncryption::On => "encrypted: nothing goes out in clear",
        ChatEncryption::Off => "not encrypted (turned off)",
        ChatEncryption::Auto => "encrypted once the contact publishes OMEMO devices",
    };
    let Some(setting) = setting else {
        let current = ctx
            .reader()?
            .chat_encryption(account.jid.as_str(), contact.as_str())?;
        println!("The chat with {contact} is {}.", describe(current));
        return Ok(ExitCode::SUCCESS);
    };
    let setting = match setting {
        EncryptionSetting::On => ChatEncryption::On,
        EncryptionSetting::Off => ChatEncryption::Off,
        EncryptionSetting::Auto => ChatEncryption::Auto,
    };
    let who = contact.clone();
    engine_answer(
        ctx,
        EngineCommand::SetChatEncryption {
            account: account.jid.clone(),
            peer: contact.clone(),
            setting,
        },
        move |event| match event {
            Event::ChatEncryption { peer, .. } if *peer == who => Some(Ok(())),
            Event::MessageError {
                id: None, reason, ..
            } => Some(Err(anyhow!("{}", human(reason)))),
            _ => None,
        },
    )?;
    println!("The chat with {contact} is now {}.", describe(setting));
    Ok(ExitCode::SUCCESS)
}
