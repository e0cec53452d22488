//! Contract cases run in parallel: the rules that keep sessions and orgs sound (a refresh
//! token rotates once, an org keeps an admin) hold when calls race, on every backend, not
//! only where a backend happens to have one writer.

use chrono::Utc;
use hexcovery_auth::Role;
use hexcovery_meta::*;

/// Several refreshes presenting one token at once: exactly one rotates it; any other finds
/// it used (a reuse, which ends the session) or the session already ended.
pub(crate) async fn concurrent_refreshes_of_one_token_rotate_once(store: &dyn Metastore) {
    let (_, admin) = crate::org_with_admin(store, "racers").await;
    let session = store
        .create_session(&admin, crate::new_session("rt-race"))
        .await
        .unwrap();
    let now = Utc::now();
    let rotate = |new: &'static str| store.rotate_refresh_token("rt-race", new, now);
    let (a, b, c, d) = tokio::join!(rotate("n-a"), rotate("n-b"), rotate("n-c"), rotate("n-d"));
    let outcomes = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, RefreshOutcome::Rotated(_)))
        .count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, RefreshOutcome::Reused(_))),
        "a second use is seen as reuse: {outcomes:?}"
    );
    assert!(store.live_session(session.id, now).await.unwrap().is_none());
}

/// Two admins demoting (or removing) each other at once: one wins, the other is refused,
/// and the org keeps an admin.
pub(crate) async fn concurrent_demotions_keep_an_admin(store: &dyn Metastore) {
    let (org, first) = crate::org_with_admin(store, "duel").await;
    let second = crate::invited_user(store, &first, "second@duel.io", Role::Admin).await;
    let (a, b) = tokio::join!(
        store.set_user_role(org.id, first.id, Role::Viewer),
        store.set_user_role(org.id, second.id, Role::Viewer),
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    assert!(matches!(a.err().or(b.err()), Some(MetaError::LastAdmin)));
    let admins = |users: Vec<User>| users.iter().filter(|u| u.role == Role::Admin).count();
    assert_eq!(admins(store.list_users(org.id).await.unwrap()), 1);

    // The same with removals.
    let demoted = if store.get_user(org.id, first.id).await.unwrap().role == Role::Admin {
        second.id
    } else {
        first.id
    };
    store
        .set_user_role(org.id, demoted, Role::Admin)
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        store.delete_user(org.id, first.id),
        store.delete_user(org.id, second.id),
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    assert_eq!(admins(store.list_users(org.id).await.unwrap()), 1);
}
