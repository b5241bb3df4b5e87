//! Key exchanges made by python-twomemo/oldmemo Backends, answered by Rust.

use super::{h32, hx, json, profile, seeded};
use crate::omemo::{
    Bundle, Error, IdentityKeyPair, KeyExchange, MemoryPreKeyStore, PreKeyPair, Profile, Session,
    SignedPreKeyPair, decrypt_payload,
};

struct Case {
    profile: Profile,
    identity: IdentityKeyPair,
    store: MemoryPreKeyStore,
    data: serde_json::Value,
}

fn cases() -> Vec<Case> {
    let data = json(include_str!("../testdata/sessions.json"));
    data.as_object()
        .unwrap()
        .iter()
        .map(|(name, d)| {
            let profile = profile(name);
            let identity = IdentityKeyPair::from_seed(h32(&d["bob_seed"]));
            let spk = SignedPreKeyPair::from_private(
                &identity,
                profile,
                u32::try_from(d["bob_signed_pre_key_id"].as_u64().unwrap()).unwrap(),
                h32(&d["bob_signed_pre_key_priv"]),
                &[0; 64],
                0,
            );
            let pre_keys = d["bob_pre_keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    PreKeyPair::from_private(
                        u32::try_from(p[0].as_u64().unwrap()).unwrap(),
                        h32(&p[1]),
                    )
                })
                .collect();
            Case {
                profile,
                identity,
                store: MemoryPreKeyStore {
                    signed_pre_keys: vec![spk],
                    pre_keys,
                },
                data: d.clone(),
            }
        })
        .collect()
}

fn check_payload(profile: Profile, key_material: &[u8], m: &serde_json::Value) {
    assert_eq!(
        key_material.len(),
        usize::try_from(m["key_material_len"].as_u64().unwrap()).unwrap()
    );
    if m["payload"].is_null() {
        // An empty OMEMO message: nothing to decrypt.
        if profile == Profile::Omemo2 {
            assert_eq!(key_material, [0; 32]);
        }
        return;
    }
    let iv = m["iv"].as_str().map(super::unhex);
    let plaintext =
        decrypt_payload(profile, key_material, &hx(&m["payload"]), iv.as_deref()).unwrap();
    assert_eq!(*plaintext, hx(&m["plaintext"]));
}

#[test]
fn python_bundles_parse_and_verify() {
    for c in cases() {
        let b = &c.data["bob_bundle"];
        let pre_keys: Vec<(u32, Vec<u8>)> = b["pre_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (u32::try_from(p[0].as_u64().unwrap()).unwrap(), hx(&p[1])))
            .collect();
        let bundle = Bundle::parse(
            c.profile,
            &hx(&b["identity_key"]),
            u32::try_from(b["signed_pre_key_id"].as_u64().unwrap()).unwrap(),
            &hx(&b["signed_pre_key"]),
            &hx(&b["signature"]),
            pre_keys.iter().map(|(i, k)| (*i, k.as_slice())),
        )
        .unwrap();
        assert_eq!(bundle.identity_key(), &c.identity.public_key(c.profile));
        assert_eq!(bundle.pre_keys().len(), 3);
        // A flipped signature bit is caught.
        let mut sig = hx(&b["signature"]);
        sig[10] ^= 1;
        let bad = Bundle::parse(
            c.profile,
            &hx(&b["identity_key"]),
            7,
            &hx(&b["signed_pre_key"]),
            &sig,
            [],
        );
        assert_eq!(bad, Err(Error::BadSignature));
    }
}

#[test]
fn python_key_exchanges_in_order() {
    let mut rng = seeded(1);
    for c in cases() {
        let messages = c.data["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 4);
        let first = KeyExchange::parse(c.profile, &hx(&messages[0]["key_exchange"])).unwrap();
        assert_eq!(
            first.identity_key().to_wire(),
            hx(&c.data["alice_identity"])
        );
        assert_eq!(
            first.pre_key_id(),
            c.data["used_pre_key_id"]
                .as_u64()
                .map(|v| u32::try_from(v).unwrap())
        );
        let responded = Session::respond(&mut rng, &c.identity, &c.store, &first).unwrap();
        assert_eq!(responded.consumed_pre_key_id, first.pre_key_id());
        check_payload(c.profile, &responded.plaintext, &messages[0]);
        let mut session = responded.session;
        assert_eq!(
            session.remote_identity().fingerprint().replace(' ', ""),
            c.data["alice_fingerprint_hex"].as_str().unwrap()
        );
        for m in &messages[1..] {
            // The initiator repeats its key exchange until it hears back.
            let kex = KeyExchange::parse(c.profile, &hx(&m["key_exchange"])).unwrap();
            assert!(session.was_built_from(&kex));
            let key_material = session.decrypt_key_exchange(&mut rng, &kex).unwrap();
            check_payload(c.profile, &key_material, m);
        }
        // A second copy (carbon, MAM) of the first message is a duplicate and
        // changes nothing.
        let before = session.to_bytes();
        assert_eq!(
            session.decrypt_key_exchange(&mut rng, &first),
            Err(Error::Duplicate)
        );
        assert_eq!(session.to_bytes(), before);
        // Without the session, the used prekey is the store's business: if
        // it is gone, respond says which one.
        let mut without = c.store.clone();
        without
            .pre_keys
            .retain(|k| Some(k.id()) != first.pre_key_id());
        let err = Session::respond(&mut rng, &c.identity, &without, &first).unwrap_err();
        assert_eq!(err, Error::UnknownPreKey(first.pre_key_id().unwrap()));
    }
}

#[test]
fn python_key_exchanges_out_of_order() {
    let mut rng = seeded(2);
    for c in cases() {
        let messages = c.data["messages"].as_array().unwrap();
        // The last one arrives first: it builds the session and leaves the
        // earlier keys skipped.
        let last = KeyExchange::parse(c.profile, &hx(&messages[3]["key_exchange"])).unwrap();
        let responded = Session::respond(&mut rng, &c.identity, &c.store, &last).unwrap();
        check_payload(c.profile, &responded.plaintext, &messages[3]);
        let mut session = responded.session;
        assert_eq!(session.skipped_key_count(), 3);
        for i in [1, 0, 2] {
            let kex = KeyExchange::parse(c.profile, &hx(&messages[i]["key_exchange"])).unwrap();
            let key_material = session.decrypt_key_exchange(&mut rng, &kex).unwrap();
            check_payload(c.profile, &key_material, &messages[i]);
        }
        assert_eq!(session.skipped_key_count(), 0);
    }
}
