//! Entry points for the fuzz targets in `fuzz/`, built only under
//! `cargo fuzz` (`--cfg fuzzing`) and for the unit tests, which replay
//! every seed and corpus input (so a fixed crash stays fixed on every CI
//! run, without nightly). They reach the private protocol modules the way
//! the session does, without making those modules public.
//!
//! Each entry point also checks what must hold for any input (round trips,
//! agreement with the standard library), so the fuzzer finds wrong answers
//! as well as panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tokio_xmpp::Stanza;
use tokio_xmpp::jid::BareJid;
use tokio_xmpp::parsers::roster::Roster;
use tokio_xmpp::xmlstream::{FallibleStreamElement, XmppStreamElement};

use crate::knock::PushInfo;
use crate::omemo::Profile;
use crate::omemo::wire;
use crate::xmpp::omemo::{DeviceList, Encrypted, bundle_element, open_envelope, parse_bundle};
use crate::xmpp::{convert, iq, pep};

/// The account the fuzzed stanzas arrive on, and the catch-up query id in
/// flight: seeds use them so carbons and archive results get past the
/// sender checks.
pub const OWN_ACCOUNT: &str = "alice@example.org";
pub const QUERY_ID: &str = "q1";

/// One top-level element as the stream reads it (the patched tokio-xmpp
/// builder, with its depth and size limits); a stanza goes on to
/// [`stanza`].
pub fn stream_element(data: &[u8]) {
    if let Ok(FallibleStreamElement::Ok(XmppStreamElement::Stanza(s))) =
        xso::from_bytes::<FallibleStreamElement>(data)
    {
        stanza(s);
    }
}

/// A stanza as the stream delivers it, through everything the session does
/// with one from the network (`session/incoming.rs`, `session/requests.rs`).
pub fn stanza(stanza: Stanza) {
    let own: BareJid = OWN_ACCOUNT.parse().expect("a valid constant");
    match stanza {
        Stanza::Message(message) => {
            let pushed = pep::from_event(&message).or_else(|| pep::from_message(&message));
            if let Some(json) = pushed {
                push_info_json(json.as_bytes());
            }
            let _ = convert::carbon(&message, &own);
            let _ = convert::archive_result(&message, &own, QUERY_ID);
            let _ = convert::message_meaning(&message, OWN_ACCOUNT);
        }
        Stanza::Presence(presence) => {
            let _ = convert::presence_meaning(&presence);
        }
        Stanza::Iq(request) => {
            if let Some(Ok(Some(payload))) = iq::answer_of(request.clone()) {
                // A server's answer to each of our requests.
                if let Ok(roster) = Roster::try_from(payload.clone()) {
                    let _: Vec<_> = roster
                        .items
                        .into_iter()
                        .map(convert::contact_from_item)
                        .collect();
                }
                let _ = convert::blocklist(payload.clone());
                if let Some(json) = pep::from_items_result(Some(payload)) {
                    push_info_json(json.as_bytes());
                }
            }
            if let tokio_xmpp::parsers::iq::Iq::Set { payload, .. } = request {
                let _ = convert::block_push(payload.clone());
                if let Ok(roster) = Roster::try_from(payload) {
                    let _: Vec<_> = roster
                        .items
                        .into_iter()
                        .map(convert::contact_from_item)
                        .collect();
                }
            }
        }
    }
}

/// Push info JSON from a contact. What parses must survive its own JSON
/// form unchanged (that is what Sotto publishes and stores).
pub fn push_info_json(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(info) = PushInfo::from_json(json) {
        check_push_info(&info);
    }
}

/// What a contact's OMEMO client hands us; the first byte says which:
/// 0 an `<encrypted/>` element, 1 a device list, 2 a bundle (XML, from
/// stanzas and PEP), 3 a decrypted OMEMO 2 envelope, 4 the protobuf
/// message inside a key, of either version. What parses must survive its
/// own serialisation unchanged (that is what Sotto sends and stores).
pub fn omemo(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let element = || {
        std::str::from_utf8(rest)
            .ok()?
            .parse::<tokio_xmpp::minidom::Element>()
            .ok()
    };
    match kind {
        0 => {
            if let Some(Ok(e)) = element().map(Encrypted::from_element) {
                let again =
                    Encrypted::from_element(e.to_element()).expect("our own element parses");
                assert_eq!(again, e, "an <encrypted/> survives its XML form");
            }
        }
        1 => {
            if let Some(Ok(list)) = element().map(DeviceList::from_element) {
                let again =
                    DeviceList::from_element(list.to_element()).expect("our own list parses");
                assert_eq!(again, list, "a device list survives its XML form");
            }
        }
        2 => {
            if let Some(Ok(bundle)) = element().map(parse_bundle) {
                let again = parse_bundle(bundle_element(&bundle)).expect("our own bundle parses");
                assert_eq!(again, bundle, "a bundle survives its XML form");
            }
        }
        3 => {
            let sender: BareJid = "bob@example.org".parse().expect("a valid constant");
            let _ = open_envelope(rest, &sender);
        }
        _ => {
            for profile in [Profile::Legacy, Profile::Omemo2] {
                let _ = wire::parse_message(profile, rest);
                let _ = wire::parse_key_exchange(profile, rest);
            }
        }
    }
}

/// An `xmpp:` link, as another program hands it over, and a knock link,
/// as shared by a contact.
pub fn xmpp_uri(data: &[u8]) {
    let Ok(uri) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(link) = crate::uri::XmppUri::parse(uri) {
        let text = link.to_string();
        let again = crate::uri::XmppUri::parse(&text).expect("our own link parses");
        assert_eq!(again, link, "a link survives being written: {text}");
    }
    if let Ok((contact, info)) = PushInfo::from_xmpp_uri(uri) {
        assert!(contact.contains('@'), "a link names a contact");
        check_push_info(&info);
    }
}

fn check_push_info(info: &PushInfo) {
    let again = PushInfo::from_json(&info.to_json()).expect("our own JSON parses");
    assert_eq!(&again, info, "push info survives its JSON form");
    assert!(
        !info.tokens.is_empty(),
        "push info without tokens was accepted"
    );
    let url = info.knock_url();
    assert!(matches!(url.scheme(), "https" | "http"));
    assert!(url.path().ends_with("/messages/"), "{url}");
    assert!(url.query().is_none() && url.fragment().is_none(), "{url}");
    for token in &info.tokens {
        // The hint shown to users is never the whole of a long token.
        if token.expose().chars().count() > 4 {
            assert_ne!(token.hint().trim_start_matches('…'), token.expose());
        }
    }
}

/// An address a contact's URL resolved to: 4 bytes are IPv4, 16 IPv6.
/// Everything the standard library knows as not globally reachable must
/// be refused too.
pub fn address(data: &[u8]) {
    let ip = match data.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(data).expect("4 bytes"))),
        16 => IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(data).expect("16 bytes"),
        )),
        _ => return,
    };
    let verdict = crate::address::special_purpose(ip);
    let must_refuse = match ip {
        IpAddr::V4(v4) => {
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
        }
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // Embedded IPv4 addresses reach whatever the IPv4 form does:
                // mapped, compatible (::a.b.c.d), 6to4.
                || v6.to_ipv4_mapped().is_some()
                || v6.octets()[..12].iter().all(|b| *b == 0)
                || v6.segments()[0] == 0x2002
        }
    };
    if must_refuse {
        assert!(verdict.is_some(), "{ip} is not globally reachable");
    }
    // Mapped and NAT64 forms are refused whatever they embed.
    if let IpAddr::V4(v4) = ip {
        let mapped = IpAddr::V6(v4.to_ipv6_mapped());
        assert!(
            crate::address::special_purpose(mapped).is_some(),
            "{mapped}"
        );
        let mut nat64 = [0u8; 16];
        nat64[..4].copy_from_slice(&[0x00, 0x64, 0xff, 0x9b]);
        nat64[12..].copy_from_slice(&v4.octets());
        let nat64 = IpAddr::V6(Ipv6Addr::from(nat64));
        assert!(crate::address::special_purpose(nat64).is_some(), "{nat64}");
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every input under `fuzz/seeds/<target>` and `fuzz/corpus/<target>`.
    fn inputs(target: &str) -> Vec<Vec<u8>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut out = Vec::new();
        for dir in ["seeds", "corpus"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for entry in entries.flatten() {
                out.push(std::fs::read(entry.path()).expect("read an input"));
            }
        }
        out
    }

    fn replay(target: &str, run: fn(&[u8])) {
        let inputs = inputs(target);
        assert!(inputs.len() >= 3, "{target}: seeds are missing");
        for input in &inputs {
            run(input);
        }
    }

    #[test]
    fn every_fuzz_input_passes_again() {
        replay("stanza", super::stream_element);
        replay("push_info", super::push_info_json);
        replay("xmpp_uri", super::xmpp_uri);
        replay("address", super::address);
        replay("omemo", super::omemo);
    }

    #[test]
    fn seeds_reach_what_they_are_for() {
        // A seed that no longer parses would leave the fuzzer outside the
        // code it is meant to search.
        let seed = |name: &str| {
            std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("fuzz/seeds/stanza")
                    .join(name),
            )
            .expect("seed")
        };
        for name in [
            "chat",
            "carbon-sent",
            "mam-result",
            "pep-event",
            "roster-result",
        ] {
            let parsed = xso::from_bytes::<super::FallibleStreamElement>(&seed(name));
            assert!(
                matches!(
                    parsed,
                    Ok(super::FallibleStreamElement::Ok(
                        super::XmppStreamElement::Stanza(_)
                    ))
                ),
                "{name}"
            );
        }
        let deep = xso::from_bytes::<super::FallibleStreamElement>(&seed("deep"));
        assert!(
            matches!(deep, Ok(super::FallibleStreamElement::Err(_))),
            "the stream refuses an element 80 levels deep"
        );
    }
}
