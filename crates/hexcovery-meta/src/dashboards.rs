//! The metastore's saved queries and dashboards (with their versions): the trait every
//! backend implements. Every method takes the org id and filters by it, so another org's id
//! is `NotFound` like a missing one.

use crate::error::MetaResult;
use crate::model::{
    Dashboard, DashboardCaps, DashboardDoc, DashboardSummary, DashboardVersion,
    DashboardVersionInfo, Page, SavedQuery, SavedQueryFields, SearchFilter, VersionedWrite,
};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait DashboardStore: Send + Sync + 'static {
    // --- saved queries ---
    /// Creates a saved query; Conflict `too_many_saved_queries` when the org already has
    /// `max_per_org`.
    async fn create_saved_query(
        &self,
        org_id: Uuid,
        fields: SavedQueryFields,
        created_by: &str,
        max_per_org: u32,
    ) -> MetaResult<SavedQuery>;
    /// Newest (created) first; `page.before` is the id of the last one of the previous page.
    async fn list_saved_queries(
        &self,
        org_id: Uuid,
        filter: &SearchFilter,
        page: Page,
    ) -> MetaResult<Vec<SavedQuery>>;
    async fn get_saved_query(&self, org_id: Uuid, id: Uuid) -> MetaResult<SavedQuery>;
    async fn replace_saved_query(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: SavedQueryFields,
    ) -> MetaResult<SavedQuery>;
    async fn delete_saved_query(&self, org_id: Uuid, id: Uuid) -> MetaResult<SavedQuery>;

    // --- dashboards ---
    /// Creates a dashboard at version 1 (and keeps that version); Conflict
    /// `too_many_dashboards` when the org already has `caps.per_org`.
    async fn create_dashboard(
        &self,
        org_id: Uuid,
        doc: DashboardDoc,
        created_by: &str,
        caps: DashboardCaps,
    ) -> MetaResult<Dashboard>;
    /// Newest (created) first, without documents; `page.before` is a dashboard id.
    async fn list_dashboards(
        &self,
        org_id: Uuid,
        filter: &SearchFilter,
        page: Page,
    ) -> MetaResult<Vec<DashboardSummary>>;
    async fn get_dashboard(&self, org_id: Uuid, id: Uuid) -> MetaResult<Dashboard>;
    /// Saves `doc` as the version after `expected`, if `expected` is still the current one
    /// (checked by the write itself, so of two saves of one version exactly one wins);
    /// otherwise `Stale` with the current version. Versions beyond `caps.versions_kept` are
    /// deleted, oldest first.
    async fn update_dashboard(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: u32,
        doc: DashboardDoc,
        updated_by: &str,
        caps: DashboardCaps,
    ) -> MetaResult<VersionedWrite<Dashboard>>;
    /// Saves version `version`'s document as a new version (after `expected` when given,
    /// else after whatever is current). NotFound if that version is not kept.
    async fn restore_dashboard_version(
        &self,
        org_id: Uuid,
        id: Uuid,
        version: u32,
        expected: Option<u32>,
        updated_by: &str,
        caps: DashboardCaps,
    ) -> MetaResult<VersionedWrite<Dashboard>>;
    /// Deletes a dashboard and its versions.
    async fn delete_dashboard(&self, org_id: Uuid, id: Uuid) -> MetaResult<Dashboard>;
    /// The dashboard's kept versions, newest first; `before` is a version number.
    async fn list_dashboard_versions(
        &self,
        org_id: Uuid,
        id: Uuid,
        limit: u32,
        before: Option<u32>,
    ) -> MetaResult<Vec<DashboardVersionInfo>>;
    async fn get_dashboard_version(
        &self,
        org_id: Uuid,
        id: Uuid,
        version: u32,
    ) -> MetaResult<DashboardVersion>;
}
