//! User accounts and roles. Passwords are kept only as Argon2id hashes; an account may be linked to the
//! person record of its holder (so the no-own-dossier rule can be enforced).

use super::ids::{PersonId, UserId};
use serde::{Deserialize, Serialize};

/// A role an account holds (DOMAIN §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
}

impl User {
    /// Checks a username's shape: 1–64 of `a-z 0-9 - _ .`.
    pub fn valid_username(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    }

    /// Whether the account holds a role.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}
