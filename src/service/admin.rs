//! Administration: accounts (system administrator), the access policy (security administrator), and the
//! permission review — for every account, what it can see and do and which rule grants it; for one account and
//! one material, allowed or denied and why. Sessions end when an account's roles change or it is disabled.

use super::auth::NewUser;
use super::{Accounts, Operations, Policies};
use super::{Archive, Error, Principal, Result};
use crate::model::AuditAction;
use crate::model::policy::{Access, Capability, Decision, Policy, RolePolicy};
use crate::model::{MaterialId, Person, PersonId, Role, User, UserId, now_ts};
use crate::store::Table;
use serde::{Deserialize, Serialize};

const POLICY_KEY: &[u8] = b"policy";

/// Changes to an account. The system administrator disables, enables and renames accounts; the security
/// administrator assigns business roles, the department, the leader level and the link to the holder's
/// person record. Nobody changes their own account here (their own password: [`super::Sessions::change_own_password`]).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New roles (security administrator; business roles only).
    pub roles: Option<Vec<Role>>,
    /// Disable or enable (system administrator).
    pub disabled: Option<bool>,
    /// Department (security administrator: it decides what a head sees).
    pub department: Option<String>,
    /// Display name (system administrator).
    pub display_name: Option<String>,
    /// Leader level (security administrator).
    pub leader_level: Option<u8>,
    /// The holder's person record (security administrator).
    pub person_id: Option<PersonId>,
    /// 密级 clearance, 0–3 (security administrator; docs/DOMAIN.md §3).
    pub clearance: Option<u8>,
}

impl UserPatch {
    /// Whether the patch touches what the security administrator decides.
    fn assigns_permissions(&self) -> bool {
        self.roles.is_some()
            || self.department.is_some()
            || self.leader_level.is_some()
            || self.person_id.is_some()
            || self.clearance.is_some()
    }

    /// Whether the patch touches what the system administrator manages.
    fn manages_account(&self) -> bool {
        self.disabled.is_some() || self.display_name.is_some()
    }
}

/// One stored policy version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// The policy.
    pub policy: Policy,
    /// Who set it.
    pub author: String,
    /// When.
    pub at: i64,
}

/// One account in the permission review.
#[derive(Clone, Debug, Serialize)]
pub struct AccountReview {
    /// Login name.
    pub username: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Department.
    pub department: Option<String>,
    /// Disabled.
    pub disabled: bool,
    /// The union of the roles' rules.
    pub effective: RolePolicy,
    /// The rules, per role, that give it.
    pub rules: Vec<String>,
    /// Consultation grants in force.
    pub active_grants: usize,
    /// Linked to its holder's person record.
    pub linked: bool,
    /// 密级 clearance in force (0–3): the one set, or the default for an account without one.
    pub clearance: u8,
    /// Whether the clearance was set by the security administrator (else it is the default).
    pub clearance_set: bool,
    /// Must choose its own password at the next sign-in.
    pub must_change_password: bool,
    /// The hard rules the account breaks (written by an older version or by hand), each naming its rule;
    /// such an account acts with no role, or reads nothing, until it is mended.
    pub violations: Vec<String>,
}

/// Administrator accounts (系统管理员, 安全保密管理员, 安全审计员) are changed and reset only on the server's
/// command line, so no administrator can take over or silence another through the API.
fn refuse_administrator_account(u: &User) -> Result<()> {
    if u.roles.iter().any(|r| r.is_administrator()) {
        return Err(Error::Forbidden(format!(
            "rule sod.admin-accounts-local: the administrator account {} is changed and reset only on the server's \
             command line",
            u.username
        )));
    }
    Ok(())
}

impl Archive {
    /// Loads the stored policy (at open).
    pub(crate) fn load_policy(&self) -> Result<()> {
        if let Some(p) = self.store().get::<Policy>(Table::Meta, POLICY_KEY)? {
            // A policy stored by an older version may give the administrators what 三员分立 forbids: then the
            // shipped default applies until the security administrator stores a valid one.
            if let Err(e) = p.validate() {
                tracing::error!(error = %e, version = p.version, "the stored access policy breaks a hard rule; the default policy applies");
                return Ok(());
            }
            *self.inner.policy.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(p);
        }
        Ok(())
    }
}

impl Policies<'_> {
    /// Sets a new policy (security administrator): validated, versioned, audited.
    pub fn set(&self, p: &Principal, mut policy: Policy) -> Result<Policy> {
        self.audited(p, AuditAction::PolicyUpdate, "policy", true, || {
            self.require(p, Capability::ManagePolicy)?;
            policy.validate().map_err(|e| Error::invalid("policy", e))?;
            let _guard = self.lock();
            policy.version = self.policy().version + 1;
            let mut ws = self.store().write_set();
            ws.put(Table::Meta, POLICY_KEY.to_vec(), &policy)?;
            let v = PolicyVersion { policy: policy.clone(), author: p.user.username.clone(), at: now_ts() };
            ws.put(Table::PolicyVersions, policy.version.to_be_bytes().to_vec(), &v)?;
            self.commit_audited(
                ws,
                p,
                AuditAction::PolicyUpdate,
                "policy",
                Some(format!("version {}", policy.version)),
            )?;
            *self.inner.policy.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(policy.clone());
            Ok((policy, None))
        })
    }

    /// The policy and its history (security administrator, system administrator, auditor).
    pub fn versions(&self, p: &Principal) -> Result<(Policy, Vec<PolicyVersion>)> {
        self.audited(p, AuditAction::PolicyRead, "policy", false, || {
            let policy = self.policy();
            let allowed = [Capability::ManagePolicy, Capability::ManageAccounts, Capability::ReadAudit]
                .iter()
                .any(|c| policy.capability(&p.subject, *c).allowed);
            if !allowed {
                return Err(Error::Forbidden(
                    "rule policy.read: only administrators and the auditor read the policy".into(),
                ));
            }
            let versions =
                self.store().scan::<PolicyVersion>(Table::PolicyVersions, b"")?.into_iter().map(|(_, v)| v).collect();
            Ok((((*policy).clone(), versions), None))
        })
    }

    /// Accounts that break a hard rule (三员分立, a business role without a person link, a leader without a
    /// level), with the rule: logged at start and shown by the permission review.
    pub fn account_violations(&self) -> Result<Vec<(String, Vec<String>)>> {
        Ok(self
            .accounts()
            .users()?
            .into_iter()
            .map(|u| {
                let v = u.violations();
                (u.username, v)
            })
            .filter(|(_, v)| !v.is_empty())
            .collect())
    }

    fn require_review(&self, p: &Principal) -> Result<()> {
        self.require(p, Capability::ManagePolicy)
    }

    /// For every account: what it can see and do, and which rules give it (security administrator).
    pub fn review(&self, p: &Principal) -> Result<Vec<AccountReview>> {
        self.audited(p, AuditAction::AccessReview, "users", false, || {
            self.require_review(p)?;
            let policy = self.policy();
            let mut out = Vec::new();
            for u in self.accounts().users()? {
                let s = self.subject_for(&u)?;
                let rules = u.roles.iter().map(|r| format!("role.{}", crate::model::policy::role_name(*r))).collect();
                let now = now_ts();
                let active_grants =
                    self.all_grants()?.iter().filter(|g| g.requester == u.username && g.active(now)).count();
                out.push(AccountReview {
                    username: u.username.clone(),
                    roles: u.roles.clone(),
                    department: u.department.clone(),
                    disabled: u.disabled,
                    effective: policy.effective(&s),
                    rules,
                    active_grants,
                    linked: u.person_id.is_some(),
                    clearance: u.effective_clearance(),
                    clearance_set: u.clearance.is_some(),
                    must_change_password: u.must_change_password,
                    violations: u.violations(),
                });
            }
            Ok((out, None))
        })
    }

    /// Explains whether `username` may read `material` (or see `person`), and by which rule.
    pub fn explain(
        &self,
        p: &Principal,
        username: &str,
        material: Option<MaterialId>,
        access: Access,
    ) -> Result<Decision> {
        self.audited(p, AuditAction::AccessExplain, &format!("user:{username}"), false, || {
            self.require_review(p)?;
            let u = self
                .accounts()
                .user_by_name(username)?
                .ok_or_else(|| Error::NotFound(format!("user {username} not found")))?;
            let who = Principal { subject: self.subject_for(&u)?, user: u, source: p.source.clone() };
            let Some(mid) = material else {
                return Err(Error::invalid("material", "name a material"));
            };
            let m = self.materials().load_material(mid)?;
            let person: Person = self
                .store()
                .get(Table::Persons, m.person_id.as_bytes())?
                .ok_or_else(|| Error::NotFound("person not found".into()))?;
            let d = match self.check_material(&who, &person, &m, access) {
                Ok(None) => self.policy().decide(&who.subject, &self.material_target(&person, &m), access),
                Ok(Some(g)) => Decision {
                    allowed: true,
                    rule: format!("grant:{g}"),
                    reason: "a consultation grant in force".into(),
                },
                Err(Error::Forbidden(reason)) => Decision {
                    allowed: false,
                    rule: reason.split(':').next().unwrap_or("").trim_start_matches("rule ").into(),
                    reason,
                },
                Err(Error::NotFound(_)) => {
                    let d = self.policy().decide(&who.subject, &self.material_target(&person, &m), access);
                    Decision {
                        allowed: false,
                        rule: d.rule,
                        reason: format!("{} (the material is not even listed)", d.reason),
                    }
                }
                Err(e) => return Err(e),
            };
            Ok((d, None))
        })
    }
}

impl Accounts<'_> {
    fn load_user(&self, id: UserId) -> Result<User> {
        self.store().get(Table::Users, id.as_bytes())?.ok_or_else(|| Error::NotFound(format!("user {id} not found")))
    }

    /// Lists accounts (system administrator).
    pub fn list(&self, p: &Principal) -> Result<Vec<User>> {
        self.audited(p, AuditAction::UserList, "users", false, || {
            self.require(p, Capability::ManageAccounts)?;
            Ok((self.users()?, None))
        })
    }

    /// Creates an account (system administrator). It holds no role yet — business roles are assigned by the
    /// security administrator, administrator roles only from the local command line — and its password is
    /// temporary: the holder must choose their own at first sign-in.
    pub fn add(&self, p: &Principal, new: NewUser) -> Result<User> {
        let name = new.username.clone();
        self.audited(p, AuditAction::UserCreate, &format!("user:{name}"), true, || {
            self.require(p, Capability::ManageAccounts)?;
            if !new.roles.is_empty() {
                return Err(Error::Forbidden(
                    "rule sod.roles-by-secadmin: the system administrator creates accounts without roles; the \
                     security administrator assigns business roles (PATCH /api/v1/users/{id} {\"roles\":…}), and \
                     administrator roles are given only on the server's command line (dangan users add)"
                        .into(),
                ));
            }
            if new.leader_level.is_some() {
                return Err(Error::Forbidden(
                    "rule sod.roles-by-secadmin: the security administrator sets a leader's level".into(),
                ));
            }
            super::auth::check_password(&new.username, &new.password)?;
            Ok((self.create_user_by(new, &p.user.username, &p.source, true)?, None))
        })
    }

    /// Changes an account: the system administrator disables, enables and renames; the security administrator
    /// assigns business roles, department, leader level and the person link. Nobody changes their own account,
    /// and administrator accounts are changed only on the server's command line. A change of roles, link or
    /// department, or a disable, ends the account's sessions.
    pub fn update(&self, p: &Principal, id: UserId, patch: UserPatch) -> Result<User> {
        self.audited(p, AuditAction::UserUpdate, &format!("user:{id}"), true, || {
            if patch.manages_account() {
                self.require(p, Capability::ManageAccounts)?;
            }
            if patch.assigns_permissions() && !p.subject.roles.contains(&Role::Secadmin) {
                return Err(Error::Forbidden(
                    "rule sod.roles-by-secadmin: only the security administrator assigns roles, departments, leader \
                     levels, person links and clearances"
                        .into(),
                ));
            }
            if !patch.manages_account() && !patch.assigns_permissions() {
                return Err(Error::invalid("patch", "name at least one field to change"));
            }
            if id == p.user.id {
                return Err(Error::Forbidden(
                    "rule hard.own-account: nobody changes their own account's roles, permissions or state".into(),
                ));
            }
            let _guard = self.lock();
            let mut u = self.load_user(id)?;
            refuse_administrator_account(&u)?;
            let before = (u.roles.clone(), u.person_id, u.department.clone(), u.leader_level, u.clearance);
            if let Some(roles) = patch.roles {
                if let Some(admin) = roles.iter().find(|r| r.is_administrator()) {
                    return Err(Error::Forbidden(format!(
                        "rule sod.admin-accounts-local: the administrator role {} is given only on the server's \
                         command line (dangan users add)",
                        crate::model::policy::role_name(*admin)
                    )));
                }
                u.roles = roles;
            }
            if let Some(pid) = patch.person_id {
                self.check_link(pid, Some(u.id))?;
                u.person_id = Some(pid);
            }
            if let Some(d) = patch.department {
                if self.department_name(&d).is_none() {
                    return Err(Error::invalid("department", format!("unknown department {d:?}")));
                }
                u.department = Some(d);
            }
            if let Some(l) = patch.leader_level {
                u.leader_level = Some(l);
            }
            if let Some(c) = patch.clearance {
                if c > crate::model::user::MAX_SECRECY {
                    return Err(Error::invalid("clearance", format!("密级 clearance is 0–3, not {c}")));
                }
                u.clearance = Some(c);
            }
            let mut end_sessions =
                before != (u.roles.clone(), u.person_id, u.department.clone(), u.leader_level, u.clearance);
            if let Some(d) = patch.disabled {
                end_sessions |= d && !u.disabled;
                u.disabled = d;
            }
            if let Some(n) = patch.display_name {
                u.display_name = n.chars().take(200).collect();
            }
            if let Some(v) = u.violations().into_iter().next() {
                return Err(Error::invalid("roles", v));
            }
            let mut ws = self.store().write_set();
            ws.put(Table::Users, u.id.as_bytes().to_vec(), &u)?;
            let ended = if end_sessions { self.stage_end_sessions(&mut ws, u.id, None)? } else { 0 };
            self.commit_audited(
                ws,
                p,
                AuditAction::UserUpdate,
                &format!("user:{}", u.username),
                Some(format!(
                    "roles {:?}, linked {}, clearance {}{}, sessions ended: {ended}",
                    u.roles,
                    u.person_id.is_some(),
                    u.effective_clearance(),
                    if before.4 != u.clearance { " (changed)" } else { "" }
                )),
            )?;
            Ok((u, None))
        })
    }

    /// Resets a business account's password (system administrator): the new password is temporary, the
    /// holder must choose their own at the next sign-in, and the account's sessions end. Administrator accounts
    /// are reset only on the server's command line, so no administrator can take over another's account.
    pub fn reset_password(&self, p: &Principal, id: UserId, password: &str) -> Result<User> {
        self.audited(p, AuditAction::UserPasswordReset, &format!("user:{id}"), true, || {
            self.require(p, Capability::ManageAccounts)?;
            if id == p.user.id {
                return Err(Error::Forbidden(
                    "rule hard.own-account: change your own password with POST /api/v1/me/password".into(),
                ));
            }
            let hash = {
                let u = self.load_user(id)?;
                super::auth::check_password(&u.username, password)?;
                super::auth::hash_password(password)?
            };
            let _guard = self.lock();
            let mut u = self.load_user(id)?;
            refuse_administrator_account(&u)?;
            u.password_hash = hash;
            u.must_change_password = true;
            // A reset is how a holder who lost the authenticator app gets back in: the second factor is set up
            // again after the new password.
            u.totp_secret = None;
            u.totp_pending = None;
            let mut ws = self.store().write_set();
            ws.put(Table::Users, u.id.as_bytes().to_vec(), &u)?;
            let ended = self.stage_end_sessions(&mut ws, u.id, None)?;
            self.commit_audited(
                ws,
                p,
                AuditAction::UserPasswordReset,
                &format!("user:{}", u.username),
                Some(format!("sessions ended: {ended}")),
            )?;
            Ok((u, None))
        })
    }

    /// A principal for an account (demo loading, benchmarks, tests).
    pub fn principal_for(&self, user: User, source: &str) -> Result<Principal> {
        Ok(Principal { subject: self.subject_for(&user)?, user, source: source.into() })
    }
}

impl Operations<'_> {
    /// Writes a consistent backup of the whole store (writes and audit commits wait while it runs), recorded in
    /// the trail as the act of `system` from the local command line.
    pub fn backup_to(&self, out: impl std::io::Write) -> Result<crate::store::backup::BackupStats> {
        let event = super::audit::AuditEvent {
            actor: "system".into(),
            source: "local".into(),
            action: AuditAction::Backup.as_str().into(),
            object: "store".into(),
            outcome: super::audit::Outcome::Allowed,
            detail: Some("snapshot of the store from this entry on".into()),
        };
        self.backup_recorded(out, event)
    }

    /// Writes the backup with its own audit entry inside it: the entry is durable before the snapshot is taken,
    /// and nothing is committed between the two, so a restored backup shows that it is one.
    fn backup_recorded(
        &self,
        out: impl std::io::Write,
        event: super::audit::AuditEvent,
    ) -> Result<crate::store::backup::BackupStats> {
        let _guard = self.lock();
        self.audit_durable(event)?;
        Ok(self.with_audit_paused(|| self.store().export(out))?)
    }

    /// A backup through the API (system administrator), audited (its entry is part of the backup).
    ///
    /// The snapshot goes to an unnamed temporary file (it holds only sealed records and ciphertext), so the
    /// archive is paused only while the snapshot is taken, not while a slow client downloads it; the file is
    /// gone from the file system already and disappears with its handle.
    pub fn backup_as(&self, p: &Principal) -> Result<(std::fs::File, u64)> {
        // `changes`: its success is recorded before the snapshot, by `backup_recorded`.
        self.audited(p, AuditAction::Backup, "store", true, || {
            self.require(p, Capability::Backup)?;
            let io = |e: std::io::Error| Error::Internal(format!("cannot write the backup: {e}"));
            let mut file = tempfile::tempfile().map_err(io)?;
            let event = super::audit::AuditEvent::by(
                p,
                AuditAction::Backup,
                "store",
                super::audit::Outcome::Allowed,
                Some("snapshot of the store from this entry on".into()),
            );
            let stats = self.backup_recorded(std::io::BufWriter::new(&mut file), event)?;
            let len = std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(io)?;
            std::io::Seek::rewind(&mut file).map_err(io)?;
            // What was written, to match the file with its entry: after the snapshot, so in the live trail only.
            self.audit(super::audit::AuditEvent::by(
                p,
                AuditAction::BackupWritten,
                "store",
                super::audit::Outcome::Allowed,
                Some(format!("{} records, {len} bytes, blake3 {}", stats.records, stats.hash)),
            ))?;
            Ok(((file, len), None))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::UserPatch;
    use crate::model::Role;
    use crate::model::policy::{Access, Capability, MaterialScope, Policy};
    use crate::service::auth::NewUser;
    use crate::service::testing::{self, account, denial, file_text, meta};
    use crate::service::{Archive, Error};

    fn new_user(name: &str, roles: Vec<Role>) -> NewUser {
        NewUser {
            username: name.into(),
            display_name: name.into(),
            password: "a-long-enough-pass".into(),
            roles,
            department: None,
            person_id: None,
            leader_level: None,
        }
    }

    fn stored_user(a: &Archive, name: &str) -> crate::model::User {
        a.accounts().user_by_name(name).unwrap().unwrap()
    }

    #[test]
    fn an_account_with_two_of_the_three_administrator_roles_or_one_and_a_business_role_is_refused() {
        let a = testing::archive();
        for roles in [
            vec![Role::It, Role::Secadmin],
            vec![Role::Secadmin, Role::Auditor],
            vec![Role::It, Role::Auditor],
            vec![Role::Auditor, Role::Hr],
        ] {
            let r = a.accounts().create_demo_user(new_user("x", roles.clone()));
            assert!(matches!(r, Err(Error::Invalid { .. })), "{roles:?}: {r:?}");
        }
        assert!(a.accounts().user_by_name("x").unwrap().is_none());
    }

    #[test]
    fn the_system_administrator_creates_accounts_without_roles_and_never_assigns_them() {
        let a = testing::archive();
        let it = account(&a, "it", &[Role::It], "it");
        assert!(denial(a.accounts().add(&it, new_user("clerk", vec![Role::Hr]))).contains("sod.roles-by-secadmin"));
        let clerk = a.accounts().add(&it, new_user("clerk", vec![])).unwrap();
        assert!(clerk.roles.is_empty() && clerk.must_change_password, "a temporary password, no roles");
        let patch = UserPatch { roles: Some(vec![Role::Hr]), ..Default::default() };
        assert!(denial(a.accounts().update(&it, clerk.id, patch)).contains("sod.roles-by-secadmin"));
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        assert!(denial(a.accounts().add(&hr, new_user("other", vec![]))).contains("rule "));
        assert!(stored_user(&a, "clerk").roles.is_empty());
    }

    #[test]
    fn the_security_administrator_gives_business_roles_never_administrator_roles_nor_to_itself() {
        let a = testing::archive();
        let secadmin = account(&a, "secadmin", &[Role::Secadmin], "it");
        let clerk = a.accounts().create_demo_user(new_user("clerk", vec![])).unwrap();
        let holder = testing::person(&a, "办事员", "finance");
        let give = |roles: Vec<Role>| UserPatch { roles: Some(roles), person_id: Some(holder), ..Default::default() };
        assert!(
            denial(a.accounts().update(&secadmin, clerk.id, give(vec![Role::Auditor])))
                .contains("sod.admin-accounts-local")
        );
        let u = a.accounts().update(&secadmin, clerk.id, give(vec![Role::Finance])).unwrap();
        assert_eq!((u.roles, u.person_id), (vec![Role::Finance], Some(holder)));
        let own = UserPatch { roles: Some(vec![Role::Hr]), ..Default::default() };
        assert!(denial(a.accounts().update(&secadmin, secadmin.user.id, own)).contains("hard.own-account"));
        // A business role without the holder's person record would read nothing: refused.
        let bare = a.accounts().create_demo_user(new_user("bare", vec![])).unwrap();
        let r =
            a.accounts().update(&secadmin, bare.id, UserPatch { roles: Some(vec![Role::Hr]), ..Default::default() });
        assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
    }

    #[test]
    fn a_policy_that_gives_an_administrator_content_is_refused() {
        let a = testing::archive();
        let secadmin = account(&a, "secadmin", &[Role::Secadmin], "it");
        let mut bad = Policy::default_policy();
        bad.roles.get_mut(&Role::Auditor).unwrap().read = MaterialScope { all: true, ..Default::default() };
        assert!(matches!(a.policies().set(&secadmin, bad), Err(Error::Invalid { .. })));
        let mut worse = Policy::default_policy();
        worse.roles.get_mut(&Role::It).unwrap().capabilities.push(Capability::Search);
        assert!(matches!(a.policies().set(&secadmin, worse), Err(Error::Invalid { .. })));
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        assert!(denial(a.policies().set(&hr, Policy::default_policy())).contains("rule "));
        assert_eq!(a.policy().version, Policy::default_policy().version, "nothing was stored");
        let stored = a.policies().set(&secadmin, Policy::default_policy()).unwrap();
        assert_eq!(stored.version, Policy::default_policy().version + 1);
    }

    #[test]
    fn the_permission_review_lists_each_accounts_rights_and_the_rules_that_give_them() {
        let a = testing::archive();
        let secadmin = account(&a, "secadmin", &[Role::Secadmin], "it");
        account(&a, "finance", &[Role::Finance], "finance");
        account(&a, "auditor", &[Role::Auditor], "it");
        let review = a.policies().review(&secadmin).unwrap();
        let finance = review.iter().find(|r| r.username == "finance").unwrap();
        assert_eq!(finance.rules, ["role.finance"]);
        assert!(finance.linked && finance.violations.is_empty());
        assert!(!finance.effective.read.all);
        assert_eq!(finance.effective.read.categories, ["9-1"]);
        assert_eq!(finance.effective.read.tags, ["salary"]);
        assert!(finance.effective.capabilities.contains(&Capability::Download));
        assert!(!finance.effective.capabilities.contains(&Capability::Upload));
        let auditor = review.iter().find(|r| r.username == "auditor").unwrap();
        assert_eq!(auditor.effective.capabilities, [Capability::ReadAudit]);
        assert!(auditor.effective.read.categories.is_empty() && !auditor.effective.read.all);
        // The review is the security administrator's: not the auditor's nor HR's.
        let auditor = account(&a, "auditor2", &[Role::Auditor], "it");
        assert!(denial(a.policies().review(&auditor)).contains("rule "));
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        assert!(denial(a.policies().review(&hr)).contains("rule "));
    }

    #[test]
    fn explain_names_the_rule_that_allows_or_denies_a_read() {
        let a = testing::archive();
        let secadmin = account(&a, "secadmin", &[Role::Secadmin], "it");
        account(&a, "finance", &[Role::Finance], "finance");
        let person = testing::person(&a, "张三", "sales");
        let wage = file_text(&a, person, meta("9-1", "工资表", &[]), "工资");
        let resume = file_text(&a, person, meta("1", "履历表", &[]), "履历");
        let yes = a.policies().explain(&secadmin, "finance", Some(wage), Access::Read).unwrap();
        assert!(yes.allowed && yes.rule.starts_with("role.finance"), "{yes:?}");
        let no = a.policies().explain(&secadmin, "finance", Some(resume), Access::Read).unwrap();
        assert!(!no.allowed, "{no:?}");
        assert!(no.reason.contains("not even listed"), "{no:?}");
    }
}
