//! `xmpp:` knock links, as a contact shares them by link or QR code.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sotto::fuzzing::xmpp_uri(data));
