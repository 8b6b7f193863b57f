//! Change requests across departments (DOMAIN §4): HR records a change; the flow definition routes it to the
//! reviewers its content calls for, then up the approval levels; on final approval it is applied at once, in the
//! same atomic commit as the last decision, as a new version of the person record that names the request — so
//! a crash leaves the old state or the new one, and an approval is applied exactly once. A request built on a
//! person version that another change has since replaced is flagged, never applied blindly.

use super::access::{forbidden, person_target};
use super::{Error, Principal, Result};
use super::{Reports, Requests};
use crate::model::AuditAction;
use crate::model::policy::{Capability, FieldAccess, Policy, Subject, Target};
use crate::model::workflow::{self, Check, Definitions, RequestState, Routing, Step, StepState, Touches};
use crate::model::{Finding, PartialDate, Person, PersonId, RequestId, RequestKind, Role, User, now_ts, today};
use crate::store::Table;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One decision on a step.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The step.
    pub step: String,
    /// Who.
    pub actor: String,
    /// `approve`, `reject` or `return`.
    pub decision: String,
    /// Comment.
    pub comment: Option<String>,
    /// When (Unix seconds).
    pub at: i64,
    /// The hash of the proposed change decided on; a later edit of the change voids the decision.
    pub change_hash: String,
    /// Whether a later edit of the change voided it.
    #[serde(default)]
    pub void: bool,
}

/// A change request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Request {
    /// Id.
    pub id: RequestId,
    /// Kind.
    pub kind: RequestKind,
    /// The person (set on application for `create`).
    pub person_id: Option<PersonId>,
    /// The person's department when the request was made (routes `head:person`).
    pub person_department: Option<String>,
    /// Proposed changes.
    pub changes: Value,
    /// Why.
    pub reason: Option<String>,
    /// State.
    pub state: RequestState,
    /// Steps.
    pub steps: Vec<Step>,
    /// Decisions, oldest first.
    pub decisions: Vec<DecisionRecord>,
    /// Validation findings (warnings travel with the request).
    pub findings: Vec<Finding>,
    /// Who started it.
    pub initiator: String,
    /// When.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// The person version the change was built on.
    pub base_version: Option<u32>,
    /// The person version it produced.
    pub applied_version: Option<u32>,
    /// Why it cannot be applied as it stands (another change replaced its base version).
    pub conflict: Option<String>,
    /// The definitions version it runs under.
    pub definitions_version: u32,
    /// Comments, oldest first (escalations are recorded here too, by `system`).
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// In answers: the change keys and finding fields hidden from the caller (`id_number`: masked), as the
    /// person view hides them. Empty as stored.
    #[serde(default)]
    pub hidden: Vec<String>,
}

/// A comment on a request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comment {
    /// Who.
    pub author: String,
    /// When (Unix seconds).
    pub at: i64,
    /// What.
    pub text: String,
}

/// A new request.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// Kind (an unknown one is refused as the body is read).
    pub kind: RequestKind,
    /// The person (not for `create`).
    #[serde(default)]
    pub person_id: Option<PersonId>,
    /// Proposed changes.
    pub changes: Value,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
    /// Keep as a draft instead of submitting.
    #[serde(default)]
    pub draft: bool,
}

/// An item of an inbox.
#[derive(Clone, Debug, Serialize)]
pub struct InboxItem {
    /// The request.
    pub request_id: RequestId,
    /// Its kind.
    pub kind: RequestKind,
    /// The person.
    pub person_id: Option<PersonId>,
    /// The step waiting for the caller.
    pub step: String,
    /// Waiting since (RFC 3339).
    pub since: String,
    /// Due (RFC 3339).
    pub due: String,
    /// Past due.
    pub overdue: bool,
}

/// The hash a decision binds: the changes it decided on, under the store's suite (BLAKE3 or SM3).
fn change_hash(suite: crate::crypto::Suite, changes: &Value) -> String {
    suite.hash_hex(changes.to_string().as_bytes())
}

fn changed_fields(changes: &Value) -> Vec<String> {
    changes.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

fn date_field(changes: &Value, field: &str) -> Result<Option<PartialDate>> {
    match changes.get(field).and_then(Value::as_str) {
        None => Ok(None),
        Some(s) => {
            s.parse().map(Some).map_err(|e: crate::model::date::InvalidDate| Error::invalid(field, e.to_string()))
        }
    }
}

use crate::model::request::text_field;

fn material_ids(changes: &Value) -> Result<Vec<crate::model::MaterialId>> {
    match changes.get("material_ids") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| Error::invalid("material_ids", e.to_string())),
    }
}

/// The person as a request of `kind` would leave it (before validation): the kind's own rule
/// ([`RequestKind::apply`]), its finding as a 422.
fn apply_changes(current: Option<&Person>, kind: RequestKind, changes: &Value) -> Result<Person> {
    kind.apply(current, changes).map_err(|f| Error::invalid(&f.field, f.message))
}

impl Requests<'_> {
    /// The flow definitions in force: the newest stored version, or the shipped default.
    pub fn definitions(&self) -> Result<Definitions> {
        let stored: Vec<(Vec<u8>, Definitions)> = self.store().scan(Table::WorkflowDefs, b"")?;
        match stored.into_iter().last() {
            Some((_, d)) => Ok(d),
            None => Definitions::default_definitions().map_err(Error::Internal),
        }
    }

    /// The definitions a request runs under (the version it started with).
    fn definitions_of(&self, r: &Request) -> Result<Definitions> {
        match self.store().get::<Definitions>(Table::WorkflowDefs, &r.definitions_version.to_be_bytes())? {
            Some(d) => Ok(d),
            None => Definitions::default_definitions().map_err(Error::Internal),
        }
    }

    /// Loads new flow definitions (security administrator, TOML): validated, versioned, audited. Requests
    /// already started keep the version they started under.
    pub fn set_definitions(&self, p: &Principal, toml_text: &str) -> Result<Definitions> {
        self.audited(p, AuditAction::WorkflowDefinitions, "workflows", true, || {
            self.require(p, Capability::ManagePolicy)?;
            let mut d: Definitions =
                toml::from_str(toml_text).map_err(|e| Error::invalid("definitions", e.to_string()))?;
            d.validate().map_err(|e| Error::invalid("definitions", e))?;
            let _guard = self.lock();
            let current = self.definitions()?;
            let mut ws = self.store().write_set();
            if !self.store().contains(Table::WorkflowDefs, &current.version.to_be_bytes())? {
                ws.put(Table::WorkflowDefs, current.version.to_be_bytes().to_vec(), &current)?;
            }
            d.version = current.version + 1;
            ws.put(Table::WorkflowDefs, d.version.to_be_bytes().to_vec(), &d)?;
            self.commit_audited(
                ws,
                p,
                AuditAction::WorkflowDefinitions,
                "workflows",
                Some(format!("version {}", d.version)),
            )?;
            Ok((d, None))
        })
    }

    /// Adds a comment to a request (anyone who may see it).
    pub fn comment(&self, p: &Principal, id: RequestId, text: &str) -> Result<Request> {
        self.audited(p, AuditAction::RequestComment, &format!("request:{id}"), true, || {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > 2000 {
                return Err(Error::invalid("text", "1–2000 characters"));
            }
            let _guard = self.lock();
            let mut r = self.load_request(id)?;
            let person = self.request_person(&r)?;
            if !self.may_see_request(p, &r, person.as_ref()) {
                return Err(Error::NotFound(format!("request {id} not found")));
            }
            r.comments.push(Comment { author: p.user.username.clone(), at: now_ts(), text: text.into() });
            let mut ws = self.store().write_set();
            ws.put(Table::Requests, r.id.as_bytes().to_vec(), &r)?;
            self.commit_audited(ws, p, AuditAction::RequestComment, &format!("request:{id}"), None)?;
            Ok((self.answer(p, r, person.as_ref()), None))
        })
    }

    fn load_request(&self, id: RequestId) -> Result<Request> {
        self.store()
            .get(Table::Requests, id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("request {id} not found")))
    }

    /// Whether the principal may start a request of `kind` with these changes. A policy's `start_requests`
    /// names kinds (`*` for all), or a scope of the update kind: `salary` — an update of the salary grade and
    /// salary records only (finance starts salary adjustments), `contract` — of the contracts only (legal).
    fn may_start(&self, p: &Principal, kind: RequestKind, changes: &Value) -> Result<()> {
        if kind.anyone_may_start() {
            return Ok(()); // anyone may ask to consult a dossier; the security administrator decides
        }
        let scoped = |fields: &[&str]| {
            kind == RequestKind::Update
                && changes.as_object().is_some_and(|o| !o.is_empty() && o.keys().all(|k| fields.contains(&k.as_str())))
        };
        let policy = self.policy();
        let ok = p.subject.roles.iter().any(|r| {
            policy.roles.get(r).is_some_and(|rp| {
                rp.start_requests.iter().any(|k| match k.as_str() {
                    "*" => true,
                    "salary" => scoped(&["salary_grade", "salary"]),
                    "contract" => scoped(&["contracts"]),
                    k => k == kind.as_str(),
                })
            })
        });
        if ok {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "rule workflow.start: none of the roles {:?} may start a {kind} request{}",
                p.subject.roles,
                if kind == RequestKind::Update { " with these changes" } else { "" }
            )))
        }
    }

    /// Whether the principal is the assignee a step names (by the roles its subject holds).
    pub(crate) fn is_assignee(&self, p: &Principal, r: &Request, assignee: &str) -> bool {
        assignee_matches(&p.user, &p.subject, r, assignee)
    }

    /// Why an account that is the step's assignee may not decide it, if it may not: it started the request
    /// (hard.own-request), it decided another step of it (hard.four-eyes), or a hard rule bars it from the
    /// request's person (own dossier, recorded relative).
    fn ineligible(
        &self,
        policy: &Policy,
        user: &User,
        subject: &Subject,
        r: &Request,
        step: &str,
        target: Option<&Target>,
    ) -> Option<String> {
        let who = &user.username;
        if *who == r.initiator {
            return Some(format!("{who} 为发起人"));
        }
        if let Some(d) = decided_other(r, who, step) {
            return Some(format!("{who} 已处理本申请的步骤 {}", d.step));
        }
        let hard = target.and_then(|t| policy.hard_rules(subject, t));
        hard.map(|h| {
            if h.rule == "hard.own-dossier" {
                format!("{who} 本人为当事人")
            } else {
                format!("{who} 为当事人的亲属")
            }
        })
    }

    /// Settles the request's open steps ([`workflow::settle`]): every pending step must have an account that may
    /// decide it — enabled, its assignee, not the initiator, not the decider of another step, not barred from the
    /// person — or it escalates, or it is flagged stuck. What was done goes into the request's timeline (by
    /// `system`); the caller puts it in the audit detail and stages the notifications.
    fn route(&self, r: &mut Request) -> Result<Vec<Routing>> {
        if !matches!(r.state, RequestState::InReview | RequestState::InApproval) {
            return Ok(Vec::new());
        }
        let person = self.request_person(r)?;
        let target = person.as_ref().map(person_target);
        let accounts: Vec<(User, Subject)> = self
            .accounts()
            .users()?
            .into_iter()
            .filter(|u| !u.disabled)
            .map(|u| self.subject_for(&u).map(|s| (u, s)))
            .collect::<Result<_>>()?;
        let policy = self.policy();
        let view = r.clone();
        let check = |step: &str, assignee: &str| -> Check {
            let mut why = Vec::new();
            for (u, s) in accounts.iter().filter(|(u, s)| assignee_matches(u, s, &view, assignee)) {
                match self.ineligible(&policy, u, s, &view, step, target.as_ref()) {
                    None => return Check::Someone,
                    Some(w) => why.push(w),
                }
            }
            if why.is_empty() {
                Check::Nobody { why: format!("没有启用的账户担任 {assignee}"), vacant: true }
            } else {
                Check::Nobody { why: why.join("，"), vacant: false }
            }
        };
        let now = now_ts();
        let (state, routed) = workflow::settle(&mut r.steps, r.state, now, check);
        r.state = state;
        for e in &routed {
            r.comments.push(Comment { author: "system".into(), at: now, text: e.text() });
        }
        Ok(routed)
    }

    /// The prospective person and its findings; errors block.
    fn validated(
        &self,
        current: Option<&Person>,
        kind: RequestKind,
        changes: &Value,
    ) -> Result<(Person, Vec<Finding>)> {
        let mut next = apply_changes(current, kind, changes)?;
        let findings = self.persons().complete_person(&mut next)?;
        Ok((next, findings))
    }

    /// Starts a request: validated, routed, and submitted at once unless it is a draft. A routine update by
    /// HR takes the fast path and is applied at once.
    pub fn create(&self, p: &Principal, new: NewRequest) -> Result<Request> {
        self.audited(p, AuditAction::RequestCreate, "request:new", true, || {
            Ok((self.create_request_inner(p, new)?, None))
        })
    }

    fn create_request_inner(&self, p: &Principal, new: NewRequest) -> Result<Request> {
        let defs = self.definitions()?;
        let flow = defs.flow(new.kind).ok_or_else(|| {
            Error::invalid(
                "kind",
                format!("the flow definitions in force (version {}) have no flow for {}", defs.version, new.kind),
            )
        })?;
        if new.kind == RequestKind::Consultation {
            // A consultation names its unit, readers and 介绍信 and is approved by 干部管理权限: it is a grant
            // (service/grants.rs). Requests of this kind started before stay as they are.
            return Err(Error::invalid(
                "kind",
                "a consultation (查阅) is asked at POST /api/v1/grants with its 查阅单位, readers and 介绍信 (web: /grants/new)",
            ));
        }
        self.may_start(p, new.kind, &new.changes)?;
        let person = match (new.kind, new.person_id) {
            (RequestKind::Create, _) => None,
            (_, Some(id)) => Some(self.persons().load_person(id)?),
            (_, None) => return Err(Error::invalid("person_id", "name the person the request is about")),
        };
        if let Some(person) = &person
            && let Some(hard) = self.policy().hard_rules(&p.subject, &person_target(person))
        {
            return Err(forbidden(&hard));
        }
        let mut new = new;
        if let Some(person) = &person {
            new.changes = self.reviews().terms(new.kind, person, new.changes, None)?;
        }
        let (_, findings) = self.validated(person.as_ref(), new.kind, &new.changes)?;
        if let Some(person) = &person {
            self.reviews().check_start(new.kind, person, &new.changes)?;
        }
        let fields = changed_fields(&new.changes);
        let now = now_ts();
        let mut r = Request {
            id: RequestId::new(),
            kind: new.kind,
            person_id: person.as_ref().map(|p| p.id),
            person_department: person
                .as_ref()
                .map(|p| p.department.clone())
                .or_else(|| text_field(&new.changes, "department")),
            changes: new.changes,
            reason: new.reason.map(|r| r.chars().take(2000).collect()),
            state: RequestState::Draft,
            steps: flow.steps_for(Touches::of(&fields)),
            decisions: Vec::new(),
            findings,
            initiator: p.user.username.clone(),
            created_at: now,
            updated_at: now,
            base_version: person.as_ref().map(|p| p.version),
            applied_version: None,
            conflict: None,
            definitions_version: defs.version,
            comments: Vec::new(),
            hidden: Vec::new(),
        };
        let fast = flow.is_fast(&fields) && self.policy().capability(&p.subject, Capability::EditPersons).allowed;
        let _guard = self.lock();
        let mut ws = self.store().write_set();
        let mut action = AuditAction::RequestCreate;
        let mut routed = Vec::new();
        if fast {
            r.steps.clear();
            r.state = RequestState::Approved;
            self.stage_application(&mut ws, &mut r, p)?;
            action = AuditAction::RequestFastPath;
        } else if !new.draft {
            r.state = workflow::open_next_group(&mut r.steps, now);
            routed = self.route(&mut r)?;
            if r.state == RequestState::Approved {
                self.stage_application(&mut ws, &mut r, p)?;
            }
        }
        if let (RequestKind::SpecialReview, Some(person)) = (r.kind, r.person_id) {
            self.reviews().stage_submitted(&mut ws, person, r.id)?;
        }
        self.notifications().stage(&mut ws, &r, &opened_since(&[], &r, &routed), &stuck_in(&routed))?;
        ws.put(Table::Requests, r.id.as_bytes().to_vec(), &r)?;
        self.commit_audited(
            ws,
            p,
            action,
            &format!("request:{}", r.id),
            Some(with_routing(format!("{} {:?}", r.kind, r.state), &routed)),
        )?;
        self.after_application(&r);
        Ok(r)
    }

    /// Applies an approved request into `ws` (person version naming the request), or flags a conflict.
    fn stage_application(&self, ws: &mut crate::store::WriteSet, r: &mut Request, p: &Principal) -> Result<()> {
        let current = match r.person_id {
            Some(id) => Some(self.persons().load_person(id)?),
            None => None,
        };
        if let (Some(cur), Some(base)) = (&current, r.base_version)
            && cur.version != base
            && r.kind.changes_person()
        {
            r.conflict = Some(format!(
                "the person record changed since version {base} (now {}); the request must be rebased before it can be applied",
                cur.version
            ));
            r.state = RequestState::Approved;
            return Ok(());
        }
        if let Some(cur) = &current
            && let Err(e) = self.reviews().check_start(r.kind, cur, &r.changes)
        {
            // What the special review set has changed since the request started (a conclusion fixed a field it
            // changes, or the one a promotion stood on aged out): approved, not applied, until resubmitted.
            r.conflict = Some(e.to_string());
            r.state = RequestState::Approved;
            return Ok(());
        }
        if !r.kind.changes_person() {
            let person = current.ok_or_else(|| Error::invalid("person_id", "name the dossier"))?;
            if r.kind == RequestKind::Consultation {
                self.stage_consultation_grant(ws, r, &person)?;
            } else if r.kind == RequestKind::TransferOut {
                self.transfers().stage_approved(ws, r, &person)?;
            } else {
                let backups = self.stage_destruction(ws, r, &person)?;
                let text = if backups.is_empty() {
                    "销毁登记：此后未做过备份，已无副本含这些材料。".to_string()
                } else {
                    format!("销毁登记：以下备份仍含这些材料的（加密）字节，须按规定处置：{}", backups.join("；"))
                };
                r.comments.push(Comment { author: "system".into(), at: now_ts(), text });
            }
            r.state = RequestState::Applied;
            r.conflict = None;
            return Ok(());
        }
        let (mut next, _) = self.validated(current.as_ref(), r.kind, &r.changes)?;
        let approvers: Vec<String> =
            r.decisions.iter().filter(|d| !d.void && d.decision == "approve").map(|d| d.actor.clone()).collect();
        let reason = Some(format!(
            "request {} ({}) approved by {}",
            r.id,
            r.kind,
            if approvers.is_empty() { "fast path".into() } else { approvers.join(", ") }
        ));
        if let (RequestKind::SpecialReview, Some(cur)) = (r.kind, &current) {
            let version = r.changes.get("review_version").and_then(Value::as_u64).unwrap_or(0) as u32;
            self.reviews().stage_conclusion(ws, cur.id, r.id, version, approvers)?;
            if (Person { version: cur.version, ..next.clone() }) == *cur {
                // The review confirmed the record as it stands: concluded, and no new person version.
                r.state = RequestState::Applied;
                r.conflict = None;
                return Ok(());
            }
        }
        match current {
            None => {
                next.id = PersonId::new();
                next.version = 1;
                if let Some(idn) = &next.id_number {
                    let k = self.persons().id_number_key(idn);
                    if self.store().contains(Table::IdNumbers, &k)? {
                        return Err(Error::Conflict("a person with this ID number already exists".into()));
                    }
                    ws.put(Table::IdNumbers, k, &next.id)?;
                }
                r.person_id = Some(next.id);
            }
            Some(cur) => {
                next.id = cur.id;
                next.version = cur.version + 1;
                for m in self.materials().material_ids_of(cur.id)? {
                    self.filing().stage_index(ws, m)?;
                }
            }
        }
        self.persons().stage_person(ws, &next, &p.user.username, reason)?;
        r.applied_version = Some(next.version);
        r.state = RequestState::Applied;
        r.conflict = None;
        Ok(())
    }

    /// A consultation approved: the grant it asked for comes into force.
    fn stage_consultation_grant(&self, ws: &mut crate::store::WriteSet, r: &Request, person: &Person) -> Result<()> {
        use super::grants::{Grant, GrantState};
        let until = date_field(&r.changes, "until")?.map(|d| d.last_day()).unwrap_or_else(today);
        let ids = material_ids(&r.changes)?;
        let g = Grant {
            id: crate::model::GrantId::new(),
            requester: r.initiator.clone(),
            person_id: person.id,
            material_ids: (!ids.is_empty()).then_some(ids),
            purpose: text_field(&r.changes, "purpose").unwrap_or_default(),
            from: now_ts(),
            until: until.midnight().assume_utc().unix_timestamp() + 86_400,
            state: GrantState::Granted,
            decided_by: r.decisions.iter().rev().find(|d| !d.void).map(|d| d.actor.clone()),
            decided_at: Some(now_ts()),
            comment: Some(format!("request {}", r.id)),
            created_at: r.created_at,
            unit: None,
            readers: Vec::new(),
            permissions: vec![
                crate::model::consultation::GrantPermission::View,
                crate::model::consultation::GrantPermission::Download,
            ],
            letter: None,
            approver: None,
        };
        ws.put(Table::Grants, g.id.as_bytes().to_vec(), &g).map_err(Into::into)
    }

    /// A destruction approved: every version's bytes lose their reference (the last reference destroys the
    /// data key: crypto-shredding), the index forgets the material, and its catalogue entry stays as the register.
    fn stage_destruction(&self, ws: &mut crate::store::WriteSet, r: &Request, person: &Person) -> Result<Vec<String>> {
        let own = self.materials().material_ids_of(person.id)?;
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        let mut oldest_filed = i64::MAX;
        for id in material_ids(&r.changes)? {
            if !own.contains(&id) {
                return Err(Error::invalid("material_ids", format!("material {id} is not in this dossier")));
            }
            let mut m = self.materials().load_material(id)?;
            if m.destroyed_by.is_some() {
                continue;
            }
            for (_, v) in self.store().scan::<crate::model::MaterialVersion>(Table::MaterialVersions, id.as_bytes())? {
                *counts.entry(v.material.address.clone()).or_default() += 1;
                // A scanned material's page originals kept apart: a reference per version that holds them.
                for a in v.material.page_images.iter().filter_map(|p| p.address.clone()) {
                    *counts.entry(a).or_default() += 1;
                }
            }
            oldest_filed = oldest_filed.min(m.created_at);
            m.destroyed_by = Some(r.id);
            m.updated_at = now_ts();
            ws.put(Table::Materials, id.as_bytes().to_vec(), &m)?;
            self.filing().stage_index(ws, id)?;
        }
        for (addr, n) in counts {
            let a = addr.parse().map_err(|_| Error::Corrupt(format!("bad address {addr}")))?;
            self.store().stage_blob_unref(ws, &a, n)?;
        }
        // The register names the backups made since the oldest of these materials was filed: they still hold
        // its bytes (sealed), and are to be destroyed or kept as the archive's rules say.
        let mut backups = Vec::new();
        self.for_each_audit_entry(|e| {
            if e.event.action == AuditAction::Backup.as_str() && e.at >= oldest_filed.saturating_mul(1000) {
                backups.push(format!(
                    "{}{}",
                    crate::model::ts_rfc3339(e.at / 1000),
                    e.event.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
                ));
            }
        })?;
        Ok(backups)
    }

    fn after_application(&self, r: &Request) {
        if r.state == RequestState::Applied && !matches!(r.kind, RequestKind::Create | RequestKind::Consultation) {
            self.indexing().indexed_enqueued();
        }
    }

    /// Decides the caller's pending step: `approve`, `reject` or `return`.
    pub fn decide(&self, p: &Principal, id: RequestId, decision: &str, comment: Option<String>) -> Result<Request> {
        self.audited(p, AuditAction::RequestDecide, &format!("request:{id}"), true, || {
            Ok((self.decide_inner(p, id, decision, comment)?, None))
        })
    }

    fn decide_inner(&self, p: &Principal, id: RequestId, decision: &str, comment: Option<String>) -> Result<Request> {
        if !["approve", "reject", "return"].contains(&decision) {
            return Err(Error::invalid("decision", "approve, reject or return"));
        }
        let _guard = self.lock();
        let mut r = self.load_request(id)?;
        if r.initiator == p.user.username {
            return Err(Error::Forbidden("rule hard.own-request: nobody decides a request they started".into()));
        }
        if let Some(pid) = r.person_id
            && let Some(person) = self.store().get::<Person>(Table::Persons, pid.as_bytes())?
            && let Some(hard) = self.policy().hard_rules(&p.subject, &person_target(&person))
        {
            return Err(forbidden(&hard));
        }
        // Only an open request has a step to decide: a withdrawn, rejected or returned one keeps its other steps
        // pending, and deciding one must not bring it back.
        let open = matches!(r.state, RequestState::InReview | RequestState::InApproval);
        let pending =
            r.steps.iter().position(|s| open && s.state == StepState::Pending && self.is_assignee(p, &r, &s.assignee));
        let Some(i) = pending else {
            let mine_done =
                r.steps.iter().any(|s| s.state != StepState::Waiting && self.is_assignee(p, &r, &s.assignee));
            if mine_done || !matches!(r.state, RequestState::InReview | RequestState::InApproval) {
                return Err(Error::Conflict(format!("request {id} has no step waiting for you (state {:?})", r.state)));
            }
            return Err(Error::Forbidden(format!(
                "rule workflow.assignee: the pending steps of request {id} are not yours ({})",
                r.steps
                    .iter()
                    .filter(|s| s.state == StepState::Pending)
                    .map(|s| s.assignee.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if let Some(d) = decided_other(&r, &p.user.username, &r.steps[i].name) {
            return Err(Error::Forbidden(format!(
                "rule hard.four-eyes: {} decided step {} of request {id}; step {} needs another person",
                p.user.username, d.step, r.steps[i].name
            )));
        }
        if decision == "approve" {
            // A blocking review note on the cadre's contracts stops every step of a change to them (DOMAIN §4e).
            if let Some(pid) = r.person_id
                && Touches::of(&changed_fields(&r.changes)).contract
            {
                self.contracts().check_no_blocking_note(pid)?;
            }
        }
        let now = now_ts();
        r.decisions.push(DecisionRecord {
            step: r.steps[i].name.clone(),
            actor: p.user.username.clone(),
            decision: decision.into(),
            comment: comment.map(|c| c.chars().take(2000).collect()),
            at: now,
            change_hash: change_hash(self.store().keys().suite(), &r.changes),
            void: false,
        });
        let before = pending_steps(&r);
        let mut ws = self.store().write_set();
        let mut routed = Vec::new();
        match decision {
            "approve" => {
                r.state = workflow::approve(&mut r.steps, i, &p.user.username, now);
                routed = self.route(&mut r)?;
                if r.state == RequestState::Approved {
                    self.stage_application(&mut ws, &mut r, p)?;
                }
            }
            "reject" => {
                r.steps[i].state = StepState::Rejected;
                r.steps[i].decided_by = Some(p.user.username.clone());
                r.steps[i].decided_at = Some(now);
                r.steps[i].stuck = false;
                r.steps[i].stuck_reason = None;
                r.state = RequestState::Rejected;
            }
            _ => {
                r.steps[i].state = StepState::Returned;
                r.steps[i].decided_by = Some(p.user.username.clone());
                r.steps[i].decided_at = Some(now);
                r.steps[i].stuck = false;
                r.steps[i].stuck_reason = None;
                r.state = RequestState::Returned;
            }
        }
        r.updated_at = now;
        self.notifications().stage(&mut ws, &r, &opened_since(&before, &r, &routed), &stuck_in(&routed))?;
        ws.put(Table::Requests, r.id.as_bytes().to_vec(), &r)?;
        self.commit_audited(
            ws,
            p,
            match decision {
                "approve" => AuditAction::RequestApprove,
                "reject" => AuditAction::RequestReject,
                _ => AuditAction::RequestReturn,
            },
            &format!("request:{id}"),
            Some(with_routing(format!("step {} → {:?}", r.steps[i].name, r.state), &routed)),
        )?;
        self.after_application(&r);
        let person = self.request_person(&r)?;
        Ok(self.answer(p, r, person.as_ref()))
    }

    /// The initiator revises a returned (or draft) request; earlier decisions are voided.
    pub fn revise(&self, p: &Principal, id: RequestId, changes: Value, reason: Option<String>) -> Result<Request> {
        self.audited(p, AuditAction::RequestRevise, &format!("request:{id}"), true, || {
            let _guard = self.lock();
            let mut r = self.load_request(id)?;
            self.initiator_only(p, &r)?;
            if !matches!(r.state, RequestState::Returned | RequestState::Draft) {
                return Err(Error::Conflict(format!(
                    "only a draft or returned request can be revised (state {:?})",
                    r.state
                )));
            }
            let person = match r.person_id {
                Some(pid) => Some(self.persons().load_person(pid)?),
                None => None,
            };
            let mut changes = changes;
            if let Some(person) = &person {
                changes = self.reviews().terms(r.kind, person, changes, Some(r.id))?;
            }
            let (_, findings) = self.validated(person.as_ref(), r.kind, &changes)?;
            if let Some(person) = &person {
                self.reviews().check_start(r.kind, person, &changes)?;
            }
            let defs = self.definitions_of(&r)?;
            let flow = defs.flow(r.kind).ok_or_else(|| Error::Internal("flow vanished".into()))?;
            r.steps = flow.steps_for(Touches::of(&changed_fields(&changes)));
            r.changes = changes;
            r.findings = findings;
            if reason.is_some() {
                r.reason = reason;
            }
            r.base_version = person.as_ref().map(|p| p.version);
            let hash = change_hash(self.store().keys().suite(), &r.changes);
            for d in r.decisions.iter_mut() {
                d.void |= d.change_hash != hash;
            }
            r.state = RequestState::Draft;
            r.updated_at = now_ts();
            let mut ws = self.store().write_set();
            ws.put(Table::Requests, r.id.as_bytes().to_vec(), &r)?;
            self.commit_audited(ws, p, AuditAction::RequestRevise, &format!("request:{id}"), None)?;
            Ok((r, None))
        })
    }

    fn initiator_only(&self, p: &Principal, r: &Request) -> Result<()> {
        if r.initiator == p.user.username {
            Ok(())
        } else {
            Err(Error::Forbidden("rule workflow.initiator: only the initiator may do this".into()))
        }
    }

    /// Submits a draft (or a revised returned request), or rebases a conflicting one onto the current record.
    pub fn submit(&self, p: &Principal, id: RequestId) -> Result<Request> {
        self.audited(p, AuditAction::RequestSubmit, &format!("request:{id}"), true, || {
            let _guard = self.lock();
            let mut r = self.load_request(id)?;
            self.initiator_only(p, &r)?;
            let rebase = r.state == RequestState::Approved && r.conflict.is_some();
            if !(matches!(r.state, RequestState::Draft | RequestState::Returned) || rebase) {
                return Err(Error::Conflict(format!("request {id} cannot be submitted (state {:?})", r.state)));
            }
            let person = match r.person_id {
                Some(pid) => Some(self.persons().load_person(pid)?),
                None => None,
            };
            if let Some(person) = &person {
                r.changes = self.reviews().terms(r.kind, person, r.changes.clone(), Some(r.id))?;
            }
            let (_, findings) = self.validated(person.as_ref(), r.kind, &r.changes)?;
            if let Some(person) = &person {
                self.reviews().check_start(r.kind, person, &r.changes)?;
            }
            r.findings = findings;
            r.base_version = person.as_ref().map(|p| p.version);
            r.conflict = None;
            let defs = self.definitions_of(&r)?;
            let flow = defs.flow(r.kind).ok_or_else(|| Error::Internal("flow vanished".into()))?;
            r.steps = flow.steps_for(Touches::of(&changed_fields(&r.changes)));
            for d in r.decisions.iter_mut() {
                d.void = true;
            }
            let now = now_ts();
            r.state = workflow::open_next_group(&mut r.steps, now);
            let routed = self.route(&mut r)?;
            r.updated_at = now;
            let mut ws = self.store().write_set();
            if r.state == RequestState::Approved {
                self.stage_application(&mut ws, &mut r, p)?;
            }
            self.notifications().stage(&mut ws, &r, &opened_since(&[], &r, &routed), &stuck_in(&routed))?;
            ws.put(Table::Requests, r.id.as_bytes().to_vec(), &r)?;
            let detail = (!routed.is_empty()).then(|| with_routing(format!("{:?}", r.state), &routed));
            self.commit_audited(
                ws,
                p,
                if rebase { AuditAction::RequestRebase } else { AuditAction::RequestSubmit },
                &format!("request:{id}"),
                detail,
            )?;
            self.after_application(&r);
            Ok((r, None))
        })
    }

    /// The initiator withdraws a request that is not finished.
    pub fn withdraw(&self, p: &Principal, id: RequestId) -> Result<Request> {
        self.audited(p, AuditAction::RequestWithdraw, &format!("request:{id}"), true, || {
            let _guard = self.lock();
            let mut r = self.load_request(id)?;
            self.initiator_only(p, &r)?;
            if matches!(r.state, RequestState::Applied | RequestState::Rejected | RequestState::Withdrawn) {
                return Err(Error::Conflict(format!("request {id} is finished (state {:?})", r.state)));
            }
            r.state = RequestState::Withdrawn;
            r.updated_at = now_ts();
            let mut ws = self.store().write_set();
            ws.put(Table::Requests, r.id.as_bytes().to_vec(), &r)?;
            self.commit_audited(ws, p, AuditAction::RequestWithdraw, &format!("request:{id}"), None)?;
            Ok((r, None))
        })
    }

    /// The person a request is about, as stored now (none for a `create` not yet applied).
    pub(crate) fn request_person(&self, r: &Request) -> Result<Option<Person>> {
        match r.person_id {
            Some(id) => Ok(self.store().get::<Person>(Table::Persons, id.as_bytes())?),
            None => Ok(None),
        }
    }

    /// Whether a hard rule (own dossier, recorded relative) bars the caller from the request's person.
    pub(crate) fn barred_from_request(&self, p: &Principal, person: Option<&Person>) -> bool {
        person.is_some_and(|person| self.policy().hard_rules(&p.subject, &person_target(person)).is_some())
    }

    /// Who sees a request: nobody a hard rule bars from its person; else its initiator, HR, those with a step
    /// on it (reached) or a decision in it, and — while a step is stuck — the security administrator it was
    /// reported to.
    fn may_see_request(&self, p: &Principal, r: &Request, person: Option<&Person>) -> bool {
        if self.barred_from_request(p, person) {
            return false;
        }
        let me = &p.user.username;
        r.initiator == *me
            || self.policy().capability(&p.subject, Capability::EditPersons).allowed
            || r.steps.iter().any(|s| s.state != StepState::Waiting && self.is_assignee(p, r, &s.assignee))
            || r.decisions.iter().any(|d| d.actor == *me)
            || (r.steps.iter().any(|s| s.stuck) && self.is_assignee(p, r, STUCK_RECIPIENT))
    }

    /// A request as the caller may see it: its initiator and HR see all of it; others see of its changes and
    /// findings what they may see of the person (for a `create`, of a person of its proposed department; for a
    /// `transfer`, of either department), by the groups of [`Person::field_group`]; `hidden` lists what was left
    /// out (`id_number`: masked).
    fn answer(&self, p: &Principal, mut r: Request, person: Option<&Person>) -> Request {
        r.hidden.clear();
        let policy = self.policy();
        if r.initiator == p.user.username || policy.capability(&p.subject, Capability::EditPersons).allowed {
            return r;
        }
        if !r.kind.changes_person() {
            return r; // their terms (purpose, period, materials, appraisal) are the request's own, not the person's
        }
        let proposed = text_field(&r.changes, "department");
        let mut fields = match person {
            Some(person) => policy.fields_for(&p.subject, &person_target(person)),
            None => FieldAccess::default(),
        };
        let departments = match (r.kind, person) {
            (RequestKind::Create, _) => proposed.iter().collect::<Vec<_>>(),
            (k, Some(_)) if k.names_new_department() => proposed.iter().collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        for d in departments {
            let t = Target {
                person_id: person.map(|x| x.id),
                department: Some(d.as_str()),
                family: person.map(Person::relatives).unwrap_or_default(),
                ..Default::default()
            };
            fields.union(&policy.fields_for(&p.subject, &t));
        }
        let mut hidden = Vec::new();
        if let Some(obj) = r.changes.as_object_mut() {
            let keys: Vec<String> = obj.keys().cloned().collect();
            for k in keys {
                let group = change_group(&k, &obj[&k]);
                if group == "id_number" && fields.basic && !fields.full_id_number {
                    if let Some(v) = obj.get_mut(&k) {
                        *v = Value::String(masked_id(v));
                    }
                    hidden.push(k);
                } else if !group_visible(group, &fields) {
                    obj.remove(&k);
                    hidden.push(k);
                }
            }
        }
        r.findings.retain(|f| {
            let field = f.field.split(['[', '.']).next().unwrap_or_default();
            let group = change_group(field, &Value::Null);
            let ok = group_visible(group, &fields);
            if !ok {
                hidden.push(field.to_string());
            }
            ok
        });
        hidden.sort();
        hidden.dedup();
        r.hidden = hidden;
        r
    }

    /// One request (its initiator, HR, and those with a step on it), as the caller may see it.
    pub fn get(&self, p: &Principal, id: RequestId) -> Result<Request> {
        self.audited(p, AuditAction::RequestRead, &format!("request:{id}"), false, || {
            let r = self.load_request(id)?;
            let person = self.request_person(&r)?;
            if !self.may_see_request(p, &r, person.as_ref()) {
                return Err(Error::NotFound(format!("request {id} not found")));
            }
            Ok((self.answer(p, r, person.as_ref()), None))
        })
    }

    /// Requests the caller may see, newest first, filtered, each as the caller may see it.
    pub fn list(
        &self,
        p: &Principal,
        state: Option<&str>,
        kind: Option<&str>,
        person: Option<PersonId>,
    ) -> Result<Vec<Request>> {
        self.audited(p, AuditAction::RequestRead, "requests", false, || {
            let mut v = Vec::new();
            for (_, r) in self.store().scan::<Request>(Table::Requests, b"")? {
                let wanted = state.is_none_or(|s| {
                    serde_json::to_value(r.state).ok().and_then(|v| v.as_str().map(|x| x == s)).unwrap_or(false)
                }) && kind.is_none_or(|k| r.kind.as_str() == k)
                    && person.is_none_or(|pid| r.person_id == Some(pid));
                if !wanted {
                    continue;
                }
                let who = self.request_person(&r)?;
                if self.may_see_request(p, &r, who.as_ref()) {
                    v.push(self.answer(p, r, who.as_ref()));
                }
            }
            v.sort_by_key(|r| std::cmp::Reverse(r.created_at));
            let detail = format!("{} requests", v.len());
            Ok((v, Some(detail)))
        })
    }

    /// The caller's pending steps, oldest first, overdue flagged: the steps it may decide (not of a request it
    /// started, nor one whose person a hard rule bars it from, nor a second step of a request it decided on).
    pub fn inbox(&self, p: &Principal) -> Result<Vec<InboxItem>> {
        self.audited(p, AuditAction::RequestRead, "inbox", false, || {
            let items = self.inbox_items(p)?;
            let detail = format!("{} items", items.len());
            Ok((items, Some(detail)))
        })
    }

    fn inbox_items(&self, p: &Principal) -> Result<Vec<InboxItem>> {
        let now = now_ts();
        let policy = self.policy();
        let mut items = Vec::new();
        for (_, r) in self.store().scan::<Request>(Table::Requests, b"")? {
            if !matches!(r.state, RequestState::InReview | RequestState::InApproval) || r.initiator == p.user.username {
                continue;
            }
            let person = self.request_person(&r)?;
            let target = person.as_ref().map(person_target);
            for s in r.steps.iter().filter(|s| {
                s.state == StepState::Pending
                    && self.is_assignee(p, &r, &s.assignee)
                    && self.ineligible(&policy, &p.user, &p.subject, &r, &s.name, target.as_ref()).is_none()
            }) {
                let due = s.due.unwrap_or(now);
                items.push(InboxItem {
                    request_id: r.id,
                    kind: r.kind,
                    person_id: r.person_id,
                    step: s.name.clone(),
                    since: crate::model::ts_rfc3339(s.since.unwrap_or(r.created_at)),
                    due: crate::model::ts_rfc3339(due),
                    overdue: due < now,
                });
            }
        }
        items.sort_by(|a, b| a.since.cmp(&b.since));
        Ok(items)
    }
}

/// Who is told of a stuck step.
pub(crate) const STUCK_RECIPIENT: &str = "role:secadmin";

/// Whether an account (as its subject presents it: roles, department) is the assignee a step names.
fn assignee_matches(u: &User, s: &Subject, r: &Request, assignee: &str) -> bool {
    if let Some(role) = assignee.strip_prefix("role:") {
        return Role::parse(role).is_some_and(|role| s.roles.contains(&role));
    }
    if let Some(level) = assignee.strip_prefix("leader:") {
        return s.roles.contains(&Role::Leader) && level.parse::<u8>().ok() == u.leader_level;
    }
    let dept = match assignee {
        "head:person" => r.person_department.clone(),
        "head:new" => text_field(&r.changes, "department"),
        _ => None,
    };
    s.roles.contains(&Role::Head) && dept.is_some() && s.department == dept
}

/// A decision (not voided) by `who` on a step of the request other than `step`: four eyes.
fn decided_other<'a>(r: &'a Request, who: &str, step: &str) -> Option<&'a DecisionRecord> {
    r.decisions.iter().find(|d| !d.void && d.actor == who && d.step != step)
}

/// The part of a person record a change key (or a finding's field) belongs to, as [`Person::field_group`]
/// names them, `basic` for the rest. Keys that are not person fields: `contract_change` and `agreement` are
/// contracts, `settlement` is salary, `education` given as a list is the study records, `effective_on` and
/// `resign_on` are basic. `former_names` stays basic, as the person view has it.
fn change_group(key: &str, value: &Value) -> &'static str {
    match key {
        "contract_change" | "agreement" => "contracts",
        "settlement" => "salary",
        "education" if value.is_array() => "records",
        _ => Person::field_group(key).unwrap_or("basic"),
    }
}

/// Whether fields of a group are visible with this access (`id_number` whole).
fn group_visible(group: &str, f: &FieldAccess) -> bool {
    match group {
        "basic" => f.basic,
        "id_number" => f.full_id_number,
        "contact" => f.contact,
        "salary" => f.salary,
        "contracts" => f.contracts,
        "assessments" => f.assessments,
        "records" => f.records,
        _ => false,
    }
}

fn masked_id(v: &Value) -> String {
    v.as_str()
        .and_then(|s| crate::model::idnumber::IdNumber::parse(s).ok())
        .map(|i| i.masked())
        .unwrap_or_else(|| "********".into())
}

/// The steps pending now, with their assignees.
fn pending_steps(r: &Request) -> Vec<(String, String)> {
    r.steps.iter().filter(|s| s.state == StepState::Pending).map(|s| (s.name.clone(), s.assignee.clone())).collect()
}

/// The steps whose assignee must be told: pending now and not before (or with another assignee), or pending
/// again for someone after being stuck; not those stuck.
fn opened_since(before: &[(String, String)], r: &Request, routed: &[Routing]) -> Vec<String> {
    r.steps
        .iter()
        .filter(|s| s.state == StepState::Pending && !s.stuck)
        .filter(|s| {
            !before.contains(&(s.name.clone(), s.assignee.clone()))
                || routed.iter().any(|e| matches!(e, Routing::Unstuck { step } if *step == s.name))
        })
        .map(|s| s.name.clone())
        .collect()
}

/// The steps newly stuck.
fn stuck_in(routed: &[Routing]) -> Vec<String> {
    routed
        .iter()
        .filter_map(|e| match e {
            Routing::Stuck { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect()
}

/// An audit detail with what the routing did.
fn with_routing(detail: String, routed: &[Routing]) -> String {
    if routed.is_empty() {
        return detail;
    }
    let lines: Vec<String> = routed.iter().map(Routing::text).collect();
    format!("{detail}; {}", lines.join("; "))
}

/// Turnaround of one kind of request or one step: how long decisions took, and what is overdue now.
#[derive(Clone, Debug, Serialize)]
pub struct Turnaround {
    /// Request kind.
    pub kind: String,
    /// Step name, or `*` for whole requests (created → applied).
    pub step: String,
    /// Decisions (or applied requests) measured.
    pub count: usize,
    /// Median, hours.
    pub median_hours: Option<f64>,
    /// 90th percentile, hours.
    pub p90_hours: Option<f64>,
    /// Steps pending past their deadline now.
    pub overdue: usize,
}

fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    Some((sorted[i] * 10.0).round() / 10.0)
}

impl Reports<'_> {
    /// Whether the caller may see the turnaround report: HR, leaders and auditors, and the security administrator
    /// through its right to decide grants (the report holds figures of the flows, no personal data).
    pub(crate) fn may_see_turnaround(&self, p: &Principal) -> bool {
        let policy = self.policy();
        [Capability::EditPersons, Capability::DecideGrants, Capability::ReadAudit]
            .iter()
            .any(|c| policy.capability(&p.subject, *c).allowed)
    }

    /// Turnaround figures per kind and per step (HR, leaders, auditors).
    pub fn turnaround(&self, p: &Principal) -> Result<Vec<Turnaround>> {
        self.audited(p, AuditAction::ReportTurnaround, "requests", false, || {
            if !self.may_see_turnaround(p) {
                return Err(Error::Forbidden(
                    "rule report.turnaround: HR, leaders and the auditor see turnaround".into(),
                ));
            }
            let now = now_ts();
            let mut groups: std::collections::BTreeMap<(String, String), (Vec<f64>, usize)> = Default::default();
            for (_, r) in self.store().scan::<Request>(Table::Requests, b"")? {
                for s in &r.steps {
                    let e = groups.entry((r.kind.to_string(), s.name.clone())).or_default();
                    if let (Some(since), Some(at)) = (s.since, s.decided_at) {
                        e.0.push((at - since) as f64 / 3600.0);
                    }
                    if s.state == StepState::Pending && s.due.is_some_and(|d| d < now) {
                        e.1 += 1;
                    }
                }
                if r.state == RequestState::Applied {
                    let e = groups.entry((r.kind.to_string(), "*".into())).or_default();
                    e.0.push((r.updated_at - r.created_at) as f64 / 3600.0);
                }
            }
            let out = groups
                .into_iter()
                .map(|((kind, step), (mut hours, overdue))| {
                    hours.sort_by(f64::total_cmp);
                    Turnaround {
                        kind,
                        step,
                        count: hours.len(),
                        median_hours: percentile(&hours, 0.5),
                        p90_hours: percentile(&hours, 0.9),
                        overdue,
                    }
                })
                .collect();
            Ok((out, None))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::NewRequest;
    use crate::model::workflow::RequestState;
    use crate::model::{PersonId, RequestKind, Role};
    use crate::service::testing::{self, account, denial, leader};
    use crate::service::{Archive, Error, Principal};
    use serde_json::json;

    struct Office {
        a: Archive,
        hr: Principal,
        finance: Principal,
        leader1: Principal,
        leader2: Principal,
        person: PersonId,
    }

    fn office() -> Office {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let finance = account(&a, "finance", &[Role::Finance], "finance");
        let leader1 = leader(&a, "leader1", 1);
        let leader2 = leader(&a, "leader2", 2);
        let person = testing::person(&a, "张三", "research");
        Office { a, hr, finance, leader1, leader2, person }
    }

    fn salary_change(person: PersonId, draft: bool) -> NewRequest {
        NewRequest {
            kind: RequestKind::Update,
            person_id: Some(person),
            changes: json!({"salary_grade": "26"}),
            reason: Some("薪级正常晋升".into()),
            draft,
        }
    }

    #[test]
    fn a_salary_change_is_reviewed_by_finance_approved_by_both_leaders_and_applied_as_a_person_version() {
        let Office { a, hr, finance, leader1, leader2, person } = office();
        let r = a.requests().create(&hr, salary_change(person, true)).unwrap();
        assert_eq!(r.state, RequestState::Draft);
        assert!(a.requests().inbox(&finance).unwrap().is_empty(), "a draft waits for nobody");
        let r = a.requests().submit(&hr, r.id).unwrap();
        assert_eq!(r.state, RequestState::InReview);
        let inbox = a.requests().inbox(&finance).unwrap();
        assert_eq!(
            inbox.iter().map(|i| (i.request_id, i.step.as_str())).collect::<Vec<_>>(),
            [(r.id, "finance-review")]
        );
        // A leader's step is not reached yet.
        assert!(denial(a.requests().decide(&leader1, r.id, "approve", None)).contains("workflow.assignee"));

        assert_eq!(a.requests().decide(&finance, r.id, "approve", None).unwrap().state, RequestState::InApproval);
        assert_eq!(a.requests().decide(&leader1, r.id, "approve", None).unwrap().state, RequestState::InApproval);
        let r = a.requests().decide(&leader2, r.id, "approve", Some("同意".into())).unwrap();
        assert_eq!((r.state, r.applied_version), (RequestState::Applied, Some(2)));

        let versions = a.persons().versions(&hr, person).unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[1].person.salary_grade.as_deref(), Some("26"));
        assert!(
            versions[1].reason.as_deref().unwrap_or_default().contains(&r.id.to_string()),
            "the version names the request"
        );
        assert!(
            matches!(a.requests().decide(&leader2, r.id, "approve", None), Err(Error::Conflict(_))),
            "applied once"
        );
    }

    #[test]
    fn nobody_decides_a_request_they_started() {
        let Office { a, hr, finance, person, .. } = office();
        let r = a.requests().create(&finance, salary_change(person, false)).unwrap();
        assert_eq!(r.initiator, "finance");
        assert!(a.requests().inbox(&finance).unwrap().is_empty(), "not in the initiator's own inbox");
        assert!(denial(a.requests().decide(&finance, r.id, "approve", None)).contains("hard.own-request"));
        let hr_started = a.requests().create(&hr, salary_change(person, false)).unwrap();
        assert!(denial(a.requests().decide(&hr, hr_started.id, "approve", None)).contains("hard.own-request"));
        assert_eq!(a.persons().versions(&hr, person).unwrap().len(), 1);
    }

    #[test]
    fn nobody_decides_a_step_about_their_own_dossier() {
        let Office { a, hr, finance, .. } = office();
        let own = finance.user.person_id.unwrap();
        let r = a.requests().create(&hr, salary_change(own, false)).unwrap();
        assert!(denial(a.requests().decide(&finance, r.id, "approve", None)).contains("hard.own-dossier"));
        assert!(a.requests().inbox(&finance).unwrap().is_empty());
        assert!(matches!(a.requests().get(&finance, r.id), Err(Error::NotFound(_))), "nor sees it");
        // Nor does HR start one about its own.
        let mine = a.requests().create(&hr, salary_change(hr.user.person_id.unwrap(), false));
        assert!(denial(mine).contains("hard.own-dossier"));
    }

    #[test]
    fn a_rejected_request_changes_nothing() {
        let Office { a, hr, finance, person, .. } = office();
        let r = a.requests().create(&hr, salary_change(person, false)).unwrap();
        let r = a.requests().decide(&finance, r.id, "reject", Some("不符合条件".into())).unwrap();
        assert_eq!(r.state, RequestState::Rejected);
        assert_eq!(a.persons().versions(&hr, person).unwrap().len(), 1);
        assert!(matches!(a.requests().decide(&finance, r.id, "approve", None), Err(Error::Conflict(_))));
    }

    #[test]
    fn only_the_initiator_withdraws_and_a_withdrawn_request_is_never_applied() {
        let Office { a, hr, finance, leader1, leader2, person } = office();
        let r = a.requests().create(&hr, salary_change(person, false)).unwrap();
        assert!(denial(a.requests().withdraw(&finance, r.id)).contains("workflow.initiator"));
        let r = a.requests().withdraw(&hr, r.id).unwrap();
        assert_eq!(r.state, RequestState::Withdrawn);
        assert!(matches!(a.requests().withdraw(&hr, r.id), Err(Error::Conflict(_))));
        assert!(a.requests().inbox(&finance).unwrap().is_empty());
        for who in [&finance, &leader1, &leader2] {
            let d = a.requests().decide(who, r.id, "approve", None);
            assert!(matches!(d, Err(Error::Conflict(_) | Error::Forbidden(_))), "{}: {d:?}", who.user.username);
        }
        assert_eq!(a.requests().get(&hr, r.id).unwrap().state, RequestState::Withdrawn);
        assert_eq!(a.persons().versions(&hr, person).unwrap().len(), 1);
    }

    #[test]
    fn a_request_rejected_in_one_parallel_review_is_not_revived_by_the_other() {
        let Office { a, hr, finance, leader1, leader2, person } = office();
        let head = account(&a, "head-research", &[Role::Head], "research");
        let mut new = salary_change(person, false);
        new.changes = json!({"salary_grade": "26", "position": "主任科员"});
        let r = a.requests().create(&hr, new).unwrap();
        assert_eq!(r.state, RequestState::InReview);
        assert_eq!(a.requests().decide(&finance, r.id, "reject", None).unwrap().state, RequestState::Rejected);
        // The head's review of the same group is still marked pending: deciding it must not revive the request.
        assert!(matches!(a.requests().decide(&head, r.id, "approve", None), Err(Error::Conflict(_))));
        for who in [&leader1, &leader2] {
            assert!(a.requests().decide(who, r.id, "approve", None).is_err());
        }
        assert_eq!(a.requests().get(&hr, r.id).unwrap().state, RequestState::Rejected);
        assert_eq!(a.persons().versions(&hr, person).unwrap().len(), 1);
    }

    #[test]
    fn a_routine_change_by_hr_takes_the_fast_path_and_one_outside_it_may_not_be_started_by_finance() {
        let Office { a, hr, finance, person, .. } = office();
        let r = a
            .requests()
            .create(
                &hr,
                NewRequest {
                    kind: RequestKind::Update,
                    person_id: Some(person),
                    changes: json!({"phone": "13912345678"}),
                    reason: None,
                    draft: false,
                },
            )
            .unwrap();
        assert_eq!((r.state, r.applied_version), (RequestState::Applied, Some(2)));
        assert_eq!(a.persons().get(&hr, person).unwrap().person.phone.as_deref(), Some("13912345678"));
        let transfer = NewRequest {
            kind: RequestKind::Transfer,
            person_id: Some(person),
            changes: json!({"department": "sales", "position": "专员"}),
            reason: None,
            draft: false,
        };
        assert!(denial(a.requests().create(&finance, transfer)).contains("workflow.start"));
    }
}
