//! The router against the committed `web/dist`, through `oneshot`.

use super::*;
use axum::http::{Method, Request};
use sha2::{Digest, Sha256};
use std::io::Read as _;
use std::path::PathBuf;
use tower::ServiceExt as _;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    /// The nonce in this answer's CSP.
    fn nonce(&self) -> String {
        let csp = self.header(header::CONTENT_SECURITY_POLICY);
        let start = csp.find("'nonce-").expect("the CSP has a nonce") + "'nonce-".len();
        let len = csp[start..].find('\'').unwrap();
        csp[start..start + len].to_owned()
    }
}

async fn send(method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(path: &str) -> Answer {
    send(Method::GET, path, &[]).await
}

fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/dist")
}

/// The first `/assets/…` file `index.html` references.
fn asset_path() -> String {
    let html = std::fs::read_to_string(dist().join("index.html")).unwrap();
    let start = html.find("/assets/").expect("index.html loads an asset");
    let len = html[start..].find('"').unwrap();
    html[start..start + len].to_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[track_caller]
fn assert_secured(answer: &Answer, context: &str) {
    let nonce = answer.nonce();
    assert_eq!(
        answer.header(header::CONTENT_SECURITY_POLICY),
        content_security_policy(&nonce),
        "{context}"
    );
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&nonce)
        .expect("the nonce is base64");
    assert!(
        bytes.len() >= 16,
        "{context}: nonce of {} bytes",
        bytes.len()
    );
    assert_eq!(
        answer.header(header::X_CONTENT_TYPE_OPTIONS),
        "nosniff",
        "{context}"
    );
    assert_eq!(
        answer.header(header::REFERRER_POLICY),
        "strict-origin-when-cross-origin",
        "{context}"
    );
    assert_eq!(answer.header(header::X_FRAME_OPTIONS), "DENY", "{context}");
}

#[test]
fn the_policy_allows_no_inline_or_foreign_scripts() {
    let csp = content_security_policy("abc");
    assert_eq!(
        csp,
        "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-abc'; \
         img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn page_paths_fall_back_to_the_index() {
    for path in [
        "/",
        "/index.html",
        "/logs",
        "/logs?q=level%3Aerror&from=now-1h",
        "/traces/abc",
        "/settings/keys",
        "/dashboards/0190f5e4-0000-7000-8000-000000000000",
        "/hosts/web-1.example.com",
        "/logs/",
        "/assetsfoo",
    ] {
        let answer = get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(
            answer.header(header::CONTENT_TYPE),
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(answer.header(header::CACHE_CONTROL), "no-cache", "{path}");
        assert!(answer.header(header::ETAG).is_empty(), "{path}");
        assert!(answer.text().contains("<div id=\"app\">"), "{path}");
        assert_secured(&answer, path);
    }
}

#[tokio::test]
async fn the_page_carries_its_responses_nonce_and_each_response_a_new_one() {
    let first = get("/logs").await;
    let second = get("/logs").await;
    let (a, b) = (first.nonce(), second.nonce());
    assert_ne!(a, b, "a nonce is never reused");
    for (answer, nonce) in [(&first, &a), (&second, &b)] {
        let html = answer.text();
        assert!(!html.contains(NONCE_PLACEHOLDER), "{html}");
        assert!(
            html.contains(&format!("<meta name=\"csp-nonce\" content=\"{nonce}\"")),
            "{html}"
        );
    }
}

#[tokio::test]
async fn missing_assets_and_file_paths_are_404_not_the_page() {
    for path in [
        "/assets/missing.js",
        "/assets/index-00000000.css",
        "/assets/",
        "/assets",
        "/assets/sub/dir",
        "/foo.js",
        "/robots.txt",
        "/deep/path/style.css",
        "/favicon.ico",
        "/inputs.sha256",
        "/assets/../index.html",
        "/./index.html",
    ] {
        let answer = get(path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            answer.header(header::CONTENT_TYPE),
            "text/plain; charset=utf-8",
            "{path}"
        );
        assert!(!answer.text().contains("<html"), "{path}");
        assert_secured(&answer, path);
    }
}

#[tokio::test]
async fn assets_are_immutable_with_a_strong_etag_of_their_content() {
    let path = asset_path();
    let bytes = std::fs::read(dist().join(path.trim_start_matches('/'))).unwrap();
    let answer = get(&path).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, bytes);
    assert_eq!(
        answer.header(header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        answer.header(header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        answer.header(header::ETAG),
        format!("\"{}\"", sha256_hex(&bytes))
    );
    assert_secured(&answer, &path);
}

#[tokio::test]
async fn every_asset_the_page_loads_is_served_with_its_type() {
    let html = std::fs::read_to_string(dist().join("index.html")).unwrap();
    let mut seen = 0;
    for (start, _) in html.match_indices("/assets/") {
        let path = &html[start..start + html[start..].find('"').unwrap()];
        let answer = send(Method::GET, path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        let want = if path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        };
        assert_eq!(answer.header(header::CONTENT_TYPE), want, "{path}");
        assert_eq!(answer.header(header::CACHE_CONTROL), IMMUTABLE, "{path}");
        assert_eq!(answer.header(header::CONTENT_ENCODING), "gzip", "{path}");
        seen += 1;
    }
    assert!(seen >= 1);
}

#[tokio::test]
async fn if_none_match_answers_304() {
    let path = asset_path();
    let etag = get(&path).await.header(header::ETAG).to_owned();
    let weak = format!("W/{etag}");
    let listed = format!("\"other\", {etag}");
    for tag in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let answer = send(Method::GET, &path, &[("if-none-match", tag)]).await;
        assert_eq!(answer.status, StatusCode::NOT_MODIFIED, "{tag}");
        assert!(answer.body.is_empty(), "{tag}");
        assert_eq!(answer.header(header::ETAG), etag.as_str(), "{tag}");
        assert_eq!(answer.header(header::CACHE_CONTROL), IMMUTABLE, "{tag}");
        assert_secured(&answer, tag);
    }
    let stale = send(Method::GET, &path, &[("if-none-match", "\"0000\"")]).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert!(!stale.body.is_empty());
}

#[tokio::test]
async fn other_files_are_served_as_themselves_and_revalidated() {
    let bytes = std::fs::read(dist().join("favicon.svg")).unwrap();
    let answer = get("/favicon.svg").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, bytes);
    assert_eq!(answer.header(header::CONTENT_TYPE), "image/svg+xml");
    assert_eq!(answer.header(header::CACHE_CONTROL), "no-cache");
    let etag = answer.header(header::ETAG).to_owned();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(&bytes)));
    let again = send(Method::GET, "/favicon.svg", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_secured(&answer, "/favicon.svg");
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let answer = send(Method::HEAD, "/logs", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.is_empty());
    assert_eq!(
        answer.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_secured(&answer, "HEAD /logs");
    let asset = send(Method::HEAD, &asset_path(), &[]).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert!(asset.body.is_empty());
    assert_eq!(asset.header(header::CACHE_CONTROL), IMMUTABLE);
    assert_eq!(
        send(Method::HEAD, "/assets/missing.js", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn text_answers_are_compressed_when_the_client_accepts_it() {
    let path = asset_path();
    let plain = std::fs::read(dist().join(path.trim_start_matches('/'))).unwrap();
    let answer = send(Method::GET, &path, &[("accept-encoding", "gzip")]).await;
    assert_eq!(answer.header(header::CONTENT_ENCODING), "gzip");
    assert!(answer.header(header::VARY).contains("accept-encoding"));
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&answer.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);
    // The tag names the gzip representation, and revalidates it.
    let etag = answer.header(header::ETAG).to_owned();
    assert_eq!(etag, format!("\"{}-gzip\"", sha256_hex(&plain)));
    let again = send(
        Method::GET,
        &path,
        &[("accept-encoding", "gzip"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header(header::ETAG), etag);

    for page_or_file in ["/", "/traces/abc", "/favicon.svg"] {
        let answer = send(Method::GET, page_or_file, &[("accept-encoding", "gzip")]).await;
        assert_eq!(
            answer.header(header::CONTENT_ENCODING),
            "gzip",
            "{page_or_file}"
        );
    }
    let br = send(Method::GET, &path, &[("accept-encoding", "br")]).await;
    assert_eq!(br.header(header::CONTENT_ENCODING), "br");
    assert_eq!(
        br.header(header::ETAG),
        format!("\"{}-br\"", sha256_hex(&plain))
    );
    let identity = get(&path).await;
    assert!(identity.header(header::CONTENT_ENCODING).is_empty());
}

#[test]
fn file_names_are_told_from_page_names() {
    for name in ["app.js", "robots.txt", "x.CSS", "a.b.woff2", "favicon.ico"] {
        assert!(names_a_file(name), "{name}");
    }
    for name in ["logs", "web-1.example.com", "10.0.0.1", ".js", "abc", ""] {
        assert!(!names_a_file(name), "{name}");
    }
}
