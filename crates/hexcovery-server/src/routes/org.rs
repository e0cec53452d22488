//! The caller's org and identity: `GET /api/v1/me`, `GET/PATCH /api/v1/org` (name, slug,
//! email, telemetry `retention_days`, `error_rate_thresholds`, the AI provider — whose key is
//! sealed at rest and shown only as "set" / "not set").

use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use hexcovery_meta::{
    Actor, AiProviderSettings, ErrorRateThresholds, NewAuditEvent, Org, OrgPatch, validate,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /api/v1/me`: who the caller is and which org they are in.
pub async fn me(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Value>> {
    let org = state.meta.get_org(session.user.org_id).await?;
    // The dashboard's security page shows whether 2FA is on for the caller.
    let totp = state
        .meta
        .totp_record(session.user.org_id, session.user.id)
        .await?;
    Ok(Json(
        json!({ "user": session.user, "org": org, "totp_enabled": totp.enabled }),
    ))
}

/// `GET /api/v1/org`.
pub async fn show(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Org>> {
    Ok(Json(state.meta.get_org(session.user.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUpdate {
    name: Option<String>,
    slug: Option<String>,
    email: Option<String>,
    retention_days: Option<u32>,
    error_rate_thresholds: Option<Thresholds>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    ai_provider: Option<Option<AiProviderBody>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    warning: f64,
    critical: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiProviderBody {
    provider: String,
    model: String,
    #[serde(default)]
    base_url: Option<String>,
    /// Omitted: keep the stored key.
    #[serde(default)]
    api_key: Option<String>,
}

fn thresholds(t: &Thresholds) -> ApiResult<ErrorRateThresholds> {
    let ok = |v: f64| v.is_finite() && v > 0.0 && v <= 100.0;
    if !(ok(t.warning) && ok(t.critical) && t.warning < t.critical) {
        return Err(ApiError::invalid_field(
            "error_rate_thresholds",
            format!(
                "warning and critical are percentages above 0 and at most 100, warning below critical; got {} and {}",
                t.warning, t.critical
            ),
        ));
    }
    Ok(ErrorRateThresholds {
        warning: t.warning,
        critical: t.critical,
    })
}

fn ai_settings(state: &AppState, body: &AiProviderBody) -> ApiResult<AiProviderSettings> {
    let provider = body.provider.trim();
    if provider.is_empty()
        || provider.len() > 50
        || !provider
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(ApiError::invalid_field(
            "ai_provider.provider",
            "must be 1 to 50 of a-z, 0-9, '_' and '-', e.g. openai, anthropic, ollama",
        ));
    }
    let model = validate::name("ai_provider.model", &body.model, 200)?;
    let base_url = body
        .base_url
        .as_deref()
        .map(|url| super::http_url("ai_provider.base_url", url).map(|_| url.to_string()))
        .transpose()?;
    let api_key_sealed = match &body.api_key {
        None => None,
        Some(key) if (1..=500).contains(&key.len()) => Some(state.secrets.seal(key)),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "ai_provider.api_key",
                "must be 1 to 500 characters",
            ));
        }
    };
    Ok(AiProviderSettings {
        provider: provider.to_string(),
        model,
        base_url,
        api_key_sealed,
    })
}

/// `PATCH /api/v1/org` (admin): change name, slug or email; absent fields stay as they are.
pub async fn update(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(req): ApiJson<OrgUpdate>,
) -> ApiResult<Json<Org>> {
    let patch = OrgPatch {
        name: req
            .name
            .map(|v| validate::name("name", &v, 100))
            .transpose()?,
        slug: req.slug.map(|v| validate::slug("slug", &v)).transpose()?,
        email: req
            .email
            .map(|v| validate::email("email", &v))
            .transpose()?,
        retention_days: req
            .retention_days
            .map(validate::retention_days)
            .transpose()?,
        error_rate_thresholds: req
            .error_rate_thresholds
            .as_ref()
            .map(thresholds)
            .transpose()?,
        ai_provider: match &req.ai_provider {
            None => None,
            Some(None) => Some(None),
            Some(Some(body)) => Some(Some(ai_settings(&state, body)?)),
        },
    };
    let changed: Vec<&str> = [
        ("name", patch.name.is_some()),
        ("slug", patch.slug.is_some()),
        ("email", patch.email.is_some()),
        ("retention_days", patch.retention_days.is_some()),
        (
            "error_rate_thresholds",
            patch.error_rate_thresholds.is_some(),
        ),
        ("ai_provider", patch.ai_provider.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect();
    if changed.is_empty() {
        return Err(ApiError::bad_request(
            "empty_update",
            "nothing to change: send at least one of name, slug, email, retention_days, error_rate_thresholds, ai_provider",
        ));
    }
    let org_id = session.user.org_id;
    let actor = Actor::user(&session.user);
    let result = state.meta.update_org(org_id, patch).await;
    let event = match &result {
        Ok(_) => NewAuditEvent::success(org_id, actor, "org.update"),
        Err(_) => NewAuditEvent::failure(org_id, actor, "org.update"),
    };
    state
        .audit(
            event
                .target(format!("org:{org_id}"))
                .client(client)
                .detail(json!({ "fields": changed })),
        )
        .await;
    let org = result?;
    // Ingest's accepted time window follows the new retention at once, not at the next
    // hourly retention pass.
    state.telemetry.set_retention(org.id, org.retention_days);
    Ok(Json(org))
}
