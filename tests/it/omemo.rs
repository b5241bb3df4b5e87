//! OMEMO interop at the crypto + XML level with an implementation nobody
//! here wrote: python-omemo's SessionManager with its twomemo and oldmemo
//! backends (`tests/peers/omemo_peer.py`, the stack slixmpp-omemo runs),
//! both namespaces, both directions of session start. Bundles, device lists
//! and messages cross as the XML each side writes; Sotto's side keeps its
//! keys and sessions in a real store, reopened between steps.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use sotto::omemo::{
    self, Bundle, DeviceId, IdentityKeyPair, KeyExchange, PreKeyPair, Profile, Session,
    SignedPreKeyPair,
};
use sotto::store::{Store, StoreKey};
use sotto::xmpp::omemo::sce::Envelope;
use sotto::xmpp::omemo::{DeviceList, Encrypted, bundle_element, parse_bundle};
use tokio_xmpp::jid::BareJid;
use tokio_xmpp::minidom::Element;

const PROFILES: [Profile; 2] = [Profile::Legacy, Profile::Omemo2];

fn rng() -> rand::rngs::ThreadRng {
    rand::rng()
}

/// The python peer, one JSON line per request and answer.
struct PyPeer {
    jid: BareJid,
    device: DeviceId,
    bundles: BTreeMap<String, String>,
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::Receiver<Value>,
}

impl PyPeer {
    fn start(jid: &str, log: &Path) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/omemo_peer.py");
        let mut child = Command::new(crate::peers::python())
            .arg(script)
            .arg(jid)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(log)
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null()),
            )
            .spawn()
            .expect("python with slixmpp-omemo (scripts/dev deps makes the venv)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    return;
                }
            }
        });
        let ready = answers
            .recv_timeout(Duration::from_secs(60))
            .expect("the python peer starts");
        assert_eq!(ready["ready"], true, "{ready}");
        let device = DeviceId::new(ready["device_id"].as_u64().expect("id") as u32).expect("id");
        let bundles = ready["bundles"]
            .as_object()
            .expect("bundles")
            .iter()
            .map(|(ns, xml)| (ns.clone(), xml.as_str().expect("xml").to_owned()))
            .collect();
        // Its published device lists name it, in python's own XML.
        for (ns, xml) in ready["device_lists"].as_object().expect("lists") {
            let list = DeviceList::from_element(
                Element::from_str(xml.as_str().expect("xml")).expect("xml"),
            )
            .expect("python's device list parses");
            assert_eq!(list.profile.namespace(), ns);
            assert!(list.contains(device), "{xml}");
        }
        Self {
            jid: BareJid::new(jid).expect("jid"),
            device,
            bundles,
            child,
            stdin,
            answers,
        }
    }

    fn ask(&mut self, request: Value) -> Value {
        let answer = self.ask_raw(&request);
        assert!(answer.get("error").is_none(), "{request} -> {answer}");
        answer
    }

    fn ask_raw(&mut self, request: &Value) -> Value {
        writeln!(self.stdin, "{request}").expect("write to the peer");
        self.stdin.flush().expect("flush");
        self.answers
            .recv_timeout(Duration::from_secs(60))
            .expect("the python peer answers")
    }

    fn bundle(&self, profile: Profile) -> Bundle {
        let xml = &self.bundles[profile.namespace()];
        parse_bundle(Element::from_str(xml).expect("xml")).expect("python's bundle verifies")
    }
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sotto's side: its keys and sessions in a store that every step reopens.
struct Sotto {
    jid: BareJid,
    path: PathBuf,
    device: DeviceId,
}

impl Sotto {
    /// `sign_bit`: that of our Ed25519 identity key. A client that speaks
    /// both namespaces with one identity must see the same key in our legacy
    /// bundle as in our OMEMO 2 one, for either value.
    fn new(dir: &Path, jid: &str, sign_bit: u8) -> Self {
        let path = dir.join("sotto.db");
        let store = Self::open_at(&path);
        let mut rng = rng();
        let identity = std::iter::repeat_with(|| IdentityKeyPair::generate(&mut rng))
            .find(|i| i.public_key(Profile::Omemo2).as_bytes()[31] >> 7 == sign_bit)
            .expect("an identity");
        let own = store
            .omemo_create_own_device(jid, DeviceId::generate(&mut rng), &identity, 1)
            .expect("own device");
        for profile in PROFILES {
            let spk = SignedPreKeyPair::generate(&mut rng, &own.identity, profile, 1, 1);
            store.omemo_add_signed_pre_key(jid, &spk, 1).expect("spk");
            let ids = store
                .omemo_reserve_pre_key_ids(jid, profile, 30)
                .expect("ids");
            let keys: Vec<_> = ids.map(|i| PreKeyPair::generate(&mut rng, i)).collect();
            store
                .omemo_add_pre_keys(jid, profile, &keys, 1)
                .expect("prekeys");
        }
        Self {
            jid: BareJid::new(jid).expect("jid"),
            path,
            device: own.device_id,
        }
    }

    fn open_at(path: &Path) -> Store {
        Store::open(path, &StoreKey::from_bytes([9; 32])).expect("store")
    }

    fn store(&self) -> Store {
        Self::open_at(&self.path)
    }

    /// What PEP would show the peer: device lists and bundles, as XML.
    fn publication(&self) -> Value {
        let store = self.store();
        let own = store
            .omemo_own_device(self.jid.as_str())
            .expect("read")
            .expect("own");
        let mut lists = serde_json::Map::new();
        let mut bundles = serde_json::Map::new();
        for profile in PROFILES {
            let list = DeviceList {
                profile,
                devices: vec![sotto::xmpp::omemo::Device {
                    id: self.device,
                    label: None,
                }],
            };
            lists.insert(
                profile.namespace().into(),
                String::from(&list.to_element()).into(),
            );
            let bundle = Bundle::new(
                &own.identity,
                &store
                    .omemo_current_signed_pre_key(self.jid.as_str(), profile)
                    .expect("read")
                    .expect("spk"),
                &store
                    .omemo_published_pre_keys(self.jid.as_str(), profile)
                    .expect("read"),
            );
            bundles.insert(
                profile.namespace().into(),
                json!({ self.device.get().to_string(): String::from(&bundle_element(&bundle)) }),
            );
        }
        json!({ "cmd": "learn", "jid": self.jid.as_str(), "device_lists": lists, "bundles": bundles })
    }

    /// Decrypts an `<encrypted/>` from `from`: the body, or `None` for an
    /// empty OMEMO message. Answers key exchanges with keys from the store.
    fn decrypt(&self, from: &BareJid, xml: &str) -> Option<String> {
        let store = self.store();
        let me = self.jid.as_str();
        let mut rng = rng();
        let e = Encrypted::from_element(Element::from_str(xml).expect("xml")).expect("parses");
        let profile = e.profile();
        let sender = e.sender_device();
        let key = e
            .key_for(&self.jid, self.device)
            .expect("a key for our device");
        let existing = store
            .omemo_session(me, from.as_str(), profile, sender)
            .expect("read");
        let (session, key_material) = if key.key_exchange {
            let kex = KeyExchange::parse(profile, &key.data).expect("key exchange parses");
            match existing {
                Some(mut s) if s.was_built_from(&kex) => {
                    let km = s.decrypt_key_exchange(&mut rng, &kex).expect("repeat kex");
                    (s, km)
                }
                _ => {
                    let keys = store
                        .omemo_pre_keys_for(me, profile, kex.signed_pre_key_id(), kex.pre_key_id())
                        .expect("read");
                    let r = Session::respond(
                        &mut rng,
                        &store
                            .omemo_own_device(me)
                            .expect("read")
                            .expect("own")
                            .identity,
                        &keys,
                        &kex,
                    )
                    .expect("respond to python's key exchange");
                    if let Some(used) = r.consumed_pre_key_id {
                        store
                            .omemo_mark_pre_key_used(me, profile, used, 2)
                            .expect("mark");
                    }
                    (r.session, r.plaintext)
                }
            }
        } else {
            let mut s = existing.expect("a session for a non-kex message");
            let km = s
                .decrypt(&mut rng, &key.data)
                .expect("decrypt python's message");
            (s, km)
        };
        store
            .omemo_save_session(me, from.as_str(), sender, &session, 3)
            .expect("save");
        let payload = e.payload()?;
        let plaintext = omemo::decrypt_payload(profile, &key_material, payload, e.iv())
            .expect("python's payload decrypts");
        Some(match profile {
            Profile::Legacy => String::from_utf8(plaintext.to_vec()).expect("utf-8"),
            Profile::Omemo2 => {
                let env = Envelope::from_bytes(&plaintext).expect("python's envelope parses");
                env.check_from(from)
                    .expect("python's envelope names its sender");
                env.body().expect("a body")
            }
        })
    }

    /// Encrypts `body` to the peer's device, starting a session from its
    /// bundle if there is none. Returns the XML and whether it was a key
    /// exchange.
    fn encrypt(&self, peer: &PyPeer, profile: Profile, body: &str) -> (String, bool) {
        let store = self.store();
        let me = self.jid.as_str();
        let mut rng = rng();
        let mut session = match store
            .omemo_session(me, peer.jid.as_str(), profile, peer.device)
            .expect("read")
        {
            Some(s) => s,
            None => {
                let bundle = peer.bundle(profile);
                let pk = bundle.random_pre_key_id(&mut rng);
                let own = store.omemo_own_device(me).expect("read").expect("own");
                Session::initiate(&mut rng, &own.identity, &bundle, pk).expect("initiate")
            }
        };
        let plaintext = match profile {
            Profile::Legacy => body.as_bytes().to_vec(),
            Profile::Omemo2 => Envelope::with_body(
                &mut rng,
                body,
                self.jid.clone(),
                Some(peer.jid.clone().into()),
                None,
            )
            .to_bytes()
            .expect("envelope"),
        };
        let payload = omemo::encrypt_payload(&mut rng, profile, &plaintext).expect("payload");
        let message = session.encrypt(&payload.key_material).expect("encrypt");
        let kex = message.key_exchange;
        let e = match profile {
            Profile::Legacy => Encrypted::legacy(
                self.device,
                [(peer.device, message)],
                payload.iv.expect("legacy iv"),
                Some(payload.ciphertext),
            ),
            Profile::Omemo2 => Encrypted::omemo2(
                self.device,
                [(peer.jid.clone(), peer.device, message)],
                Some(payload.ciphertext),
            ),
        };
        store
            .omemo_save_session(me, peer.jid.as_str(), peer.device, &session, 4)
            .expect("save");
        (String::from(&e.to_element()), kex)
    }

    /// Decrypts the empty messages python sent on its own (session
    /// completion, heartbeats).
    fn take_empty(&self, from: &BareJid, answer: &Value) {
        for xml in answer["sent"].as_array().expect("sent") {
            assert_eq!(
                self.decrypt(from, xml.as_str().expect("xml")),
                None,
                "an empty message"
            );
        }
    }
}

fn peer_decrypts(py: &mut PyPeer, me: &Sotto, xml: &str, profile: Profile, body: &str) {
    let answer = py.ask(json!({ "cmd": "decrypt", "from": me.jid.as_str(), "xml": xml }));
    assert_eq!(answer["body"], body, "{answer}");
    assert_eq!(answer["device_id"], me.device.get());
    if profile == Profile::Omemo2 {
        assert_eq!(answer["envelope_from"], me.jid.as_str());
    }
    me.take_empty(&py.jid, &answer);
}

fn peer_encrypts(py: &mut PyPeer, me: &Sotto, profile: Profile, body: &str) -> (String, bool) {
    let answer = py.ask(
        json!({ "cmd": "encrypt", "to": me.jid.as_str(), "ns": profile.namespace(), "body": body }),
    );
    me.take_empty(&py.jid, &answer);
    let xml = answer["xml"].as_str().expect("xml").to_owned();
    let e = Encrypted::from_element(Element::from_str(&xml).expect("xml"))
        .expect("python's message parses");
    assert_eq!(e.sender_device(), py.device);
    let kex = e
        .key_for(&me.jid, me.device)
        .expect("encrypted for us")
        .key_exchange;
    (xml, kex)
}

#[test]
fn python_starts_the_session_in_both_namespaces() {
    for sign_bit in [0, 1] {
        python_starts(sign_bit);
    }
}

fn python_starts(sign_bit: u8) {
    let dir = tempfile::tempdir().expect("tempdir");
    let me = Sotto::new(dir.path(), "sotto@example.org", sign_bit);
    let mut py = PyPeer::start("py@example.org", &dir.path().join("peer.log"));
    py.ask(me.publication());
    for profile in PROFILES {
        let text = format!("hello from python, {profile:?} ✓ <&>");
        let (xml, kex) = peer_encrypts(&mut py, &me, profile, &text);
        assert!(kex, "python's first message is a key exchange");
        assert_eq!(me.decrypt(&py.jid, &xml).as_deref(), Some(text.as_str()));

        let (reply, kex) = me.encrypt(&py, profile, "answer from sotto");
        assert!(!kex, "the responder never sends key exchanges");
        peer_decrypts(&mut py, &me, &reply, profile, "answer from sotto");

        let (xml, kex) = peer_encrypts(&mut py, &me, profile, "second from python");
        assert!(!kex, "python stops sending key exchanges once answered");
        assert_eq!(
            me.decrypt(&py.jid, &xml).as_deref(),
            Some("second from python")
        );
    }
    // One one-time prekey per namespace was used up.
    let store = me.store();
    for profile in PROFILES {
        assert_eq!(
            store
                .omemo_published_pre_keys(me.jid.as_str(), profile)
                .expect("read")
                .len(),
            29
        );
    }
}

#[test]
fn sotto_starts_the_session_in_both_namespaces() {
    for sign_bit in [0, 1] {
        sotto_starts(sign_bit);
    }
}

fn sotto_starts(sign_bit: u8) {
    let dir = tempfile::tempdir().expect("tempdir");
    let me = Sotto::new(dir.path(), "sotto@example.org", sign_bit);
    let mut py = PyPeer::start("py2@example.org", &dir.path().join("peer.log"));
    py.ask(me.publication());
    for profile in PROFILES {
        let (first, kex) = me.encrypt(&py, profile, "sotto says hello");
        assert!(kex, "our first message is a key exchange");
        peer_decrypts(&mut py, &me, &first, profile, "sotto says hello");
        // Until python answers, every message repeats the key exchange.
        let (second, kex) = me.encrypt(&py, profile, "still waiting");
        assert!(kex);
        peer_decrypts(&mut py, &me, &second, profile, "still waiting");

        let (xml, kex) = peer_encrypts(&mut py, &me, profile, "python answers");
        assert!(!kex);
        assert_eq!(me.decrypt(&py.jid, &xml).as_deref(), Some("python answers"));

        let (third, kex) = me.encrypt(&py, profile, "now confirmed");
        assert!(!kex, "an answered session sends plain messages");
        peer_decrypts(&mut py, &me, &third, profile, "now confirmed");

        // Both sides refuse an altered payload, so the passes above mean
        // something.
        let (fourth, _) = me.encrypt(&py, profile, "altered on the way");
        let mut e = Element::from_str(&fourth).expect("xml");
        let payload = e
            .get_child_mut("payload", profile.namespace())
            .expect("payload");
        let altered = payload
            .text()
            .replacen(|c: char| c.is_ascii_alphanumeric(), "/", 1);
        *payload = Element::builder("payload", profile.namespace())
            .append(altered)
            .build();
        let answer = py.ask_raw(
            &json!({ "cmd": "decrypt", "from": me.jid.as_str(), "xml": String::from(&e) }),
        );
        assert!(
            answer.get("error").is_some(),
            "python took an altered payload: {answer}"
        );
        let (xml, _) = peer_encrypts(&mut py, &me, profile, "altered the other way");
        let e = Encrypted::from_element(Element::from_str(&xml).expect("xml")).expect("parses");
        let mut session = me
            .store()
            .omemo_session(me.jid.as_str(), py.jid.as_str(), profile, py.device)
            .expect("read")
            .expect("session");
        let key = e.key_for(&me.jid, me.device).expect("key");
        let key_material = session
            .decrypt(&mut rng(), &key.data)
            .expect("the key still decrypts");
        let mut payload = e.payload().expect("payload").to_vec();
        payload[0] ^= 1;
        assert_eq!(
            omemo::decrypt_payload(profile, &key_material, &payload, e.iv()),
            Err(omemo::Error::PayloadAuthentication)
        );
    }
}
