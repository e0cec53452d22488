//! The route policy: every route of the HTTP API with the credential rule that guards it
//! (SPEC §2), declared once. [`app`] builds the router from this table and nothing else, so
//! a route cannot exist without a decision about who may call it; the integration tests walk
//! the same table with every kind of credential.
//!
//! The web dashboard (SPEC §12) is two public rows at the end: `/` and the catch-all
//! [`DASHBOARD_PATHS`]. axum (matchit) prefers static and parameter segments to a catch-all,
//! so every API route above still takes its own paths; an unknown `/api/…` path that lands
//! on the catch-all is answered as before, the JSON 404 (any method), never the page.

use crate::auth;
use crate::error::{ApiError, ErrorClass};
use crate::routes;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::handler::Handler;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use hexcovery_auth::Role;
use std::sync::LazyLock;
use tower::ServiceExt as _;
use tower_http::trace::TraceLayer;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no credential (health, login, signup, refresh).
    Public,
    /// The programmatic surface: any API key of the org, or a signed-in user with at least
    /// this role.
    KeyOrUser(Role),
    /// API keys only (heartbeats, ingest).
    KeyOnly,
    /// Signed-in users with at least this role; API keys are refused (403).
    User(Role),
}

/// One row of the policy table.
pub struct RouteSpec {
    pub method: Method,
    /// axum path syntax: `{id}` marks a parameter.
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> RouteSpec
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("route methods are standard");
    RouteSpec {
        method,
        path,
        access,
        handler: on(filter, handler),
    }
}

/// The policy table.
pub fn route_table() -> Vec<RouteSpec> {
    use Access::*;
    use Method as M;
    use Role::*;
    use routes::*;
    vec![
        route(M::GET, "/healthz", Public, health::healthz),
        route(M::GET, "/readyz", Public, health::readyz),
        // sessions
        route(M::POST, "/api/v1/auth/signup", Public, session_auth::signup),
        route(M::POST, "/api/v1/auth/login", Public, session_auth::login),
        route(
            M::POST,
            "/api/v1/auth/refresh",
            Public,
            session_auth::refresh,
        ),
        route(
            M::POST,
            "/api/v1/auth/logout",
            User(Viewer),
            session_auth::logout,
        ),
        route(M::GET, "/api/v1/me", User(Viewer), org::me),
        route(M::GET, "/api/v1/sessions", User(Viewer), sessions::list),
        route(
            M::DELETE,
            "/api/v1/sessions/{id}",
            User(Viewer),
            sessions::revoke,
        ),
        // the org and its people
        route(M::GET, "/api/v1/org", User(Viewer), org::show),
        route(M::PATCH, "/api/v1/org", User(Admin), org::update),
        route(M::GET, "/api/v1/users", User(Viewer), users::list),
        route(M::PATCH, "/api/v1/users/{id}", User(Admin), users::update),
        route(M::DELETE, "/api/v1/users/{id}", User(Admin), users::remove),
        route(M::GET, "/api/v1/invites", User(Admin), invites::list),
        route(M::POST, "/api/v1/invites", User(Admin), invites::create),
        route(
            M::DELETE,
            "/api/v1/invites/{id}",
            User(Admin),
            invites::revoke,
        ),
        route(M::POST, "/api/v1/invites/accept", Public, invites::accept),
        route(M::GET, "/api/v1/outbox", User(Admin), invites::outbox),
        // credentials for automation
        route(M::GET, "/api/v1/api-keys", User(Admin), api_keys::list),
        route(M::POST, "/api/v1/api-keys", User(Admin), api_keys::create),
        route(
            M::DELETE,
            "/api/v1/api-keys/{id}",
            User(Admin),
            api_keys::revoke,
        ),
        // oversight
        route(M::GET, "/api/v1/audit", User(Admin), audit::list),
        route(M::GET, "/api/v1/usage", User(Admin), usage::list),
        route(
            M::POST,
            "/api/v1/auth/password",
            User(Viewer),
            session_auth::change_password,
        ),
        route(
            M::POST,
            "/api/v1/auth/totp/setup",
            User(Viewer),
            totp::setup,
        ),
        route(
            M::POST,
            "/api/v1/auth/totp/enable",
            User(Viewer),
            totp::enable,
        ),
        route(
            M::POST,
            "/api/v1/auth/totp/disable",
            User(Viewer),
            totp::disable,
        ),
        route(
            M::POST,
            "/api/v1/auth/totp/recovery-codes",
            User(Viewer),
            totp::regenerate_recovery_codes,
        ),
        route(M::GET, "/api/v1/teams", User(Viewer), teams::list),
        route(M::POST, "/api/v1/teams", User(Admin), teams::create),
        route(M::PATCH, "/api/v1/teams/{id}", User(Admin), teams::update),
        route(M::DELETE, "/api/v1/teams/{id}", User(Admin), teams::remove),
        route(M::POST, "/api/v1/dsl", KeyOrUser(Viewer), dsl::run),
        route(
            M::GET,
            "/api/v1/notification-channels",
            User(Admin),
            channels::list,
        ),
        route(
            M::POST,
            "/api/v1/notification-channels",
            User(Admin),
            channels::create,
        ),
        route(
            M::DELETE,
            "/api/v1/notification-channels/{id}",
            User(Admin),
            channels::remove,
        ),
        route(
            M::GET,
            "/api/v1/notification-channels/{id}/deliveries",
            User(Admin),
            channels::deliveries,
        ),
        route(
            M::POST,
            "/api/v1/notification-channels/{id}/test",
            User(Admin),
            channels::test,
        ),
        route(
            M::POST,
            "/api/v1/heartbeat/{name}",
            KeyOnly,
            heartbeats::success,
        ),
        route(
            M::POST,
            "/api/v1/heartbeat/{name}/start",
            KeyOnly,
            heartbeats::start,
        ),
        route(
            M::POST,
            "/api/v1/heartbeat/{name}/fail",
            KeyOnly,
            heartbeats::fail,
        ),
        route(M::GET, "/api/v1/heartbeats", User(Viewer), heartbeats::list),
        route(
            M::GET,
            "/api/v1/heartbeats/{name}",
            User(Viewer),
            heartbeats::show,
        ),
        route(
            M::PATCH,
            "/api/v1/heartbeats/{name}",
            User(Editor),
            heartbeats::update,
        ),
        route(
            M::DELETE,
            "/api/v1/heartbeats/{name}",
            User(Editor),
            heartbeats::remove,
        ),
        route(
            M::GET,
            "/api/v1/annotations",
            KeyOrUser(Viewer),
            annotations::list,
        ),
        route(
            M::POST,
            "/api/v1/annotations",
            KeyOrUser(Editor),
            annotations::create,
        ),
        route(
            M::GET,
            "/api/v1/annotations/{id}",
            KeyOrUser(Viewer),
            annotations::show,
        ),
        route(
            M::PUT,
            "/api/v1/annotations/{id}",
            KeyOrUser(Editor),
            annotations::replace,
        ),
        route(
            M::DELETE,
            "/api/v1/annotations/{id}",
            KeyOrUser(Editor),
            annotations::remove,
        ),
        // saved queries and dashboards
        route(
            M::GET,
            "/api/v1/saved-queries",
            User(Viewer),
            saved_queries::list,
        ),
        route(
            M::POST,
            "/api/v1/saved-queries",
            User(Editor),
            saved_queries::create,
        ),
        route(
            M::GET,
            "/api/v1/saved-queries/{id}",
            User(Viewer),
            saved_queries::show,
        ),
        route(
            M::PUT,
            "/api/v1/saved-queries/{id}",
            User(Editor),
            saved_queries::replace,
        ),
        route(
            M::DELETE,
            "/api/v1/saved-queries/{id}",
            User(Editor),
            saved_queries::remove,
        ),
        route(M::GET, "/api/v1/dashboards", User(Viewer), dashboards::list),
        route(
            M::POST,
            "/api/v1/dashboards",
            User(Editor),
            dashboards::create,
        ),
        route(
            M::POST,
            "/api/v1/dashboards/import",
            User(Editor),
            dashboards::import,
        ),
        route(
            M::GET,
            "/api/v1/dashboards/{id}",
            User(Viewer),
            dashboards::show,
        ),
        route(
            M::PUT,
            "/api/v1/dashboards/{id}",
            User(Editor),
            dashboards::replace,
        ),
        route(
            M::DELETE,
            "/api/v1/dashboards/{id}",
            User(Editor),
            dashboards::remove,
        ),
        route(
            M::GET,
            "/api/v1/dashboards/{id}/export",
            User(Viewer),
            dashboards::export,
        ),
        route(
            M::GET,
            "/api/v1/dashboards/{id}/versions",
            User(Viewer),
            dashboards::versions,
        ),
        route(
            M::GET,
            "/api/v1/dashboards/{id}/versions/{n}",
            User(Viewer),
            dashboards::version,
        ),
        route(
            M::POST,
            "/api/v1/dashboards/{id}/versions/{n}/restore",
            User(Editor),
            dashboards::restore,
        ),
        route(
            M::POST,
            "/api/v1/dashboards/{id}/panels/{panel_id}/query",
            User(Viewer),
            dashboards::run_panel,
        ),
        route(
            M::POST,
            "/api/v1/dashboards/{id}/variables/{name}/options",
            User(Viewer),
            dashboards::variable_options,
        ),
        route(
            M::GET,
            "/api/v1/dashboards/{id}/annotations",
            User(Viewer),
            dashboards::annotations,
        ),
        // alerts, silences and alert instances
        route(M::GET, "/api/v1/alerts", User(Viewer), alerts::list),
        route(M::POST, "/api/v1/alerts", User(Editor), alerts::create),
        route(
            M::POST,
            "/api/v1/alerts/preview",
            User(Viewer),
            alerts::preview,
        ),
        route(M::GET, "/api/v1/alerts/{id}", User(Viewer), alerts::show),
        route(
            M::POST,
            "/api/v1/alerts/{id}/test",
            User(Editor),
            alerts::test,
        ),
        route(M::PUT, "/api/v1/alerts/{id}", User(Editor), alerts::replace),
        route(
            M::PATCH,
            "/api/v1/alerts/{id}",
            User(Editor),
            alerts::update,
        ),
        route(
            M::DELETE,
            "/api/v1/alerts/{id}",
            User(Editor),
            alerts::remove,
        ),
        route(
            M::GET,
            "/api/v1/alerts/{id}/instances",
            User(Viewer),
            alerts::instances,
        ),
        route(
            M::GET,
            "/api/v1/alerts/{id}/history",
            User(Viewer),
            alerts::history,
        ),
        route(
            M::GET,
            "/api/v1/alert-instances",
            User(Viewer),
            alerts::org_instances,
        ),
        route(M::GET, "/api/v1/silences", User(Viewer), silences::list),
        route(M::POST, "/api/v1/silences", User(Editor), silences::create),
        route(
            M::GET,
            "/api/v1/silences/{id}",
            User(Viewer),
            silences::show,
        ),
        route(
            M::PUT,
            "/api/v1/silences/{id}",
            User(Editor),
            silences::replace,
        ),
        route(
            M::DELETE,
            "/api/v1/silences/{id}",
            User(Editor),
            silences::remove,
        ),
        // the web dashboard: `/` and every other path outside /api/
        route(M::GET, "/", Public, dashboard),
        route(M::GET, DASHBOARD_PATHS, Public, dashboard),
    ]
}

/// The dashboard's catch-all: every path that no other route takes.
pub const DASHBOARD_PATHS: &str = "/{*path}";

/// Whether `path` is in the API's namespace, where no path is a dashboard page.
fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The dashboard's files, pages and their headers (`hexcovery-ui`); built once.
static DASHBOARD: LazyLock<Router> = LazyLock::new(hexcovery_ui::router);

async fn dashboard(request: Request) -> Response {
    if is_api_path(request.uri().path()) {
        let (method, uri) = (request.method().clone(), request.uri().clone());
        return not_found(method, uri).await.into_response();
    }
    match DASHBOARD.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The Access rule of every route, for tests and documentation.
pub fn route_policies() -> Vec<(Method, &'static str, Access)> {
    route_table()
        .into_iter()
        .map(|r| (r.method, r.path, r.access))
        .collect()
}

/// Largest JSON body the API accepts.
const MAX_API_BODY_BYTES: usize = 1 << 20;

/// The HTTP application: the policy table mounted with its guards, plus JSON 404/405 answers.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for spec in route_table() {
        let access = spec.access;
        let guard = axum::middleware::from_fn_with_state(state.clone(), move |st, req, next| {
            auth::enforce(st, access, req, next)
        });
        router = router.route(spec.path, spec.handler.route_layer(guard));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_API_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        ErrorClass::NotFound,
        "no_such_route",
        format!("there is no route {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri, matched: Option<MatchedPath>) -> ApiError {
    // `POST /api/v1/nope` reaches the dashboard's catch-all, which takes only GET: it is no
    // route, as `GET /api/v1/nope` is.
    if is_api_path(uri.path()) && matched.is_some_and(|m| m.as_str() == DASHBOARD_PATHS) {
        return not_found(method, uri).await;
    }
    ApiError::new(
        ErrorClass::MethodNotAllowed,
        "method_not_allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}
