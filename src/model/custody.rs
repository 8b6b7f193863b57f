//! Custody of the paper dossier (档案保管, docs/DOMAIN.md §4c): the dossier record (档案编号, 正本/副本, 库位, the
//! custody state and its history), the rules by which a person's status moves it (as data, `custody.toml`),
//! transfers out (转出) with their deadline and receipt (回执), and loans (借出). Pure types and rules; the use
//! cases are `service::custody` and `service::transfers`.

use super::{LoanId, TaskId, TransferId};
use super::{PartialDate, PersonId, PersonStatus, RequestId};
use serde::{Deserialize, Serialize};

/// The custody rules shipped (data: an archive may change them).
pub const DEFAULT_RULES: &str = include_str!("custody.toml");

/// Where a paper dossier is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "在库 in_store, 借出 lent, 转出中 transferring, 已转出 transferred_out, 已移交 handed_over \
    (to a 档案馆), 已销毁 destroyed.")]
pub enum CustodyState {
    /// 在库: on its shelf.
    #[default]
    InStore,
    /// 借出: lent out on paper.
    Lent,
    /// 转出中: to be, or being, transferred to another unit (no receipt yet).
    Transferring,
    /// 已转出: transferred; the receiver's receipt is on record.
    TransferredOut,
    /// 已移交: handed over to an archives (档案馆) by rule, after retirement or death.
    HandedOver,
    /// 已销毁: destroyed.
    Destroyed,
}

impl CustodyState {
    /// Every state.
    pub const ALL: [CustodyState; 6] = [
        CustodyState::InStore,
        CustodyState::Lent,
        CustodyState::Transferring,
        CustodyState::TransferredOut,
        CustodyState::HandedOver,
        CustodyState::Destroyed,
    ];

    /// The name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CustodyState::InStore => "in_store",
            CustodyState::Lent => "lent",
            CustodyState::Transferring => "transferring",
            CustodyState::TransferredOut => "transferred_out",
            CustodyState::HandedOver => "handed_over",
            CustodyState::Destroyed => "destroyed",
        }
    }

    /// The state of a name.
    pub fn parse(s: &str) -> Option<CustodyState> {
        CustodyState::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Its name: (Chinese, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            CustodyState::InStore => ("在库", "In store"),
            CustodyState::Lent => ("借出", "Lent"),
            CustodyState::Transferring => ("转出中", "Being transferred"),
            CustodyState::TransferredOut => ("已转出", "Transferred out"),
            CustodyState::HandedOver => ("已移交", "Handed over"),
            CustodyState::Destroyed => ("已销毁", "Destroyed"),
        }
    }

    /// Whether the archive office may set this state by hand from `from`. Lending and returning are the loans'
    /// (借出, 归还), 转出中 by a transfer or a rule, 已转出 by a receipt only; by hand: 已移交 or 已销毁 of a dossier
    /// on the shelf or waiting to leave, and back to 在库 a dossier a rule had marked to leave (no transfer open).
    pub fn settable_by_hand(from: CustodyState, to: CustodyState) -> bool {
        use CustodyState::*;
        matches!((from, to), (InStore | Transferring, HandedOver) | (InStore, Destroyed) | (Transferring, InStore))
    }
}

impl std::fmt::Display for CustodyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// 正本 or 副本.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "正本 original, 副本 duplicate.")]
pub enum CopyKind {
    /// 正本.
    #[default]
    Original,
    /// 副本.
    Duplicate,
}

impl CopyKind {
    /// (Chinese, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            CopyKind::Original => ("正本", "Original"),
            CopyKind::Duplicate => ("副本", "Duplicate"),
        }
    }
}

/// One change of a dossier's custody, as the history shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustodyEvent {
    /// When (RFC 3339).
    pub at: String,
    /// Who (an account, or `rule` / `system`).
    pub by: String,
    /// The state before.
    pub from: CustodyState,
    /// The state after.
    pub to: CustodyState,
    /// What changed, in words (`库位 A-01 → A-02`, `转出 to …`, `借出 to …`).
    pub what: String,
}

/// A state a rule will set later: after retirement or death, the handover (移交) once its period is over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingMove {
    /// The state to set.
    pub to: CustodyState,
    /// From this day on (`YYYY-MM-DD`).
    pub due_on: PartialDate,
    /// The rule's reason (`去世`, `退休`).
    pub because: String,
}

/// The custody record of a dossier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustodyRecord {
    /// The person.
    pub person_id: PersonId,
    /// 档案编号: assigned when the dossier is created (none for a dossier older than custody records, until the
    /// archive office gives one), unique; the archive office may renumber it.
    pub archive_number: Option<String>,
    /// 正本 or 副本.
    pub copy: CopyKind,
    /// 库位: the shelf location.
    pub location: Option<String>,
    /// Where the paper dossier is.
    pub state: CustodyState,
    /// Increases with every change.
    pub version: u32,
    /// A move a rule will make (the handover after a retirement or death), if any.
    pub pending: Option<PendingMove>,
    /// Every change, oldest first.
    pub history: Vec<CustodyEvent>,
}

/// How a person's status moves custody: a rule per status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustodyRule {
    /// The status that sets it off (`resigned`, `retired`, `deceased`, `transferred`).
    pub status: PersonStatus,
    /// The custody state it leads to.
    pub state: CustodyState,
    /// Months after the status change before it applies (0: at once; otherwise it is pending, and shown due in
    /// the archive office's inbox when the time has come).
    #[serde(default)]
    pub after_months: u32,
}

/// The rules, as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustodyRules {
    /// One per status at most.
    #[serde(default, rename = "rule")]
    pub rules: Vec<CustodyRule>,
}

impl CustodyRules {
    /// Parses rules; a status named twice is refused.
    pub fn parse(text: &str) -> Result<CustodyRules, String> {
        let r: CustodyRules = toml::from_str(text).map_err(|e| format!("custody rules: {e}"))?;
        for (i, a) in r.rules.iter().enumerate() {
            if r.rules[..i].iter().any(|b| b.status == a.status) {
                return Err(format!("custody rules: status {:?} has two rules", a.status));
            }
        }
        Ok(r)
    }

    /// The shipped rules.
    pub fn shipped() -> CustodyRules {
        CustodyRules::parse(DEFAULT_RULES).expect("the shipped custody rules parse")
    }

    /// The rule for a status, if any.
    pub fn for_status(&self, s: PersonStatus) -> Option<&CustodyRule> {
        self.rules.iter().find(|r| r.status == s)
    }
}

/// Where a transfer out stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// Approved; the package is to be (or was) sent, the receipt has not come.
    Open,
    /// The receiver's receipt is on record.
    Closed,
}

/// A package built for a transfer (the one sent; a rebuilt package is listed too, each with its own hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SentPackage {
    /// SHA-256 of the zip (hex): the receipt names it.
    pub sha256: String,
    /// When it was built (RFC 3339).
    pub at: String,
    /// Who built (downloaded) it.
    pub by: String,
}

/// The receiver's receipt (回执) as it was verified and recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordedReceipt {
    /// The package it acknowledges.
    pub package_sha256: String,
    /// The receiver's key (hex), one of the trusted installations.
    pub receiver_key: String,
    /// The receiving account there.
    pub received_by: String,
    /// When it was received there (RFC 3339).
    pub received_at: String,
    /// The dossier's id there.
    pub receiver_person_id: String,
    /// Who loaded it here, and when (RFC 3339).
    pub loaded_by: String,
    /// When.
    pub loaded_at: String,
    /// The receipt as received (its JSON, signature included), kept as evidence.
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
}

/// A transfer out (转出) of a dossier: the approved request's terms, the deadline, the packages, the receipt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transfer {
    /// Id.
    pub id: TransferId,
    /// The dossier.
    pub person_id: PersonId,
    /// The person's name (the register is kept after the dossier left).
    pub person_name: String,
    /// The approved `transfer_out` request.
    pub request_id: RequestId,
    /// 转出原因.
    pub reason: String,
    /// 接收单位.
    pub receiving_unit: String,
    /// 通知单 number (the 调动/转递通知单 that asks for the dossier).
    pub notice_number: String,
    /// The receiving unit's address.
    pub address: Option<String>,
    /// The day the transfer was approved (`YYYY-MM-DD`).
    pub approved_on: PartialDate,
    /// 转递 is due within two months of the approval: the last day (`YYYY-MM-DD`).
    pub deadline: PartialDate,
    /// The packages built for it, oldest first.
    pub packages: Vec<SentPackage>,
    /// The day the first package was built (sent), if any.
    pub sent_on: Option<PartialDate>,
    /// Open or closed.
    pub state: TransferState,
    /// The receipt, once loaded.
    pub receipt: Option<RecordedReceipt>,
}

impl Transfer {
    /// Past the two-month deadline without a receipt.
    pub fn overdue(&self, today: time::Date) -> bool {
        self.state == TransferState::Open && today > self.deadline.last_day()
    }

    /// 催问: no receipt `chase_months` after the package was sent (or, not yet sent, after the approval).
    pub fn chase(&self, today: time::Date, chase_months: u32) -> bool {
        let from = self.sent_on.unwrap_or(self.approved_on).last_day();
        self.state == TransferState::Open && today > super::date::add_months(from, chase_months)
    }
}

/// A loan (借出) of a paper dossier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Loan {
    /// Id.
    pub id: LoanId,
    /// The dossier.
    pub person_id: PersonId,
    /// The person's name.
    pub person_name: String,
    /// 借阅人: who took it.
    pub borrower: String,
    /// 借阅单位.
    pub unit: String,
    /// 借阅事由.
    pub purpose: String,
    /// Lent on (`YYYY-MM-DD`).
    pub lent_on: PartialDate,
    /// Due back on (`YYYY-MM-DD`).
    pub due_on: PartialDate,
    /// Returned on (归还), once returned.
    pub returned_on: Option<PartialDate>,
    /// Who lent it.
    pub lent_by: String,
    /// Who took it back.
    pub returned_by: Option<String>,
}

impl Loan {
    /// Past its due date and not returned.
    pub fn overdue(&self, today: time::Date) -> bool {
        self.returned_on.is_none() && today > self.due_on.last_day()
    }
}

/// A paper-filing task (归档任务): after a dossier is created or changed, the paper goes into the folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FilingTask {
    /// Id.
    pub id: TaskId,
    /// The dossier.
    pub person_id: PersonId,
    /// The person's name.
    pub person_name: String,
    /// What is to be filed, one line per change (`建档`, `v3: request … (promotion) approved by …`).
    pub changes: Vec<String>,
    /// Since (RFC 3339).
    pub since: String,
    /// Done (filed) at, by.
    pub done_at: Option<String>,
    /// Who marked it filed.
    pub done_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_parse_and_move_resignation_and_death() {
        let r = CustodyRules::shipped();
        assert_eq!(r.for_status(PersonStatus::Resigned).unwrap().state, CustodyState::Transferring);
        let death = r.for_status(PersonStatus::Deceased).unwrap();
        assert_eq!((death.state, death.after_months > 0), (CustodyState::HandedOver, true));
        assert!(r.for_status(PersonStatus::Active).is_none());
        assert!(
            CustodyRules::parse(
                "[[rule]]\nstatus='retired'\nstate='in_store'\n[[rule]]\nstatus='retired'\nstate='lent'"
            )
            .is_err()
        );
    }

    #[test]
    fn by_hand_only_the_handover_destruction_and_the_undoing_of_a_rule() {
        use CustodyState::*;
        assert!(CustodyState::settable_by_hand(InStore, HandedOver));
        assert!(CustodyState::settable_by_hand(Transferring, InStore));
        for (from, to) in [(InStore, Lent), (InStore, TransferredOut), (Lent, InStore), (TransferredOut, InStore)] {
            assert!(!CustodyState::settable_by_hand(from, to), "{from} → {to}");
        }
        for s in CustodyState::ALL {
            assert_eq!(CustodyState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn a_transfer_is_chased_a_month_after_it_was_sent_and_overdue_after_two() {
        let d = |s: &str| s.parse::<PartialDate>().unwrap();
        let t = Transfer {
            id: TransferId::new(),
            person_id: PersonId::new(),
            person_name: "x".into(),
            request_id: RequestId::new(),
            reason: "调动".into(),
            receiving_unit: "某单位".into(),
            notice_number: "1".into(),
            address: None,
            approved_on: d("2026-01-10"),
            deadline: d("2026-03-10"),
            packages: Vec::new(),
            sent_on: Some(d("2026-01-15")),
            state: TransferState::Open,
            receipt: None,
        };
        let day = |s: &str| d(s).last_day();
        assert!(!t.chase(day("2026-02-15"), 1) && t.chase(day("2026-02-16"), 1));
        assert!(!t.overdue(day("2026-03-10")) && t.overdue(day("2026-03-11")));
        let closed = Transfer { state: TransferState::Closed, ..t };
        assert!(!closed.chase(day("2027-01-01"), 1) && !closed.overdue(day("2027-01-01")));
    }
}
