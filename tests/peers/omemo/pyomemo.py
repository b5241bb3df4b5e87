"""Shared helpers for the vector generator and the interop checker.

Drives the MIT-licensed python packages xeddsa, x3dh, doubleratchet and
twomemo, and runs the AGPL-licensed oldmemo as a black box (no code of it is
copied here or into the Rust crate).
"""

import base64
import json
import os
import random
import secrets
import sys
import xml.etree.ElementTree as ET

if os.environ.get("PYTHONHASHSEED") != "0":
    # Sets of bytes iterate in hash order; a fixed hash seed makes prekey
    # choice and id assignment (and so the vectors) reproducible.
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import doubleratchet  # noqa: E402
from doubleratchet.recommended import diffie_hellman_ratchet_curve25519 as dhr  # noqa: E402
import oldmemo  # noqa: E402
import oldmemo.etree  # noqa: E402
import oldmemo.oldmemo  # noqa: E402
import omemo.storage  # noqa: E402
import twomemo  # noqa: E402
import twomemo.etree  # noqa: E402
import twomemo.twomemo  # noqa: E402
import x3dh  # noqa: E402
import xeddsa  # noqa: E402


class Det:
    """Deterministic stand-in for `secrets`, with a queue for values a test
    wants to force (ephemeral keys, ratchet keys, payload keys)."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.queue = []

    def token_bytes(self, n=32):
        if self.queue:
            v = self.queue.pop(0)
            assert len(v) == n, (len(v), n)
            return v
        return self.r.randbytes(n)

    def choice(self, seq):
        seq = sorted(seq)
        return seq[self.r.randrange(len(seq))]


DET = Det(0x5077)


def make_deterministic(seed):
    DET.r = random.Random(seed)
    DET.queue = []
    secrets.token_bytes = DET.token_bytes
    secrets.choice = DET.choice
    dhr.DiffieHellmanRatchet._generate_priv = staticmethod(lambda: DET.token_bytes(32))


class MemStorage(omemo.storage.Storage):
    def __init__(self, data=None):
        super().__init__(True)
        self.data = dict(data or {})

    async def _load(self, key):
        if key in self.data:
            return omemo.storage.Just(self.data[key])
        return omemo.storage.Nothing()

    async def _store(self, key, value):
        self.data[key] = value

    async def _delete(self, key):
        self.data.pop(key, None)


PROFILES = {
    "legacy": oldmemo.oldmemo,
    "omemo2": twomemo.twomemo,
}
ETREE = {
    "legacy": oldmemo.etree,
    "omemo2": twomemo.etree,
}


def backend(profile, storage):
    mod = PROFILES[profile]
    return mod.Oldmemo(storage) if profile == "legacy" else mod.Twomemo(storage)


def h(b):
    return None if b is None else bytes(b).hex()


def unh(s):
    return None if s is None else bytes.fromhex(s)


def identity_wire(profile, ed25519_pub):
    """The identity key as the profile's bundles carry it."""
    if profile == "legacy":
        return b"\x05" + xeddsa.ed25519_pub_to_curve25519_pub(ed25519_pub)
    return ed25519_pub


def bundle_wire(profile, bundle):
    """Serialises a python BundleImpl with the package's own etree code and
    reads the fields back out of the XML, i.e. exactly what goes on the wire."""
    elt = ETREE[profile].serialize_bundle(bundle)
    ns = "{eu.siacs.conversations.axolotl}" if profile == "legacy" else "{urn:xmpp:omemo:2}"
    if profile == "legacy":
        spk = elt.find(f"{ns}signedPreKeyPublic")
        out = {
            "identity_key": base64.b64decode(elt.find(f"{ns}identityKey").text).hex(),
            "signed_pre_key_id": int(spk.get("signedPreKeyId")),
            "signed_pre_key": base64.b64decode(spk.text).hex(),
            "signature": base64.b64decode(elt.find(f"{ns}signedPreKeySignature").text).hex(),
            "pre_keys": [
                [int(pk.get("preKeyId")), base64.b64decode(pk.text).hex()]
                for pk in elt.iter(f"{ns}preKeyPublic")
            ],
        }
    else:
        spk = elt.find(f"{ns}spk")
        out = {
            "identity_key": base64.b64decode(elt.find(f"{ns}ik").text).hex(),
            "signed_pre_key_id": int(spk.get("id")),
            "signed_pre_key": base64.b64decode(spk.text).hex(),
            "signature": base64.b64decode(elt.find(f"{ns}spks").text).hex(),
            "pre_keys": [[int(pk.get("id")), base64.b64decode(pk.text).hex()] for pk in elt.iter(f"{ns}pk")],
        }
    out["pre_keys"].sort()
    return out, elt


def bundle_from_wire(profile, wire, bare_jid, device_id):
    """Builds the bundle XML from wire fields and parses it with the
    package's etree code, as a python client would on receipt."""
    if profile == "legacy":
        ns = "eu.siacs.conversations.axolotl"
        elt = ET.Element(f"{{{ns}}}bundle")
        spk = ET.SubElement(elt, f"{{{ns}}}signedPreKeyPublic", {"signedPreKeyId": str(wire["signed_pre_key_id"])})
        spk.text = base64.b64encode(unh(wire["signed_pre_key"])).decode()
        ET.SubElement(elt, f"{{{ns}}}signedPreKeySignature").text = base64.b64encode(unh(wire["signature"])).decode()
        ET.SubElement(elt, f"{{{ns}}}identityKey").text = base64.b64encode(unh(wire["identity_key"])).decode()
        pks = ET.SubElement(elt, f"{{{ns}}}prekeys")
        for pk_id, pk in wire["pre_keys"]:
            ET.SubElement(pks, f"{{{ns}}}preKeyPublic", {"preKeyId": str(pk_id)}).text = base64.b64encode(unh(pk)).decode()
    else:
        ns = "urn:xmpp:omemo:2"
        elt = ET.Element(f"{{{ns}}}bundle")
        ET.SubElement(elt, f"{{{ns}}}spk", {"id": str(wire["signed_pre_key_id"])}).text = base64.b64encode(unh(wire["signed_pre_key"])).decode()
        ET.SubElement(elt, f"{{{ns}}}spks").text = base64.b64encode(unh(wire["signature"])).decode()
        ET.SubElement(elt, f"{{{ns}}}ik").text = base64.b64encode(unh(wire["identity_key"])).decode()
        pks = ET.SubElement(elt, f"{{{ns}}}prekeys")
        for pk_id, pk in wire["pre_keys"]:
            ET.SubElement(pks, f"{{{ns}}}pk", {"id": str(pk_id)}).text = base64.b64encode(unh(pk)).decode()
    return ETREE[profile].parse_bundle(elt, bare_jid, device_id)


def serialize_key_exchange(profile, session, encrypted_key_material):
    out = session.key_exchange.serialize(encrypted_key_material.serialize())
    return out[0] if profile == "legacy" else out


def parse_key_exchange(profile, data, sender_identity_ed25519):
    mod = PROFILES[profile]
    if profile == "legacy":
        # python-oldmemo takes the Ed25519 sign bit of the sender's identity
        # from the sender's bundle (see oldmemo.etree.parse_message).
        set_sign_bit = bool((sender_identity_ed25519[31] >> 7) & 1)
        return mod.KeyExchangeImpl.parse(data, set_sign_bit)
    return mod.KeyExchangeImpl.parse(data)


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
