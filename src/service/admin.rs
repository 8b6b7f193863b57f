//! Administration: accounts (system administrator), the access policy (security administrator), and the
//! permission review — for every account, what it can see and do and which rule grants it; for one account and
//! one material, allowed or denied and why. Sessions end when an account's roles change or it is disabled.

use super::auth::NewUser;
use super::{Archive, Error, Principal, Result};
use crate::model::policy::{Access, Capability, Decision, Policy, RolePolicy};
use crate::model::{MaterialId, Person, Role, User, UserId, now_ts};
use crate::store::Table;
use serde::{Deserialize, Serialize};

const POLICY_KEY: &[u8] = b"policy";

/// Changes to an account.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New roles.
    pub roles: Option<Vec<Role>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// Department.
    pub department: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
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
}

impl Archive {
    /// Loads the stored policy (at open).
    pub(crate) fn load_policy(&self) -> Result<()> {
        if let Some(p) = self.store().get::<Policy>(Table::Meta, POLICY_KEY)? {
            *self.inner.policy.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(p);
        }
        Ok(())
    }

    /// Sets a new policy (security administrator): validated, versioned, audited.
    pub fn set_policy(&self, p: &Principal, mut policy: Policy) -> Result<Policy> {
        self.audited(p, "policy.update", "policy", true, || {
            self.require(p, Capability::ManagePolicy)?;
            policy.validate().map_err(|e| Error::invalid("policy", e))?;
            let _guard = self.lock();
            policy.version = self.policy().version + 1;
            let mut ws = self.store().write_set();
            ws.put(Table::Meta, POLICY_KEY.to_vec(), &policy)?;
            let v = PolicyVersion { policy: policy.clone(), author: p.user.username.clone(), at: now_ts() };
            ws.put(Table::PolicyVersions, policy.version.to_be_bytes().to_vec(), &v)?;
            self.commit_audited(ws, p, "policy.update", "policy", Some(format!("version {}", policy.version)))?;
            *self.inner.policy.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(policy.clone());
            Ok((policy, None))
        })
    }

    /// The policy and its history (security administrator, system administrator, auditor).
    pub fn policy_versions(&self, p: &Principal) -> Result<(Policy, Vec<PolicyVersion>)> {
        self.audited(p, "policy.read", "policy", false, || {
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

    fn load_user(&self, id: UserId) -> Result<User> {
        self.store().get(Table::Users, id.as_bytes())?.ok_or_else(|| Error::NotFound(format!("user {id} not found")))
    }

    /// Lists accounts (system administrator).
    pub fn list_users(&self, p: &Principal) -> Result<Vec<User>> {
        self.audited(p, "user.list", "users", false, || {
            self.require(p, Capability::ManageAccounts)?;
            Ok((self.users()?, None))
        })
    }

    /// Creates an account (system administrator).
    pub fn add_user(&self, p: &Principal, new: NewUser) -> Result<User> {
        let name = new.username.clone();
        self.audited(p, "user.create", &format!("user:{name}"), true, || {
            self.require(p, Capability::ManageAccounts)?;
            Ok((self.create_user_by(new, &p.user.username, &p.source)?, None))
        })
    }

    /// Changes an account (system administrator); a change of roles or a disable ends its sessions.
    pub fn update_user(&self, p: &Principal, id: UserId, patch: UserPatch) -> Result<User> {
        self.audited(p, "user.update", &format!("user:{id}"), true, || {
            self.require(p, Capability::ManageAccounts)?;
            let _guard = self.lock();
            let mut u = self.load_user(id)?;
            let mut end_sessions = false;
            if let Some(roles) = patch.roles {
                if roles.contains(&Role::Auditor) && (roles.contains(&Role::It) || roles.contains(&Role::Secadmin)) {
                    return Err(Error::invalid(
                        "roles",
                        "三员分立: auditor may not be held together with it or secadmin",
                    ));
                }
                end_sessions |= roles != u.roles;
                u.roles = roles;
            }
            if let Some(d) = patch.disabled {
                end_sessions |= d && !u.disabled;
                u.disabled = d;
            }
            if let Some(d) = patch.department {
                u.department = Some(d);
            }
            if let Some(n) = patch.display_name {
                u.display_name = n;
            }
            let mut ws = self.store().write_set();
            ws.put(Table::Users, u.id.as_bytes().to_vec(), &u)?;
            let mut ended = 0;
            if end_sessions {
                for (k, session) in self.store().scan::<serde_json::Value>(Table::Sessions, b"")? {
                    if session.get("user_id").and_then(|v| v.as_str()) == Some(&u.id.to_string()) {
                        ws.delete(Table::Sessions, k);
                        ended += 1;
                    }
                }
            }
            self.commit_audited(
                ws,
                p,
                "user.update",
                &format!("user:{}", u.username),
                Some(format!("sessions ended: {ended}")),
            )?;
            Ok((u, None))
        })
    }

    fn require_review(&self, p: &Principal) -> Result<()> {
        self.require(p, Capability::ManagePolicy)
    }

    /// For every account: what it can see and do, and which rules give it (security administrator).
    pub fn permission_review(&self, p: &Principal) -> Result<Vec<AccountReview>> {
        self.audited(p, "access.review", "users", false, || {
            self.require_review(p)?;
            let policy = self.policy();
            let mut out = Vec::new();
            for u in self.users()? {
                let s = self.subject_for(&u)?;
                let rules = u
                    .roles
                    .iter()
                    .map(|r| {
                        let name = serde_json::to_value(r)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default();
                        format!("role.{name}")
                    })
                    .collect();
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
        self.audited(p, "access.explain", &format!("user:{username}"), false, || {
            self.require_review(p)?;
            let u =
                self.user_by_name(username)?.ok_or_else(|| Error::NotFound(format!("user {username} not found")))?;
            let who = Principal { subject: self.subject_for(&u)?, user: u, source: p.source.clone() };
            let Some(mid) = material else {
                return Err(Error::invalid("material", "name a material"));
            };
            let m = self.load_material(mid)?;
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

    /// A principal for an account (demo loading, benchmarks, tests).
    pub fn principal_for(&self, user: User, source: &str) -> Result<Principal> {
        Ok(Principal { subject: self.subject_for(&user)?, user, source: source.into() })
    }

    /// Writes a consistent backup of the whole store (writes and audit commits wait while it runs).
    pub fn backup_to(&self, out: impl std::io::Write) -> Result<crate::store::backup::BackupStats> {
        let _guard = self.lock();
        Ok(self.with_audit_paused(|| self.store().export(out))?)
    }

    /// A backup through the API (system administrator), audited.
    ///
    /// The snapshot goes to an unnamed temporary file (it holds only sealed records and ciphertext), so the
    /// archive is paused only while the snapshot is taken, not while a slow client downloads it; the file is
    /// gone from the file system already and disappears with its handle.
    pub fn backup_as(&self, p: &Principal) -> Result<(std::fs::File, u64)> {
        self.audited(p, "backup", "store", false, || {
            self.require(p, Capability::Backup)?;
            let io = |e: std::io::Error| Error::Internal(format!("cannot write the backup: {e}"));
            let mut file = tempfile::tempfile().map_err(io)?;
            let stats = self.backup_to(std::io::BufWriter::new(&mut file))?;
            let len = std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(io)?;
            std::io::Seek::rewind(&mut file).map_err(io)?;
            Ok(((file, len), Some(format!("{} records, blake3 {}", stats.records, stats.hash))))
        })
    }
}
