//! A push relay double: takes knocks on loopback and answers 202, as the
//! ChatSecure relay does (tests/it/knock.rs has the full double; the
//! window only needs to see one accepted).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;

pub const TOKEN: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";

pub struct Relay {
    pub endpoint: String,
    /// The tokens knocked, in order.
    pub knocks: Arc<Mutex<Vec<String>>>,
}

impl Relay {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let knocks = Arc::new(Mutex::new(Vec::new()));
        let log = knocks.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                            let log = log.clone();
                            async move {
                                let body: Bytes = match req.into_body().collect().await {
                                    Ok(collected) => collected.to_bytes(),
                                    Err(_) => Bytes::new(),
                                };
                                let json: serde_json::Value =
                                    serde_json::from_slice(&body).unwrap_or_default();
                                let token = json["token"].as_str().unwrap_or_default().to_owned();
                                log.lock().expect("lock").push(token.clone());
                                let mut r = Response::new(Full::new(Bytes::from(
                                    serde_json::json!({ "token": token }).to_string(),
                                )));
                                *r.status_mut() = StatusCode::ACCEPTED;
                                Ok::<_, Infallible>(r)
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            endpoint: format!("http://127.0.0.1:{port}/api/v1/messages/"),
            knocks,
        }
    }
}
