//! 专项审核 (special review) of a cadre's dossier (docs/DOMAIN.md §4, "专项审核"; the record is
//! [`crate::model::review`]).
//!
//! HR records the review as a draft (`PUT /api/v1/persons/{id}/review`, each recording a new version, kept) and
//! submits it as a `special_review` request, whose changes the archive fills from the stored draft: the version it
//! approves and the determined (认定) values. The flow (初审 → 复审 → 认定 → 组织审批) is data in `workflows.toml`;
//! while it runs the draft cannot be changed. Applying it writes the values into the person record (a person
//! version naming the request) and concludes the review. From then on:
//! - a determined field changes only by an update request that cites a 组织说明 filed in the dossier
//!   (`org_explanation`: its material id) — checked when the request starts;
//! - a promotion starts only for a dossier whose review was concluded within `Config::review_valid_months`
//!   (凡提必审, 任前审核), and the refusal says why.

use super::{Error, Principal, Result, Reviews, check_version};
use crate::model::policy::Capability;
use crate::model::request::ORG_EXPLANATION;
use crate::model::review::{
    Conclusion, ProblemKind, ReviewEntry, ReviewInput, ReviewItem, ReviewState, SpecialReview, check_input,
    cited_materials,
};
use crate::model::today;
use crate::model::workflow::RequestState;
use crate::model::{AuditAction, MaterialId, Person, PersonId, RequestId, RequestKind, now_ts};
use crate::store::{Table, WriteSet};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A review as the API and the web show it: the record, where it stands, and what follows from it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    /// Whose dossier.
    #[schema(value_type = String)]
    pub person_id: PersonId,
    /// Where it stands.
    pub state: ReviewState,
    /// The items reviewed.
    pub entries: Vec<ReviewEntry>,
    /// A note on the review as a whole.
    pub note: Option<String>,
    /// The record's version (0: never recorded); send it as `If-Match` with the next recording.
    pub version: u32,
    /// Last recorded (Unix seconds), and by whom.
    pub updated_at: Option<i64>,
    /// Who recorded the last version.
    pub updated_by: Option<String>,
    /// The `special_review` request of the last submission, and its state.
    #[schema(value_type = Option<String>)]
    pub request_id: Option<RequestId>,
    /// That request's state.
    pub request_state: Option<RequestState>,
    /// The last conclusion.
    pub conclusion: Option<Conclusion>,
    /// Until when the conclusion counts for a promotion (凡提必审), `YYYY-MM-DD`.
    pub valid_until: Option<String>,
    /// The person fields the conclusion fixes: they change only with a 组织说明.
    pub locked_fields: Vec<String>,
    /// The problems found, by kind.
    pub problems: BTreeMap<String, usize>,
}

/// The roles that take part in a special review, and read it.
const REVIEW_READERS: [crate::model::Role; 4] =
    [crate::model::Role::Hr, crate::model::Role::Admin, crate::model::Role::Head, crate::model::Role::Leader];

fn review_key(person: PersonId) -> Vec<u8> {
    person.as_bytes().to_vec()
}

/// When a conclusion at `at` stops counting for a promotion.
fn valid_until(at: i64, months: u32) -> time::Date {
    let concluded = time::OffsetDateTime::from_unix_timestamp(at).map(|t| t.date()).unwrap_or(time::Date::MIN);
    crate::model::date::add_months(concluded, months)
}

impl Reviews<'_> {
    fn load(&self, person: PersonId) -> Result<Option<SpecialReview>> {
        Ok(self.store().get(Table::Reviews, &review_key(person))?)
    }

    fn request_state(&self, id: Option<RequestId>) -> Result<Option<RequestState>> {
        let Some(id) = id else { return Ok(None) };
        Ok(self.store().get::<super::workflows::Request>(Table::Requests, id.as_bytes())?.map(|r| r.state))
    }

    /// Where a review stands on `on`.
    fn state_of(&self, r: Option<&SpecialReview>, request: Option<RequestState>, on: time::Date) -> ReviewState {
        let Some(r) = r else { return ReviewState::None };
        match request {
            Some(RequestState::InReview | RequestState::Draft) if r.conclusion_for(r.request_id).is_none() => {
                return ReviewState::InReview;
            }
            Some(RequestState::InApproval | RequestState::Approved) if r.conclusion_for(r.request_id).is_none() => {
                return ReviewState::InApproval;
            }
            _ => {}
        }
        match &r.conclusion {
            Some(c) if r.version == c.review_version => {
                if valid_until(c.at, self.config().review_valid_months) < on {
                    ReviewState::Expired
                } else {
                    ReviewState::Concluded
                }
            }
            _ => ReviewState::Draft,
        }
    }

    fn view(&self, person: PersonId, r: Option<SpecialReview>) -> Result<ReviewView> {
        let request_state = self.request_state(r.as_ref().and_then(|r| r.request_id))?;
        let state = self.state_of(r.as_ref(), request_state, today());
        let months = self.config().review_valid_months;
        Ok(match r {
            None => ReviewView {
                person_id: person,
                state,
                entries: Vec::new(),
                note: None,
                version: 0,
                updated_at: None,
                updated_by: None,
                request_id: None,
                request_state: None,
                conclusion: None,
                valid_until: None,
                locked_fields: Vec::new(),
                problems: BTreeMap::new(),
            },
            Some(r) => ReviewView {
                person_id: person,
                state,
                locked_fields: r.locked_fields().into_iter().map(String::from).collect(),
                problems: r.problem_counts().into_iter().map(|(k, n)| (k.as_str().to_string(), n)).collect(),
                valid_until: r.conclusion.as_ref().map(|c| valid_until(c.at, months).to_string()),
                entries: r.entries,
                note: r.note,
                version: r.version,
                updated_at: Some(r.updated_at),
                updated_by: Some(r.updated_by),
                request_id: r.request_id,
                request_state,
                conclusion: r.conclusion,
            },
        })
    }

    /// Whether the caller's roles read special reviews (HR, administration, heads, leaders); the dossier decides the
    /// rest.
    pub fn readable_by(&self, p: &Principal) -> bool {
        p.subject.roles.iter().any(|r| REVIEW_READERS.contains(r))
    }

    /// The review of a cadre, for those who take part in it — HR, administration, heads and leaders — among
    /// those who may read the person record (never one's own, nor a relative's): it quotes what the source
    /// materials say, which finance or legal may not read.
    pub fn get(&self, p: &Principal, person_id: PersonId) -> Result<ReviewView> {
        self.audited(p, AuditAction::ReviewRead, &format!("person:{person_id}"), false, || {
            let person = self.persons().load_person(person_id)?;
            self.check_person(p, &person)?;
            if !self.readable_by(p) {
                return Err(Error::Forbidden(
                    "rule review.read: a special review is read by HR, administration, heads and leaders".into(),
                ));
            }
            Ok((self.view(person_id, self.load(person_id)?)?, None))
        })
    }

    /// Records a new version of the review (HR, who may edit the record). Refused while a submission is in its
    /// flow; `If-Match` names the version read (none for the first recording); every material cited must be one
    /// of this dossier's, not destroyed.
    pub fn record(
        &self,
        p: &Principal,
        person_id: PersonId,
        expected: Option<u32>,
        input: ReviewInput,
    ) -> Result<ReviewView> {
        self.audited(p, AuditAction::ReviewRecord, &format!("person:{person_id}"), true, || {
            self.require(p, Capability::EditPersons)?;
            let person = self.persons().load_person(person_id)?;
            self.check_person(p, &person)?;
            check_input(&input).map_err(|(field, message)| Error::invalid(&field, message))?;
            self.check_cited(person_id, &cited_materials(&input))?;
            let _guard = self.lock();
            let current = self.load(person_id)?;
            match &current {
                Some(c) => check_version(expected, c.version)?,
                None if expected.is_some_and(|e| e != 0) => {
                    return Err(Error::PreconditionFailed { expected: expected.unwrap_or(0), current: 0 });
                }
                None => {}
            }
            if let Some(c) = &current {
                self.refuse_in_flight(c)?;
            }
            let next = SpecialReview {
                person_id,
                entries: input.entries,
                note: input.note,
                version: current.as_ref().map_or(1, |c| c.version + 1),
                updated_at: now_ts(),
                updated_by: p.user.username.clone(),
                request_id: current.as_ref().and_then(|c| c.request_id),
                conclusion: current.and_then(|c| c.conclusion),
            };
            let mut ws = self.store().write_set();
            self.stage(&mut ws, &next)?;
            let detail = format!("version {}: {} items", next.version, next.entries.len());
            self.commit_audited(ws, p, AuditAction::ReviewRecord, &format!("person:{person_id}"), Some(detail))?;
            Ok((self.view(person_id, Some(next))?, None))
        })
    }

    fn stage(&self, ws: &mut WriteSet, r: &SpecialReview) -> Result<()> {
        ws.put(Table::Reviews, review_key(r.person_id), r)?;
        Ok(ws.put(Table::ReviewVersions, super::version_key(r.person_id.as_bytes(), r.version), r)?)
    }

    fn refuse_in_flight(&self, r: &SpecialReview) -> Result<()> {
        match self.request_state(r.request_id)? {
            Some(
                s @ (RequestState::Draft | RequestState::InReview | RequestState::InApproval | RequestState::Approved),
            ) if r.conclusion_for(r.request_id).is_none() => Err(Error::Conflict(format!(
                "the review is in its approval flow (request {}, {s:?}); it changes only after that request is \
                 decided, returned or withdrawn",
                r.request_id.map(|i| i.to_string()).unwrap_or_default()
            ))),
            _ => Ok(()),
        }
    }

    /// Every cited material must be this dossier's and not destroyed.
    fn check_cited(&self, person_id: PersonId, ids: &[MaterialId]) -> Result<()> {
        for id in ids {
            let m = self.store().get::<crate::model::Material>(Table::Materials, id.as_bytes())?;
            match m {
                Some(m) if m.person_id == person_id && m.destroyed_by.is_none() => {}
                _ => {
                    return Err(Error::invalid(
                        "entries",
                        format!("material {id} is not a material of this dossier (or was destroyed)"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The terms a request of `kind` about `person` goes (or goes again, `revising` it) into its flow with: a
    /// `special_review` takes them from the stored review whatever the client sent ([`Reviews::submission`]); any
    /// other kind keeps its own.
    pub(crate) fn terms(
        &self,
        kind: RequestKind,
        person: &Person,
        changes: Value,
        revising: Option<RequestId>,
    ) -> Result<Value> {
        match kind {
            RequestKind::SpecialReview => self.submission(person, revising),
            _ => Ok(changes),
        }
    }

    /// The changes of a `special_review` request about `person`, from the stored draft: the version approved and
    /// the determined values. Refused when there is no draft, a submission is already in its flow, or an item
    /// is not determined.
    fn submission(&self, person: &Person, revising: Option<RequestId>) -> Result<Value> {
        let r = self
            .load(person.id)?
            .ok_or_else(|| Error::invalid("person_id", "record the review first (PUT /api/v1/persons/{id}/review)"))?;
        if revising.is_none() || r.request_id != revising {
            self.refuse_in_flight(&r)?;
        }
        let missing = r.undetermined(person.party_join.is_some());
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|i| i.label().0).collect();
            return Err(Error::invalid("entries", format!("not yet determined (认定): {}", names.join("、"))));
        }
        let mut changes = json!({"review_version": r.version});
        for (field, value) in r.determined_fields() {
            changes[field] = Value::String(value);
        }
        Ok(changes)
    }

    /// Marks the stored draft as submitted under `request` (in the request's own commit).
    pub(crate) fn stage_submitted(&self, ws: &mut WriteSet, person: PersonId, request: RequestId) -> Result<()> {
        let mut r = self.load(person)?.ok_or_else(|| Error::Internal("the review vanished".into()))?;
        r.request_id = Some(request);
        Ok(ws.put(Table::Reviews, review_key(person), &r)?)
    }

    /// Concludes the review an applied `special_review` request approved (in the request's own commit).
    pub(crate) fn stage_conclusion(
        &self,
        ws: &mut WriteSet,
        person: PersonId,
        request: RequestId,
        review_version: u32,
        approvers: Vec<String>,
    ) -> Result<()> {
        let mut r = self.load(person)?.ok_or_else(|| Error::Internal("the review vanished".into()))?;
        if r.version != review_version {
            return Err(Error::Conflict(format!(
                "the request approves version {review_version} of the review, which is now at version {}",
                r.version
            )));
        }
        r.conclusion = Some(Conclusion { request_id: request, at: now_ts(), review_version, approvers });
        Ok(ws.put(Table::Reviews, review_key(person), &r)?)
    }

    /// Moves a conclusion back in time. Only the demo loader calls this, to show a review concluded in an
    /// earlier campaign; no use case reaches it.
    pub(super) fn backdate_conclusion(&self, person: PersonId, at: i64) -> Result<()> {
        let _guard = self.lock();
        let mut r = self.load(person)?.ok_or_else(|| Error::Internal("no review to backdate".into()))?;
        if let Some(c) = &mut r.conclusion {
            c.at = at;
        }
        let mut ws = self.store().write_set();
        ws.put(Table::Reviews, review_key(person), &r)?;
        Ok(self.store().commit(ws)?)
    }

    /// The rules a review sets on starting a request: a promotion needs a current conclusion (凡提必审); an update
    /// of a determined field cites a 组织说明 filed in the dossier.
    pub(crate) fn check_start(&self, kind: RequestKind, person: &Person, changes: &Value) -> Result<()> {
        let review = self.load(person.id)?;
        match kind {
            RequestKind::Promotion => self.require_current(person, review.as_ref()),
            RequestKind::Update => {
                let Some(r) = review else { return Ok(()) };
                let current = serde_json::to_value(person).map_err(|e| Error::Internal(e.to_string()))?;
                let touched: Vec<&str> = r
                    .locked_fields()
                    .into_iter()
                    .filter(|f| changes.get(*f).is_some_and(|v| current.get(*f) != Some(v)))
                    .collect();
                if touched.is_empty() {
                    return Ok(());
                }
                let names: Vec<&str> =
                    touched.iter().filter_map(|f| ReviewItem::parse(f)).map(|i| i.label().0).collect();
                let cited = changes
                    .get(ORG_EXPLANATION)
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<MaterialId>().ok())
                    .ok_or_else(|| {
                        Error::invalid(
                            ORG_EXPLANATION,
                            format!(
                                "{} 已经专项审核认定：变更须附组织说明（org_explanation：该说明在本档案中的材料编号）",
                                names.join("、")
                            ),
                        )
                    })?;
                self.check_cited(person.id, &[cited]).map_err(|_| {
                    Error::invalid(ORG_EXPLANATION, format!("material {cited} is not a material of this dossier"))
                })
            }
            _ => Ok(()),
        }
    }

    fn require_current(&self, person: &Person, review: Option<&SpecialReview>) -> Result<()> {
        let months = self.config().review_valid_months;
        let rule = "rule review.required (凡提必审)";
        let Some(c) = review.and_then(|r| r.conclusion.as_ref()) else {
            return Err(Error::Conflict(format!(
                "{rule}: {} has no concluded special review (专项审核); a promotion starts only after one",
                person.name
            )));
        };
        let until = valid_until(c.at, months);
        if until < today() {
            return Err(Error::Conflict(format!(
                "{rule}: the special review of {} was concluded more than {months} months ago (valid until {until}); \
                 review the dossier again before a promotion",
                person.name
            )));
        }
        Ok(())
    }

    /// The 专审进度 rows of these persons: per department, dossiers by review state and problems by kind.
    pub(crate) fn progress(&self, persons: &[Person], label: impl Fn(&str) -> String) -> Result<Vec<Vec<Value>>> {
        let mut by_dept: BTreeMap<String, Tally> = BTreeMap::new();
        let on = today();
        for person in persons {
            let r = self.load(person.id)?;
            let state = self.state_of(r.as_ref(), self.request_state(r.as_ref().and_then(|r| r.request_id))?, on);
            let row = by_dept.entry(person.department.clone()).or_default();
            *row.0.entry(state).or_default() += 1;
            for (k, n) in r.map(|r| r.problem_counts()).unwrap_or_default() {
                *row.1.entry(k).or_default() += n as u64;
            }
        }
        Ok(by_dept
            .into_iter()
            .map(|(dept, (states, problems))| {
                let total: u64 = states.values().sum();
                let mut row: Vec<Value> = vec![label(&dept).into(), total.into()];
                row.extend(ReviewState::ALL.iter().map(|s| states.get(s).copied().unwrap_or(0).into()));
                row.extend(ProblemKind::ALL.iter().map(|k| problems.get(k).copied().unwrap_or(0).into()));
                row
            })
            .collect())
    }
}

/// A department's dossiers by review state, and its problems by kind.
type Tally = (BTreeMap<ReviewState, u64>, BTreeMap<ProblemKind, u64>);

/// The columns of the 专审进度 report.
pub fn progress_columns() -> Vec<String> {
    let mut c: Vec<String> = vec!["department".into(), "dossiers".into()];
    c.extend(ReviewState::ALL.iter().map(|s| s.as_str().to_string()));
    c.extend(ProblemKind::ALL.iter().map(|k| format!("problems_{}", k.as_str())));
    c
}

impl SpecialReview {
    /// The conclusion, if it is the one `request` made.
    fn conclusion_for(&self, request: Option<RequestId>) -> Option<&Conclusion> {
        self.conclusion.as_ref().filter(|c| Some(c.request_id) == request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::service::audit::{AuditQuery, Outcome};
    use crate::service::testing::{self, account, denial, leader, meta};
    use crate::service::workflows::NewRequest;

    fn input(v: Value) -> ReviewInput {
        serde_json::from_value(v).unwrap()
    }

    fn request(kind: RequestKind, person: PersonId, changes: Value) -> NewRequest {
        NewRequest { kind, person_id: Some(person), changes, reason: Some("test".into()), draft: false }
    }

    #[test]
    fn a_review_runs_its_flow_writes_what_it_determined_and_then_guards_promotions_and_the_fixed_fields() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let admin = account(&a, "admin", &[Role::Admin], "admin");
        let head = account(&a, "head", &[Role::Head], "research");
        let (leader1, leader2) = (leader(&a, "leader1", 1), leader(&a, "leader2", 2));
        let person = testing::person(&a, "张三", "research");
        let resume = testing::file_text(&a, person, meta("1", "干部履历表", &[]), "出生 1980.05 参加工作 2002.07");
        let diploma = testing::file_text(&a, person, meta("4-1", "毕业证书", &[]), "大学本科");
        let promotion = || request(RequestKind::Promotion, person, json!({"position": "副处长"}));

        // 凡提必审: no promotion before a review is concluded, and the refusal says why.
        match a.requests().create(&hr, promotion()) {
            Err(Error::Conflict(m)) => assert!(m.contains("review.required"), "{m}"),
            other => panic!("expected 409, got {other:?}"),
        }
        let submit = || a.requests().create(&hr, request(RequestKind::SpecialReview, person, json!({})));
        assert!(matches!(submit(), Err(Error::Invalid { .. })), "nothing recorded: nothing to submit");

        let recorded = a
            .reviews()
            .record(
                &hr,
                person,
                None,
                input(json!({"entries": [
                    {"item": "birth_date", "found": [{"material_id": resume, "value": "1980.05"}],
                     "determined": "1980-05-17", "evidence": [resume]},
                    {"item": "work_start", "determined": "2002-07", "evidence": [resume]},
                    {"item": "education", "problems": [{"kind": "altered", "note": "毕业时间有涂改", "material_id": diploma}]},
                ]})),
            )
            .unwrap();
        assert_eq!((recorded.state, recorded.version), (ReviewState::Draft, 1));
        match submit() {
            Err(Error::Invalid { message, .. }) => assert!(message.contains("学历学位"), "{message}"),
            other => panic!("an undetermined item blocks the submission: {other:?}"),
        }
        let stale = a.reviews().record(&hr, person, Some(7), ReviewInput::default());
        assert!(matches!(stale, Err(Error::PreconditionFailed { .. })));
        let v2 = a
            .reviews()
            .record(
                &hr,
                person,
                Some(1),
                input(json!({"entries": [
                    {"item": "birth_date", "determined": "1980-05-17", "evidence": [resume]},
                    {"item": "work_start", "determined": "2002-07", "evidence": [resume]},
                    {"item": "education", "determined": "大学本科", "evidence": [diploma],
                     "problems": [{"kind": "altered", "note": "毕业时间有涂改", "material_id": diploma}]},
                ]})),
            )
            .unwrap();
        assert_eq!(v2.version, 2);

        let r = submit().unwrap();
        assert_eq!(r.changes["review_version"], 2, "the request carries the stored review, not the client's terms");
        assert_eq!(r.changes["birth_date"], "1980-05-17");
        assert_eq!(a.reviews().get(&hr, person).unwrap().state, ReviewState::InReview);
        assert!(matches!(a.reviews().record(&hr, person, Some(2), ReviewInput::default()), Err(Error::Conflict(_))));
        assert!(matches!(submit(), Err(Error::Conflict(_))), "one submission at a time");

        for (who, step) in [(&admin, "初审"), (&head, "复审"), (&leader1, "认定")] {
            let next = a.requests().decide(who, r.id, "approve", None).unwrap();
            assert_ne!(next.state, RequestState::Applied, "{step} is not the last step");
        }
        assert_eq!(a.reviews().get(&hr, person).unwrap().state, ReviewState::InApproval);
        let done = a.requests().decide(&leader2, r.id, "approve", None).unwrap();
        assert_eq!(done.state, RequestState::Applied);

        let record = a.persons().load_person(person).unwrap();
        assert_eq!(record.birth_date.map(|d| d.to_string()).as_deref(), Some("1980-05-17"));
        assert_eq!(record.work_start.map(|d| d.to_string()).as_deref(), Some("2002-07"));
        let view = a.reviews().get(&hr, person).unwrap();
        assert_eq!(view.state, ReviewState::Concluded);
        assert_eq!(view.locked_fields, ["birth_date", "work_start", "education"]);
        assert_eq!(view.conclusion.as_ref().map(|c| c.approvers.len()), Some(4));
        assert_eq!(view.problems.get("altered"), Some(&1));

        // Now a promotion starts; a determined field changes only with a 组织说明 filed in this dossier.
        a.requests().create(&hr, promotion()).unwrap();
        let change = |extra: Value| {
            let mut c = json!({"work_start": "2001-09"});
            c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            a.requests().create(&hr, request(RequestKind::Update, person, c))
        };
        assert!(
            matches!(change(json!({})), Err(Error::Invalid { findings, .. }) if findings[0].field == ORG_EXPLANATION)
        );
        let elsewhere = testing::person(&a, "李四", "research");
        let foreign = testing::file_text(&a, elsewhere, meta("5", "组织说明", &[]), "说明");
        assert!(matches!(change(json!({ORG_EXPLANATION: foreign})), Err(Error::Invalid { .. })));
        let explanation = testing::file_text(&a, person, meta("5", "关于张三参加工作时间的组织说明", &[]), "说明");
        let r = change(json!({ORG_EXPLANATION: explanation})).unwrap();
        assert!(r.state == RequestState::InReview || r.state == RequestState::InApproval, "{:?}", r.state);
        let unchanged = json!({"work_start": "2002-07", "phone": "010-1"});
        assert!(a.requests().create(&hr, request(RequestKind::Update, person, unchanged)).is_ok(), "same value");

        // The conclusion ages out.
        let stored = a.reviews().load(person).unwrap();
        let later = today() + time::Duration::days(37 * 31);
        assert_eq!(a.reviews().state_of(stored.as_ref(), Some(RequestState::Applied), later), ReviewState::Expired);
    }

    #[test]
    fn revising_resubmitting_or_an_earlier_request_cannot_step_around_the_review() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let admin = account(&a, "admin", &[Role::Admin], "admin");
        let head = account(&a, "head", &[Role::Head], "research");
        let (leader1, leader2) = (leader(&a, "leader1", 1), leader(&a, "leader2", 2));
        let record =
            json!({"name": "赵六", "department": "research", "birth_date": "1980-05-17", "work_start": "2002-07"});
        let person = a.persons().create(&testing::loader(), record).unwrap().record.id;
        let resume = testing::file_text(&a, person, meta("1", "干部履历表", &[]), "履历");
        let entries = json!({"entries": [
            {"item": "birth_date", "determined": "1980-05-17", "evidence": [resume]},
            {"item": "work_start", "determined": "2002-07", "evidence": [resume]},
        ]});
        a.reviews().record(&hr, person, None, input(entries)).unwrap();
        // An update of the work start, started before the review concludes.
        let early =
            a.requests().create(&hr, request(RequestKind::Update, person, json!({"work_start": "2003-07"}))).unwrap();
        let sr = a.requests().create(&hr, request(RequestKind::SpecialReview, person, json!({}))).unwrap();

        // 初审 returns it; HR's revision cannot put other terms than the stored review's.
        assert_eq!(
            a.requests().decide(&admin, sr.id, "return", Some("补充".into())).unwrap().state,
            RequestState::Returned
        );
        let forged = json!({"birth_date": "1990-01-01", "work_start": "2010-07", "review_version": 1});
        let revised = a.requests().revise(&hr, sr.id, forged, None).unwrap();
        assert_eq!(
            (revised.changes["birth_date"].as_str(), revised.changes["work_start"].as_str()),
            (Some("1980-05-17"), Some("2002-07"))
        );
        a.requests().submit(&hr, sr.id).unwrap();
        for who in [&admin, &head, &leader1, &leader2] {
            a.requests().decide(who, sr.id, "approve", None).unwrap();
        }
        assert_eq!(a.persons().load_person(person).unwrap().version, 1, "the review confirmed the record");

        // The earlier update, approved now, is not applied: the work start is determined.
        a.requests().decide(&leader1, early.id, "approve", None).unwrap();
        let r = a.requests().decide(&leader2, early.id, "approve", None).unwrap();
        assert_eq!(r.state, RequestState::Approved);
        assert!(r.conflict.as_deref().is_some_and(|c| c.contains(ORG_EXPLANATION)), "{:?}", r.conflict);
        assert_eq!(
            a.persons().load_person(person).unwrap().work_start.map(|d| d.to_string()).as_deref(),
            Some("2002-07")
        );
        // Resubmitting it is refused for the same reason.
        assert!(matches!(a.requests().submit(&hr, early.id), Err(Error::Invalid { .. })));
    }

    #[test]
    fn nobody_reviews_their_own_dossier_and_the_administrators_and_other_roles_neither_record_nor_read() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let own = hr.user.person_id.unwrap();
        let m = testing::file_text(&a, own, meta("1", "干部履历表", &[]), "履历");
        let body = || input(json!({"entries": [{"item": "birth_date", "determined": "1980", "evidence": [m]}]}));
        assert!(denial(a.reviews().record(&hr, own, None, body())).contains("hard.own-dossier"));
        assert!(denial(a.reviews().get(&hr, own)).contains("hard.own-dossier"));
        let other = testing::person(&a, "王五", "research");
        for (name, role) in [("it", Role::It), ("sec", Role::Secadmin), ("aud", Role::Auditor), ("fin", Role::Finance)]
        {
            let p = account(&a, name, &[role], "admin");
            assert!(denial(a.reviews().record(&p, other, None, ReviewInput::default())).contains("rule "), "{name}");
        }
        for (name, role) in
            [("it2", Role::It), ("aud2", Role::Auditor), ("scan", Role::Scanner), ("fin2", Role::Finance)]
        {
            let p = account(&a, name, &[role], "admin");
            assert!(matches!(a.reviews().get(&p, other), Err(Error::Forbidden(_))), "{name} reads no review");
        }
        // Evidence from another dossier is refused.
        let r = a.reviews().record(&hr, other, None, body());
        assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
        let auditor = account(&a, "auditor", &[Role::Auditor], "it");
        let q = AuditQuery { action: Some("review.*".into()), outcome: Some(Outcome::Denied), ..Default::default() };
        let (entries, _) = a.audit_trail().query(&auditor, &q).unwrap();
        assert_eq!(entries.len(), 10, "own dossier twice, four recordings, four readings: {entries:?}");
        assert!(a.reviews().load(other).unwrap().is_none(), "no refused recording was stored");
    }

    #[test]
    fn a_conclusion_counts_for_the_configured_months() {
        let at = time::macros::datetime!(2024-01-31 10:00 UTC).unix_timestamp();
        assert_eq!(valid_until(at, 36), time::macros::date!(2027 - 01 - 31));
        assert_eq!(valid_until(at, 1), time::macros::date!(2024 - 02 - 29));
        assert_eq!(valid_until(at, 0), time::macros::date!(2024 - 01 - 31));
    }
}
