//! What the audit trail records: the one list of audit actions. Use cases name their action as an
//! [`AuditAction`]; the trail stores its name (`material.download`, `auth.login` …), which is part of each
//! entry's hash, so a name never changes once released — a test pins them (docs/DESIGN.md §4, the audit trail).
//! Auditors filter by these names (`GET /api/v1/audit?action=material.*`); the web's audit page offers the list.

/// Declares the actions: variant => the name stored in the trail.
macro_rules! audit_actions {
    ($($variant:ident => $name:literal,)*) => {
        /// An action the audit trail records, by the name it is stored under.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl AuditAction {
            /// Every action, in the order of their names.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The name stored in the trail.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }

            /// The action of this name, if it is one.
            pub fn parse(name: &str) -> Option<AuditAction> {
                AuditAction::ALL.iter().copied().find(|a| a.as_str() == name)
            }
        }
    };
}

audit_actions! {
    AccessExplain => "access.explain",
    AccessReview => "access.review",
    AuditAcknowledgeRollback => "audit.acknowledge-rollback",
    AuditCheckpoints => "audit.checkpoints",
    AuditQuery => "audit.query",
    AuditVerify => "audit.verify",
    AuthLogin => "auth.login",
    Backup => "backup",
    BackupWritten => "backup.written",
    BatchCreate => "batch.create",
    BatchFile => "batch.file",
    BatchList => "batch.list",
    CatalogueArrange => "catalogue.arrange",
    GrantApprove => "grant.approve",
    GrantList => "grant.list",
    GrantRead => "grant.read",
    GrantRefuse => "grant.refuse",
    GrantRequest => "grant.request",
    GrantRevoke => "grant.revoke",
    ImportFinish => "import.finish",
    ImportStart => "import.start",
    IntakeFile => "intake.file",
    IntakeList => "intake.list",
    IntakeReceive => "intake.receive",
    KeysRotate => "keys.rotate",
    MaterialCreate => "material.create",
    MaterialDiff => "material.diff",
    MaterialDownload => "material.download",
    MaterialReadMeta => "material.read_meta",
    MaterialReplace => "material.replace",
    MaterialUpdate => "material.update",
    MaterialVersions => "material.versions",
    PackageImport => "package.import",
    PersonCatalogue => "person.catalogue",
    PersonCreate => "person.create",
    PersonExport => "person.export",
    PersonList => "person.list",
    PersonRead => "person.read",
    PersonUpdate => "person.update",
    PersonVersions => "person.versions",
    // 转入 and 审核入库 (issue 15 item 4).
    ReceivingAccept => "receiving.accept",
    ReceivingList => "receiving.list",
    ReceivingRead => "receiving.read",
    ReceivingReceive => "receiving.receive",
    ReceivingReturn => "receiving.return",
    PolicyRead => "policy.read",
    PolicyUpdate => "policy.update",
    ReportCompleteness => "report.completeness",
    ReportDigitization => "report.digitization",
    ReportFindings => "report.findings",
    ReportStructure => "report.structure",
    ReportReview => "report.review",
    ReportTurnaround => "report.turnaround",
    RequestApprove => "request.approve",
    RequestComment => "request.comment",
    RequestCreate => "request.create",
    RequestDecide => "request.decide",
    RequestFastPath => "request.fast-path",
    RequestRead => "request.read",
    RequestRebase => "request.rebase",
    RequestReject => "request.reject",
    RequestReturn => "request.return",
    RequestRevise => "request.revise",
    RequestSubmit => "request.submit",
    RequestWithdraw => "request.withdraw",
    ReviewRead => "review.read",
    ReviewRecord => "review.record",
    Search => "search",
    UserCreate => "user.create",
    UserLink => "user.link",
    UserList => "user.list",
    UserPassword => "user.password",
    UserPasswordReset => "user.password-reset",
    UserTotpBegin => "user.totp-begin",
    UserTotpConfirm => "user.totp-confirm",
    UserUpdate => "user.update",
    VerifyRepair => "verify.repair",
    WorkflowDefinitions => "workflow.definitions",
    // 查(借)阅 (issue 15 item 5): the 介绍信, views under a grant, the 查阅登记 report.
    GrantLetter => "grant.letter",
    GrantLetterRead => "grant.letter-read",
    MaterialView => "material.view",
    ReportConsultations => "report.consultations",
    // Custody, transfers out and loans (docs/DOMAIN.md §4c).
    CustodyRead => "custody.read",
    CustodyUpdate => "custody.update",
    CustodyInbox => "custody.inbox",
    CustodyFiled => "custody.filed",
    TransferPackage => "transfer.package",
    TransferReceipt => "transfer.receipt",
    TransferList => "transfer.list",
    LoanLend => "loan.lend",
    LoanReturn => "loan.return",
    LoanList => "loan.list",
    // Digitisation: pages and quality control (docs/DOMAIN.md §2d).
    BatchRead => "batch.read",
    BatchSelfCheck => "batch.self-check",
    BatchSubmit => "batch.submit",
    QcSample => "qc.sample",
    QcDefect => "qc.defect",
    QcDecide => "qc.decide",
    MaterialPages => "material.pages",
    PageRead => "material.page",
    // The contract register and legal's review notes (docs/DOMAIN.md §4e).
    ContractRead => "contract.read",
    ContractRecord => "contract.record",
    ContractPropose => "contract.propose",
    ContractRegister => "contract.register",
    ContractReminders => "contract.reminders",
    ContractNotes => "contract.notes",
    ContractNote => "contract.note",
    ContractResolve => "contract.resolve",
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for AuditAction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in the trail, pinned: renaming one would split an auditor's history in two (old entries under
    /// the old name) and change what the golden audit segment's hashes cover. Add new names; never edit these.
    const RELEASED: &str = "access.explain access.review audit.acknowledge-rollback audit.checkpoints audit.query audit.verify auth.login backup backup.written batch.create batch.file batch.list catalogue.arrange grant.approve grant.list grant.read grant.refuse grant.request grant.revoke import.finish import.start keys.rotate material.create material.download material.read_meta material.replace material.update material.versions package.import person.catalogue person.create person.export person.list person.read person.update person.versions policy.read policy.update report.completeness report.digitization report.findings report.structure report.turnaround request.approve request.comment request.create request.decide request.fast-path request.read request.rebase request.reject request.return request.revise request.submit request.withdraw search user.create user.link user.list user.password user.password-reset user.totp-begin user.totp-confirm user.update verify.repair workflow.definitions";

    #[test]
    fn released_names_never_change() {
        for name in RELEASED.split_whitespace() {
            assert!(AuditAction::parse(name).is_some(), "released audit action {name} is gone or renamed");
        }
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "two actions share a name");
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || matches!(c, '.' | '_' | '-'))));
    }
}
