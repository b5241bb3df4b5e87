//! XEdDSA, Ed25519 and X25519 against libxeddsa (python `xeddsa`).

use super::{h32, h64, hx, json};
use crate::omemo::curve;
use crate::omemo::keys::IdentityKeyPair;
use crate::omemo::{Error, Profile};

const DATA: &str = include_str!("../testdata/xeddsa.json");

#[test]
fn seed_keys_and_signatures_match_libxeddsa() {
    let data = json(DATA);
    let cases = data["seed_cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    let mut sign_bits = [false; 2];
    for c in cases {
        let seed = h32(&c["seed"]);
        let private = h32(&c["priv"]);
        let ed = h32(&c["ed25519_pub"]);
        let mont = h32(&c["curve25519_pub"]);
        let message = hx(&c["message"]);
        let nonce = h64(&c["nonce"]);
        sign_bits[usize::from(ed[31] >> 7)] = true;

        assert_eq!(*curve::seed_to_private(&seed), private);
        let identity = IdentityKeyPair::from_seed(seed);
        assert_eq!(identity.public_key(Profile::Omemo2).as_bytes(), &ed);
        assert_eq!(identity.public_key(Profile::Legacy).as_bytes(), &mont);
        assert_eq!(curve::ed25519_public_to_x25519(&ed).unwrap(), mont);

        let xeddsa_sig = h64(&c["xeddsa_signature"]);
        assert_eq!(curve::xeddsa_sign(&private, &message, &nonce), xeddsa_sig);
        // Legacy bundles are signed in python-oldmemo's form (see
        // IdentityKeyPair::sign), not XEdDSA's.
        let legacy_sig = identity.sign(Profile::Legacy, &message, &nonce);
        assert_eq!(legacy_sig, h64(&c["oldmemo_signature"]));
        // The legacy key plus the signature's top bit give back our Ed25519
        // key, whichever its sign bit (both occur in these cases).
        assert_eq!(
            curve::x25519_public_to_ed25519(&mont, legacy_sig[63] >> 7),
            Some(ed)
        );
        curve::xeddsa_verify(&mont, &message, &legacy_sig).unwrap();
        let seed_sig = h64(&c["ed25519_seed_signature"]);
        assert_eq!(curve::ed25519_seed_sign(&seed, &message), seed_sig);
        assert_eq!(identity.sign(Profile::Omemo2, &message, &nonce), seed_sig);
        let priv_sig = h64(&c["ed25519_priv_signature"]);
        assert_eq!(
            curve::ed25519_private_sign(&private, &message, &nonce),
            priv_sig
        );
        assert_eq!(
            IdentityKeyPair::from_private_key(private).sign(Profile::Omemo2, &message, &nonce),
            priv_sig
        );
        assert_eq!(
            IdentityKeyPair::from_private_key(private)
                .public_key(Profile::Omemo2)
                .as_bytes(),
            &ed
        );

        // XEdDSA signatures, and python-oldmemo's bundle signatures (the
        // Ed25519 sign bit in the top bit of s), both verify as legacy
        // signatures; plain Ed25519 ones with the Ed25519 key.
        curve::xeddsa_verify(&mont, &message, &xeddsa_sig).unwrap();
        curve::xeddsa_verify(&mont, &message, &h64(&c["oldmemo_signature"])).unwrap();
        curve::ed25519_verify(&ed, &message, &seed_sig).unwrap();
        curve::ed25519_verify(&ed, &message, &priv_sig).unwrap();
        let with_sign = curve::x25519_public_to_ed25519(&mont, 0).unwrap();
        curve::ed25519_verify(&with_sign, &message, &xeddsa_sig).unwrap();

        // Any change breaks them.
        let mut bad = xeddsa_sig;
        bad[5] ^= 0x10;
        assert_eq!(
            curve::xeddsa_verify(&mont, &message, &bad),
            Err(Error::BadSignature)
        );
        let mut other = message.clone();
        other.push(0);
        assert_eq!(
            curve::xeddsa_verify(&mont, &other, &xeddsa_sig),
            Err(Error::BadSignature)
        );
        assert_eq!(
            curve::ed25519_verify(&ed, &other, &seed_sig),
            Err(Error::BadSignature)
        );
    }
    assert_eq!(
        sign_bits,
        [true, true],
        "vectors cover both Ed25519 sign bits"
    );
}

#[test]
fn raw_private_keys_match_libxeddsa() {
    let data = json(DATA);
    for c in data["priv_cases"].as_array().unwrap() {
        let private = h32(&c["priv"]);
        let mont = h32(&c["curve25519_pub"]);
        let message = hx(&c["message"]);
        let nonce = h64(&c["nonce"]);
        assert_eq!(curve::x25519_public(&private), mont);
        assert_eq!(
            IdentityKeyPair::from_private_key(private)
                .public_key(Profile::Legacy)
                .as_bytes(),
            &mont
        );
        let clamped = curve25519_dalek::scalar::clamp_integer(private);
        assert_eq!(
            curve::private_to_ed25519_public(&clamped),
            h32(&c["ed25519_pub"])
        );
        let sig = h64(&c["xeddsa_signature"]);
        assert_eq!(curve::xeddsa_sign(&private, &message, &nonce), sig);
        curve::xeddsa_verify(&mont, &message, &sig).unwrap();
    }
}

#[test]
fn x25519_matches_libsodium() {
    let data = json(DATA);
    for c in data["x25519"].as_array().unwrap() {
        assert_eq!(
            *curve::x25519(&h32(&c["priv"]), &h32(&c["pub"])).unwrap(),
            h32(&c["shared"])
        );
    }
}

#[test]
fn small_order_points_are_refused() {
    // u = 0 and u = 1 are small-order points: the DH result is all zeros.
    assert!(matches!(
        curve::x25519(&[7; 32], &[0; 32]),
        Err(Error::InvalidPublicKey(_))
    ));
    let mut one = [0_u8; 32];
    one[0] = 1;
    assert!(matches!(
        curve::x25519(&[7; 32], &one),
        Err(Error::InvalidPublicKey(_))
    ));
    // The Ed25519 identity point (y = 1) has small order.
    assert!(curve::ed25519_public_to_x25519(&one).is_err());
}
