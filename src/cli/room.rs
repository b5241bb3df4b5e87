//! `sotto room`: enter, leave and list group chats, and see who is in one.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use secrecy::{ExposeSecret, SecretString};
use sotto::engine::{Command, Event};
use sotto::model::{
    Affiliation, BareJid, Moderation, Occupant, OccupantChange, Role, RoomConfig, RoomRefusal,
};

use super::args::RoomCommand;
use super::connect::{self, Login};
use super::{Context, human, runtime};

/// How long a command waits for a room to answer before giving up.
const ROOM_PATIENCE: Duration = Duration::from_secs(30);

pub fn run(ctx: &mut Context, command: RoomCommand) -> Result<ExitCode> {
    match command {
        RoomCommand::Join {
            account,
            room,
            nick,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            join(ctx, account.as_ref(), room, nick, password)
        }
        RoomCommand::Leave { account, room } => leave(ctx, account.as_ref(), room),
        RoomCommand::Create {
            account,
            room,
            nick,
            name,
            description,
            private,
        } => {
            let config = RoomConfig {
                name,
                description,
                private,
            };
            create(ctx, account.as_ref(), room, nick, config)
        }
        RoomCommand::List { account, json } => list(ctx, account.as_ref(), json),
        RoomCommand::Invite {
            account,
            room,
            who,
            reason,
        } => invite(ctx, account.as_ref(), room, who, reason),
        RoomCommand::Subject {
            account,
            room,
            subject,
        } => set_subject(ctx, account.as_ref(), room, subject),
        RoomCommand::Kick {
            account,
            room,
            nick,
            reason,
        } => moderate(
            ctx,
            account.as_ref(),
            room,
            Moderation::Kick { nick },
            reason,
        ),
        RoomCommand::Ban {
            account,
            room,
            who,
            reason,
        } => moderate(
            ctx,
            account.as_ref(),
            room,
            Moderation::Ban { jid: who },
            reason,
        ),
        RoomCommand::Voice {
            account,
            room,
            nick,
            off,
        } => {
            let what = Moderation::Voice {
                nick,
                granted: !off,
            };
            moderate(ctx, account.as_ref(), room, what, None)
        }
        RoomCommand::Occupants {
            account,
            room,
            json,
        } => occupants(ctx, account.as_ref(), room, json),
    }
}

fn read_password() -> Result<SecretString> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("could not read the room's password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("the room's password on stdin is empty");
    }
    Ok(SecretString::from(password))
}

/// What a person can do about a refusal.
fn refusal_hint(room: &BareJid, refusal: &RoomRefusal) -> String {
    match refusal {
        RoomRefusal::NicknameTaken => {
            format!("; choose another nickname: sotto room join {room} --nick NICKNAME")
        }
        RoomRefusal::PasswordRequired => {
            format!("; give it on stdin: echo PASSWORD | sotto room join {room} --password-stdin")
        }
        RoomRefusal::MembersOnly => {
            "; ask an owner or admin of the room to make you a member".into()
        }
        _ => String::new(),
    }
}

fn join(
    ctx: &mut Context,
    account: Option<&BareJid>,
    room: BareJid,
    nick: Option<String>,
    password: Option<SecretString>,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let database = ctx.database()?;
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        online.engine.send(Command::JoinRoom {
            account: online.account.jid.clone(),
            room: room.clone(),
            nick,
            password: password.map(|p| p.expose_secret().to_owned()),
        })?;
        let (nick, created) = admitted(&mut online, &room, |_| {}).await?;
        let caught_up = tokio::time::timeout(
            ROOM_PATIENCE,
            online.wait_for(|event| match event {
                Event::RoomCaughtUp { room: r, .. } if *r == room => Some(Ok(())),
                _ => None,
            }),
        )
        .await;
        if caught_up.is_err() {
            eprintln!(
                "sotto: the room's history did not arrive in time; it is read at the next join"
            );
        }
        let made = if created { " (a new room)" } else { "" };
        println!("Joined {room} as {}{made}", human(&nick));
        online.close().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn create(
    ctx: &mut Context,
    account: Option<&BareJid>,
    room: BareJid,
    nick: Option<String>,
    config: RoomConfig,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    if room.node().is_none() {
        bail!("{room} is a service, not a room: name the room, like tea@{room}");
    }
    let database = ctx.database()?;
    let private = config.private;
    let created = runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        online.engine.send(Command::CreateRoom {
            account: online.account.jid.clone(),
            room: room.clone(),
            nick,
            config,
        })?;
        let (_, created) = admitted(&mut online, &room, |_| {}).await?;
        if created {
            answer(&mut online, |event| match event {
                Event::RoomConfigured { room: r, error, .. } if *r == room => Some(
                    error
                        .clone()
                        .map_or(Ok(()), |e| Err(anyhow::anyhow!("{e}"))),
                ),
                _ => None,
            })
            .await?;
        }
        online.close().await;
        anyhow::Ok(created)
    })?;
    match (created, private) {
        (false, _) => println!("{room} exists already; you are in it now, as it was set up"),
        (true, true) => println!(
            "Created {room}, a private group: only members enter. Invite them with: sotto room invite {room} ADDRESS"
        ),
        (true, false) => println!("Created {room}, a public room"),
    }
    Ok(ExitCode::SUCCESS)
}

fn leave(ctx: &mut Context, account: Option<&BareJid>, room: BareJid) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let known = ctx
        .reader()?
        .rooms(account.jid.as_str())?
        .into_iter()
        .any(|r| r.jid == room.as_str());
    if !known {
        bail!("{room} is not one of this account's rooms (see sotto room list)");
    }
    let database = ctx.database()?;
    runtime()?.block_on(async {
        // Online, so that the account's bookmark says so too and its other
        // clients (and Sotto at the next login) stay out of the room.
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        online.engine.send(Command::LeaveRoom {
            account: online.account.jid.clone(),
            room: room.clone(),
        })?;
        online
            .wait_for(|event| {
                matches!(event, Event::RoomLeft { room: r, .. } if *r == room).then_some(Ok(()))
            })
            .await?;
        online.close().await;
        anyhow::Ok(())
    })?;
    println!("Left {room}; its history stays (sotto history {room})");
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &mut Context, account: Option<&BareJid>, json: bool) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    let rooms = ctx.reader()?.rooms(account.jid.as_str())?;
    let mut out = std::io::stdout().lock();
    if json {
        for room in &rooms {
            writeln!(out, "{}", serde_json::to_string(room)?)?;
        }
    } else if rooms.is_empty() {
        writeln!(
            out,
            "No rooms yet; join one with: sotto room join ROOM@SERVICE"
        )?;
    } else {
        for room in &rooms {
            let state = if room.autojoin {
                "joined at login"
            } else {
                "left"
            };
            let subject = room
                .subject
                .as_deref()
                .map(|s| format!(" — {}", human(s)))
                .unwrap_or_default();
            writeln!(
                out,
                "{}  as {} ({state}){subject}",
                room.jid,
                human(&room.nick)
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Fails unless `room` is one of the account's rooms.
fn ours(ctx: &mut Context, account: &BareJid, room: &BareJid, to: &str) -> Result<()> {
    let known = ctx
        .reader()?
        .rooms(account.as_str())?
        .into_iter()
        .any(|r| r.jid == room.as_str());
    if !known {
        bail!(
            "{room} is not one of this account's rooms; join it first to {to}: sotto room join {room}"
        );
    }
    Ok(())
}

/// Waits until the room lets us in (our nickname there, and whether our
/// join created it), or says why it would not; `seen` is shown every
/// event before (a room tells who is in it before it lets us in).
async fn admitted(
    online: &mut connect::Online,
    room: &BareJid,
    mut seen: impl FnMut(&Event),
) -> Result<(String, bool)> {
    tokio::time::timeout(
        ROOM_PATIENCE,
        online.wait_for(|event| {
            seen(event);
            match event {
                Event::RoomJoined {
                    room: r,
                    nick,
                    created,
                    ..
                } if r == room => Some(Ok((nick.clone(), *created))),
                Event::RoomJoinFailed {
                    room: r,
                    reason,
                    refusal,
                    ..
                } if r == room => Some(Err(anyhow::anyhow!(
                    "{room} refused: {}{}",
                    human(reason),
                    refusal_hint(room, refusal)
                ))),
                _ => None,
            }
        }),
    )
    .await
    .context("the room did not answer in time")?
}

/// Enters one of our rooms on this connection, as before.
async fn enter(online: &mut connect::Online, room: &BareJid) -> Result<String> {
    online.engine.send(Command::JoinRoom {
        account: online.account.jid.clone(),
        room: room.clone(),
        nick: None,
        password: None,
    })?;
    Ok(admitted(online, room, |_| {}).await?.0)
}

/// Waits for the one answer `pick` takes, within [`ROOM_PATIENCE`].
async fn answer<T>(
    online: &mut connect::Online,
    pick: impl FnMut(&Event) -> Option<Result<T>>,
) -> Result<T> {
    tokio::time::timeout(ROOM_PATIENCE, online.wait_for(pick))
        .await
        .context("the room did not answer in time")?
}

fn moderate(
    ctx: &mut Context,
    account: Option<&BareJid>,
    room: BareJid,
    what: Moderation,
    reason: Option<String>,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    ours(ctx, &account.jid, &room, "moderate it")?;
    let database = ctx.database()?;
    let done = what.clone();
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        enter(&mut online, &room).await?;
        online.engine.send(Command::Moderate {
            account: online.account.jid.clone(),
            room: room.clone(),
            what,
            reason,
        })?;
        answer(&mut online, |event| match event {
            Event::Moderated { room: r, error, .. } if *r == room => Some(match error {
                None => Ok(()),
                Some(e) => Err(anyhow::anyhow!("{}", human(e))),
            }),
            _ => None,
        })
        .await?;
        online.close().await;
        anyhow::Ok(())
    })?;
    match done {
        Moderation::Kick { nick } => println!("{} is out of {room}", human(&nick)),
        Moderation::Ban { jid } => println!("{jid} is banned from {room}"),
        Moderation::Voice { nick, granted } => {
            let may = if granted { "may" } else { "may no longer" };
            println!("{} {may} speak in {room}", human(&nick));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn set_subject(
    ctx: &mut Context,
    account: Option<&BareJid>,
    room: BareJid,
    subject: String,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    ours(ctx, &account.jid, &room, "set its subject")?;
    let database = ctx.database()?;
    let wanted = Some(subject.trim().to_owned()).filter(|s| !s.is_empty());
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        enter(&mut online, &room).await?;
        online.engine.send(Command::SetRoomSubject {
            account: online.account.jid.clone(),
            room: room.clone(),
            subject: subject.clone(),
        })?;
        // The room tells everyone, us too; a refusal comes back as an
        // error of the message.
        answer(&mut online, |event| match event {
            Event::RoomSubject {
                room: r, subject, ..
            } if *r == room && *subject == wanted => Some(Ok(())),
            Event::MessageError { reason, .. } => {
                Some(Err(anyhow::anyhow!("{room} refused: {}", human(reason))))
            }
            _ => None,
        })
        .await?;
        online.close().await;
        anyhow::Ok(())
    })?;
    println!("The subject of {room} is set");
    Ok(ExitCode::SUCCESS)
}

fn invite(
    ctx: &mut Context,
    account: Option<&BareJid>,
    room: BareJid,
    who: BareJid,
    reason: Option<String>,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    ours(ctx, &account.jid, &room, "invite someone")?;
    if who.node().is_none() {
        bail!("{who} is a server, not someone to invite");
    }
    let database = ctx.database()?;
    runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        enter(&mut online, &room).await?;
        // Whether the invitation goes through the room depends on what
        // the room says of itself, asked on entering.
        let info = tokio::time::timeout(
            ROOM_PATIENCE,
            online.wait_for(|event| match event {
                Event::RoomInfo { room: r, .. } if *r == room => Some(Ok(())),
                _ => None,
            }),
        )
        .await;
        if info.is_err() {
            tracing::info!(%room, "the room did not say what it is; inviting as it was last known");
        }
        online.engine.send(Command::InviteToRoom {
            account: online.account.jid.clone(),
            room: room.clone(),
            to: who.clone(),
            reason,
        })?;
        answer(&mut online, |event| match event {
            Event::Invited { to, error, .. } if *to == who => Some(match error {
                None => Ok(()),
                Some(e) => Err(anyhow::anyhow!("{}", human(e))),
            }),
            _ => None,
        })
        .await?;
        // A clean close: the server has the invitation when we are gone.
        online.close().await;
        anyhow::Ok(())
    })?;
    println!("Invited {who} into {room}");
    Ok(ExitCode::SUCCESS)
}

fn occupants(
    ctx: &mut Context,
    account: Option<&BareJid>,
    room: BareJid,
    json: bool,
) -> Result<ExitCode> {
    let account = ctx.account(account)?;
    // Seeing who is in a room means entering it; that is for rooms the
    // user chose to be in.
    ours(ctx, &account.jid, &room, "see who is in it")?;
    let database = ctx.database()?;
    let (me, everyone) = runtime()?.block_on(async {
        let running = connect::start(database, false)?;
        let mut online = connect::connect(running, Login::once(account)).await?;
        online.engine.send(Command::JoinRoom {
            account: online.account.jid.clone(),
            room: room.clone(),
            nick: None,
            password: None,
        })?;
        // A room tells who is in it before it tells us we are in.
        let mut present: Vec<Occupant> = Vec::new();
        let (me, _) = admitted(&mut online, &room, |event| {
            if let Event::Occupant {
                room: r,
                occupant,
                change,
                ..
            } = event
                && *r == room
            {
                present.retain(|o| o.nick != occupant.nick);
                if *change == OccupantChange::Present {
                    present.push(occupant.clone());
                }
            }
        })
        .await?;
        online.close().await;
        anyhow::Ok((me, present))
    })?;
    let mut everyone = everyone;
    everyone.sort_by(|a, b| {
        (a.role, a.affiliation, a.nick.to_lowercase()).cmp(&(
            b.role,
            b.affiliation,
            b.nick.to_lowercase(),
        ))
    });
    let mut out = std::io::stdout().lock();
    if json {
        for o in &everyone {
            writeln!(out, "{}", serde_json::to_string(o)?)?;
        }
    } else {
        writeln!(
            out,
            "{} in {room} besides you ({}):",
            everyone.len(),
            human(&me)
        )?;
        for o in &everyone {
            let standing = match (o.role, o.affiliation) {
                (_, Affiliation::Owner) => " (owner)",
                (_, Affiliation::Admin) => " (admin)",
                (Role::Moderator, _) => " (moderator)",
                (Role::Visitor, _) => " (no voice)",
                (_, Affiliation::Member) => " (member)",
                _ => "",
            };
            let jid = o
                .jid
                .as_ref()
                .map(|j| format!(" <{j}>"))
                .unwrap_or_default();
            writeln!(out, "  {}{jid}{standing}", human(&o.nick))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
