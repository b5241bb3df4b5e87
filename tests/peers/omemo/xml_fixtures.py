#!/usr/bin/env python3
"""Writes src/xmpp/omemo/testdata/python_omemo.json: a bundle, a device list
and a key-exchange message of each namespace exactly as python-omemo's
twomemo and oldmemo serialise them (through tests/peers/omemo_peer.py), for
the XML layer's unit tests. Run from the repository root with the test venv:

    /var/cache/sotto/venv/bin/python tests/peers/omemo/xml_fixtures.py

Keys are random, so each run writes different (equally valid) data.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
PY = sys.executable
PEER = os.path.join(ROOT, "tests", "peers", "omemo_peer.py")
OUT = os.path.join(ROOT, "src", "xmpp", "omemo", "testdata", "python_omemo.json")


def start(jid):
    p = subprocess.Popen([PY, PEER, jid], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p, json.loads(p.stdout.readline())
def ask(p, req):
    p.stdin.write(json.dumps(req) + "\n"); p.stdin.flush()
    r = json.loads(p.stdout.readline()); assert "error" not in r, r; return r
a, ra = start("alice@example.org")
b, rb = start("bob@example.org")
ask(b, {"cmd": "learn", "jid": "alice@example.org", "device_lists": ra["device_lists"],
        "bundles": {ns: {str(ra["device_id"]): x} for ns, x in ra["bundles"].items()}})
out = {"alice_device": ra["device_id"], "bob_device": rb["device_id"]}
for ns, tag in [("eu.siacs.conversations.axolotl", "legacy"), ("urn:xmpp:omemo:2", "omemo2")]:
    out[tag] = {"bundle": ra["bundles"][ns], "device_list": ra["device_lists"][ns],
                "message": ask(b, {"cmd": "encrypt", "to": "alice@example.org", "ns": ns, "body": "hi"})["xml"]}
with open(OUT, "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
a.kill(); b.kill()
