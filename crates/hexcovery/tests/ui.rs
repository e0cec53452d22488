//! The web dashboard as a browser meets it (SPEC §12): pages are the app's HTML with a
//! per-response CSP nonce, hashed assets are immutable with ETags, missing assets are 404s,
//! bodies are compressed, and the API's namespace stays JSON whatever the client accepts.

mod common;

use common::*;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use std::io::Read as _;

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

/// The style nonce of a CSP header.
fn nonce(csp: &str) -> &str {
    let start = csp.find("'nonce-").expect("the CSP has a nonce") + "'nonce-".len();
    let len = csp[start..].find('\'').unwrap();
    &csp[start..start + len]
}

#[track_caller]
fn assert_secured(headers: &HeaderMap, context: &str) {
    let csp = header(headers, header::CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{context}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{context}: {csp}");
    assert_eq!(
        header(headers, header::X_CONTENT_TYPE_OPTIONS),
        "nosniff",
        "{context}"
    );
    assert!(
        !header(headers, header::REFERRER_POLICY).is_empty(),
        "{context}"
    );
    assert_eq!(
        header(headers, header::X_FRAME_OPTIONS),
        "DENY",
        "{context}"
    );
}

#[tokio::test]
async fn pages_are_the_app_with_a_fresh_nonce_each() {
    let server = TestServer::start();
    let http = reqwest::Client::new();
    let mut nonces = Vec::new();
    for path in ["/", "/logs?q=x", "/traces/abc", "/settings/keys"] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_secured(&headers, path);
        assert!(
            header(&headers, header::CONTENT_TYPE).starts_with("text/html"),
            "{path}"
        );
        assert_eq!(
            header(&headers, header::CACHE_CONTROL),
            "no-cache",
            "{path}"
        );
        let csp = header(&headers, header::CONTENT_SECURITY_POLICY).to_owned();
        let nonce = nonce(&csp).to_owned();
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("name=\"csp-nonce\" content=\"{nonce}\"")),
            "{path}: {html}"
        );
        assert!(!html.contains("__CSP_NONCE__"), "{path}");
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 4, "every response has its own nonce");
}

#[tokio::test]
async fn assets_are_immutable_revalidated_compressed_and_missing_ones_404() {
    let server = TestServer::start();
    let http = reqwest::Client::new();
    let html = http
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html.find("/assets/").expect("the page loads an asset");
    let asset = &html[start..start + html[start..].find('"').unwrap()];

    let response = http.get(server.url(asset)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{asset}");
    let headers = response.headers().clone();
    assert_secured(&headers, asset);
    assert_eq!(
        header(&headers, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert!(
        header(&headers, header::CONTENT_TYPE).contains("javascript"),
        "{headers:?}"
    );
    let etag = header(&headers, header::ETAG).to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "a strong ETag: {etag}"
    );
    let plain = response.bytes().await.unwrap();
    assert!(!plain.is_empty());

    let again = http
        .get(server.url(asset))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(again.headers(), header::ETAG), etag);

    // gzip when accepted (reqwest is built without decompression: the raw body arrives).
    for path in [asset, "/", "/logs"] {
        let zipped = http
            .get(server.url(path))
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(zipped.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(zipped.headers(), header::CONTENT_ENCODING),
            "gzip",
            "{path}"
        );
        let body = zipped.bytes().await.unwrap();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        if path == asset {
            assert_eq!(unzipped, plain.to_vec());
        } else {
            assert!(String::from_utf8(unzipped).unwrap().contains("<html"));
        }
    }

    for missing in ["/assets/missing.js", "/robots.txt"] {
        let response = http.get(server.url(missing)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
        assert_secured(&response.headers().clone(), missing);
        let body = response.text().await.unwrap();
        assert!(!body.contains("<html"), "{missing}: not the page");
    }
}

#[tokio::test]
async fn the_api_namespace_stays_json_and_other_methods_are_json_405s() {
    let server = TestServer::start();
    let api = server.api();
    let http = api.http.clone();

    for accept in [
        "text/html",
        "text/html,application/xhtml+xml,*/*;q=0.8",
        "*/*",
    ] {
        let request = http
            .get(server.url("/api/v1/nope"))
            .header(header::ACCEPT, accept);
        let answer = api.finish(request).await;
        answer.expect_error(404, "no_such_route");
        assert!(
            header(&answer.headers, header::CONTENT_TYPE).starts_with("application/json"),
            "{accept}: {:?}",
            answer.headers
        );
    }
    let request = http
        .post(server.url("/api/v1/nope"))
        .header(header::ACCEPT, "text/html");
    api.finish(request).await.expect_error(404, "no_such_route");

    for (method, path) in [("POST", "/logs"), ("DELETE", "/"), ("PUT", "/assets/x.js")] {
        let answer = api.send(method, path, &Cred::None, None).await;
        answer.expect_error(405, "method_not_allowed");
        assert!(
            header(&answer.headers, header::CONTENT_TYPE).starts_with("application/json"),
            "{method} {path}"
        );
    }

    // The probes are unchanged, and a bad credential does not keep anyone from the page.
    assert_eq!(
        api.get("/healthz", &Cred::None).await.expect(200)["status"],
        "ok"
    );
    assert_eq!(
        api.get("/readyz", &Cred::None).await.expect(200)["status"],
        "ready"
    );
    let page = api.get("/alerts", &Cred::Jwt("not-a-token".into())).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .as_str()
            .is_some_and(|html| html.contains("<html"))
    );
}
