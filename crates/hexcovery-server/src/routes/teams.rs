//! Teams: `GET /api/v1/teams` (any member of the org: teams with their members), `POST`
//! `{name}`, `PATCH /api/v1/teams/{id}` `{name?, add_members?, remove_members?}` and `DELETE`
//! (admins). Members are user ids of the same org.

use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hexcovery_meta::validate::name as name_rule;
use hexcovery_meta::{Actor, MetaError, NewAuditEvent, Team, TeamPatch, User};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

async fn audit(
    state: &AppState,
    user: &User,
    action: &'static str,
    team: Uuid,
    detail: Value,
    client: Option<String>,
) {
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), action)
                .target(format!("team:{team}"))
                .client(client)
                .detail(detail),
        )
        .await;
}

pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Value>> {
    let teams = state.meta.list_teams(session.user.org_id).await?;
    Ok(Json(json!({ "teams": teams })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(body): ApiJson<NewTeam>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let name = name_rule("name", &body.name, 100)?;
    let user = &session.user;
    let team = state.meta.create_team(user.org_id, &name).await?;
    audit(
        &state,
        user,
        "team.create",
        team.id,
        json!({ "name": team.name }),
        client,
    )
    .await;
    Ok((StatusCode::CREATED, Json(team)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamChange {
    name: Option<String>,
    #[serde(default)]
    add_members: Vec<Uuid>,
    #[serde(default)]
    remove_members: Vec<Uuid>,
}

pub async fn update(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TeamChange>,
) -> ApiResult<Json<Team>> {
    if body.name.is_none() && body.add_members.is_empty() && body.remove_members.is_empty() {
        return Err(ApiError::bad_request(
            "empty_update",
            "nothing to change: send name, add_members or remove_members",
        ));
    }
    let patch = TeamPatch {
        name: body.name.map(|n| name_rule("name", &n, 100)).transpose()?,
        add_members: body.add_members,
        remove_members: body.remove_members,
    };
    let detail = json!({
        "name": patch.name, "added": patch.add_members, "removed": patch.remove_members,
    });
    let user = &session.user;
    let team = match state.meta.update_team(user.org_id, id, patch).await {
        // The team exists: a member id that is no user of this org is bad input.
        Err(MetaError::NotFound("user")) => {
            return Err(ApiError::invalid_field(
                "add_members",
                "every member must be a user of this organization",
            ));
        }
        other => other?,
    };
    audit(&state, user, "team.update", team.id, detail, client).await;
    Ok(Json(team))
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let user = &session.user;
    state.meta.delete_team(user.org_id, id).await?;
    audit(&state, user, "team.delete", id, json!({}), client).await;
    Ok(StatusCode::NO_CONTENT)
}
