//! Property-style tests through the public API: long conversations with
//! loss and reordering, the skipped-key bounds, replays and tampering.

use rand::{Rng as _, RngExt as _};

use super::seeded;
use crate::omemo::{
    Bundle, EncryptedMessage, Error, IdentityKeyPair, KeyExchange, MAX_SKIPPED_KEYS_PER_MESSAGE,
    MAX_SKIPPED_KEYS_PER_SESSION, MemoryPreKeyStore, PreKeyPair, Profile, Session,
    SignedPreKeyPair,
};

pub(crate) const PROFILES: [Profile; 2] = [Profile::Legacy, Profile::Omemo2];

pub(crate) struct Device {
    pub(crate) identity: IdentityKeyPair,
    pub(crate) store: MemoryPreKeyStore,
    pub(crate) bundle: Bundle,
}

pub(crate) fn device<R: rand::CryptoRng>(rng: &mut R, profile: Profile) -> Device {
    let identity = IdentityKeyPair::generate(rng);
    let spk = SignedPreKeyPair::generate(rng, &identity, profile, 1, 1_700_000_000);
    let pre_keys: Vec<_> = (1..=5).map(|id| PreKeyPair::generate(rng, id)).collect();
    let own = Bundle::new(&identity, &spk, &pre_keys);
    // What a contact gets: the published fields, parsed and verified.
    let wire: Vec<(u32, Vec<u8>)> = own
        .pre_keys()
        .iter()
        .map(|(id, k)| (*id, k.to_wire(profile)))
        .collect();
    let bundle = Bundle::parse(
        profile,
        &own.identity_key().to_wire(),
        own.signed_pre_key_id(),
        &own.signed_pre_key().to_wire(profile),
        own.signed_pre_key_signature(),
        wire.iter().map(|(id, k)| (*id, k.as_slice())),
    )
    .unwrap();
    assert_eq!(bundle, own);
    Device {
        identity,
        store: MemoryPreKeyStore {
            signed_pre_keys: vec![spk],
            pre_keys,
        },
        bundle,
    }
}

/// Alice starts a session with Bob's device; Bob answers the first key
/// exchange.
pub(crate) fn pair<R: rand::CryptoRng>(
    rng: &mut R,
    profile: Profile,
) -> (Session, Session, Device, Device) {
    let alice = device(rng, profile);
    let bob = device(rng, profile);
    let pre_key = bob.bundle.random_pre_key_id(rng);
    let mut a = Session::initiate(rng, &alice.identity, &bob.bundle, pre_key).unwrap();
    let first = a.encrypt(b"hello").unwrap();
    assert!(first.key_exchange);
    let kex = KeyExchange::parse(profile, &first.bytes).unwrap();
    let responded = Session::respond(rng, &bob.identity, &bob.store, &kex).unwrap();
    assert_eq!(*responded.plaintext, b"hello");
    assert_eq!(responded.consumed_pre_key_id, pre_key);
    assert_eq!(
        responded.session.remote_identity(),
        &alice.identity.public_key(profile)
    );
    assert_eq!(a.remote_identity(), &bob.identity.public_key(profile));
    (a, responded.session, alice, bob)
}

/// Delivers a message the way the app would: key exchanges through the
/// session that was built from them.
pub(crate) fn deliver<R: rand::CryptoRng>(
    rng: &mut R,
    to: &mut Session,
    m: &EncryptedMessage,
) -> crate::omemo::Result<Vec<u8>> {
    let plaintext = if m.key_exchange {
        let kex = KeyExchange::parse(to.profile(), &m.bytes)?;
        to.decrypt_key_exchange(rng, &kex)?
    } else {
        to.decrypt(rng, &m.bytes)?
    };
    Ok(plaintext.to_vec())
}

#[test]
fn long_conversations_with_loss_reordering_and_restarts() {
    for profile in PROFILES {
        let mut rng = seeded(11);
        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        let mut late: Vec<(bool, EncryptedMessage, Vec<u8>)> = Vec::new();
        let mut delivered = 0_usize;
        for round in 0..250 {
            let from_alice = rng.random_bool(0.5);
            let count = rng.random_range(1..=6);
            let mut batch = Vec::new();
            for i in 0..count {
                let text = format!(
                    "{profile:?} round {round} message {i} from {}",
                    if from_alice { "A" } else { "B" }
                )
                .into_bytes();
                let m = if from_alice {
                    a.encrypt(&text)
                } else {
                    b.encrypt(&text)
                }
                .unwrap();
                // Bob never wraps; Alice only until Bob's first message.
                assert!(!m.key_exchange || (from_alice && !a.is_confirmed()));
                batch.push((from_alice, m, text));
            }
            // Shuffle, hold some back for later, deliver the rest.
            for i in (1..batch.len()).rev() {
                batch.swap(i, rng.random_range(0..=i));
            }
            for item in batch {
                if rng.random_bool(0.1) {
                    late.push(item);
                    continue;
                }
                let (to_bob, m, text) = item;
                let to = if to_bob { &mut b } else { &mut a };
                assert_eq!(deliver(&mut rng, to, &m).unwrap(), text);
                delivered += 1;
            }
            // Now and then some late messages arrive, after ratchet steps.
            if rng.random_bool(0.2) {
                for (to_bob, m, text) in late.drain(..) {
                    let to = if to_bob { &mut b } else { &mut a };
                    assert_eq!(deliver(&mut rng, to, &m).unwrap(), text);
                    delivered += 1;
                }
            }
            // And now and then a restart: sessions come back from the store.
            if rng.random_bool(0.05) {
                a = Session::from_bytes(&a.to_bytes()).unwrap();
                b = Session::from_bytes(&b.to_bytes()).unwrap();
            }
        }
        for (to_bob, m, text) in late.drain(..) {
            let to = if to_bob { &mut b } else { &mut a };
            assert_eq!(deliver(&mut rng, to, &m).unwrap(), text);
            delivered += 1;
        }
        assert!(a.is_confirmed());
        assert!(delivered > 700, "{delivered}");
        assert_eq!(a.skipped_key_count() + b.skipped_key_count(), 0);
    }
}

#[test]
fn reversed_delivery_uses_skipped_keys() {
    for profile in PROFILES {
        let mut rng = seeded(12);
        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        let msgs: Vec<_> = (0..100)
            .map(|i| a.encrypt(format!("m{i}").as_bytes()).unwrap())
            .collect();
        for (i, m) in msgs.iter().enumerate().rev() {
            assert_eq!(
                deliver(&mut rng, &mut b, m).unwrap(),
                format!("m{i}").into_bytes()
            );
            assert_eq!(b.skipped_key_count(), i);
        }
    }
}

#[test]
fn per_message_skip_limit_is_enforced_without_damage() {
    for profile in PROFILES {
        let mut rng = seeded(13);
        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        let limit = usize::try_from(MAX_SKIPPED_KEYS_PER_MESSAGE).unwrap();
        let msgs: Vec<_> = (0..=limit + 1)
            .map(|i| a.encrypt(format!("m{i}").as_bytes()).unwrap())
            .collect();
        let before = b.to_bytes();
        let too_far = deliver(&mut rng, &mut b, &msgs[limit + 1]).unwrap_err();
        assert_eq!(
            too_far,
            Error::TooManySkipped {
                skipped: u64::from(MAX_SKIPPED_KEYS_PER_MESSAGE) + 1,
                limit: MAX_SKIPPED_KEYS_PER_MESSAGE
            }
        );
        assert_eq!(
            b.to_bytes(),
            before,
            "a refused message leaves the session as it was"
        );
        // Exactly at the limit is fine, and then everything else arrives.
        assert_eq!(
            deliver(&mut rng, &mut b, &msgs[limit]).unwrap(),
            format!("m{limit}").into_bytes()
        );
        assert_eq!(b.skipped_key_count(), limit);
        assert_eq!(
            deliver(&mut rng, &mut b, &msgs[limit + 1]).unwrap(),
            format!("m{}", limit + 1).into_bytes()
        );
        assert_eq!(deliver(&mut rng, &mut b, &msgs[3]).unwrap(), b"m3");
    }
}

#[test]
fn stored_skipped_keys_are_bounded_per_session() {
    for profile in PROFILES {
        let mut rng = seeded(14);
        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        let per_chain = 999;
        let mut first_of_each_chain = Vec::new();
        let mut last_of_last_chain_but_one = None;
        for chain in 0..3 {
            let msgs: Vec<_> = (0..=per_chain)
                .map(|i| a.encrypt(format!("c{chain} m{i}").as_bytes()).unwrap())
                .collect();
            deliver(&mut rng, &mut b, &msgs[per_chain]).unwrap();
            first_of_each_chain.push(msgs[0].clone());
            last_of_last_chain_but_one = Some(msgs[per_chain - 1].clone());
            assert!(b.skipped_key_count() <= MAX_SKIPPED_KEYS_PER_SESSION);
            // Bob answers, so Alice's next batch is on a new chain.
            let reply = b.encrypt(b"ok").unwrap();
            deliver(&mut rng, &mut a, &reply).unwrap();
        }
        assert_eq!(b.skipped_key_count(), MAX_SKIPPED_KEYS_PER_SESSION);
        // The oldest keys went first; the newest are still there.
        assert_eq!(
            deliver(&mut rng, &mut b, &first_of_each_chain[0]),
            Err(Error::Duplicate)
        );
        assert_eq!(
            deliver(&mut rng, &mut b, &first_of_each_chain[2]).unwrap(),
            b"c2 m0"
        );
        let m = last_of_last_chain_but_one.unwrap();
        assert_eq!(
            deliver(&mut rng, &mut b, &m).unwrap(),
            format!("c2 m{}", per_chain - 1).into_bytes()
        );
        assert!(Session::from_bytes(&b.to_bytes()).is_ok());
    }
}

#[test]
fn previous_chain_gap_over_the_limit_is_given_up_not_fatal() {
    for profile in PROFILES {
        let mut rng = seeded(15);
        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        // Bob has Alice's first message; the next 1010 on that chain are lost.
        let lost: Vec<_> = (0..1010)
            .map(|i| a.encrypt(format!("lost {i}").as_bytes()).unwrap())
            .collect();
        // Bob speaks; Alice ratchets, and her next message (pn = 1011)
        // reaches Bob, who derives none of the 1010 instead of refusing it.
        let reply = b.encrypt(b"anyone?").unwrap();
        deliver(&mut rng, &mut a, &reply).unwrap();
        let next = a.encrypt(b"back").unwrap();
        assert_eq!(deliver(&mut rng, &mut b, &next).unwrap(), b"back");
        assert_eq!(b.skipped_key_count(), 0, "nothing was derived for the gap");
        // The kept chain still reaches the lost messages within the bound,
        // not beyond it.
        assert_eq!(deliver(&mut rng, &mut b, &lost[3]).unwrap(), b"lost 3");
        assert_eq!(deliver(&mut rng, &mut b, &lost[0]).unwrap(), b"lost 0");
        assert_eq!(b.skipped_key_count(), 2);
        assert!(matches!(
            deliver(&mut rng, &mut b, &lost[1009]),
            Err(Error::TooManySkipped { .. })
        ));
        assert_eq!(deliver(&mut rng, &mut b, &lost[3]), Err(Error::Duplicate));
    }
}

/// libsignal (Conversations, Dino, Monal, …) sends `pn` as the index of its
/// last message on the previous chain, one less than the count python and
/// the specification use. The last message of a chain arriving after the
/// next chain's first must still decrypt.
#[test]
fn libsignal_previous_counter_does_not_lose_the_last_message() {
    for profile in PROFILES {
        let mut rng = seeded(25);
        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        let reply = b.encrypt(b"r").unwrap();
        deliver(&mut rng, &mut a, &reply).unwrap();
        // Alice's chain: x0, x1, x2; only x0 reaches Bob for now.
        let x: Vec<_> = (0..3)
            .map(|i| a.encrypt(format!("x{i}").as_bytes()).unwrap())
            .collect();
        deliver(&mut rng, &mut b, &x[0]).unwrap();
        let reply = b.encrypt(b"r2").unwrap();
        deliver(&mut rng, &mut a, &reply).unwrap();
        // What libsignal would put in the header: max(count - 1, 0).
        a.ratchet.core.previous_sending_n -= 1;
        let y = a.encrypt(b"y0").unwrap();
        assert_eq!(deliver(&mut rng, &mut b, &y).unwrap(), b"y0");
        assert_eq!(deliver(&mut rng, &mut b, &x[2]).unwrap(), b"x2");
        assert_eq!(deliver(&mut rng, &mut b, &x[1]).unwrap(), b"x1");
        assert_eq!(deliver(&mut rng, &mut b, &x[2]), Err(Error::Duplicate));
        assert_eq!(b.skipped_key_count(), 0);
        // Chains older than the kept ones are only remembered as duplicates.
        let old = x[0].clone();
        for i in 0..7 {
            let m = a.encrypt(format!("p{i}").as_bytes()).unwrap();
            deliver(&mut rng, &mut b, &m).unwrap();
            let r = b.encrypt(b"r").unwrap();
            deliver(&mut rng, &mut a, &r).unwrap();
        }
        assert_eq!(deliver(&mut rng, &mut b, &old), Err(Error::Duplicate));
        let b2 = Session::from_bytes(&b.to_bytes()).unwrap();
        assert_eq!(
            b2.ratchet
                .core
                .old_chains
                .iter()
                .filter(|c| c.chain.is_some())
                .count(),
            5
        );
    }
}

#[test]
fn replays_fail_cleanly() {
    for profile in PROFILES {
        let mut rng = seeded(16);
        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        let reply = b.encrypt(b"r1").unwrap();
        deliver(&mut rng, &mut a, &reply).unwrap();
        let m1 = a.encrypt(b"m1").unwrap();
        let m2 = a.encrypt(b"m2").unwrap();
        deliver(&mut rng, &mut b, &m2).unwrap();
        deliver(&mut rng, &mut b, &m1).unwrap();
        for m in [&m1, &m2] {
            let before = b.to_bytes();
            assert_eq!(deliver(&mut rng, &mut b, m), Err(Error::Duplicate));
            assert_eq!(b.to_bytes(), before);
        }
        // After both sides ratcheted, an old message is still a duplicate.
        let r2 = b.encrypt(b"r2").unwrap();
        deliver(&mut rng, &mut a, &r2).unwrap();
        let m3 = a.encrypt(b"m3").unwrap();
        deliver(&mut rng, &mut b, &m3).unwrap();
        let before = b.to_bytes();
        assert_eq!(deliver(&mut rng, &mut b, &m1), Err(Error::Duplicate));
        assert_eq!(deliver(&mut rng, &mut a, &reply), Err(Error::Duplicate));
        assert_eq!(b.to_bytes(), before);
        // The conversation goes on.
        let m4 = a.encrypt(b"m4").unwrap();
        assert_eq!(deliver(&mut rng, &mut b, &m4).unwrap(), b"m4");
    }
}

#[test]
fn every_single_bit_flip_is_rejected_without_damage() {
    for profile in PROFILES {
        let mut rng = seeded(17);
        let (mut a, mut b, _, bob) = pair(&mut rng, profile);
        // A key exchange (Alice is not confirmed yet) and, later, a plain one.
        let kex = a.encrypt(b"kex-wrapped").unwrap();
        assert!(kex.key_exchange);
        let before = b.to_bytes();
        for i in 0..kex.bytes.len() {
            for bit in [0x01, 0x80] {
                let mut t = kex.bytes.clone();
                t[i] ^= bit;
                // As an existing session's key exchange, and as a new one.
                if let Ok(parsed) = KeyExchange::parse(profile, &t) {
                    assert!(
                        b.decrypt_key_exchange(&mut rng, &parsed).is_err(),
                        "byte {i} bit {bit:#x} accepted"
                    );
                    assert!(
                        Session::respond(&mut rng, &bob.identity, &bob.store, &parsed).is_err(),
                        "byte {i} respond"
                    );
                }
            }
        }
        assert_eq!(b.to_bytes(), before);
        assert_eq!(deliver(&mut rng, &mut b, &kex).unwrap(), b"kex-wrapped");

        let reply = b.encrypt(b"confirm").unwrap();
        deliver(&mut rng, &mut a, &reply).unwrap();
        let m = a.encrypt(b"plain message").unwrap();
        assert!(!m.key_exchange);
        let before = b.to_bytes();
        for i in 0..m.bytes.len() {
            let mut t = m.bytes.clone();
            t[i] ^= 0x04;
            let err = b.decrypt(&mut rng, &t).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::MacMismatch
                        | Error::Malformed(_)
                        | Error::MissingField { .. }
                        | Error::InvalidLength { .. }
                        | Error::InvalidPublicKey(_)
                        | Error::UnsupportedVersion(_)
                        | Error::TooManySkipped { .. }
                        | Error::Duplicate
                ),
                "byte {i}: {err:?}"
            );
        }
        // The MAC and the ciphertext specifically.
        let last = m.bytes.len() - 1;
        let mut t = m.bytes.clone();
        t[last] ^= 1;
        assert_eq!(b.decrypt(&mut rng, &t), Err(Error::MacMismatch));
        assert_eq!(b.to_bytes(), before);
        assert_eq!(*b.decrypt(&mut rng, &m.bytes).unwrap(), b"plain message");
    }
}

#[test]
fn key_exchange_rules() {
    for profile in PROFILES {
        let mut rng = seeded(18);
        let (mut a, mut b, alice, bob) = pair(&mut rng, profile);
        // Alice keeps wrapping until Bob speaks, then stops.
        let m = a.encrypt(b"again").unwrap();
        assert!(m.key_exchange);
        let kex = KeyExchange::parse(profile, &m.bytes).unwrap();
        assert!(b.was_built_from(&kex));
        assert!(
            !a.was_built_from(&kex),
            "only the responder is built from a key exchange"
        );
        let reply = b.encrypt(b"yes").unwrap();
        assert!(!reply.key_exchange);
        deliver(&mut rng, &mut a, &reply).unwrap();
        assert!(a.is_confirmed());
        assert!(!a.encrypt(b"x").unwrap().key_exchange);
        // Alice's old wrapped messages still decrypt after Bob replied.
        assert_eq!(deliver(&mut rng, &mut b, &m).unwrap(), b"again");

        // A new session from Alice's side is a different key exchange.
        let mut a2 = Session::initiate(&mut rng, &alice.identity, &bob.bundle, Some(2)).unwrap();
        let kex2 = KeyExchange::parse(profile, &a2.encrypt(b"new").unwrap().bytes).unwrap();
        assert!(!b.was_built_from(&kex2));
        assert_eq!(
            b.decrypt_key_exchange(&mut rng, &kex2),
            Err(Error::KeyExchangeMismatch)
        );
        let fresh = Session::respond(&mut rng, &bob.identity, &bob.store, &kex2).unwrap();
        assert_eq!(*fresh.plaintext, b"new");
        assert_eq!(fresh.consumed_pre_key_id, Some(2));

        // Unknown prekeys are named.
        let mut store = bob.store.clone();
        store.pre_keys.clear();
        assert_eq!(
            Session::respond(&mut rng, &bob.identity, &store, &kex2).unwrap_err(),
            Error::UnknownPreKey(2)
        );
        store.signed_pre_keys.clear();
        assert_eq!(
            Session::respond(&mut rng, &bob.identity, &store, &kex2).unwrap_err(),
            Error::UnknownSignedPreKey(1)
        );
        // A prekey that is not in the bundle cannot be chosen.
        assert_eq!(
            Session::initiate(&mut rng, &alice.identity, &bob.bundle, Some(99)).unwrap_err(),
            Error::PreKeyNotInBundle(99)
        );
        // The wrong identity cannot answer.
        let mallory = IdentityKeyPair::generate(&mut rng);
        assert_eq!(
            Session::respond(&mut rng, &mallory, &bob.store, &kex2).unwrap_err(),
            Error::MacMismatch
        );
    }
}

#[test]
fn one_time_prekey_is_optional_only_in_legacy() {
    let mut rng = seeded(19);
    let alice = device(&mut rng, Profile::Legacy);
    let bob = device(&mut rng, Profile::Legacy);
    let mut a = Session::initiate(&mut rng, &alice.identity, &bob.bundle, None).unwrap();
    let kex = KeyExchange::parse(Profile::Legacy, &a.encrypt(b"no prekey").unwrap().bytes).unwrap();
    assert_eq!(kex.pre_key_id(), None);
    let r = Session::respond(&mut rng, &bob.identity, &bob.store, &kex).unwrap();
    assert_eq!(*r.plaintext, b"no prekey");
    assert_eq!(r.consumed_pre_key_id, None);

    let alice = device(&mut rng, Profile::Omemo2);
    let bob = device(&mut rng, Profile::Omemo2);
    assert_eq!(
        Session::initiate(&mut rng, &alice.identity, &bob.bundle, None).unwrap_err(),
        Error::PreKeyRequired
    );
}

#[test]
fn one_identity_serves_both_profiles() {
    let mut rng = seeded(20);
    let identity = IdentityKeyPair::generate(&mut rng);
    let legacy = identity.public_key(Profile::Legacy);
    let two = identity.public_key(Profile::Omemo2);
    assert_eq!(legacy.to_wire().len(), 33);
    assert_eq!(two.to_wire().len(), 32);
    assert_eq!(
        crate::omemo::curve::ed25519_public_to_x25519(two.as_bytes()).unwrap(),
        *legacy.as_bytes()
    );
    for key in [legacy, two] {
        let f = key.fingerprint();
        let groups: Vec<&str> = f.split(' ').collect();
        assert_eq!(groups.len(), 8);
        assert!(groups.iter().all(|g| {
            g.len() == 8
                && g.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        }));
        assert_eq!(f.replace(' ', ""), super::super::keys::hex(key.as_bytes()));
    }
    let id = crate::omemo::DeviceId::generate(&mut rng);
    assert!((1..=crate::omemo::DeviceId::MAX).contains(&id.get()));
    assert_eq!(crate::omemo::DeviceId::new(0), None);
    assert_eq!(crate::omemo::DeviceId::new(1 << 31), None);
    let _: u32 = rng.next_u32();
}
