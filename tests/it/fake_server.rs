//! A hostile XMPP server on loopback, for what a real server would never
//! do: STARTTLS with the test certificate (Sotto pins it, so TLS is real),
//! a SCRAM exchange it can get wrong on purpose, resource binding, then
//! whatever raw bytes the test wants to throw at the client.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sasl::common::Password;
use sasl::common::scram::{ScramProvider, Sha1};
use sotto::config::{AccountConfig, PasswordStore};
use sotto::fingerprint::Fingerprint;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::harness::{DOMAIN, TestCerts};

/// How the fake server plays its part.
#[derive(Clone)]
pub struct Script {
    /// The password the server knows (its SCRAM proof is computed from it).
    pub password: String,
    /// The mechanisms offered after TLS.
    pub mechanisms: Vec<&'static str>,
    /// The server's part of the nonce; `None`: does not extend ours.
    pub nonce_extends_ours: bool,
    pub iterations: u32,
    /// Sign the server-final message correctly (as a server that knows
    /// the password does).
    pub honest_signature: bool,
    /// Offer XEP-0198 after login.
    pub stream_management: bool,
    /// Raw stanzas sent once the client bound its resource.
    pub after_bind: Vec<String>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            password: "fake-password".into(),
            mechanisms: vec!["SCRAM-SHA-1"],
            nonce_extends_ours: true,
            iterations: 4096,
            honest_signature: true,
            stream_management: false,
            after_bind: Vec::new(),
        }
    }
}

/// What the client did, as the server saw it.
#[derive(Default, Debug)]
pub struct Seen {
    /// Everything the client sent after TLS, as text.
    pub received: String,
    /// The SCRAM client-first message (decoded).
    pub client_first: Option<String>,
    pub bound: bool,
    pub connections: usize,
}

pub struct FakeServer {
    pub port: u16,
    pub fingerprint: Fingerprint,
    pub seen: Arc<Mutex<Seen>>,
}

impl FakeServer {
    pub async fn start(script: Script) -> Self {
        let certs = TestCerts::generate();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let acceptor = acceptor(&certs);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                log.lock().expect("lock").connections += 1;
                let (acceptor, script, log) = (acceptor.clone(), script.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(60),
                        serve(tcp, acceptor, script, log),
                    )
                    .await;
                });
            }
        });
        Self {
            port,
            fingerprint: certs.leaf,
            seen,
        }
    }

    /// An account of this server that pins its certificate.
    pub fn account(&self, user: &str) -> AccountConfig {
        AccountConfig {
            jid: format!("{user}@{DOMAIN}").parse().expect("jid"),
            server: Some(format!("127.0.0.1:{}", self.port).parse().expect("addr")),
            direct_tls: false,
            pinned_certificate: Some(self.fingerprint),
            password_store: PasswordStore::Database,
            enabled: true,
            tor: false,
        }
    }
}

fn acceptor(certs: &TestCerts) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert = CertificateDer::from_pem_slice(certs.cert_pem.as_bytes()).expect("cert");
    let key = PrivateKeyDer::from_pem_slice(certs.key_pem.as_bytes()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Reads until `needle` has been seen (and returns all read since the
/// last call), or fails when the client hangs up.
async fn until<S: AsyncReadExt + Unpin>(
    io: &mut S,
    buf: &mut String,
    needle: &str,
) -> Option<String> {
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(at) = buf.find(needle) {
            let end = buf[at..].find('>').map_or(buf.len(), |e| at + e + 1);
            let taken: String = buf.drain(..end).collect();
            return Some(taken);
        }
        let n = io.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
}

/// The text between `<tag ...>` and `</tag>` in `xml`.
fn inner(xml: &str, tag: &str) -> Option<String> {
    let open = xml.find(&format!("<{tag}"))?;
    let start = open + xml[open..].find('>')? + 1;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].to_owned())
}

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' id='fake' from='localhost' version='1.0'>";

async fn serve(
    mut tcp: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    script: Script,
    log: Arc<Mutex<Seen>>,
) -> Option<()> {
    let mut buf = String::new();
    until(&mut tcp, &mut buf, "<stream:stream").await?;
    let starttls = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>\
        <required/></starttls></stream:features>";
    tcp.write_all(format!("{HEADER}{starttls}").as_bytes())
        .await
        .ok()?;
    until(&mut tcp, &mut buf, "<starttls").await?;
    tcp.write_all(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .await
        .ok()?;
    let mut tls = acceptor.accept(tcp).await.ok()?;
    let mut buf = String::new();
    until(&mut tls, &mut buf, "<stream:stream").await?;
    let mechanisms: String = script
        .mechanisms
        .iter()
        .map(|m| format!("<mechanism>{m}</mechanism>"))
        .collect();
    tls.write_all(
        format!(
            "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
             {mechanisms}</mechanisms></stream:features>"
        )
        .as_bytes(),
    )
    .await
    .ok()?;
    let auth = until(&mut tls, &mut buf, "</auth>").await?;
    record(&log, &auth);
    let client_first = String::from_utf8(B64.decode(inner(&auth, "auth")?.trim()).ok()?).ok()?;
    log.lock().expect("lock").client_first = Some(client_first.clone());
    // "gs2-header,client-first-bare"; the bare part starts at "n=".
    let bare = &client_first[client_first.find("n=")?..];
    let client_nonce = bare.split(',').find_map(|p| p.strip_prefix("r="))?;
    let nonce = if script.nonce_extends_ours {
        format!("{client_nonce}FAKESERVER")
    } else {
        "SOMEONEELSESNONCE".to_owned()
    };
    let salt = b"fake salt";
    let server_first = format!("r={nonce},s={},i={}", B64.encode(salt), script.iterations);
    tls.write_all(
        format!(
            "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>",
            B64.encode(&server_first)
        )
        .as_bytes(),
    )
    .await
    .ok()?;
    let response = until(&mut tls, &mut buf, "</response>").await?;
    record(&log, &response);
    let client_final =
        String::from_utf8(B64.decode(inner(&response, "response")?.trim()).ok()?).ok()?;
    let without_proof = &client_final[..client_final.find(",p=")?];
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let signature = if script.honest_signature {
        let salted = Sha1::derive(
            &Password::Plain(script.password.clone()),
            salt,
            script.iterations,
        )
        .ok()?;
        let server_key = Sha1::hmac(b"Server Key", &salted).ok()?;
        Sha1::hmac(auth_message.as_bytes(), &server_key).ok()?
    } else {
        // A server that does not know the password cannot sign.
        vec![0x42; 20]
    };
    tls.write_all(
        format!(
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</success>",
            B64.encode(format!("v={}", B64.encode(signature)))
        )
        .as_bytes(),
    )
    .await
    .ok()?;
    until(&mut tls, &mut buf, "<stream:stream").await?;
    let sm = if script.stream_management {
        "<sm xmlns='urn:xmpp:sm:3'/>"
    } else {
        ""
    };
    tls.write_all(
        format!(
            "{HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{sm}\
             </stream:features>"
        )
        .as_bytes(),
    )
    .await
    .ok()?;
    let bind = until(&mut tls, &mut buf, "</iq>").await?;
    record(&log, &bind);
    let id = bind
        .split("id='")
        .nth(1)
        .or_else(|| bind.split("id=\"").nth(1))?;
    let id = &id[..id.find(['\'', '"'])?];
    let user = client_first
        .split(',')
        .find_map(|p| p.strip_prefix("n="))
        .unwrap_or("user");
    tls.write_all(
        format!(
            "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <jid>{user}@{DOMAIN}/fake</jid></bind></iq>"
        )
        .as_bytes(),
    )
    .await
    .ok()?;
    log.lock().expect("lock").bound = true;
    for stanza in &script.after_bind {
        tls.write_all(stanza.as_bytes()).await.ok()?;
    }
    tls.flush().await.ok()?;
    // Keep the stream open and listen, answering nothing.
    let mut chunk = vec![0u8; 65536];
    loop {
        let n = tls.read(&mut chunk).await.ok()?;
        if n == 0 {
            return Some(());
        }
        record(&log, &String::from_utf8_lossy(&chunk[..n]));
    }
}

fn record(log: &Arc<Mutex<Seen>>, text: &str) {
    log.lock().expect("lock").received.push_str(text);
}
