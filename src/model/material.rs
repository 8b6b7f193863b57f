//! Materials (材料): catalogue entries of a dossier, each with the bytes of a file kept in the blob store.
//! Every change of bytes or metadata produces a new immutable [`MaterialVersion`]; versions count from 1, and a
//! version, once written, is never rewritten.
//!
//! Where the text of a content stands ([`TextState`]: pending, done, none or failed, with the pages found) is not
//! part of a material or its versions: it belongs to the content, and is kept with its text, keyed by the blob
//! address (`docs/DESIGN.md` §2). What the API and the web show is a record together with its text's state
//! ([`WithText`]), put together by the service. Records written before that carry the state in their own
//! `text_status`, `text_error` and `detected_pages` fields; they still read, and the service shows their state
//! from there until the text lane records one ([`Material::legacy_text`]).

use super::date::PartialDate;
use super::ids::{MaterialId, PersonId};
use serde::{Deserialize, Serialize};

/// Where text extraction of the current bytes stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(
    description = "pending: queued for extraction; done: text indexed; failed: unreadable (found by catalogue fields); \
        none: the type carries no text."
)]
pub enum TextStatus {
    /// Queued for extraction and indexing.
    #[default]
    Pending,
    /// Text extracted and indexed.
    Done,
    /// The file could not be read; it is stored and found by its catalogue fields.
    Failed,
    /// The type carries no text (scans before OCR); found by its catalogue fields.
    None,
}

/// The catalogue fields a client supplies with an upload (part `meta`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialMeta {
    /// Category code (`"9-1"`).
    pub category: String,
    /// 材料名称.
    pub title: String,
    /// 材料形成时间, `2019`, `2019-07` or `2019-07-01`.
    #[serde(default)]
    pub formed_on: Option<PartialDate>,
    /// 页数.
    #[serde(default)]
    pub pages: Option<u32>,
    /// Tags such as `contract`, `salary`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// 备注.
    #[serde(default)]
    pub note: Option<String>,
    /// 来处: the unit the material came from.
    #[serde(default)]
    pub source_unit: Option<String>,
    /// Whether this is the original (原件) rather than a copy.
    #[serde(default)]
    pub original: Option<bool>,
    /// Secrecy level: 0 public inside the organisation, 1 internal, 2 secret, 3 confidential.
    #[serde(default)]
    pub secrecy: Option<u8>,
    /// 接收时间 (E01Z201): when the archive received the material (收材登记, docs/DOMAIN.md §2b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_on: Option<PartialDate>,
    /// 接收人 (E01Z207): who received it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_by: Option<String>,
    /// 份数 (E01Z124): how many copies were received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies: Option<u32>,
    /// 复制时间: when a copy (复印件, `original: false`) was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_made_on: Option<PartialDate>,
    /// Who certified the copy (复印件核对人 / 盖章单位).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_certified_by: Option<String>,
}

/// A material as stored: catalogue fields plus what the archive knows of its current bytes when it files them
/// (address, hashes, size, type, name). What it learns later — its text's state — is kept with the text
/// ([`TextState`]); the service shows the two together ([`WithText`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Material {
    /// Id.
    pub id: MaterialId,
    /// The person whose dossier holds it.
    pub person_id: PersonId,
    /// Catalogue fields.
    #[serde(flatten)]
    pub meta: MaterialMeta,
    /// Current version number, from 1.
    pub version: u32,
    /// Plain BLAKE3 of the bytes (hex), for clients and transfer manifests.
    pub content_hash: String,
    /// Keyed address of the bytes in the blob store (hex); never leaves the archive.
    pub address: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type detected from the content.
    pub mime: String,
    /// The uploaded file's name, if given.
    pub file_name: Option<String>,
    /// Text extraction state, as stores written before the state moved to the text kept it here: read only
    /// through [`Material::legacy_text`], `None` in every record written since (and then not stored).
    #[serde(rename = "text_status", default, skip_serializing_if = "Option::is_none")]
    pub legacy_text_status: Option<TextStatus>,
    /// Why extraction failed, as older stores kept it (see `legacy_text_status`).
    #[serde(rename = "text_error", default, skip_serializing_if = "Option::is_none")]
    pub legacy_text_error: Option<String>,
    /// Pages found in the file, as older stores kept them (see `legacy_text_status`).
    #[serde(rename = "detected_pages", default, skip_serializing_if = "Option::is_none")]
    pub legacy_detected_pages: Option<u32>,
    /// Created (Unix seconds) and by whom (username).
    pub created_at: i64,
    /// Who created it.
    pub created_by: String,
    /// Last change (Unix seconds).
    pub updated_at: i64,
    /// Who made the last change.
    pub updated_by: String,
    /// The digitization batch it was filed in, if any.
    #[serde(default)]
    pub batch_id: Option<super::ids::BatchId>,
    /// Destroyed by this (destruction) request: the bytes are gone, the catalogue entry stays in the register.
    #[serde(default)]
    pub destroyed_by: Option<super::ids::RequestId>,
    /// Received (收材) and waiting in the 待归档 queue: stored, but not yet filed into the catalogue (no 序号)
    /// until 归档 (docs/DOMAIN.md §2b). Absent (every older record): filed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_filing: bool,
    /// The page images it was filed from, in order (a scanned material; see [`super::page`]): its content is then
    /// one PDF assembled from them. Empty for every other material.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_images: Vec<super::page::PageImage>,
}

/// One immutable version of a material: the whole record as it was, with who changed it and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaterialVersion {
    /// Version number, from 1.
    pub number: u32,
    /// The material as it was at this version.
    pub material: Material,
    /// Who made it.
    pub author: String,
    /// When (Unix seconds).
    pub at: i64,
    /// Why (free text, or the request that caused it).
    pub reason: Option<String>,
}

/// Where the text of one content (one blob) stands: stored with the text, keyed by the blob address, never in a
/// material or a version. Filing writes `pending` (or `none` for a type that carries no text), the indexing lanes
/// `done`, `none` or `failed`; a content filed again keeps a `done` whose text is still stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextState {
    /// Extraction state.
    pub status: TextStatus,
    /// Why extraction failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Pages found in the file (PDF pages), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
}

impl TextState {
    /// A state without error or pages.
    pub fn of(status: TextStatus) -> Self {
        TextState { status, error: None, pages: None }
    }
}

/// A stored record ([`Material`], [`MaterialVersion`]) as shown: with the state of its content's text. The
/// service builds it (the record as stored, the state from the text's own record); it dereferences to the record.
#[derive(Clone, Debug, PartialEq)]
pub struct WithText<T> {
    /// The record as stored.
    pub record: T,
    /// Where its content's text stands.
    pub text: TextState,
}

impl<T> std::ops::Deref for WithText<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.record
    }
}

impl Material {
    /// The text state an older store kept in this record, if it did.
    pub fn legacy_text(&self) -> Option<TextState> {
        self.legacy_text_status.map(|status| TextState {
            status,
            error: self.legacy_text_error.clone(),
            pages: self.legacy_detected_pages,
        })
    }
}

impl MaterialMeta {
    /// Trims and bounds the free-text fields; returns a reason when a field is unusable.
    pub fn normalise(&mut self) -> Result<(), String> {
        self.title = self.title.trim().to_string();
        let title_len = self.title.chars().count();
        if title_len == 0 || title_len > 200 {
            return Err("title (材料名称) must be 1–200 characters".into());
        }
        if self.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err("note (备注) must be at most 2000 characters".into());
        }
        if self.pages.is_some_and(|p| p > 100_000) {
            return Err("pages (页数) is implausibly large".into());
        }
        if self.secrecy.is_some_and(|s| s > 3) {
            return Err("secrecy must be 0–3".into());
        }
        let mut tags: Vec<String> = Vec::new();
        for t in &self.tags {
            let t = t.trim().to_lowercase();
            if t.is_empty() || t.chars().count() > 40 {
                return Err("each tag must be 1–40 characters".into());
            }
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        if tags.len() > 20 {
            return Err("at most 20 tags".into());
        }
        self.tags = tags;
        for (field, text) in
            [("received_by", &mut self.received_by), ("copy_certified_by", &mut self.copy_certified_by)]
        {
            if let Some(t) = text {
                *t = t.trim().to_string();
                if t.chars().count() > 100 {
                    return Err(format!("{field} must be at most 100 characters"));
                }
            }
            if text.as_deref() == Some("") {
                *text = None;
            }
        }
        if self.copies.is_some_and(|c| c == 0 || c > 1000) {
            return Err("copies (份数) must be 1–1000".into());
        }
        if self.original == Some(true) && (self.copy_made_on.is_some() || self.copy_certified_by.is_some()) {
            return Err(
                "copy_made_on and copy_certified_by (复制时间, 核对人) belong to a copy (original: false)".into()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(status: Option<TextStatus>) -> Material {
        Material {
            id: MaterialId::new(),
            person_id: PersonId::new(),
            meta: MaterialMeta { category: "3".into(), title: "考核登记表".into(), ..MaterialMeta::default() },
            version: 1,
            content_hash: "ab".into(),
            address: "cd".into(),
            size: 3,
            mime: "text/plain".into(),
            file_name: None,
            legacy_text_status: status,
            legacy_text_error: None,
            legacy_detected_pages: None,
            created_at: 1,
            created_by: "hr".into(),
            updated_at: 1,
            updated_by: "hr".into(),
            batch_id: None,
            destroyed_by: None,
            awaiting_filing: false,
            page_images: Vec::new(),
        }
    }

    #[test]
    fn a_material_record_holds_no_text_status_and_an_older_one_still_reads_its_own() {
        // Written today: no status in the record (it is kept with the text), and it reads back equal.
        let m = stored(None);
        let json = serde_json::to_value(&m).unwrap();
        for field in ["text_status", "text_error", "detected_pages"] {
            assert!(json.get(field).is_none(), "{field} in {json}");
        }
        assert_eq!(serde_json::from_value::<Material>(json).unwrap(), m);
        assert_eq!(m.legacy_text(), None);

        // Written by an older version: the status, error and pages it carries are still read.
        let mut old = serde_json::to_value(stored(None)).unwrap();
        old["text_status"] = "failed".into();
        old["text_error"] = "unreadable".into();
        old["detected_pages"] = 2.into();
        let v = MaterialVersion {
            number: 1,
            material: serde_json::from_value(old.clone()).unwrap(),
            author: "hr".into(),
            at: 1,
            reason: None,
        };
        let v: MaterialVersion = serde_json::from_value(serde_json::to_value(&v).unwrap()).unwrap();
        let want = TextState { status: TextStatus::Failed, error: Some("unreadable".into()), pages: Some(2) };
        assert_eq!(v.material.legacy_text(), Some(want));
        // And written again (a catalogue change of the same content), it keeps them.
        assert_eq!(serde_json::to_value(&v.material).unwrap()["text_status"], "failed");
        old["text_error"] = serde_json::Value::Null;
        old["detected_pages"] = serde_json::Value::Null;
        let m: Material = serde_json::from_value(old).unwrap();
        assert_eq!(m.legacy_text(), Some(TextState::of(TextStatus::Failed)));
    }

    #[test]
    fn a_material_with_text_shows_the_record_and_the_state() {
        let shown =
            WithText { record: stored(None), text: TextState { pages: Some(4), ..TextState::of(TextStatus::Done) } };
        assert_eq!(
            (shown.meta.title.as_str(), shown.text.status, shown.text.pages),
            ("考核登记表", TextStatus::Done, Some(4))
        );
        assert_eq!(serde_json::to_value(&shown.text).unwrap(), serde_json::json!({"status": "done", "pages": 4}));
    }
}
