//! The OpenAPI schemas of the service's types that the API takes and answers with (DESIGN §5). They describe the
//! JSON of `crate::service` types field by field, under the types' own names; they are never built (hence
//! `dead_code`). `tests/it/openapi.rs` compares the answers of a demo installation with them, so a field added to
//! a service type and not here fails a test.
#![allow(dead_code)]

use crate::model::policy::RolePolicy;
use crate::model::workflow::{RequestState, Step};
use crate::model::{BatchId, Finding, GrantId, ImportId, MaterialId, PartialDate, Person, PersonId, RequestId};
use crate::model::{RequestKind, Role};
use serde_json::Value;
use utoipa::ToSchema;

/// The indexing lanes' depths and ages (nothing of what waits on them).
#[derive(ToSchema)]
pub(super) struct Queues {
    /// The text lane (extraction and indexing).
    text: LaneDepth,
    /// The OCR lane (scans and image-only PDFs).
    ocr: LaneDepth,
}

/// One lane's queue.
#[derive(ToSchema)]
pub(super) struct LaneDepth {
    /// Materials waiting on this lane.
    depth: u64,
    /// Age of the oldest entry in seconds (0 when the queue is empty).
    oldest_seconds: u64,
}

/// A fresh second-factor secret for the caller's authenticator app (pending until confirmed).
#[derive(ToSchema)]
pub(super) struct TotpEnrolment {
    /// Base32 secret for the authenticator app.
    secret: String,
    /// `otpauth://totp/…` URI (for a QR code).
    otpauth: String,
}

/// A person record as the caller may see it: parts the policy hides are emptied (lists empty, fields null) and
/// the ID number is masked (`110101********1234`) unless the whole number is allowed; `hidden` names what was
/// withheld.
#[derive(ToSchema)]
pub(super) struct PersonView {
    #[serde(flatten)]
    person: Person,
    /// Parts hidden from the caller (`id_number` masked, `salary`, `contracts`, …); omitted when nothing is.
    hidden: Option<Vec<String>>,
}

/// A search hit: a material the caller may list, with a highlighted fragment.
#[derive(ToSchema)]
pub(super) struct SearchHit {
    material_id: MaterialId,
    person_id: PersonId,
    /// The person's name.
    person_name: String,
    /// 材料名称.
    title: String,
    /// Category code.
    category: String,
    /// 材料形成时间.
    formed_on: Option<PartialDate>,
    /// Highlighted fragment: HTML-escaped text with `<b>` around matches.
    snippet: String,
    /// The same fragment as plain text.
    snippet_text: String,
    /// The page (1-based) on which the fragment's first highlighted match lies, when the material's text knows
    /// its pages (PDFs, scans read page by page); null otherwise.
    #[schema(minimum = 1)]
    page: Option<u32>,
    /// Relevance.
    score: f32,
}

/// A change of an account: the system administrator sets the state and the name, the security administrator the
/// roles (business roles only), department, leader level, person link and 密级 clearance. Fields left out stay as
/// they are.
#[derive(ToSchema)]
#[schema(as = UserPatch)]
pub(super) struct UserPatch {
    roles: Option<Vec<Role>>,
    disabled: Option<bool>,
    department: Option<String>,
    display_name: Option<String>,
    leader_level: Option<u8>,
    /// The holder's own person record.
    person_id: Option<PersonId>,
    /// 密级 clearance, 0 (public) to 3 (机密): the highest material secrecy the account may list, read or find
    /// (security administrator only).
    #[schema(minimum = 0, maximum = 3)]
    clearance: Option<u8>,
}

/// Where a grant stands: requested (not decided), granted (active between `from` and `until`), refused, revoked
/// (before expiry).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(super) enum GrantState {
    Requested,
    Granted,
    Refused,
    Revoked,
}

/// A consultation grant (查阅授权).
#[derive(ToSchema)]
pub(super) struct Grant {
    id: GrantId,
    /// Who asked (username).
    requester: String,
    /// The dossier.
    person_id: PersonId,
    /// Only these materials; the whole dossier when null.
    material_ids: Option<Vec<MaterialId>>,
    /// Why.
    purpose: String,
    /// From (Unix seconds).
    from: i64,
    /// Until (Unix seconds).
    until: i64,
    state: GrantState,
    /// Who decided or revoked.
    decided_by: Option<String>,
    /// When (Unix seconds).
    decided_at: Option<i64>,
    /// The decider's comment.
    comment: Option<String>,
    /// Asked at (Unix seconds).
    created_at: i64,
    /// 查阅单位: the consulting unit (null on grants recorded before it was asked for).
    unit: Option<String>,
    /// The readers (usernames): only they read under the grant.
    readers: Vec<String>,
    /// What it allows: view (阅, always), excerpt (摘录), copy (复制), download (下载), print (打印).
    permissions: Vec<crate::model::consultation::GrantPermission>,
    /// The letter of introduction (介绍信), once uploaded: file_name, mime, size, content_hash, uploaded_at.
    #[schema(value_type = Option<Object>)]
    letter: Option<Value>,
    /// Who has the authority to approve it (干部管理权限): `leader:<n>`, `head:person` or `role:<role>`.
    approver: Option<String>,
}

/// A request for a consultation grant. The period must end in the future and after it starts, and last at most a
/// year (422).
#[derive(ToSchema)]
pub(super) struct GrantRequest {
    /// The dossier.
    person_id: PersonId,
    /// Only these materials.
    material_ids: Option<Vec<MaterialId>>,
    /// Why (required).
    purpose: String,
    /// Start (`YYYY-MM-DD`; default now).
    from: Option<PartialDate>,
    /// End (`YYYY-MM-DD`, inclusive).
    until: PartialDate,
    /// 查阅单位 (2–100 characters; 422 `unit`).
    unit: String,
    /// The readers' usernames: enabled business accounts, at least the configured number (default 2), none an
    /// administrator (422 `readers`), none barred from the dossier (403).
    readers: Vec<String>,
    /// The permissions asked for; `view` is always included.
    permissions: Option<Vec<crate::model::consultation::GrantPermission>>,
}

/// A batch of scanning work (数字化批次).
#[derive(ToSchema)]
pub(super) struct Batch {
    id: BatchId,
    /// Name, e.g. 2026年第一批纸质档案数字化.
    name: String,
    /// Scanning operators assigned (usernames).
    assignees: Vec<String>,
    /// The dossiers the batch may file into.
    person_ids: Vec<PersonId>,
    /// Open for filing.
    open: bool,
    /// Who created it.
    created_by: String,
    /// When (Unix seconds).
    created_at: i64,
    /// 扫描中 → 自检 → 抽检 → 验收, or 退回 (rescans) → 抽检 again.
    state: crate::model::page::BatchState,
    /// The share of pages each 抽检 draws, percent.
    sample_percent: u8,
    /// The fewest pages a 抽检 draws.
    sample_min: u32,
    /// When the operators finished scanning (Unix seconds).
    self_check_at: Option<i64>,
    /// Rounds of 抽检. A batch's operators never see a sample, nor the defects of an undecided round.
    rounds: Vec<crate::model::page::QcRound>,
    /// Pages sent back for rescanning.
    rescans: Vec<crate::model::page::Rescan>,
}

/// A batch with its figures (`GET /batches/{id}`).
#[derive(ToSchema)]
pub(super) struct BatchView {
    /// The batch (its operators see no sample, nor the defects of an undecided round).
    batch: Batch,
    /// Its figures, whole and per operator.
    figures: crate::service::qc::BatchFigures,
}

/// A new batch. Every dossier must exist (404) and every assignee must be a scanning operator (422).
#[derive(ToSchema)]
pub(super) struct NewBatch {
    name: String,
    /// Operators (usernames).
    assignees: Vec<String>,
    /// Dossiers.
    person_ids: Vec<PersonId>,
    /// The share of pages each 抽检 draws, percent (1–100; default 10).
    sample_percent: Option<u8>,
    /// The fewest pages a 抽检 draws (default 5).
    sample_min: Option<u32>,
}

/// One decision on a step.
#[derive(ToSchema)]
pub(super) struct DecisionRecord {
    /// The step.
    step: String,
    /// Who (username).
    actor: String,
    /// `approve`, `reject` or `return`.
    decision: String,
    comment: Option<String>,
    /// When (Unix seconds).
    at: i64,
    /// The hash of the proposed change decided on; a later edit of the change voids the decision.
    change_hash: String,
    /// Whether a later edit of the change voided it.
    void: bool,
}

/// A comment on a request.
#[derive(ToSchema)]
pub(super) struct Comment {
    author: String,
    /// When (Unix seconds).
    at: i64,
    text: String,
}

/// A change request (变更申请) across departments.
#[derive(ToSchema)]
pub(super) struct Request {
    id: RequestId,
    kind: RequestKind,
    /// The person (set on application for `create`).
    person_id: Option<PersonId>,
    /// The person's department when the request was made (routes `head:person`).
    person_department: Option<String>,
    /// Proposed changes: the person fields the kind takes (`RequestKind`'s change fields).
    #[schema(value_type = Object)]
    changes: Value,
    /// Why.
    reason: Option<String>,
    state: RequestState,
    steps: Vec<Step>,
    /// Decisions, oldest first.
    decisions: Vec<DecisionRecord>,
    /// Validation findings (warnings travel with the request).
    findings: Vec<Finding>,
    /// Who started it.
    initiator: String,
    /// When (Unix seconds).
    created_at: i64,
    /// Last change (Unix seconds).
    updated_at: i64,
    /// The person version the change was built on.
    base_version: Option<u32>,
    /// The person version it produced.
    applied_version: Option<u32>,
    /// Why it cannot be applied as it stands (another change replaced its base version).
    conflict: Option<String>,
    /// The definitions version it runs under.
    definitions_version: u32,
    /// Comments, oldest first (escalations are recorded here too, by `system`).
    comments: Vec<Comment>,
    /// The change keys and finding fields hidden from the caller (`id_number`: masked), as the person view hides
    /// them.
    hidden: Vec<String>,
}

/// A new change request. It is validated (422 with `findings`), routed by its content, and submitted at once
/// unless `draft`; a routine update by HR whose fields are all on the flow's fast path is applied at once.
/// Unknown fields give 422.
#[derive(ToSchema)]
pub(super) struct NewRequest {
    kind: RequestKind,
    /// The person (not for `create`).
    person_id: Option<PersonId>,
    /// Proposed changes, a JSON object, by kind: `create` — a new person record (as the body of `POST /persons`);
    /// `update` — a JSON merge patch of the person record (as `PATCH /persons/{id}` takes); `promotion` — `position`,
    /// `rank`, `salary_grade`, `contract_change`, `effective_on`; `transfer` — `department` (required), `position`,
    /// `rank`, `effective_on`; `resignation` — `resign_on` (required), `agreement`, `settlement`. `consultation` —
    /// `purpose` (required), `until` (required, within the coming year), `material_ids`; `destruction` — `material_ids`
    /// (required), `appraisal` (required); `secondment` — `department` (required: the host department), `position`,
    /// `from` and `until` (required, `until` after `from`), `reason`. Dates are `YYYY[-MM[-DD]]`. Other fields give
    /// 422.
    #[schema(value_type = Object)]
    changes: Value,
    /// Why.
    reason: Option<String>,
    /// Keep as a draft instead of submitting.
    #[schema(default = false)]
    draft: Option<bool>,
}

/// A step waiting for the caller.
#[derive(ToSchema)]
pub(super) struct InboxItem {
    request_id: RequestId,
    kind: RequestKind,
    person_id: Option<PersonId>,
    /// The step waiting for the caller.
    step: String,
    /// Waiting since (RFC 3339).
    since: String,
    /// Due (RFC 3339).
    due: String,
    /// Past due.
    overdue: bool,
}

/// A notification: a step opened (`request.step_pending`) or a request ended (`request.applied`,
/// `request.rejected`, `request.returned`). Also delivered to the configured webhooks.
#[derive(ToSchema)]
pub(super) struct Notification {
    /// Id (time-ordered).
    id: String,
    /// When (Unix seconds).
    at: i64,
    /// `request.step_pending`, `request.applied`, `request.rejected`, `request.returned`.
    event: String,
    request_id: RequestId,
    /// The request's kind.
    kind: String,
    person_id: Option<PersonId>,
    /// The step that waits, for `step_pending`.
    step: Option<String>,
    /// Who it is for: a step's assignee (`role:finance`, `head:person`, …) or `user:<name>`.
    recipient: String,
    /// Webhooks that accepted it.
    delivered: Vec<String>,
    /// Failed delivery attempts.
    attempts: u32,
    /// Not before (Unix seconds).
    next_attempt: i64,
}

/// Turnaround of one kind of request and one step: how long decisions took, and what is overdue now.
#[derive(ToSchema)]
pub(super) struct Turnaround {
    /// Request kind.
    kind: String,
    /// Step name, or `*` for whole requests (created → applied).
    step: String,
    /// Decisions (or applied requests) measured.
    count: usize,
    /// Median, hours.
    median_hours: Option<f64>,
    /// 90th percentile, hours.
    p90_hours: Option<f64>,
    /// Steps pending past their deadline now.
    overdue: usize,
}

/// Where an import stands: rows are being filed, every row was handled, or the process stopped before the end
/// (found so at the next start; run the batch again to finish it).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(super) enum ImportState {
    Running,
    Done,
    Interrupted,
}

/// What became of one row: filed as a new material, skipped (the dossier already holds these bytes), rejected
/// (the reason says why).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(super) enum RowOutcome {
    Imported,
    Skipped,
    Rejected,
}

/// One row of an import's report.
#[derive(ToSchema)]
pub(super) struct ImportRow {
    /// Catalogue line (1 is the heading).
    line: usize,
    /// The file the row names.
    file: String,
    outcome: RowOutcome,
    /// The material filed (or already holding the bytes).
    material_id: Option<MaterialId>,
    /// The person the row was filed to.
    person_id: Option<PersonId>,
    /// Why it was rejected or skipped.
    reason: Option<String>,
}

/// An import's progress and report.
#[derive(ToSchema)]
pub(super) struct ImportReport {
    id: ImportId,
    /// Who started it.
    by: String,
    /// The batch's name (zip file or directory).
    source: String,
    state: ImportState,
    /// When it started (RFC 3339).
    started_at: String,
    /// When it ended (RFC 3339).
    finished_at: Option<String>,
    /// Catalogue rows.
    total: usize,
    /// Rows handled so far.
    processed: usize,
    /// Rows filed.
    imported: usize,
    /// Rows already stored.
    skipped: usize,
    /// Rows refused.
    rejected: usize,
    /// Bytes of the files filed.
    imported_bytes: u64,
    /// The rows handled, in catalogue order.
    rows: Vec<ImportRow>,
    /// Files in the batch that no row names (not filed).
    unlisted: Vec<String>,
    /// The classification scheme of the catalogue's 类别 (`2018`, `2009`, `1991`), unless a row names its own.
    scheme: String,
}

/// 回执: what the receiver filed, signed by the receiver's installation key (over the compact JSON with
/// `signature` empty).
#[derive(ToSchema)]
pub(super) struct Receipt {
    /// SHA-256 of the package received (hex).
    package_sha256: String,
    /// The sender's key.
    sender_key: String,
    /// Whether the sender's key is among the trusted senders.
    sender_trusted: bool,
    /// The receiving installation's key.
    receiver_key: String,
    /// The receiving account.
    received_by: String,
    /// When (RFC 3339).
    received_at: String,
    /// The person's id at the sender.
    sender_person_id: String,
    /// The new dossier.
    person_id: PersonId,
    /// Materials filed.
    materials: usize,
    /// Versions filed.
    versions: usize,
    /// Bytes filed.
    bytes: u64,
    /// The receiver's signature (hex; Ed25519 or SM2).
    signature: String,
}

/// One account in the permission review.
#[derive(ToSchema)]
pub(super) struct AccountReview {
    username: String,
    roles: Vec<Role>,
    department: Option<String>,
    disabled: bool,
    /// The union of the roles' rules.
    effective: RolePolicy,
    /// The rules, per role, that give it.
    rules: Vec<String>,
    /// Consultation grants in force.
    active_grants: usize,
    /// Linked to its holder's person record.
    linked: bool,
    /// 密级 clearance in force, 0–3 (an account without one set: 1, internal).
    clearance: u8,
    /// Whether the security administrator set the clearance (else it is the default).
    clearance_set: bool,
    /// Must choose its own password at the next sign-in.
    must_change_password: bool,
    /// The hard rules the account breaks, each naming its rule; such an account acts with no role, or reads
    /// nothing, until it is mended.
    violations: Vec<String>,
}

/// How an action ended: done, refused by a rule (the reason names it), or failed otherwise (bad input, missing
/// object, storage).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(super) enum AuditOutcome {
    Allowed,
    Denied,
    Failed,
}

/// One entry of the hash-chained audit trail.
#[derive(ToSchema)]
pub(super) struct AuditEntry {
    /// Sequence number, from 1, without gaps.
    seq: u64,
    /// When (Unix milliseconds).
    at: i64,
    /// Who (username; the name tried, for a failed login; `system` for local commands).
    actor: String,
    /// From where (source address).
    source: String,
    /// What, e.g. `material.download`, `search`, `auth.login`.
    action: String,
    /// On which object, e.g. `material:…`, `person:…`.
    object: String,
    outcome: AuditOutcome,
    /// Why (the rule for a denial), or what (the query of a search, the grant a read stood on).
    detail: Option<String>,
    /// Hash of the previous entry (hex).
    prev: String,
    /// This entry's hash (hex): of the previous hash and this entry's fields, by the suite's hash.
    hash: String,
}

/// The result of verifying the chain: sequence without gaps, every entry opens, each commits to the one before,
/// the checkpoints and the head agree; with a configured witness also that the trail reaches and agrees with every
/// witnessed point and every witness line verifies.
#[derive(ToSchema)]
pub(super) struct AuditVerify {
    /// Whether the whole chain holds.
    ok: bool,
    /// Entries checked.
    entries: u64,
    /// Checkpoints checked.
    checkpoints: u64,
    /// The first bad entry's sequence number.
    first_bad: Option<u64>,
    /// What is wrong with it.
    problem: Option<String>,
    /// The chain's head hash (to compare with an exported checkpoint).
    head_hash: String,
    /// What the witness says (key, lines read and compared, the newest witnessed point, the first conflict,
    /// unverified lines, acknowledged rollbacks), when one is configured.
    #[schema(value_type = Option<Object>)]
    witness: Option<Value>,
}

/// The chain's hash at a sequence number (every 256 entries), signed with the installation's key.
#[derive(ToSchema)]
pub(super) struct Checkpoint {
    seq: u64,
    /// Hash of that entry (hex).
    hash: String,
    /// When the entry was made (Unix milliseconds).
    at: i64,
    /// Signature (hex, Ed25519 or SM2).
    signature: String,
}

/// The audit checkpoints, oldest first, and the installation's public key: keep the list elsewhere (`dangan
/// audit verify --witness` takes it).
#[derive(ToSchema)]
pub(super) struct CheckpointList {
    items: Vec<Checkpoint>,
    /// How many.
    total: usize,
    /// The installation's public key, `ed25519:<hex>` or `sm2:<hex>`.
    public_key: String,
}

/// A place in the trail: an entry's sequence number and hash.
#[derive(ToSchema)]
pub(super) struct WitnessPoint {
    seq: u64,
    /// That entry's hash (hex).
    hash: String,
}

/// The acknowledged rollback.
#[derive(ToSchema)]
pub(super) struct Acknowledgement {
    /// The acknowledgement's own entry: the first of the resumed trail.
    entry: WitnessPoint,
    /// What the store was found to be behind: `kind` (`behind`, `differs`, `unverified`), the witnessed point,
    /// the witness line and the trail's last entry.
    #[schema(value_type = Object)]
    conflict: Value,
}
