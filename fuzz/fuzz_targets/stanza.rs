//! One top-level element as the stream reads it (the patched tokio-xmpp
//! builder, with its depth and size limits), then everything the session
//! does with a stanza from the network.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sotto::fuzzing::stream_element(data));
