//! Root chain, message chain and message-key expansion against python's
//! `doubleratchet` with each profile's KDF classes.

use super::{h32, hx, json, profile};
use crate::omemo::kdf;

#[test]
fn kdf_chains_match_doubleratchet() {
    let data = json(include_str!("../testdata/kdf.json"));
    for (name, d) in data.as_object().unwrap() {
        let profile = profile(name);
        let mut root = zeroize::Zeroizing::new(h32(&d["root_key"]));
        for step in d["root_steps"].as_array().unwrap() {
            let (next, chain) = kdf::root_step(profile, &root, &h32(&step["dh"])).unwrap();
            assert_eq!(*chain, h32(&step["chain_key"]), "{name} root chain");
            assert_eq!(*next, h32(&step["root_key_after"]), "{name} root chain");
            root = next;
        }
        let mut chain = zeroize::Zeroizing::new(h32(&d["chain_key"]));
        for step in d["message_steps"].as_array().unwrap() {
            let (next, mk) = kdf::chain_step(&chain).unwrap();
            assert_eq!(*mk, h32(&step["message_key"]), "{name} message chain");
            assert_eq!(*next, h32(&step["chain_key_after"]), "{name} message chain");
            chain = next;
        }
        for e in d["message_key_expansions"].as_array().unwrap() {
            let keys =
                kdf::expand_keys(&hx(&e["message_key"]), profile.message_key_info()).unwrap();
            assert_eq!(*keys.cipher_key, h32(&e["cipher_key"]));
            assert_eq!(*keys.mac_key, h32(&e["mac_key"]));
            assert_eq!(keys.iv.to_vec(), hx(&e["iv"]));
        }
    }
}
