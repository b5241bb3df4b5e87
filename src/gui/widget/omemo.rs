//! The words the contact's details and Settings both use for OMEMO keys,
//! so a device reads the same wherever it is shown.

use iced::widget::{Column, Text, text};
use sotto::omemo::Profile;
use sotto::store::{OmemoTrust, OwnIdentity};

use super::style;

/// What a trust level is called, and the button that changes it.
pub fn trust_words(trust: OmemoTrust) -> (&'static str, (&'static str, OmemoTrust)) {
    let verify = ("Mark verified", OmemoTrust::Verified);
    match trust {
        OmemoTrust::Verified => ("Verified", ("Untrust", OmemoTrust::Untrusted)),
        OmemoTrust::Blind => ("Trusted, not verified", verify),
        OmemoTrust::Untrusted => ("Untrusted: not encrypted to", verify),
        OmemoTrust::Undecided => ("New: not encrypted to until you decide", verify),
    }
}

/// Which clients compare which fingerprint.
pub fn generation(profile: Profile) -> &'static str {
    match profile {
        Profile::Legacy => "Legacy (Conversations, Dino, Gajim, Monal)",
        Profile::Omemo2 => "OMEMO 2 (Kaidan, Converse.js)",
    }
}

/// The store could not be read.
pub fn unreadable<'a>(error: &str) -> Text<'a> {
    text(format!("Could not read the keys: {error}"))
        .size(12)
        .style(style::danger)
}

/// Our device's fingerprints, each under the clients that compare it.
pub fn own_fingerprints<'a, M: 'a>(own: &OwnIdentity) -> Column<'a, M> {
    own.keys.iter().fold(Column::new().spacing(4), |col, key| {
        col.push(text(generation(key.profile())).size(11).style(style::muted))
            .push(text(key.fingerprint()).size(13).font(iced::Font::MONOSPACE))
    })
}
