//! Double Ratchet messages, bit for bit, against two python ratchets of each
//! profile (twomemo's and oldmemo's DoubleRatchetImpl + AEADImpl) exchanging
//! messages out of order.

use zeroize::Zeroizing;

use super::{ScriptedRng, h32, hx, json, profile};
use crate::omemo::curve::x25519_public;
use crate::omemo::keys::IdentityKeyPair;
use crate::omemo::ratchet::Ratchet;
use crate::omemo::session::{Role, Session};
use crate::omemo::wire::{self, KeyExchangeHeader};

#[test]
fn ratchet_messages_match_python_bit_for_bit() {
    let data = json(include_str!("../testdata/ratchet.json"));
    let mut checked = 0;
    for (name, d) in data.as_object().unwrap() {
        let profile = profile(name);
        let alice_ik = IdentityKeyPair::from_seed(h32(&d["alice_seed"])).public_key(profile);
        let bob_ik = IdentityKeyPair::from_seed(h32(&d["bob_seed"])).public_key(profile);
        let shared = Zeroizing::new(h32(&d["shared_secret"]));
        let spk_private = h32(&d["bob_signed_pre_key_priv"]);
        let privs = |key: &str| {
            d[key]
                .as_array()
                .unwrap()
                .iter()
                .map(hx)
                .collect::<Vec<_>>()
        };
        let (alice_privs, bob_privs) = (privs("alice_ratchet_privs"), privs("bob_ratchet_privs"));
        let origin = KeyExchangeHeader {
            identity_key: alice_ik.key,
            base_key: [9; 32],
            signed_pre_key_id: 1,
            pre_key_id: None,
        };

        let first = Zeroizing::new(alice_privs[0].clone().try_into().unwrap());
        let mut alice = Session {
            profile,
            role: Role::Initiator,
            own_identity: alice_ik,
            remote_identity: bob_ik,
            origin,
            // Python's ratchet-level messages are not wrapped in key exchanges.
            confirmed: true,
            ratchet: Ratchet::active(profile, &shared, &x25519_public(&spk_private), first)
                .unwrap(),
        };
        let mut alice_rng = ScriptedRng::new(alice_privs[1..].iter().cloned());
        let mut bob: Option<Session> = None;
        let mut bob_rng = ScriptedRng::new(bob_privs[1..].iter().cloned());

        for step in d["script"].as_array().unwrap() {
            let (who, action, label) = (
                step[0].as_str().unwrap(),
                step[1].as_str().unwrap(),
                step[2].as_str().unwrap(),
            );
            let m = &d["messages"][label];
            let (bytes, plaintext) = (hx(&m["bytes"]), hx(&m["plaintext"]));
            match (who, action) {
                ("alice", "send") => {
                    let out = alice.encrypt(&plaintext).unwrap();
                    assert_eq!(out.bytes, bytes, "{name}: {label} differs from python");
                    assert!(!out.key_exchange);
                }
                ("bob", "send") => {
                    let out = bob.as_mut().unwrap().encrypt(&plaintext).unwrap();
                    assert_eq!(out.bytes, bytes, "{name}: {label} differs from python");
                }
                ("alice", "recv") => {
                    assert_eq!(
                        *alice.decrypt(&mut alice_rng, &bytes).unwrap(),
                        plaintext,
                        "{name}: {label}"
                    );
                }
                ("bob", "recv") => {
                    let session = bob.get_or_insert_with(|| {
                        let header = wire::parse_message(profile, &bytes).unwrap().header;
                        let own = Zeroizing::new(bob_privs[0].clone().try_into().unwrap());
                        Session {
                            profile,
                            role: Role::Responder,
                            own_identity: bob_ik,
                            remote_identity: alice_ik,
                            origin,
                            confirmed: true,
                            ratchet: Ratchet::passive(
                                profile,
                                &shared,
                                &spk_private,
                                &header.dh_pub,
                                own,
                            )
                            .unwrap(),
                        }
                    });
                    assert_eq!(
                        *session.decrypt(&mut bob_rng, &bytes).unwrap(),
                        plaintext,
                        "{name}: {label}"
                    );
                }
                other => panic!("bad script step {other:?}"),
            }
            checked += 1;
        }
        assert!(
            alice_rng.is_drained() && bob_rng.is_drained(),
            "{name}: every python ratchet key was used"
        );
    }
    assert_eq!(checked, 28);
}
