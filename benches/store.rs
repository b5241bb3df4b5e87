//! Store benchmarks: insert rate with and without SQLCipher, opening the
//! newest page of a 100,000-message conversation, and full-text search
//! over 1,000,000 messages.
//!
//! Run with `cargo bench --features bench-plaintext --bench store`.
//! `SOTTO_BENCH_SCALE=0.1` shrinks every size for a quick look.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use sotto::store::{NewIncoming, Placement, Store, StoreKey};

fn scale() -> f64 {
    std::env::var("SOTTO_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn scaled(n: usize) -> usize {
    ((n as f64) * scale()).max(10.0) as usize
}

/// A small deterministic generator, so every run searches the same text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn vocabulary() -> Vec<String> {
    let syllables = [
        "ka", "lo", "mi", "ta", "ne", "ru", "so", "vi", "da", "pe", "zo", "fi", "gu", "ha", "ji",
        "be", "co", "wu", "xe", "yo",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..5000)
        .map(|_| {
            let n = 2 + rng.below(3);
            (0..n)
                .map(|_| syllables[rng.below(syllables.len())])
                .collect()
        })
        .collect()
}

fn body(rng: &mut Rng, words: &[String]) -> String {
    let n = 6 + rng.below(14);
    (0..n)
        .map(|_| words[rng.below(words.len())].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[(samples.len() * 95 / 100).min(samples.len() - 1)];
    (median, p95)
}

fn key() -> StoreKey {
    StoreKey::from_bytes([42; 32])
}

fn insert_rate(store: &Store, n: usize, words: &[String]) -> f64 {
    let mut rng = Rng(7);
    let bodies: Vec<String> = (0..n).map(|_| body(&mut rng, words)).collect();
    let ids: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let start = Instant::now();
    for (i, body) in bodies.iter().enumerate() {
        store
            .insert_incoming(&NewIncoming {
                account: "me@bench.example",
                peer: "peer@bench.example",
                sender: "peer@bench.example/phone",
                body,
                sent_at: i as i64,
                placement: Placement::AsStamped,
                origin_id: None,
                stanza_id: Some(&ids[i]),
                archive_id: None,
                count_unread: true,
                wire_id: None,
                markable: false,
                encrypted: false,
                omemo_notice: false,
            })
            .expect("insert");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn fill(store: &Store, peers: usize, total: usize, words: &[String], seed: u64) {
    let mut rng = Rng(seed);
    let peer_names: Vec<String> = (0..peers).map(|p| format!("p{p}@bench.example")).collect();
    let batch = 10_000;
    let mut done = 0;
    while done < total {
        let n = batch.min(total - done);
        let rows: Vec<(String, String, usize)> = (0..n)
            .map(|i| {
                (
                    body(&mut rng, words),
                    format!("f{}", done + i),
                    rng.below(peers),
                )
            })
            .collect();
        let messages: Vec<(NewIncoming<'_>, bool)> = rows
            .iter()
            .enumerate()
            .map(|(i, (body, id, peer))| {
                (
                    NewIncoming {
                        account: "me@bench.example",
                        peer: &peer_names[*peer],
                        sender: &peer_names[*peer],
                        body,
                        sent_at: (done + i) as i64,
                        placement: Placement::AsStamped,
                        origin_id: None,
                        stanza_id: Some(id),
                        archive_id: None,
                        count_unread: false,
                        wire_id: None,
                        markable: false,
                        encrypted: false,
                        omemo_notice: false,
                    },
                    false,
                )
            })
            .collect();
        store.insert_many(&messages).expect("insert batch");
        done += n;
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let words = vocabulary();

    let n = scaled(20_000);
    let encrypted = Store::open(&dir.path().join("enc.db"), &key()).expect("open");
    let plain = Store::open_plaintext_for_benchmarks(&dir.path().join("plain.db")).expect("open");
    let plain_rate = insert_rate(&plain, n, &words);
    let enc_rate = insert_rate(&encrypted, n, &words);
    println!("insert, one transaction per message ({n} messages):");
    println!("  plain SQLite  {plain_rate:>10.0} messages/s");
    println!(
        "  SQLCipher     {enc_rate:>10.0} messages/s  ({:.0}% of plain)",
        100.0 * enc_rate / plain_rate
    );
    drop((encrypted, plain));

    let n = scaled(100_000);
    let store = Store::open(&dir.path().join("page.db"), &key()).expect("open");
    let start = Instant::now();
    fill(&store, 1, n, &words, 11);
    let fill_rate = n as f64 / start.elapsed().as_secs_f64();
    let peer = "p0@bench.example";
    let mut newest = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let page = store
            .messages_before("me@bench.example", peer, None, 50)
            .expect("page");
        newest.push(t.elapsed());
        assert_eq!(page.len(), 50);
    }
    let mut older = Vec::new();
    let mut cursor = None;
    for _ in 0..200 {
        let t = Instant::now();
        let page = store
            .messages_before("me@bench.example", peer, cursor, 50)
            .expect("page");
        older.push(t.elapsed());
        cursor = page.first().map(|m| m.cursor());
    }
    let (nm, np) = stats(newest);
    let (om, op) = stats(older);
    println!("conversation of {n} messages (filled in batches at {fill_rate:.0} messages/s):");
    println!("  newest page of 50     median {nm:>9.2?}  p95 {np:>9.2?}");
    println!("  paging up, 50 a page  median {om:>9.2?}  p95 {op:>9.2?}");
    drop(store);

    let n = scaled(1_000_000);
    let store = Store::open(&dir.path().join("fts.db"), &key()).expect("open");
    let start = Instant::now();
    fill(&store, 200, n, &words, 23);
    let fill_time = start.elapsed();
    let mut rng = Rng(99);
    let mut samples = Vec::new();
    let mut hits = 0;
    for i in 0..200 {
        // Two-word queries, the second as a prefix, as people type.
        let a = &words[rng.below(words.len())];
        let b = &words[rng.below(words.len())];
        let query = if i % 2 == 0 {
            format!("{a} {}", &b[..b.len().min(3)])
        } else {
            a.clone()
        };
        let t = Instant::now();
        hits += store.search(None, &query, 50).expect("search").len();
        samples.push(t.elapsed());
    }
    let (m, p) = stats(samples);
    println!(
        "full-text search over {n} messages in 200 conversations (filled in {fill_time:.1?}):"
    );
    println!(
        "  50 best hits          median {m:>9.2?}  p95 {p:>9.2?}  ({hits} hits in 200 queries)"
    );
}
