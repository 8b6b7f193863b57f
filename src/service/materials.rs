//! Reading materials: the record, the content (in memory, or streamed chunk by chunk when large), versions, and
//! full-text search (in [`super::search`]). Every read passes the gate ([`super::access`]) and is audited.
//!
//! Records and versions are answered as they are stored plus the state of their content's text ([`WithText`]):
//! that state is kept with the text, by blob address (`Table::TextStatus`), and never written into a version;
//! records of an older store that kept it in themselves show their own until the text lane records one
//! (`Materials::text_state`, `docs/DESIGN.md` §2).

use super::access::ReadPermit;
use super::grants::Grant;
use super::watermark;
use super::{Error, Materials, Principal, Result, version_key};
use crate::model::AuditAction;
use crate::model::consultation::GrantPermission;
use crate::model::policy::{Access, Capability};
use crate::model::{GrantId, Material, MaterialId, MaterialVersion, Person, PersonId, TextState, WithText};
use crate::store::{BlobAddress, BlobChunks, Table};
use zeroize::Zeroizing;

/// Downloads larger than this are streamed chunk by chunk ([`Materials::download`]).
pub const STREAM_FROM: u64 = 16 * 1024 * 1024;

/// A material's bytes on their way out.
pub enum Download {
    /// Read whole and verified.
    Whole(Zeroizing<Vec<u8>>),
    /// One chunk at a time.
    Chunks(Box<BlobChunks>),
    /// A watermarked copy made for a read under a consultation grant (the stored bytes stay as they are).
    Stamped(Zeroizing<Vec<u8>>),
}

/// The extracted text as the text lanes store it (only the text is read here).
#[derive(serde::Deserialize)]
struct StoredText {
    text: String,
}

impl Materials<'_> {
    // ---- materials -----------------------------------------------------------------------------------------

    pub(crate) fn load_material(&self, id: MaterialId) -> Result<Material> {
        self.store()
            .get(Table::Materials, id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("material {id} not found")))
    }

    /// Where the text of a material's content (or of one version's) stands: the state recorded with the text, by
    /// its blob address; where none is recorded (a record an older store wrote, before the state moved to the
    /// text), the state the record itself carries; else `pending`.
    pub(crate) fn text_state(&self, m: &Material) -> Result<TextState> {
        if let Ok(addr) = m.address.parse::<BlobAddress>()
            && let Some(state) = self.store().get::<TextState>(Table::TextStatus, addr.as_bytes())?
        {
            return Ok(state);
        }
        Ok(m.legacy_text().unwrap_or_default())
    }

    /// A material as shown: the record with its content's text state.
    pub(crate) fn with_text(&self, m: Material) -> Result<WithText<Material>> {
        Ok(WithText { text: self.text_state(&m)?, record: m })
    }

    /// A version as shown: the record as it was, with the text state of that version's content.
    pub(crate) fn version_with_text(&self, v: MaterialVersion) -> Result<WithText<MaterialVersion>> {
        Ok(WithText { text: self.text_state(&v.material)?, record: v })
    }

    pub(crate) fn material_ids_of(&self, person: PersonId) -> Result<Vec<MaterialId>> {
        Ok(self
            .store()
            .keys_under(Table::Dossiers, person.as_bytes())?
            .iter()
            .filter_map(|k| MaterialId::from_slice(&k[16..]))
            .collect())
    }

    /// Loads a material the caller may list (else 404); returns it with the grant the listing stands on, if any.
    fn listed(&self, p: &Principal, id: MaterialId) -> Result<(Material, Option<String>)> {
        let m = self.load_material(id)?;
        let person = self.persons().load_person(m.person_id)?;
        let grant = self.check_material(p, &person, &m, Access::List)?;
        Ok((m, grant.map(|g| format!("grant:{g}"))))
    }

    /// A destroyed material is 404 — saying it was destroyed only to a caller who may know it.
    fn refuse_destroyed(&self, p: &Principal, person: &Person, m: &Material) -> Result<()> {
        let Some(r) = m.destroyed_by else { return Ok(()) };
        self.check_material(p, person, m, Access::List)?;
        Err(Error::NotFound(format!("material {} was destroyed by request {r}", m.id)))
    }

    /// Checks the caller may download a material: may know it at all (else 404), may read it (else 403), and
    /// holds the download right — or, when the read stands on a consultation grant, the grant allows download
    /// (下载; else 403 rule grant.download). Returns the gate's permit to read its content.
    pub(crate) fn gated_download(
        &self,
        p: &Principal,
        id: MaterialId,
    ) -> Result<(Material, Option<String>, ReadPermit)> {
        let (m, grant, permit) = self.gated(p, id, GrantPermission::Download)?;
        Ok((m, grant.map(|g| format!("grant:{}", g.id)), permit))
    }

    /// Checks the caller may read a material for `what`: as [`Materials::gated_download`], but a read on a
    /// consultation grant needs that permission of the grant, and one on the policy needs the download right
    /// only for a download. Returns the grant the read stands on, if it is one.
    pub(crate) fn gated(
        &self,
        p: &Principal,
        id: MaterialId,
        what: GrantPermission,
    ) -> Result<(Material, Option<Grant>, ReadPermit)> {
        let m = self.load_material(id)?;
        let person = self.persons().load_person(m.person_id)?;
        self.refuse_destroyed(p, &person, &m)?;
        let (grant, permit) = self.check_read(p, &person, &m)?;
        let grant = match grant {
            None => {
                if what == GrantPermission::Download {
                    self.require(p, Capability::Download)?;
                }
                None
            }
            Some(gid) => {
                let g = self.active_grant(p, &person, Some(&m))?.filter(|g| g.id == gid);
                let g = g.ok_or_else(|| Error::NotFound(format!("material {id} not found")))?;
                if !g.allows(what) {
                    let (zh, en) = what.label();
                    return Err(Error::Forbidden(format!(
                        "rule grant.{en}: consultation grant {gid} does not allow {en} ({zh}); it allows {}",
                        g.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                }
                Some(g)
            }
        };
        Ok((m, grant, permit))
    }

    /// The stamped copy of content read under a grant, and the record as served (its type, name, size and hash
    /// those of the copy). A type that cannot carry a watermark is refused (403 rule grant.watermark).
    fn stamped(&self, p: &Principal, g: &Grant, m: &Material, bytes: &[u8]) -> Result<(Material, Zeroizing<Vec<u8>>)> {
        let text = watermark::stamp_text(&g.id.to_string(), &p.user.username, crate::model::now_ts());
        let out = match watermark::stamp(bytes, &m.mime, &text) {
            Ok(out) => out,
            Err(watermark::Unstampable::Type(t)) => {
                return Err(Error::Forbidden(format!(
                    "rule grant.watermark: a {t} cannot carry a watermark; under grant {} read its text on the viewer \
                     page (/materials/{}/view)",
                    g.id, m.id
                )));
            }
            Err(watermark::Unstampable::Damaged(why)) => {
                return Err(Error::Invalid {
                    message: format!("material {} cannot be stamped for reading under a grant: {why}", m.id),
                    findings: Vec::new(),
                });
            }
        };
        let mut served = m.clone();
        if out.mime == "application/pdf" && m.mime != "application/pdf" {
            served.file_name = Some(format!("{}.pdf", m.file_name.clone().unwrap_or_else(|| m.id.to_string())));
        }
        served.mime = out.mime.to_string();
        served.size = out.bytes.len() as u64;
        served.content_hash = self.store().keys().suite().hash_hex(&out.bytes);
        Ok((served, Zeroizing::new(out.bytes)))
    }

    /// What a read of `m`'s bytes serves: the bytes, or under a grant their stamped copy.
    fn served(
        &self,
        p: &Principal,
        grant: Option<&Grant>,
        m: Material,
        bytes: Zeroizing<Vec<u8>>,
    ) -> Result<(Material, Zeroizing<Vec<u8>>)> {
        match grant {
            None => Ok((m, bytes)),
            Some(g) => self.stamped(p, g, &m, &bytes),
        }
    }

    /// A material's current content to be viewed (阅): with the right to read it (a download right is not
    /// needed), and under a consultation grant a watermarked copy naming the reader, the time and the grant —
    /// for a type that cannot carry one (DOCX …), its extracted text, stamped. Audited as `material.view`.
    pub fn view(&self, p: &Principal, id: MaterialId) -> Result<(Material, Zeroizing<Vec<u8>>, Option<GrantId>)> {
        self.audited(p, AuditAction::MaterialView, &format!("material:{id}"), false, || {
            let (m, grant, permit) = self.gated(p, id, GrantPermission::View)?;
            let detail = grant.as_ref().map(|g| format!("grant:{}", g.id));
            let gid = grant.as_ref().map(|g| g.id);
            let bytes = self.read_content(&permit, &m)?;
            let stampable = watermark::can_stamp(&m.mime);
            match &grant {
                Some(g) if !stampable => {
                    let text = self.stored_text::<StoredText>(&permit, &m)?.map(|t| t.text).unwrap_or_default();
                    let mut as_text = m.clone();
                    as_text.mime = "text/plain".into();
                    as_text.file_name =
                        Some(format!("{}.txt", m.file_name.clone().unwrap_or_else(|| m.id.to_string())));
                    let (m, bytes) = self.stamped(p, g, &as_text, text.as_bytes())?;
                    Ok(((m, bytes, gid), detail))
                }
                _ => {
                    let (m, bytes) = self.served(p, grant.as_ref(), m, bytes)?;
                    Ok(((m, bytes, gid), detail))
                }
            }
        })
    }

    /// A material's metadata, with its text's state.
    pub fn get(&self, p: &Principal, id: MaterialId) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::MaterialReadMeta, &format!("material:{id}"), false, || {
            let (m, grant) = self.listed(p, id)?;
            Ok((self.with_text(m)?, grant))
        })
    }

    /// A material's current bytes, decrypted and verified.
    pub fn content(&self, p: &Principal, id: MaterialId) -> Result<(Material, Zeroizing<Vec<u8>>)> {
        self.audited(p, AuditAction::MaterialDownload, &format!("material:{id}"), false, || {
            let (m, grant, permit) = self.gated(p, id, GrantPermission::Download)?;
            let detail = grant.as_ref().map(|g| format!("grant:{}", g.id));
            let bytes = self.read_content(&permit, &m)?;
            Ok((self.served(p, grant.as_ref(), m, bytes)?, detail))
        })
    }

    /// A material's current bytes for a download: whole and verified when at most [`STREAM_FROM`] bytes (a
    /// damaged file is an error before anything is sent), else one chunk at a time ([`BlobChunks`]: each chunk
    /// authenticated as it is read, the whole checked after the last; a damaged one ends the stream early).
    pub fn download(&self, p: &Principal, id: MaterialId) -> Result<(Material, Download)> {
        self.audited(p, AuditAction::MaterialDownload, &format!("material:{id}"), false, || {
            let (m, grant, permit) = self.gated(p, id, GrantPermission::Download)?;
            if let Some(g) = &grant {
                let bytes = self.read_content(&permit, &m)?;
                let (served, stamped) = self.stamped(p, g, &m, &bytes)?;
                return Ok(((served, Download::Stamped(stamped)), Some(format!("grant:{}", g.id))));
            }
            let grant: Option<String> = None;
            let download = if m.size <= STREAM_FROM {
                Download::Whole(self.read_content(&permit, &m)?)
            } else {
                Download::Chunks(Box::new(self.content_chunks(&permit, &m)?))
            };
            Ok(((m, download), grant))
        })
    }

    /// Benchmarks only: the bytes of a material with no access check and no audit entry, to measure what the
    /// gate and the audit trail cost. Never called by the product.
    #[cfg(feature = "bench-internals")]
    pub fn bench_read_bypassing_gate_and_audit(&self, id: MaterialId) -> Result<Zeroizing<Vec<u8>>> {
        let m = self.load_material(id)?;
        self.read_content(&self.system_permit(&m, super::access::SystemRead::Benchmark), &m)
    }

    /// Benchmarks only: a material's bytes through the access gate but without the audit entry, to measure
    /// what the audit trail alone costs. Never called by the product.
    #[cfg(feature = "bench-internals")]
    pub fn bench_read_gated_without_audit(&self, p: &Principal, id: MaterialId) -> Result<Zeroizing<Vec<u8>>> {
        let (m, _, permit) = self.gated_download(p, id)?;
        self.read_content(&permit, &m)
    }

    /// A material's versions, oldest first, each with its content's text state.
    pub fn versions(&self, p: &Principal, id: MaterialId) -> Result<Vec<WithText<MaterialVersion>>> {
        self.audited(p, AuditAction::MaterialVersions, &format!("material:{id}"), false, || {
            let (_, grant) = self.listed(p, id)?;
            let versions = self
                .store()
                .scan::<MaterialVersion>(Table::MaterialVersions, id.as_bytes())?
                .into_iter()
                .map(|(_, v)| self.version_with_text(v))
                .collect::<Result<_>>()?;
            Ok((versions, grant))
        })
    }

    /// The bytes of one version of a material.
    pub fn version_content(
        &self,
        p: &Principal,
        id: MaterialId,
        n: u32,
    ) -> Result<(MaterialVersion, Zeroizing<Vec<u8>>)> {
        self.audited(p, AuditAction::MaterialDownload, &format!("material:{id}/v{n}"), false, || {
            let (_, grant, permit) = self.gated(p, id, GrantPermission::Download)?;
            let mut v: MaterialVersion = self
                .store()
                .get(Table::MaterialVersions, &version_key(id.as_bytes(), n))?
                .ok_or_else(|| Error::NotFound(format!("material {id} has no version {n}")))?;
            let bytes = self.read_content(&permit, &v.material)?;
            let (served, bytes) = self.served(p, grant.as_ref(), v.material.clone(), bytes)?;
            v.material = served;
            Ok(((v, bytes), grant.map(|g| format!("grant:{}", g.id))))
        })
    }
}

/// Keeps a file name's last path component, without control characters, at most 255 bytes.
pub fn sanitize_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut out: String = last.chars().filter(|c| !c.is_control()).collect();
    while out.len() > 255 {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7396() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        crate::model::request::merge_patch(&mut t, &json!({"a": null, "b": {"c": 9}, "e": [2, 3]}));
        assert_eq!(t, json!({"b": {"c": 9, "d": 3}, "e": [2, 3]}));
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("C:\\x\\合同.pdf"), "合同.pdf");
        assert_eq!(sanitize_file_name("a\u{0}b"), "ab");
    }
}
