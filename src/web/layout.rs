//! The page shell: `<html lang>`, the header with the navigation the caller's roles can use (and nothing
//! else), the language switch and logout; plus the labels shared by several pages (roles, states, kinds).

use super::session::{Lang, WebUser, logout_form};
use crate::model::policy::Capability;
use crate::model::workflow::{RequestState, StepState};
use crate::model::{Finding, RequestKind, Role, Severity};
use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

/// Role names as the organisation says them.
pub const ROLE_NAMES: [(Role, &str, &str); 10] = [
    (Role::Hr, "人力资源", "HR"),
    (Role::Admin, "行政", "Administration"),
    (Role::Finance, "财务", "Finance"),
    (Role::Legal, "法务", "Legal"),
    (Role::It, "系统管理员", "System administrator"),
    (Role::Secadmin, "安全保密管理员", "Security administrator"),
    (Role::Auditor, "安全审计员", "Auditor"),
    (Role::Head, "部门负责人", "Department head"),
    (Role::Leader, "领导", "Leader"),
    (Role::Scanner, "数字化操作员", "Scanning operator"),
];

/// A role's name.
pub fn role_name(lang: Lang, r: Role) -> &'static str {
    ROLE_NAMES.iter().find(|(x, _, _)| *x == r).map(|(_, zh, en)| lang.t(zh, en)).unwrap_or("?")
}

/// A capability's name.
pub fn capability_name(lang: Lang, c: Capability) -> &'static str {
    use Capability as C;
    match c {
        C::CreatePersons => lang.t("建档", "create persons"),
        C::EditPersons => lang.t("修改人员信息", "edit persons"),
        C::Upload => lang.t("上传材料", "upload"),
        C::Search => lang.t("全文检索", "search"),
        C::Download => lang.t("下载原件", "download"),
        C::Export => lang.t("导出", "export"),
        C::ManageAccounts => lang.t("账号管理", "manage accounts"),
        C::ManagePolicy => lang.t("权限策略", "manage policy"),
        C::DecideGrants => lang.t("决定查阅授权", "decide grants"),
        C::ReadAudit => lang.t("审计日志", "read the audit trail"),
        C::DecideRequests => lang.t("审批", "decide requests"),
        C::ManageCustody => lang.t("实体档案保管", "custody"),
        C::ScanBatches => lang.t("数字化批次", "scan batches"),
        C::Backup => lang.t("备份与校验", "backups"),
    }
}

/// A request kind's name.
pub fn kind_name(lang: Lang, kind: RequestKind) -> &'static str {
    let (zh, en) = kind.label();
    lang.t(zh, en)
}

/// A request kind's name from its stored name (report tables); an unknown name as it is.
pub fn kind_name_of(lang: Lang, name: &str) -> String {
    RequestKind::parse(name).map_or_else(|| name.to_string(), |k| kind_name(lang, k).to_string())
}

/// A request state's name.
pub fn state_name(lang: Lang, s: RequestState) -> &'static str {
    match s {
        RequestState::Draft => lang.t("草稿", "Draft"),
        RequestState::InReview => lang.t("审核中", "In review"),
        RequestState::InApproval => lang.t("审批中", "In approval"),
        RequestState::Approved => lang.t("已批准", "Approved"),
        RequestState::Applied => lang.t("已生效", "Applied"),
        RequestState::Rejected => lang.t("已驳回", "Rejected"),
        RequestState::Returned => lang.t("已退回", "Returned"),
        RequestState::Withdrawn => lang.t("已撤回", "Withdrawn"),
    }
}

/// A step state's name.
pub fn step_state_name(lang: Lang, s: StepState) -> &'static str {
    match s {
        StepState::Waiting => lang.t("未到达", "Waiting"),
        StepState::Pending => lang.t("待处理", "Pending"),
        StepState::Approved => lang.t("同意", "Approved"),
        StepState::Rejected => lang.t("驳回", "Rejected"),
        StepState::Returned => lang.t("退回", "Returned"),
        StepState::Escalated => lang.t("已升级", "Escalated"),
    }
}

/// A workflow step's or assignee's name (as `workflows.toml` spells them), in words.
pub fn step_name(lang: Lang, name: &str) -> String {
    let (zh, en) = match name {
        "head-review" | "old-head-review" => ("部门负责人审核", "head's review"),
        "head-confirm" | "new-head-confirm" => ("调入部门负责人确认", "new head confirms"),
        "finance-review" => ("财务审核", "finance review"),
        "finance-settlement" => ("财务结算", "finance settlement"),
        "legal-review" => ("法务审核", "legal review"),
        "admin-resources" => ("行政配置办公资源", "administration assigns resources"),
        "leader-1" => ("分管领导审批", "leader (level 1)"),
        "leader-2" => ("主要领导审批", "leader (level 2)"),
        "secadmin-approval" => ("安全保密管理员审批", "security administrator"),
        "supervisor-admin" | "supervisor-secadmin" => ("监销人签字", "supervisor signs"),
        "head:person" => ("本部门负责人", "the person's head"),
        "head:new" => ("调入部门负责人", "the new department's head"),
        "leader:1" => ("分管领导", "leader 1"),
        "leader:2" => ("主要领导", "leader 2"),
        "role:admin" => ("行政部", "administration"),
        "role:finance" => ("财务部", "finance"),
        "role:legal" => ("法务部", "legal"),
        "role:secadmin" => ("安全保密管理员", "security administrator"),
        other => return other.to_string(),
    };
    lang.t(zh, en).to_string()
}

/// A changed field's name.
pub fn field_name(lang: Lang, field: &str) -> String {
    let (zh, en) = match field {
        "position" => ("职务", "position"),
        "rank" => ("职级", "rank"),
        "salary_grade" => ("薪级", "salary grade"),
        "contract_change" => ("合同变更", "contract change"),
        "effective_on" => ("生效日期", "effective on"),
        "department" => ("部门", "department"),
        "resign_on" => ("离职日期", "leaves on"),
        "agreement" => ("离职协议", "agreement"),
        "settlement" => ("薪酬结算", "settlement"),
        "purpose" => ("查阅目的", "purpose"),
        "until" => ("截止日期", "until"),
        "material_ids" => ("材料", "materials"),
        "phone" => ("电话", "phone"),
        "address" => ("地址", "address"),
        "education" => ("学历学位", "education"),
        "contracts" => ("合同", "contracts"),
        "training" => ("培训", "training"),
        "name" => ("姓名", "name"),
        other => return other.to_string(),
    };
    lang.t(zh, en).to_string()
}

/// A decision's name.
pub fn decision_name(lang: Lang, d: &str) -> String {
    match d {
        "approve" => lang.t("同意", "approve").into(),
        "reject" => lang.t("驳回", "reject").into(),
        "return" => lang.t("退回修改", "return").into(),
        other => other.into(),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM` (UTC).
pub fn when(ts: i64) -> String {
    let s = crate::model::ts_rfc3339(ts);
    s.get(..16).map(|x| x.replace('T', " ")).unwrap_or(s)
}

/// Validation findings as a list, errors first.
pub fn findings(lang: Lang, f: &[Finding]) -> Markup {
    let mut sorted: Vec<&Finding> = f.iter().collect();
    sorted.sort_by_key(|x| x.severity != Severity::Error);
    html! {
        section.findings aria-label=(lang.t("校验结果", "Findings")) {
            h2 { (lang.t("校验结果", "Findings")) }
            ul {
                @for x in sorted {
                    @let error = x.severity == Severity::Error;
                    li class=(if error { "finding error" } else { "finding warning" }) {
                        strong { (if error { lang.t("错误", "Error") } else { lang.t("提示", "Warning") }) }
                        " · " code { (x.field) } " · " (x.message)
                    }
                }
            }
        }
    }
}

fn nav(user: &WebUser) -> Markup {
    let l = user.lang;
    let c = &user.can;
    html! {
        nav aria-label=(l.t("主导航", "Main")) {
            ul {
                li { a href="/" { (l.t("首页", "Home")) } }
                @if c.search { li { a href="/search" { (l.t("检索", "Search")) } } }
                @if c.persons { li { a href="/persons" { (l.t("干部档案", "Dossiers")) } } }
                // Everyone: anyone may ask to consult a dossier, and steps go to roles without a capability
                // of their own (the security administrator decides consultations).
                li { a href="/inbox" { (l.t("待办", "Inbox")) } }
                @if c.grants { li { a href="/grants" { (l.t("查阅授权", "Grants")) } } }
                @if c.intake { li { a href="/intake" { (l.t("待归档", "To file")) } } }
                @if c.create && c.upload { li { a href="/receiving" { (l.t("转入审核", "Receiving")) } } }
                @if c.custody { li { a href="/custody" { (l.t("档案保管", "Custody")) } } }
                @if c.batches { li { a href="/batches" { (l.t("数字化批次", "Scanning batches")) } } }
                @if c.upload { li { a href="/imports" { (l.t("批量导入", "Batch import")) } } }
                @if c.contracts { li { a href="/contracts" { (l.t("合同登记簿", "Contracts")) } } }
                @if c.reports { li { a href="/reports" { (l.t("统计报表", "Reports")) } } }
                @if c.audit { li { a href="/audit" { (l.t("审计日志", "Audit trail")) } } }
                @if c.review { li { a href="/review" { (l.t("权限审查", "Permission review")) } } }
                @if c.accounts { li { a href="/accounts" { (l.t("账号管理", "Accounts")) } } }
            }
        }
    }
}

/// A whole page.
pub fn page(lang: Lang, user: Option<&WebUser>, title: &str, main: Markup) -> Html<String> {
    page_refreshing(lang, user, title, main, None)
}

/// A whole page that, given `refresh` seconds, reloads itself that often (a `<meta>` refresh: no script).
pub fn page_refreshing(
    lang: Lang,
    user: Option<&WebUser>,
    title: &str,
    main: Markup,
    refresh: Option<u32>,
) -> Html<String> {
    let other = match lang {
        Lang::Zh => ("?lang=en", "English"),
        Lang::En => ("?lang=zh", "中文"),
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = refresh { meta http-equiv="refresh" content=(s); }
                title { (title) " · " (lang.t("干部人事档案", "Cadre archive")) }
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                a.skip href="#main" { (lang.t("跳到正文", "Skip to content")) }
                header.top {
                    p.brand { a href="/" { "档案 dangan" } }
                    @if let Some(u) = user {
                        (nav(u))
                        @if u.can.search {
                            form.quick method="get" action="/search" role="search" {
                                label for="quick-q" class="hidden" { (lang.t("检索档案", "Search the archive")) }
                                input #quick-q type="search" name="q" placeholder=(lang.t("检索…", "Search…")) size="12";
                            }
                        }
                        p.who {
                            (u.principal.user.display_name)
                            @if let Some(d) = &u.department_name { " · " (d) }
                        }
                        (logout_form(u))
                    }
                    p.lang { a href=(other.0) hreflang=(if lang == Lang::Zh { "en" } else { "zh-CN" }) { (other.1) } }
                }
                main #main { (main) }
                footer { p { (lang.t("干部人事档案管理 · 仅限授权人员使用，所有访问均被记录",
                    "Cadre personnel archive · authorised staff only; every access is recorded")) } }
            }
        }
    };
    Html(markup.into_string())
}

/// Previous / next links of a paged list; `base` is the query without `page`.
pub fn pager(lang: Lang, path: &str, base: &str, page: usize, per_page: usize, total: usize) -> Markup {
    let pages = total.div_ceil(per_page).max(1);
    let sep = if base.is_empty() { "" } else { "&" };
    html! {
        @if pages > 1 {
            nav.pager aria-label=(lang.t("分页", "Pages")) {
                @if page > 1 {
                    a rel="prev" href={ (path) "?" (base) (sep) "page=" (page - 1) } { (lang.t("上一页", "Previous")) }
                }
                span { (lang.t("第", "Page ")) (page) " / " (pages) (lang.t(" 页", "")) }
                @if page < pages {
                    a rel="next" href={ (path) "?" (base) (sep) "page=" (page + 1) } { (lang.t("下一页", "Next")) }
                }
            }
        }
    }
}
