//! Consultation grants (查(借)阅, docs/DOMAIN.md §4c): a consultation names the consulting unit (查阅单位), the
//! readers (named accounts; two by default, `Config::consultation_readers`), the purpose, the period, the
//! permissions asked for (阅, 摘录, 复制, 下载, 打印) and an uploaded letter of introduction (介绍信, sealed like a
//! material's bytes, not a material of the dossier). Those with 干部管理权限 over the cadre approve it
//! (`model::consultation::Authority`: per department and rank, leaders by default) — never an administrator
//! (三员分立), the requester, a reader, or anyone barred from the dossier. Access ends at expiry or revocation;
//! only the named readers read under it, and every read names the grant in the audit trail.

use super::Grants;
use super::access::{forbidden, person_target};
use super::{Archive, Error, Principal, Result};
use crate::model::AuditAction;
use crate::model::consultation::GrantPermission;
use crate::model::policy::Capability;
use crate::model::{GrantId, Material, MaterialId, Person, PersonId, Role, now_ts};
use crate::store::Table;
use serde::{Deserialize, Serialize};

/// Where a grant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantState {
    /// Asked for, not decided.
    Requested,
    /// Granted (active between `from` and `until`).
    Granted,
    /// Refused.
    Refused,
    /// Revoked before expiry.
    Revoked,
}

/// The letter of introduction (介绍信) of a consultation: its bytes are sealed in the store like a material's,
/// referenced by the grant only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Letter {
    /// The file name as uploaded.
    pub file_name: Option<String>,
    /// The type, sniffed from the content.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// The content hash (BLAKE3 or SM3, hex).
    pub content_hash: String,
    /// The blob address (the keyed hash the store files it under): stored, never answered ([`Grant::public`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// Uploaded at (Unix seconds).
    pub uploaded_at: i64,
}

fn legacy_permissions() -> Vec<GrantPermission> {
    // A grant recorded before permissions existed allowed reading and downloading.
    vec![GrantPermission::View, GrantPermission::Download]
}

/// A consultation grant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Grant {
    /// Id.
    pub id: GrantId,
    /// Who asked (username).
    pub requester: String,
    /// The dossier.
    pub person_id: PersonId,
    /// Only these materials; the whole dossier when absent.
    pub material_ids: Option<Vec<MaterialId>>,
    /// Why.
    pub purpose: String,
    /// From (Unix seconds).
    pub from: i64,
    /// Until (Unix seconds).
    pub until: i64,
    /// State.
    pub state: GrantState,
    /// Who decided or revoked.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<i64>,
    /// The decider's comment.
    pub comment: Option<String>,
    /// Asked at.
    pub created_at: i64,
    /// 查阅单位: the consulting unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// The readers (usernames): only they read under the grant. Empty on a grant recorded before readers
    /// existed: its requester reads.
    #[serde(default)]
    pub readers: Vec<String>,
    /// What the grant allows; `view` always.
    #[serde(default = "legacy_permissions")]
    pub permissions: Vec<GrantPermission>,
    /// The letter of introduction, once uploaded.
    #[serde(default)]
    pub letter: Option<Letter>,
    /// Who has the authority to approve it (an assignee: `leader:1`, `head:person`, `role:…`), fixed when asked.
    #[serde(default)]
    pub approver: Option<String>,
}

/// A request for a grant.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// The dossier.
    pub person_id: PersonId,
    /// Only these materials.
    #[serde(default)]
    pub material_ids: Option<Vec<MaterialId>>,
    /// Why (required).
    pub purpose: String,
    /// Start (`YYYY-MM-DD`; default now).
    #[serde(default)]
    pub from: Option<crate::model::PartialDate>,
    /// End (`YYYY-MM-DD`, inclusive).
    pub until: crate::model::PartialDate,
    /// 查阅单位 (required).
    #[serde(default)]
    pub unit: String,
    /// The readers' usernames (at least `Config::consultation_readers`).
    #[serde(default)]
    pub readers: Vec<String>,
    /// The permissions asked for (`view` is always included).
    #[serde(default)]
    pub permissions: Vec<GrantPermission>,
}

impl Grant {
    /// Whether it gives access now.
    pub fn active(&self, now: i64) -> bool {
        self.state == GrantState::Granted && self.from <= now && now < self.until
    }

    /// The grant as answers show it: the letter's blob address left out (addresses never leave the archive).
    pub fn public(mut self) -> Grant {
        if let Some(l) = &mut self.letter {
            l.address.clear();
        }
        self
    }

    /// Whether it allows this.
    pub fn allows(&self, what: GrantPermission) -> bool {
        what == GrantPermission::View || self.permissions.contains(&what)
    }

    /// Whether this account reads under it.
    pub fn names_reader(&self, username: &str) -> bool {
        if self.readers.is_empty() { self.requester == username } else { self.readers.iter().any(|r| r == username) }
    }

    fn covers(&self, person: PersonId, material: Option<&Material>) -> bool {
        self.person_id == person
            && match (material, &self.material_ids) {
                (_, None) => true,
                (Some(m), Some(ids)) => ids.contains(&m.id),
                (None, Some(_)) => true,
            }
    }
}

fn ts(d: time::Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp()
}

/// The letter's largest size.
pub const LETTER_MAX: usize = 20 * 1024 * 1024;

/// The type of a letter of introduction: a PDF, JPEG or PNG of at most [`LETTER_MAX`] bytes (else 422 `letter`).
fn letter_mime(bytes: &[u8], file_name: Option<&str>) -> Result<String> {
    if bytes.is_empty() || bytes.len() > LETTER_MAX {
        return Err(Error::invalid("letter", "the 介绍信 is a file of 1 byte to 20 MiB"));
    }
    let mime = crate::extract::sniff_mime(bytes, file_name);
    if !["application/pdf", "image/jpeg", "image/png"].contains(&mime.as_str()) {
        return Err(Error::invalid("letter", format!("the 介绍信 is a PDF, JPEG or PNG scan, not {mime}")));
    }
    Ok(mime)
}

/// Whether `p` is the approver an assignee names for this dossier (`leader:<n>`, `head:person`, `role:<role>`).
pub(super) fn is_authority(p: &Principal, approver: &str, person: &Person) -> bool {
    let s = &p.subject;
    if s.roles.iter().any(|r| r.is_administrator()) {
        return false;
    }
    match approver.split_once(':') {
        Some(("leader", n)) => s.roles.contains(&Role::Leader) && n.parse::<u8>().ok() == p.user.leader_level,
        Some(("head", "person")) => {
            s.roles.contains(&Role::Head) && s.department.as_deref() == Some(person.department.as_str())
        }
        Some(("role", r)) => Role::parse(r).is_some_and(|r| !r.is_administrator() && s.roles.contains(&r)),
        _ => false,
    }
}

impl Grants<'_> {
    fn load_grant(&self, id: GrantId) -> Result<Grant> {
        self.store().get(Table::Grants, id.as_bytes())?.ok_or_else(|| Error::NotFound(format!("grant {id} not found")))
    }

    fn load_person_of(&self, g: &Grant) -> Result<Person> {
        self.store()
            .get(Table::Persons, g.person_id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("person {} not found", g.person_id)))
    }

    /// The approver of a consultation of this dossier (干部管理权限).
    fn approver_of(&self, g: &Grant, person: &Person) -> String {
        g.approver.clone().unwrap_or_else(|| {
            self.config().consultation_authority.approver_for(&person.department, person.rank.as_deref())
        })
    }

    /// Asks for a grant. A refusal is audited like the grant itself.
    pub fn request(&self, p: &Principal, req: GrantRequest) -> Result<Grant> {
        let object = format!("person:{}", req.person_id);
        self.audited(p, AuditAction::GrantRequest, &object, true, || Ok((self.request_inner(p, req)?, None)))
    }

    /// The readers, checked: distinct enabled business accounts, as many as the configuration asks, none
    /// barred from the dossier.
    fn checked_readers(&self, readers: &[String], person: &Person) -> Result<Vec<String>> {
        let min = self.config().consultation_readers.max(1);
        let mut out: Vec<String> = Vec::new();
        for r in readers {
            let r = r.trim();
            if r.is_empty() {
                continue;
            }
            if out.iter().any(|o| o == r) {
                return Err(Error::invalid("readers", format!("reader {r} is named twice")));
            }
            out.push(r.to_string());
        }
        if out.len() < min || out.len() > 10 {
            return Err(Error::invalid(
                "readers",
                format!("name {min}–10 readers (查阅档案应当{min}人以上); {} named", out.len()),
            ));
        }
        for r in &out {
            let user = self
                .accounts()
                .user_by_name(r)?
                .filter(|u| !u.disabled)
                .ok_or_else(|| Error::invalid("readers", format!("reader {r} is not an enabled account")))?;
            if user.roles.iter().any(|role| role.is_administrator()) {
                return Err(Error::invalid(
                    "readers",
                    format!("rule consultation.reader: {r} is an administrator, who reads no dossier (三员分立)"),
                ));
            }
            let subject = self.subject_for(&user)?;
            if let Some(hard) = self.policy().hard_rules(&subject, &person_target(person)) {
                return Err(Error::Forbidden(format!("rule {}: reader {r}: {}", hard.rule, hard.reason)));
            }
        }
        Ok(out)
    }

    fn request_inner(&self, p: &Principal, req: GrantRequest) -> Result<Grant> {
        let purpose = req.purpose.trim().to_string();
        if purpose.chars().count() < 2 || purpose.chars().count() > 500 {
            return Err(Error::invalid("purpose", "state the purpose of the consultation (2–500 characters)"));
        }
        let unit = req.unit.trim().to_string();
        if unit.chars().count() < 2 || unit.chars().count() > 100 || unit.chars().any(char::is_control) {
            return Err(Error::invalid("unit", "name the consulting unit (查阅单位, 2–100 characters)"));
        }
        let person: Person = self
            .store()
            .get(Table::Persons, req.person_id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("person {} not found", req.person_id)))?;
        if let Some(hard) = self.policy().hard_rules(&p.subject, &person_target(&person)) {
            return Err(forbidden(&hard));
        }
        let readers = self.checked_readers(&req.readers, &person)?;
        let mut permissions = req.permissions;
        permissions.push(GrantPermission::View);
        permissions.sort();
        permissions.dedup();
        let now = now_ts();
        let from = req.from.map(|d| ts(d.first_day())).unwrap_or(now);
        let until = ts(req.until.last_day()) + 86_400;
        if until <= now || until <= from {
            return Err(Error::invalid("until", "the period must end after it starts and in the future"));
        }
        if until - from > 366 * 86_400 {
            return Err(Error::invalid("until", "a consultation grant lasts at most a year"));
        }
        if let Some(ids) = &req.material_ids {
            if ids.is_empty() || ids.len() > 500 {
                return Err(Error::invalid(
                    "material_ids",
                    "list 1–500 materials, or leave it out for the whole dossier",
                ));
            }
            let own: Vec<MaterialId> = self.materials().material_ids_of(person.id)?;
            if let Some(bad) = ids.iter().find(|i| !own.contains(i)) {
                return Err(Error::invalid("material_ids", format!("material {bad} is not in this dossier")));
            }
        }
        let approver = self.config().consultation_authority.approver_for(&person.department, person.rank.as_deref());
        let g = Grant {
            id: GrantId::new(),
            requester: p.user.username.clone(),
            person_id: person.id,
            material_ids: req.material_ids,
            purpose,
            from,
            until,
            state: GrantState::Requested,
            decided_by: None,
            decided_at: None,
            comment: None,
            created_at: now,
            unit: Some(unit),
            readers,
            permissions,
            letter: None,
            approver: Some(approver),
        };
        let mut ws = self.store().write_set();
        ws.put(Table::Grants, g.id.as_bytes().to_vec(), &g)?;
        self.commit_audited(
            ws,
            p,
            AuditAction::GrantRequest,
            &format!("grant:{}", g.id),
            Some(format!("person:{}", person.id)),
        )?;
        Ok(g)
    }

    /// Asks for a grant with its letter of introduction in one go (the web form): the letter is checked first,
    /// so a wrong file asks for nothing.
    pub fn request_with_letter(
        &self,
        p: &Principal,
        req: GrantRequest,
        letter: &[u8],
        file_name: Option<String>,
    ) -> Result<Grant> {
        letter_mime(letter, file_name.as_deref())?;
        let g = self.request(p, req)?;
        self.attach_letter(p, g.id, letter, file_name)
    }

    /// Uploads the letter of introduction (介绍信) of a requested grant: its requester only, before the decision;
    /// a PDF, JPEG or PNG of at most 20 MiB, sealed in the store. Audited.
    pub fn attach_letter(&self, p: &Principal, id: GrantId, bytes: &[u8], file_name: Option<String>) -> Result<Grant> {
        self.audited(p, AuditAction::GrantLetter, &format!("grant:{id}"), true, || {
            let mime = letter_mime(bytes, file_name.as_deref())?;
            let prepared = self.store().prepare_blob(bytes)?;
            let _guard = self.lock();
            let mut g = self.load_grant(id)?;
            if g.requester != p.user.username {
                return Err(Error::NotFound(format!("grant {id} not found")));
            }
            if g.state != GrantState::Requested {
                return Err(Error::Conflict(format!("grant {id} was already decided; its 介绍信 is kept as it was")));
            }
            let mut ws = self.store().write_set();
            if let Some(old) = &g.letter {
                let a = old.address.parse().map_err(|_| Error::Corrupt(format!("bad address {}", old.address)))?;
                self.store().stage_blob_unref(&mut ws, &a, 1)?;
            }
            g.letter = Some(Letter {
                file_name: file_name.map(|n| super::materials::sanitize_file_name(&n)),
                mime,
                size: bytes.len() as u64,
                content_hash: prepared.plain_hash.clone(),
                address: prepared.address.to_string(),
                uploaded_at: now_ts(),
            });
            self.store().stage_blob_ref(&mut ws, prepared, bytes)?;
            ws.put(Table::Grants, g.id.as_bytes().to_vec(), &g)?;
            self.commit_audited(ws, p, AuditAction::GrantLetter, &format!("grant:{id}"), None)?;
            Ok((g, None))
        })
    }

    /// The letter of introduction: for the approving authority, the decider and the auditor only. Audited.
    pub fn letter(&self, p: &Principal, id: GrantId) -> Result<(Letter, zeroize::Zeroizing<Vec<u8>>)> {
        self.audited(p, AuditAction::GrantLetterRead, &format!("grant:{id}"), false, || {
            let g = self.load_grant(id)?;
            let person = self.load_person_of(&g)?;
            let bytes = self.read_letter(p, &g, &self.approver_of(&g, &person), &person)?;
            let letter = g.letter.clone().ok_or_else(|| Error::NotFound(format!("grant {id} has no 介绍信")))?;
            Ok(((letter, bytes), None))
        })
    }

    /// Grants (`approve`) or refuses (`reject`) a requested grant: those with 干部管理权限 over the cadre (the
    /// authority fixed when it was asked); never an administrator, the requester, a reader, nor anyone barred
    /// from the dossier (own, a relative's). Approval needs the 介绍信. A refusal is audited like the decision.
    pub fn decide(&self, p: &Principal, id: GrantId, approve: bool, comment: Option<String>) -> Result<Grant> {
        let action = if approve { AuditAction::GrantApprove } else { AuditAction::GrantRefuse };
        self.audited(p, action, &format!("grant:{id}"), true, || {
            Ok((self.decide_inner(p, id, approve, comment)?, None))
        })
    }

    fn decide_inner(&self, p: &Principal, id: GrantId, approve: bool, comment: Option<String>) -> Result<Grant> {
        let _guard = self.lock();
        let mut g = self.load_grant(id)?;
        let person = self.load_person_of(&g)?;
        if p.subject.roles.iter().any(|r| r.is_administrator()) {
            return Err(Error::Forbidden(
                "rule consultation.authority: an administrator does not decide business access (三员分立: the \
                 security administrator manages rights; consultations are approved by those with 干部管理权限)"
                    .into(),
            ));
        }
        if g.requester == p.user.username {
            return Err(Error::Forbidden("rule hard.own-request: nobody decides their own request".into()));
        }
        if let Some(hard) = self.policy().hard_rules(&p.subject, &person_target(&person)) {
            return Err(forbidden(&hard));
        }
        if g.names_reader(&p.user.username) {
            return Err(Error::Forbidden(format!(
                "rule hard.four-eyes: {} is a reader of grant {id} and does not approve it",
                p.user.username
            )));
        }
        let approver = self.approver_of(&g, &person);
        if !is_authority(p, &approver, &person) {
            return Err(Error::Forbidden(format!(
                "rule consultation.authority: consultations of this dossier are approved by {approver} (干部管理权限)"
            )));
        }
        if g.state != GrantState::Requested {
            return Err(Error::Conflict(format!("grant {id} was already decided")));
        }
        if approve && g.letter.is_none() && !g.readers.is_empty() {
            return Err(Error::invalid("letter", "upload the 介绍信 (letter of introduction) before it is approved"));
        }
        g.state = if approve { GrantState::Granted } else { GrantState::Refused };
        g.decided_by = Some(p.user.username.clone());
        g.decided_at = Some(now_ts());
        g.comment = comment.map(|c| c.chars().take(500).collect());
        let mut ws = self.store().write_set();
        ws.put(Table::Grants, g.id.as_bytes().to_vec(), &g)?;
        let action = if approve { AuditAction::GrantApprove } else { AuditAction::GrantRefuse };
        self.commit_audited(ws, p, action, &format!("grant:{id}"), Some(format!("person:{}", g.person_id)))?;
        Ok(g)
    }

    /// Revokes a grant before it expires: the approving authority, or the security administrator (who manages
    /// rights and may always take one away). A refusal is audited like the revocation itself.
    pub fn revoke(&self, p: &Principal, id: GrantId) -> Result<Grant> {
        self.audited(p, AuditAction::GrantRevoke, &format!("grant:{id}"), true, || {
            Ok((self.revoke_inner(p, id)?, None))
        })
    }

    fn revoke_inner(&self, p: &Principal, id: GrantId) -> Result<Grant> {
        let _guard = self.lock();
        let mut g = self.load_grant(id)?;
        let person = self.load_person_of(&g)?;
        if !is_authority(p, &self.approver_of(&g, &person), &person) {
            self.require(p, Capability::DecideGrants)?;
        }
        if g.state != GrantState::Granted {
            return Err(Error::Conflict(format!("grant {id} is not in force")));
        }
        g.state = GrantState::Revoked;
        g.decided_by = Some(p.user.username.clone());
        g.decided_at = Some(now_ts());
        let mut ws = self.store().write_set();
        ws.put(Table::Grants, g.id.as_bytes().to_vec(), &g)?;
        self.commit_audited(ws, p, AuditAction::GrantRevoke, &format!("grant:{id}"), None)?;
        Ok(g)
    }

    /// Grants the caller may see: those they asked for or read under, those they have the authority to decide,
    /// all for the security administrator and leaders (capability decide_grants) — but never one about the
    /// caller's own or a recorded relative's dossier. The listing is recorded in the audit trail.
    pub fn list(&self, p: &Principal) -> Result<Vec<Grant>> {
        self.audited(p, AuditAction::GrantList, "grants", false, || {
            let mut v = Vec::new();
            for g in self.all_grants()? {
                if self.may_see_grant(p, &g)? {
                    v.push(g);
                }
            }
            v.sort_by_key(|g| std::cmp::Reverse(g.created_at));
            Ok((v, None))
        })
    }

    /// One grant (as [`Grants::list`] shows it), recorded in the audit trail.
    pub fn get(&self, p: &Principal, id: GrantId) -> Result<Grant> {
        self.audited(p, AuditAction::GrantRead, &format!("grant:{id}"), false, || {
            let g = self.load_grant(id)?;
            if !self.may_see_grant(p, &g)? {
                return Err(Error::NotFound(format!("grant {id} not found")));
            }
            Ok((g, None))
        })
    }

    /// Whether the caller may decide this grant now (for the pages' buttons): no error, no audit.
    pub fn may_decide(&self, p: &Principal, g: &Grant) -> bool {
        let Ok(person) = self.load_person_of(g) else { return false };
        g.requester != p.user.username
            && !g.names_reader(&p.user.username)
            && is_authority(p, &self.approver_of(g, &person), &person)
            && self.policy().hard_rules(&p.subject, &person_target(&person)).is_none()
    }

    fn may_see_grant(&self, p: &Principal, g: &Grant) -> Result<bool> {
        let person: Option<Person> = self.store().get(Table::Persons, g.person_id.as_bytes())?;
        let Some(person) = person else { return Ok(false) };
        if self.policy().hard_rules(&p.subject, &person_target(&person)).is_some() {
            return Ok(false);
        }
        Ok(g.requester == p.user.username
            || g.names_reader(&p.user.username)
            || self.policy().capability(&p.subject, Capability::DecideGrants).allowed
            || is_authority(p, &self.approver_of(g, &person), &person))
    }
}

impl super::Reports<'_> {
    /// Whether the caller may see the 查阅登记: HR and the auditor.
    pub(crate) fn may_see_consultations(&self, p: &Principal) -> bool {
        p.subject.roles.contains(&Role::Hr) || self.policy().capability(&p.subject, Capability::ReadAudit).allowed
    }

    /// 查阅登记: every consultation with its unit, readers, purpose, permissions, approver, period and state, and
    /// what was read under it (the audit trail's reads that name the grant). Dossiers by id only (the auditor
    /// sees no personal data); none about the caller's own or a relative's dossier. HR and the auditor.
    pub(crate) fn consultations(&self, p: &Principal) -> Result<super::reports::ReportTable> {
        self.audited(p, AuditAction::ReportConsultations, "grants", false, || {
            if !self.may_see_consultations(p) {
                return Err(Error::Forbidden(
                    "rule report.consultations: the 查阅登记 is for hr and the auditor".into(),
                ));
            }
            let mut reads: std::collections::HashMap<String, Vec<String>> = Default::default();
            self.for_each_audit_entry(|e| {
                let read = [AuditAction::MaterialDownload, AuditAction::MaterialView, AuditAction::MaterialDiff]
                    .iter()
                    .any(|a| a.as_str() == e.event.action);
                if read && let Some(g) = e.event.detail.as_deref().and_then(|d| d.strip_prefix("grant:")) {
                    reads.entry(g.to_string()).or_default().push(format!(
                        "{} {} {} {}",
                        crate::model::ts_rfc3339(e.at / 1000),
                        e.event.actor,
                        e.event.action,
                        e.event.object
                    ));
                }
            })?;
            let mut grants = self.all_grants()?;
            grants.sort_by_key(|g| g.created_at);
            let mut rows = Vec::new();
            for g in grants {
                let person: Option<Person> = self.store().get(Table::Persons, g.person_id.as_bytes())?;
                if person.is_some_and(|x| self.policy().hard_rules(&p.subject, &person_target(&x)).is_some()) {
                    continue;
                }
                let day = |t: i64| crate::model::ts_rfc3339(t).get(..10).unwrap_or_default().to_string();
                let read = reads.remove(&g.id.to_string()).unwrap_or_default();
                rows.push(vec![
                    g.id.to_string().into(),
                    g.person_id.to_string().into(),
                    g.unit.clone().unwrap_or_default().into(),
                    (if g.readers.is_empty() { g.requester.clone() } else { g.readers.join(", ") }).into(),
                    g.purpose.clone().into(),
                    g.permissions.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ").into(),
                    g.approver.clone().unwrap_or_default().into(),
                    g.decided_by.clone().unwrap_or_default().into(),
                    format!("{} – {}", day(g.from), day(g.until - 1)).into(),
                    format!("{:?}", g.state).to_lowercase().into(),
                    (read.len() as u64).into(),
                    read.join("; ").into(),
                ]);
            }
            let columns = [
                "grant",
                "person_id",
                "unit",
                "readers",
                "purpose",
                "permissions",
                "approver",
                "decided_by",
                "period",
                "state",
                "reads",
                "read",
            ];
            let table = super::reports::ReportTable {
                name: crate::model::ReportKind::Consultations.as_str().into(),
                columns: columns.map(String::from).to_vec(),
                rows,
            };
            Ok((table, None))
        })
    }
}

impl Archive {
    pub(crate) fn all_grants(&self) -> Result<Vec<Grant>> {
        Ok(self.store().scan::<Grant>(Table::Grants, b"")?.into_iter().map(|(_, g)| g).collect())
    }

    /// The grants in force now that name the caller as a reader. An administrator reads under none.
    pub(crate) fn active_grants_of(&self, p: &Principal) -> Result<Vec<Grant>> {
        if p.subject.roles.iter().any(|r| r.is_administrator()) || p.user.roles.iter().any(|r| r.is_administrator()) {
            return Ok(Vec::new());
        }
        let now = now_ts();
        Ok(self.all_grants()?.into_iter().filter(|g| g.names_reader(&p.user.username) && g.active(now)).collect())
    }

    /// An active grant of the caller covering this dossier (and material).
    pub(crate) fn active_grant(&self, p: &Principal, person: &Person, m: Option<&Material>) -> Result<Option<Grant>> {
        Ok(self.active_grants_of(p)?.into_iter().find(|g| g.covers(person.id, m)))
    }
}

#[cfg(test)]
mod tests {
    use super::{GrantRequest, GrantState};
    use crate::model::consultation::GrantPermission;
    use crate::model::{MaterialId, PartialDate, PersonId, Role};
    use crate::service::Error;
    use crate::service::testing::{self, account, denial, file_text, is_not_found, leader, meta};

    /// A consultation read by `legal` and `legal2` (created here when missing), with the download right.
    fn ask(person: PersonId, materials: Option<Vec<MaterialId>>) -> GrantRequest {
        let until = crate::model::today() + time::Duration::days(30);
        GrantRequest {
            person_id: person,
            material_ids: materials,
            purpose: "核查合同纠纷".into(),
            from: None,
            until: PartialDate::from_date(until),
            unit: "本单位法务部".into(),
            readers: vec!["legal".into(), "legal2".into()],
            permissions: vec![GrantPermission::Download],
        }
    }

    /// Asks as `who` with a second reader and the 介绍信 attached.
    fn asked(a: &crate::service::Archive, who: &crate::service::Principal, req: GrantRequest) -> super::Grant {
        if a.accounts().user_by_name("legal2").unwrap().is_none() {
            account(a, "legal2", &[Role::Legal], "legal");
        }
        let mut req = req;
        if !req.readers.contains(&who.user.username) {
            req.readers[0] = who.user.username.clone();
        }
        let g = a.grants().request(who, req).unwrap();
        a.grants().attach_letter(who, g.id, b"%PDF-1.4 letter", Some("介绍信.pdf".into())).unwrap()
    }

    #[test]
    fn a_granted_consultation_reads_the_listed_material_only_until_it_is_revoked() {
        let a = testing::archive();
        let person = testing::person(&a, "张三", "sales");
        let granted = file_text(&a, person, meta("1", "履历表", &[]), "履历全文");
        let other = file_text(&a, person, meta("3", "考核表", &[]), "考核全文");
        let legal = account(&a, "legal", &[Role::Legal], "legal");
        let leader1 = leader(&a, "leader1", 1);
        let secadmin = account(&a, "secadmin", &[Role::Secadmin], "it");
        assert!(is_not_found(&a.materials().content(&legal, granted)), "legal reads contracts only");

        let g = asked(&a, &legal, ask(person, Some(vec![granted])));
        assert_eq!(g.state, GrantState::Requested);
        assert!(is_not_found(&a.materials().content(&legal, granted)), "a grant asked for is no grant yet");

        let g = a.grants().decide(&leader1, g.id, true, Some("同意".into())).unwrap();
        assert_eq!((g.state, g.decided_by.as_deref()), (GrantState::Granted, Some("leader1")));
        let read = String::from_utf8(a.materials().content(&legal, granted).unwrap().1.to_vec()).unwrap();
        assert!(
            read.starts_with(&format!("[dangan GRANT {} - reader legal", g.id)) && read.contains("履历全文"),
            "{read}"
        );
        assert!(is_not_found(&a.materials().content(&legal, other)), "only the listed material");
        let listed: Vec<_> =
            a.persons().catalogue(&legal, person).unwrap().into_iter().map(|e| e.material.id).collect();
        assert_eq!(listed, [granted]);

        let g = a.grants().revoke(&secadmin, g.id).unwrap();
        assert_eq!(g.state, GrantState::Revoked);
        assert!(is_not_found(&a.materials().content(&legal, granted)), "a revoked grant reads nothing");
        assert!(matches!(a.grants().revoke(&secadmin, g.id), Err(Error::Conflict(_))));
    }

    #[test]
    fn a_grant_for_the_whole_dossier_reads_every_material_of_it_and_no_other_dossier() {
        let a = testing::archive();
        let person = testing::person(&a, "李四", "sales");
        let elsewhere = testing::person(&a, "王五", "sales");
        let one = file_text(&a, person, meta("1", "履历表", &[]), "一");
        let two = file_text(&a, person, meta("8", "处分决定", &[]), "二");
        let third = file_text(&a, elsewhere, meta("1", "履历表", &[]), "三");
        let legal = account(&a, "legal", &[Role::Legal], "legal");
        let secadmin = account(&a, "secadmin", &[Role::Secadmin], "it");
        let g = asked(&a, &legal, ask(person, None));
        let refused = denial(a.grants().decide(&secadmin, g.id, true, None));
        assert!(refused.contains("consultation.authority") && refused.contains("三员分立"), "{refused}");
        a.grants().decide(&leader(&a, "leader1", 1), g.id, true, None).unwrap();
        assert!(a.materials().content(&legal, one).is_ok());
        assert!(a.materials().content(&legal, two).is_ok());
        assert!(is_not_found(&a.materials().content(&legal, third)));
    }

    #[test]
    fn a_refused_grant_reads_nothing_and_is_decided_once() {
        let a = testing::archive();
        let person = testing::person(&a, "赵六", "ops");
        let id = file_text(&a, person, meta("1", "履历表", &[]), "履历");
        let legal = account(&a, "legal", &[Role::Legal], "legal");
        let leader1 = leader(&a, "leader1", 1);
        let g = asked(&a, &legal, ask(person, Some(vec![id])));
        let g = a.grants().decide(&leader1, g.id, false, Some("理由不充分".into())).unwrap();
        assert_eq!(g.state, GrantState::Refused);
        assert!(is_not_found(&a.materials().content(&legal, id)));
        assert!(matches!(a.grants().decide(&leader1, g.id, true, None), Err(Error::Conflict(_))));
    }

    #[test]
    fn nobody_decides_their_own_grant() {
        let a = testing::archive();
        let person = testing::person(&a, "孙七", "ops");
        let id = file_text(&a, person, meta("8", "处分决定", &[]), "处分");
        let leader1 = leader(&a, "leader1", 1);
        let leader2 = leader(&a, "leader2", 2);
        let other1 = leader(&a, "leader1b", 1);
        let g = asked(&a, &leader1, ask(person, Some(vec![id])));
        assert!(denial(a.grants().decide(&leader1, g.id, true, None)).contains("hard.own-request"));
        assert!(denial(a.grants().revoke(&testing::loader(), g.id)).contains("rule "), "HR decides no grant");
        // A leader lists every material but reads category 8 only under a grant: 403 until it is decided.
        assert!(denial(a.materials().content(&leader1, id)).contains("rule "));
        // 干部管理权限: this dossier's consultations are the first approval level's, not the second's.
        assert!(denial(a.grants().decide(&leader2, g.id, true, None)).contains("consultation.authority"));
        a.grants().decide(&other1, g.id, true, None).unwrap();
        assert!(a.materials().content(&leader1, id).is_ok());
    }

    #[test]
    fn only_deciders_decide_and_nobody_asks_for_their_own_dossier() {
        let a = testing::archive();
        let person = testing::person(&a, "周八", "ops");
        let legal = account(&a, "legal", &[Role::Legal], "legal");
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let g = asked(&a, &legal, ask(person, None));
        assert!(denial(a.grants().decide(&hr, g.id, true, None)).contains("rule "));
        let own = a.grants().request(&legal, ask(legal.user.person_id.unwrap(), None));
        assert!(denial(own).contains("hard.own-dossier"));
        let mut vague = ask(person, None);
        vague.purpose = " ".into();
        assert!(matches!(a.grants().request(&legal, vague), Err(Error::Invalid { .. })));
        // The requester sees their grant; another business account does not.
        assert_eq!(a.grants().list(&legal).unwrap().len(), 1);
        assert!(a.grants().list(&hr).unwrap().is_empty());
        assert!(is_not_found(&a.grants().get(&hr, g.id)));
    }

    #[test]
    fn a_read_under_a_grant_names_the_grant_in_the_audit_trail() {
        use crate::service::audit::AuditQuery;
        let a = testing::archive();
        let person = testing::person(&a, "吴九", "ops");
        let id = file_text(&a, person, meta("1", "履历表", &[]), "履历");
        let legal = account(&a, "legal", &[Role::Legal], "legal");
        let leader1 = leader(&a, "leader1", 1);
        let auditor = account(&a, "auditor", &[Role::Auditor], "it");
        let g = asked(&a, &legal, ask(person, Some(vec![id])));
        a.grants().decide(&leader1, g.id, true, None).unwrap();
        a.materials().content(&legal, id).unwrap();
        let q =
            AuditQuery { actor: Some("legal".into()), action: Some("material.download".into()), ..Default::default() };
        let (entries, _) = a.audit_trail().query(&auditor, &q).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].event.detail.as_deref(), Some(format!("grant:{}", g.id).as_str()));
    }

    #[test]
    fn a_grant_decision_refused_by_a_rule_is_recorded_in_the_audit_trail() {
        use crate::service::audit::{AuditQuery, Outcome};
        let a = testing::archive();
        let person = testing::person(&a, "郑十", "ops");
        let leader1 = leader(&a, "leader1", 1);
        let auditor = account(&a, "auditor", &[Role::Auditor], "it");
        let own = asked(&a, &leader1, ask(person, None));
        denial(a.grants().decide(&leader1, own.id, true, None));
        let q = AuditQuery {
            actor: Some("leader1".into()),
            action: Some("grant.*".into()),
            outcome: Some(Outcome::Denied),
            ..Default::default()
        };
        let (entries, _) = a.audit_trail().query(&auditor, &q).unwrap();
        assert_eq!(entries.len(), 1, "the refused decision is not in the trail: {entries:?}");
    }

    #[test]
    fn an_expired_grant_reads_nothing_and_a_reader_not_named_reads_nothing() {
        let a = testing::archive();
        let person = testing::person(&a, "钱一", "ops");
        let id = file_text(&a, person, meta("1", "履历表", &[]), "履历");
        let legal = account(&a, "legal", &[Role::Legal], "legal");
        let other = account(&a, "legal3", &[Role::Legal], "legal");
        let leader1 = leader(&a, "leader1", 1);
        let g = asked(&a, &legal, ask(person, Some(vec![id])));
        a.grants().decide(&leader1, g.id, true, None).unwrap();
        assert!(a.materials().view(&legal, id).is_ok());
        assert!(is_not_found(&a.materials().view(&other, id)), "legal3 is not named on the grant");
        // Time passes: the period is over.
        let mut stored: super::Grant = a.store().get(crate::store::Table::Grants, g.id.as_bytes()).unwrap().unwrap();
        stored.until = crate::model::now_ts() - 1;
        let mut ws = a.store().write_set();
        ws.put(crate::store::Table::Grants, g.id.as_bytes().to_vec(), &stored).unwrap();
        a.store().commit(ws).unwrap();
        assert!(is_not_found(&a.materials().view(&legal, id)), "an expired grant reads nothing");
        assert!(is_not_found(&a.materials().content(&legal, id)));
    }
}
