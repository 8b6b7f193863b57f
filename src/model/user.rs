//! User accounts and roles. Passwords are kept only as Argon2id hashes; an account may be linked to the
//! person record of its holder (so the no-own-dossier rule can be enforced).

use super::ids::{PersonId, UserId};
use serde::{Deserialize, Serialize};

/// A role an account holds (docs/DOMAIN.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(
    description = "hr 人力资源部, admin 行政部, finance 财务部, legal 法务部, it 系统管理员, secadmin 安全保密管理员, auditor 安全审计员, head 部门负责人, \
        leader 分管/主要领导, scanner 数字化操作员."
)]
pub enum Role {
    /// 人力资源部: creates, edits and reads dossiers.
    Hr,
    /// 行政部: custody and the catalogue.
    Admin,
    /// 财务部: salary materials.
    Finance,
    /// 法务部: contract materials.
    Legal,
    /// 系统管理员: accounts, configuration, backups; no archive content.
    It,
    /// 安全保密管理员: policy and grants.
    Secadmin,
    /// 安全审计员: the audit trail only.
    Auditor,
    /// 部门负责人.
    Head,
    /// 分管/主要领导.
    Leader,
    /// 数字化操作员: uploads scans into assigned batches.
    Scanner,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 10] = [
        Role::Hr,
        Role::Admin,
        Role::Finance,
        Role::Legal,
        Role::It,
        Role::Secadmin,
        Role::Auditor,
        Role::Head,
        Role::Leader,
        Role::Scanner,
    ];

    /// Parses a role name as used in the API and CLI.
    pub fn parse(s: &str) -> Option<Role> {
        serde_json::from_value(serde_json::Value::String(s.trim().to_lowercase())).ok()
    }

    /// The three administrators (三员: 系统管理员, 安全保密管理员, 安全审计员), who run and watch the system but
    /// never work on dossiers.
    pub fn is_administrator(self) -> bool {
        matches!(self, Role::It | Role::Secadmin | Role::Auditor)
    }

    /// Whether an account holding this role must be linked to its holder's person record before it may read
    /// anything: every business role but the scanning operator, who is often a contractor without a dossier
    /// here and reads no dossier anyway.
    pub fn needs_person_link(self) -> bool {
        !self.is_administrator() && self != Role::Scanner
    }

    /// The hard rule of 三员分立 on a set of roles: each administrator role stands alone — not with another
    /// administrator role, not with any business role. No policy can lift it.
    pub fn check_separation(roles: &[Role]) -> Result<(), String> {
        if let Some(admin) = roles.iter().find(|r| r.is_administrator())
            && let Some(other) = roles.iter().find(|r| *r != admin)
        {
            return Err(format!(
                "三员分立: {} may not be held together with {} (each administrator role stands alone)",
                super::policy::role_name(*admin),
                super::policy::role_name(*other)
            ));
        }
        Ok(())
    }
}

/// A user account as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login name (lower-case ASCII, digits, `-`, `_`, `.`).
    pub username: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// The department the account belongs to (a head's department).
    pub department: Option<String>,
    /// The holder's own person record, if any.
    pub person_id: Option<PersonId>,
    /// Leader level (1 分管领导, 2 主要领导) for leaders.
    #[serde(default)]
    pub leader_level: Option<u8>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Created (Unix seconds).
    pub created_at: i64,
    /// The password was set by the system administrator (a new account or a reset): the holder must choose
    /// their own before doing anything else.
    #[serde(default)]
    pub must_change_password: bool,
    /// The second factor (TOTP, RFC 6238): the shared secret in hex, once its holder confirmed a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    /// A TOTP secret handed out but not yet confirmed with a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_pending: Option<String>,
    /// 密级 clearance: the highest material secrecy level (0 public inside the organisation, 1 internal,
    /// 2 secret 秘密, 3 confidential 机密) the account may list, read or find; set only by the security
    /// administrator. `None` (every account before this field existed): [`DEFAULT_CLEARANCE`] (docs/DOMAIN.md §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearance: Option<u8>,
}

/// The clearance of an account without one set: public and internal material (levels 0 and 1), so existing
/// installations keep working for ordinary material while 秘密 and 机密 need an explicit clearance.
pub const DEFAULT_CLEARANCE: u8 = 1;

/// The highest secrecy level (机密).
pub const MAX_SECRECY: u8 = 3;

impl User {
    /// Checks a username's shape: 1–64 of `a-z 0-9 - _ .`.
    pub fn valid_username(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    }

    /// The account's clearance in force: the one set, else [`DEFAULT_CLEARANCE`].
    pub fn effective_clearance(&self) -> u8 {
        self.clearance.unwrap_or(DEFAULT_CLEARANCE).min(MAX_SECRECY)
    }

    /// Whether the account holds a role.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The hard rules this account breaks, in words (an account written by an older version, or by hand):
    /// 三员分立, a business role without a linked person record, a leader without a level.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(e) = Role::check_separation(&self.roles) {
            out.push(format!("hard.separation-of-duties: {e}"));
        }
        if self.person_id.is_none()
            && let Some(r) = self.roles.iter().find(|r| r.needs_person_link())
        {
            out.push(format!(
                "hard.unlinked-account: holds the business role {} but is not linked to its holder's person record",
                super::policy::role_name(*r)
            ));
        }
        if self.has(Role::Leader) && !matches!(self.leader_level, Some(1..)) {
            out.push("hard.leader-level: a leader account names its approval level (1, 2, …)".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administrator_roles_stand_alone() {
        assert!(Role::check_separation(&[Role::Hr, Role::Finance]).is_ok());
        assert!(Role::check_separation(&[Role::It]).is_ok());
        for admin in [Role::It, Role::Secadmin, Role::Auditor] {
            for other in Role::ALL.into_iter().filter(|r| *r != admin) {
                assert!(Role::check_separation(&[admin, other]).is_err(), "{admin:?} + {other:?}");
                assert!(Role::check_separation(&[other, admin]).is_err(), "{other:?} + {admin:?}");
            }
        }
    }
}
