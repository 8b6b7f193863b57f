//! The kinds of management report: the one list the service, the API and the web UI iterate (docs/DESIGN.md
//! §5 lists their paths). A report's rules and figures are in `service::reports`; its description and chart are
//! the web's.

use serde::{Deserialize, Serialize};

/// A report, by the name of its paths (`/api/v1/reports/{name}`, `/reports/{name}`), stored and sent as that
/// lowercase name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// Cadre structure by one dimension (department, age, gender …).
    Structure,
    /// Dossier completeness: the rate per dossier and department, required materials missing, 成套 findings,
    /// page counts that differ (`model::completeness`).
    Completeness,
    /// Validation findings of the person records.
    Findings,
    /// Digitization progress: materials by type and text status.
    Digitization,
    /// Workflow turnaround: time per kind of request and step, what is overdue.
    Turnaround,
    /// 专审进度: special reviews by state and problems found, per department.
    Review,
    /// 查阅登记: consultations — unit, readers, purpose, approver, period, what was read (from the audit trail).
    Consultations,
    /// 转递登记簿: the transfers out, their deadlines and receipts (docs/DOMAIN.md §4c).
    Transfers,
    /// 合同登记簿: the contracts, their terms, reminders and review notes (docs/DOMAIN.md §4e).
    Contracts,
}

impl ReportKind {
    /// Every report, in the order the web's index lists them.
    pub const ALL: [ReportKind; 9] = [
        ReportKind::Structure,
        ReportKind::Completeness,
        ReportKind::Findings,
        ReportKind::Digitization,
        ReportKind::Turnaround,
        ReportKind::Review,
        ReportKind::Consultations,
        ReportKind::Transfers,
        ReportKind::Contracts,
    ];

    /// The name in paths and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Structure => "structure",
            ReportKind::Completeness => "completeness",
            ReportKind::Findings => "findings",
            ReportKind::Digitization => "digitization",
            ReportKind::Turnaround => "turnaround",
            ReportKind::Review => "review",
            ReportKind::Consultations => "consultations",
            ReportKind::Transfers => "transfers",
            ReportKind::Contracts => "contracts",
        }
    }

    /// The report of this name, if there is one.
    pub fn parse(s: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Its title: (Chinese, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            ReportKind::Structure => ("干部队伍结构", "Cadre structure"),
            ReportKind::Completeness => ("档案完整性", "Dossier completeness"),
            ReportKind::Findings => ("信息校验问题", "Validation findings"),
            ReportKind::Digitization => ("数字化进度", "Digitization progress"),
            ReportKind::Turnaround => ("审批时效与超期", "Workflow turnaround"),
            ReportKind::Review => ("专审进度", "Special review progress"),
            ReportKind::Consultations => ("查阅登记", "Consultation register"),
            ReportKind::Transfers => ("转递登记簿", "Transfer register"),
            ReportKind::Contracts => ("合同登记簿", "Contract register"),
        }
    }
}

impl std::fmt::Display for ReportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn report_names_are_the_paths_of_today() {
        assert_eq!(
            ReportKind::ALL.map(ReportKind::as_str),
            [
                "structure",
                "completeness",
                "findings",
                "digitization",
                "turnaround",
                "review",
                "consultations",
                "transfers",
                "contracts"
            ]
        );
        for k in ReportKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
            assert_eq!(serde_json::from_value::<ReportKind>(json!(k.as_str())).unwrap(), k);
            assert_eq!(ReportKind::parse(k.as_str()), Some(k));
            assert_eq!(k.to_string(), k.as_str());
            assert!(!k.label().0.is_empty() && !k.label().1.is_empty(), "{k}");
        }
        assert_eq!(ReportKind::parse("Structure"), None);
        assert_eq!(ReportKind::parse("structure.csv"), None);
        assert!(serde_json::from_value::<ReportKind>(json!("salary")).is_err());
    }
}
