//! Pure domain types and rules: identifiers, dates of partial precision, the category scheme (kept as data),
//! ID-number validation (GB 11643), persons with their typed record lists, materials and user accounts.
//! Nothing here does I/O; everything here can be tested in isolation.

pub mod audit;
pub mod category;
pub mod completeness;
pub mod consultation;
pub mod contract;
pub mod custody;
pub mod date;
pub mod diff;
pub mod idnumber;
pub mod ids;
pub mod intake_rules;
pub mod legacy_category;
pub mod material;
pub mod page;
pub mod person;
pub mod policy;
pub mod report;
pub mod request;
pub mod review;
pub mod user;
pub mod workflow;

pub use audit::AuditAction;
pub use category::{Category, CategoryScheme};
pub use date::PartialDate;
pub use ids::{
    BatchId, GrantId, ImportId, LoanId, MaterialId, PersonId, ReceivingId, RequestId, TaskId, TransferId, UserId,
};
pub use legacy_category::LegacyScheme;
pub use material::{Material, MaterialMeta, MaterialVersion, TextState, TextStatus, WithText};
pub use person::{Person, PersonInput, PersonPatch, PersonStatus};
pub use report::ReportKind;
pub use request::RequestKind;
pub use user::{Role, User};

/// The OpenAPI schema of an id (DESIGN §5): a UUID string.
pub(crate) fn uuid_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::Custom("uuid".into()))).into()
}

/// A finding of validation: which field is wrong and why. Errors block a write; warnings travel with it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// The field (JSON path such as `id_number` or `appointments[2].from`).
    pub field: String,
    /// `error` or `warning`.
    pub severity: Severity,
    /// Human-readable reason, in the language of the archive (Chinese) with the evidence.
    pub message: String,
}

/// How serious a [`Finding`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the write.
    Error,
    /// Travels with the write for reviewers to weigh.
    Warning,
}

impl Finding {
    /// A blocking finding.
    pub fn error(field: impl Into<String>, message: impl Into<String>) -> Self {
        Finding { field: field.into(), severity: Severity::Error, message: message.into() }
    }
    /// A non-blocking finding.
    pub fn warning(field: impl Into<String>, message: impl Into<String>) -> Self {
        Finding { field: field.into(), severity: Severity::Warning, message: message.into() }
    }
}

/// Today's date in UTC (the archive's dates carry no time zone).
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// Seconds since the Unix epoch, for record timestamps.
pub fn now_ts() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Formats a Unix timestamp as RFC 3339 (UTC).
pub fn ts_rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}
