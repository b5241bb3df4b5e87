//! State blobs: round trips, resumption, and damaged blobs.

use super::properties::{PROFILES, deliver, pair};
use super::seeded;
use crate::omemo::{
    Bundle, Error, IdentityKeyPair, PreKeyPair, Profile, Session, SignedPreKeyPair,
};

#[test]
fn key_blobs_round_trip() {
    let mut rng = seeded(31);
    let identity = IdentityKeyPair::generate(&mut rng);
    let back = IdentityKeyPair::from_bytes(&identity.to_bytes()).unwrap();
    let private = IdentityKeyPair::from_private_key([0x42; 32]);
    let private_back = IdentityKeyPair::from_bytes(&private.to_bytes()).unwrap();
    for profile in PROFILES {
        assert_eq!(back.public_key(profile), identity.public_key(profile));
        assert_eq!(
            private_back.public_key(profile),
            private.public_key(profile)
        );
        let spk = SignedPreKeyPair::generate(&mut rng, &identity, profile, 9, 1234);
        let spk_back = SignedPreKeyPair::from_bytes(&spk.to_bytes()).unwrap();
        assert_eq!(
            (spk_back.id(), spk_back.profile(), spk_back.created_at()),
            (9, profile, 1234)
        );
        assert_eq!(spk_back.public_key(), spk.public_key());
        assert_eq!(spk_back.signature(), spk.signature());
        let pk = PreKeyPair::generate(&mut rng, 77);
        let pk_back = PreKeyPair::from_bytes(&pk.to_bytes()).unwrap();
        assert_eq!((pk_back.id(), pk_back.public_key()), (77, pk.public_key()));
        // A bundle from the reloaded keys is the same bundle.
        assert_eq!(
            Bundle::new(&back, &spk_back, &[pk_back]),
            Bundle::new(&identity, &spk, &[pk])
        );
        // A private-key identity signs valid bundles too.
        let spk = SignedPreKeyPair::generate(&mut rng, &private, profile, 1, 0);
        let b = Bundle::new(&private, &spk, &[]);
        Bundle::parse(
            profile,
            &b.identity_key().to_wire(),
            1,
            &b.signed_pre_key().to_wire(profile),
            b.signed_pre_key_signature(),
            [],
        )
        .unwrap();
    }
}

#[test]
fn sessions_resume_from_blobs() {
    for profile in PROFILES {
        let mut rng = seeded(32);
        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        let skipped = a.encrypt(b"skipped").unwrap();
        let m = a.encrypt(b"one").unwrap();
        deliver(&mut rng, &mut b, &m).unwrap();
        assert_eq!(b.skipped_key_count(), 1);
        let mut a = Session::from_bytes(&a.to_bytes()).unwrap();
        let mut b = Session::from_bytes(&b.to_bytes()).unwrap();
        assert_eq!(
            b.to_bytes(),
            Session::from_bytes(&b.to_bytes()).unwrap().to_bytes()
        );
        assert!(!a.is_confirmed() && a.is_initiator() && !b.is_initiator());
        assert_eq!(deliver(&mut rng, &mut b, &skipped).unwrap(), b"skipped");
        let r = b.encrypt(b"two").unwrap();
        assert_eq!(deliver(&mut rng, &mut a, &r).unwrap(), b"two");
        let mut a = Session::from_bytes(&a.to_bytes()).unwrap();
        assert!(a.is_confirmed());
        let m = a.encrypt(b"three").unwrap();
        assert!(!m.key_exchange);
        assert_eq!(deliver(&mut rng, &mut b, &m).unwrap(), b"three");
        assert_eq!(a.profile(), profile);
    }
}

#[test]
fn damaged_blobs_are_refused() {
    let mut rng = seeded(33);
    let (a, _, _, _) = pair(&mut rng, Profile::Omemo2);
    let blob = a.to_bytes();
    let mut other_format = blob.to_vec();
    other_format[0] = 2;
    assert_eq!(
        Session::from_bytes(&other_format).unwrap_err(),
        Error::UnsupportedStateFormat(2)
    );
    assert_eq!(
        Session::from_bytes(&[]).unwrap_err(),
        Error::CorruptState("empty")
    );
    let identity = IdentityKeyPair::generate(&mut rng).to_bytes();
    assert_eq!(
        Session::from_bytes(&identity).unwrap_err(),
        Error::CorruptState("wrong kind of blob")
    );
    assert!(IdentityKeyPair::from_bytes(&blob).is_err());
    for len in 0..blob.len() {
        let _ = Session::from_bytes(&blob[..len]);
    }
    let mut flipped = blob.to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    let _ = Session::from_bytes(&flipped);
}

/// Every way a byte string can show up in `{:?}` output: lowercase and
/// uppercase hex, and Rust's own `[1, 2, …]` list form.
fn renderings(secret: &[u8]) -> [String; 3] {
    let hex = crate::omemo::keys::hex(secret);
    [hex.to_uppercase(), format!("{secret:?}"), hex]
}

fn assert_hidden(debug: &str, secret: &[u8], what: &str) {
    for form in renderings(secret) {
        assert!(!debug.contains(&form), "{what} appears in {debug}");
    }
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let mut rng = seeded(34);
    for profile in PROFILES {
        let identity = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKeyPair::generate(&mut rng, &identity, profile, 1, 0);
        let pk = PreKeyPair::generate(&mut rng, 1);
        let store = crate::omemo::MemoryPreKeyStore {
            signed_pre_keys: vec![spk.clone()],
            pre_keys: vec![pk.clone()],
        };
        let debug = format!("{identity:?} {spk:?} {pk:?} {store:?}");
        assert_hidden(
            &debug,
            identity.private_scalar().as_ref(),
            "identity scalar",
        );
        if let crate::omemo::keys::IdentitySecret::Seed(seed) = &identity.secret {
            assert_hidden(&debug, seed.as_ref(), "identity seed");
        }
        assert_hidden(&debug, spk.private.as_ref(), "signed prekey");
        assert_hidden(&debug, pk.private.as_ref(), "prekey");
        // The public halves are what Debug is for.
        assert!(debug.contains(&crate::omemo::keys::hex(pk.public_key().as_bytes())));

        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        // Never delivered, so b keeps its key as skipped.
        a.encrypt(b"lost").unwrap();
        let m = a.encrypt(b"after").unwrap();
        deliver(&mut rng, &mut b, &m).unwrap();
        for session in [&a, &b] {
            let debug = format!("{session:?}");
            let core = &session.ratchet.core;
            assert_hidden(&debug, core.root_key.as_ref(), "root key");
            assert_hidden(&debug, core.own_private.as_ref(), "ratchet key");
            assert_hidden(&debug, core.sending.key.as_ref(), "sending chain");
            if let Some(receiving) = &core.receiving {
                assert_hidden(&debug, receiving.key.as_ref(), "receiving chain");
            }
            for k in &session.ratchet.skipped {
                assert_hidden(&debug, k.key.as_ref(), "skipped key");
            }
        }
        assert_eq!(b.skipped_key_count(), 1);

        let payload = crate::omemo::encrypt_payload(&mut rng, profile, b"body").unwrap();
        assert_hidden(
            &format!("{payload:?}"),
            &payload.key_material,
            "key material",
        );
    }
}
