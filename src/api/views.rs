//! The shapes the API answers with (DESIGN §5). Fields may be added, never renamed. Internal fields (blob
//! addresses) never leave the archive. A material's view is built from what the service hands out — the stored
//! record with its content's text state ([`WithText`]) — never from the stored record alone.

use crate::model::{
    Material, MaterialMeta, MaterialVersion, PersonId, Role, TextStatus, User, UserId, WithText, ts_rfc3339,
};
use crate::service::persons::PersonVersion;
use serde::Serialize;

/// A list page.
#[derive(Serialize, utoipa::ToSchema)]
pub struct List<T> {
    /// The items.
    pub items: Vec<T>,
    /// How many there are in all.
    pub total: usize,
}

/// A material.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Material)]
pub struct MaterialView {
    /// Id.
    pub id: crate::model::MaterialId,
    /// Person.
    pub person_id: PersonId,
    /// Catalogue fields.
    #[serde(flatten)]
    pub meta: MaterialMeta,
    /// Category name.
    pub category_name: Option<String>,
    /// 序号 within the category (catalogue listings only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
    /// Version.
    pub version: u32,
    /// Plain BLAKE3 of the bytes.
    pub content_hash: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type.
    pub mime: String,
    /// File name as uploaded.
    pub file_name: Option<String>,
    /// Extraction state.
    pub text_status: TextStatus,
    /// Why extraction failed.
    pub text_error: Option<String>,
    /// Pages found in the file.
    pub detected_pages: Option<u32>,
    /// Warnings about the entry, e.g. 页数 differing from the pages found in the file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::model::Finding>,
    /// Received (收材) and waiting in the 待归档 queue: not yet in the catalogue, no 序号 until 归档.
    pub awaiting_filing: bool,
    /// The page images of a scanned material, in order, with what intake read and found on each (the content
    /// is then one PDF assembled from them); absent for other materials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub page_images: Vec<crate::model::page::PageImage>,
    /// Created.
    pub created_at: String,
    /// By.
    pub created_by: String,
    /// Last changed.
    pub updated_at: String,
    /// By.
    pub updated_by: String,
}

impl MaterialView {
    /// The view of a material: the record and its content's text state.
    pub fn new(shown: WithText<Material>, scheme: &crate::model::CategoryScheme, seq: Option<u32>) -> Self {
        let WithText { record: m, text } = shown;
        let findings = match (m.meta.pages, text.pages) {
            (Some(stated), Some(found)) if stated != found => vec![crate::model::Finding::warning(
                "pages",
                format!("目录记载页数 {stated} 与文件实际页数 {found} 不一致"),
            )],
            _ => Vec::new(),
        };
        MaterialView {
            findings,
            id: m.id,
            person_id: m.person_id,
            category_name: scheme.resolve(&m.meta.category).map(|c| c.name.clone()),
            meta: m.meta,
            seq,
            version: m.version,
            content_hash: m.content_hash,
            size: m.size,
            mime: m.mime,
            file_name: m.file_name,
            text_status: text.status,
            text_error: text.error,
            detected_pages: text.pages,
            awaiting_filing: m.awaiting_filing,
            // The addresses of originals kept apart are the archive's own business.
            page_images: m
                .page_images
                .into_iter()
                .map(|p| crate::model::page::PageImage { address: None, ..p })
                .collect(),
            created_at: ts_rfc3339(m.created_at),
            created_by: m.created_by,
            updated_at: ts_rfc3339(m.updated_at),
            updated_by: m.updated_by,
        }
    }
}

/// One version of a material.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MaterialVersion)]
pub struct MaterialVersionView {
    /// Version number.
    pub version: u32,
    /// Who.
    pub author: String,
    /// When.
    pub at: String,
    /// Why.
    pub reason: Option<String>,
    /// The material as it was.
    pub material: MaterialView,
}

impl MaterialVersionView {
    /// The view of a version: the record as it was, with the text state of that version's content.
    pub fn new(shown: WithText<MaterialVersion>, scheme: &crate::model::CategoryScheme) -> Self {
        let WithText { record: v, text } = shown;
        MaterialVersionView {
            version: v.number,
            author: v.author,
            at: ts_rfc3339(v.at),
            reason: v.reason,
            material: MaterialView::new(WithText { record: v.material, text }, scheme, None),
        }
    }
}

/// One version of a person record.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PersonVersion)]
pub struct PersonVersionView {
    /// Version number.
    pub version: u32,
    /// Who.
    pub author: String,
    /// When.
    pub at: String,
    /// Why.
    pub reason: Option<String>,
    /// The record as it was.
    pub person: crate::model::Person,
}

impl From<PersonVersion> for PersonVersionView {
    fn from(v: PersonVersion) -> Self {
        PersonVersionView {
            version: v.number,
            author: v.author,
            at: ts_rfc3339(v.at),
            reason: v.reason,
            person: v.person,
        }
    }
}

/// An account as shown (never the password hash).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserView {
    /// Id.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Department.
    pub department: Option<String>,
    /// The holder's own person record.
    pub person_id: Option<PersonId>,
    /// Leader level.
    pub leader_level: Option<u8>,
    /// Disabled.
    pub disabled: bool,
    /// The password was set by the system administrator: the holder must choose their own first.
    pub must_change_password: bool,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            roles: u.roles,
            department: u.department,
            person_id: u.person_id,
            leader_level: u.leader_level,
            disabled: u.disabled,
            must_change_password: u.must_change_password,
        }
    }
}
