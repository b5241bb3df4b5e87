//! X3DH both ways against python's `x3dh` with each profile's StateImpl.

use super::{h32, h64, hx, json, profile};
use crate::omemo::curve::x25519_public;
use crate::omemo::keys::{Bundle, IdentityKeyPair};
use crate::omemo::{Profile, x3dh};

#[test]
fn x3dh_matches_python_x3dh() {
    let data = json(include_str!("../testdata/x3dh.json"));
    let cases = data.as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for c in cases {
        let profile = profile(c["profile"].as_str().unwrap());
        let alice = IdentityKeyPair::from_seed(h32(&c["alice_seed"]));
        let bob = IdentityKeyPair::from_seed(h32(&c["bob_seed"]));
        let alice_ik = alice.public_key(profile);
        let bob_ik = bob.public_key(profile);
        assert_eq!(alice_ik.to_wire(), hx(&c["alice_identity"]));
        assert_eq!(bob_ik.to_wire(), hx(&c["bob_identity"]));

        let spk_private = h32(&c["bob_signed_pre_key_priv"]);
        let spk = h32(&c["bob_signed_pre_key_pub"]);
        assert_eq!(x25519_public(&spk_private), spk);
        let ek = h32(&c["ephemeral_priv"]);
        assert_eq!(x25519_public(&ek), h32(&c["ephemeral_pub"]));
        let (opk_private, opk) = if c["with_pre_key"].as_bool().unwrap() {
            (
                Some(h32(&c["bob_pre_key_priv"])),
                Some(h32(&c["bob_pre_key_pub"])),
            )
        } else {
            (None, None)
        };
        let shared = h32(&c["shared_secret"]);

        let active = x3dh::active(
            profile,
            &alice.private_scalar(),
            &bob_ik.x25519().unwrap(),
            &spk,
            opk.as_ref(),
            &ek,
        )
        .unwrap();
        assert_eq!(*active, shared, "{profile:?} active");
        let passive = x3dh::passive(
            profile,
            &bob.private_scalar(),
            &spk_private,
            opk_private.as_ref(),
            &alice_ik.x25519().unwrap(),
            &x25519_public(&ek),
        )
        .unwrap();
        assert_eq!(*passive, shared, "{profile:?} passive");

        // x3dh's associated data is initiator ‖ responder in the profile's
        // encoding; the sessions build their MAC input from the same keys.
        assert_eq!(
            [alice_ik.to_wire(), bob_ik.to_wire()].concat(),
            hx(&c["associated_data"])
        );

        // The signed prekey signature verifies in its wire form (legacy:
        // python-oldmemo moves the Ed25519 sign bit into the signature).
        let mut signature = h64(&c["bob_signed_pre_key_signature"]);
        if profile == Profile::Legacy {
            signature[63] |= bob.public_key(Profile::Omemo2).as_bytes()[31] & 0x80;
        }
        let spk_wire = crate::omemo::keys::curve_to_wire(profile, &spk);
        Bundle::parse(profile, &bob_ik.to_wire(), 1, &spk_wire, &signature, []).unwrap();
    }
}
