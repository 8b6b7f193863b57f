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

    /// Asks for a grant. A refusal is audited like the grant itself.
    pub fn request(&self, p: &Principal, req: GrantRequest) -> Result<Grant> {
        let object = format!("person:{}", req.person_id);
        self.audited(p, AuditAction::GrantRequest, &object, true, || Ok((self.request_inner(p, req)?, None)))
    }

    fn request_inner(&self, p: &Principal, req: GrantRequest) -> Result<Grant> {
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
    /// A refusal is audited like the decision itself.
    pub fn decide(&self, p: &Principal, id: GrantId, approve: bool, comment: Option<String>) -> Result<Grant> {
        let action = if approve { AuditAction::GrantApprove } else { AuditAction::GrantRefuse };
        self.audited(p, action, &format!("grant:{id}"), true, || {
            Ok((self.decide_inner(p, id, approve, comment)?, None))
        })
    }

    fn decide_inner(&self, p: &Principal, id: GrantId, approve: bool, comment: Option<String>) -> Result<Grant> {
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

    /// Revokes a grant before it expires. A refusal is audited like the revocation itself.
    pub fn revoke(&self, p: &Principal, id: GrantId) -> Result<Grant> {
        self.audited(p, AuditAction::GrantRevoke, &format!("grant:{id}"), true, || {
            Ok((self.revoke_inner(p, id)?, None))
        })
    }

    fn revoke_inner(&self, p: &Principal, id: GrantId) -> Result<Grant> {
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

#[cfg(test)]
mod tests {
    use super::{GrantRequest, GrantState};
    use crate::model::{MaterialId, PartialDate, PersonId, Role};
    use crate::service::Error;
    use crate::service::testing::{self, account, denial, file_text, is_not_found, leader, meta};

    fn ask(person: PersonId, materials: Option<Vec<MaterialId>>) -> GrantRequest {
        let until = crate::model::today() + time::Duration::days(30);
        GrantRequest {
            person_id: person,
            material_ids: materials,
            purpose: "核查合同纠纷".into(),
            from: None,
            until: PartialDate::from_date(until),
        }
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

        let g = a.grants().request(&legal, ask(person, Some(vec![granted]))).unwrap();
        assert_eq!(g.state, GrantState::Requested);
        assert!(is_not_found(&a.materials().content(&legal, granted)), "a grant asked for is no grant yet");

        let g = a.grants().decide(&leader1, g.id, true, Some("同意".into())).unwrap();
        assert_eq!((g.state, g.decided_by.as_deref()), (GrantState::Granted, Some("leader1")));
        assert_eq!(&a.materials().content(&legal, granted).unwrap().1[..], "履历全文".as_bytes());
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
        let g = a.grants().request(&legal, ask(person, None)).unwrap();
        a.grants().decide(&secadmin, g.id, true, None).unwrap();
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
        let g = a.grants().request(&legal, ask(person, Some(vec![id]))).unwrap();
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
        let g = a.grants().request(&leader1, ask(person, Some(vec![id]))).unwrap();
        assert!(denial(a.grants().decide(&leader1, g.id, true, None)).contains("hard.own-request"));
        assert!(denial(a.grants().revoke(&testing::loader(), g.id)).contains("rule "), "HR decides no grant");
        // A leader lists every material but reads category 8 only under a grant: 403 until it is decided.
        assert!(denial(a.materials().content(&leader1, id)).contains("rule "));
        a.grants().decide(&leader2, g.id, true, None).unwrap();
        assert!(a.materials().content(&leader1, id).is_ok());
    }

    #[test]
    fn only_deciders_decide_and_nobody_asks_for_their_own_dossier() {
        let a = testing::archive();
        let person = testing::person(&a, "周八", "ops");
        let legal = account(&a, "legal", &[Role::Legal], "legal");
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let g = a.grants().request(&legal, ask(person, None)).unwrap();
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
        let g = a.grants().request(&legal, ask(person, Some(vec![id]))).unwrap();
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
        let own = a.grants().request(&leader1, ask(person, None)).unwrap();
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
}
