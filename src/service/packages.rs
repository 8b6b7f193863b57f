//! Transfer packages (转递): a dossier leaves as a signed BagIt bag in a zip and arrives, verified, as a new
//! dossier with every material and every version byte for byte.
//!
//! Layout of the bag `dangan-<person id>/`:
//! `data/manifest.json` (the person record, every material's catalogue fields and versions with their SHA-256
//! and plain BLAKE3, the sender), `data/catalogue.csv` (under the national codes), `data/audit.json` (the audit
//! entries on the dossier and its materials), `data/materials/<material id>/v<n>.<ext>` (the bytes),
//! `bagit.txt`, `bag-info.txt`, `manifest-sha256.txt`, `tagmanifest-sha256.txt`, and `dangan-signature.txt`
//! (Ed25519, or SM2 under the 国密 suite, over the tag manifest, by the installation key `dangan keys show` prints).

use super::Packages;
use super::{Error, Principal, Result};
use crate::crypto::Suite;
use crate::exchange::bagit::{self, BagProblem, sha256_hex};
use crate::exchange::catalogue::{self, Column};
use crate::model::AuditAction;
use crate::model::policy::Capability;
use crate::model::{Finding, MaterialId, MaterialMeta, Person, PersonId};
use crate::store::Table;
use serde::{Deserialize, Serialize};

/// The package format this version writes and reads.
pub const FORMAT: &str = "dangan-package/1";

/// The manifest carried in `data/manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PackageManifest {
    /// [`FORMAT`].
    pub format: String,
    /// When the package was made (RFC 3339).
    pub created_at: String,
    /// The sending installation's public key (hex) and the account that exported.
    pub sender: Sender,
    /// The person record, whole.
    pub person: serde_json::Value,
    /// The dossier's materials, in catalogue order.
    pub materials: Vec<PackagedMaterial>,
}

/// Who sent a package.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sender {
    /// Public key (hex; Ed25519, or SM2 under the 国密 suite).
    pub key: String,
    /// The exporting account.
    pub user: String,
}

/// One material of a package.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PackagedMaterial {
    /// Its id at the sender.
    pub id: MaterialId,
    /// Catalogue fields (current).
    pub meta: MaterialMeta,
    /// Every version, oldest first.
    pub versions: Vec<PackagedVersion>,
}

/// One version's bytes in a package.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PackagedVersion {
    /// Version number at the sender.
    pub number: u32,
    /// Path under `data/`.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Media type.
    pub mime: String,
    /// Original file name.
    pub file_name: Option<String>,
    /// SHA-256 (hex).
    pub sha256: String,
    /// Plain BLAKE3 (hex): the content hash of a sender under the default suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// SM3 (hex): the content hash of a sender under the 国密 suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm3: Option<String>,
    /// Who made the version, when, why.
    pub author: String,
    /// RFC 3339.
    pub at: String,
    /// The reason given.
    pub reason: Option<String>,
}

impl PackagedVersion {
    /// Whether the content hashes the manifest gives (BLAKE3, SM3: at least one) are those of `bytes`.
    fn content_hashes_match(&self, bytes: &[u8]) -> bool {
        let checks = [(Suite::Default, &self.blake3), (Suite::Gm, &self.sm3)];
        checks.iter().any(|(_, h)| h.is_some())
            && checks
                .iter()
                .all(|(suite, h)| h.as_ref().is_none_or(|h| suite.hash_hex(bytes) == h.to_ascii_lowercase()))
    }
}

/// An exported package.
pub struct Package {
    /// The zip.
    pub bytes: Vec<u8>,
    /// Its file name.
    pub file_name: String,
    /// SHA-256 of the zip (hex), recorded in the audit trail and expected back in the receipt.
    pub sha256: String,
}

/// The receipt (回执) a receiver returns to the sender.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Receipt {
    /// SHA-256 of the package received (hex).
    pub package_sha256: String,
    /// The sender's key.
    pub sender_key: String,
    /// Whether the sender's key is among the trusted senders.
    pub sender_trusted: bool,
    /// The receiving installation's key.
    pub receiver_key: String,
    /// The receiving account.
    pub received_by: String,
    /// When (RFC 3339).
    pub received_at: String,
    /// The person's id at the sender and here.
    pub sender_person_id: String,
    /// The new dossier.
    pub person_id: PersonId,
    /// Materials and versions filed.
    pub materials: usize,
    /// Versions filed.
    pub versions: usize,
    /// Bytes filed.
    pub bytes: u64,
    /// The receiver's signature (hex; Ed25519 or SM2) over this receipt's compact JSON with this field empty.
    pub signature: String,
}

fn extension(mime: &str, file_name: Option<&str>) -> String {
    let from_name = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| (1..=5).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_alphanumeric()));
    from_name.unwrap_or_else(|| {
        match mime {
            "application/pdf" => "pdf",
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/tiff" => "tif",
            "text/plain" => "txt",
            "text/markdown" => "md",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
            _ => "bin",
        }
        .into()
    })
}

/// The refusal of a damaged package: 422 naming every file.
fn damaged(problems: Vec<BagProblem>) -> Error {
    let names: Vec<String> = problems.iter().map(|p| p.file.clone()).collect();
    Error::Invalid {
        message: format!("the package is damaged and was refused whole: {}", names.join(", ")),
        findings: problems.into_iter().map(|p| Finding::error(&p.file, p.problem)).collect(),
    }
}

impl Packages<'_> {
    /// The installation's package-signing public key (hex).
    pub fn signing_key_hex(&self) -> String {
        self.store().keys().signing_public_hex()
    }

    /// Exports a dossier as a signed BagIt package. Needs capability export and the right to read every
    /// material of the dossier (a package is complete or not made).
    pub fn export(&self, p: &Principal, person_id: PersonId) -> Result<Package> {
        self.audited(p, AuditAction::PersonExport, &format!("person:{person_id}"), false, || {
            self.require(p, Capability::Export)?;
            let person = self.persons().load_person(person_id)?;
            self.check_person(p, &person)?;
            let suite = self.store().keys().suite();
            let mut payload: Vec<(String, Vec<u8>)> = Vec::new();
            let mut materials = Vec::new();
            let mut rows = Vec::new();
            let mut objects = vec![format!("person:{person_id}")];
            for entry in self.persons().catalogue(p, person_id)? {
                let m = entry.material;
                if m.destroyed_by.is_some() {
                    continue;
                }
                // Every material must be readable by the exporter: the same gate as a download.
                let (_, _, permit) = self.materials().gated_download(p, m.id)?;
                objects.push(format!("material:{}", m.id));
                let mut versions = Vec::new();
                for (_, v) in
                    self.store().scan::<crate::model::MaterialVersion>(Table::MaterialVersions, m.id.as_bytes())?
                {
                    let bytes = self.read_content(&permit, &v.material)?;
                    let ext = extension(&v.material.mime, v.material.file_name.as_deref());
                    let path = format!("materials/{}/v{}.{ext}", m.id, v.number);
                    versions.push(PackagedVersion {
                        number: v.number,
                        path: path.clone(),
                        size: bytes.len() as u64,
                        mime: v.material.mime.clone(),
                        file_name: v.material.file_name.clone(),
                        sha256: sha256_hex(&bytes),
                        blake3: (suite == Suite::Default).then(|| v.material.content_hash.clone()),
                        sm3: (suite == Suite::Gm).then(|| v.material.content_hash.clone()),
                        author: v.author.clone(),
                        at: crate::model::ts_rfc3339(v.at),
                        reason: v.reason.clone(),
                    });
                    payload.push((path, bytes.to_vec()));
                }
                let current = versions.last().map(|v| v.path.clone()).unwrap_or_default();
                rows.push(vec![
                    (Column::IdNumber, person.id_number.clone().unwrap_or_default()),
                    (Column::Name, person.name.clone()),
                    // The national form (DOMAIN §2): 类别 by its code-table value, 形成时间 as YYYYMMDD.
                    (
                        Column::Category,
                        self.scheme().table_code(&m.meta.category).unwrap_or_else(|| m.meta.category.clone()),
                    ),
                    (Column::Order, entry.seq.to_string()),
                    (Column::Title, m.meta.title.clone()),
                    (Column::Pages, m.meta.pages.map(|n| n.to_string()).unwrap_or_default()),
                    (Column::FormedOn, m.meta.formed_on.map(|d| d.compact()).unwrap_or_default()),
                    (Column::Source, m.meta.source_unit.clone().unwrap_or_default()),
                    (Column::Copies, m.meta.copies.map(|n| n.to_string()).unwrap_or_default()),
                    (Column::ReceivedOn, m.meta.received_on.map(|d| d.to_string()).unwrap_or_default()),
                    (Column::Receiver, m.meta.received_by.clone().unwrap_or_default()),
                    (Column::Note, m.meta.note.clone().unwrap_or_default()),
                    (Column::File, current),
                ]);
                materials.push(PackagedMaterial { id: m.id, meta: m.meta.clone(), versions });
            }
            let audit = self.audit_entries_on(&objects)?;
            let manifest = PackageManifest {
                format: FORMAT.into(),
                created_at: crate::model::ts_rfc3339(crate::model::now_ts()),
                sender: Sender { key: self.signing_key_hex(), user: p.user.username.clone() },
                person: serde_json::to_value(&person).map_err(|e| Error::Internal(e.to_string()))?,
                materials,
            };
            let columns = [
                Column::IdNumber,
                Column::Name,
                Column::Category,
                Column::Order,
                Column::Title,
                Column::Pages,
                Column::FormedOn,
                Column::Source,
                // The receipt (收材登记, docs/DOMAIN.md §2b): E01Z124 份数, E01Z201 接收时间, E01Z207 接收人.
                Column::Copies,
                Column::ReceivedOn,
                Column::Receiver,
                Column::Note,
                Column::File,
            ];
            payload.push(("manifest.json".into(), json_bytes(&manifest)?));
            payload.push(("catalogue.csv".into(), catalogue::write_csv(&rows, &columns).into_bytes()));
            payload.push(("audit.json".into(), json_bytes(&audit)?));
            let keys = self.store().keys();
            let today = crate::model::today();
            let info = [
                ("Source-Organization", "dangan".to_string()),
                ("Bagging-Date", today.to_string()),
                ("External-Identifier", format!("person:{person_id}")),
                ("External-Description", format!("干部人事档案转递 · {} 件材料", manifest.materials.len())),
                ("Contact-Name", p.user.username.clone()),
                ("Dangan-Format", FORMAT.to_string()),
                ("Dangan-Sender-Key", keys.signing_public()),
            ];
            let root = format!("dangan-{person_id}");
            let bytes = bagit::write_zip(&root, &payload, &info, |tm| (keys.signing_public_hex(), keys.sign_hex(tm)))
                .map_err(|e| Error::Internal(format!("cannot write the package: {e}")))?;
            let sha256 = sha256_hex(&bytes);
            let detail = format!("package sha256:{sha256} materials:{}", manifest.materials.len());
            Ok((Package { bytes, file_name: format!("{root}.zip"), sha256 }, Some(detail)))
        })
    }

    /// A package made here from parts: the person record as given (a package of loose materials names the cadre
    /// only) and each material with one version, its catalogue under the national codes, signed with this
    /// installation's key. The demo's received package is made this way.
    pub(crate) fn build(
        &self,
        person: serde_json::Value,
        user: &str,
        materials: &[(MaterialMeta, Vec<u8>)],
    ) -> Result<Vec<u8>> {
        let suite = self.store().keys().suite();
        let text = |k: &str| person.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let mut payload = Vec::new();
        let (mut packaged, mut rows) = (Vec::new(), Vec::new());
        for (i, (meta, bytes)) in materials.iter().enumerate() {
            let id = MaterialId::new();
            let path = format!("materials/{id}/v1.txt");
            rows.push(vec![
                (Column::IdNumber, text("id_number")),
                (Column::Name, text("name")),
                (Column::Category, self.scheme().table_code(&meta.category).unwrap_or_else(|| meta.category.clone())),
                (Column::Order, (i + 1).to_string()),
                (Column::Title, meta.title.clone()),
                (Column::Pages, meta.pages.map(|n| n.to_string()).unwrap_or_default()),
                (Column::FormedOn, meta.formed_on.map(|d| d.compact()).unwrap_or_default()),
                (Column::File, path.clone()),
            ]);
            let hash = suite.hash_hex(bytes);
            packaged.push(PackagedMaterial {
                id,
                meta: meta.clone(),
                versions: vec![PackagedVersion {
                    number: 1,
                    path: path.clone(),
                    size: bytes.len() as u64,
                    mime: "text/plain".into(),
                    file_name: Some(format!("{}.txt", meta.title)),
                    sha256: sha256_hex(bytes),
                    blake3: (suite == Suite::Default).then(|| hash.clone()),
                    sm3: (suite == Suite::Gm).then_some(hash),
                    author: user.into(),
                    at: crate::model::ts_rfc3339(crate::model::now_ts()),
                    reason: None,
                }],
            });
            payload.push((path, bytes.clone()));
        }
        let manifest = PackageManifest {
            format: FORMAT.into(),
            created_at: crate::model::ts_rfc3339(crate::model::now_ts()),
            sender: Sender { key: self.signing_key_hex(), user: user.into() },
            person,
            materials: packaged,
        };
        let columns = [
            Column::IdNumber,
            Column::Name,
            Column::Category,
            Column::Order,
            Column::Title,
            Column::Pages,
            Column::FormedOn,
            Column::File,
        ];
        payload.push(("manifest.json".into(), json_bytes(&manifest)?));
        payload.push(("catalogue.csv".into(), catalogue::write_csv(&rows, &columns).into_bytes()));
        let keys = self.store().keys();
        let info = [("Source-Organization", "dangan".to_string()), ("Dangan-Format", FORMAT.to_string())];
        bagit::write_zip("dangan-loose", &payload, &info, |tm| (keys.signing_public_hex(), keys.sign_hex(tm)))
            .map_err(|e| Error::Internal(format!("cannot write the package: {e}")))
    }

    /// The audit entries on these objects, oldest first.
    fn audit_entries_on(&self, objects: &[String]) -> Result<Vec<super::audit::AuditEntry>> {
        self.audit_sync()?;
        let wanted: std::collections::HashSet<&str> = objects.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        self.for_each_audit_entry(|e| {
            if wanted.contains(e.event.object.as_str()) {
                out.push(e);
            }
        })?;
        Ok(out)
    }

    /// Receives a package: checks the zip, the bag (completeness, every SHA-256, the signature), the sender
    /// (against the trusted senders; an unknown one is refused unless `accept_unknown_sender`), every BLAKE3, then
    /// files a new dossier with every material and version. A damaged package is refused whole (422) naming each
    /// missing or altered file, before anything is written. Needs capabilities create-persons and upload.
    pub fn import(&self, p: &Principal, bytes: Vec<u8>, accept_unknown_sender: bool) -> Result<Receipt> {
        self.import_to(p, bytes, accept_unknown_sender, false)
    }

    /// [`Packages::import`], with `intake`: the materials are received into the 待归档 queue (received today by
    /// the caller; 份数 and 原件/复印件 as the package carries them) instead of filed (docs/DOMAIN.md §2b).
    pub fn import_to(
        &self,
        p: &Principal,
        bytes: Vec<u8>,
        accept_unknown_sender: bool,
        intake: bool,
    ) -> Result<Receipt> {
        let package_sha256 = sha256_hex(&bytes);
        self.audited(p, AuditAction::PackageImport, &format!("package:{package_sha256}"), false, || {
            self.require(p, Capability::CreatePersons)?;
            self.require(p, Capability::Upload)?;
            let verified = self.verify(bytes, accept_unknown_sender)?;
            let (receipt, detail) = self.file_new(p, &verified, intake)?;
            Ok((receipt, Some(detail)))
        })
    }

    /// Checks a package whole, writing nothing: the zip (bombs, unsafe paths), the bag (every listed file, none
    /// unlisted, every SHA-256), the signature, the sender (trusted, or `accept_unknown_sender`), the manifest's
    /// format and every content hash it gives. A damaged package is a 422 naming each file.
    pub(crate) fn verify(&self, bytes: Vec<u8>, accept_unknown_sender: bool) -> Result<Verified> {
        let sha256 = sha256_hex(&bytes);
        let size = bytes.len() as u64;
        let max = self.config().max_file_size;
        let mut zip = super::imports::open_zip(std::io::Cursor::new(bytes), max, "package", "package")?;
        let bag = bagit::verify_zip(&mut zip).map_err(damaged)?;
        let trusted = bag.signer == self.signing_key_hex() || self.config().trusted_senders.contains(&bag.signer);
        if !trusted && !accept_unknown_sender {
            return Err(Error::Forbidden(format!(
                "the package is signed by an unknown sender ({}); add the key to the trusted senders \
                 (DANGAN_TRUSTED_SENDERS) or accept it explicitly",
                crate::crypto::labelled_key(&bag.signer)
            )));
        }
        let manifest: PackageManifest =
            bag.payload.get("manifest.json").and_then(|b| serde_json::from_slice(b).ok()).ok_or_else(|| {
                damaged(vec![BagProblem {
                    file: "data/manifest.json".into(),
                    problem: "missing or not a dangan manifest".into(),
                }])
            })?;
        if manifest.format != FORMAT {
            return Err(Error::invalid("package", format!("unknown package format {:?}", manifest.format)));
        }
        // The manifest's own hashes must agree with the bytes too.
        let mut problems = Vec::new();
        for v in manifest.materials.iter().flat_map(|m| &m.versions) {
            match bag.payload.get(&v.path) {
                None => problems.push(BagProblem { file: format!("data/{}", v.path), problem: "missing".into() }),
                Some(b) if !v.content_hashes_match(b) || sha256_hex(b) != v.sha256 => problems.push(BagProblem {
                    file: format!("data/{}", v.path),
                    problem: "altered: its hash differs from manifest.json".into(),
                }),
                Some(_) => {}
            }
        }
        if !problems.is_empty() {
            return Err(damaged(problems));
        }
        Ok(Verified { sha256, size, bag, manifest, trusted })
    }

    /// Files a verified package as a new dossier (the person record as sent, every material and version). The
    /// caller has checked the principal may create persons and upload.
    pub(crate) fn file_new(&self, p: &Principal, v: &Verified, intake: bool) -> Result<(Receipt, String)> {
        let manifest = &v.manifest;
        // Contracts name the sender's material ids: filed without them, linked again once the materials
        // have their ids here.
        let mut record = manifest.person.clone();
        let linked = record
            .get_mut("contracts")
            .and_then(|c| c.as_array_mut())
            .filter(|cs| cs.iter().any(|c| c.get("material_id").is_some_and(|v| !v.is_null())))
            .map(std::mem::take);
        let person = self.persons().create(p, record)?.record;
        let mut here = std::collections::HashMap::new();
        let (mut materials, mut versions, mut total) = (0, 0, 0u64);
        for m in &manifest.materials {
            let Some((id, n, bytes)) = self.file_packaged(p, &person, v, m, intake)? else { continue };
            here.insert(m.id.to_string(), id.to_string());
            total += bytes;
            versions += n;
            materials += 1;
        }
        if let Some(mut contracts) = linked {
            for c in contracts.iter_mut().filter_map(|c| c.as_object_mut()) {
                match c.get("material_id").and_then(|v| v.as_str()).and_then(|id| here.get(id)) {
                    Some(id) => c.insert("material_id".into(), id.clone().into()),
                    None => c.remove("material_id"),
                };
            }
            let patch = serde_json::json!({ "contracts": contracts });
            // Filing what the sending archive already decided: not a change that needs a request.
            self.persons().patch_person_as(
                p,
                person.id,
                Some(person.version),
                patch,
                Some("转递: 合同链接到本地材料".into()),
                false,
            )?;
        }
        let receipt = self.receipt(p, v, person.id, materials, versions, total)?;
        let detail = format!(
            "person:{} sender:{} trusted:{} materials:{materials} versions:{versions}",
            person.id,
            crate::crypto::labelled_key(&v.bag.signer),
            v.trusted
        );
        Ok((receipt, detail))
    }

    /// Files one material of a verified package, every version, into a dossier (filed, or received into the
    /// 待归档 queue with `intake`): its id here, the versions and bytes filed. None for a material without a
    /// version. With `intake` the caller's right to receive it is checked here; otherwise the caller has checked
    /// it.
    pub(crate) fn file_packaged(
        &self,
        p: &Principal,
        person: &Person,
        v: &Verified,
        m: &PackagedMaterial,
        intake: bool,
    ) -> Result<Option<(MaterialId, usize, u64)>> {
        let Some((first, rest)) = m.versions.split_first() else { return Ok(None) };
        let b = v.bytes_of(&first.path)?;
        let meta = self.filing().checked_meta(m.meta.clone())?;
        let filed = if intake {
            // Received here, today, by the caller: the sender's receipt was its own (the rest travels).
            let meta = MaterialMeta { received_on: None, received_by: None, ..meta };
            let meta = self.intake().check_receiving(p, person, meta)?;
            self.filing().receive_material(p, person, meta, b, first.file_name.clone(), false)?
        } else {
            self.filing().file_material(p, person, meta, b, first.file_name.clone(), false, None)?
        };
        let (mut versions, mut total) = (1, b.len() as u64);
        let mut version = filed.version;
        for pv in rest {
            let b = v.bytes_of(&pv.path)?;
            let reason = Some(format!("转递: {}", pv.reason.clone().unwrap_or_else(|| format!("v{}", pv.number))));
            version = self.filing().replace(p, filed.id, Some(version), b, pv.file_name.clone(), reason)?.version;
            total += b.len() as u64;
            versions += 1;
        }
        Ok(Some((filed.id, versions, total)))
    }

    /// The signed receipt (回执) of a verified package filed into `person_id`.
    pub(crate) fn receipt(
        &self,
        p: &Principal,
        v: &Verified,
        person_id: PersonId,
        materials: usize,
        versions: usize,
        bytes: u64,
    ) -> Result<Receipt> {
        let mut receipt = Receipt {
            package_sha256: v.sha256.clone(),
            sender_key: v.bag.signer.clone(),
            sender_trusted: v.trusted,
            receiver_key: self.signing_key_hex(),
            received_by: p.user.username.clone(),
            received_at: crate::model::ts_rfc3339(crate::model::now_ts()),
            sender_person_id: v.sender_person_id(),
            person_id,
            materials,
            versions,
            bytes,
            signature: String::new(),
        };
        let unsigned = serde_json::to_vec(&receipt).map_err(|e| Error::Internal(e.to_string()))?;
        receipt.signature = self.store().keys().sign_hex(&unsigned);
        Ok(receipt)
    }
}

/// A package checked whole ([`Packages::verify`]): nothing of it is filed yet.
pub(crate) struct Verified {
    /// SHA-256 of the zip (hex).
    pub sha256: String,
    /// The zip's size.
    pub size: u64,
    /// The bag, its payload by path under `data/`.
    pub bag: bagit::VerifiedBag,
    /// `data/manifest.json`.
    pub manifest: PackageManifest,
    /// Whether the signer is this installation or among the trusted senders.
    pub trusted: bool,
}

impl Verified {
    /// The bytes of a payload file.
    pub fn bytes_of(&self, path: &str) -> Result<&[u8]> {
        self.bag
            .payload
            .get(path)
            .map(Vec::as_slice)
            .ok_or_else(|| Error::invalid("package", format!("data/{path} is missing")))
    }

    /// The person's id at the sender.
    pub fn sender_person_id(&self) -> String {
        self.manifest.person.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string()
    }
}

fn json_bytes<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(v).map_err(|e| Error::Internal(e.to_string()))
}
