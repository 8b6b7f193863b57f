//! The older classification schemes (1991, 2009) as data (`category_schemes.toml`) with their mapping to the 2018
//! scheme ([`super::CategoryScheme::scheme_2018`]), for catalogues of legacy dossiers (DOMAIN §2a). Each old class
//! maps to a 2018 leaf: directly, or — where one old class became several 2018 sub-categories — by keywords of the
//! material's title, with a default.

use super::category::normalise_code;
use serde::Deserialize;
use std::sync::OnceLock;

/// The schemes shipped, as data.
pub const SCHEMES_TOML: &str = include_str!("category_schemes.toml");

/// The current scheme's name: a catalogue in it needs no mapping.
pub const CURRENT: &str = "2018";

/// A keyword rule: the first rule one of whose keywords the title contains decides the 2018 code.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingRule {
    /// Words looked for in the title.
    pub keywords: Vec<String>,
    /// The 2018 leaf.
    pub to: String,
}

/// One class or sub-class of an old scheme and where it goes in 2018.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyCategory {
    /// The code as the old catalogues wrote it, readable form (`"4"`, `"9-2"`).
    pub code: String,
    /// Its name in the old scheme.
    pub name: String,
    /// The 2018 leaf when no rule applies.
    pub to: String,
    /// Rules by title, tried in order.
    #[serde(default)]
    pub rules: Vec<MappingRule>,
}

/// An old scheme.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyScheme {
    /// Its name: the year, `"1991"` or `"2009"`.
    pub name: String,
    /// The rules it comes from.
    pub title: String,
    /// Its classes and sub-classes.
    #[serde(rename = "category")]
    pub categories: Vec<LegacyCategory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Schemes {
    scheme: Vec<LegacyScheme>,
}

/// Where an old code went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// The 2018 code.
    pub code: String,
    /// The code as the catalogue wrote it, in readable form (`"9"`), for the trace.
    pub original: String,
    /// The keyword that chose the sub-category, if a rule did.
    pub keyword: Option<String>,
}

/// Parses a schemes document (the shipped one is [`SCHEMES_TOML`]).
pub fn parse_schemes(toml_text: &str) -> Result<Vec<LegacyScheme>, String> {
    toml::from_str::<Schemes>(toml_text).map(|s| s.scheme).map_err(|e| e.to_string())
}

impl LegacyScheme {
    /// The shipped old schemes (1991, 2009).
    pub fn all() -> &'static [LegacyScheme] {
        static ALL: OnceLock<Vec<LegacyScheme>> = OnceLock::new();
        // The shipped document is checked by the tests; an unreadable one would be a build defect.
        ALL.get_or_init(|| parse_schemes(SCHEMES_TOML).unwrap_or_default())
    }

    /// An old scheme by its name (`"1991"`, `"2009"`); `None` for the current scheme and for unknown names.
    pub fn named(name: &str) -> Option<&'static LegacyScheme> {
        Self::all().iter().find(|s| s.name == name.trim())
    }

    /// The names a catalogue or an import may give: the current scheme's and the old ones'.
    pub fn names() -> Vec<&'static str> {
        std::iter::once(CURRENT).chain(Self::all().iter().map(|s| s.name.as_str())).collect()
    }

    /// Maps an old code (readable, Chinese numeral or code-table value) and the material's title to 2018. An
    /// error names the code and the codes the scheme has.
    pub fn map(&self, code: &str, title: &str) -> Result<Mapped, String> {
        let unknown = || {
            let codes: Vec<&str> = self.categories.iter().map(|c| c.code.as_str()).collect();
            format!(
                "category {:?} is not a code of the {} scheme ({})",
                code.chars().take(20).collect::<String>(),
                self.name,
                codes.join(", ")
            )
        };
        let normalised = normalise_code(code).ok_or_else(unknown)?;
        let c = self.categories.iter().find(|c| c.code == normalised).ok_or_else(unknown)?;
        for rule in &c.rules {
            if let Some(k) = rule.keywords.iter().find(|k| title.contains(k.as_str())) {
                return Ok(Mapped { code: rule.to.clone(), original: c.code.clone(), keyword: Some(k.clone()) });
            }
        }
        Ok(Mapped { code: c.to.clone(), original: c.code.clone(), keyword: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CategoryScheme;

    #[test]
    fn the_shipped_schemes_parse_and_every_code_maps_to_a_2018_leaf() {
        let parsed = parse_schemes(SCHEMES_TOML).unwrap();
        assert_eq!(parsed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["1991", "2009"]);
        assert_eq!(LegacyScheme::names(), ["2018", "1991", "2009"]);
        let s2018 = CategoryScheme::scheme_2018();
        let is_leaf = |code: &str| s2018.resolve(code).is_some_and(|c| s2018.children(&c.code).is_empty());
        for scheme in LegacyScheme::all() {
            // Ten classes each, codes unique and readable.
            let top = scheme.categories.iter().filter(|c| !c.code.contains('-')).count();
            assert_eq!(top, 10, "{}", scheme.name);
            let mut codes: Vec<&str> = scheme.categories.iter().map(|c| c.code.as_str()).collect();
            codes.sort();
            codes.dedup();
            assert_eq!(codes.len(), scheme.categories.len(), "{}: duplicate codes", scheme.name);
            for c in &scheme.categories {
                assert_eq!(normalise_code(&c.code).as_deref(), Some(c.code.as_str()), "{}", c.code);
                assert!(is_leaf(&c.to), "{} {} → {} is not a 2018 leaf", scheme.name, c.code, c.to);
                for r in &c.rules {
                    assert!(is_leaf(&r.to), "{} {} rule → {} is not a 2018 leaf", scheme.name, c.code, r.to);
                    assert!(!r.keywords.is_empty() && r.keywords.iter().all(|k| !k.trim().is_empty()));
                }
                // Whatever the title, the mapping lands on a leaf, never on the bare parents 4 or 9.
                for title in ["", "工资审批表", "出国审批表", "人大代表登记表", "职称评审表", "培训结业证", "审计报告"]
                {
                    let m = scheme.map(&c.code, title).unwrap();
                    assert!(is_leaf(&m.code) && m.code != "4" && m.code != "9", "{} {} {title}", scheme.name, c.code);
                    assert_eq!(m.original, c.code);
                }
            }
        }
    }

    #[test]
    fn class_nine_of_1991_is_divided_by_the_title_with_a_default() {
        let s = LegacyScheme::named("1991").unwrap();
        let to = |code: &str, title: &str| s.map(code, title).unwrap().code;
        assert_eq!(to("9", "调整工资审批表"), "9-1");
        assert_eq!(to("9", "干部任免审批表"), "9-2");
        assert_eq!(to("9", "录用干部审批表"), "9-2", "the default");
        assert_eq!(to("9", "因公出国（境）人员审批表"), "9-3");
        assert_eq!(to("九", "人民代表大会代表登记表"), "9-4");
        assert_eq!(to("09", "退休审批表"), "9-2");
        assert_eq!(to("4", "毕业生登记表"), "4-1");
        assert_eq!(to("4", "专业技术职务任职资格评审表"), "4-2");
        assert_eq!(to("4", "中青年干部培训班结业登记表"), "4-4");
        assert_eq!(to("3", "年度考核登记表"), "3");
        assert_eq!(s.map("9", "工资审批表").unwrap().keyword.as_deref(), Some("工资"));
        // 1991 had no sub-classes: a 2018-style code is not one of its codes.
        let e = s.map("9-1", "工资审批表").unwrap_err();
        assert!(e.contains("\"9-1\"") && e.contains("1991"), "{e}");
        assert!(s.map("11", "x").is_err());
        assert!(s.map("", "x").is_err());
    }

    #[test]
    fn the_2009_scheme_keeps_its_sub_classes_and_moves_audits_to_five() {
        let s = LegacyScheme::named("2009").unwrap();
        let to = |code: &str, title: &str| s.map(code, title).unwrap().code;
        assert_eq!(to("4-3", "论文"), "4-3");
        assert_eq!(to("0404", "培训登记表"), "4-4");
        assert_eq!(to("9-1", "出国审批表"), "9-1", "a sub-class given is kept, whatever the title");
        assert_eq!(to("9", "出国审批表"), "9-3");
        assert_eq!(to("3", "经济责任审计结果报告"), "5");
        assert_eq!(to("3", "年度考核登记表"), "3");
        assert_eq!(to("五", "政审材料"), "5");
        assert_eq!(to("10", "x"), "10");
        assert!(s.map("9-5", "x").is_err());
        assert!(LegacyScheme::named("2018").is_none());
        assert!(LegacyScheme::named("1980").is_none());
    }
}
