//! 查(借)阅 pages (docs/DOMAIN.md §4c): the consultation form (unit, readers, purpose, period, permissions, the
//! 介绍信 as a file), the letter for its approvers, and the viewer: a material read under a consultation grant is
//! shown watermarked — a PDF or image as the stamped copy in a frame, a text or DOCX as its text under an HTML
//! overlay naming the reader, the time and the grant (CSS classes only; selection and printing follow the grant's
//! 复制 and 打印 permissions on the page).

use super::error::{WebError, WebQuery, WebResult, parse_id};
use super::forms::read_file_post;
use super::layout::{page, when};
use super::session::{WebUser, csrf_field};
use crate::http::{AppState, Disposition, blocking, file_response};
use crate::model::consultation::GrantPermission;
use crate::model::{GrantId, MaterialId, PartialDate, PersonId};
use crate::service::grants::GrantRequest;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct NewQuery {
    person: Option<String>,
}

/// `GET /grants/new?person=…`: the consultation form.
pub(super) async fn new_grant(user: WebUser, WebQuery(q): WebQuery<NewQuery>) -> WebResult<Response> {
    let l = user.lang;
    let person: PersonId = parse_id(q.person.as_deref().unwrap_or_default())?;
    let until = (crate::model::today() + time::Duration::days(14)).to_string();
    let body = html! {
        h1 { (l.t("申请查阅档案", "Ask to consult a dossier")) }
        p.note { (l.t(
            "按《干部人事档案工作条例》：写明查阅单位、查阅人（至少两人）、目的与期限，上传介绍信；由具有干部管理权限的领导审批。查阅时所见内容均带有水印。",
            "As the regulations ask: name the consulting unit, the readers (at least two), purpose and period, and upload the letter of introduction; those with authority over the cadre approve it. Everything read carries a watermark."
        )) }
        form.upload method="post" action="/grants" enctype="multipart/form-data" {
            (csrf_field(&user))
            input type="hidden" name="person_id" value=(person);
            p.grow { label for="cg-unit" { (l.t("查阅单位", "Consulting unit")) } input #cg-unit type="text" name="unit" required maxlength="100"; }
            p.grow {
                label for="cg-readers" { (l.t("查阅人（账户名，逗号分隔）", "Readers (account names, comma-separated)")) }
                input #cg-readers type="text" name="readers" required value=(user.principal.user.username);
            }
            p.grow { label for="cg-purpose" { (l.t("查阅目的", "Purpose")) } textarea #cg-purpose name="purpose" required maxlength="500" {} }
            p { label for="cg-from" { (l.t("开始日期（空为即日）", "From (empty: today)")) } input #cg-from type="date" name="from"; }
            p { label for="cg-until" { (l.t("截止日期", "Until")) } input #cg-until type="date" name="until" required value=(until); }
            p.grow {
                label for="cg-materials" { (l.t("限定材料（编号，逗号分隔；空为整本档案）", "Materials (ids, comma-separated; empty: the whole dossier)")) }
                input #cg-materials type="text" name="material_ids";
            }
            fieldset {
                legend { (l.t("权限（阅为必有）", "Permissions (view always)")) }
                @for perm in GrantPermission::ALL.into_iter().filter(|p| *p != GrantPermission::View) {
                    @let id = format!("cg-perm-{}", perm.as_str());
                    input id=(id) type="checkbox" name="permissions" value=(perm.as_str());
                    label for=(id) { (l.t(perm.label().0, perm.label().1)) }
                    " "
                }
            }
            p.grow {
                label for="cg-letter" { (l.t("介绍信（PDF、JPEG 或 PNG）", "Letter of introduction (PDF, JPEG or PNG)")) }
                input #cg-letter type="file" name="file" required accept="application/pdf,image/jpeg,image/png";
            }
            p { button type="submit" { (l.t("提交申请", "Ask")) } }
        }
    };
    Ok(page(l, Some(&user), l.t("申请查阅", "Ask to consult"), body).into_response())
}

/// `POST /grants`: asks for a consultation with its letter (multipart form).
pub(super) async fn create_grant(State(st): State<AppState>, user: WebUser, req: Request) -> WebResult<Response> {
    let post = read_file_post(&st, &user, req).await?;
    let invalid = |field: &str, m: &str| WebError::from(crate::service::Error::invalid(field, m.to_string()));
    let person_id: PersonId = parse_id(post.get("person_id").unwrap_or_default())?;
    let date = |name: &str| -> WebResult<Option<PartialDate>> {
        post.get(name).map(|v| v.parse().map_err(|_| invalid(name, "a date such as 2026-12-31"))).transpose()
    };
    let material_ids = match post.get("material_ids") {
        None => None,
        Some(v) => Some(
            v.split([',', '，', ' '])
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim().parse::<MaterialId>().map_err(|_| invalid("material_ids", "material ids, comma-separated"))
                })
                .collect::<WebResult<Vec<_>>>()?,
        ),
    };
    let permissions = post
        .fields
        .iter()
        .filter(|(k, _)| k == "permissions")
        .map(|(_, v)| {
            GrantPermission::parse(v).ok_or_else(|| invalid("permissions", "view, excerpt, copy, download or print"))
        })
        .collect::<WebResult<Vec<_>>>()?;
    let req = GrantRequest {
        person_id,
        material_ids,
        purpose: post.get("purpose").unwrap_or_default().to_string(),
        from: date("from")?,
        until: date("until")?.ok_or_else(|| invalid("until", "name the end of the period"))?,
        unit: post.get("unit").unwrap_or_default().to_string(),
        readers: post.get("readers").unwrap_or_default().split([',', '，', ' ']).map(str::to_string).collect(),
        permissions,
    };
    let (letter, name) = post.file.ok_or_else(|| invalid("letter", "上传介绍信"))?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.grants().request_with_letter(&p, req, &letter, name)).await?;
    Ok(Redirect::to("/grants").into_response())
}

/// `GET /grants/{id}/letter`: the letter of introduction (its approvers and the auditor).
pub(super) async fn letter(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: GrantId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (letter, bytes) = blocking(move || archive.grants().letter(&p, id)).await?;
    let name = letter.file_name.unwrap_or_else(|| format!("letter-{id}"));
    Ok(file_response(bytes.to_vec(), &letter.mime, Disposition::Attachment, &name))
}

/// `GET /materials/{id}/view/file`: the content as viewed (阅): under a grant, the watermarked copy; inline.
pub(super) async fn view_file(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id: MaterialId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (m, bytes, _) = blocking(move || archive.materials().view(&p, id)).await?;
    let name = m.file_name.clone().unwrap_or_else(|| m.id.to_string());
    let mut resp = file_response(bytes.to_vec(), &m.mime, Disposition::Inline, &name);
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Only this site's pages may frame the content; it runs nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; frame-ancestors 'self'",
        ),
    );
    Ok(resp)
}

/// `GET /materials/{id}/view`: the viewer page. Under a grant every view is watermarked: the stamped copy in a
/// frame, or the text under an overlay naming the reader, the time and the grant.
pub(super) async fn view(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let l = user.lang;
    let id: MaterialId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (m, bytes, grant) = blocking(move || {
        let (m, bytes, gid) = archive.materials().view(&p, id)?;
        let grant = gid.map(|g| archive.grants().get(&p, g)).transpose()?;
        Ok((m, bytes, grant))
    })
    .await?;
    let allows = |what| grant.as_ref().is_none_or(|g| g.allows(what));
    let stamp = grant.as_ref().map(|g| {
        format!("dangan GRANT {} · {} · {} UTC", g.id, user.principal.user.username, when(crate::model::now_ts()))
    });
    let mut classes = vec!["watermarked"];
    if !allows(GrantPermission::Copy) {
        classes.push("no-copy");
    }
    if !allows(GrantPermission::Print) {
        classes.push("no-print");
    }
    let is_text = m.mime.starts_with("text/plain");
    let body = html! {
        h1 { (l.t("阅览", "View")) }
        p { a href={ "/materials/" (id) } { (l.t("← 返回材料", "← Back to the material")) } }
        @if let (Some(g), Some(stamp)) = (&grant, &stamp) {
            p.note {
                (l.t("依查阅授权阅览，内容带有水印：", "Read under a consultation grant, watermarked: ")) code { (stamp) }
                br;
                (l.t("本授权允许：", "This grant allows: "))
                (g.permissions.iter().map(|x| l.t(x.label().0, x.label().1)).collect::<Vec<_>>().join("、"))
            }
            @if !allows(GrantPermission::Print) { p.print-refused { (l.t("本授权不允许打印。", "This grant does not allow printing.")) } }
        }
        div class=(classes.join(" ")) {
            @if is_text {
                pre.viewer-text { (String::from_utf8_lossy(&bytes)) }
            } @else if m.mime == "application/pdf" {
                iframe src={ "/materials/" (id) "/view/file" } title=(l.t("阅览", "View")) {}
            } @else {
                img src={ "/materials/" (id) "/view/file" } alt=(l.t("阅览", "View"));
            }
            @if let Some(stamp) = &stamp {
                div.watermark-overlay aria-hidden="true" {
                    @for _ in 0..24 { span { (stamp) } }
                }
            }
        }
    };
    let mut resp = page(l, Some(&user), l.t("阅览", "View"), body).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
