#!/usr/bin/env python3
"""An OMEMO peer nobody at Sotto wrote, for the crypto + XML interop test
(tests/it/omemo.rs): python-omemo's SessionManager with the twomemo
(urn:xmpp:omemo:2) and oldmemo (eu.siacs.conversations.axolotl) backends,
the stack slixmpp-omemo runs, with their own XML (de)serialisers. oldmemo is
AGPL: it is only run here, nothing of it is copied.

No server: PEP is replaced by what the test hands over. One JSON object per
line on stdin, one answer per line on stdout:

  (start)  -> {"ready", "device_id", "bundles": {ns: xml}, "device_lists": {ns: xml}}
  {"cmd": "learn", "jid", "device_lists": {ns: xml}, "bundles": {ns: {id: xml}}}
           -> {"ok": true}
  {"cmd": "encrypt", "to", "ns", "body"}
           -> {"xml": <encrypted/>, "sent": [empty messages sent meanwhile]}
  {"cmd": "decrypt", "from", "xml"}
           -> {"device_id", "plaintext", "body", "envelope_from", "sent"}
  errors   -> {"error": "..."}

Usage: omemo_peer.py OWN_BARE_JID
"""

import asyncio
import json
import sys
import xml.etree.ElementTree as ET

import oldmemo
import oldmemo.etree
import omemo
import omemo.storage
import twomemo
import twomemo.etree
from omemo.types import TrustLevel

LEGACY = oldmemo.oldmemo.NAMESPACE
OMEMO2 = twomemo.twomemo.NAMESPACE
ETREE = {LEGACY: oldmemo.etree, OMEMO2: twomemo.etree}
SCE = "urn:xmpp:sce:1"
CLIENT = "jabber:client"

OWN = sys.argv[1]
# What PEP would hold: device lists and bundles by namespace and account.
PEP_LISTS = {}
PEP_BUNDLES = {}
UPLOADED_BUNDLES = {}
UPLOADED_LISTS = {}
SENT = []


class MemStorage(omemo.storage.Storage):
    def __init__(self):
        super().__init__(True)
        self.data = {}

    async def _load(self, key):
        if key in self.data:
            return omemo.storage.Just(self.data[key])
        return omemo.storage.Nothing()

    async def _store(self, key, value):
        self.data[key] = value

    async def _delete(self, key):
        self.data.pop(key, None)


def text(elt):
    return ET.tostring(elt, encoding="unicode")


class Manager(omemo.SessionManager):
    @staticmethod
    async def _upload_bundle(bundle):
        UPLOADED_BUNDLES[bundle.namespace] = text(ETREE[bundle.namespace].serialize_bundle(bundle))

    @staticmethod
    async def _download_bundle(namespace, bare_jid, device_id):
        xml = PEP_BUNDLES.get((namespace, bare_jid), {}).get(str(device_id))
        if xml is None:
            raise omemo.BundleDownloadFailed(f"no bundle for {bare_jid}/{device_id} in {namespace}")
        return ETREE[namespace].parse_bundle(ET.fromstring(xml), bare_jid, device_id)

    @staticmethod
    async def _delete_bundle(namespace, device_id):
        UPLOADED_BUNDLES.pop(namespace, None)

    @staticmethod
    async def _upload_device_list(namespace, device_list):
        UPLOADED_LISTS[namespace] = text(ETREE[namespace].serialize_device_list(device_list))

    @staticmethod
    async def _download_device_list(namespace, bare_jid):
        if bare_jid == OWN:
            xml = UPLOADED_LISTS.get(namespace)
        else:
            xml = PEP_LISTS.get((namespace, bare_jid))
        if xml is None:
            return {}
        return ETREE[namespace].parse_device_list(ET.fromstring(xml))

    async def _evaluate_custom_trust_level(self, device):
        # Blind trust, as Sotto does before verification.
        return TrustLevel.TRUSTED if device.trust_level_name == "BLINDLY" else TrustLevel.DISTRUSTED

    async def _make_trust_decision(self, undecided, identifier):
        for device in undecided:
            await self.set_trust(device.bare_jid, device.identity_key, "BLINDLY")

    @staticmethod
    async def _send_message(message, bare_jid):
        SENT.append(text(ETREE[message.namespace].serialize_message(message)))


def envelope(body):
    env = ET.Element(f"{{{SCE}}}envelope")
    content = ET.SubElement(env, f"{{{SCE}}}content")
    ET.SubElement(content, f"{{{CLIENT}}}body").text = body
    ET.SubElement(env, f"{{{SCE}}}rpad").text = "padding"
    ET.SubElement(env, f"{{{SCE}}}from", {"jid": OWN})
    return ET.tostring(env)


def drain():
    out = list(SENT)
    SENT.clear()
    return out


async def handle(sm, req):
    cmd = req["cmd"]
    if cmd == "learn":
        jid = req["jid"]
        for ns, xml in req["device_lists"].items():
            PEP_LISTS[(ns, jid)] = xml
        for ns, bundles in req["bundles"].items():
            PEP_BUNDLES[(ns, jid)] = bundles
        for ns, xml in req["device_lists"].items():
            await sm.update_device_list(ns, jid, ETREE[ns].parse_device_list(ET.fromstring(xml)))
        return {"ok": True}
    if cmd == "encrypt":
        ns = req["ns"]
        plaintext = req["body"].encode() if ns == LEGACY else envelope(req["body"])
        messages, errors = await sm.encrypt(frozenset({req["to"]}), {ns: plaintext}, [ns])
        if errors:
            return {"error": repr(errors)}
        [message] = [m for m in messages if m.namespace == ns]
        return {"xml": text(ETREE[ns].serialize_message(message)), "sent": drain()}
    if cmd == "decrypt":
        elt = ET.fromstring(req["xml"])
        ns = elt.tag[1:].split("}")[0]
        if ns == LEGACY:
            message = await oldmemo.etree.parse_message(elt, req["from"], OWN, sm)
        else:
            message = twomemo.etree.parse_message(elt, req["from"])
        plaintext, device, _ = await sm.decrypt(message)
        out = {"device_id": device.device_id, "plaintext": None, "body": None, "envelope_from": None}
        if plaintext is not None:
            if ns == LEGACY:
                out["body"] = plaintext.decode()
            else:
                env = ET.fromstring(plaintext)
                out["body"] = env.find(f"{{{SCE}}}content/{{{CLIENT}}}body").text
                out["envelope_from"] = env.find(f"{{{SCE}}}from").get("jid")
            out["plaintext"] = plaintext.decode()
        out["sent"] = drain()
        return out
    return {"error": f"unknown command {cmd}"}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main():
    storage = MemStorage()
    sm = await Manager.create(
        [twomemo.Twomemo(storage), oldmemo.Oldmemo(storage)],
        storage,
        OWN,
        None,
        "BLINDLY",
    )
    own, _ = await sm.get_own_device_information()
    emit({
        "ready": True,
        "device_id": own.device_id,
        "bundles": UPLOADED_BUNDLES,
        "device_lists": UPLOADED_LISTS,
    })
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        try:
            emit(await handle(sm, json.loads(line)))
        except Exception as e:  # reported to the test, which fails with it
            emit({"error": f"{type(e).__name__}: {e}"})


asyncio.run(main())
