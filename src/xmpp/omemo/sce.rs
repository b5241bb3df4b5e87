//! XEP-0420 Stanza Content Encryption: the `<envelope/>` that OMEMO 2
//! encrypts, so that any element of a message, not only its body, travels
//! encrypted.
//!
//! ```xml
//! <envelope xmlns='urn:xmpp:sce:1'>
//!   <content><body xmlns='jabber:client'>Hello</body></content>
//!   <rpad>random padding</rpad>
//!   <time stamp='2026-12-01T10:00:00Z'/>
//!   <to jid='juliet@capulet.lit'/>
//!   <from jid='romeo@montague.lit'/>
//! </envelope>
//! ```
//!
//! XEP-0384 requires the `rpad` and `from` affixes; a receiver checks
//! `from` against the stanza's sender ([`Envelope::check_from`]), otherwise
//! anyone who can make a device session with us could put words in a
//! contact's mouth by forwarding.

use rand::{CryptoRng, RngExt as _};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::date::DateTime;
use xso::{AsXml, FromXml};

use super::Error;

/// `urn:xmpp:sce:1`.
pub const NS: &str = "urn:xmpp:sce:1";

/// The client namespace, which a `<body/>` inside `<content/>` carries.
const JABBER_CLIENT: &str = "jabber:client";

/// The longest padding [`Envelope::new`] adds (XEP-0420 leaves the length to
/// the sender; this hides the length of short messages).
pub const MAX_RPAD: usize = 200;

/// An upper bound on an envelope we parse, far above any message a server
/// relays (Prosody's default stanza limit is 256 KiB of base64).
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;

/// `<envelope/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "envelope")]
pub struct Envelope {
    /// The encrypted elements.
    #[xml(child)]
    pub content: Content,
    /// Random padding.
    #[xml(child(default))]
    pub rpad: Option<Rpad>,
    /// When the sender wrote it.
    #[xml(child(default))]
    pub time: Option<Time>,
    /// The intended recipient.
    #[xml(child(default))]
    pub to: Option<To>,
    /// The sender, to be checked against the stanza's `from`.
    #[xml(child(default))]
    pub from: Option<From>,
}

/// `<content/>`: the elements the message would otherwise carry in clear.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "content")]
pub struct Content {
    /// The elements, each in its own namespace.
    #[xml(element(n = ..))]
    pub payloads: Vec<Element>,
}

/// `<rpad/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "rpad")]
pub struct Rpad {
    /// Padding text.
    #[xml(text)]
    pub text: String,
}

/// `<time stamp/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "time")]
pub struct Time {
    /// XEP-0082 date-time.
    #[xml(attribute)]
    pub stamp: DateTime,
}

/// `<to jid/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "to")]
pub struct To {
    /// The recipient.
    #[xml(attribute)]
    pub jid: Jid,
}

/// `<from jid/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "from")]
pub struct From {
    /// The sender.
    #[xml(attribute)]
    pub jid: Jid,
}

impl Envelope {
    /// An envelope of `payloads` from `from`, with random padding of 0 to
    /// [`MAX_RPAD`] characters.
    pub fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        payloads: Vec<Element>,
        from: BareJid,
        to: Option<Jid>,
        time: Option<DateTime>,
    ) -> Self {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let len = rng.random_range(0..=MAX_RPAD);
        let text = (0..len)
            .map(|_| {
                let i = rng.random_range(0..ALPHABET.len());
                ALPHABET.get(i).map_or('A', |&b| char::from(b))
            })
            .collect();
        Self {
            content: Content { payloads },
            rpad: Some(Rpad { text }),
            time: time.map(|stamp| Time { stamp }),
            to: to.map(|jid| To { jid }),
            from: Some(From {
                jid: Jid::from(from),
            }),
        }
    }

    /// An envelope holding only a body.
    pub fn with_body<R: CryptoRng + ?Sized>(
        rng: &mut R,
        body: &str,
        from: BareJid,
        to: Option<Jid>,
        time: Option<DateTime>,
    ) -> Self {
        let body = Element::builder("body", JABBER_CLIENT)
            .append(body.to_owned())
            .build();
        Self::new(rng, vec![body], from, to, time)
    }

    /// The serialized envelope: what OMEMO 2 encrypts.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        xso::to_vec(self).map_err(|e| Error::Xml(e.to_string()))
    }

    /// Parses a decrypted envelope (untrusted: it came from whoever holds a
    /// session with us).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(Error::TooLarge(bytes.len()));
        }
        xso::from_bytes(bytes).map_err(|e| Error::Xml(e.to_string()))
    }

    /// The text of the first `<body/>` (`jabber:client`; a body without its
    /// own xmlns inherits `urn:xmpp:sce:1`, and is taken too).
    pub fn body(&self) -> Option<String> {
        self.content
            .payloads
            .iter()
            .find(|e| e.name() == "body" && (e.ns() == JABBER_CLIENT || e.ns() == NS))
            .map(Element::text)
    }

    /// Checks that the envelope names `sender` (the bare JID the stanza came
    /// from) as its author.
    pub fn check_from(&self, sender: &BareJid) -> Result<(), Error> {
        match &self.from {
            None => Err(Error::EnvelopeWithoutFrom),
            Some(from) if from.jid.to_bare() == *sender => Ok(()),
            Some(from) => Err(Error::EnvelopeFromMismatch {
                claimed: from.jid.to_bare(),
                sender: sender.clone(),
            }),
        }
    }
}
