//! Encrypting one message to ten devices the way the engine seals it: the
//! payload once per namespace (for OMEMO 2 inside its SCE envelope), then
//! each device's session read from the encrypted store, stepped and
//! written back. Median and 90th percentile of `SOTTO_BENCH_RUNS` (500).
//!
//! `cargo bench --bench omemo`. The catch-up of an encrypted archive is in
//! `benches/catchup.rs`, beside the same catch-up in clear.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use sotto::engine::omemo_steps::{Target, seal, set_up, start_session};
use sotto::omemo::{Bundle, DeviceId, IdentityKeyPair, PreKeyPair, Profile, SignedPreKeyPair};
use sotto::store::{Store, StoreKey};

const ME: &str = "alice@example.org";
const PEER: &str = "bob@example.org";
const DEVICES: u32 = 10;

/// A device of the peer, as its published bundle shows it.
fn bundle(profile: Profile) -> Bundle {
    let mut rng = rand::rng();
    let identity = IdentityKeyPair::generate(&mut rng);
    let signed = SignedPreKeyPair::generate(&mut rng, &identity, profile, 1, 1);
    let pre_keys: Vec<PreKeyPair> = (1..=100)
        .map(|i| PreKeyPair::generate(&mut rng, i))
        .collect();
    Bundle::new(&identity, &signed, &pre_keys)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn run(profiles: &[Profile], label: &str, runs: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Store::open(&dir.path().join("s.db"), &StoreKey::from_bytes([7; 32])).expect("store");
    let (own, _) = set_up(&store, ME, &[], 1).expect("our device");
    let targets: Vec<Target> = (0..DEVICES)
        .map(|i| {
            let profile = profiles[i as usize % profiles.len()];
            let target = Target {
                jid: PEER.to_owned(),
                profile,
                device: DeviceId::new(1000 + i).expect("id"),
            };
            assert!(
                start_session(&store, ME, &target, &bundle(profile), 1).expect("session"),
                "a session with each device"
            );
            target
        })
        .collect();
    let body = "A message of ordinary length, about as long as most people write in a chat.";
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let sealed = seal(
            &store,
            ME,
            own.device_id,
            PEER,
            &targets,
            Some(body),
            None,
            2,
        )
        .expect("sealed");
        times.push(start.elapsed());
        assert!(!sealed.is_empty());
    }
    times.sort();
    println!(
        "{label:<40} median {:>7.2} ms   p90 {:>7.2} ms   ({runs} runs, SQLCipher store)",
        percentile(&times, 50).as_secs_f64() * 1000.0,
        percentile(&times, 90).as_secs_f64() * 1000.0,
    );
}

fn main() {
    let runs: usize = std::env::var("SOTTO_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    run(
        &[Profile::Omemo2],
        "one message to 10 OMEMO 2 devices",
        runs,
    );
    run(&[Profile::Legacy], "one message to 10 legacy devices", runs);
    run(
        &[Profile::Legacy, Profile::Omemo2],
        "one message to 5 legacy + 5 OMEMO 2",
        runs,
    );
}
