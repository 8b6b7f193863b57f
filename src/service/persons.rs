//! Person records: created, read (with the fields the caller may see), listed, patched with `If-Match`, every
//! write one atomic commit of the record and its new immutable version; and a dossier's catalogue (目录).

use super::{Error, Persons, Principal, Result, blocking_findings, check_version, version_key};
use crate::model::AuditAction;
use crate::model::policy::{Access, Capability};
use crate::model::{Finding, Material, Person, PersonId, WithText, now_ts};
use crate::store::{Table, WriteSet};
use serde::{Deserialize, Serialize};

/// One immutable version of a person record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PersonVersion {
    /// Version number, from 1.
    pub number: u32,
    /// The record as it was.
    pub person: Person,
    /// Who made it.
    pub author: String,
    /// When (Unix seconds).
    pub at: i64,
    /// Why.
    pub reason: Option<String>,
}

/// A person record with the findings that travelled with its last write (warnings).
#[derive(Clone, Debug, Serialize)]
pub struct Saved<T> {
    /// The record.
    pub record: T,
    /// Warnings.
    pub findings: Vec<Finding>,
}

/// A person record as the caller may see it, with the names of the parts hidden from them.
#[derive(Clone, Debug, Serialize)]
pub struct PersonView {
    /// The record, redacted.
    #[serde(flatten)]
    pub person: Person,
    /// Parts hidden from the caller (`id_number` masked, `salary`, `contracts`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hidden: Vec<&'static str>,
}

/// A page of persons.
#[derive(Clone, Debug, Default)]
pub struct PersonQuery {
    /// Name (or former name) contains.
    pub name: Option<String>,
    /// Department code.
    pub department: Option<String>,
    /// Page size.
    pub limit: usize,
    /// Page start.
    pub offset: usize,
}

/// A catalogue entry: the material and its 序号 within its (sub)category. Numbering works on the plain records
/// (`CatalogueEntry<Material>`); what callers get carries each content's text state.
#[derive(Clone, Debug)]
pub struct CatalogueEntry<M = WithText<Material>> {
    /// 序号, from 1, restarting in each category.
    pub seq: u32,
    /// The material, with its content's text state.
    pub material: M,
}

impl Persons<'_> {
    // ---- persons -------------------------------------------------------------------------------------------

    pub(crate) fn load_person(&self, id: PersonId) -> Result<Person> {
        self.store()
            .get(Table::Persons, id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("person {id} not found")))
    }

    pub(crate) fn id_number_key(&self, id_number: &str) -> Vec<u8> {
        self.store().keys().token_digest(&format!("id_number:{id_number}")).to_vec()
    }

    /// Fills derived fields and validates; errors become a 422.
    pub(crate) fn complete_person(&self, person: &mut Person) -> Result<Vec<Finding>> {
        let mut findings = person.validate_and_complete_with(&self.config().record_rules);
        // A department may be given by its name (财务部) as well as its code (finance).
        if let Some(d) = self.config().departments.iter().find(|d| d.name == person.department) {
            person.department = d.code.clone();
        }
        match self.department_name(&person.department) {
            Some(name) => person.department_name = Some(name),
            None => findings.push(Finding::error(
                "department",
                format!("unknown department {:?}; known: {}", person.department, self.department_codes()),
            )),
        }
        if let Some(e) = blocking_findings(&findings) {
            return Err(e);
        }
        Ok(findings)
    }

    fn department_codes(&self) -> String {
        self.config().departments.iter().map(|d| d.code.as_str()).collect::<Vec<_>>().join(", ")
    }

    pub(crate) fn stage_person(
        &self,
        ws: &mut WriteSet,
        person: &Person,
        author: &str,
        reason: Option<String>,
    ) -> Result<()> {
        // Custody (docs/DOMAIN.md §4c): a new dossier's record, the paper-filing task, moves by status rule.
        let before: Option<Person> = self.store().get(Table::Persons, person.id.as_bytes())?;
        self.custody().stage_person_version(ws, before.as_ref(), person, author, reason.as_deref())?;
        ws.put(Table::Persons, person.id.as_bytes().to_vec(), person)?;
        let v = PersonVersion {
            number: person.version,
            person: person.clone(),
            author: author.into(),
            at: now_ts(),
            reason,
        };
        ws.put(Table::PersonVersions, version_key(person.id.as_bytes(), person.version), &v)?;
        Ok(())
    }

    /// Creates a person record (version 1).
    pub fn create(&self, p: &Principal, input: serde_json::Value) -> Result<Saved<Person>> {
        self.audited(p, AuditAction::PersonCreate, "person:new", true, || {
            Ok((self.create_person_inner(p, input)?, None))
        })
    }

    fn create_person_inner(&self, p: &Principal, input: serde_json::Value) -> Result<Saved<Person>> {
        self.require(p, Capability::CreatePersons)?;
        let mut person = Person::from_input(input).map_err(|e| Error::invalid("person", e))?;
        person.id = PersonId::new();
        person.version = 1;
        let findings = self.complete_person(&mut person)?;
        let _guard = self.lock();
        let mut ws = self.store().write_set();
        if let Some(idn) = &person.id_number {
            let k = self.id_number_key(idn);
            if self.store().contains(Table::IdNumbers, &k)? {
                return Err(Error::Conflict("a person with this ID number already exists".into()));
            }
            ws.put(Table::IdNumbers, k, &person.id)?;
        }
        self.stage_person(&mut ws, &person, &p.user.username, None)?;
        self.commit_audited(ws, p, AuditAction::PersonCreate, &format!("person:{}", person.id), None)?;
        Ok(Saved { record: person, findings })
    }

    /// Reads a person record.
    pub fn get(&self, p: &Principal, id: PersonId) -> Result<PersonView> {
        self.audited(p, AuditAction::PersonRead, &format!("person:{id}"), false, || {
            let person = self.load_person(id)?;
            let fields = self.check_person(p, &person)?;
            let (person, hidden) = person.redacted(&fields);
            Ok((PersonView { person, hidden }, None))
        })
    }

    /// Lists persons, by name and department.
    pub fn list(&self, p: &Principal, q: &PersonQuery) -> Result<(Vec<PersonView>, usize)> {
        self.audited(p, AuditAction::PersonList, "persons", false, || {
            let detail = format!("name={:?} department={:?}", q.name, q.department);
            Ok((self.list_persons_inner(p, q)?, Some(detail)))
        })
    }

    fn list_persons_inner(&self, p: &Principal, q: &PersonQuery) -> Result<(Vec<PersonView>, usize)> {
        let policy = self.policy();
        let needle = q.name.as_deref().map(crate::index::analyzer::fold_str);
        let mut all: Vec<Person> = self
            .store()
            .scan::<Person>(Table::Persons, b"")?
            .into_iter()
            .map(|(_, person)| person)
            .filter(|person| policy.decide(&p.subject, &super::access::person_target(person), Access::Person).allowed)
            .filter(|person| q.department.as_ref().is_none_or(|d| &person.department == d))
            .filter(|person| {
                needle.as_ref().is_none_or(|n| {
                    person.all_names().iter().any(|name| crate::index::analyzer::fold_str(name).contains(n.as_str()))
                })
            })
            .collect();
        all.sort_by_key(|p| p.id);
        let total = all.len();
        let page = all
            .into_iter()
            .skip(q.offset)
            .take(q.limit.clamp(1, 500))
            .map(|person| {
                let fields = policy.fields_for(&p.subject, &super::access::person_target(&person));
                let (person, hidden) = person.redacted(&fields);
                PersonView { person, hidden }
            })
            .collect();
        Ok((page, total))
    }

    /// Applies a JSON merge patch to a person record, under optimistic concurrency. Only the routine fields
    /// of the flow definitions' fast path (phone, address, training, former names by default) change directly;
    /// every other field changes through a request with its reviews and approvals, and the refusal names the
    /// kind of request to use.
    pub fn patch(
        &self,
        p: &Principal,
        id: PersonId,
        expected: Option<u32>,
        patch: serde_json::Value,
        reason: Option<String>,
    ) -> Result<Saved<Person>> {
        self.patch_person_as(p, id, expected, patch, reason, true)
    }

    /// Applies a merge patch, audited; `routine_only` refuses fields outside the fast path. Without it only for
    /// filing steps that record what is already decided (a received transfer package's contract links).
    pub(crate) fn patch_person_as(
        &self,
        p: &Principal,
        id: PersonId,
        expected: Option<u32>,
        patch: serde_json::Value,
        reason: Option<String>,
        routine_only: bool,
    ) -> Result<Saved<Person>> {
        self.audited(p, AuditAction::PersonUpdate, &format!("person:{id}"), true, || {
            if routine_only {
                self.require_routine(&patch)?;
            }
            Ok((self.patch_person_inner(p, id, expected, patch, reason)?, None))
        })
    }

    /// Refuses a direct change of a field outside the fast path, naming the request kind that changes it.
    fn require_routine(&self, patch: &serde_json::Value) -> Result<()> {
        let Some(obj) = patch.as_object() else { return Ok(()) };
        let defs = self.requests().definitions()?;
        let routine = defs.flow("update").map(|f| f.fast_path.clone()).unwrap_or_default();
        let mut outside: Vec<&str> =
            obj.keys().map(String::as_str).filter(|k| !routine.iter().any(|r| r == k)).collect();
        if outside.is_empty() {
            return Ok(());
        }
        outside.sort();
        let kind = |f: &str| match f {
            "position" | "rank" | "salary_grade" => "promotion",
            "department" => "transfer",
            "status" => "resignation",
            _ => "update",
        };
        let kinds: std::collections::BTreeSet<&str> = outside.iter().map(|f| kind(f)).collect();
        Err(Error::Conflict(format!(
            "rule workflow.request-required: {} may change only through a request with its reviews and approvals \
             (POST /api/v1/requests with kind {}); a direct change may touch only the routine fields {}",
            outside.join(", "),
            kinds.into_iter().collect::<Vec<_>>().join(" or "),
            routine.join(", ")
        )))
    }

    fn patch_person_inner(
        &self,
        p: &Principal,
        id: PersonId,
        expected: Option<u32>,
        patch: serde_json::Value,
        reason: Option<String>,
    ) -> Result<Saved<Person>> {
        self.require(p, Capability::EditPersons)?;
        self.check_person(p, &self.load_person(id)?)?;
        if !patch.is_object() {
            return Err(Error::invalid("patch", "a JSON object (merge patch) is expected"));
        }
        let _guard = self.lock();
        let current = self.load_person(id)?;
        check_version(expected, current.version)?;
        let mut doc = serde_json::to_value(&current).map_err(|e| Error::Internal(e.to_string()))?;
        crate::model::request::merge_patch(&mut doc, &patch);
        let mut next = Person::from_input(doc).map_err(|e| Error::invalid("person", e))?;
        next.id = id;
        next.version = current.version + 1;
        let findings = self.complete_person(&mut next)?;
        let mut ws = self.store().write_set();
        if next.id_number != current.id_number {
            if let Some(idn) = &next.id_number {
                let k = self.id_number_key(idn);
                if self.store().contains(Table::IdNumbers, &k)? {
                    return Err(Error::Conflict("a person with this ID number already exists".into()));
                }
                ws.put(Table::IdNumbers, k, &id)?;
            }
            if let Some(old) = &current.id_number {
                ws.delete(Table::IdNumbers, self.id_number_key(old));
            }
        }
        self.stage_person(&mut ws, &next, &p.user.username, reason)?;
        // Names and department are indexed with every material: reindex the dossier.
        let materials = self.materials().material_ids_of(id)?;
        for m in &materials {
            self.filing().stage_index(&mut ws, *m)?;
        }
        self.commit_audited(
            ws,
            p,
            AuditAction::PersonUpdate,
            &format!("person:{id}"),
            Some(format!("version {}", next.version)),
        )?;
        if !materials.is_empty() {
            self.indexing().indexed_enqueued();
        }
        Ok(Saved { record: next, findings })
    }

    /// The versions of a person record, oldest first.
    pub fn versions(&self, p: &Principal, id: PersonId) -> Result<Vec<PersonVersion>> {
        self.audited(p, AuditAction::PersonVersions, &format!("person:{id}"), false, || {
            let fields = self.check_person(p, &self.load_person(id)?)?;
            let versions = self
                .store()
                .scan::<PersonVersion>(Table::PersonVersions, id.as_bytes())?
                .into_iter()
                .map(|(_, mut v)| {
                    v.person = v.person.redacted(&fields).0;
                    v
                })
                .collect();
            Ok((versions, None))
        })
    }

    /// A dossier's catalogue as the caller may see it, by category, then its stored 序号 (docs/DOMAIN.md §2; see
    /// [`super::numbering`]): a dossier whose numbers are not stored yet is numbered by formed date (unknown month
    /// as January, undated last), then filing, with 序号 restarting in each (sub)category.
    pub fn catalogue(&self, p: &Principal, person_id: PersonId) -> Result<Vec<CatalogueEntry>> {
        Ok(self.numbered_catalogue(p, person_id, None)?.entries)
    }

    /// The catalogue in today's order (formed date, then filing) with 序号 counted from 1 in each (sub)category:
    /// how a dossier without stored numbers is numbered, and how 整理 renumbers.
    pub(crate) fn order_by_date(&self, mut materials: Vec<Material>) -> Vec<CatalogueEntry<Material>> {
        let scheme = self.scheme();
        materials.sort_by_key(|m| {
            (
                scheme.order(&m.meta.category),
                m.meta.formed_on.is_none(),
                m.meta.formed_on.map(|d| d.sort_key()),
                m.created_at,
                m.id,
            )
        });
        let mut out: Vec<CatalogueEntry<Material>> = Vec::with_capacity(materials.len());
        for m in materials {
            let seq = match out.last() {
                Some(prev) if prev.material.meta.category == m.meta.category => prev.seq + 1,
                _ => 1,
            };
            out.push(CatalogueEntry { seq, material: m });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Role;
    use crate::service::Error;
    use crate::service::testing::{self, account, denial, id_number, loader};
    use serde_json::json;

    #[test]
    fn a_person_with_an_invalid_id_number_is_refused_with_a_finding_naming_the_field() {
        let a = testing::archive();
        let mut bad = id_number(1980, 5, 17, 123);
        let last = if bad.ends_with('0') { '1' } else { '0' };
        bad.pop();
        bad.push(last);
        let r = a.persons().create(&loader(), json!({"name": "张三", "department": "hr", "id_number": bad}));
        match r {
            Err(Error::Invalid { findings, .. }) => {
                assert!(findings.iter().any(|f| f.field == "id_number"), "{findings:?}")
            }
            other => panic!("expected 422, got {other:?}"),
        }
        let (page, total) =
            a.persons().list(&loader(), &super::PersonQuery { limit: 10, ..Default::default() }).unwrap();
        assert_eq!((page.len(), total), (0, 0), "nothing was stored");
    }

    #[test]
    fn a_second_person_with_the_same_id_number_is_a_conflict() {
        let a = testing::archive();
        let idn = id_number(1980, 5, 17, 123);
        let first =
            a.persons().create(&loader(), json!({"name": "张三", "department": "hr", "id_number": idn})).unwrap();
        assert_eq!(first.record.version, 1);
        assert_eq!(first.record.gender.map(|g| format!("{g:?}").to_lowercase()), Some("male".into()), "from the ID");
        let second = a.persons().create(&loader(), json!({"name": "李四", "department": "sales", "id_number": idn}));
        assert!(matches!(second, Err(Error::Conflict(_))), "{second:?}");
    }

    #[test]
    fn an_unknown_department_is_refused() {
        let a = testing::archive();
        let r = a.persons().create(&loader(), json!({"name": "张三", "department": "nowhere"}));
        assert!(
            matches!(r, Err(Error::Invalid { ref findings, .. }) if findings.iter().any(|f| f.field == "department"))
        );
    }

    #[test]
    fn only_hr_creates_persons() {
        let a = testing::archive();
        let finance = account(&a, "finance", &[Role::Finance], "finance");
        let rule = denial(a.persons().create(&finance, json!({"name": "张三", "department": "hr"})));
        assert!(rule.contains("rule "), "{rule}");
    }

    #[test]
    fn hr_sees_every_field_and_finance_sees_salary_but_not_the_full_id_number_or_contracts() {
        let a = testing::archive();
        let idn = id_number(1985, 3, 9, 222);
        let p = a
            .persons()
            .create(
                &loader(),
                json!({"name": "王五", "department": "sales", "id_number": idn, "phone": "13800000000",
                       "salary_grade": "25", "contracts": [{"kind": "劳动合同", "from": "2010-07-01"}]}),
            )
            .unwrap()
            .record;
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let finance = account(&a, "finance", &[Role::Finance], "finance");

        let seen = a.persons().get(&hr, p.id).unwrap();
        assert!(seen.hidden.is_empty(), "{:?}", seen.hidden);
        assert_eq!(seen.person.id_number.as_deref(), Some(idn.as_str()));
        assert_eq!(seen.person.contracts.len(), 1);

        let seen = a.persons().get(&finance, p.id).unwrap();
        assert_eq!(seen.person.salary_grade.as_deref(), Some("25"));
        let shown = seen.person.id_number.clone().unwrap();
        assert_ne!(shown, idn);
        assert!(shown.contains("********"), "{shown}");
        assert!(seen.person.contracts.is_empty() && seen.person.phone.is_none());
        for part in ["id_number", "contracts", "contact"] {
            assert!(seen.hidden.contains(&part), "{part} not named hidden: {:?}", seen.hidden);
        }
        assert!(!seen.hidden.contains(&"salary"));
    }

    #[test]
    fn a_head_sees_only_persons_of_their_own_department() {
        let a = testing::archive();
        let mine = testing::person(&a, "本部门", "sales");
        let other = testing::person(&a, "他部门", "research");
        let head = account(&a, "head-sales", &[Role::Head], "sales");
        assert!(a.persons().get(&head, mine).is_ok());
        assert!(denial(a.persons().get(&head, other)).contains("rule "));
        let (page, _) = a.persons().list(&head, &super::PersonQuery { limit: 100, ..Default::default() }).unwrap();
        assert!(page.iter().all(|v| v.person.department == "sales"));
        assert!(page.iter().any(|v| v.person.id == mine));
    }

    #[test]
    fn a_patch_needs_the_current_version() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let id = testing::person(&a, "赵六", "ops");
        let missing = a.persons().patch(&hr, id, None, json!({"phone": "13900000000"}), None);
        assert!(matches!(missing, Err(Error::PreconditionRequired)), "{missing:?}");
        let saved =
            a.persons().patch(&hr, id, Some(1), json!({"phone": "13900000000"}), Some("新号码".into())).unwrap();
        assert_eq!(saved.record.version, 2);
        let stale = a.persons().patch(&hr, id, Some(1), json!({"phone": "13911111111"}), None);
        assert!(matches!(stale, Err(Error::PreconditionFailed { expected: 1, current: 2 })), "{stale:?}");
        assert_eq!(
            a.persons().get(&hr, id).unwrap().person.phone.as_deref(),
            Some("13900000000"),
            "the stale write lost"
        );
    }

    #[test]
    fn every_write_keeps_the_earlier_versions() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let id = testing::person(&a, "孙七", "ops");
        a.persons().patch(&hr, id, Some(1), json!({"address": "北京市东城区一号"}), Some("搬家".into())).unwrap();
        a.persons().patch(&hr, id, Some(2), json!({"address": "北京市西城区二号"}), None).unwrap();
        let versions = a.persons().versions(&hr, id).unwrap();
        assert_eq!(versions.iter().map(|v| v.number).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(versions[0].person.address, None);
        assert_eq!(versions[1].person.address.as_deref(), Some("北京市东城区一号"));
        assert_eq!(versions[1].reason.as_deref(), Some("搬家"));
        assert_eq!(versions[1].author, "hr");
        assert_eq!(versions[2].person.address.as_deref(), Some("北京市西城区二号"));
    }

    #[test]
    fn a_field_outside_the_fast_path_changes_only_through_a_request() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let id = testing::person(&a, "周八", "ops");
        let r = a.persons().patch(&hr, id, Some(1), json!({"salary_grade": "30"}), None);
        assert!(matches!(&r, Err(Error::Conflict(m)) if m.contains("workflow.request-required")), "{r:?}");
        assert_eq!(a.persons().versions(&hr, id).unwrap().len(), 1);
    }

    #[test]
    fn nobody_reads_or_changes_their_own_dossier() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let own = hr.user.person_id.unwrap();
        assert!(denial(a.persons().get(&hr, own)).contains("hard.own-dossier"));
        assert!(denial(a.persons().versions(&hr, own)).contains("hard.own-dossier"));
        let r = a.persons().patch(&hr, own, Some(1), json!({"phone": "13900000000"}), None);
        assert!(denial(r).contains("hard.own-dossier"));
        let (page, _) = a.persons().list(&hr, &super::PersonQuery { limit: 100, ..Default::default() }).unwrap();
        assert!(page.iter().all(|v| v.person.id != own), "the own dossier is not even listed");
    }

    #[test]
    fn nobody_reads_a_recorded_relatives_dossier() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let me = hr.user.person_id.unwrap();
        let spouse = a
            .persons()
            .create(
                &loader(),
                json!({"name": "配偶", "department": "sales",
                       "family": [{"relation": "配偶", "name": "hr本人", "person_id": me}]}),
            )
            .unwrap()
            .record
            .id;
        assert!(denial(a.persons().get(&hr, spouse)).contains("hard.relative"));
        let stranger = testing::person(&a, "路人", "sales");
        assert!(a.persons().get(&hr, stranger).is_ok());
    }
}
