//! Payload encryption against python-oldmemo/twomemo's Backend
//! `encrypt_plaintext`, and the old Conversations forms.

use super::{hx, json};
use crate::omemo::payload::{encrypt_legacy, encrypt_omemo2};
use crate::omemo::{Error, Profile, decrypt_payload};

#[test]
fn payloads_match_python() {
    let data = json(include_str!("../testdata/payload.json"));
    for c in data["legacy"].as_array().unwrap() {
        let (key, iv, plaintext) = (hx(&c["key"]), hx(&c["iv"]), hx(&c["plaintext"]));
        let out = encrypt_legacy(
            &key.clone().try_into().unwrap(),
            &iv.clone().try_into().unwrap(),
            &plaintext,
        )
        .unwrap();
        assert_eq!(out.ciphertext, hx(&c["ciphertext"]));
        assert_eq!(*out.key_material, [key.clone(), hx(&c["tag"])].concat());
        assert_eq!(out.iv.unwrap().to_vec(), iv);
        assert_eq!(
            *decrypt_payload(
                Profile::Legacy,
                &out.key_material,
                &out.ciphertext,
                Some(&iv)
            )
            .unwrap(),
            plaintext
        );
        let mut tampered = out.ciphertext.clone();
        if let Some(b) = tampered.first_mut() {
            *b ^= 1;
            assert_eq!(
                decrypt_payload(Profile::Legacy, &out.key_material, &tampered, Some(&iv)),
                Err(Error::PayloadAuthentication)
            );
        }
    }
    for c in data["omemo2"].as_array().unwrap() {
        let (key, plaintext) = (hx(&c["key"]), hx(&c["plaintext"]));
        let out = encrypt_omemo2(&key.clone().try_into().unwrap(), &plaintext).unwrap();
        assert_eq!(out.ciphertext, hx(&c["ciphertext"]));
        assert_eq!(*out.key_material, [key.clone(), hx(&c["tag"])].concat());
        assert_eq!(out.iv, None);
        assert_eq!(
            *decrypt_payload(Profile::Omemo2, &out.key_material, &out.ciphertext, None).unwrap(),
            plaintext
        );
        let mut tampered = out.ciphertext.clone();
        tampered[0] ^= 1;
        assert_eq!(
            decrypt_payload(Profile::Omemo2, &out.key_material, &tampered, None),
            Err(Error::PayloadAuthentication)
        );
        let mut tag = out.key_material.to_vec();
        tag[40] ^= 1;
        assert_eq!(
            decrypt_payload(Profile::Omemo2, &tag, &out.ciphertext, None),
            Err(Error::PayloadAuthentication)
        );
    }
    for c in data["legacy_old_forms"].as_array().unwrap() {
        let (key, iv, plaintext, sealed) = (
            hx(&c["key"]),
            hx(&c["iv"]),
            hx(&c["plaintext"]),
            hx(&c["sealed"]),
        );
        assert_eq!(iv.len(), 16);
        // Old Conversations: only the key in the ratchet, the tag after the
        // ciphertext.
        assert_eq!(
            *decrypt_payload(Profile::Legacy, &key, &sealed, Some(&iv)).unwrap(),
            plaintext
        );
        // Current form with a 16-byte IV.
        let (body, tag) = sealed.split_at(sealed.len() - 16);
        let material = [key.as_slice(), tag].concat();
        assert_eq!(
            *decrypt_payload(Profile::Legacy, &material, body, Some(&iv)).unwrap(),
            plaintext
        );
    }
}
