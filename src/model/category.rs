//! The classification scheme of dossier materials, kept as data (it changed in 1991, 2009 and 2018; legacy
//! files carry the old codes). The shipped scheme is the 2018 one: ten categories, 4 and 9 with sub-categories.
//! Codes are strings such as `"1"`, `"4-1"`, `"9-2"`; Chinese numerals (`"九"`) are accepted as aliases, and so
//! are the code-table values national exchange files carry (`"01"` … `"10"`, `"0401"`, `"0902"`; DOMAIN §2).
//! The 1991 and 2009 schemes and their mapping to this one are data too (`legacy_category.rs`).

use serde::{Deserialize, Serialize};

/// One category or sub-category of the scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// The code, e.g. `"9-1"`.
    pub code: String,
    /// The name, e.g. `工资`.
    pub name: String,
    /// The parent's code for a sub-category.
    pub parent: Option<String>,
}

/// A classification scheme: its categories in catalogue order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CategoryScheme {
    /// The scheme's name, e.g. `2018`.
    pub name: String,
    /// Categories and sub-categories in catalogue order.
    pub categories: Vec<Category>,
}

const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

impl CategoryScheme {
    /// The 2018 scheme (《干部人事档案工作条例》).
    pub fn scheme_2018() -> Self {
        let top = [
            "履历类材料",
            "自传和思想类材料",
            "考核鉴定类材料",
            "学历学位、专业技术职务（职称）、学术评鉴和教育培训类材料",
            "政审、审计和审核类材料",
            "党、团类材料",
            "表彰奖励类材料",
            "违规违纪违法处理处分类材料",
            "工资、任免、出国和会议代表类材料",
            "其他可供组织参考的材料",
        ];
        let subs: [(&str, &[&str]); 2] = [
            ("4", &["学历学位", "专业技术职务（职称）", "学术评鉴", "教育培训"]),
            ("9", &["工资", "任免", "出国（境）", "会议代表"]),
        ];
        let mut categories = Vec::new();
        for (i, name) in top.iter().enumerate() {
            let code = (i + 1).to_string();
            categories.push(Category { code: code.clone(), name: (*name).to_string(), parent: None });
            if let Some((_, names)) = subs.iter().find(|(c, _)| *c == code) {
                for (j, sub) in names.iter().enumerate() {
                    categories.push(Category {
                        code: format!("{code}-{}", j + 1),
                        name: (*sub).to_string(),
                        parent: Some(code.clone()),
                    });
                }
            }
        }
        CategoryScheme { name: "2018".into(), categories }
    }

    /// The sub-categories of a category (empty for a leaf: only leaves take materials).
    pub fn children(&self, code: &str) -> Vec<&Category> {
        self.categories.iter().filter(|c| c.parent.as_deref() == Some(code)).collect()
    }

    /// Looks a code up, accepting Chinese numerals for the top level (`九-1` = `9-1`), the code-table values of
    /// exchange files (`09`, `0902`) and surrounding spaces.
    pub fn resolve(&self, code: &str) -> Option<&Category> {
        let normalised = normalise_code(code)?;
        self.categories.iter().find(|c| c.code == normalised)
    }

    /// A category's value in the code table of national exchange files (DOMAIN §2): the class in two digits
    /// (`"01"` … `"10"`), a sub-category as its class and its number in two digits each (`"0401"`, `"0902"`).
    /// `None` for a code the scheme does not hold.
    pub fn table_code(&self, code: &str) -> Option<String> {
        let c = self.resolve(code)?;
        Some(match c.code.split_once('-') {
            Some((top, sub)) => format!("{:0>2}{:0>2}", top, sub),
            None => format!("{:0>2}", c.code),
        })
    }

    /// Position of a code in catalogue order (unknown codes last).
    pub fn order(&self, code: &str) -> usize {
        self.categories.iter().position(|c| c.code == code).unwrap_or(usize::MAX)
    }

    /// A category's code and its ancestors' (`9-1` → [`9-1`, `9`]), used for filtering by parent category.
    pub fn lineage(&self, code: &str) -> Vec<String> {
        let mut out = vec![code.to_string()];
        if let Some(parent) = self.resolve(code).and_then(|c| c.parent.clone()) {
            out.push(parent);
        }
        out
    }
}

/// A code as written in a catalogue, in the readable form (`"4-1"`, `"10"`): Chinese numerals for the class
/// (`"九-1"`), leading zeros (`"04-01"`), and the four-digit code-table value (`"0401"`) are accepted. `None` when
/// it is none of these; whether the scheme holds it is for the scheme to say.
pub(crate) fn normalise_code(code: &str) -> Option<String> {
    let code = code.trim();
    if code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("{}-{}", arabic(&code[..2])?, arabic(&code[2..])?));
    }
    Some(match code.split_once('-') {
        Some((top, sub)) => format!("{}-{}", arabic(top)?, arabic(sub)?),
        None => arabic(code)?,
    })
}

/// A class or sub-class number: one or two digits (leading zeros dropped) or a Chinese numeral 一 … 十.
fn arabic(top: &str) -> Option<String> {
    let top = top.trim();
    if let Some(i) = NUMERALS.iter().position(|n| *n == top) {
        return Some((i + 1).to_string());
    }
    let digits = top.trim_start_matches('0');
    (!digits.is_empty() && top.len() <= 2 && top.bytes().all(|b| b.is_ascii_digit())).then(|| digits.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_2018_has_ten_categories_and_subcategories() {
        let s = CategoryScheme::scheme_2018();
        assert_eq!(s.categories.iter().filter(|c| c.parent.is_none()).count(), 10);
        assert_eq!(s.resolve("9-1").unwrap().name, "工资");
        assert_eq!(s.resolve("九-2").unwrap().code, "9-2");
        assert_eq!(s.resolve("十").unwrap().code, "10");
        assert_eq!(s.resolve(" 4-3 ").unwrap().name, "学术评鉴");
        assert!(s.resolve("11").is_none());
        assert!(s.resolve("9-9").is_none());
        assert!(s.resolve("").is_none());
        assert!(s.order("1") < s.order("4-1") && s.order("4-4") < s.order("5"));
        assert_eq!(s.lineage("9-1"), vec!["9-1".to_string(), "9".to_string()]);
    }

    #[test]
    fn code_table_values_are_written_and_read_back() {
        let s = CategoryScheme::scheme_2018();
        for c in &s.categories {
            let table = s.table_code(&c.code).unwrap();
            assert_eq!(table.len(), if c.parent.is_some() { 4 } else { 2 }, "{}", c.code);
            assert_eq!(s.resolve(&table).unwrap().code, c.code, "{table}");
        }
        assert_eq!(s.table_code("1").as_deref(), Some("01"));
        assert_eq!(s.table_code("10").as_deref(), Some("10"));
        assert_eq!(s.table_code("4-1").as_deref(), Some("0401"));
        assert_eq!(s.table_code("九-2").as_deref(), Some("0902"));
        assert_eq!(s.resolve("0903").unwrap().code, "9-3");
        assert_eq!(s.resolve("04-02").unwrap().code, "4-2");
        assert_eq!(s.resolve("07").unwrap().code, "7");
        for bad in ["0", "00", "0000", "1001", "0405", "0-1", "4-0", "12345", "9-", "-1"] {
            assert!(s.resolve(bad).is_none(), "{bad}");
        }
        assert!(s.table_code("11").is_none());
    }
}
