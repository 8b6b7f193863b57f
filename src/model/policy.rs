//! The access policy as data, and the pure rules that apply it. The shipped default is the table of docs/DOMAIN.md §3:
//! for each role, which persons it may see, which person fields, which materials it may list, read and edit (by
//! category and by tag — a labour contract carries `contract`, a salary record `salary`), and which actions it may
//! take. Hard rules come first and no policy can lift them: nobody works on their own dossier, nor (by default)
//! a recorded relative's. A principal holding several roles gets the union of what its roles allow.
//!
//! Every decision names the rule that made it, so a denial can say why and the permission review can show
//! which rule grants what.

use super::ids::PersonId;
use super::user::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which materials a rule covers: all, or those in the listed categories or carrying one of the listed tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialScope {
    /// Every material.
    #[serde(default)]
    pub all: bool,
    /// Category codes; a parent (`9`) covers its sub-categories (`9-1`).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl MaterialScope {
    /// Every material.
    pub fn all() -> Self {
        MaterialScope { all: true, ..Default::default() }
    }

    /// No material.
    pub fn none() -> Self {
        MaterialScope::default()
    }

    /// Materials of these categories or tags.
    pub fn of(categories: &[&str], tags: &[&str]) -> Self {
        MaterialScope {
            all: false,
            categories: categories.iter().map(|s| s.to_string()).collect(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Whether the scope covers nothing.
    pub fn is_empty(&self) -> bool {
        !self.all && self.categories.is_empty() && self.tags.is_empty()
    }

    /// Whether a material with this category lineage (`["9-1", "9"]`) and tags is covered.
    pub fn covers(&self, lineage: &[String], tags: &[String]) -> bool {
        self.all || lineage.iter().any(|c| self.categories.contains(c)) || tags.iter().any(|t| self.tags.contains(t))
    }

    fn union(&mut self, other: &MaterialScope) {
        self.all |= other.all;
        for c in &other.categories {
            if !self.categories.contains(c) {
                self.categories.push(c.clone());
            }
        }
        for t in &other.tags {
            if !self.tags.contains(t) {
                self.tags.push(t.clone());
            }
        }
    }
}

/// Which persons a role may see.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonScope {
    /// Nobody.
    #[default]
    None,
    /// The cadres of the principal's own department.
    OwnDepartment,
    /// Everybody.
    All,
}

/// Which parts of a person record a role may see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldAccess {
    /// Name, gender, department, position, rank, status, dates of birth, work and party entry, education.
    #[serde(default)]
    pub basic: bool,
    /// The whole ID number (others see it masked).
    #[serde(default)]
    pub full_id_number: bool,
    /// Phone and address.
    #[serde(default)]
    pub contact: bool,
    /// Salary grade and salary records.
    #[serde(default)]
    pub salary: bool,
    /// Contract records.
    #[serde(default)]
    pub contracts: bool,
    /// Annual assessments.
    #[serde(default)]
    pub assessments: bool,
    /// Appointments, education, training, rewards, punishments, family.
    #[serde(default)]
    pub records: bool,
}

impl FieldAccess {
    /// Adds what `o` grants.
    pub fn union(&mut self, o: &FieldAccess) {
        self.basic |= o.basic;
        self.full_id_number |= o.full_id_number;
        self.contact |= o.contact;
        self.salary |= o.salary;
        self.contracts |= o.contracts;
        self.assessments |= o.assessments;
        self.records |= o.records;
    }
}

/// Actions beyond reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "An action beyond reading: create/edit person records, file materials, full-text search, download \
        content, export, manage accounts, change the policy, decide consultation grants, read and verify the audit \
        trail, decide workflow steps, manage physical custody, file scans into assigned batches only, backups and \
        integrity checks."
)]
pub enum Capability {
    /// Create person records.
    CreatePersons,
    /// Change person records directly.
    EditPersons,
    /// File materials into dossiers (within the edit scope).
    Upload,
    /// Full-text search.
    Search,
    /// Download material content.
    Download,
    /// Export dossiers and reports.
    Export,
    /// Manage accounts.
    ManageAccounts,
    /// Change the access policy.
    ManagePolicy,
    /// Decide consultation grants.
    DecideGrants,
    /// Read and verify the audit trail.
    ReadAudit,
    /// Decide workflow steps assigned to the principal.
    DecideRequests,
    /// Manage physical custody (location, lending).
    ManageCustody,
    /// Upload scans into assigned batches only.
    ScanBatches,
    /// Backups and integrity checks.
    Backup,
}

/// What one role may do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePolicy {
    /// Which persons it sees.
    #[serde(default)]
    pub persons: PersonScope,
    /// Which fields of those persons.
    #[serde(default)]
    pub fields: FieldAccess,
    /// Materials it may see in the catalogue (metadata).
    #[serde(default)]
    pub list: MaterialScope,
    /// Materials whose content it may read (and find in search).
    #[serde(default)]
    pub read: MaterialScope,
    /// Materials it may file, change and replace.
    #[serde(default)]
    pub edit: MaterialScope,
    /// Other actions.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Request kinds it may start (`update`, `promotion`, …; `*` for all), or a scope of the update kind:
    /// `salary` (the salary grade and salary records only: finance's salary adjustments) or `contract` (the
    /// contracts only: legal's contract changes).
    #[serde(default)]
    pub start_requests: Vec<String>,
}

/// The whole policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Version, from 1; every change is a new version.
    #[serde(default)]
    pub version: u32,
    /// Deny access to a recorded relative's dossier (docs/DOMAIN.md §3, configurable, default on).
    pub no_relatives: bool,
    /// Per role.
    pub roles: BTreeMap<Role, RolePolicy>,
}

/// Who is asking, as the rules see it.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    /// Roles held.
    pub roles: Vec<Role>,
    /// The principal's department.
    pub department: Option<String>,
    /// The principal's own person record.
    pub person_id: Option<PersonId>,
    /// Persons recorded as the principal's relatives (from either side's family records).
    pub relatives: Vec<PersonId>,
    /// The account holds business roles but is not linked to its holder's person record, so the rules about
    /// one's own dossier and relatives could not hold: it reads nothing until it is linked.
    pub unlinked: bool,
    /// 密级 clearance: the highest material secrecy level the principal may list, read or edit
    /// (`User::effective_clearance`; docs/DOMAIN.md §3).
    pub clearance: u8,
}

/// What is asked about, as the rules see it.
#[derive(Clone, Debug, Default)]
pub struct Target<'a> {
    /// The person whose dossier it is.
    pub person_id: Option<PersonId>,
    /// That person's department.
    pub department: Option<&'a str>,
    /// The persons recorded in that person's family records.
    pub family: Vec<PersonId>,
    /// For a material: its category lineage (`["9-1", "9"]`).
    pub lineage: Vec<String>,
    /// For a material: its tags.
    pub tags: Vec<String>,
    /// For a material: its 密级 (0 when it has none).
    pub secrecy: u8,
}

/// What the principal wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// See the person record.
    Person,
    /// See the material in the catalogue.
    List,
    /// Read the material's content.
    Read,
    /// Change or file the material.
    Edit,
}

/// An answer with the rule that gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// Allowed or not.
    pub allowed: bool,
    /// The rule, e.g. `role.finance.read` or `hard.own-dossier`.
    pub rule: String,
    /// Why, in words.
    pub reason: String,
}

impl Decision {
    fn allow(rule: String, reason: String) -> Self {
        Decision { allowed: true, rule, reason }
    }
    fn deny(rule: impl Into<String>, reason: impl Into<String>) -> Self {
        Decision { allowed: false, rule: rule.into(), reason: reason.into() }
    }
}

/// A role's name as the API writes it (`hr`, `head`, …).
pub fn role_name(r: Role) -> String {
    serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl Policy {
    /// The default policy: the table of docs/DOMAIN.md §3.
    pub fn default_policy() -> Self {
        use Capability as C;
        let basic = FieldAccess { basic: true, ..Default::default() };
        let mut roles = BTreeMap::new();
        roles.insert(
            Role::Hr,
            RolePolicy {
                persons: PersonScope::All,
                fields: FieldAccess {
                    basic: true,
                    full_id_number: true,
                    contact: true,
                    salary: true,
                    contracts: true,
                    assessments: true,
                    records: true,
                },
                list: MaterialScope::all(),
                read: MaterialScope::all(),
                edit: MaterialScope::all(),
                capabilities: vec![C::CreatePersons, C::EditPersons, C::Upload, C::Search, C::Download, C::Export],
                start_requests: vec!["*".into()],
            },
        );
        roles.insert(
            Role::Admin,
            RolePolicy {
                persons: PersonScope::All,
                fields: basic.clone(),
                list: MaterialScope::all(),
                read: MaterialScope::none(),
                edit: MaterialScope::none(),
                capabilities: vec![C::ManageCustody, C::DecideRequests],
                start_requests: vec![],
            },
        );
        roles.insert(
            Role::Finance,
            RolePolicy {
                persons: PersonScope::All,
                fields: FieldAccess { basic: true, salary: true, ..Default::default() },
                list: MaterialScope::of(&["9-1"], &["salary"]),
                read: MaterialScope::of(&["9-1"], &["salary"]),
                edit: MaterialScope::none(),
                capabilities: vec![C::Search, C::Download, C::DecideRequests],
                start_requests: vec!["salary".into()],
            },
        );
        roles.insert(
            Role::Legal,
            RolePolicy {
                persons: PersonScope::All,
                fields: FieldAccess { basic: true, contracts: true, ..Default::default() },
                list: MaterialScope::of(&[], &["contract"]),
                read: MaterialScope::of(&[], &["contract"]),
                edit: MaterialScope::of(&[], &["contract"]),
                capabilities: vec![C::Search, C::Download, C::Upload, C::DecideRequests],
                start_requests: vec!["contract".into()],
            },
        );
        roles.insert(Role::It, RolePolicy { capabilities: vec![C::ManageAccounts, C::Backup], ..Default::default() });
        roles.insert(
            Role::Secadmin,
            RolePolicy { capabilities: vec![C::ManagePolicy, C::DecideGrants], ..Default::default() },
        );
        roles.insert(Role::Auditor, RolePolicy { capabilities: vec![C::ReadAudit], ..Default::default() });
        roles.insert(
            Role::Head,
            RolePolicy {
                persons: PersonScope::OwnDepartment,
                fields: FieldAccess { basic: true, assessments: true, ..Default::default() },
                list: MaterialScope::of(&["3"], &[]),
                read: MaterialScope::of(&["3"], &[]),
                edit: MaterialScope::none(),
                capabilities: vec![C::Search, C::DecideRequests],
                start_requests: vec![],
            },
        );
        roles.insert(
            Role::Leader,
            RolePolicy {
                persons: PersonScope::All,
                fields: FieldAccess { basic: true, assessments: true, records: true, ..Default::default() },
                list: MaterialScope::all(),
                read: MaterialScope::of(&["1", "3", "9-2"], &[]),
                edit: MaterialScope::none(),
                capabilities: vec![C::Search, C::DecideRequests, C::DecideGrants],
                start_requests: vec![],
            },
        );
        roles.insert(Role::Scanner, RolePolicy { capabilities: vec![C::ScanBatches], ..Default::default() });
        Policy { version: 1, no_relatives: true, roles }
    }

    fn role(&self, r: Role) -> Option<&RolePolicy> {
        self.roles.get(&r)
    }

    /// The parts of person records one role sees.
    pub fn role_fields(&self, r: Role) -> Option<&FieldAccess> {
        self.role(r).map(|p| &p.fields)
    }

    /// Whether any of the subject's roles holds a capability; names the granting role.
    pub fn capability(&self, s: &Subject, c: Capability) -> Decision {
        for r in &s.roles {
            if self.role(*r).is_some_and(|p| p.capabilities.contains(&c)) {
                return Decision::allow(
                    format!("role.{}.capabilities", role_name(*r)),
                    format!("role {} may {c:?}", role_name(*r)),
                );
            }
        }
        Decision::deny("no-role.capability", format!("none of the roles {:?} may {c:?}", s.roles))
    }

    /// The hard rules, checked before any role: an account not linked to its holder, own dossier, relatives.
    pub fn hard_rules(&self, s: &Subject, t: &Target) -> Option<Decision> {
        if s.unlinked {
            return Some(Decision::deny(
                "hard.unlinked-account",
                "this account is not linked to its holder's person record; it reads nothing until the security \
                 administrator links it",
            ));
        }
        let target = t.person_id?;
        if s.person_id == Some(target) {
            return Some(Decision::deny("hard.own-dossier", "nobody may read, change or decide on their own dossier"));
        }
        if self.no_relatives && (s.relatives.contains(&target) || s.person_id.is_some_and(|me| t.family.contains(&me)))
        {
            return Some(Decision::deny(
                "hard.relative",
                "nobody may read, change or decide on a recorded relative's dossier",
            ));
        }
        None
    }

    fn person_visible(p: &RolePolicy, s: &Subject, t: &Target) -> bool {
        match p.persons {
            PersonScope::All => true,
            PersonScope::OwnDepartment => s.department.is_some() && s.department.as_deref() == t.department,
            PersonScope::None => false,
        }
    }

    /// The clearance rule: a material above the subject's 密级 clearance is neither listed, read nor edited,
    /// whatever the roles or a consultation grant say (docs/DOMAIN.md §3).
    pub fn clearance_rule(s: &Subject, t: &Target, access: Access) -> Option<Decision> {
        (access != Access::Person && t.secrecy > s.clearance).then(|| {
            Decision::deny(
                "hard.clearance",
                format!("the material's 密级 {} is above the caller's clearance {}", t.secrecy, s.clearance),
            )
        })
    }

    /// Decides an access to a person or one of its materials.
    pub fn decide(&self, s: &Subject, t: &Target, access: Access) -> Decision {
        if let Some(d) = self.hard_rules(s, t) {
            return d;
        }
        if let Some(d) = Self::clearance_rule(s, t, access) {
            return d;
        }
        let mut saw_person = false;
        for r in &s.roles {
            let Some(p) = self.role(*r) else { continue };
            if !Self::person_visible(p, s, t) {
                continue;
            }
            saw_person = true;
            let name = role_name(*r);
            let (scope, what) = match access {
                Access::Person => {
                    if p.fields.basic {
                        return Decision::allow(
                            format!("role.{name}.persons"),
                            format!("role {name} sees these persons"),
                        );
                    }
                    continue;
                }
                Access::List => (&p.list, "list"),
                Access::Read => (&p.read, "read"),
                Access::Edit => (&p.edit, "edit"),
            };
            if scope.covers(&t.lineage, &t.tags) {
                return Decision::allow(
                    format!("role.{name}.{what}"),
                    format!("role {name} may {what} materials of this category or tag"),
                );
            }
        }
        if !saw_person && !s.roles.is_empty() {
            let heads = s.roles.contains(&Role::Head);
            return Decision::deny(
                if heads { "role.head.own-department" } else { "no-role.persons" },
                if heads {
                    "a department head sees only the cadres of their own department"
                } else {
                    "none of the caller's roles gives access to this person"
                },
            );
        }
        Decision::deny(
            "no-role.scope",
            format!("none of the roles {:?} may {:?} a material of this category or tag", s.roles, access),
        )
    }

    /// The person fields the subject may see of this target (union over the roles that see the person at all).
    pub fn fields_for(&self, s: &Subject, t: &Target) -> FieldAccess {
        let mut out = FieldAccess::default();
        if self.hard_rules(s, t).is_some() {
            return out;
        }
        for r in &s.roles {
            if let Some(p) = self.role(*r)
                && Self::person_visible(p, s, t)
            {
                out.union(&p.fields);
            }
        }
        out
    }

    /// The union of the subject's roles: person scope (widest), field access, and material scopes.
    pub fn effective(&self, s: &Subject) -> RolePolicy {
        let mut out = RolePolicy::default();
        for r in &s.roles {
            let Some(p) = self.role(*r) else { continue };
            out.persons = out.persons.max(p.persons);
            out.fields.union(&p.fields);
            out.list.union(&p.list);
            out.read.union(&p.read);
            out.edit.union(&p.edit);
            for c in &p.capabilities {
                if !out.capabilities.contains(c) {
                    out.capabilities.push(*c);
                }
            }
            for k in &p.start_requests {
                if !out.start_requests.contains(k) {
                    out.start_requests.push(k.clone());
                }
            }
        }
        out
    }

    /// Checks a policy before it is stored. Every role must be present, and the policy cannot empty the
    /// separation of duties (三员分立): an administrator role gets no person, no field, no material, no request
    /// kind and no business capability — only its own duties — and no business role gets an administrator's
    /// duty. Each refusal names its rule.
    pub fn validate(&self) -> Result<(), String> {
        for r in Role::ALL {
            if !self.roles.contains_key(&r) {
                return Err(format!("the policy must define role {}", role_name(r)));
            }
        }
        for (r, p) in &self.roles {
            let name = role_name(*r);
            let duties = administrator_duties(*r);
            if r.is_administrator() {
                let reads = p.persons != PersonScope::None
                    || p.fields != FieldAccess::default()
                    || !p.list.is_empty()
                    || !p.read.is_empty()
                    || !p.edit.is_empty();
                if reads {
                    return Err(format!(
                        "rule sod.admin-reads-nothing: the administrator role {name} may not see persons, person \
                         fields or materials (三员分立)"
                    ));
                }
                if !p.start_requests.is_empty() {
                    return Err(format!(
                        "rule sod.admin-starts-nothing: the administrator role {name} starts no requests"
                    ));
                }
                if let Some(c) = p.capabilities.iter().find(|c| !duties.contains(c)) {
                    return Err(format!(
                        "rule sod.admin-duties: the administrator role {name} may not hold {c:?}; its duties are \
                         {duties:?} (三员分立)"
                    ));
                }
            } else if let Some(c) = p.capabilities.iter().find(|c| ADMINISTRATOR_DUTIES.contains(c)) {
                return Err(format!(
                    "rule sod.business-no-admin-duty: the business role {name} may not hold the administrators' \
                     duty {c:?} (三员分立)"
                ));
            }
        }
        Ok(())
    }
}

/// The duties only the administrators hold: accounts and backups (系统管理员), policy (安全保密管理员), the
/// audit trail (安全审计员).
const ADMINISTRATOR_DUTIES: [Capability; 4] =
    [Capability::ManageAccounts, Capability::Backup, Capability::ManagePolicy, Capability::ReadAudit];

/// What each administrator role may hold. The security administrator also decides consultation grants (a
/// leader may too); no administrator holds another's duty.
fn administrator_duties(r: Role) -> &'static [Capability] {
    match r {
        Role::It => &[Capability::ManageAccounts, Capability::Backup],
        Role::Secadmin => &[Capability::ManagePolicy, Capability::DecideGrants],
        Role::Auditor => &[Capability::ReadAudit],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lineage(code: &str) -> Vec<String> {
        super::super::CategoryScheme::scheme_2018().lineage(code)
    }

    /// The materials the table walks: (category, tags).
    const MATERIALS: [(&str, &[&str]); 12] = [
        ("1", &[]),
        ("2", &[]),
        ("3", &[]),
        ("4-1", &[]),
        ("5", &[]),
        ("6", &[]),
        ("7", &[]),
        ("8", &[]),
        ("9-1", &[]),
        ("9-2", &[]),
        ("10", &["contract"]),
        ("10", &["salary"]),
    ];

    /// docs/DOMAIN.md §3, written out: for each role, which of MATERIALS it may list, read and edit in a dossier of
    /// another department (heads: their own department), as category/tag labels.
    fn expected(role: Role, access: Access) -> Vec<&'static str> {
        let all = vec!["1", "2", "3", "4-1", "5", "6", "7", "8", "9-1", "9-2", "10+contract", "10+salary"];
        match (role, access) {
            (Role::Hr, _) => all,
            (Role::Admin, Access::List) => all,
            (Role::Admin, _) => vec![],
            (Role::Finance, Access::List | Access::Read) => vec!["9-1", "10+salary"],
            (Role::Finance, Access::Edit) => vec![],
            (Role::Legal, _) => vec!["10+contract"],
            (Role::Head, Access::List | Access::Read) => vec!["3"],
            (Role::Head, Access::Edit) => vec![],
            (Role::Leader, Access::List) => all,
            (Role::Leader, Access::Read) => vec!["1", "3", "9-2"],
            (Role::Leader, Access::Edit) => vec![],
            (Role::It | Role::Secadmin | Role::Auditor | Role::Scanner, _) => vec![],
            (_, Access::Person) => unreachable!(),
        }
    }

    fn subject(role: Role) -> Subject {
        Subject {
            roles: vec![role],
            department: Some("ops".into()),
            person_id: Some(PersonId::new()),
            relatives: vec![],
            unlinked: false,
            clearance: 0,
        }
    }

    #[test]
    fn every_role_action_and_category_follows_domain_table() {
        let policy = Policy::default_policy();
        policy.validate().unwrap();
        for role in Role::ALL {
            let s = subject(role);
            for access in [Access::List, Access::Read, Access::Edit] {
                let mut got = Vec::new();
                for (cat, tags) in MATERIALS {
                    let t = Target {
                        person_id: Some(PersonId::new()),
                        department: Some("ops"),
                        family: vec![],
                        lineage: lineage(cat),
                        tags: tags.iter().map(|t| t.to_string()).collect(),
                        secrecy: 0,
                    };
                    let d = policy.decide(&s, &t, access);
                    assert!(!d.rule.is_empty() && !d.reason.is_empty());
                    if d.allowed {
                        got.push(if tags.is_empty() { cat.to_string() } else { format!("{cat}+{}", tags[0]) });
                    }
                }
                assert_eq!(got, expected(role, access), "{role:?} {access:?}");
            }
            // Persons: who sees a person record at all.
            let t = Target { person_id: Some(PersonId::new()), department: Some("ops"), ..Default::default() };
            let sees = policy.decide(&s, &t, Access::Person).allowed;
            let expect =
                matches!(role, Role::Hr | Role::Admin | Role::Finance | Role::Legal | Role::Head | Role::Leader);
            assert_eq!(sees, expect, "{role:?} sees persons");
        }
    }

    #[test]
    fn heads_see_only_their_own_department() {
        let policy = Policy::default_policy();
        let s = subject(Role::Head);
        let other = Target {
            person_id: Some(PersonId::new()),
            department: Some("sales"),
            lineage: lineage("3"),
            ..Default::default()
        };
        let d = policy.decide(&s, &other, Access::Read);
        assert!(!d.allowed);
        assert_eq!(d.rule, "role.head.own-department");
        assert!(!policy.decide(&s, &other, Access::Person).allowed);
    }

    #[test]
    fn hard_rules_beat_every_role() {
        let policy = Policy::default_policy();
        let mut s = subject(Role::Hr);
        let me = s.person_id.unwrap();
        let own = Target { person_id: Some(me), department: Some("hr"), lineage: lineage("1"), ..Default::default() };
        for a in [Access::Person, Access::List, Access::Read, Access::Edit] {
            assert_eq!(policy.decide(&s, &own, a).rule, "hard.own-dossier");
        }
        let spouse = PersonId::new();
        s.relatives.push(spouse);
        let rel = Target { person_id: Some(spouse), lineage: lineage("1"), ..Default::default() };
        assert_eq!(policy.decide(&s, &rel, Access::Read).rule, "hard.relative");
        // Recorded on the other side only.
        let other = PersonId::new();
        let rel2 = Target { person_id: Some(other), family: vec![me], lineage: lineage("1"), ..Default::default() };
        assert_eq!(policy.decide(&s, &rel2, Access::Read).rule, "hard.relative");
        // Configurable.
        let mut lax = policy.clone();
        lax.no_relatives = false;
        assert!(lax.decide(&s, &rel, Access::Read).allowed);
    }

    #[test]
    fn capabilities_and_separation_of_duties() {
        let policy = Policy::default_policy();
        assert!(policy.capability(&subject(Role::It), Capability::ManageAccounts).allowed);
        assert!(!policy.capability(&subject(Role::It), Capability::ReadAudit).allowed);
        assert!(!policy.capability(&subject(Role::Secadmin), Capability::ReadAudit).allowed);
        assert!(policy.capability(&subject(Role::Auditor), Capability::ReadAudit).allowed);
        assert!(!policy.capability(&subject(Role::Scanner), Capability::Search).allowed);
        let mut bad = policy.clone();
        bad.roles.get_mut(&Role::It).unwrap().capabilities.push(Capability::ReadAudit);
        assert!(bad.validate().is_err());
        let mut bad = policy.clone();
        bad.roles.get_mut(&Role::Secadmin).unwrap().read = MaterialScope::all();
        assert!(bad.validate().is_err());
        // Nor may the security administrator widen its own role in any other way.
        for widen in [
            |p: &mut RolePolicy| p.persons = PersonScope::All,
            |p: &mut RolePolicy| p.fields.basic = true,
            |p: &mut RolePolicy| p.list = MaterialScope::of(&["1"], &[]),
            |p: &mut RolePolicy| p.capabilities.push(Capability::Search),
            |p: &mut RolePolicy| p.capabilities.push(Capability::DecideRequests),
            |p: &mut RolePolicy| p.start_requests.push("*".into()),
        ] {
            for admin in [Role::It, Role::Secadmin, Role::Auditor] {
                let mut bad = policy.clone();
                widen(bad.roles.get_mut(&admin).unwrap());
                let e = bad.validate().unwrap_err();
                assert!(e.starts_with("rule sod."), "{admin:?}: {e}");
            }
        }
        // No administrator takes another's duty, and no business role takes any.
        for (role, duty) in [
            (Role::It, Capability::ManagePolicy),
            (Role::Secadmin, Capability::ManageAccounts),
            (Role::Auditor, Capability::Backup),
            (Role::Hr, Capability::ReadAudit),
            (Role::Leader, Capability::ManagePolicy),
        ] {
            let mut bad = policy.clone();
            bad.roles.get_mut(&role).unwrap().capabilities.push(duty);
            assert!(bad.validate().unwrap_err().starts_with("rule sod."), "{role:?} {duty:?}");
        }
        let mut missing = policy;
        missing.roles.remove(&Role::Leader);
        assert!(missing.validate().is_err());
    }

    #[test]
    fn an_unlinked_account_reads_nothing() {
        let policy = Policy::default_policy();
        let s = Subject { roles: vec![Role::Hr], unlinked: true, ..Default::default() };
        let t = Target { person_id: Some(PersonId::new()), lineage: lineage("1"), ..Default::default() };
        for a in [Access::Person, Access::List, Access::Read, Access::Edit] {
            let d = policy.decide(&s, &t, a);
            assert!(!d.allowed);
            assert_eq!(d.rule, "hard.unlinked-account");
        }
        assert_eq!(policy.fields_for(&s, &t), FieldAccess::default());
    }

    #[test]
    fn a_material_above_the_clearance_is_neither_listed_read_nor_edited_whatever_the_role() {
        let policy = Policy::default_policy();
        for clearance in 0..=3u8 {
            let s = Subject { roles: vec![Role::Hr], clearance, ..Default::default() };
            for secrecy in 0..=3u8 {
                let t =
                    Target { person_id: Some(PersonId::new()), lineage: lineage("1"), secrecy, ..Default::default() };
                assert!(policy.decide(&s, &t, Access::Person).allowed, "the person stays visible");
                for a in [Access::List, Access::Read, Access::Edit] {
                    let d = policy.decide(&s, &t, a);
                    assert_eq!(d.allowed, secrecy <= clearance, "clearance {clearance} secrecy {secrecy} {a:?}");
                    if !d.allowed {
                        assert_eq!(d.rule, "hard.clearance");
                    }
                }
            }
        }
    }

    #[test]
    fn policy_round_trips_as_json() {
        let p = Policy::default_policy();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p);
    }
}
