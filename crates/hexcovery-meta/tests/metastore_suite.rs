//! The metastore contract, written once against the `Metastore` trait and run against every
//! backend (SQLite today; PostgreSQL joins by adding one line to `backends!`).

use chrono::{DateTime, Duration, Utc};
use hexcovery_auth::Role;
use hexcovery_meta::*;
use std::sync::Arc;
use uuid::Uuid;

#[path = "metastore/alerts.rs"]
mod alerts;
use alerts::*;
#[path = "metastore/heartbeat_alerts.rs"]
mod heartbeat_alerts;
use heartbeat_alerts::*;
#[path = "metastore/races.rs"]
mod races;
use races::*;

/// A backend under test and whatever keeps its storage alive.
struct Backend {
    store: Arc<dyn Metastore>,
    _dir: tempfile::TempDir,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetastore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    Backend {
        store: Arc::new(store),
        _dir: dir,
    }
}

fn new_org(slug: &str) -> NewOrg {
    NewOrg {
        name: format!("Org {slug}"),
        slug: slug.into(),
        email: format!("ops@{slug}.io"),
    }
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.into(),
        name: "Someone".into(),
        role,
        password_hash: "$argon2id$fake".into(),
    }
}

async fn org_with_admin(store: &dyn Metastore, slug: &str) -> (Org, User) {
    store
        .create_org_with_admin(
            new_org(slug),
            new_user(&format!("admin@{slug}.io"), Role::Admin),
        )
        .await
        .unwrap()
}

fn new_session(digest: &str) -> NewSession {
    NewSession {
        expires_at: Utc::now() + Duration::days(1),
        refresh_token_digest: digest.into(),
        client_addr: Some("127.0.0.1".into()),
        user_agent: None,
    }
}

async fn signup_is_atomic_and_unique(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    assert_eq!(admin.org_id, org.id);
    assert_eq!(store.get_org(org.id).await.unwrap(), org);

    let dup_slug = store
        .create_org_with_admin(new_org("acme"), new_user("x@y.io", Role::Admin))
        .await;
    assert!(matches!(
        dup_slug,
        Err(MetaError::Conflict {
            code: "slug_taken",
            ..
        })
    ));

    // The org insert succeeds but the user's email is taken: nothing may remain.
    let dup_email = store
        .create_org_with_admin(new_org("other"), new_user("admin@acme.io", Role::Admin))
        .await;
    assert!(matches!(
        dup_email,
        Err(MetaError::Conflict {
            code: "email_taken",
            ..
        })
    ));
    assert_eq!(store.count_orgs().await.unwrap(), 1);
}

async fn org_update_changes_only_given_fields(store: &dyn Metastore) {
    let (org, _) = org_with_admin(store, "acme").await;
    org_with_admin(store, "taken").await;
    let patch = OrgPatch {
        name: Some("Acme Inc".into()),
        ..Default::default()
    };
    let updated = store.update_org(org.id, patch).await.unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.slug.as_str()),
        ("Acme Inc", "acme")
    );
    let clash = OrgPatch {
        slug: Some("taken".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_org(org.id, clash).await,
        Err(MetaError::Conflict { .. })
    ));

    // Settings: thresholds, and an AI provider whose key is kept unless replaced.
    assert_eq!(
        updated.error_rate_thresholds,
        ErrorRateThresholds {
            warning: 1.0,
            critical: 5.0
        }
    );
    assert_eq!(updated.ai_provider, None);
    let ai = |key: Option<&str>| AiProviderSettings {
        provider: "openai".into(),
        model: "gpt-5".into(),
        base_url: None,
        api_key_sealed: key.map(str::to_string),
    };
    let set = store
        .update_org(
            org.id,
            OrgPatch {
                error_rate_thresholds: Some(ErrorRateThresholds {
                    warning: 2.5,
                    critical: 10.0,
                }),
                ai_provider: Some(Some(ai(Some("sealed-key")))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(set.error_rate_thresholds.critical, 10.0);
    assert_eq!(set.ai_provider.as_ref().unwrap().api_key, "set");
    let model_only = store
        .update_org(
            org.id,
            OrgPatch {
                ai_provider: Some(Some(ai(None))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        model_only.ai_provider.unwrap().api_key,
        "set",
        "the key is kept"
    );
    let removed = store
        .update_org(
            org.id,
            OrgPatch {
                ai_provider: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(removed.ai_provider, None);
    assert_eq!(store.get_org(org.id).await.unwrap(), removed);
    assert!(matches!(
        store.update_org(Uuid::now_v7(), OrgPatch::default()).await,
        Err(MetaError::NotFound(_))
    ));
}

async fn other_orgs_rows_are_not_found(store: &dyn Metastore) {
    let (org_a, admin_a) = org_with_admin(store, "org-a").await;
    let (org_b, admin_b) = org_with_admin(store, "org-b").await;
    let key_b = store
        .create_api_key(NewApiKey {
            org_id: org_b.id,
            name: "ci".into(),
            prefix: "hxk_12345678".into(),
            key_digest: "digest-b".into(),
            created_by: CreatedBy {
                user_id: Some(admin_b.id),
                name: admin_b.email.clone(),
            },
        })
        .await
        .unwrap();
    let session_b = store
        .create_session(&admin_b, new_session("rt-b"))
        .await
        .unwrap();

    assert!(matches!(
        store.get_user(org_a.id, admin_b.id).await,
        Err(MetaError::NotFound(_))
    ));
    assert!(matches!(
        store
            .set_user_role(org_a.id, admin_b.id, Role::Viewer)
            .await,
        Err(MetaError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_user(org_a.id, admin_b.id).await,
        Err(MetaError::NotFound(_))
    ));
    assert!(matches!(
        store.revoke_api_key(org_a.id, key_b.id, Utc::now()).await,
        Err(MetaError::NotFound(_))
    ));
    assert!(matches!(
        store
            .revoke_session(org_a.id, admin_a.id, session_b.id, Utc::now())
            .await,
        Err(MetaError::NotFound(_))
    ));
    assert!(store.list_api_keys(org_a.id, 100).await.unwrap().is_empty());
    assert_eq!(store.list_users(org_a.id).await.unwrap(), vec![admin_a]);
    // org B's rows are untouched
    assert_eq!(store.list_api_keys(org_b.id, 100).await.unwrap().len(), 1);
    assert!(
        store
            .live_session(session_b.id, Utc::now())
            .await
            .unwrap()
            .is_some()
    );
}

/// The admin's invite of `email` as `role`, valid for 72 hours from `now`; its token digest
/// is `invite-<email>`.
fn new_invite(admin: &User, email: &str, role: Role, now: DateTime<Utc>) -> NewInvite {
    NewInvite {
        org_id: admin.org_id,
        email: email.into(),
        role,
        token_digest: format!("invite-{email}"),
        expires_at: now + Duration::hours(72),
        invited_by: CreatedBy {
            user_id: Some(admin.id),
            name: admin.email.clone(),
        },
    }
}

/// Adds a user with `role` to the admin's org through an invite, as the product does.
async fn invited_user(store: &dyn Metastore, admin: &User, email: &str, role: Role) -> User {
    let now = Utc::now();
    let invite = new_invite(admin, email, role, now);
    let digest = invite.token_digest.clone();
    store.create_invite(invite, now).await.unwrap();
    store
        .accept_invite(
            &digest,
            InviteAcceptance {
                name: "Invited".into(),
                password_hash: "$argon2id$x".into(),
            },
            now,
        )
        .await
        .unwrap()
}

async fn last_admin_is_kept(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    assert!(matches!(
        store.set_user_role(org.id, admin.id, Role::Editor).await,
        Err(MetaError::LastAdmin)
    ));
    assert!(matches!(
        store.delete_user(org.id, admin.id).await,
        Err(MetaError::LastAdmin)
    ));
    // Admins of other orgs do not count.
    org_with_admin(store, "second").await;
    assert!(matches!(
        store.set_user_role(org.id, admin.id, Role::Viewer).await,
        Err(MetaError::LastAdmin)
    ));
    // With a second admin in the org, the first may step down, and then the second is last.
    let peer = invited_user(store, &admin, "peer@acme.io", Role::Editor).await;
    store
        .set_user_role(org.id, peer.id, Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        store
            .set_user_role(org.id, admin.id, Role::Viewer)
            .await
            .unwrap()
            .role,
        Role::Viewer
    );
    assert!(matches!(
        store.delete_user(org.id, peer.id).await,
        Err(MetaError::LastAdmin)
    ));
    store.delete_user(org.id, admin.id).await.unwrap();
}

async fn refresh_rotation_detects_reuse(store: &dyn Metastore) {
    let (_, admin) = org_with_admin(store, "acme").await;
    let session = store
        .create_session(&admin, new_session("rt-1"))
        .await
        .unwrap();
    let now = Utc::now();
    match store
        .rotate_refresh_token("rt-1", "rt-2", now)
        .await
        .unwrap()
    {
        RefreshOutcome::Rotated(p) => assert_eq!((p.session_id, p.user.id), (session.id, admin.id)),
        other => panic!("expected rotation, got {other:?}"),
    }
    // rt-1 again: reuse, the session dies, and rt-2 no longer works either.
    assert!(matches!(
        store
            .rotate_refresh_token("rt-1", "rt-3", now)
            .await
            .unwrap(),
        RefreshOutcome::Reused(_)
    ));
    assert!(store.live_session(session.id, now).await.unwrap().is_none());
    assert_eq!(
        store
            .rotate_refresh_token("rt-2", "rt-4", now)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert_eq!(
        store
            .rotate_refresh_token("unknown", "rt-5", now)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
}

async fn sessions_expire_and_revoke(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let session = store
        .create_session(&admin, new_session("rt"))
        .await
        .unwrap();
    let now = Utc::now();
    assert!(store.live_session(session.id, now).await.unwrap().is_some());
    assert!(
        store
            .live_session(session.id, now + Duration::days(2))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .list_sessions(org.id, admin.id, now)
            .await
            .unwrap()
            .len(),
        1
    );
    store
        .revoke_session(org.id, admin.id, session.id, now)
        .await
        .unwrap();
    assert!(store.live_session(session.id, now).await.unwrap().is_none());
    assert!(matches!(
        store
            .revoke_session(org.id, admin.id, session.id, now)
            .await,
        Err(MetaError::NotFound(_))
    ));
}

async fn deleting_a_user_ends_their_sessions(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let viewer = invited_user(store, &admin, "viewer@acme.io", Role::Viewer).await;
    let session = store
        .create_session(&viewer, new_session("rt-viewer"))
        .await
        .unwrap();
    assert_eq!(
        store
            .live_session(session.id, Utc::now())
            .await
            .unwrap()
            .unwrap()
            .user,
        viewer
    );
    store.delete_user(org.id, viewer.id).await.unwrap();
    assert!(
        store
            .live_session(session.id, Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .rotate_refresh_token("rt-viewer", "rt-next", Utc::now())
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
}

async fn role_changes_show_in_live_sessions(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let editor = invited_user(store, &admin, "ed@acme.io", Role::Editor).await;
    let session = store
        .create_session(&editor, new_session("rt-ed"))
        .await
        .unwrap();
    store
        .set_user_role(org.id, editor.id, Role::Viewer)
        .await
        .unwrap();
    let live = store
        .live_session(session.id, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.user.role, Role::Viewer);
}

async fn invites_are_single_use_and_expire(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let (_, other_admin) = org_with_admin(store, "other").await;
    let now = Utc::now();
    let invite = |email: &str, digest: &str, expires| NewInvite {
        org_id: org.id,
        email: email.into(),
        role: Role::Editor,
        token_digest: digest.into(),
        expires_at: expires,
        invited_by: CreatedBy {
            user_id: Some(admin.id),
            name: admin.email.clone(),
        },
    };
    let accept = || InviteAcceptance {
        name: "New".into(),
        password_hash: "$argon2id$x".into(),
    };

    // an address with an account anywhere cannot be invited
    let taken = store
        .create_invite(
            invite(&other_admin.email, "d0", now + Duration::hours(1)),
            now,
        )
        .await;
    assert!(matches!(
        taken,
        Err(MetaError::Conflict {
            code: "email_taken",
            ..
        })
    ));

    store
        .create_invite(invite("new@acme.io", "d1", now + Duration::hours(1)), now)
        .await
        .unwrap();
    let again = store
        .create_invite(invite("new@acme.io", "d2", now + Duration::hours(1)), now)
        .await;
    assert!(matches!(
        again,
        Err(MetaError::Conflict {
            code: "already_invited",
            ..
        })
    ));

    let user = store.accept_invite("d1", accept(), now).await.unwrap();
    assert_eq!(
        (user.org_id, user.role, user.email.as_str()),
        (org.id, Role::Editor, "new@acme.io")
    );
    assert!(matches!(
        store.accept_invite("d1", accept(), now).await,
        Err(MetaError::NotFound(_))
    ));

    let expired = store
        .create_invite(invite("late@acme.io", "d3", now + Duration::hours(1)), now)
        .await
        .unwrap();
    assert!(matches!(
        store
            .accept_invite("d3", accept(), now + Duration::hours(2))
            .await,
        Err(MetaError::NotFound(_))
    ));

    let revoked = store
        .create_invite(invite("gone@acme.io", "d4", now + Duration::hours(1)), now)
        .await
        .unwrap();
    assert!(matches!(
        store
            .revoke_invite(other_admin.org_id, revoked.id, now)
            .await,
        Err(MetaError::NotFound(_))
    ));
    store.revoke_invite(org.id, revoked.id, now).await.unwrap();
    assert!(matches!(
        store.accept_invite("d4", accept(), now).await,
        Err(MetaError::NotFound(_))
    ));

    let later = now + Duration::hours(2);
    let listed = store
        .list_invites(
            org.id,
            Page {
                limit: 10,
                before: None,
            },
            later,
        )
        .await
        .unwrap();
    let statuses: Vec<_> = listed
        .iter()
        .map(|i| (i.email.as_str(), i.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("gone@acme.io", InviteStatus::Revoked),
            ("late@acme.io", InviteStatus::Expired),
            ("new@acme.io", InviteStatus::Accepted)
        ]
    );
    assert_eq!(expired.status, InviteStatus::Pending);
    assert!(
        store
            .list_invites(
                other_admin.org_id,
                Page {
                    limit: 10,
                    before: None
                },
                later
            )
            .await
            .unwrap()
            .is_empty()
    );
}

async fn outbox_is_per_org(store: &dyn Metastore) {
    let (org, _) = org_with_admin(store, "acme").await;
    let (other, _) = org_with_admin(store, "other").await;
    let message = |org_id| NewOutboxMessage {
        org_id,
        recipient: "new@acme.io".into(),
        subject: "You are invited".into(),
        body: "link".into(),
        send: false,
        invite_id: None,
    };
    let now = Utc::now();
    store
        .add_outbox_message(message(org.id), now)
        .await
        .unwrap();
    store
        .add_outbox_message(message(org.id), now)
        .await
        .unwrap();
    assert_eq!(store.count_outbox_since(org.id, now).await.unwrap(), 2);
    assert_eq!(
        store
            .count_outbox_since(org.id, now + Duration::milliseconds(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.count_outbox_since(other.id, now).await.unwrap(), 0);
    assert_eq!(
        store
            .list_outbox(
                org.id,
                Page {
                    limit: 10,
                    before: None
                }
            )
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .list_outbox(
                other.id,
                Page {
                    limit: 10,
                    before: None
                }
            )
            .await
            .unwrap()
            .is_empty()
    );
}

async fn outbox_queues_messages_for_the_mailer(store: &dyn Metastore) {
    let (org, _) = org_with_admin(store, "acme").await;
    let (other, _) = org_with_admin(store, "other").await;
    let now = Utc::now();
    let message = |org_id, recipient: &str, send| NewOutboxMessage {
        org_id,
        recipient: recipient.into(),
        subject: "You are invited".into(),
        body: "link".into(),
        send,
        invite_id: None,
    };
    let kept = store
        .add_outbox_message(message(org.id, "kept@acme.io", false), now)
        .await
        .unwrap();
    assert_eq!(kept.status, OutboxStatus::NotSent);
    assert_eq!(kept.next_attempt_at, None);
    let first = store
        .add_outbox_message(message(org.id, "first@acme.io", true), now)
        .await
        .unwrap();
    assert_eq!(first.status, OutboxStatus::Pending);
    let second = store
        .add_outbox_message(message(other.id, "second@other.io", true), now)
        .await
        .unwrap();

    let due = |at| async move { store.due_outbox_messages(at, 10).await.unwrap() };
    assert!(
        due(now - Duration::seconds(1)).await.is_empty(),
        "not due yet"
    );
    let queue = due(now).await;
    assert_eq!(
        queue.iter().map(|m| m.id).collect::<Vec<_>>(),
        [first.id, second.id],
        "every org's pending messages, oldest first; never the not-sent one"
    );
    assert_eq!(queue[1].org_id, other.id);

    // An attempt starts with a claim: one mailer at a time, and not before it is due.
    let lease = now + Duration::seconds(60);
    let claim = |id, at| async move { store.claim_outbox_message(id, at, lease).await.unwrap() };
    assert!(
        !claim(first.id, now - Duration::seconds(1)).await,
        "not due yet"
    );
    assert!(claim(first.id, now).await);
    assert!(!claim(first.id, now).await, "claimed already");
    assert!(
        matches!(
            store
                .record_outbox_attempt(second.id, DeliveryResult::Delivered, now)
                .await,
            Err(MetaError::NotFound(_))
        ),
        "an unclaimed message takes no outcome"
    );
    // A mailer that dies holding a claim: the message is due again when the claim runs out.
    assert!(!due(now).await.iter().any(|m| m.id == first.id));
    assert!(due(lease).await.iter().any(|m| m.id == first.id));

    let retry_at = now + Duration::seconds(30);
    store
        .record_outbox_attempt(
            first.id,
            DeliveryResult::Retry {
                error: "connection refused".into(),
                at: retry_at,
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        due(now).await.iter().map(|m| m.id).collect::<Vec<_>>(),
        [second.id]
    );
    let queue = due(retry_at).await;
    assert_eq!(
        queue.iter().map(|m| m.id).collect::<Vec<_>>(),
        [second.id, first.id],
        "ordered by when each is due"
    );
    assert_eq!(queue[1].attempts, 1);
    assert_eq!(queue[1].last_error.as_deref(), Some("connection refused"));

    assert!(claim(first.id, retry_at).await);
    store
        .record_outbox_attempt(first.id, DeliveryResult::Delivered, retry_at)
        .await
        .unwrap();
    assert!(claim(second.id, now).await);
    store
        .record_outbox_attempt(
            second.id,
            DeliveryResult::Failed {
                error: "550 no such user".into(),
            },
            now,
        )
        .await
        .unwrap();
    assert!(due(retry_at + Duration::days(1)).await.is_empty());
    assert!(!claim(first.id, retry_at + Duration::days(1)).await);
    assert!(
        matches!(
            store
                .record_outbox_attempt(first.id, DeliveryResult::Delivered, retry_at)
                .await,
            Err(MetaError::NotFound(_))
        ),
        "a sent message takes no more attempts"
    );
    let page = Page {
        limit: 10,
        before: None,
    };
    let listed = store.list_outbox(org.id, page).await.unwrap();
    let sent = listed.iter().find(|m| m.id == first.id).unwrap();
    assert_eq!(sent.status, OutboxStatus::Sent);
    assert_eq!(sent.attempts, 2);
    assert_eq!(
        sent.sent_at.map(|t| t.timestamp_millis()),
        Some(retry_at.timestamp_millis())
    );
    assert_eq!(sent.next_attempt_at, None);
    let failed = &store.list_outbox(other.id, page).await.unwrap()[0];
    assert_eq!(failed.status, OutboxStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("550 no such user"));
}

async fn revoking_an_invite_cancels_its_unsent_email(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let now = Utc::now();
    let mut emails = Vec::new();
    for email in ["revoked@acme.io", "kept@acme.io", "in-flight@acme.io"] {
        let invite = store
            .create_invite(new_invite(&admin, email, Role::Viewer, now), now)
            .await
            .unwrap();
        let message = store
            .add_outbox_message(
                NewOutboxMessage {
                    org_id: org.id,
                    recipient: email.into(),
                    subject: "You are invited".into(),
                    body: "link".into(),
                    send: true,
                    invite_id: Some(invite.id),
                },
                now,
            )
            .await
            .unwrap();
        assert_eq!(message.invite_id, Some(invite.id));
        emails.push((invite.id, message.id));
    }
    let (revoked, _) = emails[0];
    let (_, kept_message) = emails[1];
    let (in_flight, in_flight_message) = emails[2];
    store.revoke_invite(org.id, revoked, now).await.unwrap();
    // A message a mailer is sending right now finishes, and says how it ended.
    let lease = now + Duration::seconds(60);
    assert!(
        store
            .claim_outbox_message(in_flight_message, now, lease)
            .await
            .unwrap()
    );
    store.revoke_invite(org.id, in_flight, now).await.unwrap();
    store
        .record_outbox_attempt(in_flight_message, DeliveryResult::Delivered, now)
        .await
        .unwrap();
    let due = store.due_outbox_messages(lease, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|m| m.id).collect::<Vec<_>>(),
        [kept_message],
        "only the live invite's email is still to send"
    );
    let page = Page {
        limit: 10,
        before: None,
    };
    let listed = store.list_outbox(org.id, page).await.unwrap();
    let cancelled = listed
        .iter()
        .find(|m| m.invite_id == Some(revoked))
        .unwrap();
    assert_eq!(cancelled.status, OutboxStatus::Cancelled);
    assert_eq!(cancelled.next_attempt_at, None);
    let sent = listed.iter().find(|m| m.id == in_flight_message).unwrap();
    assert_eq!(
        sent.status,
        OutboxStatus::Sent,
        "the in-flight email is not called cancelled"
    );
}

async fn api_keys_authenticate_until_revoked(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let record = store
        .create_api_key(NewApiKey {
            org_id: org.id,
            name: "agent".into(),
            prefix: "hxk_abcdefgh".into(),
            key_digest: "digest-1".into(),
            created_by: CreatedBy {
                user_id: Some(admin.id),
                name: admin.email.clone(),
            },
        })
        .await
        .unwrap();
    let now = Utc::now();
    let principal = store
        .authenticate_api_key("digest-1", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((principal.org_id, principal.key_id), (org.id, record.id));
    let listed = store.list_api_keys(org.id, 10).await.unwrap();
    assert!(listed[0].last_used_at.is_some(), "use is recorded");
    assert!(
        store
            .authenticate_api_key("digest-2", now)
            .await
            .unwrap()
            .is_none()
    );
    store.revoke_api_key(org.id, record.id, now).await.unwrap();
    assert!(
        store
            .authenticate_api_key("digest-1", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.list_api_keys(org.id, 10).await.unwrap().is_empty());
    assert!(matches!(
        store.revoke_api_key(org.id, record.id, now).await,
        Err(MetaError::NotFound(_))
    ));
}

async fn audit_is_per_org_newest_first_and_paged(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let (other, other_admin) = org_with_admin(store, "other").await;
    for action in ["auth.login", "api_key.create", "api_key.revoke"] {
        store
            .record_audit(NewAuditEvent::success(org.id, Actor::user(&admin), action).target("x"))
            .await
            .unwrap();
    }
    store
        .record_audit(NewAuditEvent::failure(
            other.id,
            Actor::user(&other_admin),
            "auth.login",
        ))
        .await
        .unwrap();
    let first = store
        .list_audit(
            org.id,
            &AuditFilter::default(),
            Page {
                limit: 2,
                before: None,
            },
        )
        .await
        .unwrap();
    let actions: Vec<_> = first.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["api_key.revoke", "api_key.create"]);
    let rest = store
        .list_audit(
            org.id,
            &AuditFilter::default(),
            Page {
                limit: 2,
                before: Some(first[1].id),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].action, "auth.login");
    assert_eq!(rest[0].actor.name, "admin@acme.io");
    let theirs = store
        .list_audit(
            other.id,
            &AuditFilter::default(),
            Page {
                limit: 10,
                before: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].outcome, Outcome::Failure);

    // Filters: exact action, action prefix, actor, time window.
    let all = Page {
        limit: 10,
        before: None,
    };
    let actions =
        |events: Vec<AuditEvent>| -> Vec<String> { events.into_iter().map(|e| e.action).collect() };
    let filtered = |filter: AuditFilter| async move {
        actions(store.list_audit(org.id, &filter, all).await.unwrap())
    };
    let by = |action: &str| AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    assert_eq!(filtered(by("api_key.create")).await, ["api_key.create"]);
    assert_eq!(
        filtered(by("api_key.*")).await,
        ["api_key.revoke", "api_key.create"]
    );
    assert!(filtered(by("api_key")).await.is_empty());
    assert!(
        filtered(by("api%")).await.is_empty(),
        "LIKE wildcards are literal"
    );
    let actor = AuditFilter {
        actor: Some("admin@acme.io".into()),
        ..Default::default()
    };
    assert_eq!(filtered(actor).await.len(), 3);
    let future = AuditFilter {
        from: Some(Utc::now() + Duration::hours(1)),
        ..Default::default()
    };
    assert!(filtered(future).await.is_empty());
    let past = AuditFilter {
        to: Some(Utc::now() + Duration::hours(1)),
        ..Default::default()
    };
    assert_eq!(filtered(past).await.len(), 3);
}

async fn usage_adds_up_per_org_day_and_signal(store: &dyn Metastore) {
    let (org, _) = org_with_admin(store, "acme").await;
    let (other, _) = org_with_admin(store, "other").await;
    let inc = |org_id, day: &str, signal, records, bytes| UsageIncrement {
        org_id,
        day: day.into(),
        signal,
        records,
        bytes,
    };
    store
        .add_usage(&[
            inc(org.id, "2026-11-21", "logs", 10, 1000),
            inc(other.id, "2026-11-21", "logs", 1, 1),
        ])
        .await
        .unwrap();
    store
        .add_usage(&[
            inc(org.id, "2026-11-21", "logs", 5, 500),
            inc(org.id, "2026-11-22", "spans", 2, 20),
        ])
        .await
        .unwrap();
    let rows = store
        .list_usage(org.id, "2026-11-01", "2026-11-30")
        .await
        .unwrap();
    let summary: Vec<_> = rows
        .iter()
        .map(|r| (r.day.as_str(), r.signal.as_str(), r.records, r.bytes))
        .collect();
    assert_eq!(
        summary,
        [
            ("2026-11-22", "spans", 2, 20),
            ("2026-11-21", "logs", 15, 1500)
        ]
    );
    assert_eq!(
        store
            .list_usage(org.id, "2026-11-22", "2026-11-22")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.list_retention().await.unwrap().len(), 2);
    let patch = OrgPatch {
        retention_days: Some(7),
        ..Default::default()
    };
    assert_eq!(
        store
            .update_org(org.id, patch)
            .await
            .unwrap()
            .retention_days,
        7
    );
    assert!(store.list_retention().await.unwrap().contains(&(org.id, 7)));
}

fn annotation(name: &str, minutes_ago: i64, tags: &[&str]) -> AnnotationFields {
    AnnotationFields {
        name: name.into(),
        title: format!("{name} {minutes_ago}"),
        text: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        time: Utc::now() - Duration::minutes(minutes_ago),
        time_end: None,
    }
}

async fn annotations_filter_page_and_stay_in_their_org(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let (other, other_admin) = org_with_admin(store, "globex").await;
    let by = Actor::user(&admin);
    let mut created = Vec::new();
    for (name, ago, tags) in [
        ("deploy/api", 50, vec!["prod", "v1"]),
        ("deploy/api", 40, vec!["prod"]),
        ("deploy/web", 30, vec!["prod", "v2"]),
        ("incident", 20, vec!["sev1"]),
        ("deploy/api", 10, vec!["staging", "v2"]),
    ] {
        created.push(
            store
                .create_annotation(org.id, annotation(name, ago, &tags), by.clone())
                .await
                .unwrap(),
        );
    }
    store
        .create_annotation(
            other.id,
            annotation("deploy/api", 5, &["prod"]),
            Actor::user(&other_admin),
        )
        .await
        .unwrap();
    let titles =
        |list: Vec<Annotation>| -> Vec<String> { list.into_iter().map(|a| a.title).collect() };
    let all = Page {
        limit: 100,
        before: None,
    };
    let list = |filter: AnnotationFilter, page: Page| async move {
        titles(store.list_annotations(org.id, &filter, page).await.unwrap())
    };
    // Newest first, only this org's.
    assert_eq!(
        list(AnnotationFilter::default(), all).await,
        [
            "deploy/api 10",
            "incident 20",
            "deploy/web 30",
            "deploy/api 40",
            "deploy/api 50"
        ]
    );
    let by_name = AnnotationFilter {
        name: Some("deploy/api".into()),
        ..Default::default()
    };
    assert_eq!(
        list(by_name, all).await,
        ["deploy/api 10", "deploy/api 40", "deploy/api 50"]
    );
    // Every tag must match.
    let tagged = AnnotationFilter {
        tags: vec!["prod".into(), "v1".into()],
        ..Default::default()
    };
    assert_eq!(list(tagged, all).await, ["deploy/api 50"]);
    let window = AnnotationFilter {
        from: Some(Utc::now() - Duration::minutes(45)),
        to: Some(Utc::now() - Duration::minutes(15)),
        ..Default::default()
    };
    assert_eq!(
        list(window, all).await,
        ["incident 20", "deploy/web 30", "deploy/api 40"]
    );
    // Pages of two, by cursor.
    let first = store
        .list_annotations(
            org.id,
            &AnnotationFilter::default(),
            Page {
                limit: 2,
                before: None,
            },
        )
        .await
        .unwrap();
    let second = Page {
        limit: 2,
        before: Some(first[1].id),
    };
    assert_eq!(
        list(AnnotationFilter::default(), second).await,
        ["deploy/web 30", "deploy/api 40"]
    );

    // Replace and delete: another org's id is not found and changes nothing.
    let target = created[0].id;
    let mut changed = annotation("deploy/api", 50, &["rolled-back"]);
    changed.title = "v1 rolled back".into();
    changed.time_end = Some(changed.time + Duration::minutes(5));
    assert!(matches!(
        store
            .replace_annotation(other.id, target, changed.clone())
            .await,
        Err(MetaError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_annotation(other.id, target).await,
        Err(MetaError::NotFound(_))
    ));
    assert!(matches!(
        store.get_annotation(other.id, target).await,
        Err(MetaError::NotFound(_))
    ));
    let replaced = store
        .replace_annotation(org.id, target, changed)
        .await
        .unwrap();
    assert_eq!(
        (replaced.title.as_str(), replaced.tags.clone()),
        ("v1 rolled back", vec!["rolled-back".to_string()])
    );
    assert_eq!(replaced.created_by, by);
    assert_eq!(
        store.get_annotation(org.id, target).await.unwrap(),
        replaced
    );
    store.delete_annotation(org.id, target).await.unwrap();
    assert!(matches!(
        store.get_annotation(org.id, target).await,
        Err(MetaError::NotFound(_))
    ));
}

fn hourly() -> MonitorConfig {
    MonitorConfig {
        schedule: "every 1h".into(),
        timezone: "UTC".into(),
        grace_secs: 300,
        max_runtime_secs: Some(1800),
    }
}

fn ping(name: &str, kind: PingKind, run_id: Option<&str>) -> NewPing {
    NewPing {
        name: name.into(),
        kind,
        run_id: run_id.map(str::to_string),
        body: Some(format!("{kind:?} output")),
    }
}

async fn heartbeats_follow_pings_and_time(store: &dyn Metastore) {
    use hexcovery_monitor::MonitorState::*;
    let (org, _) = org_with_admin(store, "acme").await;
    let (other, _) = org_with_admin(store, "globex").await;
    // Whole seconds: stored times have millisecond precision.
    let t0 = chrono::DateTime::from_timestamp(Utc::now().timestamp() - 86_400, 0).unwrap();
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    let transitions = |events: &[HeartbeatEvent]| -> Vec<(
        hexcovery_monitor::MonitorState,
        hexcovery_monitor::MonitorState,
        i64,
    )> {
        events
            .iter()
            .map(|e| (e.from, e.to, (e.at - t0).num_minutes()))
            .collect()
    };

    // A start creates the monitor: new, with an open run.
    let first = store
        .heartbeat_ping(
            org.id,
            ping("backup", PingKind::Start, Some("r1")),
            &hourly(),
            at(0),
        )
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(first.monitor.state, New);
    // Success of run r1 ten minutes later: up, with the run's duration.
    let done = store
        .heartbeat_ping(
            org.id,
            ping("backup", PingKind::Success, Some("r1")),
            &hourly(),
            at(10),
        )
        .await
        .unwrap();
    assert_eq!(done.monitor.state, Up);
    assert_eq!(done.monitor.next_due, Some(at(70)));
    assert_eq!(transitions(&done.events), [(New, Up, 10)]);
    let pings = store
        .list_heartbeat_pings(
            org.id,
            "backup",
            Page {
                limit: 10,
                before: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(pings[0].duration_ms, Some(600_000));
    assert_eq!(pings.len(), 2);

    // The state is exact at any instant, before any evaluator ran.
    let view = |minutes| async move {
        store
            .get_heartbeat(org.id, "backup", at(minutes))
            .await
            .unwrap()
            .state
    };
    assert_eq!(
        (view(69).await, view(70).await, view(75).await),
        (Up, Late, Down)
    );

    // The evaluator was away until minute 200: it records late at 70 and down at 75.
    let events = store.evaluate_heartbeats(at(200)).await.unwrap();
    assert_eq!(transitions(&events), [(Up, Late, 70), (Late, Down, 75)]);
    assert!(
        store.evaluate_heartbeats(at(201)).await.unwrap().is_empty(),
        "nothing twice"
    );

    // A fail: failed until the next success.
    let failed = store
        .heartbeat_ping(
            org.id,
            ping("backup", PingKind::Fail, None),
            &hourly(),
            at(210),
        )
        .await
        .unwrap();
    assert_eq!(transitions(&failed.events), [(Down, Failed, 210)]);
    let ok = store
        .heartbeat_ping(
            org.id,
            ping("backup", PingKind::Success, None),
            &hourly(),
            at(220),
        )
        .await
        .unwrap();
    assert_eq!(transitions(&ok.events), [(Failed, Up, 220)]);

    // A run that outlives its maximum runtime fails at start + 30 min.
    store
        .heartbeat_ping(
            org.id,
            ping("backup", PingKind::Start, Some("r2")),
            &hourly(),
            at(230),
        )
        .await
        .unwrap();
    let events = store.evaluate_heartbeats(at(265)).await.unwrap();
    assert_eq!(transitions(&events), [(Up, Failed, 260)]);

    // Pausing stops the clock; resuming computes from the facts.
    let (paused, events) = store
        .update_heartbeat(
            org.id,
            "backup",
            MonitorPatch {
                paused: Some(true),
                ..Default::default()
            },
            at(270),
        )
        .await
        .unwrap();
    assert_eq!(
        (paused.state, transitions(&events)),
        (Paused, vec![(Failed, Paused, 270)])
    );
    assert!(
        store
            .evaluate_heartbeats(at(9999))
            .await
            .unwrap()
            .is_empty()
    );
    let (changed, _) = store
        .update_heartbeat(
            org.id,
            "backup",
            MonitorPatch {
                paused: Some(false),
                schedule: Some("every 2h".into()),
                max_runtime_secs: Some(None),
                ..Default::default()
            },
            at(280),
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.schedule.as_str(), changed.max_runtime_secs),
        ("every 2h", None)
    );
    let history = store
        .list_heartbeat_events(org.id, "backup", 100)
        .await
        .unwrap();
    assert_eq!(history.len(), 8, "{history:?}");

    // Another org neither sees nor changes it, and its own name is its own monitor.
    assert!(matches!(
        store.get_heartbeat(other.id, "backup", at(300)).await,
        Err(MetaError::NotFound(_))
    ));
    assert!(matches!(
        store
            .update_heartbeat(other.id, "backup", MonitorPatch::default(), at(300))
            .await,
        Err(MetaError::NotFound(_))
    ));
    assert!(
        store
            .list_heartbeat_pings(
                other.id,
                "backup",
                Page {
                    limit: 10,
                    before: None
                }
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.delete_heartbeat(other.id, "backup").await,
        Err(MetaError::NotFound(_))
    ));
    let theirs = store
        .heartbeat_ping(
            other.id,
            ping("backup", PingKind::Success, None),
            &hourly(),
            at(300),
        )
        .await
        .unwrap();
    assert!(theirs.created);
    assert_eq!(
        store.list_heartbeats(org.id, at(300)).await.unwrap().len(),
        1
    );
    store.delete_heartbeat(org.id, "backup").await.unwrap();
    assert!(
        store
            .list_heartbeats(org.id, at(300))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .list_heartbeats(other.id, at(300))
            .await
            .unwrap()
            .len(),
        1
    );
}

fn saved(name: &str, tags: &[&str]) -> SavedQueryFields {
    SavedQueryFields {
        name: name.into(),
        description: format!("about {name}"),
        query: "SELECT count(*) FROM logs".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

fn names(list: &[SavedQuery]) -> Vec<&str> {
    list.iter().map(|q| q.name.as_str()).collect()
}

async fn saved_queries_filter_page_and_stay_in_their_org(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let (other, _) = org_with_admin(store, "globex").await;
    for (name, tags) in [
        ("Errors by service", vec!["errors", "prod"]),
        ("Slow spans", vec!["latency"]),
        ("ERRORS in checkout", vec!["errors"]),
        ("Ünïcode Errörs", vec![]),
    ] {
        store
            .create_saved_query(org.id, saved(name, &tags), &admin.email, 1000)
            .await
            .unwrap();
    }
    let foreign = store
        .create_saved_query(other.id, saved("Errors elsewhere", &["errors"]), "x", 1000)
        .await
        .unwrap();
    let all = Page {
        limit: 100,
        before: None,
    };
    let list = |filter: SearchFilter, page: Page| async move {
        store
            .list_saved_queries(org.id, &filter, page)
            .await
            .unwrap()
    };
    let everything = list(SearchFilter::default(), all).await;
    assert_eq!(
        names(&everything),
        [
            "Ünïcode Errörs",
            "ERRORS in checkout",
            "Slow spans",
            "Errors by service"
        ]
    );
    assert_eq!(everything[3].created_by, admin.email);
    assert_eq!(everything[3].tags, ["errors", "prod"]);
    // `q` is a case-insensitive substring of the name, Unicode included.
    let q = |text: &str| SearchFilter {
        q: Some(text.into()),
        ..Default::default()
    };
    assert_eq!(
        names(&list(q("errors"), all).await),
        ["ERRORS in checkout", "Errors by service"]
    );
    assert_eq!(names(&list(q("ERRÖRS"), all).await), ["Ünïcode Errörs"]);
    // Every tag asked for must be carried.
    let tagged = SearchFilter {
        tags: vec!["errors".into(), "prod".into()],
        q: None,
    };
    assert_eq!(names(&list(tagged, all).await), ["Errors by service"]);
    // Pages of two by cursor.
    let first = list(
        SearchFilter::default(),
        Page {
            limit: 2,
            before: None,
        },
    )
    .await;
    let second = list(
        SearchFilter::default(),
        Page {
            limit: 2,
            before: Some(first[1].id),
        },
    )
    .await;
    assert_eq!(names(&second), ["Slow spans", "Errors by service"]);

    // Replace and delete; another org's id is not found and changes nothing.
    let target = everything[1].id;
    let mut changed = saved("Checkout errors", &["checkout"]);
    changed.query = "SELECT count(*) FROM spans".into();
    for result in [
        store
            .replace_saved_query(other.id, target, changed.clone())
            .await
            .map(|_| ()),
        store.delete_saved_query(other.id, target).await.map(|_| ()),
        store.get_saved_query(other.id, target).await.map(|_| ()),
        store.get_saved_query(org.id, foreign.id).await.map(|_| ()),
    ] {
        assert!(matches!(result, Err(MetaError::NotFound(_))), "{result:?}");
    }
    let replaced = store
        .replace_saved_query(org.id, target, changed)
        .await
        .unwrap();
    assert_eq!(
        (replaced.name.as_str(), replaced.query.as_str()),
        ("Checkout errors", "SELECT count(*) FROM spans")
    );
    assert_eq!(replaced.created_at, everything[1].created_at);
    assert!(replaced.updated_at >= everything[1].updated_at);
    assert_eq!(
        store.get_saved_query(org.id, target).await.unwrap(),
        replaced
    );
    store.delete_saved_query(org.id, target).await.unwrap();
    assert!(matches!(
        store.get_saved_query(org.id, target).await,
        Err(MetaError::NotFound(_))
    ));
    assert_eq!(
        store
            .get_saved_query(other.id, foreign.id)
            .await
            .unwrap()
            .name,
        "Errors elsewhere"
    );
    // The cap counts only the org's own.
    let conflict = store
        .create_saved_query(org.id, saved("one too many", &[]), "x", 3)
        .await;
    assert!(
        matches!(
            conflict,
            Err(MetaError::Conflict {
                code: "too_many_saved_queries",
                ..
            })
        ),
        "{conflict:?}"
    );
    store
        .create_saved_query(other.id, saved("fits", &[]), "x", 3)
        .await
        .unwrap();
}

const CAPS: DashboardCaps = DashboardCaps {
    per_org: 1000,
    versions_kept: 100,
};

fn board(title: &str, tags: &[&str]) -> DashboardDoc {
    DashboardDoc {
        title: title.into(),
        description: String::new(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        time: TimeRange::default(),
        refresh: Some("1m".into()),
        variables: vec![Variable {
            name: "env".into(),
            kind: VariableKind::Custom,
            query: None,
            options: Some(vec!["prod".into(), "staging".into()]),
            multi: false,
            default: "prod".into(),
        }],
        annotations: AnnotationQuery::default(),
        panels: vec![Panel {
            id: "errors".into(),
            title: "Errors".into(),
            kind: PanelKind::Timeseries,
            query: "SELECT bucket() AS t, count(*) FROM logs GROUP BY t".into(),
            layout: Layout {
                x: 0,
                y: 0,
                w: 12,
                h: 8,
            },
            options: serde_json::json!({"unit": "short"})
                .as_object()
                .unwrap()
                .clone(),
            time: None,
            show_annotations: true,
        }],
    }
}

fn written(write: VersionedWrite<Dashboard>) -> Dashboard {
    match write {
        VersionedWrite::Written(d) => d,
        VersionedWrite::Stale { current } => panic!("stale: current is {current}"),
    }
}

async fn dashboards_keep_versions_and_refuse_stale_saves(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let (other, _) = org_with_admin(store, "globex").await;
    let created = store
        .create_dashboard(org.id, board("Checkout", &["payments"]), &admin.email, CAPS)
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(
        (created.created_by.as_str(), created.updated_by.as_str()),
        (admin.email.as_str(), admin.email.as_str())
    );
    assert_eq!(created.doc, board("Checkout", &["payments"]));
    assert_eq!(
        store.get_dashboard(org.id, created.id).await.unwrap(),
        created
    );

    // Saving version 1 makes version 2; saving version 1 again is stale.
    let mut doc = board("Checkout v2", &["payments"]);
    doc.panels[0].layout.w = 24;
    let second = written(
        store
            .update_dashboard(org.id, created.id, 1, doc.clone(), "editor@acme.io", CAPS)
            .await
            .unwrap(),
    );
    assert_eq!(
        (second.version, second.doc.title.as_str()),
        (2, "Checkout v2")
    );
    assert_eq!(second.updated_by, "editor@acme.io");
    assert_eq!(second.created_by, admin.email);
    assert_eq!(second.created_at, created.created_at);
    let stale = store
        .update_dashboard(org.id, created.id, 1, board("lost", &[]), "x", CAPS)
        .await
        .unwrap();
    assert_eq!(stale, VersionedWrite::Stale { current: 2 });
    assert_eq!(
        store.get_dashboard(org.id, created.id).await.unwrap(),
        second
    );

    // Every save kept its document; restoring version 1 is version 3 with 1's content.
    let v1 = store
        .get_dashboard_version(org.id, created.id, 1)
        .await
        .unwrap();
    assert_eq!(v1.document, created.doc);
    assert_eq!(v1.info.created_by, admin.email);
    let restored = written(
        store
            .restore_dashboard_version(org.id, created.id, 1, Some(2), "viewer-turned-editor", CAPS)
            .await
            .unwrap(),
    );
    assert_eq!((restored.version, &restored.doc), (3, &created.doc));
    assert_eq!(
        store
            .restore_dashboard_version(org.id, created.id, 2, Some(2), "x", CAPS)
            .await
            .unwrap(),
        VersionedWrite::Stale { current: 3 }
    );
    let versions = store
        .list_dashboard_versions(org.id, created.id, 100, None)
        .await
        .unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version, v.restored_from))
            .collect::<Vec<_>>(),
        [(3, Some(1)), (2, None), (1, None)]
    );
    let older = store
        .list_dashboard_versions(org.id, created.id, 1, Some(3))
        .await
        .unwrap();
    assert_eq!(older.iter().map(|v| v.version).collect::<Vec<_>>(), [2]);
    assert!(matches!(
        store.get_dashboard_version(org.id, created.id, 9).await,
        Err(MetaError::NotFound(_))
    ));
    assert!(matches!(
        store
            .restore_dashboard_version(org.id, created.id, 9, None, "x", CAPS)
            .await,
        Err(MetaError::NotFound(_))
    ));

    // Only the newest `versions_kept` are kept.
    let two = DashboardCaps {
        versions_kept: 2,
        ..CAPS
    };
    written(
        store
            .update_dashboard(org.id, created.id, 3, doc, "x", two)
            .await
            .unwrap(),
    );
    let kept = store
        .list_dashboard_versions(org.id, created.id, 100, None)
        .await
        .unwrap();
    assert_eq!(kept.iter().map(|v| v.version).collect::<Vec<_>>(), [4, 3]);

    // Another org's id is not found anywhere and changes nothing.
    let id = created.id;
    for result in [
        store.get_dashboard(other.id, id).await.map(|_| ()),
        store
            .update_dashboard(other.id, id, 4, board("x", &[]), "x", CAPS)
            .await
            .map(|_| ()),
        store
            .restore_dashboard_version(other.id, id, 1, None, "x", CAPS)
            .await
            .map(|_| ()),
        store
            .list_dashboard_versions(other.id, id, 10, None)
            .await
            .map(|_| ()),
        store
            .get_dashboard_version(other.id, id, 4)
            .await
            .map(|_| ()),
        store.delete_dashboard(other.id, id).await.map(|_| ()),
    ] {
        assert!(matches!(result, Err(MetaError::NotFound(_))), "{result:?}");
    }
    assert_eq!(store.get_dashboard(org.id, id).await.unwrap().version, 4);

    // Deleting takes the versions along.
    store.delete_dashboard(org.id, id).await.unwrap();
    for result in [
        store.get_dashboard(org.id, id).await.map(|_| ()),
        store.get_dashboard_version(org.id, id, 4).await.map(|_| ()),
        store
            .list_dashboard_versions(org.id, id, 10, None)
            .await
            .map(|_| ()),
        store
            .update_dashboard(org.id, id, 4, board("x", &[]), "x", CAPS)
            .await
            .map(|_| ()),
    ] {
        assert!(matches!(result, Err(MetaError::NotFound(_))), "{result:?}");
    }
}

async fn concurrent_saves_of_one_version_have_one_winner(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let created = store
        .create_dashboard(org.id, board("Race", &[]), &admin.email, CAPS)
        .await
        .unwrap();
    let save = |title: &'static str| {
        store.update_dashboard(org.id, created.id, 1, board(title, &[]), title, CAPS)
    };
    let (a, b, c) = tokio::join!(save("a"), save("b"), save("c"));
    let results = [a.unwrap(), b.unwrap(), c.unwrap()];
    let winners: Vec<&Dashboard> = results
        .iter()
        .filter_map(|r| match r {
            VersionedWrite::Written(d) => Some(d),
            VersionedWrite::Stale { .. } => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|r| matches!(r, VersionedWrite::Stale { current: 2 }))
            .count()
            == 2,
        "{results:?}"
    );
    let stored = store.get_dashboard(org.id, created.id).await.unwrap();
    assert_eq!(&stored, winners[0]);
    assert_eq!(
        store
            .list_dashboard_versions(org.id, created.id, 10, None)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn dashboards_list_newest_first_filtered_paged_and_capped(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "acme").await;
    let (other, _) = org_with_admin(store, "globex").await;
    let mut ids = Vec::new();
    for (title, tags) in [
        ("Checkout", vec!["payments", "prod"]),
        ("Search latency", vec!["prod"]),
        ("checkout (staging)", vec!["payments"]),
    ] {
        ids.push(
            store
                .create_dashboard(org.id, board(title, &tags), &admin.email, CAPS)
                .await
                .unwrap()
                .id,
        );
    }
    store
        .create_dashboard(other.id, board("Checkout", &["payments"]), "x", CAPS)
        .await
        .unwrap();
    let all = Page {
        limit: 100,
        before: None,
    };
    let titles = |filter: SearchFilter, page: Page| async move {
        store
            .list_dashboards(org.id, &filter, page)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.title)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(SearchFilter::default(), all).await,
        ["checkout (staging)", "Search latency", "Checkout"]
    );
    // An edit does not move a dashboard in the list (newest created first; cursors stay put).
    written(
        store
            .update_dashboard(
                org.id,
                ids[0],
                1,
                board("Checkout", &["payments", "prod"]),
                "x",
                CAPS,
            )
            .await
            .unwrap(),
    );
    let q = SearchFilter {
        q: Some("CHECKOUT".into()),
        tags: vec![],
    };
    assert_eq!(titles(q, all).await, ["checkout (staging)", "Checkout"]);
    let tagged = SearchFilter {
        q: None,
        tags: vec!["payments".into(), "prod".into()],
    };
    assert_eq!(titles(tagged, all).await, ["Checkout"]);
    let summary = &store
        .list_dashboards(org.id, &SearchFilter::default(), all)
        .await
        .unwrap()[2];
    assert_eq!((summary.id, summary.version), (ids[0], 2));
    let page = Page {
        limit: 1,
        before: Some(ids[1]),
    };
    assert_eq!(titles(SearchFilter::default(), page).await, ["Checkout"]);
    let capped = store
        .create_dashboard(
            org.id,
            board("fourth", &[]),
            "x",
            DashboardCaps { per_org: 3, ..CAPS },
        )
        .await;
    assert!(
        matches!(
            capped,
            Err(MetaError::Conflict {
                code: "too_many_dashboards",
                ..
            })
        ),
        "{capped:?}"
    );
}

macro_rules! suite {
    ($backend:ident: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    let backend = super::$backend().await;
                    super::$test(backend.store.as_ref()).await;
                }
            )*
        }
    };
}

macro_rules! backends {
    ($($backend:ident),*) => {
        $(
            suite!($backend:
                signup_is_atomic_and_unique,
                org_update_changes_only_given_fields,
                other_orgs_rows_are_not_found,
                last_admin_is_kept,
                refresh_rotation_detects_reuse,
                concurrent_refreshes_of_one_token_rotate_once,
                concurrent_demotions_keep_an_admin,
                sessions_expire_and_revoke,
                deleting_a_user_ends_their_sessions,
                role_changes_show_in_live_sessions,
                invites_are_single_use_and_expire,
                outbox_is_per_org,
                outbox_queues_messages_for_the_mailer,
                revoking_an_invite_cancels_its_unsent_email,
                usage_adds_up_per_org_day_and_signal,
                api_keys_authenticate_until_revoked,
                audit_is_per_org_newest_first_and_paged,
                annotations_filter_page_and_stay_in_their_org,
                heartbeats_follow_pings_and_time,
                heartbeat_alerts_are_queued_with_their_transition,
                // saved queries and dashboards
                saved_queries_filter_page_and_stay_in_their_org,
                dashboards_keep_versions_and_refuse_stale_saves,
                concurrent_saves_of_one_version_have_one_winner,
                dashboards_list_newest_first_filtered_paged_and_capped,
                // alerts and silences
                alert_rules_are_per_org_and_check_channels,
                one_evaluator_claims_a_tick_and_records_it_whole,
                silences_apply_to_their_rule_and_time,
            );
        )*
    };
}

backends!(sqlite);

#[tokio::test]
async fn sqlite_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let store = SqliteMetastore::open(&path).await.unwrap();
    let (org, _) = org_with_admin(&store, "acme").await;
    store.close().await;
    let reopened = SqliteMetastore::open(&path).await.unwrap();
    assert_eq!(reopened.get_org(org.id).await.unwrap().slug, "acme");
}
