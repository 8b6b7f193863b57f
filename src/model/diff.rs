//! The comparison of two texts (two versions of a material, docs/DESIGN.md §5): paragraph by paragraph, and
//! inside a changed paragraph word by word. Pure: the caller passes the word segmentation (jieba, from the
//! index's analyzer), so this stays free of the engines.

use serde::Serialize;
use similar::{Algorithm, DiffOp, capture_diff_slices};

/// What happened to a paragraph, or to a word inside a changed paragraph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiffOpKind {
    /// The same in both.
    Equal,
    /// Only in the newer text.
    Insert,
    /// Only in the older text.
    Delete,
    /// Changed: the older text's paragraph became the newer one's (paragraphs only).
    Replace,
}

/// A run of words inside a changed paragraph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WordDiff {
    /// `equal`, `insert` (only in the newer paragraph) or `delete` (only in the older one).
    pub op: DiffOpKind,
    /// The words, joined as they stand in the text.
    pub text: String,
}

/// One paragraph of the comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ParagraphDiff {
    /// `equal`, `insert`, `delete` or `replace`.
    pub op: DiffOpKind,
    /// The paragraph in the older text (absent for `insert`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The paragraph in the newer text (absent for `delete`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// For `replace`: the two paragraphs compared word by word (jieba words); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<WordDiff>,
}

/// The paragraphs of a text: its lines with runs of whitespace made one space, trimmed, empty ones left out.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect()
}

/// Compares two texts paragraph by paragraph; a changed paragraph (one replaced by another at the same place)
/// is compared by the words `cut` gives (which must keep every character: the pieces joined are the text).
pub fn diff_texts(old: &str, new: &str, cut: &dyn Fn(&str) -> Vec<String>) -> Vec<ParagraphDiff> {
    let (old, new) = (paragraphs(old), paragraphs(new));
    let mut out = Vec::new();
    let para = |op, old: Option<&String>, new: Option<&String>| ParagraphDiff {
        op,
        old: old.cloned(),
        new: new.cloned(),
        words: Vec::new(),
    };
    for op in capture_diff_slices(Algorithm::Myers, &old, &new) {
        match op {
            DiffOp::Equal { old_index, new_index, len } => {
                out.extend(
                    (0..len).map(|i| para(DiffOpKind::Equal, Some(&old[old_index + i]), Some(&new[new_index + i]))),
                );
            }
            DiffOp::Delete { old_index, old_len, .. } => {
                out.extend((0..old_len).map(|i| para(DiffOpKind::Delete, Some(&old[old_index + i]), None)));
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                out.extend((0..new_len).map(|i| para(DiffOpKind::Insert, None, Some(&new[new_index + i]))));
            }
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                // Paired in order; what is left over on either side was deleted or inserted.
                for i in 0..old_len.max(new_len) {
                    match (
                        old.get(old_index + i).filter(|_| i < old_len),
                        new.get(new_index + i).filter(|_| i < new_len),
                    ) {
                        (Some(o), Some(n)) => out.push(ParagraphDiff {
                            op: DiffOpKind::Replace,
                            old: Some(o.clone()),
                            new: Some(n.clone()),
                            words: diff_words(o, n, cut),
                        }),
                        (Some(o), None) => out.push(para(DiffOpKind::Delete, Some(o), None)),
                        (None, Some(n)) => out.push(para(DiffOpKind::Insert, None, Some(n))),
                        (None, None) => {}
                    }
                }
            }
        }
    }
    out
}

/// Two paragraphs compared word by word: runs of equal, deleted and inserted words, neighbours of one kind joined.
pub fn diff_words(old: &str, new: &str, cut: &dyn Fn(&str) -> Vec<String>) -> Vec<WordDiff> {
    let (o, n) = (cut(old), cut(new));
    let mut out: Vec<WordDiff> = Vec::new();
    let mut push = |op: DiffOpKind, words: &[String]| {
        if words.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.op == op => last.text.push_str(&words.concat()),
            _ => out.push(WordDiff { op, text: words.concat() }),
        }
    };
    for op in capture_diff_slices(Algorithm::Myers, &o, &n) {
        match op {
            DiffOp::Equal { old_index, len, .. } => push(DiffOpKind::Equal, &o[old_index..old_index + len]),
            DiffOp::Delete { old_index, old_len, .. } => push(DiffOpKind::Delete, &o[old_index..old_index + old_len]),
            DiffOp::Insert { new_index, new_len, .. } => push(DiffOpKind::Insert, &n[new_index..new_index + new_len]),
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                push(DiffOpKind::Delete, &o[old_index..old_index + old_len]);
                push(DiffOpKind::Insert, &n[new_index..new_index + new_len]);
            }
        }
    }
    out
}

/// How many paragraphs changed (anything but `equal`).
pub fn changed(paragraphs: &[ParagraphDiff]) -> usize {
    paragraphs.iter().filter(|p| p.op != DiffOpKind::Equal).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn cut(text: &str) -> Vec<String> {
        static J: OnceLock<jieba_rs::Jieba> = OnceLock::new();
        J.get_or_init(jieba_rs::Jieba::new).cut(text, true).into_iter().map(str::to_string).collect()
    }

    fn text_of(words: &[WordDiff], op: DiffOpKind) -> String {
        words.iter().filter(|w| w.op == op).map(|w| w.text.as_str()).collect()
    }

    const V1: &str = "第一条 甲方聘用乙方为工程师。\n\n第二条 试用期三个月。\n第三条 工资按月发放。\n";

    #[test]
    fn one_changed_clause_is_one_replace_with_its_words_marked() {
        let v2 = "第一条 甲方聘用乙方为工程师。\n第二条 试用期六个月。\n第三条 工资按月发放。";
        let d = diff_texts(V1, v2, &cut);
        assert_eq!(changed(&d), 1, "{d:?}");
        assert_eq!(d.len(), 3);
        let r = &d[1];
        assert_eq!(r.op, DiffOpKind::Replace);
        assert_eq!(r.old.as_deref(), Some("第二条 试用期三个月。"));
        assert_eq!(r.new.as_deref(), Some("第二条 试用期六个月。"));
        let del = text_of(&r.words, DiffOpKind::Delete);
        let ins = text_of(&r.words, DiffOpKind::Insert);
        assert!(del.contains('三') && !del.contains("试用期"), "{:?}", r.words);
        assert!(ins.contains('六') && !ins.contains("试用期"), "{:?}", r.words);
        assert!(text_of(&r.words, DiffOpKind::Equal).contains("试用期"));
        // The runs give back both paragraphs.
        assert_eq!(text_of(&r.words, DiffOpKind::Equal).len() + del.len(), r.old.as_ref().unwrap().len());
    }

    #[test]
    fn inserted_and_deleted_paragraphs() {
        let v2 = "第一条 甲方聘用乙方为工程师。\n第三条 工资按月发放。\n第四条 本合同一式两份。";
        let d = diff_texts(V1, v2, &cut);
        let ops: Vec<_> = d.iter().map(|p| p.op).collect();
        assert_eq!(ops, [DiffOpKind::Equal, DiffOpKind::Delete, DiffOpKind::Equal, DiffOpKind::Insert]);
        assert_eq!(d[1].old.as_deref(), Some("第二条 试用期三个月。"));
        assert_eq!(d[1].new, None);
        assert_eq!(d[3].new.as_deref(), Some("第四条 本合同一式两份。"));
        assert_eq!(changed(&d), 2);
    }

    #[test]
    fn identical_texts_have_no_changes_whatever_their_whitespace() {
        let d = diff_texts(
            V1,
            "  第一条  甲方聘用乙方为工程师。\r\n第二条 试用期三个月。\n\n\n第三条\t工资按月发放。",
            &cut,
        );
        assert_eq!(changed(&d), 0, "{d:?}");
        assert_eq!(d.len(), 3);
        assert!(diff_texts("", "", &cut).is_empty());
    }

    #[test]
    fn latin_words_are_compared_as_words() {
        let w = diff_words("salary paid monthly", "salary paid weekly", &cut);
        assert_eq!(text_of(&w, DiffOpKind::Delete), "monthly");
        assert_eq!(text_of(&w, DiffOpKind::Insert), "weekly");
    }

    #[test]
    fn the_json_shape() {
        let d = diff_texts("甲\n乙", "甲\n丙", &cut);
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v[0], serde_json::json!({"op": "equal", "old": "甲", "new": "甲"}));
        assert_eq!(v[1]["op"], "replace");
        assert_eq!(v[1]["words"][0]["op"], "delete");
    }
}
