//! Push info JSON, as a contact publishes it over PEP or sends it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sotto::fuzzing::push_info_json(data));
