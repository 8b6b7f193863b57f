//! Batch imports as pages: the form for a zip of files with its catalogue (what the catalogue's columns are,
//! by readable name or national code), the post that starts the import exactly as the API does (the batch is
//! checked and its catalogue read before anything is filed; the rows are then filed on the blocking pool), and
//! the import's page, which shows progress and refreshes itself every 2 s while the import runs (a `<meta>`
//! refresh: no JavaScript), then the report: what was filed, skipped or rejected and why.

use super::error::{WebError, WebResult, parse_id};
use super::forms::read_file_post;
use super::layout::{page, page_refreshing};
use super::session::{Lang, WebUser, csrf_field};
use crate::http::{AppState, HttpError, blocking, start_import};
use crate::model::ImportId;
use crate::model::policy::Capability;
use crate::service::imports::{ImportReport, ImportState, RowOutcome};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

/// The catalogue's columns: readable name, national code, what it holds.
const COLUMNS: [(&str, &str, &str, &str); 12] = [
    ("file", "", "文件在压缩包内的路径（必填）", "the file's path inside the zip (required)"),
    ("id_number", "A0184", "公民身份号码（或用 person_id 指定人员）", "the person's ID number (or person_id)"),
    ("name", "A0101", "姓名（填写时须与人员记录一致）", "name (checked against the record when given)"),
    ("category", "E01Z101", "类别，如 1、4-1、9-2 或 0902（必填）", "category, e.g. 1, 4-1, 9-2 or 0902 (required)"),
    ("title", "E01Z111", "材料名称（必填）", "title (required)"),
    (
        "formed_on",
        "E01Z117",
        "材料形成时间，如 2019、2019-07、2019.07.01、20190701",
        "formed on, e.g. 2019, 2019-07, 2019.07.01, 20190701",
    ),
    ("pages", "E01Z114", "页数", "pages"),
    ("order", "E01Z104", "排序号", "order number"),
    ("note", "E01Z231", "备注", "note"),
    ("source", "E01Z204", "来处", "source unit"),
    ("tags", "", "标签，以 ; 或 、 分隔（如 contract、salary）", "tags, separated by ; or 、 (e.g. contract; salary)"),
    (
        "scheme",
        "",
        "该行类别的分类方案：2018、2009 或 1991（覆盖上面的选择）",
        "the row's category scheme: 2018, 2009 or 1991 (overrides the choice above)",
    ),
];

fn import_form(user: &WebUser, error: Option<&str>) -> Markup {
    let l = user.lang;
    html! {
        h1 { (l.t("批量导入", "Batch import")) }
        @if let Some(e) = error {
            p.error role="alert" { (l.t("批次被拒绝，未归档任何材料：", "The batch was refused; nothing was filed: ")) (e) }
        }
        p { (l.t("上传一个 zip 压缩包：包含材料文件和一份目录 catalogue.csv（UTF-8 或 GB18030，即 Excel 在中文系统上保存的编码），每行对应一份材料。",
            "Upload a zip holding the files and a catalogue.csv (UTF-8 or GB18030, as Excel saves it on a Chinese desktop), one row per material.")) }
        form.upload method="post" action="/imports" enctype="multipart/form-data" {
            (csrf_field(user))
            p.grow {
                label for="batch" { (l.t("批次压缩包（.zip）", "Batch (.zip)")) }
                input #batch type="file" name="file" accept=".zip,application/zip" required;
            }
            p {
                label for="scheme" { (l.t("类别的分类方案", "Category scheme")) }
                select #scheme name="scheme" {
                    option value="2018" selected { (l.t("2018（现行）", "2018 (current)")) }
                    option value="2009" { (l.t("2009（映射到 2018）", "2009 (mapped to 2018)")) }
                    option value="1991" { (l.t("1991（映射到 2018）", "1991 (mapped to 2018)")) }
                }
            }
            p { button type="submit" { (l.t("上传并开始导入", "Upload and import")) } }
        }
        section.card {
            h2 { (l.t("目录 catalogue.csv 的列", "The columns of catalogue.csv")) }
            p { (l.t("第一行为列名，可用英文名、中文名或全国干部信息系统代码（E01Z101 等）；份数 E01Z124、接收时间 E01Z201、接收人 E01Z207 记为收材登记的字段。",
                "The first line names the columns, by the English or Chinese name or the national code (E01Z101 …); 份数 E01Z124, 接收时间 E01Z201 and 接收人 E01Z207 are the receipt's fields.")) }
            p { (l.t("形成时间可写 20190701、201907、2019、2019-07-01、2019.7.1 或 2019年7月1日；类别可写 4-1、四、0401。旧目录按 2009 或 1991 分类方案编类的，选择该方案（或加一列 scheme）：类别映射到 2018 方案，原类号记入备注，无法映射的行被拒绝。",
                "Dates may be 20190701, 201907, 2019, 2019-07-01, 2019.7.1 or 2019年7月1日; categories 4-1, 四 or 0401. For an old catalogue classed under the 2009 or 1991 scheme, choose that scheme (or add a column scheme): categories are mapped to 2018, the old code kept in the note, and a row that cannot be mapped is rejected.")) }
            table {
                thead { tr {
                    th scope="col" { (l.t("列名", "Column")) }
                    th scope="col" { (l.t("代码", "Code")) }
                    th scope="col" { (l.t("内容", "Holds")) }
                } }
                tbody {
                    @for (name, code, zh, en) in COLUMNS {
                        tr { td { code { (name) } } td { @if !code.is_empty() { code { (code) } } @else { "—" } } td { (l.t(zh, en)) } }
                    }
                }
            }
            p { (l.t("示例：", "Example:")) }
            pre { "id_number,category,title,formed_on,pages,file\n11010519491231002X,1,干部履历表,2019-07-01,2,scans/resume.pdf" }
        }
    }
}

/// `GET /imports`: the batch import form (for those who may file materials).
pub(super) async fn form(State(st): State<AppState>, user: WebUser) -> WebResult<Response> {
    let l = user.lang;
    st.archive.require(&user.principal, Capability::Upload)?;
    Ok(page(l, Some(&user), l.t("批量导入", "Batch import"), import_form(&user, None)).into_response())
}

/// `POST /imports`: checks the batch, reads its catalogue and starts filing its rows ([`start_import`], as the API
/// does); then to the import's page. A refused batch comes back on the form with the reason and its status.
pub(super) async fn start(State(st): State<AppState>, user: WebUser, req: Request) -> WebResult<Response> {
    let l = user.lang;
    // Only those who may file materials send a large body.
    st.archive.require(&user.principal, Capability::Upload)?;
    let post = read_file_post(&st, &user, req).await?;
    let scheme = post.get("scheme").unwrap_or_default().to_string();
    let (bytes, file_name) = post.file.unwrap_or_default();
    let refused = |e: HttpError| -> WebResult<Response> {
        let status = e.http_status_code();
        // A server failure is the error page (its cause logged); a refusal comes back on the form.
        let message = match &e {
            _ if status.is_server_error() => return Err(WebError::Http(e)),
            HttpError::Service(s) => s.to_string(),
            HttpError::TooLarge(d) | HttpError::Unprocessable(d) | HttpError::BadRequest(d) => d.clone(),
            _ => return Err(WebError::Http(e)),
        };
        let body = import_form(&user, Some(&message));
        Ok((status, page(l, Some(&user), l.t("批量导入", "Batch import"), body)).into_response())
    };
    let name = file_name.unwrap_or_else(|| "batch.zip".into());
    match start_import(&st, user.principal.clone(), bytes, name, scheme, false).await {
        Ok(report) => Ok(Redirect::to(&format!("/imports/{}", report.id)).into_response()),
        Err(e) => refused(e),
    }
}

fn state_name(l: Lang, s: ImportState) -> &'static str {
    match s {
        ImportState::Running => l.t("导入中", "running"),
        ImportState::Done => l.t("已完成", "done"),
        ImportState::Interrupted => {
            l.t("已中断（重新上传同一批次可继续）", "interrupted (upload the batch again to finish)")
        }
    }
}

fn outcome_name(l: Lang, o: RowOutcome) -> &'static str {
    match o {
        RowOutcome::Imported => l.t("已归档", "filed"),
        RowOutcome::Skipped => l.t("已存在，跳过", "already held"),
        RowOutcome::Rejected => l.t("拒绝", "rejected"),
    }
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM UTC`.
fn moment(rfc3339: &str) -> String {
    rfc3339.get(..16).map(|x| format!("{} UTC", x.replace('T', " "))).unwrap_or_else(|| rfc3339.to_string())
}

fn report_body(l: Lang, r: &ImportReport) -> Markup {
    let row_class = |o: RowOutcome| match o {
        RowOutcome::Imported => "outcome-imported",
        RowOutcome::Skipped => "outcome-skipped",
        RowOutcome::Rejected => "outcome-denied",
    };
    html! {
        p { a href="/imports" { (l.t("← 导入另一个批次", "← Import another batch")) } }
        h1 { (l.t("批量导入：", "Batch import: ")) (r.source) }
        section.card aria-live="polite" {
            h2 { (l.t("进度", "Progress")) }
            p.state #import-state { (l.t("状态：", "State: ")) strong { (state_name(l, r.state)) } }
            p {
                label for="import-progress" { (l.t("已处理 ", "Processed ")) (r.processed) " / " (r.total) }
                progress #import-progress max=(r.total.max(1)) value=(r.processed) { (r.processed) " / " (r.total) }
            }
            dl.fields {
                dt { (l.t("已归档", "Filed")) } dd #imported { (r.imported) }
                dt { (l.t("已存在，跳过", "Already held")) } dd #skipped { (r.skipped) }
                dt { (l.t("拒绝", "Rejected")) } dd #rejected { (r.rejected) }
                dt { (l.t("发起人", "By")) } dd { (r.by) }
                dt { (l.t("开始时间", "Started")) } dd { (moment(&r.started_at)) }
                @if let Some(f) = &r.finished_at { dt { (l.t("完成时间", "Finished")) } dd { (moment(f)) } }
            }
            @if r.state == ImportState::Running {
                p.note { (l.t("本页每 2 秒自动刷新。", "This page refreshes itself every 2 seconds.")) }
            }
        }
        @if !r.rows.is_empty() {
            section {
                h2 { (l.t("逐行结果", "Rows")) }
                div.scroll { table {
                    thead { tr {
                        th scope="col" { (l.t("行号", "Line")) }
                        th scope="col" { (l.t("文件", "File")) }
                        th scope="col" { (l.t("结果", "Outcome")) }
                        th scope="col" { (l.t("原因", "Reason")) }
                        th scope="col" { (l.t("档案", "Dossier")) }
                    } }
                    tbody {
                        @for row in &r.rows {
                            tr class=(row_class(row.outcome)) {
                                td.num { (row.line) }
                                td { code { (row.file) } }
                                td {
                                    @if let Some(m) = row.material_id { a href={ "/materials/" (m) } { (outcome_name(l, row.outcome)) } }
                                    @else { (outcome_name(l, row.outcome)) }
                                }
                                td { (row.reason.as_deref().unwrap_or("")) }
                                td { @if let Some(p) = row.person_id { a href={ "/persons/" (p) "#catalogue" } { (l.t("查看", "open")) } } }
                            }
                        }
                    }
                } }
            }
        }
        @if !r.unlisted.is_empty() {
            section {
                h2 { (l.t("目录未列出的文件（未归档）", "Files the catalogue does not list (not filed)")) }
                ul { @for f in &r.unlisted { li { code { (f) } } } }
            }
        }
    }
}

/// While an import runs its page reloads every 2 s: a refresh in the head, which the CSP allows and which works
/// without JavaScript.
fn refresh_for(state: ImportState) -> Option<u32> {
    (state == ImportState::Running).then_some(2)
}

/// `GET /imports/{id}`: the import's progress and report; refreshes itself while the import runs.
pub(super) async fn show(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: ImportId = parse_id(&id)?;
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let report = blocking(move || archive.imports().report(&p, id)).await?;
    let refresh = refresh_for(report.state);
    Ok(page_refreshing(l, Some(&user), l.t("批量导入", "Batch import"), report_body(l, &report), refresh)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_import_refreshes_itself_and_a_finished_one_does_not() {
        assert_eq!(refresh_for(ImportState::Running), Some(2));
        assert_eq!(refresh_for(ImportState::Done), None);
        assert_eq!(refresh_for(ImportState::Interrupted), None);
        let body = html! { p { "x" } };
        let running = page_refreshing(Lang::Zh, None, "t", body.clone(), Some(2)).0;
        assert!(running.contains("<meta http-equiv=\"refresh\" content=\"2\">"), "{running}");
        assert!(!page(Lang::Zh, None, "t", body).0.contains("http-equiv"));
    }
}
