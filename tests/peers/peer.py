"""A scripted XMPP peer for Sotto's integration tests: someone else's
client (slixmpp), driven line by line from the test.

    peer.py JID PASSWORD HOST PORT CA_FILE

Reads one JSON command per line on stdin and prints one JSON event per
line on stdout. Commands:

    {"raw": "<message .../>"}     send these bytes as they are (hostile input)
    {"iq": "<iq type='set' .../>"} send this request; prints {"iq_result": ID}
                                  or {"iq_error": {"id": ID, "condition": C}}
    {"send": {"to": J, "body": B, "id": I, "receipt": true}}
    {"sync": TOKEN}               a ping to our server; prints {"synced": TOKEN}
                                  once answered (everything sent before it
                                  has reached the server)
    {"subscribe": J} / {"approve": J}
    {"quit": true}

Events: {"ready": JID}, {"message": {...}}, {"receipt": {...}},
{"presence": {...}}, {"subscribe": J}, {"synced": TOKEN}, {"iq_result": ID},
{"iq_error": {...}}, {"error": TEXT}.
"""

import asyncio
import json
import sys
import xml.etree.ElementTree as ET

import slixmpp


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Peer(slixmpp.ClientXMPP):
    def __init__(self, jid, password, ca_file):
        super().__init__(jid, password)
        # The test's throwaway CA, the way a user's system trusts a CA.
        self.ca_certs = ca_file
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0184")  # receipts
        self.register_plugin("xep_0199")  # ping
        # Receipts are the test's business: never sent automatically.
        self.plugin["xep_0184"].auto_ack = False
        self.plugin["xep_0184"].auto_request = False
        self.add_event_handler("session_start", self.started)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("receipt_received", self.on_receipt)
        self.add_event_handler("presence_subscribe", self.on_subscribe)
        self.add_event_handler("presence_available", self.on_presence)
        self.add_event_handler("failed_auth", lambda _: emit({"error": "auth"}))

    async def started(self, _event):
        self.send_presence()
        await self.get_roster()
        emit({"ready": str(self.boundjid)})
        # asyncio keeps only a weak reference to a task: held here, or an
        # idle command loop can be collected and stdin silently ignored.
        self.command_loop = asyncio.ensure_future(self.commands())

    def on_message(self, msg):
        if msg["type"] == "error":
            emit({"message_error": {"id": msg["id"], "from": str(msg["from"])}})
            return
        emit(
            {
                "message": {
                    "from": str(msg["from"]),
                    "id": msg["id"],
                    "body": msg["body"],
                    "wants_receipt": msg["request_receipt"],
                }
            }
        )

    def on_receipt(self, msg):
        emit({"receipt": {"from": str(msg["from"]), "id": msg["receipt"]}})

    def on_subscribe(self, presence):
        emit({"subscribe": str(presence["from"].bare)})

    def on_presence(self, presence):
        emit({"presence": str(presence["from"])})

    async def request(self, xml):
        iq = self.Iq(xml=ET.fromstring(xml))
        try:
            await iq.send(timeout=20)
            emit({"iq_result": iq["id"]})
        except slixmpp.exceptions.IqError as e:
            emit({"iq_error": {"id": iq["id"], "condition": e.condition}})
        except slixmpp.exceptions.IqTimeout:
            emit({"iq_error": {"id": iq["id"], "condition": "timeout"}})

    async def commands(self):
        # Hostile stanzas make long lines.
        reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                command = json.loads(line)
            except json.JSONDecodeError as e:
                emit({"error": f"bad command: {e}"})
                continue
            if "raw" in command:
                self.send_raw(command["raw"])
            elif "iq" in command:
                await self.request(command["iq"])
            elif "send" in command:
                s = command["send"]
                msg = self.make_message(mto=s["to"], mbody=s["body"], mtype="chat")
                msg["id"] = s.get("id", msg["id"])
                if s.get("receipt"):
                    msg["request_receipt"] = True
                msg.send()
            elif "sync" in command:
                try:
                    await self.plugin["xep_0199"].ping(jid=self.boundjid.domain, timeout=20)
                    emit({"synced": command["sync"]})
                except Exception as e:  # noqa: BLE001 - reported to the test
                    emit({"error": f"sync failed: {e}"})
            elif "subscribe" in command:
                self.send_presence(pto=command["subscribe"], ptype="subscribe")
            elif "approve" in command:
                self.send_presence(pto=command["approve"], ptype="subscribed")
            elif "quit" in command:
                break
        self.disconnect()


def main():
    jid, password, host, port, ca_file = sys.argv[1:6]
    peer = Peer(jid, password, ca_file)
    peer.connect(host=host, port=int(port))
    peer.loop.run_until_complete(peer.disconnected)


if __name__ == "__main__":
    main()
