//! The web dashboard (SPEC §12): the files Vite builds into `web/dist`, inside the binary, and
//! the router that serves them.
//!
//! - A file of the build answers as itself with its Content-Type: hashed `/assets/*` files as
//!   immutable for a year, other files (`/favicon.svg`) revalidated; both carry a strong
//!   ETag (the file's SHA-256) and answer `If-None-Match` with 304.
//! - A missing `/assets/…` file, or a missing path that names a static file (`/robots.txt`,
//!   `/foo.js`), is a plain 404, never the page.
//! - Every other path is a page of the single-page app: `index.html`, not cached, with the
//!   `__CSP_NONCE__` placeholder replaced by a fresh nonce that the response's CSP allows for
//!   styles (CodeMirror injects `<style>` elements and reads the nonce from the page).
//! - Every answer carries the CSP, `nosniff`, a `Referrer-Policy` and `X-Frame-Options`; bodies
//!   are compressed (gzip, br) when the client accepts it.
//!
//! In debug builds rust-embed reads `web/dist` from disk on each request (a UI rebuild shows
//! without relinking); release builds embed it. Either way a missing build is a compile error.
//! The router answers for every path it is given: the server keeps `/api/` off it.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use rust_embed::RustEmbed;
use tower_http::compression::CompressionLayer;

// Debug builds read the folder at run time, so nothing would need the page to exist at build
// time: this makes a missing `web/dist/index.html` (run `cd web && npm ci && npm run build`)
// a compile error in every profile, whatever rust-embed checks of the folder.
const _: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/dist/index.html"
));

/// `web/dist`, relative to this crate's manifest.
#[derive(RustEmbed)]
#[folder = "../../web/dist"]
struct Dist;

/// The text in `index.html` that each page response replaces with its nonce.
pub const NONCE_PLACEHOLDER: &str = "__CSP_NONCE__";

/// `Cache-Control` of hashed assets: their name changes with their content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The dist file the page is; served only with its placeholder replaced.
const INDEX: &str = "index.html";

/// Build bookkeeping in dist (the staleness check's hash), not part of the dashboard.
const NOT_SERVED: &[&str] = &["inputs.sha256"];

/// Extensions of static files: a missing path ending in one is a 404, not a page. Only these,
/// so page paths with dots in their last segment (`/hosts/web-1.example.com`) stay pages.
const FILE_EXTENSIONS: &[&str] = &[
    "js",
    "mjs",
    "cjs",
    "map",
    "css",
    "html",
    "htm",
    "json",
    "txt",
    "xml",
    "svg",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "webp",
    "avif",
    "ico",
    "woff",
    "woff2",
    "ttf",
    "otf",
    "eot",
    "wasm",
    "webmanifest",
    "sha256",
    "gz",
    "br",
    "zip",
    "pdf",
    "php",
    "asp",
    "aspx",
    "env",
];

/// The Content-Security-Policy of a response whose nonce is `nonce`: no inline or foreign
/// scripts; styles from the origin or carrying the nonce.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The dashboard for every path it receives (`GET` and `HEAD`; axum answers other methods
/// with an empty 405, so mount it behind a router that answers them itself).
pub fn router() -> Router {
    Router::new()
        .route("/", get(serve))
        .route("/{*path}", get(serve))
        .layer(CompressionLayer::new())
        // Outside the compression: sees the encoding it chose.
        .layer(axum::middleware::map_response(tag_encoded_etag))
}

/// A fresh nonce: 16 bytes from the OS's CSPRNG, base64.
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn serve(uri: Uri, request_headers: HeaderMap) -> Response {
    let nonce = nonce();
    let mut response = answer(uri.path(), &request_headers, &nonce);
    let headers = response.headers_mut();
    let csp = content_security_policy(&nonce);
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).expect("the CSP is ASCII"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// What a path is, before headers common to every answer.
fn answer(path: &str, request_headers: &HeaderMap, nonce: &str) -> Response {
    let rel = path.trim_start_matches('/');
    let segments: Vec<&str> = rel.split('/').collect();
    if segments
        .iter()
        .any(|s| *s == "." || *s == ".." || s.contains('\\'))
    {
        return not_found();
    }
    if rel.is_empty() || rel == INDEX {
        return page(nonce);
    }
    if !NOT_SERVED.contains(&rel)
        && let Some(file) = Dist::get(rel)
    {
        let immutable = rel.starts_with("assets/");
        return file_response(file, immutable, request_headers);
    }
    if rel == "assets" || rel.starts_with("assets/") || names_a_file(segments[segments.len() - 1]) {
        return not_found();
    }
    page(nonce)
}

/// Whether a path's last segment ends in a static file's extension.
fn names_a_file(last: &str) -> bool {
    last.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    })
}

/// `index.html` with this response's nonce; never cached.
fn page(nonce: &str) -> Response {
    let Some(file) = Dist::get(INDEX) else {
        // Only in debug builds, which read dist from disk: someone removed it since.
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "web/dist/index.html is missing: run `cd web && npm ci && npm run build`\n",
        );
    };
    let html = String::from_utf8_lossy(&file.data).replace(NONCE_PLACEHOLDER, nonce);
    let mut response = Response::new(Body::from(html));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A file of the build, or 304 when the client holds it already.
fn file_response(
    file: rust_embed::EmbeddedFile,
    immutable: bool,
    request_headers: &HeaderMap,
) -> Response {
    let hash = hex(&file.metadata.sha256_hash());
    let cache = if immutable { IMMUTABLE } else { "no-cache" };
    let matched = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| matching_tag(v, &hash));
    let mut response = match matched {
        Some(tag) => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            // The validator the client holds: the tag of the encoding it was sent in.
            let etag = HeaderValue::from_str(&tag).expect("tags are ASCII");
            response.headers_mut().insert(header::ETAG, etag);
            response
        }
        None => {
            let mut response = Response::new(Body::from(file.data.into_owned()));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&content_type(file.metadata.mimetype()))
                    .expect("MIME types are ASCII"),
            );
            headers.insert(
                header::ETAG,
                HeaderValue::from_str(&format!("\"{hash}\"")).expect("hex is ASCII"),
            );
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// The tag of an `If-None-Match` value that names this file's content (weak comparison, as
/// RFC 9110 §13.1.2 asks), in any encoding [`tag_encoded_etag`] labels; `*` matches any.
fn matching_tag(if_none_match: &str, hash: &str) -> Option<String> {
    if_none_match.split(',').map(str::trim).find_map(|tag| {
        if tag == "*" {
            return Some(format!("\"{hash}\""));
        }
        let opaque = tag.strip_prefix("W/").unwrap_or(tag);
        let inner = opaque.strip_prefix('"')?.strip_suffix('"')?;
        let base = ENCODINGS
            .iter()
            .find_map(|e| inner.strip_suffix(&format!("-{e}")))
            .unwrap_or(inner);
        (base == hash).then(|| opaque.to_owned())
    })
}

/// Content codings the compression layer produces.
const ENCODINGS: &[&str] = &["gzip", "br"];

/// A strong ETag names one representation: when the compression layer encoded the body, the
/// tag gets the coding as suffix (`"<sha256>-gzip"`), as Apache does.
async fn tag_encoded_etag(mut response: Response) -> Response {
    let encoding = response
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let etag = response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let (Some(encoding), Some(etag)) = (encoding, etag)
        && let Some(inner) = etag.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
        && let Ok(value) = HeaderValue::from_str(&format!("\"{inner}-{encoding}\""))
    {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// Text types carry their charset.
fn content_type(mime: &str) -> String {
    let textual = mime.starts_with("text/")
        || mime == "application/javascript"
        || mime == "application/json"
        || mime == "application/manifest+json";
    if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "not found\n")
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests;
