//! The engine's OMEMO steps over a real store, with the session's events
//! given by hand: which publications go out, in what order, and what a
//! failed or stale answer leaves alone.

use tokio::sync::mpsc;

use super::*;
use crate::store::{Store, StoreKey};

struct Fixture {
    _dir: tempfile::TempDir,
    pipeline: Pipeline,
    omemo: Omemo,
    events: mpsc::Receiver<Event>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Store::open(&dir.path().join("s.db"), &StoreKey::from_bytes([7; 32])).expect("store");
    let (tx, rx) = mpsc::channel(64);
    Fixture {
        _dir: dir,
        pipeline: Pipeline::new(store, tx),
        omemo: Omemo::new("me@example.org".parse().expect("jid")),
        events: rx,
    }
}

fn me() -> BareJid {
    "me@example.org".parse().expect("jid")
}

fn device(id: u32) -> Device {
    Device {
        id: DeviceId::new(id).expect("id"),
        label: None,
    }
}

fn own_list(profile: Profile, ids: &[u32]) -> OmemoEvent {
    OmemoEvent::DeviceList {
        jid: me(),
        profile,
        list: Ok(DeviceList {
            profile,
            devices: ids.iter().map(|&i| device(i)).collect(),
        }),
    }
}

fn published(profile: Profile, error: Option<&str>) -> OmemoEvent {
    OmemoEvent::Published {
        profile,
        bundle: true,
        error: error.map(str::to_owned),
    }
}

/// The next event other than our own lists being read.
fn next_report(events: &mut mpsc::Receiver<Event>) -> Event {
    loop {
        match events.try_recv().expect("reported") {
            Event::OwnDeviceList { .. } => continue,
            e => return e,
        }
    }
}

fn lists_published(commands: &[SessionCommand]) -> Vec<(Profile, Vec<u32>)> {
    commands
        .iter()
        .filter_map(|c| match c {
            SessionCommand::OmemoPublishDeviceList(l) => {
                Some((l.profile, l.devices.iter().map(|d| d.id.get()).collect()))
            }
            _ => None,
        })
        .collect()
}

fn bundles_published(commands: &[SessionCommand]) -> usize {
    commands
        .iter()
        .filter(|c| matches!(c, SessionCommand::OmemoPublishBundle(..)))
        .count()
}

#[tokio::test]
async fn our_device_is_listed_only_once_its_bundle_is_out() {
    let mut f = fixture();
    assert_eq!(f.omemo.new_stream().len(), 2, "both own lists asked");
    let c = f
        .omemo
        .on_event(&f.pipeline, own_list(Profile::Legacy, &[]))
        .await;
    assert!(c.is_empty(), "set-up waits for the other list: {c:?}");
    let c = f
        .omemo
        .on_event(&f.pipeline, own_list(Profile::Omemo2, &[42]))
        .await;
    assert_eq!(bundles_published(&c), 2);
    assert!(
        lists_published(&c).is_empty(),
        "no list before its bundle: {c:?}"
    );
    let own = f.omemo.own_device().expect("set up").get();

    let c = f
        .omemo
        .on_event(&f.pipeline, published(Profile::Omemo2, None))
        .await;
    assert_eq!(lists_published(&c), vec![(Profile::Omemo2, vec![42, own])]);
    let c = f
        .omemo
        .on_event(
            &f.pipeline,
            published(Profile::Legacy, Some("the server refused (item not found)")),
        )
        .await;
    assert!(
        c.is_empty(),
        "a device without a bundle is not listed: {c:?}"
    );
    // A later bundle (prekeys replenished) lists nothing again.
    let c = f
        .omemo
        .on_event(&f.pipeline, published(Profile::Omemo2, None))
        .await;
    assert!(c.is_empty(), "{c:?}");
}

#[tokio::test]
async fn an_own_list_that_could_not_be_read_is_not_rewritten_from_nothing() {
    let mut f = fixture();
    f.omemo.new_stream();
    f.omemo
        .on_event(
            &f.pipeline,
            OmemoEvent::DeviceList {
                jid: me(),
                profile: Profile::Legacy,
                list: Err("no answer came in time".into()),
            },
        )
        .await;
    let c = f
        .omemo
        .on_event(&f.pipeline, own_list(Profile::Omemo2, &[]))
        .await;
    assert_eq!(bundles_published(&c), 2, "set up all the same: {c:?}");
    let c = f
        .omemo
        .on_event(&f.pipeline, published(Profile::Legacy, None))
        .await;
    assert!(
        c.is_empty(),
        "publishing [us] would drop the devices we could not read: {c:?}"
    );
    // Its next notification shows what is there, and we are added to it.
    let c = f
        .omemo
        .on_event(&f.pipeline, own_list(Profile::Legacy, &[5, 6]))
        .await;
    let own = f.omemo.own_device().expect("set up").get();
    assert_eq!(
        lists_published(&c),
        vec![(Profile::Legacy, vec![5, 6, own])]
    );
}

#[tokio::test]
async fn failures_of_an_earlier_stream_neither_set_up_nor_forget_devices() {
    let mut f = fixture();
    let bob: BareJid = "bob@example.org".parse().expect("jid");
    f.omemo.new_stream();
    for p in crypto::PROFILES {
        f.omemo.on_event(&f.pipeline, own_list(p, &[])).await;
    }
    // Bob's list, heard as a notification.
    f.omemo
        .on_event(
            &f.pipeline,
            OmemoEvent::DeviceList {
                jid: bob.clone(),
                profile: Profile::Omemo2,
                list: Ok(DeviceList {
                    profile: Profile::Omemo2,
                    devices: vec![device(9)],
                }),
            },
        )
        .await;

    f.omemo.link_down();
    f.omemo.new_stream();
    for (jid, profile) in [(me(), Profile::Legacy), (bob.clone(), Profile::Omemo2)] {
        let c = f
            .omemo
            .on_event(
                &f.pipeline,
                OmemoEvent::DeviceList {
                    jid,
                    profile,
                    list: Err("the connection was reset".into()),
                },
            )
            .await;
        assert!(c.is_empty(), "{c:?}");
    }
    assert!(
        f.omemo.own_device().is_none(),
        "set-up waits for this stream's answers"
    );
    let stored = f
        .pipeline
        .store()
        .omemo_devices("me@example.org", "bob@example.org")
        .expect("devices");
    assert!(
        stored.iter().any(|d| d.device_id.get() == 9 && d.active),
        "a failed fetch is not an empty list: {stored:?}"
    );
}

#[tokio::test]
async fn a_stale_device_of_ours_is_taken_off_our_lists_and_this_one_never() {
    let mut f = fixture();
    f.omemo.new_stream();
    // Asked before set-up: done once our lists are read.
    let stale = DeviceId::new(5).expect("id");
    assert!(
        f.omemo
            .remove_own_device(&f.pipeline, stale)
            .await
            .is_empty()
    );
    f.omemo
        .on_event(&f.pipeline, own_list(Profile::Legacy, &[5, 6]))
        .await;
    let c = f
        .omemo
        .on_event(&f.pipeline, own_list(Profile::Omemo2, &[6]))
        .await;
    let own = f.omemo.own_device().expect("set up");
    // Only the legacy list names it; ours waits for our bundle there.
    assert_eq!(lists_published(&c), vec![(Profile::Legacy, vec![6])]);
    let c = f
        .omemo
        .on_event(
            &f.pipeline,
            OmemoEvent::Published {
                profile: Profile::Legacy,
                bundle: false,
                error: None,
            },
        )
        .await;
    assert!(c.is_empty(), "{c:?}");
    let reported = next_report(&mut f.events);
    assert_eq!(
        reported,
        Event::OwnDeviceRemoved {
            account: me(),
            device: 5,
            error: None
        }
    );
    // Our bundle out: we join the list as it is now, without the stale one.
    let c = f
        .omemo
        .on_event(&f.pipeline, published(Profile::Legacy, None))
        .await;
    assert_eq!(
        lists_published(&c),
        vec![(Profile::Legacy, vec![6, own.get()])]
    );

    for (device, expected) in [
        (own, "that is this device"),
        (
            DeviceId::new(77).expect("id"),
            "not on this account's device lists",
        ),
    ] {
        assert!(
            f.omemo
                .remove_own_device(&f.pipeline, device)
                .await
                .is_empty()
        );
        match next_report(&mut f.events) {
            Event::OwnDeviceRemoved { error: Some(e), .. } => assert!(e.contains(expected), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}

/// Our device set up on a stream, both own lists read.
async fn set_up(f: &mut Fixture) {
    f.omemo.new_stream();
    f.omemo
        .on_event(&f.pipeline, own_list(Profile::Legacy, &[]))
        .await;
    f.omemo
        .on_event(&f.pipeline, own_list(Profile::Omemo2, &[]))
        .await;
    assert!(f.omemo.own_device().is_some());
}

fn push_sent(events: &mut mpsc::Receiver<Event>) -> Option<String> {
    while let Ok(e) = events.try_recv() {
        if let Event::PushInfoSent { error, .. } = e {
            return error;
        }
    }
    panic!("no PushInfoSent")
}

#[tokio::test]
async fn push_info_goes_only_inside_omemo_2_never_in_clear_or_legacy() {
    let mut f = fixture();
    set_up(&mut f).await;
    let (legacy_only, nothing): (BareJid, BareJid) = (
        "old@example.org".parse().expect("jid"),
        "plain@example.org".parse().expect("jid"),
    );
    for (peer, legacy) in [(&legacy_only, vec![device(9)]), (&nothing, vec![])] {
        for (profile, devices) in [(Profile::Legacy, legacy.clone()), (Profile::Omemo2, vec![])] {
            f.omemo
                .on_event(
                    &f.pipeline,
                    OmemoEvent::DeviceList {
                        jid: peer.clone(),
                        profile,
                        list: Ok(DeviceList { profile, devices }),
                    },
                )
                .await;
        }
    }
    for (peer, expected) in [
        (
            &legacy_only,
            "speaks OMEMO 2, and legacy OMEMO can carry only",
        ),
        (&nothing, "sent only inside OMEMO 2 encryption"),
    ] {
        f.omemo.enqueue(Outgoing::PushInfo {
            to: peer.clone(),
            id: crate::xmpp::new_id(),
            json: "{}".into(),
        });
        let c = f.omemo.pump(&f.pipeline).await;
        assert!(
            !c.iter()
                .any(|c| matches!(c, SessionCommand::Send(_) | SessionCommand::SendSealed(_))),
            "{peer}: {c:?}"
        );
        let error = push_sent(&mut f.events).unwrap_or_else(|| panic!("{peer}: sent"));
        assert!(error.contains(expected), "{peer}: {error}");
    }
}

#[test]
fn a_contact_online_on_a_new_resource_has_a_list_read_on_this_stream_read_again() {
    let mut omemo = Omemo::new(me());
    let bob: BareJid = "bob@example.org".parse().expect("jid");
    // Never read: nothing to read again (it is read when needed).
    assert!(omemo.came_online(&bob).is_empty());
    for p in crypto::PROFILES {
        omemo.lists.insert((bob.to_string(), p));
    }
    let asked = omemo.came_online(&bob);
    assert_eq!(asked.len(), crypto::PROFILES.len());
    assert!(
        asked
            .iter()
            .all(|c| matches!(c, SessionCommand::OmemoFetchDeviceList(j, _) if *j == bob))
    );
    assert!(
        !omemo
            .lists
            .contains(&(bob.to_string(), crypto::PROFILES[0])),
        "a message waits for the fresh list"
    );
    // Asked already: not again while the answer is due.
    assert!(omemo.came_online(&bob).is_empty());
}
