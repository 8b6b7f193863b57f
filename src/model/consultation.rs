//! 查(借)阅 as the 《干部人事档案工作条例》 runs it (docs/DOMAIN.md §4c): the separate permissions of a consultation
//! grant, and who has the authority to approve one (干部管理权限, as data in `consultation.toml`).

use serde::{Deserialize, Serialize};

/// What a consultation grant allows. Every grant allows `view`; the others are asked for and granted separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GrantPermission {
    /// 阅: read on screen (watermarked).
    View,
    /// 摘录: take the text of a material (its extracted text, version comparisons).
    Excerpt,
    /// 复制: select and copy on the viewer page.
    Copy,
    /// 下载: take the file away (watermarked).
    Download,
    /// 打印: print from the viewer page (watermarked).
    Print,
}

impl GrantPermission {
    /// Every permission, in the order forms show them.
    pub const ALL: [GrantPermission; 5] = [
        GrantPermission::View,
        GrantPermission::Excerpt,
        GrantPermission::Copy,
        GrantPermission::Download,
        GrantPermission::Print,
    ];

    /// The name in the API and on forms.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantPermission::View => "view",
            GrantPermission::Excerpt => "excerpt",
            GrantPermission::Copy => "copy",
            GrantPermission::Download => "download",
            GrantPermission::Print => "print",
        }
    }

    /// The permission of a name.
    pub fn parse(s: &str) -> Option<GrantPermission> {
        GrantPermission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Its label: (Chinese, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            GrantPermission::View => ("阅", "view"),
            GrantPermission::Excerpt => ("摘录", "excerpt"),
            GrantPermission::Copy => ("复制", "copy"),
            GrantPermission::Download => ("下载", "download"),
            GrantPermission::Print => ("打印", "print"),
        }
    }
}

/// One rule of the approval authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityRule {
    /// The dossier's department code, or `*`.
    pub department: String,
    /// A part of the person's rank (`处`, `局`), or `*`.
    pub rank: String,
    /// Who approves: `leader:<n>`, `head:person` or `role:<business role>`.
    pub approver: String,
}

/// Who approves consultations of which dossiers (干部管理权限): the first matching rule decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    /// The rules, in order.
    #[serde(rename = "rule")]
    pub rules: Vec<AuthorityRule>,
}

/// The authority rules shipped with dangan.
pub const DEFAULT_AUTHORITY: &str = include_str!("consultation.toml");

/// What approves when no rule matches: the first approval level.
pub const FALLBACK_APPROVER: &str = "leader:1";

impl Authority {
    /// Parses and validates a rules document.
    pub fn parse(text: &str) -> Result<Authority, String> {
        let a: Authority = toml::from_str(text).map_err(|e| e.to_string())?;
        a.validate()?;
        Ok(a)
    }

    /// The shipped rules.
    pub fn default_rules() -> Authority {
        Authority::parse(DEFAULT_AUTHORITY).expect("the shipped consultation.toml is valid")
    }

    /// Every approver is a leader level, the person's department head, or a business role — never an
    /// administrator (三员分立: the security administrator manages rights and does not decide business access).
    pub fn validate(&self) -> Result<(), String> {
        for r in &self.rules {
            let ok = match r.approver.split_once(':') {
                Some(("leader", n)) => n.parse::<u8>().is_ok_and(|n| n >= 1),
                Some(("head", "person")) => true,
                Some(("role", role)) => super::Role::parse(role).is_some_and(|r| !r.is_administrator()),
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "rule consultation.authority: approver {:?} is not leader:<n>, head:person or a business role \
                     (administrators never approve a consultation)",
                    r.approver
                ));
            }
        }
        Ok(())
    }

    /// The approver of a consultation of a dossier in `department` of a person holding `rank`.
    pub fn approver_for(&self, department: &str, rank: Option<&str>) -> String {
        self.rules
            .iter()
            .find(|r| {
                (r.department == "*" || r.department == department)
                    && (r.rank == "*" || rank.is_some_and(|k| k.contains(r.rank.as_str())))
            })
            .map(|r| r.approver.clone())
            .unwrap_or_else(|| FALLBACK_APPROVER.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_rule_names_the_approver_and_leaders_are_the_default() {
        let a = Authority::default_rules();
        assert_eq!(a.approver_for("ops", Some("正局级")), "leader:2");
        assert_eq!(a.approver_for("ops", Some("副处级")), "leader:1");
        assert_eq!(a.approver_for("ops", None), "leader:1");
        let own =
            Authority::parse("[[rule]]\ndepartment = \"sales\"\nrank = \"*\"\napprover = \"head:person\"\n").unwrap();
        assert_eq!(own.approver_for("sales", None), "head:person");
        assert_eq!(own.approver_for("ops", None), FALLBACK_APPROVER);
    }

    #[test]
    fn an_administrator_is_never_an_authority() {
        for bad in ["role:secadmin", "role:it", "role:auditor", "leader:0", "anyone"] {
            let text = format!("[[rule]]\ndepartment = \"*\"\nrank = \"*\"\napprover = \"{bad}\"\n");
            let e = Authority::parse(&text).unwrap_err();
            assert!(e.contains("consultation.authority"), "{bad}: {e}");
        }
        assert!(Authority::parse("[[rule]]\ndepartment = \"*\"\nrank = \"*\"\napprover = \"role:legal\"\n").is_ok());
    }

    #[test]
    fn permissions_round_trip_by_name() {
        for p in GrantPermission::ALL {
            assert_eq!(GrantPermission::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::json!(p.as_str()));
        }
    }
}
