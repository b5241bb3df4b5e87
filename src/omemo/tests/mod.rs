//! Tests of the OMEMO core: known answers from the python reference
//! packages (testdata/, made by tests/peers/omemo/generate.py) and property-style
//! tests of the behaviour the app relies on.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod kat_kdf;
mod kat_payload;
mod kat_ratchet;
mod kat_sessions;
mod kat_x3dh;
mod kat_xeddsa;
mod properties;
mod robustness;
mod state;

use std::collections::VecDeque;
use std::convert::Infallible;

use serde_json::Value;

use super::Profile;

pub(crate) fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub(crate) fn hx(v: &Value) -> Vec<u8> {
    unhex(
        v.as_str()
            .unwrap_or_else(|| panic!("not a hex string: {v}")),
    )
}

pub(crate) fn h32(v: &Value) -> [u8; 32] {
    hx(v).try_into().unwrap()
}

pub(crate) fn h64(v: &Value) -> [u8; 64] {
    hx(v).try_into().unwrap()
}

pub(crate) fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

pub(crate) fn profile(name: &str) -> Profile {
    match name {
        "legacy" => Profile::Legacy,
        "omemo2" => Profile::Omemo2,
        other => panic!("unknown profile {other}"),
    }
}

/// An "RNG" that hands out queued values, one per `fill_bytes` call, so a
/// test can replay the private keys the python reference drew.
pub(crate) struct ScriptedRng(pub(crate) VecDeque<Vec<u8>>);

impl ScriptedRng {
    pub(crate) fn new<I: IntoIterator<Item = Vec<u8>>>(values: I) -> Self {
        Self(values.into_iter().collect())
    }

    pub(crate) fn is_drained(&self) -> bool {
        self.0.is_empty()
    }
}

impl rand::TryRng for ScriptedRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        panic!("ScriptedRng only serves byte strings")
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        panic!("ScriptedRng only serves byte strings")
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let v = self.0.pop_front().expect("ScriptedRng ran out of values");
        assert_eq!(v.len(), dst.len(), "ScriptedRng value of the wrong length");
        dst.copy_from_slice(&v);
        Ok(())
    }
}

impl rand::TryCryptoRng for ScriptedRng {}

pub(crate) fn seeded(seed: u64) -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(seed)
}
