//! Pages that change things: filing a material from the dossier, starting a change request (a form per kind),
//! the inbox with approve / reject / return, and a request's timeline. Every post carries the session's
//! anti-forgery token, checked before anything is read or done; validation findings come back on the form.

use super::error::{WebError, WebForm, WebQuery, WebResult, parse_id};
use super::layout::{self, decision_name, field_name, kind_name, page, state_name, step_name, step_state_name, when};
use super::session::{WebUser, csrf_field};
use crate::http::{AppState, HttpError, MultipartReader, Sender, blocking, split_tags};
use crate::model::request::Input;
use crate::model::workflow::RequestState;
use crate::model::{CategoryScheme, Finding, MaterialId, MaterialMeta, PersonId, RequestId, RequestKind};
use crate::service::SpooledBlob;
use crate::service::workflows::NewRequest;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The upload form of a dossier (multipart; the anti-forgery field comes first so it is checked before the file).
pub(super) fn upload_form(user: &WebUser, scheme: &CategoryScheme, person: PersonId) -> Markup {
    let l = user.lang;
    html! {
        form.upload method="post" action={ "/persons/" (person) "/materials" } enctype="multipart/form-data" {
            (csrf_field(user))
            p {
                label for="up-category" { (l.t("类别", "Category")) }
                select #up-category name="category" required {
                    @for c in &scheme.categories {
                        option value=(c.code) { @if c.parent.is_some() { "　" } (c.code) " " (c.name) }
                    }
                }
            }
            p.grow {
                label for="up-title" { (l.t("材料名称", "Title")) }
                input #up-title type="text" name="title" required maxlength="200";
            }
            p {
                label for="up-formed" { (l.t("形成时间", "Formed on")) }
                input #up-formed type="text" name="formed_on" placeholder="2019-07-01" size="10";
            }
            p {
                label for="up-pages" { (l.t("页数", "Pages")) }
                input #up-pages type="number" name="pages" min="1" size="4";
            }
            p.grow {
                label for="up-note" { (l.t("备注", "Note")) }
                input #up-note type="text" name="note" maxlength="2000";
            }
            p {
                label for="up-tags" { (l.t("标签（逗号分隔）", "Tags (comma-separated)")) }
                input #up-tags type="text" name="tags" placeholder="contract, salary";
            }
            p.grow {
                label for="up-file" { (l.t("文件", "File")) }
                input #up-file type="file" name="file" required;
            }
            p { button type="submit" { (l.t("上传并归档", "Upload and file")) } }
        }
    }
}

/// A multipart form as a browser sends it: its text fields (trimmed, at most 8 KiB each) and its file. The
/// anti-forgery field must come before the file, so a forged post is refused before its file is read.
pub(super) struct FilePost {
    /// The text fields, in form order.
    pub(super) fields: Vec<(String, String)>,
    /// The file's bytes and name (read into memory: a batch import's zip).
    pub(super) file: Option<(Vec<u8>, Option<String>)>,
    /// The file streamed into a spool, and its name (uploads of materials).
    pub(super) spooled: Option<(SpooledBlob, Option<String>)>,
}

impl FilePost {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

pub(super) async fn read_file_post(st: &AppState, user: &WebUser, req: Request) -> WebResult<FilePost> {
    read_form(st, user, req, false).await
}

/// As [`read_file_post`], with the file streamed into a spool (`post.spooled`) rather than read into memory.
async fn read_spooled_post(st: &AppState, user: &WebUser, req: Request) -> WebResult<FilePost> {
    read_form(st, user, req, true).await
}

async fn read_form(st: &AppState, user: &WebUser, req: Request, spool: bool) -> WebResult<FilePost> {
    let mut mp = MultipartReader::from_request(req, st, Sender::Browser).await?;
    let mut csrf_ok = false;
    let mut post = FilePost { fields: Vec::new(), file: None, spooled: None };
    while let Some(part) = mp.next_part().await? {
        let name = part.name();
        if name == "file" {
            if !csrf_ok {
                return Err(WebError::Csrf);
            }
            let file_name = part.file_name().filter(|n| !n.is_empty());
            if spool {
                post.spooled = Some((part.spool(st).await?, file_name));
            } else {
                post.file = Some((part.bytes().await?, file_name));
            }
            continue;
        }
        let text = part.text(8 * 1024, || format!("field {name} exceeds 8 KiB")).await?;
        if name == "csrf" {
            user.check_csrf(st, Some(text.trim()))?;
            csrf_ok = true;
        } else {
            post.fields.push((name, text.trim().to_string()));
        }
    }
    if !csrf_ok {
        return Err(WebError::Csrf);
    }
    Ok(post)
}

/// The catalogue fields of an upload form.
fn meta_of(post: &FilePost) -> WebResult<MaterialMeta> {
    let mut fields: Map<String, Value> = Map::new();
    for name in ["category", "title", "formed_on", "note"] {
        if let Some(v) = post.get(name) {
            fields.insert(name.into(), Value::String(v.into()));
        }
    }
    if let Some(v) = post.get("pages") {
        let n: u32 = v.parse().map_err(|_| crate::service::Error::invalid("pages", "页数必须是正整数"))?;
        fields.insert("pages".into(), Value::from(n));
    }
    if let Some(v) = post.get("tags") {
        let tags = split_tags(v).map(Value::from).collect();
        fields.insert("tags".into(), Value::Array(tags));
    }
    Ok(serde_json::from_value(Value::Object(fields))
        .map_err(|e| crate::service::Error::invalid("meta", e.to_string()))?)
}

/// A 422 page with the findings of a refused file and the way back to its form.
fn refused_file(user: &WebUser, message: &str, findings: &[Finding], back: &str) -> Response {
    let l = user.lang;
    let body = html! {
        h1 { (l.t("文件未归档", "The file was not filed")) }
        p.error role="alert" { (message) }
        (layout::findings(l, findings))
        p { a href=(back) { (l.t("返回修改后重新上传", "Back to correct and upload again")) } }
    };
    (StatusCode::UNPROCESSABLE_ENTITY, page(l, Some(user), l.t("校验未通过", "Validation failed"), body))
        .into_response()
}

/// `POST /persons/{id}/materials`: files the uploaded material, then back to the dossier with a flash.
pub(super) async fn upload(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    req: Request,
) -> WebResult<Response> {
    let person: PersonId = parse_id(&id)?;
    // The caller must be allowed to file here before a large body is read.
    {
        let archive = st.archive.clone();
        let p = user.principal.clone();
        blocking(move || archive.filing().check_may_file(&p, person)).await?;
    }
    let post = read_spooled_post(&st, &user, req).await?;
    let meta = meta_of(&post)?;
    let file = post.spooled;
    let (spooled, file_name) = file.ok_or_else(|| crate::service::Error::invalid("file", "请选择要上传的文件"))?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    match blocking(move || archive.filing().add_spooled(&p, person, meta, &spooled, file_name, true)).await {
        Ok(m) => Ok(Redirect::to(&format!("/persons/{person}?filed={}#catalogue", m.id)).into_response()),
        Err(HttpError::Service(crate::service::Error::Invalid { findings, message })) => {
            Ok(refused_file(&user, &message, &findings, &format!("/persons/{person}#upload")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The form for a new version of a material's file (it names the version it replaces).
pub(super) fn new_version_form(user: &WebUser, id: MaterialId, version: u32) -> Markup {
    let l = user.lang;
    html! {
        form.upload method="post" action={ "/materials/" (id) "/content" } enctype="multipart/form-data" {
            (csrf_field(user))
            input type="hidden" name="version" value=(version);
            p.grow {
                label for="nv-reason" { (l.t("更换原因", "Reason")) }
                input #nv-reason type="text" name="reason" required maxlength="500";
            }
            p.grow {
                label for="nv-file" { (l.t("新文件", "New file")) }
                input #nv-file type="file" name="file" required;
            }
            p { button type="submit" { (l.t("上传新版本", "Upload a new version")) } }
        }
    }
}

/// `POST /materials/{id}/content`: a new version of the material's file, if the version named is still current.
pub(super) async fn replace_content(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    req: Request,
) -> WebResult<Response> {
    let id: MaterialId = parse_id(&id)?;
    let post = read_spooled_post(&st, &user, req).await?;
    let expected = match post.get("version") {
        Some(v) => Some(v.parse::<u32>().map_err(|_| WebError::bad_request("version must be a number"))?),
        None => None,
    };
    let reason = post.get("reason").map(|r| r.chars().take(500).collect::<String>());
    let (spooled, file_name) =
        post.spooled.ok_or_else(|| crate::service::Error::invalid("file", "请选择要上传的文件"))?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    match blocking(move || archive.filing().replace_spooled(&p, id, expected, &spooled, file_name, reason)).await {
        Ok(_) => Ok(Redirect::to(&format!("/materials/{id}")).into_response()),
        Err(HttpError::Service(crate::service::Error::Invalid { findings, message })) => {
            Ok(refused_file(&user, &message, &findings, &format!("/materials/{id}#new-version")))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(super) struct InboxQuery {
    done: Option<String>,
}

/// The approve / reject / return form of one pending step.
fn decision_form(user: &WebUser, id: RequestId) -> Markup {
    let l = user.lang;
    html! {
        form.decide method="post" action={ "/requests/" (id) "/decide" } {
            (csrf_field(user))
            p.grow {
                label for={ "comment-" (id) } { (l.t("审批意见", "Comment")) }
                textarea id={ "comment-" (id) } name="comment" rows="2" maxlength="2000" {}
            }
            p.buttons {
                button type="submit" name="decision" value="approve" { (l.t("同意", "Approve")) }
                button type="submit" name="decision" value="return" { (l.t("退回修改", "Return")) }
                button.danger type="submit" name="decision" value="reject" { (l.t("驳回", "Reject")) }
            }
        }
    }
}

/// `GET /inbox`: the steps waiting for the caller, each with its decision form; the requests the caller may see
/// (those it started or has a step on; all for HR).
pub(super) async fn inbox(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(q): WebQuery<InboxQuery>,
) -> WebResult<Response> {
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let contracts = user.can.contracts;
    let (items, requests, names, asked, reminders) = blocking(move || {
        let items = archive.requests().inbox(&p)?;
        // Legal's and HR's contract reminders (a term or probation ending within the notice window).
        let reminders = if contracts { Some(archive.contracts().reminders(&p, crate::model::today())?) } else { None };
        // What each item asks for, and the names of the persons concerned where the caller may see them (each a
        // read the trail records once).
        let mut names = std::collections::HashMap::new();
        let mut asked = std::collections::HashMap::new();
        for it in &items {
            if let Some(pid) = it.person_id
                && let std::collections::hash_map::Entry::Vacant(e) = names.entry(pid)
            {
                e.insert(archive.persons().get(&p, pid).ok().map(|v| v.person.name));
            }
            if let Ok(r) = archive.requests().get(&p, it.request_id) {
                asked.insert(it.request_id, (r.reason, r.changes));
            }
        }
        let requests = archive.requests().list(&p, None, None, None)?;
        Ok((items, requests, names, asked, reminders))
    })
    .await?;
    let body = html! {
        h1 { (l.t("待办", "Inbox")) }
        @if let Some(r) = &reminders { (super::contracts::reminders_section(l, r)) }
        @if let Some(d) = q.done.as_deref().and_then(|d| d.parse::<RequestId>().ok()) {
            p.flash role="status" { (l.t("审批意见已提交：", "Decision recorded: ")) a href={ "/requests/" (d) } { (d) } }
        }
        @if items.is_empty() {
            p { (l.t("没有等待您处理的事项。", "Nothing is waiting for you.")) }
        }
        @for it in &items {
            article.inbox-item {
                h2 {
                    a href={ "/requests/" (it.request_id) } { (kind_name(l, it.kind)) " · " (step_name(l, &it.step)) }
                    @if it.overdue { " " span.badge.overdue { (l.t("已超期", "overdue")) } }
                }
                p.meta {
                    (l.t("待处理自 ", "Waiting since ")) (it.since.get(..10).unwrap_or(&it.since))
                    " · " (l.t("期限 ", "due ")) (it.due.get(..10).unwrap_or(&it.due))
                    @if let Some(pid) = it.person_id {
                        " · " a href={ "/persons/" (pid) } {
                            (names.get(&pid).cloned().flatten().unwrap_or_else(|| l.t("查看档案", "dossier").into()))
                        }
                    }
                }
                @if let Some((reason, changes)) = asked.get(&it.request_id) {
                    ul.changes {
                        @if let Some(obj) = changes.as_object() {
                            @for (k, v) in obj { li { (field_name(l, k)) "：" (value_text(v)) } }
                        }
                        @if let Some(r) = reason { li { (l.t("事由", "Reason")) "：" (r) } }
                    }
                }
                (decision_form(&user, it.request_id))
            }
        }
        @if !requests.is_empty() {
            section {
                h2 { (l.t("最近的申请", "Recent requests")) }
                table {
                    thead { tr {
                        th scope="col" { (l.t("类型", "Kind")) } th scope="col" { (l.t("状态", "State")) }
                        th scope="col" { (l.t("发起人", "By")) } th scope="col" { (l.t("时间", "When")) }
                    } }
                    tbody {
                        @for r in requests.iter().take(30) {
                            tr {
                                td { a href={ "/requests/" (r.id) } { (kind_name(l, r.kind)) } }
                                td { (state_name(l, r.state)) } td { (r.initiator) } td { (when(r.created_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&user), l.t("待办", "Inbox"), body).into_response())
}

/// A decision with its comment (a request's step, a consultation grant).
#[derive(Deserialize)]
pub(super) struct DecisionForm {
    pub(super) csrf: Option<String>,
    #[serde(default)]
    pub(super) decision: String,
    pub(super) comment: Option<String>,
}

/// `POST /requests/{id}/decide`: the caller's decision on its pending step.
pub(super) async fn decide(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<DecisionForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: RequestId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let comment = super::nonempty(&f.comment);
    blocking(move || archive.requests().decide(&p, id, &f.decision, comment)).await?;
    Ok(Redirect::to(&format!("/inbox?done={id}")).into_response())
}

/// A form that carries nothing but its CSRF token (buttons that act on the object in the path).
#[derive(Deserialize)]
pub(super) struct CsrfForm {
    pub(super) csrf: Option<String>,
}

/// `POST /requests/{id}/submit`: the initiator submits a draft, or a returned or conflicting request, again.
pub(super) async fn submit(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CsrfForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: RequestId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.requests().submit(&p, id)).await?;
    Ok(Redirect::to(&format!("/requests/{id}")).into_response())
}

/// `POST /requests/{id}/withdraw`: the initiator withdraws a request that is not finished.
pub(super) async fn withdraw(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CsrfForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: RequestId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.requests().withdraw(&p, id)).await?;
    Ok(Redirect::to(&format!("/requests/{id}")).into_response())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// `GET /requests/{id}`: the request, its steps, decisions, findings and comments as a timeline.
pub(super) async fn request(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: RequestId = parse_id(&id)?;
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (r, pending, person, contracts) = blocking(move || {
        let r = archive.requests().get(&p, id)?;
        let pending = archive.requests().inbox(&p)?.into_iter().any(|i| i.request_id == id);
        // The name, where the caller may see the person (the service decides; otherwise a plain link).
        let person = r.person_id.and_then(|pid| archive.persons().get(&p, pid).ok()).map(|v| v.person.name);
        let contracts = super::contracts::request_contracts(&archive, &p, &r.changes);
        Ok((r, pending, person, contracts))
    })
    .await?;
    let title = kind_name(l, r.kind);
    let body = html! {
        h1 { (title) " " span.badge { (state_name(l, r.state)) } }
        dl.fields {
            dt { (l.t("发起人", "Started by")) } dd { (r.initiator) " · " (when(r.created_at)) }
            @if let Some(pid) = r.person_id {
                dt { (l.t("对象", "Person")) }
                dd { a href={ "/persons/" (pid) } { (person.clone().unwrap_or_else(|| l.t("查看档案", "dossier").into())) } }
            }
            dt { (l.t("事由", "Reason")) } dd { (r.reason.as_deref().unwrap_or("—")) }
            @if let Some(v) = r.applied_version { dt { (l.t("生效版本", "Applied as version")) } dd { (v) } }
            @if let Some(c) = &r.conflict { dt { (l.t("冲突", "Conflict")) } dd.error { (c) } }
        }
        section {
            h2 { (l.t("变更内容", "Proposed changes")) }
            table {
                thead { tr { th scope="col" { (l.t("字段", "Field")) } th scope="col" { (l.t("新值", "New value")) } } }
                tbody {
                    @if let Some(obj) = r.changes.as_object() {
                        @for (k, v) in obj { tr { td { (field_name(l, k)) " " code { (k) } } td { (value_text(v)) } } }
                    }
                }
            }
            @if !r.hidden.is_empty() {
                p.note {
                    (l.t("按您的权限，以下内容不显示或已遮蔽：", "Hidden or masked for your role: "))
                    (r.hidden.iter().map(|k| field_name(l, k)).collect::<Vec<_>>().join(", "))
                }
            }
        }
        @if !r.findings.is_empty() { (layout::findings(l, &r.findings)) }
        (super::contracts::request_section(l, &contracts))
        section {
            h2 { (l.t("流程", "Steps")) }
            table {
                thead { tr {
                    th scope="col" { (l.t("环节", "Step")) } th scope="col" { (l.t("处理人", "Assignee")) }
                    th scope="col" { (l.t("状态", "State")) } th scope="col" { (l.t("期限", "Due")) }
                    th scope="col" { (l.t("处理", "Decided")) }
                } }
                tbody {
                    @for s in &r.steps {
                        tr class=(format!("step {:?}{}", s.state, if s.stuck { " stuck" } else { "" }).to_lowercase()) {
                            td { (step_name(l, &s.name)) }
                            td {
                                (step_name(l, &s.assignee))
                                @if let Some(from) = &s.escalated_from {
                                    " " small { (l.t("（原为", "(escalated from ")) (step_name(l, from)) (l.t("）", ")")) }
                                }
                            }
                            td {
                                (step_state_name(l, s.state))
                                @if let Some(into) = &s.folded_into {
                                    " · " (l.t("并入", "taken over by ")) (step_name(l, into))
                                }
                                @if s.stuck {
                                    " · " strong.error { (l.t("无人可处理", "nobody may decide it")) }
                                    @if let Some(why) = &s.stuck_reason { "：" (why) }
                                }
                            }
                            td { (s.due.map(when).unwrap_or_else(|| "—".into())) }
                            td { (s.decided_by.as_deref().unwrap_or("—")) @if let Some(at) = s.decided_at { " · " (when(at)) } }
                        }
                    }
                }
            }
        }
        section {
            h2 { (l.t("审批记录", "Timeline")) }
            ol.timeline {
                li { time { (when(r.created_at)) } " " (r.initiator) " " (l.t("发起申请", "started the request")) }
                @for d in &r.decisions {
                    li class=[d.void.then_some("void")] {
                        time { (when(d.at)) } " " (d.actor) " · " (step_name(l, &d.step)) " · " strong { (decision_name(l, &d.decision)) }
                        @if let Some(c) = &d.comment { "：" (c) }
                        @if d.void { " " (l.t("（变更内容修改后作废）", "(voided by a later edit)")) }
                    }
                }
                @for c in &r.comments {
                    @if c.author == "system" {
                        li.system { time { (when(c.at)) } " " (l.t("系统", "system")) "：" (c.text) }
                    } @else {
                        li.comment { time { (when(c.at)) } " " (c.author) "：" (c.text) }
                    }
                }
            }
        }
        @if pending {
            section {
                h2 { (l.t("我的审批", "My decision")) }
                (decision_form(&user, r.id))
            }
        }
        @if r.initiator == user.principal.user.username {
            @let resubmit = matches!(r.state, RequestState::Draft | RequestState::Returned)
                || (r.state == RequestState::Approved && r.conflict.is_some());
            @let open = !matches!(r.state, RequestState::Applied | RequestState::Rejected | RequestState::Withdrawn);
            @if resubmit || open {
                section.initiator {
                    h2 { (l.t("我发起的申请", "My request")) }
                    @if resubmit {
                        form.inline method="post" action={ "/requests/" (r.id) "/submit" } {
                            (csrf_field(&user))
                            button type="submit" { (l.t("重新提交", "Submit again")) }
                        }
                    }
                    @if open {
                        form.inline method="post" action={ "/requests/" (r.id) "/withdraw" } {
                            (csrf_field(&user))
                            button.danger type="submit" { (l.t("撤回申请", "Withdraw")) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&user), title, body).into_response())
}

/// The kinds the request form offers, in the order of [`RequestKind::ALL`].
fn form_kinds() -> impl Iterator<Item = RequestKind> {
    RequestKind::ALL.into_iter().filter(|k| k.on_request_form())
}

#[derive(Deserialize)]
pub(super) struct NewRequestQuery {
    kind: Option<String>,
    person: Option<String>,
}

struct RequestDraft<'a> {
    kind: RequestKind,
    person: Option<PersonId>,
    person_name: Option<String>,
    values: &'a [(String, String)],
}

fn value_of<'a>(values: &'a [(String, String)], name: &str) -> &'a str {
    values.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn request_form(st: &AppState, user: &WebUser, d: &RequestDraft, findings: &[Finding]) -> Markup {
    let l = user.lang;
    let person_q = d.person.map(|p| format!("&person={p}")).unwrap_or_default();
    html! {
        h1 { (l.t("发起申请", "New request")) ": " (kind_name(l, d.kind)) }
        nav.tabs aria-label=(l.t("申请类型", "Kinds")) {
            @for k in form_kinds() {
                @if k == d.kind { strong aria-current="page" { (kind_name(l, k)) } }
                @else { a href={ "/requests/new?kind=" (k) (person_q) } { (kind_name(l, k)) } }
                " "
            }
        }
        @if !findings.is_empty() { (layout::findings(l, findings)) }
        form.request method="post" action="/requests" {
            (csrf_field(user))
            input type="hidden" name="kind" value=(d.kind.as_str());
            @if let Some(pid) = d.person {
                input type="hidden" name="person_id" value=(pid);
                p { (l.t("对象：", "Person: ")) a href={ "/persons/" (pid) } { (d.person_name.clone().unwrap_or_else(|| pid.to_string())) } }
            } @else {
                p.grow {
                    label for="rq-person" { (l.t("人员编号", "Person id")) }
                    input #rq-person type="text" name="person_id" required value=(value_of(d.values, "person_id"));
                }
            }
            @for f in d.kind.fields() {
                @let (name, id) = (f.name, format!("rq-{}", f.name));
                p.grow {
                    label for=(id) { (l.t(f.zh, f.en)) }
                    @if f.input == Input::Department {
                        select id=(id) name=(name) {
                            option value="" { "—" }
                            @for dep in &st.archive.config().departments {
                                option value=(dep.code) selected[value_of(d.values, name) == dep.code] { (dep.name) }
                            }
                        }
                    } @else if f.input == Input::Long {
                        textarea id=(id) name=(name) rows="3" { (value_of(d.values, name)) }
                    } @else {
                        input id=(id) type="text" name=(name) value=(value_of(d.values, name));
                    }
                }
            }
            p.grow {
                label for="rq-reason" { (l.t("事由", "Reason")) }
                textarea #rq-reason name="reason" rows="3" required { (value_of(d.values, "reason")) }
            }
            p { button type="submit" { (l.t("提交申请", "Submit")) } }
        }
    }
}

async fn person_name(st: &AppState, user: &WebUser, person: Option<PersonId>) -> Option<String> {
    let id = person?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.persons().get(&p, id)).await.ok().map(|v| v.person.name)
}

/// `GET /requests/new?kind=…&person=…`: the form of a kind.
pub(super) async fn new_request(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(q): WebQuery<NewRequestQuery>,
) -> WebResult<Response> {
    let l = user.lang;
    let kind = q
        .kind
        .as_deref()
        .and_then(RequestKind::parse)
        .filter(|k| k.on_request_form())
        .unwrap_or(RequestKind::Promotion);
    let person = match q.person.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_id::<PersonId>(s)?),
        None => None,
    };
    let person_name = person_name(&st, &user, person).await;
    let d = RequestDraft { kind, person, person_name, values: &[] };
    let body = request_form(&st, &user, &d, &[]);
    Ok(page(l, Some(&user), l.t("发起申请", "New request"), body).into_response())
}

/// The changes of a request from the form's fields of its kind (empty fields are not changes).
fn changes_of(kind: RequestKind, values: &[(String, String)]) -> Value {
    let mut changes = Map::new();
    for f in kind.fields() {
        let v = value_of(values, f.name).trim();
        if v.is_empty() {
            continue;
        }
        let value = if f.input == Input::Ids {
            Value::Array(
                v.split([',', '，', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(Value::from).collect(),
            )
        } else {
            Value::String(v.to_string())
        };
        changes.insert(f.name.to_string(), value);
    }
    Value::Object(changes)
}

/// `POST /requests`: starts the request; validation findings come back on the form (422).
pub(super) async fn create_request(
    State(st): State<AppState>,
    user: WebUser,
    WebForm(values): WebForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    user.check_csrf(&st, values.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()))?;
    let l = user.lang;
    let name = value_of(&values, "kind");
    let Some(kind) = RequestKind::parse(name).filter(|k| k.on_request_form()) else {
        return Err(crate::service::Error::invalid("kind", format!("unknown kind {name:?}")).into());
    };
    let person = match value_of(&values, "person_id").trim() {
        "" => None,
        s => Some(parse_id::<PersonId>(s)?),
    };
    let reason = Some(value_of(&values, "reason").trim().to_string()).filter(|s| !s.is_empty());
    let new = NewRequest { kind, person_id: person, changes: changes_of(kind, &values), reason, draft: false };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    match blocking(move || archive.requests().create(&p, new)).await {
        Ok(r) => Ok(Redirect::to(&format!("/requests/{}", r.id)).into_response()),
        Err(HttpError::Service(crate::service::Error::Invalid { findings, .. })) => {
            let person_name = person_name(&st, &user, person).await;
            let d = RequestDraft { kind, person, person_name, values: &values };
            let body = request_form(&st, &user, &d, &findings);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page(l, Some(&user), l.t("发起申请", "New request"), body))
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The fields of the new-person form: (name, label zh, label en).
const PERSON_FIELDS: [(&str, &str, &str); 14] = [
    ("name", "姓名", "Name"),
    ("former_names", "曾用名（逗号分隔）", "Former names (comma-separated)"),
    ("id_number", "公民身份号码", "ID number"),
    ("birth_date", "出生日期", "Born"),
    ("ethnicity", "民族", "Ethnicity"),
    ("native_place", "籍贯", "Native place"),
    ("work_start", "参加工作时间", "Started work"),
    ("party_join", "入党时间", "Joined the party"),
    ("party_full", "转正时间", "Full party membership"),
    ("education", "学历学位", "Education"),
    ("position", "职务", "Position"),
    ("rank", "职级", "Rank"),
    ("phone", "电话", "Phone"),
    ("address", "地址", "Address"),
];

fn person_form(st: &AppState, user: &WebUser, values: &[(String, String)], findings: &[Finding]) -> Markup {
    let l = user.lang;
    html! {
        h1 { (l.t("新建人员档案", "New person")) }
        p.note { (l.t("公民身份号码按 GB 11643 校验；出生日期和性别可由号码得出。",
            "The ID number is checked per GB 11643; birth date and gender follow from it.")) }
        @if !findings.is_empty() { (layout::findings(l, findings)) }
        form.request method="post" action="/persons" {
            (csrf_field(user))
            @for (name, zh, en) in PERSON_FIELDS {
                @let id = format!("np-{name}");
                p.grow {
                    label for=(id) { (l.t(zh, en)) }
                    input id=(id) type="text" name=(name) value=(value_of(values, name)) required[name == "name"];
                }
            }
            p.grow {
                label for="np-gender" { (l.t("性别", "Gender")) }
                select #np-gender name="gender" {
                    option value="" { (l.t("由号码得出", "from the ID number")) }
                    option value="male" selected[value_of(values, "gender") == "male"] { (l.t("男", "male")) }
                    option value="female" selected[value_of(values, "gender") == "female"] { (l.t("女", "female")) }
                }
            }
            p.grow {
                label for="np-department" { (l.t("部门", "Department")) }
                select #np-department name="department" required {
                    @for d in &st.archive.config().departments {
                        option value=(d.code) selected[value_of(values, "department") == d.code] { (d.name) }
                    }
                }
            }
            p { button type="submit" { (l.t("建档", "Create")) } }
        }
    }
}

/// `GET /persons/new`: the form for a new person record (HR).
pub(super) async fn new_person(State(st): State<AppState>, user: WebUser) -> Response {
    let l = user.lang;
    page(l, Some(&user), l.t("新建人员档案", "New person"), person_form(&st, &user, &[], &[])).into_response()
}

/// `POST /persons`: creates the person record (version 1); findings come back on the form (422).
pub(super) async fn create_person(
    State(st): State<AppState>,
    user: WebUser,
    WebForm(values): WebForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    user.check_csrf(&st, values.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()))?;
    let l = user.lang;
    let mut input = Map::new();
    for name in PERSON_FIELDS.iter().map(|f| f.0).chain(["gender", "department"]) {
        let v = value_of(&values, name).trim();
        if v.is_empty() {
            continue;
        }
        let value = if name == "former_names" {
            Value::Array(v.split([',', '，', '、']).map(str::trim).filter(|s| !s.is_empty()).map(Value::from).collect())
        } else {
            Value::String(v.to_string())
        };
        input.insert(name.to_string(), value);
    }
    let archive = st.archive.clone();
    let p = user.principal.clone();
    match blocking(move || archive.persons().create(&p, Value::Object(input))).await {
        Ok(saved) => Ok(Redirect::to(&format!("/persons/{}", saved.record.id)).into_response()),
        Err(HttpError::Service(crate::service::Error::Invalid { findings, .. })) => {
            let body = person_form(&st, &user, &values, &findings);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page(l, Some(&user), l.t("新建人员档案", "New person"), body))
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_take_the_kinds_fields_only() {
        let v = |k: &str, x: &str| (k.to_string(), x.to_string());
        let values = vec![v("position", "处长"), v("rank", " "), v("phone", "123"), v("csrf", "x")];
        assert_eq!(changes_of(RequestKind::Promotion, &values), serde_json::json!({"position": "处长"}));
        let values = vec![v("material_ids", "a, b，c")];
        assert_eq!(
            changes_of(RequestKind::Consultation, &values),
            serde_json::json!({"material_ids": ["a", "b", "c"]})
        );
    }
}
