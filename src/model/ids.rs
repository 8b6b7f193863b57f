//! Identifiers. Every id is a UUIDv7 newtype: time-ordered (so records list in creation order), opaque (it
//! carries no name or ID number, so keys in the store reveal nothing), and validated when parsed at the boundary.

use std::fmt;
use std::str::FromStr;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
            /// The 16 bytes used as a storage key.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
            /// Rebuilds an id from its storage key.
            pub fn from_slice(b: &[u8]) -> Option<Self> {
                uuid::Uuid::from_slice(b).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                uuid::Uuid::try_parse(s).map(Self).map_err(|_| InvalidId(s.chars().take(64).collect()))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        /// In the OpenAPI document (DESIGN §5): a UUID string.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::model::uuid_schema()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_id!(
    /// A person (cadre) record and the dossier that belongs to it.
    PersonId
);
uuid_id!(
    /// A material (catalogue entry) of a dossier.
    MaterialId
);
uuid_id!(
    /// A user account.
    UserId
);
uuid_id!(
    /// A consultation grant (查阅授权).
    GrantId
);
uuid_id!(
    /// A digitization batch assigned to scanning operators.
    BatchId
);
uuid_id!(
    /// A change request (审批).
    RequestId
);
uuid_id!(
    /// A batch import.
    ImportId
);
uuid_id!(
    /// A transfer package in the receiving queue (转入, 审核入库).
    ReceivingId
);
uuid_id!(
    /// A transfer out (转出) of a dossier, from its approval to its receipt (回执).
    TransferId
);
uuid_id!(
    /// A loan (借出) of a paper dossier.
    LoanId
);
uuid_id!(
    /// A paper-filing task (归档任务) of the archive office.
    TaskId
);

/// A string that is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id: {0:?}")]
pub struct InvalidId(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_garbage() {
        let id = PersonId::new();
        assert_eq!(id.to_string().parse::<PersonId>().unwrap(), id);
        assert!("../etc/passwd".parse::<PersonId>().is_err());
        assert_eq!(PersonId::from_slice(id.as_bytes()), Some(id));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<PersonId>(&json).unwrap(), id);
    }
}
