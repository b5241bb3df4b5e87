//! OMEMO from a contact's client: `<encrypted/>` elements, device lists,
//! bundles, decrypted OMEMO 2 envelopes and the ratchet's protobuf
//! messages, both versions (the first byte picks which).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sotto::fuzzing::omemo(data));
