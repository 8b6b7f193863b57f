//! Transfers out (转出, docs/DOMAIN.md §4c): an approved `transfer_out` request opens a transfer (its 接收单位,
//! 通知单 number, reason, address; a deadline two months on) and puts the dossier 转出中; the package is built and
//! signed when it is sent (`Packages::export`, by an account that may read the whole dossier: the gate decides,
//! not the approval), its SHA-256 recorded; the receiver's signed receipt (回执, what `Packages::import` answers
//! there) is loaded here, verified against the packages sent and the receiver's key (a trusted installation),
//! and closes the transfer: the dossier is 已转出. A transfer without a receipt a month after it was sent is
//! chased (催问); the register (转递登记簿) is a report.

use super::Transfers;
use super::packages::Package;
use super::reports::ReportTable;
use super::workflows::Request;
use super::{Error, Principal, Result};
use crate::model::custody::{CustodyState, RecordedReceipt, SentPackage, Transfer, TransferState};
use crate::model::policy::Capability;
use crate::model::request::text_field;
use crate::model::{AuditAction, PartialDate, Person, PersonId, TransferId, now_ts, today, ts_rfc3339};
use crate::store::{Table, WriteSet};
use serde::Serialize;
use serde_json::Value;

/// A transfer as the register shows it: with its flags as of a day.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TransferRow {
    /// The transfer.
    #[serde(flatten)]
    pub transfer: Transfer,
    /// Past its deadline without a receipt.
    pub overdue: bool,
    /// 催问: no receipt a month (configurable) after it was sent.
    pub chase: bool,
}

impl Transfers<'_> {
    /// Every transfer, oldest first.
    pub(crate) fn all(&self) -> Result<Vec<Transfer>> {
        Ok(self.store().scan::<Transfer>(Table::Transfers, b"")?.into_iter().map(|(_, t)| t).collect())
    }

    /// The latest transfer of a dossier, if any.
    pub(crate) fn latest_of(&self, person: PersonId) -> Result<Option<Transfer>> {
        Ok(self.all()?.into_iter().rev().find(|t| t.person_id == person))
    }

    /// The open transfer of a dossier, if any.
    pub(crate) fn open_of(&self, person: PersonId) -> Result<Option<Transfer>> {
        Ok(self.all()?.into_iter().find(|t| t.person_id == person && t.state == TransferState::Open))
    }

    /// An approved `transfer_out` request opens its transfer and puts the dossier 转出中 (in the request's
    /// application commit; callers hold the write lock). A dossier lent out, gone or destroyed is not transferred
    /// (409: return it first); one with a transfer open neither.
    pub(crate) fn stage_approved(&self, ws: &mut WriteSet, r: &Request, person: &Person) -> Result<()> {
        if self.open_of(person.id)?.is_some() {
            return Err(Error::Conflict("a transfer out of this dossier is open already".into()));
        }
        let custody = self.custody();
        let mut record = custody.record_or_default(person.id)?;
        if !matches!(record.state, CustodyState::InStore | CustodyState::Transferring) {
            return Err(Error::Conflict(format!(
                "the dossier is {}: only a dossier 在库 (or marked 转出中) is transferred",
                record.state.label().0
            )));
        }
        let approved = today();
        let t = Transfer {
            id: TransferId::new(),
            person_id: person.id,
            person_name: person.name.clone(),
            request_id: r.id,
            reason: text_field(&r.changes, "reason").unwrap_or_default(),
            receiving_unit: text_field(&r.changes, "receiving_unit").unwrap_or_default(),
            notice_number: text_field(&r.changes, "notice_number").unwrap_or_default(),
            address: text_field(&r.changes, "address"),
            approved_on: PartialDate::from_date(approved),
            deadline: PartialDate::from_date(crate::model::date::add_months(
                approved,
                self.config().custody.transfer_months,
            )),
            packages: Vec::new(),
            sent_on: None,
            state: TransferState::Open,
            receipt: None,
        };
        ws.put(Table::Transfers, t.id.as_bytes().to_vec(), &t)?;
        let what = format!("转出：转往{}（通知单 {}），期限 {}", t.receiving_unit, t.notice_number, t.deadline);
        let by = r.decisions.iter().rev().find(|d| !d.void).map(|d| d.actor.clone()).unwrap_or_else(|| "system".into());
        custody.stage_move(ws, &mut record, CustodyState::Transferring, &by, what)
    }

    fn load(&self, id: TransferId) -> Result<Transfer> {
        self.store()
            .get(Table::Transfers, id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("transfer {id} not found")))
    }

    /// May the caller work with transfers: the archive office, or whoever exports (HR); and see this person.
    fn check(&self, p: &Principal, t: &Transfer) -> Result<()> {
        if !self.policy().capability(&p.subject, Capability::ManageCustody).allowed {
            self.require(p, Capability::Export)?;
        }
        let person = self.persons().load_person(t.person_id)?;
        self.check_person(p, &person)?;
        Ok(())
    }

    /// Builds and signs the package of an open transfer (`Packages::export`: capability export and the right
    /// to read every material) and records its SHA-256 as sent; the first one sets the day it was sent.
    pub fn package(&self, p: &Principal, id: TransferId) -> Result<(Package, Transfer)> {
        self.audited(p, AuditAction::TransferPackage, &format!("transfer:{id}"), true, || {
            let t = self.load(id)?;
            self.check(p, &t)?;
            if t.state != TransferState::Open {
                return Err(Error::Conflict(format!("transfer {id} is closed: its receipt is on record")));
            }
            let package = self.packages().export(p, t.person_id)?;
            let _guard = self.lock();
            let mut t = self.load(id)?;
            t.packages.push(SentPackage {
                sha256: package.sha256.clone(),
                at: ts_rfc3339(now_ts()),
                by: p.user.username.clone(),
            });
            t.sent_on.get_or_insert(PartialDate::from_date(today()));
            let mut ws = self.store().write_set();
            ws.put(Table::Transfers, id.as_bytes().to_vec(), &t)?;
            let detail = format!("person:{} package sha256:{}", t.person_id, package.sha256);
            self.commit_audited(ws, p, AuditAction::TransferPackage, &format!("transfer:{id}"), Some(detail.clone()))?;
            Ok(((package, t), Some(detail)))
        })
    }

    /// Loads the receiver's receipt (回执): the JSON `Packages::import` answered at the receiver. It must name this
    /// installation as the sender and one of the packages built for this transfer, be signed by the key it names
    /// as the receiver's, and that key must be a trusted installation (`Config::trusted_senders`). Then the
    /// transfer is closed and the dossier 已转出, in one commit. Anything else is refused (422; an untrusted
    /// receiver 403) and changes nothing.
    pub fn load_receipt(&self, p: &Principal, id: TransferId, bytes: &[u8]) -> Result<Transfer> {
        self.audited(p, AuditAction::TransferReceipt, &format!("transfer:{id}"), true, || {
            let t = self.load(id)?;
            self.check(p, &t)?;
            if t.state != TransferState::Open {
                return Err(Error::Conflict(format!("transfer {id} is closed already")));
            }
            let receipt = self.verified_receipt(&t, bytes)?;
            let _guard = self.lock();
            let mut t = self.load(id)?;
            if t.state != TransferState::Open {
                return Err(Error::Conflict(format!("transfer {id} is closed already")));
            }
            let line = format!(
                "回执：{} 于 {} 接收（package sha256:{}）",
                t.receiving_unit,
                receipt.received_at,
                &receipt.package_sha256[..16.min(receipt.package_sha256.len())]
            );
            t.receipt = Some(RecordedReceipt {
                loaded_by: p.user.username.clone(),
                loaded_at: ts_rfc3339(now_ts()),
                ..receipt
            });
            t.state = TransferState::Closed;
            let mut ws = self.store().write_set();
            ws.put(Table::Transfers, id.as_bytes().to_vec(), &t)?;
            let custody = self.custody();
            let mut record = custody.record_or_default(t.person_id)?;
            custody.stage_move(&mut ws, &mut record, CustodyState::TransferredOut, &p.user.username, line)?;
            let detail = format!(
                "person:{} closed; receiver {}",
                t.person_id,
                crate::crypto::labelled_key(&t.receipt.as_ref().map(|r| r.receiver_key.clone()).unwrap_or_default())
            );
            self.commit_audited(ws, p, AuditAction::TransferReceipt, &format!("transfer:{id}"), Some(detail.clone()))?;
            Ok((t, Some(detail)))
        })
    }

    /// Checks a receipt against a transfer; the recorded receipt (who loaded it is filled by the caller).
    fn verified_receipt(&self, t: &Transfer, bytes: &[u8]) -> Result<RecordedReceipt> {
        let refuse = |m: &str| Error::invalid("receipt", m.to_string());
        let doc: Value = serde_json::from_slice(bytes).map_err(|_| refuse("not a receipt: JSON expected"))?;
        let obj = doc.as_object().ok_or_else(|| refuse("not a receipt: a JSON object expected"))?;
        let field = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(package), Some(sender), Some(receiver), Some(signature)) =
            (field("package_sha256"), field("sender_key"), field("receiver_key"), field("signature"))
        else {
            return Err(refuse("not a receipt: package_sha256, sender_key, receiver_key and signature are needed"));
        };
        let own = self.packages().signing_key_hex();
        if !crate::crypto::unlabelled_key(&sender).eq_ignore_ascii_case(&own) {
            return Err(refuse("the receipt is for a package of another installation (its sender key is not ours)"));
        }
        if !t.packages.iter().any(|s| s.sha256.eq_ignore_ascii_case(&package)) {
            return Err(refuse("the receipt acknowledges another package: its SHA-256 is none sent for this transfer"));
        }
        let receiver = crate::crypto::unlabelled_key(&receiver).to_ascii_lowercase();
        if !self.config().trusted_senders.iter().any(|k| k.eq_ignore_ascii_case(&receiver)) {
            return Err(Error::Forbidden(format!(
                "rule transfer.trusted-receiver: the receipt is signed by {}, which is not a trusted installation \
                 (DANGAN_TRUSTED_SENDERS)",
                crate::crypto::labelled_key(&receiver)
            )));
        }
        // The signature covers the receipt's compact JSON with the signature empty, in the order it was written.
        let mut unsigned = doc.clone();
        unsigned["signature"] = Value::String(String::new());
        let message = serde_json::to_vec(&unsigned).map_err(|e| Error::Internal(e.to_string()))?;
        if !crate::crypto::verify_signature_hex(&receiver, &message, &signature) {
            return Err(refuse("the receipt's signature does not verify with the receiver's key: altered or forged"));
        }
        Ok(RecordedReceipt {
            package_sha256: package.to_ascii_lowercase(),
            receiver_key: receiver,
            received_by: field("received_by").unwrap_or_default(),
            received_at: field("received_at").unwrap_or_default(),
            receiver_person_id: obj
                .get("person_id")
                .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                .unwrap_or_default(),
            loaded_by: String::new(),
            loaded_at: String::new(),
            document: doc,
        })
    }

    /// The transfers of the dossiers the caller may see, newest first, with their flags as of `on`. The archive
    /// office and whoever exports (HR); 403 otherwise.
    pub fn list(&self, p: &Principal, on: time::Date) -> Result<Vec<TransferRow>> {
        self.audited(p, AuditAction::TransferList, "transfers", false, || {
            let rows = self.rows(p, on)?;
            let detail = format!("{} transfers", rows.len());
            Ok((rows, Some(detail)))
        })
    }

    fn rows(&self, p: &Principal, on: time::Date) -> Result<Vec<TransferRow>> {
        if !self.policy().capability(&p.subject, Capability::ManageCustody).allowed {
            self.require(p, Capability::Export)?;
        }
        let chase = self.config().custody.chase_months;
        let mut out = Vec::new();
        for t in self.all()?.into_iter().rev() {
            let Some(person) = self.store().get::<Person>(Table::Persons, t.person_id.as_bytes())? else { continue };
            if self.check_person(p, &person).is_err() {
                continue;
            }
            out.push(TransferRow { overdue: t.overdue(on), chase: t.chase(on, chase), transfer: t });
        }
        Ok(out)
    }

    /// The outgoing register (转递登记簿) as a report table: one row per transfer, as of today.
    pub fn register(&self, p: &Principal) -> Result<ReportTable> {
        self.audited(p, AuditAction::TransferList, "report:transfers", false, || {
            let rows = self.rows(p, today())?;
            let columns = [
                "person_name",
                "receiving_unit",
                "notice_number",
                "reason",
                "address",
                "approved_on",
                "deadline",
                "sent_on",
                "package_sha256",
                "state",
                "receipt_received_at",
                "overdue",
                "chase",
            ];
            let table = ReportTable {
                name: "transfers".into(),
                columns: columns.iter().map(|c| c.to_string()).collect(),
                rows: rows
                    .iter()
                    .map(|r| {
                        let t = &r.transfer;
                        let s = |v: &str| Value::String(v.to_string());
                        vec![
                            s(&t.person_name),
                            s(&t.receiving_unit),
                            s(&t.notice_number),
                            s(&t.reason),
                            s(t.address.as_deref().unwrap_or_default()),
                            s(&t.approved_on.to_string()),
                            s(&t.deadline.to_string()),
                            s(&t.sent_on.map(|d| d.to_string()).unwrap_or_default()),
                            s(t.packages.last().map(|p| p.sha256.as_str()).unwrap_or_default()),
                            s(match t.state {
                                TransferState::Open => "转出中",
                                TransferState::Closed => "已转出",
                            }),
                            s(t.receipt.as_ref().map(|r| r.received_at.as_str()).unwrap_or_default()),
                            Value::Bool(r.overdue),
                            Value::Bool(r.chase),
                        ]
                    })
                    .collect(),
            };
            let detail = format!("{} transfers", table.rows.len());
            Ok((table, Some(detail)))
        })
    }
}
