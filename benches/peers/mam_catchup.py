"""The catch-up any client could reach on the same server: a minimal
slixmpp client that pages an account's whole archive (XEP-0313 with RSM
pages of up to MAX) and writes every message to SQLite, one transaction
per page, deduplicated by archive id as a real client must.

    mam_catchup.py JID PASSWORD HOST PORT CA_FILE MAX DB_FILE

Prints one JSON line: {"fetched": N, "pages": P, "seconds": S}, timed from
the first query to the last page committed (after login, as Sotto's
number is).
"""

import asyncio
import json
import sqlite3
import sys
import time
import uuid
import xml.etree.ElementTree as ET

import slixmpp

MAM = "urn:xmpp:mam:2"
RSM = "http://jabber.org/protocol/rsm"
FORWARD = "urn:xmpp:forward:0"
CLIENT = "jabber:client"
DELAY = "urn:xmpp:delay"


class CatchUp(slixmpp.ClientXMPP):
    def __init__(self, jid, password, ca_file, page_max, db_file):
        super().__init__(jid, password)
        self.ca_certs = ca_file
        self.page_max = page_max
        self.db = sqlite3.connect(db_file)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS messages (archive_id TEXT PRIMARY KEY, "
            "sender TEXT, body TEXT, stamp TEXT)"
        )
        self.page = []
        self.query_id = None
        self.register_handler(
            slixmpp.Callback(
                "mam result",
                slixmpp.xmlstream.matcher.MatchXPath(
                    "{%s}message/{%s}result" % (CLIENT, MAM)
                ),
                self.on_result,
            )
        )
        self.add_event_handler("session_start", self.started)
        self.add_event_handler("failed_auth", lambda _: self.fail("auth"))

    def fail(self, why):
        print(json.dumps({"error": why}), flush=True)
        self.disconnect()

    def on_result(self, msg):
        result = msg.xml.find("{%s}result" % MAM)
        if result is None or result.get("queryid") != self.query_id:
            return
        forwarded = result.find("{%s}forwarded" % FORWARD)
        if forwarded is None:
            return
        inner = forwarded.find("{%s}message" % CLIENT)
        delay = forwarded.find("{%s}delay" % DELAY)
        body = inner.find("{%s}body" % CLIENT) if inner is not None else None
        if body is None:
            return
        self.page.append(
            (
                result.get("id"),
                inner.get("from"),
                body.text or "",
                delay.get("stamp") if delay is not None else None,
            )
        )

    async def started(self, _event):
        fetched = pages = 0
        after = None
        start = time.perf_counter()
        while True:
            self.query_id = uuid.uuid4().hex
            iq = self.make_iq_set()
            query = ET.SubElement(iq.xml, "{%s}query" % MAM, queryid=self.query_id)
            rsm = ET.SubElement(query, "{%s}set" % RSM)
            ET.SubElement(rsm, "{%s}max" % RSM).text = str(self.page_max)
            if after is not None:
                ET.SubElement(rsm, "{%s}after" % RSM).text = after
            try:
                answer = await iq.send(timeout=120)
            except Exception as e:  # noqa: BLE001 - reported to the bench
                return self.fail(f"query failed: {e}")
            with self.db:
                self.db.executemany(
                    "INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?)", self.page
                )
            fetched += len(self.page)
            pages += 1
            self.page = []
            fin = answer.xml.find("{%s}fin" % MAM)
            last = fin.find("{%s}set/{%s}last" % (RSM, RSM)) if fin is not None else None
            if fin is None or fin.get("complete") == "true" or last is None:
                break
            after = last.text
        seconds = time.perf_counter() - start
        print(json.dumps({"fetched": fetched, "pages": pages, "seconds": seconds}), flush=True)
        self.disconnect()


def main():
    jid, password, host, port, ca_file, page_max, db_file = sys.argv[1:8]
    client = CatchUp(jid, password, ca_file, int(page_max), db_file)
    client.connect(host=host, port=int(port))
    client.loop.run_until_complete(client.disconnected)


if __name__ == "__main__":
    main()
