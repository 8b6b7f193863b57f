//! The 专项审核 page of a dossier (docs/DOMAIN.md §4): the review record item by item — values found, problems,
//! the determined (认定) value, evidence, basis — where it stands, its request and conclusion; HR records a new
//! version from the same page and submits it into the `special_review` flow. The page calls the service functions
//! `GET/PUT /api/v1/persons/{id}/review` and `POST /api/v1/requests` call.

use super::error::{WebForm, WebResult, parse_id};
use super::layout::{kind_name, page, state_name, when};
use super::session::{WebUser, csrf_field};
use crate::http::{AppState, blocking};
use crate::model::review::{FoundValue, Problem, ProblemKind, ReviewEntry, ReviewInput, ReviewItem, ReviewState};
use crate::model::{MaterialId, PersonId, RequestKind};
use crate::service::workflows::NewRequest;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

/// Rows of sources and of problems the form offers per item (the API takes more).
const ROWS: usize = 2;

fn state_label(l: super::session::Lang, s: ReviewState) -> &'static str {
    match s {
        ReviewState::None => l.t("未审核", "not reviewed"),
        ReviewState::Draft => l.t("审核记录（未提交）", "draft"),
        ReviewState::InReview => l.t("初审/复审中", "in review"),
        ReviewState::InApproval => l.t("认定/组织审批中", "in approval"),
        ReviewState::Concluded => l.t("已认定", "concluded"),
        ReviewState::Expired => l.t("已认定（已过期，晋升前须重新审核）", "concluded (expired)"),
    }
}

/// `GET /persons/{id}/review`.
pub(super) async fn show(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: PersonId = parse_id(&id)?;
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (person, review, materials) = blocking(move || {
        let person = archive.persons().get(&p, id)?;
        let review = archive.reviews().get(&p, id)?;
        let materials = archive.persons().catalogue(&p, id)?;
        Ok((person, review, materials))
    })
    .await?;
    let options: Vec<(MaterialId, String)> = materials
        .iter()
        .map(|e| (e.material.id, format!("{}-{} {}", e.material.meta.category, e.seq, e.material.meta.title)))
        .collect();
    let title_of = |m: &MaterialId| {
        options.iter().find(|(id, _)| id == m).map(|(_, t)| t.clone()).unwrap_or_else(|| m.to_string())
    };
    let x = &person.person;
    let editable = user.can.create && !matches!(review.state, ReviewState::InReview | ReviewState::InApproval);
    let title = format!("{} · {}", x.name, l.t("专项审核", "Special review"));
    let body = html! {
        p { a href={ "/persons/" (x.id) } { (l.t("← 返回档案", "← Back to the dossier")) } }
        h1 { (title) }
        section.card #review-state {
            p { (l.t("状态：", "State: ")) strong.review-state data-state=(review.state.as_str()) { (state_label(l, review.state)) } }
            @if let (Some(rid), Some(s)) = (review.request_id, review.request_state) {
                p { (l.t("审批申请：", "Request: ")) a href={ "/requests/" (rid) } { (kind_name(l, RequestKind::SpecialReview)) } " · " (state_name(l, s)) }
            }
            @if let Some(c) = &review.conclusion {
                p {
                    (l.t("认定于 ", "Concluded ")) (when(c.at)) " · " (c.approvers.join("、"))
                    @if let Some(u) = &review.valid_until { " · " (l.t("晋升审核有效期至 ", "counts for a promotion until ")) (u) }
                }
            }
            @if !review.locked_fields.is_empty() {
                p { (l.t("已认定字段（变更须附组织说明）：", "Determined fields (a change cites a 组织说明): "))
                    (review.locked_fields.iter().filter_map(|f| ReviewItem::parse(f)).map(|i| i.label().0).collect::<Vec<_>>().join("、")) }
            }
            @if review.version > 0 { p.meta { (l.t("记录版本 ", "Version ")) (review.version) " · " (review.updated_by.as_deref().unwrap_or("")) " " (review.updated_at.map(when).unwrap_or_default()) } }
        }
        table.review #review-items {
            thead { tr {
                th scope="col" { (l.t("项目", "Item")) }
                th scope="col" { (l.t("各材料所载", "Found in the materials")) }
                th scope="col" { (l.t("发现的问题", "Problems")) }
                th scope="col" { (l.t("认定", "Determined")) }
                th scope="col" { (l.t("依据材料", "Evidence")) }
            } }
            tbody {
                @for item in ReviewItem::ALL {
                    @let e = review.entries.iter().find(|e| e.item == item);
                    tr data-item=(item.as_str()) {
                        th scope="row" { (l.t(item.label().0, item.label().1)) }
                        td { @if let Some(e) = e { @for f in &e.found { div { (f.value) " — " (title_of(&f.material_id)) } } } }
                        td { @if let Some(e) = e { @for p in &e.problems { div.problem { strong { (p.kind.zh()) } "：" (p.note) } } } }
                        td.determined { @if let Some(e) = e { (e.determined.as_deref().unwrap_or("")) @if let Some(b) = &e.basis { div.meta { (b) } } } }
                        td { @if let Some(e) = e { @for m in &e.evidence { div { (title_of(m)) } } } }
                    }
                }
            }
        }
        @if let Some(n) = &review.note { p { (n) } }
        @if editable {
            (form(&user, x.id, &review.entries, review.note.as_deref(), review.version, &options))
            @if review.version > 0 {
                form.inline method="post" action={ "/persons/" (x.id) "/review/submit" } {
                    (csrf_field(&user))
                    button type="submit" { (l.t("提交审核（初审 → 复审 → 认定 → 组织审批）", "Submit (first review → second review → determination → approval)")) }
                }
            }
        }
    };
    Ok(page(l, Some(&user), &title, body).into_response())
}

/// The recording form: per item the determined value, its basis and evidence, and rows of sources and problems.
fn form(
    user: &WebUser,
    person: PersonId,
    entries: &[ReviewEntry],
    note: Option<&str>,
    version: u32,
    options: &[(MaterialId, String)],
) -> Markup {
    let l = user.lang;
    let select = |name: String, chosen: Option<MaterialId>| {
        html! {
            select name=(name) {
                option value="" { "—" }
                @for (id, label) in options { option value=(id) selected[chosen == Some(*id)] { (label) } }
            }
        }
    };
    html! {
        form.review method="post" action={ "/persons/" (person) "/review" } {
            h2 { (l.t("记录审核（新版本）", "Record the review (a new version)")) }
            (csrf_field(user))
            input type="hidden" name="version" value=(version);
            @for item in ReviewItem::ALL {
                @let e = entries.iter().find(|e| e.item == item);
                @let key = item.as_str();
                fieldset data-item=(key) {
                    legend { (l.t(item.label().0, item.label().1)) }
                    @for k in 0..ROWS {
                        @let f = e.and_then(|e| e.found.get(k));
                        p.row {
                            label { (l.t("所载", "Found")) " " input type="text" name={ (key) ".found" (k) ".value" } value=(f.map(|f| f.value.as_str()).unwrap_or("")); }
                            label { (l.t("来源材料", "in")) " " (select(format!("{key}.found{k}.material"), f.map(|f| f.material_id))) }
                        }
                    }
                    @for k in 0..ROWS {
                        @let pr = e.and_then(|e| e.problems.get(k));
                        p.row {
                            label { (l.t("问题", "Problem")) " "
                                select name={ (key) ".problem" (k) ".kind" } {
                                    option value="" { (l.t("（无问题）", "(no problem)")) }
                                    @for kind in ProblemKind::ALL { option value=(kind.as_str()) selected[pr.map(|p| p.kind) == Some(kind)] { (kind.zh()) } }
                                }
                            }
                            label { (l.t("说明", "What was found")) " " input type="text" name={ (key) ".problem" (k) ".note" } value=(pr.map(|p| p.note.as_str()).unwrap_or("")); }
                            label { (l.t("所在材料", "in")) " " (select(format!("{key}.problem{k}.material"), pr.and_then(|p| p.material_id))) }
                        }
                    }
                    p.row {
                        label { (l.t("认定", "Determined")) " " input type="text" name={ (key) ".determined" } value=(e.and_then(|e| e.determined.as_deref()).unwrap_or("")) placeholder=(if item.is_date() { "1980-05-17" } else { "" }); }
                        label { (l.t("依据", "Basis")) " " input type="text" name={ (key) ".basis" } value=(e.and_then(|e| e.basis.as_deref()).unwrap_or("")); }
                    }
                    p.row {
                        label { (l.t("依据材料", "Evidence")) " "
                            select multiple name={ (key) ".evidence" } {
                                @for (id, label) in options { option value=(id) selected[e.is_some_and(|e| e.evidence.contains(id))] { (label) } }
                            }
                        }
                    }
                }
            }
            p { label { (l.t("备注", "Note")) " " input type="text" name="note" value=(note.unwrap_or("")); } }
            button type="submit" { (l.t("保存审核记录", "Save the review")) }
        }
    }
}

fn value<'a>(values: &'a [(String, String)], key: &str) -> Option<&'a str> {
    values.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

fn material(values: &[(String, String)], key: &str) -> WebResult<Option<MaterialId>> {
    value(values, key).map(parse_id).transpose()
}

/// The review a posted form describes (rows left empty are left out).
fn input_of(values: &[(String, String)]) -> WebResult<ReviewInput> {
    let mut entries = Vec::new();
    for item in ReviewItem::ALL {
        let key = item.as_str();
        let mut found = Vec::new();
        let mut problems = Vec::new();
        for k in 0..ROWS {
            if let (Some(v), Some(m)) = (
                value(values, &format!("{key}.found{k}.value")),
                material(values, &format!("{key}.found{k}.material"))?,
            ) {
                found.push(FoundValue { material_id: m, value: v.to_string() });
            }
            let kind = value(values, &format!("{key}.problem{k}.kind"))
                .and_then(|s| ProblemKind::ALL.into_iter().find(|p| p.as_str() == s));
            if let Some(kind) = kind {
                let note = value(values, &format!("{key}.problem{k}.note")).unwrap_or("").to_string();
                let material_id = material(values, &format!("{key}.problem{k}.material"))?;
                problems.push(Problem { kind, note, material_id });
            }
        }
        let evidence = values
            .iter()
            .filter(|(k, v)| *k == format!("{key}.evidence") && !v.trim().is_empty())
            .map(|(_, v)| parse_id(v.trim()))
            .collect::<WebResult<Vec<MaterialId>>>()?;
        let determined = value(values, &format!("{key}.determined")).map(String::from);
        let basis = value(values, &format!("{key}.basis")).map(String::from);
        if found.is_empty() && problems.is_empty() && determined.is_none() && evidence.is_empty() && basis.is_none() {
            continue;
        }
        entries.push(ReviewEntry { item, found, problems, determined, evidence, basis });
    }
    Ok(ReviewInput { entries, note: value(values, "note").map(String::from) })
}

/// `POST /persons/{id}/review`: records a new version, then back to the page.
pub(super) async fn record(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(values): WebForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    user.check_csrf(&st, value(&values, "csrf"))?;
    let id: PersonId = parse_id(&id)?;
    let input = input_of(&values)?;
    let version = value(&values, "version").and_then(|v| v.parse::<u32>().ok()).filter(|v| *v > 0);
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.reviews().record(&p, id, version, input)).await?;
    Ok(Redirect::to(&format!("/persons/{id}/review")).into_response())
}

/// `POST /persons/{id}/review/submit`: starts the `special_review` request, then its page.
pub(super) async fn submit(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(values): WebForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    user.check_csrf(&st, value(&values, "csrf"))?;
    let id: PersonId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let new = NewRequest {
        kind: RequestKind::SpecialReview,
        person_id: Some(id),
        changes: serde_json::json!({}),
        reason: Some("干部人事档案专项审核".into()),
        draft: false,
    };
    let r = blocking(move || archive.requests().create(&p, new)).await?;
    Ok(Redirect::to(&format!("/requests/{}", r.id)).into_response())
}
