//! Consultation grants (查阅授权): a user without standing access asks to read a dossier (or listed
//! materials) for a stated purpose and period; the security administrator or a leader grants or refuses it;
//! access ends at expiry or revocation. Every read under a grant names it in the audit trail.

use super::Grants;
use super::access::{forbidden, person_target};
use super::{Archive, Error, Principal, Result};
use crate::model::AuditAction;
use crate::model::policy::Capability;
use crate::model::{GrantId, Material, MaterialId, Person, PersonId, now_ts};
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
}

impl Grant {
    /// Whether it gives access now.
    pub fn active(&self, now: i64) -> bool {
        self.state == GrantState::Granted && self.from <= now && now < self.until
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

impl Grants<'_> {
    fn load_grant(&self, id: GrantId) -> Result<Grant> {
        self.store().get(Table::Grants, id.as_bytes())?.ok_or_else(|| Error::NotFound(format!("grant {id} not found")))
    }

    /// Asks for a grant.
    pub fn request(&self, p: &Principal, req: GrantRequest) -> Result<Grant> {
        let purpose = req.purpose.trim().to_string();
        if purpose.chars().count() < 2 || purpose.chars().count() > 500 {
            return Err(Error::invalid("purpose", "state the purpose of the consultation (2–500 characters)"));
        }
        let person: Person = self
            .store()
            .get(Table::Persons, req.person_id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("person {} not found", req.person_id)))?;
        if let Some(hard) = self.policy().hard_rules(&p.subject, &person_target(&person)) {
            return Err(forbidden(&hard));
        }
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

    /// Grants (`approve`) or refuses (`reject`) a requested grant. Security administrators and leaders only;
    /// never one's own request, nor about one's own or a relative's dossier.
    pub fn decide(&self, p: &Principal, id: GrantId, approve: bool, comment: Option<String>) -> Result<Grant> {
        self.require(p, Capability::DecideGrants)?;
        let _guard = self.lock();
        let mut g = self.load_grant(id)?;
        if g.requester == p.user.username {
            return Err(Error::Forbidden("rule hard.own-request: nobody decides their own request".into()));
        }
        let person: Option<Person> = self.store().get(Table::Persons, g.person_id.as_bytes())?;
        if let Some(person) = person
            && let Some(hard) = self.policy().hard_rules(&p.subject, &person_target(&person))
        {
            return Err(forbidden(&hard));
        }
        if g.state != GrantState::Requested {
            return Err(Error::Conflict(format!("grant {id} was already decided")));
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

    /// Revokes a grant before it expires.
    pub fn revoke(&self, p: &Principal, id: GrantId) -> Result<Grant> {
        self.require(p, Capability::DecideGrants)?;
        let _guard = self.lock();
        let mut g = self.load_grant(id)?;
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

    /// Grants the caller may see: their own; all for those who decide grants — but never one about the
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

    /// One grant (the requester or a decider), recorded in the audit trail.
    pub fn get(&self, p: &Principal, id: GrantId) -> Result<Grant> {
        self.audited(p, AuditAction::GrantRead, &format!("grant:{id}"), false, || {
            let g = self.load_grant(id)?;
            if !self.may_see_grant(p, &g)? {
                return Err(Error::NotFound(format!("grant {id} not found")));
            }
            Ok((g, None))
        })
    }

    fn may_see_grant(&self, p: &Principal, g: &Grant) -> Result<bool> {
        if g.requester != p.user.username && !self.policy().capability(&p.subject, Capability::DecideGrants).allowed {
            return Ok(false);
        }
        let person: Option<Person> = self.store().get(Table::Persons, g.person_id.as_bytes())?;
        Ok(person.is_none_or(|person| self.policy().hard_rules(&p.subject, &person_target(&person)).is_none()))
    }
}

impl Archive {
    pub(crate) fn all_grants(&self) -> Result<Vec<Grant>> {
        Ok(self.store().scan::<Grant>(Table::Grants, b"")?.into_iter().map(|(_, g)| g).collect())
    }

    /// The caller's grants that are active now.
    pub(crate) fn active_grants_of(&self, p: &Principal) -> Result<Vec<Grant>> {
        let now = now_ts();
        Ok(self.all_grants()?.into_iter().filter(|g| g.requester == p.user.username && g.active(now)).collect())
    }

    /// An active grant of the caller covering this dossier (and material).
    pub(crate) fn active_grant(&self, p: &Principal, person: &Person, m: Option<&Material>) -> Result<Option<Grant>> {
        Ok(self.active_grants_of(p)?.into_iter().find(|g| g.covers(person.id, m)))
    }
}
