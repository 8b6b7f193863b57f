//! The pages of the three administrators (三员): the audit trail and its verification (auditor), the permission
//! review (security administrator), the accounts (system administrator). The service refuses anyone else.

use super::error::{WebError, WebForm, WebQuery, WebResult, parse_id};
use super::forms::{CsrfForm, DecisionForm};
use super::layout::{capability_name, page, pager, role_name, when};
use super::nonempty;
use super::session::{Lang, WebUser, csrf_field};
use crate::http::{AppState, HttpError, blocking, urlencode};
use crate::model::policy::Access;
use crate::model::policy::{FieldAccess, MaterialScope, PersonScope};
use crate::model::{Finding, GrantId, MaterialId, Role, User, UserId};
use crate::service::admin::UserPatch;
use crate::service::audit::{AuditQuery, Outcome};
use crate::service::auth::NewUser;
use crate::service::grants::GrantState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub(super) struct AuditForm {
    actor: Option<String>,
    action: Option<String>,
    object: Option<String>,
    from: Option<String>,
    to: Option<String>,
    outcome: Option<String>,
    page: Option<usize>,
}

const AUDIT_PAGE: usize = 100;

fn outcome_name(l: Lang, o: Outcome) -> &'static str {
    match o {
        Outcome::Allowed => l.t("允许", "allowed"),
        Outcome::Denied => l.t("拒绝", "denied"),
        Outcome::Failed => l.t("失败", "failed"),
    }
}

fn ms_when(ms: i64) -> String {
    let s = crate::model::ts_rfc3339(ms.div_euclid(1000));
    s.get(..19).map(|x| x.replace('T', " ")).unwrap_or(s)
}

/// The service's query for the audit form's filters and page.
fn audit_query(f: &AuditForm, limit: usize) -> WebResult<AuditQuery> {
    let outcome = match nonempty(&f.outcome).as_deref() {
        None => None,
        Some("allowed") => Some(Outcome::Allowed),
        Some("denied") => Some(Outcome::Denied),
        Some("failed") => Some(Outcome::Failed),
        Some(_) => return Err(WebError::from(crate::service::Error::invalid("outcome", "allowed, denied or failed"))),
    };
    let page_no = f.page.unwrap_or(1).clamp(1, 100_000);
    Ok(AuditQuery {
        actor: nonempty(&f.actor),
        object: nonempty(&f.object),
        action: nonempty(&f.action),
        from: nonempty(&f.from),
        to: nonempty(&f.to),
        outcome,
        limit: Some(limit),
        offset: Some((page_no - 1) * limit),
    })
}

/// `GET /audit/export`: the filtered trail as CSV (at most 1,000 entries a page, as the service allows).
pub(super) async fn audit_export(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(f): WebQuery<AuditForm>,
) -> WebResult<Response> {
    let q = audit_query(&f, 1000)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (items, _) = blocking(move || archive.audit_trail().query(&p, &q)).await?;
    Ok(crate::http::attachment(crate::service::AuditTrail::csv(&items), "text/csv; charset=utf-8", "audit.csv"))
}

/// `GET /audit`: the trail, newest first, filtered (auditor).
pub(super) async fn audit(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(f): WebQuery<AuditForm>,
) -> WebResult<Response> {
    let l = user.lang;
    let page_no = f.page.unwrap_or(1).clamp(1, 100_000);
    let q = audit_query(&f, AUDIT_PAGE)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let query = q.clone();
    let (items, total) = blocking(move || archive.audit_trail().query(&p, &query)).await?;
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let base = format!(
        "actor={}&action={}&object={}&from={}&to={}&outcome={}",
        urlencode(&v(&q.actor)),
        urlencode(&v(&q.action)),
        urlencode(&v(&q.object)),
        urlencode(&v(&q.from)),
        urlencode(&v(&q.to)),
        urlencode(&v(&nonempty(&f.outcome)))
    );
    let selected = nonempty(&f.outcome).unwrap_or_default();
    let body = html! {
        h1 { (l.t("审计日志", "Audit trail")) }
        p {
            a href="/audit/verify" { (l.t("校验日志完整性", "Verify the chain")) } " · "
            a href={ "/audit/export?" (base) } { (l.t("导出本次查询 (CSV)", "Export this query (CSV)")) }
        }
        form.search method="get" action="/audit" {
            p { label for="a-actor" { (l.t("操作人", "Actor")) } input #a-actor type="text" name="actor" value=(v(&q.actor)) size="12"; }
            p { label for="a-action" { (l.t("操作（可用 * 结尾）", "Action (may end in *)")) } input #a-action type="text" name="action" value=(v(&q.action)) size="16" list="audit-actions";
                datalist #audit-actions { @for a in crate::model::AuditAction::ALL { option value=(a.as_str()) {} } } }
            p { label for="a-object" { (l.t("对象（可用 * 结尾）", "Object (may end in *)")) } input #a-object type="text" name="object" value=(v(&q.object)) size="20"; }
            p { label for="a-from" { (l.t("自", "From")) } input #a-from type="text" name="from" value=(v(&q.from)) placeholder="2026-11-01" size="10"; }
            p { label for="a-to" { (l.t("至", "To")) } input #a-to type="text" name="to" value=(v(&q.to)) placeholder="2026-11-30" size="10"; }
            p {
                label for="a-outcome" { (l.t("结果", "Outcome")) }
                select #a-outcome name="outcome" {
                    option value="" { (l.t("全部", "All")) }
                    @for (code, o) in [("allowed", Outcome::Allowed), ("denied", Outcome::Denied), ("failed", Outcome::Failed)] {
                        option value=(code) selected[selected == code] { (outcome_name(l, o)) }
                    }
                }
            }
            p { button type="submit" { (l.t("查询", "Query")) } }
        }
        p.total { (l.t("共 ", "")) strong { (total) } (l.t(" 条", " entries")) }
        table.audit {
            thead { tr {
                th scope="col" { (l.t("序号", "Seq")) } th scope="col" { (l.t("时间 (UTC)", "When (UTC)")) }
                th scope="col" { (l.t("操作人", "Actor")) } th scope="col" { (l.t("来源", "Source")) }
                th scope="col" { (l.t("操作", "Action")) } th scope="col" { (l.t("对象", "Object")) }
                th scope="col" { (l.t("结果", "Outcome")) } th scope="col" { (l.t("说明", "Detail")) }
            } }
            tbody {
                @for e in &items {
                    tr class=(format!("outcome-{:?}", e.event.outcome).to_lowercase()) {
                        td.num { (e.seq) } td { (ms_when(e.at)) } td { (e.event.actor) } td { (e.event.source) }
                        td { code { (e.event.action) } } td { code { (e.event.object) } }
                        td { (outcome_name(l, e.event.outcome)) } td { (e.event.detail.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        (pager(l, "/audit", &base, page_no, AUDIT_PAGE, total))
    };
    Ok(page(l, Some(&user), l.t("审计日志", "Audit trail"), body).into_response())
}

/// `GET /audit/verify`: the chain re-checked (auditor).
pub(super) async fn audit_verify(State(st): State<AppState>, user: WebUser) -> WebResult<Response> {
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let r = blocking(move || archive.audit_trail().verify_as(&p)).await?;
    let body = html! {
        h1 { (l.t("审计日志完整性校验", "Audit trail verification")) }
        @if r.ok {
            p.flash role="status" { (l.t("校验通过：日志链完整，未发现删除、篡改或乱序。", "The chain holds: nothing removed, altered or reordered.")) }
        } @else {
            p.error role="alert" { (l.t("校验失败！", "Verification failed!")) }
        }
        dl.fields {
            dt { (l.t("已校验条目", "Entries checked")) } dd { (r.entries) }
            dt { (l.t("已校验检查点", "Checkpoints checked")) } dd { (r.checkpoints) }
            @if let Some(b) = r.first_bad { dt { (l.t("首个异常条目", "First bad entry")) } dd { (b) } }
            @if let Some(pr) = &r.problem { dt { (l.t("问题", "Problem")) } dd { (pr) } }
            dt { (l.t("链头哈希", "Head hash")) } dd { code { (r.head_hash) } }
            @if let Some(w) = &r.witness {
                dt { (l.t("外部见证", "Witness")) }
                dd {
                    (w.compared) (l.t(" 行已比对", " lines compared"))
                    @if let Some(n) = &w.newest { (l.t("；最新见证至第 ", "; newest witnessed entry ")) (n.seq) (l.t(" 条", "")) }
                    @if !w.unverified.is_empty() {
                        (l.t("；签名无效的行：", "; lines that do not verify: "))
                        (w.unverified.iter().map(|u| u.line.to_string()).collect::<Vec<_>>().join(", "))
                    }
                    @if !w.acknowledged.is_empty() {
                        (l.t("；已确认的回退：", "; acknowledged rollbacks: ")) (w.acknowledged.len())
                    }
                }
            }
        }
        p { a href="/audit" { (l.t("返回审计日志", "Back to the trail")) } }
    };
    Ok(page(l, Some(&user), l.t("日志校验", "Verification"), body).into_response())
}

fn scope_text(l: Lang, s: &MaterialScope) -> String {
    if s.all {
        return l.t("全部", "all").into();
    }
    if s.is_empty() {
        return l.t("无", "none").into();
    }
    let mut parts: Vec<String> = s.categories.iter().map(|c| format!("{}{c}", l.t("类", "cat. "))).collect();
    parts.extend(s.tags.iter().map(|t| format!("#{t}")));
    parts.join(", ")
}

fn fields_text(f: &FieldAccess) -> String {
    let pairs = [
        (f.basic, "basic"),
        (f.full_id_number, "id_number"),
        (f.contact, "contact"),
        (f.salary, "salary"),
        (f.contracts, "contracts"),
        (f.assessments, "assessments"),
        (f.records, "records"),
    ];
    let on: Vec<&str> = pairs.iter().filter(|(b, _)| *b).map(|(_, n)| *n).collect();
    if on.is_empty() { "—".into() } else { on.join(", ") }
}

fn persons_text(l: Lang, p: PersonScope) -> &'static str {
    match p {
        PersonScope::None => l.t("无", "none"),
        PersonScope::OwnDepartment => l.t("本部门", "own department"),
        PersonScope::All => l.t("全部", "all"),
    }
}

fn roles_text(l: Lang, roles: &[Role]) -> String {
    roles.iter().map(|r| role_name(l, *r)).collect::<Vec<_>>().join("、")
}

#[derive(Deserialize)]
pub(super) struct ExplainForm {
    user: Option<String>,
    material: Option<String>,
    access: Option<String>,
    /// Set after a role assignment: the account.
    assigned: Option<String>,
}

/// `POST /review/roles`: the security administrator assigns an account's business roles (and, if given, its
/// department, leader level and person link) through the service's account update.
pub(super) async fn assign_roles(
    State(st): State<AppState>,
    user: WebUser,
    WebForm(values): WebForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    user.check_csrf(&st, values.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()))?;
    let get =
        |n: &str| values.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty());
    let invalid = |f: &str, m: &str| WebError::from(crate::service::Error::invalid(f, m.to_string()));
    let mut roles = Vec::new();
    for (_, v) in values.iter().filter(|(k, _)| k == "roles") {
        roles.push(Role::parse(v).ok_or_else(|| invalid("roles", "unknown role"))?);
    }
    let patch = UserPatch {
        roles: Some(roles),
        department: get("department"),
        leader_level: get("leader_level").map(|v| v.parse().map_err(|_| invalid("leader_level", "1–9"))).transpose()?,
        person_id: get("person_id").map(|v| v.parse().map_err(|_| invalid("person_id", "a UUID"))).transpose()?,
        clearance: get("clearance").map(|v| v.parse().map_err(|_| invalid("clearance", "0–3"))).transpose()?,
        ..Default::default()
    };
    let username = get("username").ok_or_else(|| invalid("username", "name the account"))?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let name = username.clone();
    blocking(move || {
        let target = archive
            .accounts()
            .user_by_name(&name)?
            .ok_or_else(|| crate::service::Error::NotFound(format!("user {name} not found")))?;
        archive.accounts().update(&p, target.id, patch)
    })
    .await?;
    Ok(Redirect::to(&format!("/review?assigned={}", urlencode(&username))).into_response())
}

/// `GET /review?user=&material=&access=`: for every account, what it can see and do and by which rule; and,
/// when asked, whether one account may list, read or edit one material, and why (security administrator).
pub(super) async fn review(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(f): WebQuery<ExplainForm>,
) -> WebResult<Response> {
    let l = user.lang;
    let asked = match (nonempty(&f.user), nonempty(&f.material)) {
        (Some(u), Some(m)) => {
            let access = match nonempty(&f.access).as_deref().unwrap_or("read") {
                "list" => Access::List,
                "read" => Access::Read,
                "edit" => Access::Edit,
                _ => return Err(crate::service::Error::invalid("access", "list, read or edit").into()),
            };
            Some((u, parse_id::<MaterialId>(&m)?, access))
        }
        _ => None,
    };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (items, decision) = blocking(move || {
        let items = archive.policies().review(&p)?;
        let decision = match asked {
            Some((u, m, access)) => Some(archive.policies().explain(&p, &u, Some(m), access)?),
            None => None,
        };
        Ok((items, decision))
    })
    .await?;
    let access = nonempty(&f.access).unwrap_or_else(|| "read".into());
    let body = html! {
        h1 { (l.t("权限审查报告", "Permission review")) }
        @if let Some(a) = &f.assigned { p.flash role="status" { (l.t("已分配角色：", "Roles assigned: ")) (a) } }
        form.search method="get" action="/review" {
            p { label for="x-user" { (l.t("账号", "Account")) } input #x-user type="text" name="user" value=(f.user.clone().unwrap_or_default()) size="14"; }
            p.grow { label for="x-material" { (l.t("材料编号", "Material id")) } input #x-material type="text" name="material" value=(f.material.clone().unwrap_or_default()); }
            p {
                label for="x-access" { (l.t("操作", "Access")) }
                select #x-access name="access" {
                    @for (code, zh, en) in [("list", "目录可见", "list"), ("read", "读取内容", "read"), ("edit", "编辑", "edit")] {
                        option value=(code) selected[access == code] { (l.t(zh, en)) }
                    }
                }
            }
            p { button type="submit" { (l.t("解释", "Explain")) } }
        }
        @if let Some(d) = &decision {
            p class=(if d.allowed { "flash" } else { "error" }) role="status" {
                strong { (if d.allowed { l.t("允许", "Allowed") } else { l.t("拒绝", "Denied") }) }
                " · " (l.t("规则 ", "rule ")) code { (d.rule) } " · " (d.reason)
            }
        }
        @let broken: Vec<_> = items.iter().filter(|a| !a.violations.is_empty()).collect();
        @if !broken.is_empty() {
            section.violations {
                h2 { (l.t("违反硬性规则的账号", "Accounts that break a hard rule")) }
                p.error role="alert" { (l.t("这些账号在纠正之前不带有违规的角色行事。", "These accounts act without the offending roles until they are mended.")) }
                ul { @for a in &broken { @for v in &a.violations { li { strong { (a.username) } " · " code { (v) } } } } }
            }
        }
        p { (l.t("每个账号能看到什么、能做什么，以及授予它的规则。", "What every account can see and do, and the rules that give it.")) }
        div.scroll { table.review {
            thead { tr {
                th scope="col" { (l.t("账号", "Account")) } th scope="col" { (l.t("角色", "Roles")) }
                th scope="col" { (l.t("部门", "Department")) } th scope="col" { (l.t("人员范围", "Persons")) }
                th scope="col" { (l.t("人员字段", "Fields")) } th scope="col" { (l.t("目录可见", "Listed")) }
                th scope="col" { (l.t("内容可读", "Readable")) } th scope="col" { (l.t("可编辑", "Editable")) }
                th scope="col" { (l.t("功能", "Capabilities")) } th scope="col" { (l.t("规则", "Rules")) }
                th scope="col" { (l.t("有效授权", "Grants")) }
                th scope="col" { (l.t("密级权限", "Clearance")) }
            } }
            tbody {
                @for a in &items {
                    tr class=[a.disabled.then_some("disabled")] {
                        td { (a.username) @if a.disabled { " " (l.t("（已停用）", "(disabled)")) } }
                        td { (roles_text(l, &a.roles)) }
                        td { (a.department.as_deref().and_then(|d| st.archive.department_name(d)).unwrap_or_else(|| "—".into())) }
                        td { (persons_text(l, a.effective.persons)) }
                        td { (fields_text(&a.effective.fields)) }
                        td { (scope_text(l, &a.effective.list)) }
                        td { (scope_text(l, &a.effective.read)) }
                        td { (scope_text(l, &a.effective.edit)) }
                        td { (a.effective.capabilities.iter().map(|c| capability_name(l, *c)).collect::<Vec<_>>().join("、")) }
                        td { code { (a.rules.join(", ")) } }
                        td.num { (a.active_grants) }
                        td { (secrecy_name(l, a.clearance)) @if !a.clearance_set { " " (l.t("（默认）", "(default)")) } }
                    }
                }
            }
        } }
        section #assign {
            h2 { (l.t("分配业务角色", "Assign business roles")) }
            p.hint { (l.t("系统管理员创建的账号没有角色。业务角色只能分配给已关联本人人员记录的账号；管理员角色只能在服务器命令行授予；不能修改自己的账号。",
                "Accounts the system administrator creates hold no role. Business roles go only to accounts linked to their holder's person record; administrator roles are given only on the server's command line; nobody changes their own account.")) }
            form method="post" action="/review/roles" {
                (csrf_field(&user))
                p { label for="a-user" { (l.t("账号", "Account")) } input #a-user type="text" name="username" required; }
                fieldset {
                    legend { (l.t("角色", "Roles")) }
                    @for r in Role::ALL.into_iter().filter(|r| !r.is_administrator()) {
                        label.check { input type="checkbox" name="roles" value=(crate::model::policy::role_name(r)); " " (role_name(l, r)) }
                    }
                }
                p {
                    label for="a-department" { (l.t("部门", "Department")) }
                    select #a-department name="department" {
                        option value="" { (l.t("（不变）", "(unchanged)")) }
                        @for d in &st.archive.config().departments { option value=(d.code) { (d.name) } }
                    }
                }
                p { label for="a-level" { (l.t("领导层级（1 分管，2 主要）", "Leader level (1, 2)")) } input #a-level type="number" name="leader_level" min="1" max="9"; }
                p {
                    label for="a-clearance" { (l.t("密级权限", "Clearance")) }
                    select #a-clearance name="clearance" {
                        option value="" { (l.t("（不变）", "(unchanged)")) }
                        @for c in 0..=crate::model::user::MAX_SECRECY { option value=(c) { (secrecy_name(l, c)) } }
                    }
                }
                p { label for="a-person" { (l.t("本人人员记录编号", "The holder's person record id")) } input #a-person type="text" name="person_id" autocomplete="off"; }
                p { button type="submit" { (l.t("分配", "Assign")) } }
            }
        }
    };
    Ok(page(l, Some(&user), l.t("权限审查", "Permission review"), body).into_response())
}

/// A 密级 level's name (docs/DOMAIN.md §3).
fn secrecy_name(l: Lang, level: u8) -> String {
    let (zh, en) = match level {
        0 => ("0 公开（组织内）", "0 public"),
        1 => ("1 内部", "1 internal"),
        2 => ("2 秘密", "2 secret"),
        _ => ("3 机密", "3 confidential"),
    };
    l.t(zh, en).to_string()
}

#[derive(Deserialize)]
pub(super) struct AccountsQuery {
    created: Option<String>,
}

fn accounts_page(
    st: &AppState,
    user: &WebUser,
    users: &[User],
    created: Option<&str>,
    findings: &[Finding],
    values: &[(String, String)],
) -> Markup {
    let l = user.lang;
    let value = |n: &str| values.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
    html! {
        h1 { (l.t("账号管理", "Accounts")) }
        @if let Some(c) = created { p.flash role="status" { (l.t("已创建账号：", "Account created: ")) (c) } }
        table {
            thead { tr {
                th scope="col" { (l.t("用户名", "Username")) } th scope="col" { (l.t("姓名", "Name")) }
                th scope="col" { (l.t("角色", "Roles")) } th scope="col" { (l.t("部门", "Department")) }
                th scope="col" { (l.t("状态", "State")) }
            } }
            tbody {
                @for u in users {
                    tr {
                        td { (u.username) } td { (u.display_name) } td { (roles_text(l, &u.roles)) }
                        td { (u.department.as_deref().and_then(|d| st.archive.department_name(d)).unwrap_or_else(|| "—".into())) }
                        td {
                            (if u.disabled { l.t("已停用", "disabled") } else { l.t("正常", "active") })
                            @if u.must_change_password { " · " (l.t("待修改初始密码", "initial password not yet changed")) }
                            @if u.person_id.is_none() { " · " (l.t("未关联人员记录", "not linked to a person record")) }
                            " "
                            form.inline method="post" action={ "/accounts/" (u.id) "/state" } {
                                (csrf_field(user))
                                input type="hidden" name="disabled" value=(if u.disabled { "false" } else { "true" });
                                @if u.disabled {
                                    button type="submit" { (l.t("启用", "Enable")) }
                                } @else {
                                    button.danger type="submit" { (l.t("停用", "Disable")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section #new {
            h2 { (l.t("新建账号", "New account")) }
            @if !findings.is_empty() { (super::layout::findings(l, findings)) }
            form method="post" action="/accounts" {
                (csrf_field(user))
                p { label for="n-username" { (l.t("用户名", "Username")) } input #n-username type="text" name="username" required value=(value("username")) autocomplete="off"; }
                p { label for="n-display" { (l.t("姓名", "Display name")) } input #n-display type="text" name="display_name" value=(value("display_name")); }
                p { label for="n-password" { (l.t("初始密码（至少10位）", "Initial password (10+)")) } input #n-password type="password" name="password" required minlength="10" autocomplete="new-password"; }
                p {
                    label for="n-department" { (l.t("部门", "Department")) }
                    select #n-department name="department" {
                        option value="" { "—" }
                        @for d in &st.archive.config().departments { option value=(d.code) selected[value("department") == d.code] { (d.name) } }
                    }
                }
                p {
                    label for="n-person" { (l.t("本人人员记录编号（人力资源部提供）", "The holder's person record id (from HR)")) }
                    input #n-person type="text" name="person_id" value=(value("person_id")) autocomplete="off" placeholder="00000000-0000-0000-0000-000000000000";
                }
                p.hint { (l.t("新账号没有角色：业务角色由安全保密管理员分配；账号须关联本人人员记录后才能查阅档案。持有人首次登录须修改初始密码。",
                    "A new account holds no role: the security administrator assigns business roles, and the account reads no dossier until it is linked to its holder's person record. The holder must change the initial password at first sign-in.")) }
                p { button type="submit" { (l.t("创建", "Create")) } }
            }
        }
    }
}

/// `GET /accounts`: the accounts and the form for a new one (system administrator).
pub(super) async fn accounts(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(q): WebQuery<AccountsQuery>,
) -> WebResult<Response> {
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let users = blocking(move || archive.accounts().list(&p)).await?;
    let body = accounts_page(&st, &user, &users, q.created.as_deref(), &[], &[]);
    Ok(page(l, Some(&user), l.t("账号管理", "Accounts"), body).into_response())
}

/// `POST /accounts`: creates an account; findings come back on the form (422).
pub(super) async fn create_account(
    State(st): State<AppState>,
    user: WebUser,
    WebForm(values): WebForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    user.check_csrf(&st, values.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()))?;
    let l = user.lang;
    let get = |n: &str| values.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let person_id = match get("person_id").as_str() {
        "" => None,
        s => Some(s.parse().map_err(|_| crate::service::Error::invalid("person_id", "a person record id (UUID)"))?),
    };
    let username = get("username");
    let new = NewUser {
        display_name: Some(get("display_name")).filter(|s| !s.is_empty()).unwrap_or_else(|| username.clone()),
        username: username.clone(),
        password: values.iter().find(|(k, _)| k == "password").map(|(_, v)| v.clone()).unwrap_or_default(),
        roles: Vec::new(),
        department: Some(get("department")).filter(|s| !s.is_empty()),
        person_id,
        leader_level: None,
    };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    match blocking(move || archive.accounts().add(&p, new)).await {
        Ok(u) => Ok(Redirect::to(&format!("/accounts?created={}", urlencode(&u.username))).into_response()),
        Err(HttpError::Service(crate::service::Error::Invalid { findings, .. })) => {
            let archive = st.archive.clone();
            let p = user.principal.clone();
            let users = blocking(move || archive.accounts().list(&p)).await?;
            // The password is never sent back.
            let kept: Vec<(String, String)> =
                values.iter().filter(|(k, _)| k != "password" && k != "csrf").cloned().collect();
            let body = accounts_page(&st, &user, &users, None, &findings, &kept);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page(l, Some(&user), l.t("账号管理", "Accounts"), body))
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn grant_state_name(l: Lang, s: GrantState) -> &'static str {
    match s {
        GrantState::Requested => l.t("待决定", "requested"),
        GrantState::Granted => l.t("已授权", "granted"),
        GrantState::Refused => l.t("已拒绝", "refused"),
        GrantState::Revoked => l.t("已撤销", "revoked"),
    }
}

/// `GET /grants`: consultation grants — the caller's own, or all for those who decide them, with their actions.
pub(super) async fn grants(State(st): State<AppState>, user: WebUser) -> WebResult<Response> {
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let items: Vec<(crate::service::grants::Grant, bool)> = blocking(move || {
        let items = archive.grants().list(&p)?;
        Ok(items
            .into_iter()
            .map(|g| {
                let decide = g.state == GrantState::Requested && archive.grants().may_decide(&p, &g);
                (g, decide)
            })
            .collect())
    })
    .await?;
    let now = crate::model::now_ts();
    let revoker = user.can.grants;
    let body = html! {
        h1 { (l.t("查阅授权", "Consultation grants")) }
        p { a href="/reports/consultations" { (l.t("查阅登记", "Consultation register")) } }
        @if items.is_empty() { p { (l.t("没有查阅授权。", "No grants.")) } }
        @else {
            table {
                thead { tr {
                    th scope="col" { (l.t("申请人", "Requester")) } th scope="col" { (l.t("档案", "Dossier")) }
                    th scope="col" { (l.t("查阅单位 / 查阅人", "Unit / readers")) }
                    th scope="col" { (l.t("范围", "Scope")) } th scope="col" { (l.t("目的", "Purpose")) }
                    th scope="col" { (l.t("权限", "Permissions")) }
                    th scope="col" { (l.t("期限", "Period")) } th scope="col" { (l.t("状态", "State")) }
                    th scope="col" { (l.t("操作", "Action")) }
                } }
                tbody {
                    @for (g, decide) in &items {
                        tr {
                            td { (g.requester) }
                            td { a href={ "/persons/" (g.person_id) } { (l.t("查看", "open")) } }
                            td {
                                (g.unit.as_deref().unwrap_or("—")) br;
                                span.meta { (if g.readers.is_empty() { g.requester.clone() } else { g.readers.join(", ") }) }
                            }
                            td { @match &g.material_ids {
                                None => { (l.t("整本档案", "whole dossier")) }
                                Some(ids) => { (ids.len()) (l.t(" 份材料", " materials")) }
                            } }
                            td { (g.purpose) }
                            td { (g.permissions.iter().map(|x| l.t(x.label().0, x.label().1)).collect::<Vec<_>>().join("、")) }
                            td { (when(g.from).get(..10).unwrap_or("")) " – " (when(g.until).get(..10).unwrap_or("")) }
                            td {
                                (grant_state_name(l, g.state))
                                @if g.active(now) { " " span.badge { (l.t("生效中", "in force")) } }
                                @if let Some(by) = &g.decided_by { br; span.meta { (by) } }
                                @if let Some(a) = &g.approver { br; span.meta { (l.t("审批权限：", "authority: ")) (a) } }
                            }
                            td {
                                @if *decide {
                                    @if g.letter.is_some() { a href={ "/grants/" (g.id) "/letter" } { (l.t("介绍信", "letter")) } br; }
                                    form.inline method="post" action={ "/grants/" (g.id) "/decide" } {
                                        (csrf_field(&user))
                                        label for={ "gc-" (g.id) } { (l.t("意见", "Comment")) }
                                        input id={ "gc-" (g.id) } type="text" name="comment" size="12";
                                        button type="submit" name="decision" value="approve" { (l.t("批准", "Approve")) }
                                        " "
                                        button.danger type="submit" name="decision" value="reject" { (l.t("拒绝", "Refuse")) }
                                    }
                                } @else if g.state == GrantState::Granted && (revoker || g.decided_by.as_deref() == Some(user.principal.user.username.as_str())) {
                                    form.inline method="post" action={ "/grants/" (g.id) "/revoke" } {
                                        (csrf_field(&user))
                                        button.danger type="submit" { (l.t("撤销", "Revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&user), l.t("查阅授权", "Grants"), body).into_response())
}

/// `POST /grants/{id}/decide`: grants or refuses a consultation (security administrator, leaders).
pub(super) async fn decide_grant(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<DecisionForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: GrantId = parse_id(&id)?;
    let approve = match f.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(crate::service::Error::invalid("decision", "approve or reject").into()),
    };
    let comment = nonempty(&f.comment);
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.grants().decide(&p, id, approve, comment)).await?;
    Ok(Redirect::to("/grants").into_response())
}

/// `POST /grants/{id}/revoke`: ends a grant before its expiry.
pub(super) async fn revoke_grant(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CsrfForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: GrantId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.grants().revoke(&p, id)).await?;
    Ok(Redirect::to("/grants").into_response())
}

#[derive(Deserialize)]
pub(super) struct AccountStateForm {
    csrf: Option<String>,
    #[serde(default)]
    disabled: String,
}

/// `POST /accounts/{id}/state`: disables or enables an account; its sessions end (system administrator).
pub(super) async fn account_state(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<AccountStateForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: UserId = parse_id(&id)?;
    let disabled = match f.disabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(crate::service::Error::invalid("disabled", "true or false").into()),
    };
    let patch = UserPatch { disabled: Some(disabled), ..Default::default() };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.accounts().update(&p, id, patch)).await?;
    Ok(Redirect::to("/accounts").into_response())
}
