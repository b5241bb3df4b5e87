"""A live OMEMO peer for Sotto's integration tests: someone else's OMEMO
client on a real server. slixmpp with slixmpp-omemo's XEP-0384 plugin
(python-omemo underneath), speaking ONE OMEMO version, the way a
Conversations (legacy only) or an OMEMO-2-only client would. slixmpp-omemo
and oldmemo are AGPL: they are only run here as an external peer.

    omemo_bot.py JID PASSWORD HOST PORT CA_FILE PROFILE [STORE_FILE]

PROFILE is `legacy` (eu.siacs.conversations.axolotl, oldmemo only) or
`omemo2` (urn:xmpp:omemo:2, twomemo only). OMEMO data lives in memory (a new
device every run) unless STORE_FILE names a JSON file, which then keeps the
same device across restarts.

The plugin publishes our device list and bundle itself, follows contacts'
device lists through PEP (+notify) and trusts every device blindly (BTBV, as
Conversations does before verification).

Reads one JSON command per line on stdin and prints one JSON event per line
on stdout. Commands:

    {"send": {"to": BARE, "body": B, "id": I}}   encrypted for all of BARE's
                       devices and our own other ones; prints {"sent": ...}
    {"refresh": BARE}  re-downloads BARE's device list; prints
                       {"refreshed": BARE, "devices": [ids]}: the listed
                       devices whose bundle could be fetched (python-omemo
                       silently drops the others, for sending too)
    {"sync": TOKEN}    a ping to our server; prints {"synced": TOKEN} once
                       answered (everything sent before it reached the server)
    {"subscribe": J} / {"approve": J}
    {"quit": true}

Events:

    {"ready": FULL_JID, "device_id": N, "ns": NS}   our device list and
                       bundle are published (read back from PEP); messages
                       that arrive earlier are reported after it
    {"message": {"from", "id", "body", "encrypted": NS or null,
                 "device_id": sender device or null,
                 "envelope_from": SCE <from jid/> (OMEMO 2),
                 "envelope": the decrypted SCE XML (OMEMO 2),
                 "other_encryption": [NS] (OMEMO we do not speak, plain only)}}
    {"empty_omemo": {"from", "id", "device_id"}}    key transport / session
                       completion, no payload
    {"decrypt_error": {"from", "id", "error"}}
    {"sent": {"id", "ns", "devices": [rids], "skipped": [...]}}   rids: every
                       device a key went to; skipped: bundle/key agreement
                       failures python-omemo reports
    {"message_error": {"id", "from"}}, {"subscribe": BARE}, {"synced": TOKEN},
    {"error": TEXT}
"""

import asyncio
import json
import logging
import os
import secrets
import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import oldmemo
import oldmemo.etree
import omemo
import slixmpp
import twomemo
import twomemo.etree
from omemo.storage import Just, Nothing, Storage
from slixmpp.jid import JID
from slixmpp.plugins import register_plugin
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath
from slixmpp_omemo import TrustLevel, XEP_0384
from slixmpp_omemo import xep_0384 as plugin_module

log = logging.getLogger("omemo_bot")

LEGACY = oldmemo.oldmemo.NAMESPACE
OMEMO2 = twomemo.twomemo.NAMESPACE
PROFILES = {"legacy": LEGACY, "omemo2": OMEMO2}
BACKENDS = {LEGACY: oldmemo.Oldmemo, OMEMO2: twomemo.Twomemo}
DEVICE_LIST_NODES = {
    LEGACY: plugin_module.OLDMEMO_DEVICE_LIST_NODE,
    OMEMO2: plugin_module.TWOMEMO_DEVICE_LIST_NODE,
}
DEVICE_LIST_EVENTS = {
    LEGACY: "oldmemo_device_list_publish",
    OMEMO2: "twomemo_device_list_publish",
}
# XEP-0380's registry names.
EME_NAMES = {LEGACY: "Legacy OMEMO", OMEMO2: "OMEMO 2"}
# What Conversations puts in the clear: never the plaintext.
FALLBACK = "I sent you an OMEMO encrypted message but your client doesn't seem to support that."
SCE = "urn:xmpp:sce:1"
CLIENT = "jabber:client"


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class MemStorage(Storage):
    """OMEMO data in a dict, or in a JSON file when one is given."""

    def __init__(self, path=None):
        # The library's cache would only duplicate the dict.
        super().__init__(disable_cache=path is None)
        self.path = path
        self.data = {}
        if path and os.path.exists(path):
            with open(path, encoding="utf8") as f:
                self.data = json.load(f)

    def _save(self):
        if self.path:
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf8") as f:
                json.dump(self.data, f)
            os.replace(tmp, self.path)

    async def _load(self, key):
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key, value):
        self.data[key] = value
        self._save()

    async def _delete(self, key):
        self.data.pop(key, None)
        self._save()


class OmemoPlugin(XEP_0384):
    """slixmpp-omemo restricted to one OMEMO version.

    The stock plugin always loads both backends; a single-version peer is
    the point of this bot, so the session manager is built here with one
    backend, and the few plugin paths that assume both are narrowed to it.
    """

    default_config = {
        "fallback_message": FALLBACK,
        "namespace": LEGACY,
        "store_file": None,
    }

    def plugin_init(self):
        self._storage = MemStorage(self.store_file)
        self._session_manager_task = None
        super().plugin_init()
        other = OMEMO2 if self.namespace == LEGACY else LEGACY
        # Our session manager would reject the other version's device lists
        # (UnknownNamespace); we never ask for them (no +notify, see
        # session_bind), so should a server push one anyway, it is dropped.
        self.xmpp.del_event_handler(DEVICE_LIST_EVENTS[other], self._on_device_list_update)

    def session_bind(self, jid):
        super().session_bind(jid)
        # The plugin announced +notify for both device list nodes in
        # plugin_init, before resource binding: slixmpp filed those disco
        # features under the pre-bind JID, which a disco#info to our full
        # JID never consults, so the server would think we want no device
        # list notifications at all. Announce ours, and only ours (a
        # single-version client), under the bound JID.
        self.xmpp.plugin["xep_0030"].add_feature(f"{DEVICE_LIST_NODES[self.namespace]}+notify")

    @property
    def storage(self):
        return self._storage

    @property
    def _btbv_enabled(self):
        return True

    async def _devices_blindly_trusted(self, blindly_trusted, identifier):
        log.info("blindly trusted: %s", [(d.bare_jid, d.device_id) for d in blindly_trusted])

    async def _prompt_manual_trust(self, manually_trusted, identifier):
        # Only reached if a device was ever trusted manually, which this bot
        # never does; trust it anyway rather than fail the test's message.
        sm = await self.get_session_manager()
        for device in manually_trusted:
            await sm.set_trust(device.bare_jid, device.identity_key, TrustLevel.BLINDLY_TRUSTED.value)

    async def get_session_manager(self):
        # Every plugin method goes through here, so this is where the single
        # backend is chosen. One shared task: session_bind starts it, the
        # rest wait for the same build.
        if self._session_manager_task is None:
            self._session_manager_task = asyncio.ensure_future(self._build_session_manager())
        return await self._session_manager_task

    async def _build_session_manager(self):
        # The plugin's own session manager class: its PEP publication (with
        # its publish options), bundle fetches, trust and empty-message
        # sending are what run, only the backend list is ours.
        cls = plugin_module._make_session_manager(self.xmpp, self)
        sm = await cls.create(
            [BACKENDS[self.namespace](self.storage)],
            self.storage,
            self.xmpp.boundjid.bare,
            initial_own_label=None,
            undecided_trust_level_name=TrustLevel.UNDECIDED.value,
        )
        await sm.ensure_data_consistency()
        # No MAM catch-up here: leave history-sync mode at once, so that
        # session-completing empty messages go out when they are due.
        await sm.after_history_sync()
        self.xmpp.event("omemo_initialized")
        return sm

    async def devices(self, bare_jid):
        """The device ids of bare_jid active in our namespace."""
        sm = await self.get_session_manager()
        return sorted(
            d.device_id
            for d in await sm.get_device_information(bare_jid)
            if dict(d.active).get(self.namespace)
        )

    async def refresh_device_lists(self, jids, force_download=False):
        # The stock version refreshes both namespaces (our session manager
        # rejects the other one) and trusts PEP to have filled the cache;
        # the brief wants a download when we know no device at all.
        sm = await self.get_session_manager()
        roster = self.xmpp.client_roster
        for jid in jids:
            jid = JID(JID(jid).bare)
            if jid.bare == self.xmpp.boundjid.bare:
                continue
            refresh = force_download
            # Without a mutual presence subscription PEP sends us nothing:
            # subscribe to the node itself, as the plugin does.
            pep = roster.has_jid(jid) and roster[jid]["subscription"] == "both"
            if not pep:
                key = f"/slixmpp/subscribed/{jid.bare}/{self.namespace}"
                if not (await self.storage.load_primitive(key, bool)).maybe(None):
                    await self._subscribe(self.namespace, jid)
                    refresh = True
            if not refresh and not await self.devices(jid.bare):
                refresh = True
            if refresh:
                try:
                    await sm.refresh_device_list(self.namespace, jid.bare)
                except omemo.DeviceListDownloadFailed as e:
                    log.warning("device list of %s: %s", jid.bare, e)

    async def _on_subscription_changed(self, presence):
        # The stock handler looks at the twomemo subscription first and gives
        # up when there is none, so a legacy-only bot would never drop or
        # add its manual node subscription.
        jid = JID(presence["from"].bare)
        roster = self.xmpp.client_roster
        pep = roster.has_jid(jid) and roster[jid]["subscription"] == "both"
        key = f"/slixmpp/subscribed/{jid}/{self.namespace}"
        subscribed = (await self.storage.load_primitive(key, bool)).maybe(None)
        if subscribed is None:
            return
        if pep and subscribed:
            await self._unsubscribe(self.namespace, jid)
        if not pep and not subscribed:
            await self._subscribe(self.namespace, jid)


register_plugin(OmemoPlugin, name="xep_0384")


def envelope(body, own_bare):
    """XEP-0420 envelope with the affixes XEP-0384 requires (rpad, from),
    written out by hand: ElementTree would give every element an ns0:
    prefix, which no real client sends."""
    # Random length too: padding is there to hide the length.
    rpad = secrets.token_urlsafe(secrets.randbelow(32) + 8)
    return (
        f"<envelope xmlns='{SCE}'><content><body xmlns='{CLIENT}'>{escape(body)}</body></content>"
        f"<rpad>{rpad}</rpad><from jid={quoteattr(own_bare)}/></envelope>"
    ).encode("utf-8")


def recipient_devices(encrypted, ns):
    return sorted(int(k.get("rid")) for k in encrypted.iter(f"{{{ns}}}key"))


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password, ca_file, ns, store_file):
        super().__init__(jid, password)
        # The test's throwaway CA, the way a user's system trusts a CA.
        self.ca_certs = ca_file
        self.ns = ns
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")  # ping
        self.register_plugin("xep_0380")  # <encryption/> hint
        self.register_plugin(
            "xep_0384",
            {"namespace": ns, "store_file": store_file},
            module=sys.modules[__name__],
        )
        self.omemo = self.plugin["xep_0384"]
        # Approve every subscription request and ask back (slixmpp's default,
        # said out loud): mutual subscription is what PEP notifications need.
        self.auto_authorize = True
        self.auto_subscribe = True
        # Sessions are read and written back around awaits (bundle fetches):
        # an encryption and a decryption interleaving on one session would
        # lose a ratchet step. Everything touching sessions holds this.
        self.omemo_lock = asyncio.Lock()
        # Stanzas are decrypted one at a time, in arrival order, and only
        # once "ready" is out (inbox() starts then; offline messages arrive
        # right after login and wait here).
        self.incoming = asyncio.Queue()
        self.add_event_handler("session_start", self.started)
        # slixmpp's "message" event only fires for stanzas with a <body/>;
        # empty OMEMO messages have none, so every <message/> is taken here.
        self.register_handler(
            Callback("omemo_bot messages", MatchXPath(f"{{{self.default_ns}}}message"), self.incoming.put_nowait)
        )
        self.add_event_handler("presence_subscribe", self.on_subscribe)
        self.add_event_handler("failed_auth", lambda _: emit({"error": "auth"}))

    async def started(self, _event):
        try:
            # Publication first (started at resource binding): our presence
            # makes the server push our own last device list, and were that
            # still the one without this device, the library would publish
            # the list a second time.
            sm = await self.omemo.get_session_manager()
            own, _ = await sm.get_own_device_information()
            # Our +notify interests reach the server only as entity caps in
            # our presence. The caps hash the plugins computed at
            # registration was stored under the JID we had then (no
            # resource) and the presence filter looks it up under the bound
            # full JID: without this, no caps go out and PEP sends us no
            # contact's device list updates.
            await self.plugin["xep_0115"].update_caps(broadcast=False)
            self.send_presence()
            await self.get_roster()
            await self.check_published(own.device_id)
        except Exception as e:  # noqa: BLE001 - reported to the test
            log.exception("OMEMO setup")
            emit({"error": f"omemo setup failed: {type(e).__name__}: {e}"})
            self.disconnect()
            return
        emit({"ready": str(self.boundjid), "device_id": own.device_id, "ns": self.ns})
        # Held here: the loop keeps only weak references to tasks, and the
        # stdin StreamReader only a weak one to its reader, so an idle
        # commands() task is otherwise garbage the collector may destroy.
        self.tasks = [asyncio.ensure_future(self.inbox()), asyncio.ensure_future(self.commands())]

    async def check_published(self, device_id):
        """Reads our device list and bundle back from PEP: what a contact
        will fetch, not what the library believes it uploaded."""
        bare = self.boundjid.bare
        xep_0060 = self.plugin["xep_0060"]
        iq = await xep_0060.get_items(JID(bare), DEVICE_LIST_NODES[self.ns], max_items=1)
        item = next(iter(iq["pubsub"]["items"]["item"].xml), None)
        etree = oldmemo.etree if self.ns == LEGACY else twomemo.etree
        if item is None or device_id not in etree.parse_device_list(item):
            raise RuntimeError(f"device {device_id} not in our published device list")
        await plugin_module._download_bundle(xep_0060, self.ns, bare, device_id)

    def on_subscribe(self, presence):
        emit({"subscribe": str(presence["from"].bare)})

    async def inbox(self):
        while True:
            msg = await self.incoming.get()
            try:
                await self.on_message(msg)
            except Exception as e:  # noqa: BLE001 - reported to the test
                log.exception("incoming message")
                emit({"error": f"handling message {msg['id']}: {type(e).__name__}: {e}"})

    async def on_message(self, msg):
        sender = str(msg["from"])
        if msg["type"] == "error":
            emit({"message_error": {"id": msg["id"], "from": sender}})
            return
        # groupchat is not ours; headline is what PEP notifications are.
        if msg["type"] not in ("chat", "normal"):
            return
        encrypted = msg.xml.find(f"{{{self.ns}}}encrypted")
        if encrypted is None:
            if not msg["body"]:
                return
            event = {"from": sender, "id": msg["id"], "body": msg["body"], "encrypted": None, "device_id": None}
            # An OMEMO version we do not speak: we see what a client without
            # it sees, the fallback body; the test may want to know why.
            other = [ns for ns in (LEGACY, OMEMO2) if msg.xml.find(f"{{{ns}}}encrypted") is not None]
            if other:
                event["other_encryption"] = other
            emit({"message": event})
            return
        async with self.omemo_lock:
            try:
                sm = await self.omemo.get_session_manager()
                if self.ns == LEGACY:
                    message = await oldmemo.etree.parse_message(
                        encrypted, msg["from"].bare, self.boundjid.bare, sm
                    )
                else:
                    message = twomemo.etree.parse_message(encrypted, msg["from"].bare)
                # Not the plugin's decrypt_message: for twomemo it raises
                # NotImplementedError (no SCE) after the ratchet has moved on.
                plaintext, device, _ = await sm.decrypt(message)
            except Exception as e:  # noqa: BLE001 - reported to the test
                log.warning("decryption of %s failed", msg["id"], exc_info=True)
                emit({"decrypt_error": {"from": sender, "id": msg["id"], "error": f"{type(e).__name__}: {e}"}})
                return
        if plaintext is None:
            emit({"empty_omemo": {"from": sender, "id": msg["id"], "device_id": device.device_id}})
            return
        event = {"from": sender, "id": msg["id"], "encrypted": self.ns, "device_id": device.device_id}
        if self.ns == LEGACY:
            event["body"] = plaintext.decode("utf-8")
        else:
            try:
                env = ET.fromstring(plaintext)
                if env.tag != f"{{{SCE}}}envelope":
                    raise ValueError(f"not an SCE envelope: {env.tag}")
            except (ET.ParseError, ValueError) as e:
                emit({"decrypt_error": {"from": sender, "id": msg["id"], "error": f"bad envelope: {e}"}})
                return
            body = env.find(f"{{{SCE}}}content/{{{CLIENT}}}body")
            env_from = env.find(f"{{{SCE}}}from")
            event["body"] = None if body is None else (body.text or "")
            event["envelope_from"] = None if env_from is None else env_from.get("jid")
            event["envelope"] = plaintext.decode("utf-8")
        emit({"message": event})

    async def send_encrypted(self, to, body, mid):
        to = JID(to).bare
        async with self.omemo_lock:
            if self.ns == LEGACY:
                # The plugin's own path (it refreshes device lists itself):
                # body-only encryption, fallback body, store hint.
                plain = self.make_message(mto=to, mbody=body, mtype="chat")
                if mid:
                    plain["id"] = mid
                stanza, errors = await self.omemo.encrypt_message(plain, JID(to))
                if stanza is None:
                    raise RuntimeError("nothing to encrypt")
            else:
                # slixmpp-omemo 2.2 has no SCE ("IF I HAD ONE!!!"): it would
                # skip twomemo entirely, so the envelope is made here and
                # python-omemo encrypts it.
                await self.omemo.refresh_device_lists({JID(to)})
                sm = await self.omemo.get_session_manager()
                messages, errors = await sm.encrypt(
                    frozenset({to}), {OMEMO2: envelope(body, self.boundjid.bare)}, [OMEMO2]
                )
                stanza = self.make_message(mto=to, mbody=FALLBACK, mtype="chat")
                if mid:
                    stanza["id"] = mid
                for message in messages:
                    stanza.append(twomemo.etree.serialize_message(message))
                stanza.enable("store")
        stanza["eme"]["namespace"] = self.ns
        stanza["eme"]["name"] = EME_NAMES[self.ns]
        stanza.send()
        element = stanza.xml.find(f"{{{self.ns}}}encrypted")
        emit(
            {
                "sent": {
                    "id": stanza["id"],
                    "ns": self.ns,
                    "devices": recipient_devices(element, self.ns),
                    # Devices left out (no bundle, failed key agreement).
                    "skipped": [
                        {"jid": e.bare_jid, "device_id": e.device_id, "error": repr(e.exception)}
                        for e in errors
                    ],
                }
            }
        )

    async def refresh(self, jid):
        bare = JID(jid).bare
        async with self.omemo_lock:
            await self.omemo.refresh_device_lists({JID(bare)}, force_download=True)
            devices = await self.omemo.devices(bare)
        emit({"refreshed": bare, "devices": devices})

    async def commands(self):
        reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                command = json.loads(line)
            except json.JSONDecodeError as e:
                emit({"error": f"bad command: {e}"})
                continue
            try:
                if "send" in command:
                    s = command["send"]
                    await self.send_encrypted(s["to"], s["body"], s.get("id"))
                elif "refresh" in command:
                    await self.refresh(command["refresh"])
                elif "sync" in command:
                    await self.plugin["xep_0199"].ping(jid=self.boundjid.domain, timeout=20)
                    emit({"synced": command["sync"]})
                elif "subscribe" in command:
                    self.send_presence(pto=command["subscribe"], ptype="subscribe")
                elif "approve" in command:
                    self.send_presence(pto=command["approve"], ptype="subscribed")
                elif "quit" in command:
                    break
                else:
                    emit({"error": f"unknown command: {line.decode().strip()}"})
            except Exception as e:  # noqa: BLE001 - reported to the test
                log.exception("command")
                emit({"error": f"{next(iter(command), '?')} failed: {type(e).__name__}: {e}"})
        self.disconnect()


def main():
    if len(sys.argv) not in (7, 8) or sys.argv[6] not in PROFILES:
        sys.exit(__doc__)
    jid, password, host, port, ca_file, profile = sys.argv[1:7]
    store_file = sys.argv[7] if len(sys.argv) == 8 else None
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("OMEMO_BOT_LOG", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    bot = Bot(jid, password, ca_file, PROFILES[profile], store_file)
    bot.connect(host=host, port=int(port))
    bot.loop.run_until_complete(bot.disconnected)


if __name__ == "__main__":
    main()
