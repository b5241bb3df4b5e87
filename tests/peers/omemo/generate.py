#!/usr/bin/env python3
"""Generates the known-answer vectors of the Rust OMEMO core.

Run with the test venv (slixmpp-omemo brings x3dh, doubleratchet, xeddsa,
twomemo and oldmemo), from the repository root:

    /var/cache/sotto/venv/bin/python tests/peers/omemo/generate.py

It rewrites src/omemo/testdata/*.json; the output is the same on every run.

Every value comes from the python packages themselves with a fixed seed:
XEdDSA/Ed25519 from `xeddsa` (libxeddsa), KDF chains from `doubleratchet`,
X3DH from `x3dh`, ratchet messages from `twomemo`'s and `oldmemo`'s
DoubleRatchetImpl/AEADImpl, key exchanges and payloads from their Backend
classes, bundles through their etree serialisers. oldmemo (AGPL) is only
run, never copied.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyomemo import (  # noqa: E402
    DET, PROFILES, MemStorage, backend, bundle_from_wire, bundle_wire, dump, h, identity_wire,
    make_deterministic, serialize_key_exchange, dhr,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from doubleratchet.kdf_chain import KDFChain  # noqa: E402
from doubleratchet.recommended import HashFunction  # noqa: E402
import omemo.identity_key_pair  # noqa: E402
import x3dh  # noqa: E402
import x3dh.models  # noqa: E402
import x3dh.types  # noqa: E402
import xeddsa  # noqa: E402


def gen_xeddsa(r):
    seeds = []
    have = set()
    while len(seeds) < 8 or have != {0, 1}:
        seed = r.randbytes(32)
        bit = xeddsa.seed_to_ed25519_pub(seed)[31] >> 7
        if len(seeds) >= 8 and bit in have:
            continue
        have.add(bit)
        seeds.append(seed)
    seed_cases = []
    for i, seed in enumerate(seeds):
        msg = r.randbytes((i * 11) % 70)
        nonce = r.randbytes(64)
        priv = xeddsa.seed_to_priv(seed)
        ed = xeddsa.seed_to_ed25519_pub(seed)
        curve = xeddsa.priv_to_curve25519_pub(priv)
        sig_x = xeddsa.ed25519_priv_sign(xeddsa.priv_force_sign(priv, False), msg, nonce)
        sig_priv = xeddsa.ed25519_priv_sign(priv, msg, nonce)
        sig_seed = xeddsa.ed25519_seed_sign(seed, msg)
        old = bytearray(sig_priv)
        old[63] |= ed[31] & 0x80
        assert xeddsa.ed25519_verify(sig_x, xeddsa.curve25519_pub_to_ed25519_pub(curve, False), msg)
        assert xeddsa.ed25519_verify(sig_seed, ed, msg)
        assert xeddsa.ed25519_verify(sig_priv, ed, msg)
        assert xeddsa.ed25519_pub_to_curve25519_pub(ed) == curve
        assert xeddsa.seed_to_ed25519_pub(seed) == xeddsa.priv_to_ed25519_pub(priv)
        seed_cases.append({
            "seed": h(seed), "priv": h(priv), "ed25519_pub": h(ed), "curve25519_pub": h(curve),
            "message": h(msg), "nonce": h(nonce),
            "xeddsa_signature": h(sig_x),
            "ed25519_seed_signature": h(sig_seed),
            "ed25519_priv_signature": h(sig_priv),
            "oldmemo_signature": h(bytes(old)),
        })
    priv_cases = []
    for i in range(6):
        priv = r.randbytes(32)  # unclamped, as secrets.token_bytes makes them
        msg = r.randbytes(5 + i * 7)
        nonce = r.randbytes(64)
        curve = xeddsa.priv_to_curve25519_pub(priv)
        sig_x = xeddsa.ed25519_priv_sign(xeddsa.priv_force_sign(priv, False), msg, nonce)
        assert xeddsa.ed25519_verify(sig_x, xeddsa.curve25519_pub_to_ed25519_pub(curve, False), msg)
        priv_cases.append({
            "priv": h(priv), "curve25519_pub": h(curve), "ed25519_pub": h(xeddsa.priv_to_ed25519_pub(priv)),
            "message": h(msg), "nonce": h(nonce), "xeddsa_signature": h(sig_x),
        })
    x25519_cases = []
    for _ in range(6):
        a, b = r.randbytes(32), r.randbytes(32)
        pa, pb = xeddsa.priv_to_curve25519_pub(a), xeddsa.priv_to_curve25519_pub(b)
        s = xeddsa.x25519(a, pb)
        assert s == xeddsa.x25519(b, pa)
        x25519_cases.append({"priv": h(a), "pub": h(pb), "shared": h(s)})
    return {"seed_cases": seed_cases, "priv_cases": priv_cases, "x25519": x25519_cases}


async def gen_kdf(r):
    out = {}
    for name, mod in PROFILES.items():
        rk = r.randbytes(32)
        chain = KDFChain.create(mod.RootChainKDFImpl, rk)
        root_steps = []
        for _ in range(4):
            dh = r.randbytes(32)
            ck = await chain.step(dh, 32)
            root_steps.append({"dh": h(dh), "chain_key": h(ck), "root_key_after": h(chain.model.key)})
        ck0 = r.randbytes(32)
        chain = KDFChain.create(mod.MessageChainKDFImpl, ck0)
        message_steps = []
        for _ in range(5):
            mk = await chain.step(mod.DoubleRatchetImpl.MESSAGE_CHAIN_CONSTANT, 32)
            message_steps.append({"message_key": h(mk), "chain_key_after": h(chain.model.key)})
        expansions = []
        for _ in range(3):
            mk = r.randbytes(32)
            enc, auth, iv = await mod.AEADImpl._AEADImpl__derive(mk, HashFunction.SHA_256, mod.AEADImpl._get_info())
            expansions.append({"message_key": h(mk), "cipher_key": h(enc), "mac_key": h(auth), "iv": h(iv)})
        out[name] = {
            "root_key": h(rk), "root_steps": root_steps,
            "chain_key": h(ck0), "message_steps": message_steps,
            "message_key_expansions": expansions,
        }
    return out


def state(mod, seed, spk_priv, pre_keys, nonce):
    """An x3dh StateImpl with fixed keys, its signed prekey signed the way
    x3dh signs it for python-omemo (Ed25519 identity format, no sign
    forcing: oldmemo moves the sign bit into the signature on the wire)."""
    priv = xeddsa.seed_to_priv(seed)
    spk_pub = xeddsa.priv_to_curve25519_pub(spk_priv)
    sig = xeddsa.ed25519_priv_sign(priv, mod.StateImpl._encode_public_key(x3dh.IdentityKeyFormat.CURVE_25519, spk_pub), nonce)
    model = x3dh.models.BaseStateModel(
        identity_key=x3dh.models.IdentityKeyPairModel(secret=seed, secret_type=x3dh.types.SecretType.SEED),
        signed_pre_key=x3dh.models.SignedPreKeyPairModel(priv=spk_priv, sig=sig, timestamp=0),
        old_signed_pre_key=None,
        pre_keys=frozenset(pre_keys),
    )
    return mod.StateImpl.from_model(model, x3dh.IdentityKeyFormat.ED_25519, x3dh.HashFunction.SHA_256, mod.StateImpl.INFO), sig


async def gen_x3dh(r):
    cases = []
    for name, mod in PROFILES.items():
        for with_opk in (True, False):
            a_seed, b_seed = r.randbytes(32), r.randbytes(32)
            a_spk, b_spk, b_opk, ek = r.randbytes(32), r.randbytes(32), r.randbytes(32), r.randbytes(32)
            alice, _ = state(mod, a_seed, a_spk, [], r.randbytes(64))
            bob, b_sig = state(mod, b_seed, b_spk, [b_opk] if with_opk else [], r.randbytes(64))
            DET.queue = [ek]
            s_a, ad_a, header = await alice.get_shared_secret_active(bob.bundle, require_pre_key=with_opk)
            assert not DET.queue
            s_b, ad_b, _ = await bob.get_shared_secret_passive(header, require_pre_key=with_opk)
            assert s_a == s_b and ad_a == ad_b
            cases.append({
                "profile": name, "with_pre_key": with_opk,
                "alice_seed": h(a_seed), "bob_seed": h(b_seed),
                "bob_signed_pre_key_priv": h(b_spk), "bob_signed_pre_key_pub": h(bob.bundle.signed_pre_key),
                "bob_signed_pre_key_signature": h(b_sig),
                "bob_pre_key_priv": h(b_opk) if with_opk else None,
                "bob_pre_key_pub": h(xeddsa.priv_to_curve25519_pub(b_opk)) if with_opk else None,
                "ephemeral_priv": h(ek), "ephemeral_pub": h(header.ephemeral_key),
                "alice_identity": h(identity_wire(name, alice.bundle.identity_key)),
                "bob_identity": h(identity_wire(name, bob.bundle.identity_key)),
                "shared_secret": h(s_a), "associated_data": h(ad_a),
            })
    return cases


async def gen_ratchet(r):
    """Two python Double Ratchets (each profile's DoubleRatchetImpl and
    AEADImpl) exchange messages, out of order, with every private key fixed,
    so Rust must produce each message bit for bit."""
    out = {}
    for name, mod in PROFILES.items():
        DR = mod.DoubleRatchetImpl
        args = (dhr.DiffieHellmanRatchet, mod.RootChainKDFImpl, mod.MessageChainKDFImpl, DR.MESSAGE_CHAIN_CONSTANT, 1000, 1000, mod.AEADImpl)
        a_seed, b_seed = r.randbytes(32), r.randbytes(32)
        a_ik = identity_wire(name, xeddsa.seed_to_ed25519_pub(a_seed))
        b_ik = identity_wire(name, xeddsa.seed_to_ed25519_pub(b_seed))
        ad_ab = a_ik + b_ik
        # Legacy MACs cover sender ‖ receiver; OMEMO 2 initiator ‖ responder.
        ad_ba = b_ik + a_ik if name == "legacy" else ad_ab
        shared, b_spk = r.randbytes(32), r.randbytes(32)
        a_privs = [r.randbytes(32) for _ in range(3)]
        b_privs = [r.randbytes(32) for _ in range(2)]
        msgs = {}

        def record(label, sender, pt, em):
            msgs[label] = {"from": sender, "plaintext": h(pt), "bytes": h(em.ciphertext)}
            return em

        def parse(label):
            return mod.EncryptedKeyMaterialImpl.parse(bytes.fromhex(msgs[label]["bytes"]), "x", 1).encrypted_message

        DET.queue = [a_privs[0]]
        alice, em = await DR.encrypt_initial_message(*args, shared, xeddsa.priv_to_curve25519_pub(b_spk), b"a0", ad_ab)
        record("a0", "alice", b"a0", em)
        record("a1", "alice", b"a1", await alice.encrypt_message(b"a1", ad_ab))
        record("a2", "alice", b"a2 " + bytes(range(40)), await alice.encrypt_message(b"a2 " + bytes(range(40)), ad_ab))
        DET.queue = [b_privs[0]]
        bob, pt = await DR.decrypt_initial_message(*args, shared, b_spk, parse("a0"), ad_ab)
        assert pt == b"a0"
        assert await bob.decrypt_message(parse("a2"), ad_ab) == b"a2 " + bytes(range(40))
        assert await bob.decrypt_message(parse("a1"), ad_ab) == b"a1"
        record("b0", "bob", b"b0", await bob.encrypt_message(b"b0", ad_ba))
        record("b1", "bob", b"", await bob.encrypt_message(b"", ad_ba))
        DET.queue = [a_privs[1]]
        assert await alice.decrypt_message(parse("b1"), ad_ba) == b""
        assert await alice.decrypt_message(parse("b0"), ad_ba) == b"b0"
        record("a3", "alice", b"a3" * 20, await alice.encrypt_message(b"a3" * 20, ad_ab))
        DET.queue = [b_privs[1]]
        assert await bob.decrypt_message(parse("a3"), ad_ab) == b"a3" * 20
        record("b2", "bob", b"b2", await bob.encrypt_message(b"b2", ad_ba))
        DET.queue = [a_privs[2]]
        assert await alice.decrypt_message(parse("b2"), ad_ba) == b"b2"
        assert not DET.queue
        out[name] = {
            "alice_seed": h(a_seed), "bob_seed": h(b_seed),
            "shared_secret": h(shared), "bob_signed_pre_key_priv": h(b_spk),
            "alice_ratchet_privs": [h(k) for k in a_privs], "bob_ratchet_privs": [h(k) for k in b_privs],
            "messages": msgs,
            # The order in which each side sends and receives.
            "script": [
                ["alice", "send", "a0"], ["alice", "send", "a1"], ["alice", "send", "a2"],
                ["bob", "recv", "a0"], ["bob", "recv", "a2"], ["bob", "recv", "a1"],
                ["bob", "send", "b0"], ["bob", "send", "b1"],
                ["alice", "recv", "b1"], ["alice", "recv", "b0"],
                ["alice", "send", "a3"], ["bob", "recv", "a3"],
                ["bob", "send", "b2"], ["alice", "recv", "b2"],
            ],
        }
    return out


async def gen_sessions(r):
    """python Alice (the profile's Backend) starts a session with a bundle
    published by a device whose private keys are given, and sends key
    exchanges the Rust side must answer."""
    out = {}
    for name, mod in PROFILES.items():
        b_seed, b_spk = r.randbytes(32), r.randbytes(32)
        b_opks = [(31 + i, r.randbytes(32)) for i in range(3)]
        spk_id = 7
        b_priv = xeddsa.seed_to_priv(b_seed)
        b_ed = xeddsa.seed_to_ed25519_pub(b_seed)
        spk_pub = xeddsa.priv_to_curve25519_pub(b_spk)
        sig = xeddsa.ed25519_priv_sign(b_priv, mod.StateImpl._encode_public_key(x3dh.IdentityKeyFormat.CURVE_25519, spk_pub), r.randbytes(64))
        opk_pubs = {xeddsa.priv_to_curve25519_pub(k): i for i, k in b_opks}
        bundle = mod.BundleImpl("bob@example.org", 1234, x3dh.Bundle(b_ed, spk_pub, sig, frozenset(opk_pubs)), spk_id, opk_pubs)
        wire, _ = bundle_wire(name, bundle)
        received = bundle_from_wire(name, wire, "bob@example.org", 1234)

        storage = MemStorage()
        alice = backend(name, storage)
        a_ed = (await omemo.identity_key_pair.IdentityKeyPair.get(storage)).identity_key
        messages = []
        session = None
        for i, text in enumerate([b"Hello Bob!", "Zweite Nachricht \u2713".encode(), b"", b"third " * 30]):
            if text:
                content, pkm = await alice.encrypt_plaintext(text)
            else:
                content, pkm = await alice.encrypt_empty()
            if session is None:
                session, ekm = await alice.build_session_active("bob@example.org", 1234, received, pkm)
            else:
                ekm = await alice.encrypt_key_material(session, pkm)
            assert not session.confirmed
            messages.append({
                "key_exchange": h(serialize_key_exchange(name, session, ekm)),
                "payload": h(content.ciphertext) if text else None,
                "iv": h(content.initialization_vector) if name == "legacy" and text else None,
                "plaintext": h(text),
                "key_material_len": len(pkm.key) + len(pkm.auth_tag),
            })
        out[name] = {
            "bob_seed": h(b_seed), "bob_signed_pre_key_id": spk_id, "bob_signed_pre_key_priv": h(b_spk),
            "bob_pre_keys": [[i, h(k)] for i, k in b_opks],
            "bob_bundle": wire,
            "alice_identity": h(identity_wire(name, a_ed)),
            "alice_fingerprint_hex": h(identity_wire(name, a_ed)[-32:]),
            "used_pre_key_id": session.key_exchange.pre_key_id,
            "messages": messages,
        }
    return out


async def gen_payload(r):
    out = {"legacy": [], "omemo2": [], "legacy_old_forms": []}
    legacy = backend("legacy", MemStorage())
    two = backend("omemo2", MemStorage())
    for i, text in enumerate([b"", b"x", b"Hello, World!", "\u00fcml\u00e4ut \U0001F600".encode() * 9]):
        key, iv = r.randbytes(16), r.randbytes(12)
        DET.queue = [key, iv]
        content, pkm = await legacy.encrypt_plaintext(text)
        assert not DET.queue and pkm.key == key
        out["legacy"].append({"key": h(key), "iv": h(iv), "plaintext": h(text), "ciphertext": h(content.ciphertext), "tag": h(pkm.auth_tag)})
        key = r.randbytes(32)
        DET.queue = [key]
        content, pkm = await two.encrypt_plaintext(text)
        assert not DET.queue and pkm.key == key
        assert await two.decrypt_plaintext(content, pkm) == text
        out["omemo2"].append({"key": h(key), "plaintext": h(text), "ciphertext": h(content.ciphertext), "tag": h(pkm.auth_tag)})
    # Pre-2018 Conversations: 16-byte IV, tag appended to the payload, only
    # the 16-byte key in the ratchet; and the current form with a 16-byte IV.
    for text in [b"old conversations", b"16 byte iv, tag in key"]:
        key, iv = r.randbytes(16), r.randbytes(16)
        sealed = AESGCM(key).encrypt(iv, text, None)
        content = PROFILES["legacy"].ContentImpl(sealed[:-16], iv)
        assert await legacy.decrypt_plaintext(content, PROFILES["legacy"].PlainKeyMaterialImpl(key, sealed[-16:])) == text
        out["legacy_old_forms"].append({"key": h(key), "iv": h(iv), "plaintext": h(text), "sealed": h(sealed)})
    return out


async def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    make_deterministic(1)
    r = DET.r
    dump(os.path.join(outdir, "xeddsa.json"), gen_xeddsa(r))
    dump(os.path.join(outdir, "kdf.json"), await gen_kdf(r))
    dump(os.path.join(outdir, "x3dh.json"), await gen_x3dh(r))
    dump(os.path.join(outdir, "ratchet.json"), await gen_ratchet(r))
    dump(os.path.join(outdir, "sessions.json"), await gen_sessions(r))
    dump(os.path.join(outdir, "payload.json"), await gen_payload(r))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "src", "omemo", "testdata")))
