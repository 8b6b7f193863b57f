//! The classification scheme of dossier materials, kept as data (it changed in 1991, 2009 and 2018; legacy
//! files carry the old codes). The shipped scheme is the 2018 one: ten categories, 4 and 9 with sub-categories.
//! Codes are strings such as `"1"`, `"4-1"`, `"9-2"`; Chinese numerals (`"九"`) are accepted as aliases.

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

    /// Looks a code up, accepting Chinese numerals for the top level (`九-1` = `9-1`) and surrounding spaces.
    pub fn resolve(&self, code: &str) -> Option<&Category> {
        let code = code.trim();
        let normalised = match code.split_once('-') {
            Some((top, sub)) => format!("{}-{}", Self::arabic(top)?, sub.trim()),
            None => Self::arabic(code)?,
        };
        self.categories.iter().find(|c| c.code == normalised)
    }

    fn arabic(top: &str) -> Option<String> {
        let top = top.trim();
        if let Some(i) = NUMERALS.iter().position(|n| *n == top) {
            return Some((i + 1).to_string());
        }
        (!top.is_empty() && top.len() <= 2 && top.bytes().all(|b| b.is_ascii_digit()))
            .then(|| top.trim_start_matches('0').to_string())
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
}
