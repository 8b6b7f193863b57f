//! Comparing two versions of a material (docs/DESIGN.md §5): their extracted texts, read through the gate
//! against the same check as downloading a version (`Materials::gated_download`), compared by
//! [`crate::model::diff`] paragraph by paragraph and, inside a changed paragraph, by jieba words. Every
//! comparison — and every refusal — is in the trail as `material.diff`.

use super::{Comparisons, Error, Result, version_key};
use crate::model::diff::{ParagraphDiff, changed, diff_texts};
use crate::model::{AuditAction, MaterialId, MaterialVersion, TextStatus};
use crate::service::Principal;
use crate::store::Table;

/// Two versions of a material compared.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VersionDiff {
    /// The material.
    pub material_id: MaterialId,
    /// The older side's version number.
    pub from: u32,
    /// The newer side's version number.
    pub to: u32,
    /// The paragraphs of both texts in order, each `equal`, `insert`, `delete` or `replace`.
    pub paragraphs: Vec<ParagraphDiff>,
    /// How many paragraphs are not `equal`.
    pub changed: usize,
}

/// The extracted text as the text lanes store it (only the text is read here).
#[derive(serde::Deserialize)]
struct StoredText {
    text: String,
}

impl Comparisons<'_> {
    /// The texts of versions `a` and `b` of a material compared. 404 when the caller may not know the material
    /// or a version does not exist, 403 when it may know but not read it (as for a version's bytes); 409 when a
    /// version's text is not extracted yet, 422 when it cannot be (extraction failed, or a type without text).
    pub fn diff(&self, p: &Principal, id: MaterialId, a: u32, b: u32) -> Result<VersionDiff> {
        self.audited(p, AuditAction::MaterialDiff, &format!("material:{id}/v{a}..v{b}"), false, || {
            // Comparing texts takes them away as text: under a consultation grant, 摘录 (excerpt).
            let (_, grant, permit) =
                self.materials().gated(p, id, crate::model::consultation::GrantPermission::Excerpt)?;
            let grant = grant.map(|g| format!("grant:{}", g.id));
            let current = self.materials().load_material(id)?;
            let mut texts = Vec::with_capacity(2);
            for n in [a, b] {
                let v: MaterialVersion = self
                    .store()
                    .get(Table::MaterialVersions, &version_key(id.as_bytes(), n))?
                    .ok_or_else(|| Error::NotFound(format!("material {id} has no version {n}")))?;
                let mut state = self.materials().text_state(&v.material)?;
                // The text lane reads a material's current content only: a version replaced before the lane came
                // to it would stay pending for ever. Its text is extracted now, as the lane would have.
                if state.status == TextStatus::Pending && v.material.address != current.address {
                    self.indexing().settle_superseded(&v.material)?;
                    state = self.materials().text_state(&v.material)?;
                }
                let unreadable = |why: &str| Error::Invalid {
                    message: format!("the text of version {n} of material {id} {why}"),
                    findings: Vec::new(),
                };
                match state.status {
                    TextStatus::Done => {}
                    TextStatus::Pending => {
                        return Err(Error::Conflict(format!(
                            "the text of version {n} of material {id} is still being extracted; try again shortly"
                        )));
                    }
                    TextStatus::Failed => {
                        return Err(unreadable(&format!(
                            "could not be extracted ({})",
                            state.error.as_deref().unwrap_or("no reason recorded")
                        )));
                    }
                    TextStatus::None => return Err(unreadable("does not exist: its type carries no text")),
                }
                let text = self.stored_text::<StoredText>(&permit, &v.material)?.map(|t| t.text).unwrap_or_default();
                texts.push(text);
            }
            let index = self.index();
            let cut = |s: &str| index.cut_words(s).into_iter().map(str::to_string).collect::<Vec<_>>();
            let paragraphs = diff_texts(&texts[0], &texts[1], &cut);
            let changed = changed(&paragraphs);
            Ok((VersionDiff { material_id: id, from: a, to: b, paragraphs, changed }, grant))
        })
    }
}
