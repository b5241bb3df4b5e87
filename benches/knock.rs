//! Time from a knock to the relay's 202, on loopback, against a minimal
//! relay that accepts every token. Run with `cargo bench --bench knock`.

#![allow(clippy::print_stdout)]

use std::convert::Infallible;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use sotto::knock::{KnockPolicy, PushInfo, Token, knock};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    let mut r = Response::new(Full::new(Bytes::from_static(
                        br#"{"token":"t","priority":"high","data":null}"#,
                    )));
                    *r.status_mut() = StatusCode::ACCEPTED;
                    Ok::<_, Infallible>(r)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let info = PushInfo::new(
        &format!("http://127.0.0.1:{port}/api/v1/"),
        vec![Token::parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").expect("token")],
    )
    .expect("info");
    let policy = KnockPolicy {
        allow_insecure: true,
        ..KnockPolicy::default()
    };
    let mut samples: Vec<Duration> = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let report = knock(&info, policy).await;
        samples.push(start.elapsed());
        assert!(report.result.is_ok());
    }
    samples.sort();
    println!(
        "knock → 202 on loopback (new client, resolve, connect, POST): median {:.2?}, p95 {:.2?}",
        samples[samples.len() / 2],
        samples[samples.len() * 95 / 100]
    );
}
