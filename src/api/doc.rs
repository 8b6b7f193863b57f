//! The OpenAPI document of the API (DESIGN §5), generated with utoipa: each handler carries its
//! `#[utoipa::path]` (method, path, parameters, body, answers, security) and the types it takes and answers derive
//! `ToSchema`. [`super::router`] and the document are built from the same list of handlers (utoipa-axum's
//! `routes!`), so a route cannot be served without being documented: a handler without its annotation does not
//! compile into the list. Served at `GET /api/v1/openapi.json`, built once.

use super::error::Problem;
use crate::model::{BatchId, GrantId, ImportId, MaterialId, PersonId, RequestId, RequestKind, UserId};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response as OaResponse, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, HeaderBuilder, OpenApi as Document, Ref, RefOr, Required};
use utoipa::{Modify, OpenApi, PartialSchema, ToResponse, ToSchema};

/// The document's frame: what no handler says (info, servers, tags, the security schemes, the shared answers).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "dangan",
        description = "Archive store for Chinese personnel files (干部人事档案): person records with their dated \
record lists, dossier materials with versioned, encrypted content, and full-text search. JSON over HTTP with bearer \
tokens from `POST /auth/login`; errors are `application/problem+json`; every response carries `x-request-id`. Writes \
to existing records need `If-Match` with the current version. Unknown paths answer 404 and unsupported methods 405, \
both as problems. Access follows a policy held as data (roles, person fields, material scopes by category and tag, \
capabilities) under hard rules (never one's own or a relative's dossier); person records are redacted to what the \
caller may see. Every access is recorded in a hash-chained audit trail. Consultation grants, digitization batches, \
change requests with approval workflows, inboxes and notifications complete the archive's administration.\n\n\
This document is generated from the handlers and their types (`src/api/doc.rs`)."
    ),
    servers((url = "/api/v1")),
    security(("bearer" = [])),
    tags(
        (name = "system", description = "Health, metrics and this document."),
        (name = "auth", description = "Sessions and accounts."),
        (name = "persons", description = "Person records (干部) and their history."),
        (name = "materials", description = "Dossier materials (材料), their content and history."),
        (name = "search", description = "Full-text search."),
        (name = "access", description = "The access policy and the permission review (security administrator)."),
        (name = "audit", description = "The hash-chained audit trail (auditor)."),
        (name = "grants", description = "Consultation grants (查阅授权)."),
        (name = "batches", description = "Digitization batches for scanning operators."),
        (name = "requests", description = "Change requests, their approval steps, and the inbox."),
        (name = "workflows", description = "Workflow definitions (approval flows as data)."),
        (name = "notifications", description = "Notifications of requests that need or concern the caller."),
        (name = "reports", description = "Reports on the archive's work."),
        (name = "imports", description = "Batch imports of digitised files with their catalogue."),
        (name = "packages", description = "Transfer packages (转递): signed BagIt bags in and out."),
        (name = "custody", description = "Custody of the paper dossiers (档案保管), transfers out (转出) and loans (借出)."),
        (name = "contracts", description = "The contract register (合同登记簿): records, reminders, terms proposed from \
            the text, legal's review notes."),
        (name = "backup", description = "Backups of the whole store (system administrator)."),
    ),
    components(
        schemas(
            Problem, RequestKind, Binary, PersonId, MaterialId, UserId, GrantId, BatchId, RequestId, ImportId
        ),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            PreconditionFailed,
            TooLarge,
            UnsupportedMediaType,
            Unprocessable,
            PreconditionRequired,
            TooManyRequests,
            InternalError,
            AuditRollback,
        )
    ),
    modifiers(&Frame)
)]
pub(super) struct ApiDoc;

/// Bytes of a file (a download or an upload's `file`): a binary string.
pub(super) struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::Custom("binary".into()))).into()
    }
}

impl ToSchema for Binary {}

/// A reusable problem+json answer, referenced by the handlers' annotations as `response = Name`.
macro_rules! problem_answer {
    ($($name:ident: $description:literal;)*) => {$(
        #[doc = $description]
        pub(super) struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<OaResponse>) {
                (stringify!($name), problem_response($description))
            }
        }
    )*};
}

problem_answer! {
    BadRequest: "Malformed request: bad JSON syntax, bad id or query parameter, bad If-Match, malformed multipart, \
        missing or unexpected part.";
    Unauthorized: "Missing, invalid or expired bearer token (or wrong credentials at login).";
    Forbidden: "The caller's roles do not allow this; `detail` names the rule.";
    NotFound: "No such object (or the caller may not know it exists).";
    MethodNotAllowed: "The path exists but not with this method.";
    Conflict: "Conflicts with the current state (e.g. a person with this ID number already exists).";
    PreconditionFailed: "`If-Match` names a version that is no longer current.";
    TooLarge: "The body (or a part) is larger than allowed.";
    UnsupportedMediaType: "Wrong Content-Type (JSON bodies need `application/json`; uploads `multipart/form-data`).";
    Unprocessable: "Well-formed but invalid input; `findings` say where and why when the service layer validated it.";
    PreconditionRequired: "The write needs `If-Match` with the current version.";
    TooManyRequests: "Too many failed logins for this user or address (`Retry-After` says for how long).";
    InternalError: "Internal error or damaged stored data; the cause is logged, not sent.";
    AuditRollback: "The store's audit trail is behind its witness (a rollback, an older backup restored): nothing but \
        sign-in and the acknowledgement is served; `detail` names the witnessed point.";
}

fn problem_response(description: &str) -> RefOr<OaResponse> {
    ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
        .into()
}

/// What the frame adds to the generated paths: the security schemes, and on every answer the `x-request-id`
/// header the server sets (`server.rs`).
struct Frame;

impl Modify for Frame {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("opaque".into());
        bearer.description = Some("A session token from `POST /auth/login`.".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let mut metrics = Http::new(HttpAuthScheme::Bearer);
        metrics.description = Some("`DANGAN_METRICS_TOKEN`, when the installation sets one.".into());
        components.add_security_scheme("metrics_token", SecurityScheme::Http(metrics));
    }
}

/// Every operation of the document.
fn operations_mut(doc: &mut Document) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.options.as_mut(),
            item.head.as_mut(),
            item.patch.as_mut(),
            item.trace.as_mut(),
        ]
        .into_iter()
        .flatten()
    })
}

/// What the answers' headers mean (the annotations name them).
const HEADERS: [(&str, &str); 6] = [
    ("ETag", "The version of the record, e.g. `\"3\"`; send it back in `If-Match`."),
    ("Location", "The new resource, e.g. `/api/v1/persons/{id}`."),
    ("Content-Disposition", "`attachment; filename=\"…\"; filename*=UTF-8''…` (RFC 6266)."),
    ("Cache-Control", "`no-store`."),
    (
        "X-Content-BLAKE3",
        "The content hash of the bytes (hex): BLAKE3, or SM3 as `x-content-sm3` under the 国密 suite.",
    ),
    ("Retry-After", "Seconds until logins are accepted again."),
];

/// Finishes the generated document: `security(())` on an operation means "no sign-in" (an empty list, not one
/// empty requirement); every operation takes an `x-request-id` and every answer names the one it carries; the
/// answers' headers say what they mean.
pub(super) fn finish(mut doc: Document) -> Document {
    for op in operations_mut(&mut doc) {
        op.parameters.get_or_insert_with(Vec::new).push(
            ParameterBuilder::new()
                .name("x-request-id")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("A request id to use (echoed back); a UUID is assigned when absent."))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        );
        if let Some([only]) = op.security.as_deref()
            && only == &Default::default()
        {
            op.security = Some(Vec::new());
        }
        for answer in op.responses.responses.values_mut() {
            if let RefOr::T(answer) = answer {
                for (name, header) in answer.headers.iter_mut() {
                    if let Some((_, what)) = HEADERS.iter().find(|(n, _)| n == name) {
                        header.description.get_or_insert_with(|| what.to_string());
                    }
                }
                answer.headers.insert(
                    "x-request-id".into(),
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String))
                        .description(Some(
                            "The request id (the client's `x-request-id`, or a new UUID); also in the server log.",
                        ))
                        .build(),
                );
            }
        }
    }
    doc
}

/// The document as served, built once.
pub(super) fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, doc) = super::parts();
        doc.to_json().expect("the OpenAPI document serializes")
    })
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "system",
    summary = "This OpenAPI document",
    description = "Generated from the handlers and their types; the same list of handlers builds the router.",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", content((Object = "application/json"))),
        (status = 503, response = AuditRollback),
    ),
    security(()),
)]
pub(super) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

#[cfg(test)]
mod tests {
    use crate::model::RequestKind;

    fn doc() -> serde_json::Value {
        serde_json::from_str(super::document()).unwrap()
    }

    /// The document lists the kinds the service takes, in the same order: one list (`RequestKind::ALL`).
    #[test]
    fn openapi_lists_every_request_kind() {
        let doc = doc();
        let listed = &doc["components"]["schemas"]["RequestKind"]["enum"];
        let kinds: Vec<&str> = RequestKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(listed, &serde_json::json!(kinds));
    }

    /// Every `$ref` of the document names a component it defines.
    #[test]
    fn openapi_references_resolve() {
        let doc = doc();
        let text = doc.to_string();
        let mut missing = Vec::new();
        for part in text.split("\"$ref\":\"#/components/").skip(1) {
            let target = &part[..part.find('"').unwrap()];
            let (kind, name) = target.split_once('/').unwrap();
            if doc["components"][kind][name].is_null() {
                missing.push(target.to_string());
            }
        }
        assert!(missing.is_empty(), "unresolved references: {missing:?}");
    }
}
