//! The address filter, for every IPv4 and IPv6 address a contact's URL
//! could resolve to.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sotto::fuzzing::address(data));
