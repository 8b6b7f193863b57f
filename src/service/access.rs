//! Authorization rules as pure functions of the principal and the object. The archive core ships the first
//! rule set: HR (人力资源部) works with all archive data — except its own dossier, which nobody may read or
//! change — and every other role has only its own account (`/me`). The department policy of DOMAIN §3 replaces
//! these rules in the access-control issue; callers already go through them, so every path stays gated.

use super::{Error, Principal, Result};
use crate::model::{PersonId, Role};

/// What a principal wants to do with archive data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// List persons and catalogues, read metadata.
    Read,
    /// Download content.
    ReadContent,
    /// Create or change persons and materials.
    Write,
    /// Full-text search.
    Search,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Read => "read dossiers",
            Action::ReadContent => "read material content",
            Action::Write => "create or change dossiers",
            Action::Search => "search the archive",
        }
    }
}

/// May the principal do `action` on archive data at all?
pub fn can(principal: &Principal, action: Action) -> Result<(), String> {
    if principal.user.has(Role::Hr) {
        Ok(())
    } else {
        Err(format!("rule archive.hr-only: only HR (role hr) may {} in this version", action.verb()))
    }
}

/// May the principal do `action` on this person's dossier? Nobody works on their own dossier.
pub fn can_on_person(principal: &Principal, action: Action, person: PersonId) -> Result<(), String> {
    can(principal, action)?;
    if principal.user.person_id == Some(person) {
        return Err("rule archive.own-dossier: nobody may read or change their own dossier".into());
    }
    Ok(())
}

/// Checks [`can`], as a service error.
pub fn require(principal: &Principal, action: Action) -> Result<()> {
    can(principal, action).map_err(Error::Forbidden)
}

/// Checks [`can_on_person`], as a service error.
pub fn require_on_person(principal: &Principal, action: Action, person: PersonId) -> Result<()> {
    can_on_person(principal, action, person).map_err(Error::Forbidden)
}
