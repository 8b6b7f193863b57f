//! `GET /materials/{id}/versions/{a}/diff/{b}`: two versions of a material compared, side by side (old left,
//! new right), changed paragraphs marked and their words shown with `<del>` and `<ins>`. Calls the service
//! function the API calls (`comparisons().diff`, docs/DESIGN.md §5).

use super::error::{WebResult, parse_id};
use super::layout::page;
use super::session::WebUser;
use crate::http::{AppState, blocking};
use crate::model::MaterialId;
use crate::model::diff::{DiffOpKind, ParagraphDiff};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

/// One side of a changed paragraph: its words, the other side's left out.
fn side(p: &ParagraphDiff, old: bool) -> Markup {
    html! {
        @for w in &p.words {
            @match (w.op, old) {
                (DiffOpKind::Equal, _) => (w.text),
                (DiffOpKind::Delete, true) => del { (w.text) },
                (DiffOpKind::Insert, false) => ins { (w.text) },
                _ => {},
            }
        }
    }
}

/// The page.
pub(super) async fn version_diff(
    State(st): State<AppState>,
    user: WebUser,
    Path((id, a, b)): Path<(String, String, String)>,
) -> WebResult<Response> {
    let id: MaterialId = parse_id(&id)?;
    let a: u32 = parse_id(&a)?;
    let b: u32 = parse_id(&b)?;
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (m, d) = blocking(move || {
        let d = archive.comparisons().diff(&p, id, a, b)?;
        let m = archive.materials().get(&p, id)?;
        Ok((m, d))
    })
    .await?;
    let title = format!("{} · {} {a} ↔ {b}", m.meta.title, l.t("版本比较", "versions compared"));
    let body = html! {
        h1 { (title) }
        p { a href={ "/materials/" (m.id) } { (l.t("← 返回材料", "← Back to the material")) } }
        p.note {
            @if d.changed == 0 { (l.t("两个版本的文字相同。", "The two versions' texts are the same.")) }
            @else { (l.t("有改动的段落：", "Paragraphs changed: ")) (d.changed) }
        }
        table.diff {
            thead { tr {
                th scope="col" { (l.t("版本 ", "Version ")) (d.from) }
                th scope="col" { (l.t("版本 ", "Version ")) (d.to) }
            } }
            tbody {
                @for para in &d.paragraphs {
                    @match para.op {
                        DiffOpKind::Equal => tr { td { (para.old.as_deref().unwrap_or("")) } td { (para.new.as_deref().unwrap_or("")) } },
                        DiffOpKind::Delete => tr.changed { td { del { (para.old.as_deref().unwrap_or("")) } } td {} },
                        DiffOpKind::Insert => tr.changed { td {} td { ins { (para.new.as_deref().unwrap_or("")) } } },
                        DiffOpKind::Replace => tr.changed { td { (side(para, true)) } td { (side(para, false)) } },
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&user), &title, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diff::WordDiff;

    #[test]
    fn a_changed_paragraph_marks_its_words_on_each_side() {
        let w = |op, t: &str| WordDiff { op, text: t.into() };
        let p = ParagraphDiff {
            op: DiffOpKind::Replace,
            old: Some("试用期三个月".into()),
            new: Some("试用期六个月".into()),
            words: vec![
                w(DiffOpKind::Equal, "试用期"),
                w(DiffOpKind::Delete, "三"),
                w(DiffOpKind::Insert, "六"),
                w(DiffOpKind::Equal, "个月"),
            ],
        };
        assert_eq!(side(&p, true).into_string(), "试用期<del>三</del>个月");
        assert_eq!(side(&p, false).into_string(), "试用期<ins>六</ins>个月");
    }
}
