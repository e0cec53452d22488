//! A local HTTP receiver for webhooks and Slack messages: records every request and answers
//! from a script (e.g. 500 once, or 429 with `Retry-After`), then 200.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer: a status and an optional `Retry-After` in seconds.
pub type Scripted = (StatusCode, Option<u64>);

pub struct Receiver {
    pub url: String,
    pub seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Receiver {
    /// Answers `script` in order, then 200 to everything.
    pub async fn start(script: Vec<Scripted>) -> Self {
        let seen: Arc<Mutex<Vec<(HeaderMap, String)>>> = Default::default();
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let (log, script) = (log.clone(), script.clone());
                async move {
                    log.lock().unwrap().push((headers, body));
                    let (status, retry_after) = script
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((StatusCode::OK, None));
                    let mut response = status.into_response();
                    if let Some(secs) = retry_after {
                        response
                            .headers_mut()
                            .insert("retry-after", HeaderValue::from(secs));
                    }
                    response
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, seen }
    }

    /// What arrived so far.
    pub fn received(&self) -> Vec<(HeaderMap, String)> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until `count` requests have arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<(HeaderMap, String)> {
        let wait = async {
            loop {
                {
                    let seen = self.seen.lock().unwrap();
                    if seen.len() >= count {
                        return seen.clone();
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("{count} requests arrive at the receiver"))
    }
}
