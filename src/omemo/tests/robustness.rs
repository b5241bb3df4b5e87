//! Untrusted input never panics: truncated, extended and random bytes in
//! every parser and decryptor give typed errors.

use prost::Message as _;
use rand::{Rng as _, RngExt as _};

use super::properties::{PROFILES, device, pair};
use super::seeded;
use crate::omemo::wire::{self, OmemoAuthenticatedMessage, OmemoMessage, WhisperMessage};
use crate::omemo::{
    Bundle, Error, IdentityKey, IdentityKeyPair, KeyExchange, PreKeyPair, Profile, PublicKey,
    Session, SignedPreKeyPair, decrypt_payload,
};

fn all_parsers(
    profile: Profile,
    session: &mut Session,
    bytes: &[u8],
    rng: &mut rand::rngs::StdRng,
) {
    let _ = wire::parse_message(profile, bytes);
    let _ = wire::parse_key_exchange(profile, bytes);
    if let Ok(kex) = KeyExchange::parse(profile, bytes) {
        let _ = session.decrypt_key_exchange(rng, &kex);
    }
    assert!(session.decrypt(rng, bytes).is_err());
    let _ = IdentityKey::from_wire(profile, bytes);
    let _ = PublicKey::from_wire(profile, bytes);
    let _ = Session::from_bytes(bytes);
    let _ = IdentityKeyPair::from_bytes(bytes);
    let _ = PreKeyPair::from_bytes(bytes);
    let _ = SignedPreKeyPair::from_bytes(bytes);
    let _ = Bundle::parse(profile, bytes, 1, bytes, bytes, [(1, bytes)]);
    for iv in [
        None,
        Some(&bytes[..bytes.len().min(12)]),
        Some(&bytes[..bytes.len().min(16)]),
    ] {
        for km in [
            &bytes[..bytes.len().min(16)],
            &bytes[..bytes.len().min(32)],
            &bytes[..bytes.len().min(48)],
        ] {
            let _ = decrypt_payload(profile, km, bytes, iv);
        }
    }
}

#[test]
fn truncations_and_extensions_never_panic() {
    for profile in PROFILES {
        let mut rng = seeded(21);
        let (mut a, mut b, _, _) = pair(&mut rng, profile);
        let kex = a.encrypt(b"wrapped").unwrap();
        let reply = b.encrypt(b"reply").unwrap();
        let blobs = [
            kex.bytes.clone(),
            reply.bytes.clone(),
            a.to_bytes().to_vec(),
            IdentityKeyPair::generate(&mut rng).to_bytes().to_vec(),
        ];
        let before = b.to_bytes();
        for blob in &blobs {
            for len in 0..blob.len() {
                all_parsers(profile, &mut b, &blob[..len], &mut rng);
            }
            let mut longer = blob.clone();
            longer.extend_from_slice(&[0x0a, 0x00, 0xff]);
            all_parsers(profile, &mut b, &longer, &mut rng);
        }
        assert_eq!(b.to_bytes(), before, "no garbage changed the session");
        // Truncating the real messages gives errors, not plaintext.
        for len in 0..kex.bytes.len() {
            assert!(
                KeyExchange::parse(profile, &kex.bytes[..len])
                    .and_then(|k| b.decrypt_key_exchange(&mut rng, &k))
                    .is_err()
            );
        }
        assert_eq!(b.to_bytes(), before);
    }
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = seeded(22);
    for profile in PROFILES {
        let (_, mut b, _, _) = pair(&mut rng, profile);
        for _ in 0..1500 {
            let len = rng.random_range(0..200);
            let mut bytes = vec![0_u8; len];
            rng.fill_bytes(&mut bytes);
            // Sometimes start like a real message so deeper code is reached.
            if len > 2 && rng.random_bool(0.5) {
                bytes[0] = match profile {
                    Profile::Legacy => 0x33,
                    Profile::Omemo2 => 0x0a,
                };
            }
            all_parsers(profile, &mut b, &bytes, &mut rng);
        }
    }
}

#[test]
fn structurally_valid_but_wrong_protobufs_give_typed_errors() {
    let mut rng = seeded(23);
    let (_, mut b, _, _) = pair(&mut rng, Profile::Omemo2);
    let dh = crate::omemo::curve::x25519_public(&[3; 32]).to_vec();
    let encode = |m: OmemoMessage, mac: Vec<u8>| {
        OmemoAuthenticatedMessage {
            mac: Some(mac),
            message: Some(m.encode_to_vec()),
        }
        .encode_to_vec()
    };
    let missing_n = OmemoMessage {
        n: None,
        pn: Some(0),
        dh_pub: Some(dh.clone()),
        ciphertext: Some(vec![0; 16]),
    };
    assert_eq!(
        b.decrypt(&mut rng, &encode(missing_n, vec![0; 16])),
        Err(Error::MissingField {
            message: "OMEMOMessage",
            field: "n"
        })
    );
    let short_key = OmemoMessage {
        n: Some(0),
        pn: Some(0),
        dh_pub: Some(vec![1; 31]),
        ciphertext: Some(vec![0; 16]),
    };
    assert!(matches!(
        b.decrypt(&mut rng, &encode(short_key, vec![0; 16])),
        Err(Error::InvalidLength { .. })
    ));
    let huge_n = OmemoMessage {
        n: Some(u32::MAX),
        pn: Some(u32::MAX),
        dh_pub: Some(dh.clone()),
        ciphertext: Some(vec![0; 16]),
    };
    assert!(matches!(
        b.decrypt(&mut rng, &encode(huge_n, vec![0; 16])),
        Err(Error::TooManySkipped { .. })
    ));
    let forged = OmemoMessage {
        n: Some(1),
        pn: Some(0),
        dh_pub: Some(dh),
        ciphertext: Some(vec![0; 16]),
    };
    assert_eq!(
        b.decrypt(&mut rng, &encode(forged, vec![0; 16])),
        Err(Error::MacMismatch)
    );
    assert_eq!(
        b.decrypt(&mut rng, &[0xff, 0xff, 0xff]),
        Err(Error::Malformed("OMEMOAuthenticatedMessage"))
    );

    let (_, mut b, _, _) = pair(&mut rng, Profile::Legacy);
    let no_counter = WhisperMessage {
        ephemeral_key: Some([vec![5], vec![9; 32]].concat()),
        counter: None,
        previous_counter: None,
        ciphertext: Some(vec![0; 16]),
    };
    let legacy =
        |m: WhisperMessage, version: u8| [vec![version], m.encode_to_vec(), vec![0; 8]].concat();
    assert_eq!(
        b.decrypt(&mut rng, &legacy(no_counter.clone(), 0x33)),
        Err(Error::MissingField {
            message: "WhisperMessage",
            field: "counter"
        })
    );
    assert_eq!(
        b.decrypt(&mut rng, &legacy(no_counter.clone(), 0x34)),
        Err(Error::UnsupportedVersion(0x34))
    );
    let no_type_byte = WhisperMessage {
        ephemeral_key: Some([vec![6], vec![9; 32]].concat()),
        counter: Some(1),
        ..no_counter
    };
    assert!(matches!(
        b.decrypt(&mut rng, &legacy(no_type_byte, 0x33)),
        Err(Error::InvalidPublicKey(_))
    ));
    assert_eq!(
        b.decrypt(&mut rng, &[0x33; 5]),
        Err(Error::Malformed("WhisperMessage"))
    );
}

#[test]
fn key_and_payload_shapes_are_checked() {
    let mut rng = seeded(24);
    assert!(matches!(
        PublicKey::from_wire(Profile::Legacy, &[5; 32]),
        Err(Error::InvalidLength { expected: 33, .. })
    ));
    assert!(matches!(
        PublicKey::from_wire(Profile::Legacy, &[[7].as_slice(), &[1; 32]].concat()),
        Err(Error::InvalidPublicKey(_))
    ));
    assert!(matches!(
        PublicKey::from_wire(Profile::Omemo2, &[1; 33]),
        Err(Error::InvalidLength { expected: 32, .. })
    ));
    assert!(matches!(
        PublicKey::from_wire(Profile::Omemo2, &[0xff; 32]),
        Err(Error::InvalidPublicKey(_))
    ));
    // The Ed25519 identity point has small order.
    let mut one = [0_u8; 32];
    one[0] = 1;
    assert!(matches!(
        IdentityKey::from_wire(Profile::Omemo2, &one),
        Err(Error::InvalidPublicKey(_))
    ));
    let dev = device(&mut rng, Profile::Omemo2);
    let b = &dev.bundle;
    let short_sig = Bundle::parse(
        Profile::Omemo2,
        &b.identity_key().to_wire(),
        1,
        &b.signed_pre_key().to_wire(Profile::Omemo2),
        &[0; 63],
        [],
    );
    assert!(matches!(
        short_sig,
        Err(Error::InvalidLength { expected: 64, .. })
    ));
    // Signatures do not carry over between profiles.
    let legacy = Bundle::parse(
        Profile::Legacy,
        &IdentityKeyPair::generate(&mut rng)
            .public_key(Profile::Legacy)
            .to_wire(),
        1,
        &b.signed_pre_key().to_wire(Profile::Legacy),
        b.signed_pre_key_signature(),
        [],
    );
    assert_eq!(legacy, Err(Error::BadSignature));

    assert_eq!(
        decrypt_payload(Profile::Legacy, &[0; 32], b"x", None),
        Err(Error::InvalidIv(0))
    );
    assert_eq!(
        decrypt_payload(Profile::Legacy, &[0; 32], b"x", Some(&[0; 13])),
        Err(Error::InvalidIv(13))
    );
    assert_eq!(
        decrypt_payload(Profile::Legacy, &[0; 20], b"x", Some(&[0; 12])),
        Err(Error::InvalidKeyMaterial(20))
    );
    assert_eq!(
        decrypt_payload(Profile::Legacy, &[0; 16], b"short", Some(&[0; 12])),
        Err(Error::MalformedPayload)
    );
    assert_eq!(
        decrypt_payload(Profile::Omemo2, &[0; 32], b"x", None),
        Err(Error::InvalidKeyMaterial(32))
    );
    assert_eq!(
        decrypt_payload(Profile::Omemo2, &[0; 48], b"x", Some(&[0; 12])),
        Err(Error::InvalidIv(12))
    );
    assert_eq!(
        decrypt_payload(Profile::Omemo2, &[0; 48], b"x", None),
        Err(Error::PayloadAuthentication)
    );
    // Empty-message key material.
    assert_eq!(
        crate::omemo::empty_key_material(&mut rng, Profile::Legacy).len(),
        16
    );
    assert_eq!(
        *crate::omemo::empty_key_material(&mut rng, Profile::Omemo2),
        vec![0; 32]
    );
    // Messages of one profile are not messages of the other.
    let (mut a, mut b, _, _) = pair(&mut rng, Profile::Legacy);
    let (mut a2, _, _, _) = pair(&mut rng, Profile::Omemo2);
    let legacy_kex = a.encrypt(b"x").unwrap();
    assert!(KeyExchange::parse(Profile::Omemo2, &legacy_kex.bytes).is_err());
    let two = a2.encrypt(b"x").unwrap();
    assert!(KeyExchange::parse(Profile::Legacy, &two.bytes).is_err());
    assert!(b.decrypt(&mut rng, &two.bytes).is_err());
}
