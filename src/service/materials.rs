//! Reading materials: the record, the content (in memory, or streamed chunk by chunk when large), versions, and
//! full-text search (in [`super::search`]). Every read passes the gate ([`super::access`]) and is audited.
//!
//! Records and versions are answered as they are stored plus the state of their content's text ([`WithText`]):
//! that state is kept with the text, by blob address (`Table::TextStatus`), and never written into a version;
//! records of an older store that kept it in themselves show their own until the text lane records one
//! (`Materials::text_state`, `docs/DESIGN.md` §2).

use super::access::ReadPermit;
use super::{Error, Materials, Principal, Result, version_key};
use crate::model::AuditAction;
use crate::model::policy::{Access, Capability};
use crate::model::{Material, MaterialId, MaterialVersion, Person, PersonId, TextState, WithText};
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
    /// holds the download right — unless the read stands on a consultation grant, which needs none. Returns the
    /// gate's permit to read its content.
    pub(crate) fn gated_download(
        &self,
        p: &Principal,
        id: MaterialId,
    ) -> Result<(Material, Option<String>, ReadPermit)> {
        let m = self.load_material(id)?;
        let person = self.persons().load_person(m.person_id)?;
        self.refuse_destroyed(p, &person, &m)?;
        let (grant, permit) = self.check_read(p, &person, &m)?;
        if grant.is_none() {
            self.require(p, Capability::Download)?;
        }
        Ok((m, grant.map(|g| format!("grant:{g}")), permit))
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
            let (m, grant, permit) = self.gated_download(p, id)?;
            let bytes = self.read_content(&permit, &m)?;
            Ok(((m, bytes), grant))
        })
    }

    /// A material's current bytes for a download: whole and verified when at most [`STREAM_FROM`] bytes (a
    /// damaged file is an error before anything is sent), else one chunk at a time ([`BlobChunks`]: each chunk
    /// authenticated as it is read, the whole checked after the last; a damaged one ends the stream early).
    pub fn download(&self, p: &Principal, id: MaterialId) -> Result<(Material, Download)> {
        self.audited(p, AuditAction::MaterialDownload, &format!("material:{id}"), false, || {
            let (m, grant, permit) = self.gated_download(p, id)?;
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
            let (_, grant, permit) = self.gated_download(p, id)?;
            let v: MaterialVersion = self
                .store()
                .get(Table::MaterialVersions, &version_key(id.as_bytes(), n))?
                .ok_or_else(|| Error::NotFound(format!("material {id} has no version {n}")))?;
            let bytes = self.read_content(&permit, &v.material)?;
            Ok(((v, bytes), grant))
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
