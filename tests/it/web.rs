//! The web UI through the router, as a browser without JavaScript would use it: the login form and the session
//! cookie, redirects without a session, the anti-forgery token on every post, the security headers, search with
//! highlighted snippets (and nothing more than the API would show), the dossier's catalogue by category, the
//! content viewer, uploads, and approving a request from the inbox. Every page's data is in its HTML.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use dangan::crypto::MasterKey;
use dangan::service::{Config, demo};
use serde_json::json;

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// A TestApp holding the demo dataset (two persons per department) and its accounts.
async fn demo_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let archive =
        dangan::bootstrap::open(dir.path(), &MasterKey::generate().unwrap(), worker_extractor(), Config::default())
            .unwrap();
    let a = archive.clone();
    tokio::task::spawn_blocking(move || {
        demo::load(&a, demo::DemoOptions { persons_per_department: 2 }).unwrap();
        a.indexing().wait_queue_empty(std::time::Duration::from_secs(120)).unwrap();
    })
    .await
    .unwrap();
    TestApp { router: dangan::server::router(archive.clone(), BODY_LIMIT), archive, dir }
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

/// The value of a cookie set by an answer.
fn set_cookie(a: &Answer, name: &str) -> Option<String> {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string()
}

/// The anti-forgery token in a page's first form.
fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("no csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{k}={}", crate::http_api::urlencode(v))).collect::<Vec<_>>().join("&")
}

/// A page's security headers and markup rules: the CSP, nosniff, no inline script or style.
fn assert_safe_page(a: &Answer, what: &str) {
    assert_eq!(a.header("content-security-policy"), CSP, "{what}");
    assert_eq!(a.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(a.header("referrer-policy"), "same-origin", "{what}");
    let html = text(a);
    assert!(html.starts_with("<!DOCTYPE html>"), "{what}: {html}");
    assert!(!html.contains("<script"), "{what}: inline script");
    assert!(!html.contains(" style="), "{what}: inline style");
    assert!(!html.contains("<style"), "{what}: style element");
    assert_labelled(&html, what);
}

/// Every visible form control has a label: one that names its id, or one around it.
fn assert_labelled(html: &str, what: &str) {
    for tag in ["<input", "<select", "<textarea"] {
        for (pos, _) in html.match_indices(tag) {
            let element = &html[pos..pos + html[pos..].find('>').unwrap()];
            if element.contains("type=\"hidden\"") {
                continue;
            }
            let labelled = match element.split(" id=\"").nth(1).and_then(|r| r.split('"').next()) {
                Some(id) => html.contains(&format!("<label for=\"{id}\"")),
                None => html[..pos].rfind("<label") > html[..pos].rfind("</label>"),
            };
            assert!(labelled, "{what}: no label for {element}");
        }
    }
}

/// A signed-in browser: the session cookie and the page's anti-forgery token.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    cookie: String,
    csrf: String,
}

async fn get_anon(app: &TestApp, path: &str, cookie: Option<&str>) -> Answer {
    let mut b = Request::builder().uri(path);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    app.call(b.body(Body::empty()).unwrap()).await
}

/// Posts the login form as a browser does: the form's token with the cookie the form came with.
async fn post_login(app: &TestApp, user: &str, password: &str, next: &str, https: bool) -> Answer {
    let form = get_anon(app, "/login", None).await;
    let nonce = csrf_in(&text(&form));
    let login_cookie = cookie_value(&set_cookie(&form, "dangan_login").unwrap());
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("dangan_login={login_cookie}"));
    if https {
        b = b.header("x-forwarded-proto", "https");
    }
    let body = form_body(&[("csrf", &nonce), ("next", next), ("username", user), ("password", password)]);
    app.call(b.body(Body::from(body)).unwrap()).await
}

pub(crate) async fn sign_in<'a>(app: &'a TestApp, user: &str) -> Browser<'a> {
    sign_in_with(app, user, PASSWORD).await
}

async fn sign_in_with<'a>(app: &'a TestApp, user: &str, password: &str) -> Browser<'a> {
    let a = post_login(app, user, password, "/", false).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let cookie = format!("dangan_session={}", cookie_value(&set_cookie(&a, "dangan_session").unwrap()));
    let home = get_anon(app, "/", Some(&cookie)).await;
    assert_eq!(home.status, StatusCode::OK);
    Browser { app, cookie, csrf: csrf_in(&text(&home)) }
}

impl Browser<'_> {
    pub(crate) async fn get(&self, path: &str) -> Answer {
        get_anon(self.app, path, Some(&self.cookie)).await
    }

    async fn page(&self, path: &str) -> String {
        let a = self.get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", text(&a));
        assert_safe_page(&a, path);
        text(&a)
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &self.cookie)
            .body(Body::from(form_body(fields)))
            .unwrap();
        self.app.call(req).await
    }

    /// The dossier's upload form as a browser sends it: the fields in page order (token first), then the file.
    async fn upload(&self, person: &str, csrf: Option<&str>, fields: &[(&str, &str)], bytes: &[u8]) -> Answer {
        self.post_file(&format!("/persons/{person}/materials"), csrf, fields, bytes).await
    }

    /// A multipart form post: the token first (if any), the fields, then the file.
    async fn post_file(&self, path: &str, csrf: Option<&str>, fields: &[(&str, &str)], bytes: &[u8]) -> Answer {
        self.post_named_file(path, csrf, fields, ("memo.txt", "text/plain"), bytes).await
    }

    /// A multipart form post with the file's name and type.
    async fn post_named_file(
        &self,
        path: &str,
        csrf: Option<&str>,
        fields: &[(&str, &str)],
        (file_name, mime): (&str, &str),
        bytes: &[u8],
    ) -> Answer {
        let boundary = "----dangan-web-boundary-4c2";
        let mut body = Vec::new();
        let mut part = |name: &str, value: &str| {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        };
        if let Some(c) = csrf {
            part("csrf", c);
        }
        for (k, v) in fields {
            part(k, v);
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {mime}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .header("cookie", &self.cookie)
            .body(Body::from(body))
            .unwrap();
        self.app.call(req).await
    }
}

#[tokio::test]
async fn login_sets_a_strict_session_cookie_and_pages_without_one_go_to_the_login_form() {
    let app = TestApp::new().await;

    let form = get_anon(&app, "/login", None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_safe_page(&form, "/login");
    let html = text(&form);
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("name=\"username\"") && html.contains("name=\"password\""), "{html}");
    assert!(html.contains("<label for=\"username\">") && html.contains("<label for=\"password\">"));
    assert!(html.contains("autofocus"));

    // No session: every page goes to the login form, which returns to the page (same-site paths only).
    for path in ["/", "/persons", "/inbox", "/audit"] {
        let a = get_anon(&app, path, None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        assert!(a.header("location").starts_with("/login"), "{path}");
    }
    let a = get_anon(&app, "/search?q=x", None).await;
    assert_eq!(a.header("location"), "/login?next=%2Fsearch%3Fq%3Dx");
    let a = get_anon(&app, "/", Some("dangan_session=dg_forged")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(set_cookie(&a, "dangan_session").unwrap().contains("Max-Age=0"), "an invalid cookie is cleared");
    assert_eq!(a.header("location"), "/login?expired=1");
    assert!(text(&get_anon(&app, "/login?expired=1", None).await).contains("会话已过期"));

    // A wrong password: 401 and the form again with the reason; no session cookie.
    let a = post_login(&app, "hr", "wrong-password", "/", false).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(text(&a).contains("用户名或密码错误") && text(&a).contains("name=\"password\""));
    assert!(set_cookie(&a, "dangan_session").is_none());
    // The login form's own token is required too.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form_body(&[("username", "hr"), ("password", PASSWORD)])))
        .unwrap();
    assert_eq!(app.call(req).await.status, StatusCode::FORBIDDEN);

    // The right password: the API's session token in an HttpOnly, SameSite=Strict cookie, then to `next`.
    let a = post_login(&app, "hr", PASSWORD, "/persons?name=x", false).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.header("location"), "/persons?name=x");
    let c = set_cookie(&a, "dangan_session").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(c.contains(attr), "{c}");
    }
    assert!(!c.contains("Secure"), "plain HTTP: {c}");
    let token = cookie_value(&c);
    assert!(token.starts_with("dg_"));
    // It is the API's own session: the same token works as a bearer token.
    assert_eq!(app.send(Method::GET, "/api/v1/me", Some(&token), None).await.status, StatusCode::OK);
    let a = post_login(&app, "hr", PASSWORD, "//evil.example/", true).await;
    assert_eq!(a.header("location"), "/", "next never leaves the site");
    assert!(set_cookie(&a, "dangan_session").unwrap().contains("Secure"), "over TLS the cookie is Secure");

    // Home: who I am, and the links my roles can use (and no others).
    let hr = sign_in(&app, "hr").await;
    let home = hr.page("/").await;
    assert!(home.contains("人力资源") && home.contains("href=\"/search\"") && home.contains("href=\"/persons\""));
    assert!(!home.contains("href=\"/audit\"") && !home.contains("href=\"/accounts\""));
    // Every page carries the search box in its header, for those who may search.
    for path in ["/", "/persons", "/inbox"] {
        assert!(hr.page(path).await.contains("<form class=\"quick\" method=\"get\" action=\"/search\""), "{path}");
    }
    let it = sign_in(&app, "it").await;
    let home = it.page("/").await;
    assert!(home.contains("href=\"/accounts\"") && !home.contains("href=\"/search\""));
    assert!(!home.contains("class=\"quick\""), "no search box for those who may not search");
    // Malformed ids and parameters, and unknown objects, are friendly pages with the right status.
    for path in ["/persons/not-an-id", "/persons?page=x", "/search?q=x&page=-1", "/search?q=x&from=2019-13"] {
        let a = hr.get(path).await;
        assert!(a.status == StatusCode::BAD_REQUEST || a.status == StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_safe_page(&a, path);
    }
    let a = hr.get("/materials/01a22824-564f-74e7-bd8a-72a11f14885f").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(text(&a).contains("未找到"));
    // English on request, remembered in a cookie.
    let en = hr.get("/?lang=en").await;
    assert!(text(&en).contains("<html lang=\"en\">") && text(&en).contains("Search"));
    assert!(set_cookie(&en, "dangan_lang").unwrap().starts_with("dangan_lang=en"));

    // Logout needs the token; then the session is gone for the UI and the API alike.
    assert_eq!(hr.post("/logout", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(hr.post("/logout", &[("csrf", "0000")]).await.status, StatusCode::FORBIDDEN);
    let forbidden = hr.post("/logout", &[("csrf", &it.csrf)]).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "another session's token is refused");
    assert_safe_page(&forbidden, "403 page");
    let a = hr.post("/logout", &[("csrf", &hr.csrf)]).await;
    assert_eq!((a.status, a.header("location").as_str()), (StatusCode::SEE_OTHER, "/login"));
    assert_eq!(hr.get("/").await.status, StatusCode::SEE_OTHER);
    let me = app.send(Method::GET, "/api/v1/me", Some(&cookie_value(&hr.cookie)), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);

    // Failed logins are throttled, and the form and the API share the count.
    let mut last = StatusCode::OK;
    for _ in 0..6 {
        last = post_login(&app, "finance", "wrong-password", "/", false).await.status;
        if last == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let a = post_login(&app, "finance", PASSWORD, "/", false).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(text(&a).contains("秒后再试") && !a.header("retry-after").is_empty());
    let api = app
        .send(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": "finance", "password": PASSWORD})))
        .await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn uploads_from_the_dossier_need_the_token_and_land_in_the_catalogue() {
    let app = TestApp::new().await;
    let token = app.login("hr").await;
    let person = app.create_person(&token, person_body("王建国", &id_number("11010519800517003"), "finance")).await;
    let pid = person["id"].as_str().unwrap();
    let hr = sign_in(&app, "hr").await;
    let dossier = hr.page(&format!("/persons/{pid}")).await;
    assert!(dossier.contains("enctype=\"multipart/form-data\"") && dossier.contains("name=\"file\""));
    let csrf = csrf_in(&dossier);
    let fields = [("category", "3"), ("title", "2025年度考核登记表"), ("formed_on", "2026-01"), ("pages", "2")];
    let bytes = "年度考核 优秀 表单上传专用语戊".as_bytes();

    assert_eq!(hr.upload(pid, None, &fields, bytes).await.status, StatusCode::FORBIDDEN);
    assert_eq!(hr.upload(pid, Some("f00d"), &fields, bytes).await.status, StatusCode::FORBIDDEN);
    let catalogue = app.send(Method::GET, &format!("/api/v1/persons/{pid}/materials"), Some(&token), None).await;
    assert_eq!(catalogue.json()["total"], 0, "nothing filed without the token");

    let a = hr.upload(pid, Some(&csrf), &fields, bytes).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let location = a.header("location");
    assert!(location.starts_with(&format!("/persons/{pid}?filed=")), "{location}");
    let catalogue = app.send(Method::GET, &format!("/api/v1/persons/{pid}/materials"), Some(&token), None).await.json();
    assert_eq!(catalogue["total"], 1);
    assert_eq!(catalogue["items"][0]["title"], "2025年度考核登记表");
    assert_eq!(catalogue["items"][0]["category"], "3");
    let page = hr.page(&location.replace("#catalogue", "")).await;
    assert!(page.contains("已归档：2025年度考核登记表"), "the flash");
    assert!(page.contains("三、考核鉴定类材料 <span class=\"count\">(1)</span>"), "{page}");

    // A new version of the file from the material's page; a stale version number is refused.
    let mid = location.split("filed=").nth(1).unwrap().split('#').next().unwrap().to_string();
    let page = hr.page(&format!("/materials/{mid}")).await;
    assert!(
        page.contains(&format!("action=\"/materials/{mid}/content\"")) && page.contains("name=\"version\" value=\"1\"")
    );
    let v2 = "年度考核 优秀 第二版".as_bytes();
    let content = format!("/materials/{mid}/content");
    assert_eq!(hr.post_file(&content, None, &[("version", "1")], v2).await.status, StatusCode::FORBIDDEN);
    let a = hr.post_file(&content, Some(&csrf), &[("version", "1"), ("reason", "更正扫描件")], v2).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let page = hr.page(&format!("/materials/{mid}")).await;
    assert!(page.contains("更正扫描件") && page.contains(&format!("/materials/{mid}/versions/2/content")));
    assert_eq!(hr.get(&content).await.body, v2);
    assert_eq!(hr.get(&format!("/materials/{mid}/versions/1/content")).await.body, bytes);
    let stale = hr.post_file(&content, Some(&csrf), &[("version", "1"), ("reason", "x")], v2).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert!(text(&stale).contains("记录已被修改"));

    // Validation findings come back as a page with the right status.
    let bad = [("category", "99"), ("title", "无效类别")];
    let a = hr.upload(pid, Some(&csrf), &bad, bytes).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&a));
    assert_safe_page(&a, "422 page");
    assert!(text(&a).contains("校验未通过") && text(&a).contains("category"));
    assert!(text(&a).contains(&format!("href=\"/persons/{pid}#upload\"")), "a way back to the form");

    // A new person from the form: a bad ID number comes back with the findings and what was typed.
    assert!(hr.page("/persons").await.contains("href=\"/persons/new\""));
    let form = hr.page("/persons/new").await;
    assert!(form.contains("name=\"id_number\"") && form.contains("<option value=\"finance\">财务部</option>"));
    let bad =
        [("csrf", csrf.as_str()), ("name", "李文静"), ("id_number", "110105198005170031"), ("department", "legal")];
    let a = hr.post("/persons", &bad).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&a));
    assert!(text(&a).contains("id_number") && text(&a).contains("value=\"李文静\""));
    let good_id = id_number("11010519850312002");
    let good = [("csrf", csrf.as_str()), ("name", "李文静"), ("id_number", good_id.as_str()), ("department", "legal")];
    assert_eq!(hr.post("/persons", &good[1..]).await.status, StatusCode::FORBIDDEN);
    let a = hr.post("/persons", &good).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let page = hr.page(&a.header("location")).await;
    assert!(page.contains("李文静") && page.contains("法务部") && page.contains("1985-03-12"), "{page}");

    // Finance may not file: the service says so, as a page.
    let finance = sign_in(&app, "finance").await;
    let a = finance.upload(pid, Some(&finance.csrf), &fields, bytes).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(text(&a).contains("rule"), "the denial names the rule");
    let a = finance.post("/persons", &[("csrf", finance.csrf.as_str()), ("name", "某人"), ("department", "hr")]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn search_dossier_and_content_show_what_the_api_would_and_no_more() {
    let app = demo_app().await;
    let token = app.login("hr").await;
    let person = cadre(&app, &token, "ops").await;
    let pid = person["id"].as_str().unwrap().to_string();
    let contract = app
        .upload(
            &token,
            &pid,
            json!({"category": "10", "title": "劳动合同书", "tags": ["contract"]}),
            "c.docx",
            &fixture("contract.docx"),
        )
        .await
        .json();
    let hostile = app
        .upload(
            &token,
            &pid,
            json!({"category": "2", "title": "<script>alert(1)</script>自传", "note": "<b>备注</b>"}),
            "h.txt",
            "自传 <script>alert(2)</script> 敌意标题专用语己".as_bytes(),
        )
        .await
        .json();
    let cid = contract["id"].as_str().unwrap();
    let hid = hostile["id"].as_str().unwrap();
    let contract_word = "劳动合同专属条款丙";

    // HR finds the contract: the hit, its highlighted snippet and the total are in the HTML.
    let hr = sign_in(&app, "hr").await;
    let page = hr.page(&format!("/search?q={}", crate::http_api::urlencode(contract_word))).await;
    assert!(page.contains(&format!("href=\"/materials/{cid}\"")), "{page}");
    assert!(page.contains("<mark>"), "{page}");
    assert!(page.contains("name=\"q\"") && page.contains(&format!("value=\"{contract_word}\"")));
    for code in ["1", "9-1", "10"] {
        assert!(page.contains(&format!("<option value=\"{code}\">")), "category {code} in the filter");
    }
    assert!(page.contains("<option value=\"ops\">业务运营部</option>"));
    // Filters narrow it: category 3 holds no contract.
    let page = hr.page(&format!("/search?q={}&category=3", crate::http_api::urlencode(contract_word))).await;
    assert!(page.contains("共找到 <strong>0</strong>") && !page.contains(cid));
    // The hostile text is escaped in the snippet too.
    let page = hr.page(&format!("/search?q={}", crate::http_api::urlencode("敌意标题专用语己"))).await;
    assert!(page.contains(hid) && !page.contains("<script>") && page.contains("&lt;script&gt;"), "{page}");

    // Finance finds nothing contract-only (as the API says), legal does.
    let finance = sign_in(&app, "finance").await;
    let page = finance.page(&format!("/search?q={}", crate::http_api::urlencode(contract_word))).await;
    assert!(page.contains("共找到 <strong>0</strong>"), "{page}");
    assert!(!page.contains(cid) && !page.contains("<mark>"));
    let api = app.search(&app.login("finance").await, contract_word).await;
    assert_eq!(api["total"], 0);
    // Administration may not search at all: a 403 page.
    let admin = sign_in(&app, "admin").await;
    let a = admin.get("/search?q=x").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_safe_page(&a, "403 search");

    // The dossier: person fields, the catalogue grouped by the ten categories with its columns, escaped titles.
    let dossier = hr.page(&format!("/persons/{pid}")).await;
    assert!(dossier.contains(person["name"].as_str().unwrap()));
    for heading in
        ["一、履历类材料", "三、考核鉴定类材料", "九、工资、任免、出国和会议代表类材料", "十、其他可供组织参考的材料"]
    {
        assert!(dossier.contains(heading), "{heading}");
    }
    for column in ["序号", "材料名称", "形成时间", "页数", "备注"] {
        assert!(dossier.contains(&format!("<th scope=\"col\">{column}</th>")), "{column}");
    }
    assert!(dossier.contains(&format!("href=\"/materials/{cid}\">劳动合同书</a>")));
    assert!(
        dossier.contains("&lt;script&gt;alert(1)&lt;/script&gt;自传") && dossier.contains("&lt;b&gt;备注&lt;/b&gt;")
    );
    assert!(!dossier.contains("<script>alert"));
    assert!(dossier.contains("人员信息版本历史"));
    // The catalogue's sections come in the scheme's order.
    let pos = |s: &str| dossier.find(s).unwrap();
    assert!(pos("一、履历类材料") < pos("二、自传") && pos("九、工资") < pos("十、其他"));
    // Finance's view of the same dossier lists no contract.
    let fin_dossier = finance.page(&format!("/persons/{pid}")).await;
    assert!(!fin_dossier.contains(cid) && !fin_dossier.contains("劳动合同书"));

    // The material page: metadata, versions and the viewer's address, all in the HTML.
    let m = hr.page(&format!("/materials/{cid}")).await;
    assert!(m.contains(contract["content_hash"].as_str().unwrap()));
    assert!(m.contains(&format!("/materials/{cid}/content?download=1")));
    assert!(m.contains("版本历史"));
    let m = hr.page(&format!("/materials/{hid}")).await;
    assert!(m.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;自传</h1>"), "{m}");

    // Content from the cookie session: the exact bytes, never cached.
    let a = hr.get(&format!("/materials/{cid}/content?download=1")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, fixture("contract.docx"));
    assert_eq!(a.header("cache-control"), "no-store");
    assert!(a.header("content-disposition").starts_with("attachment;"));
    assert_eq!(a.header("x-content-type-options"), "nosniff");
    let a = hr.get(&format!("/materials/{cid}/versions/1/content")).await;
    assert_eq!((a.status, a.header("cache-control").as_str()), (StatusCode::OK, "no-store"));
    assert_eq!(a.body, fixture("contract.docx"));
    // A PDF is shown inline in the viewer.
    let pdf = app
        .upload(&token, &pid, json!({"category": "3", "title": "考核表"}), "a.pdf", &fixture("assessment-tw.pdf"))
        .await
        .json();
    let pdf_id = pdf["id"].as_str().unwrap();
    assert!(
        hr.page(&format!("/materials/{pdf_id}"))
            .await
            .contains(&format!("<iframe src=\"/materials/{pdf_id}/content\""))
    );
    let a = hr.get(&format!("/materials/{pdf_id}/content")).await;
    assert_eq!(
        (a.header("content-type").as_str(), a.header("cache-control").as_str()),
        ("application/pdf", "no-store")
    );
    assert!(a.header("content-disposition").starts_with("inline;"));
    // Without a session, or for finance (not even listed), no bytes.
    assert_eq!(get_anon(&app, &format!("/materials/{cid}/content"), None).await.status, StatusCode::SEE_OTHER);
    let a = finance.get(&format!("/materials/{cid}/content")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_safe_page(&a, "404 content");
    assert_ne!(a.body, fixture("contract.docx"));
}

#[tokio::test]
async fn requests_go_from_the_form_through_the_inbox_and_the_administrators_have_their_pages() {
    let app = demo_app().await;

    // A head approves the change waiting in their inbox.
    let head = sign_in(&app, "head-ops").await;
    let inbox = head.page("/inbox").await;
    let at = inbox.find("action=\"/requests/").expect("an inbox item with its decision form") + "action=\"".len();
    let action = inbox[at..].split('"').next().unwrap().to_string();
    let rid = action.trim_start_matches("/requests/").trim_end_matches("/decide").to_string();
    assert!(inbox.contains("name=\"decision\" value=\"approve\"") && inbox.contains("name=\"comment\""));
    let before = app.archive.requests().get(&principal(&app, "hr"), rid.parse().unwrap()).unwrap();
    assert_eq!(head.post(&action, &[("decision", "approve")]).await.status, StatusCode::FORBIDDEN);
    let after = app.archive.requests().get(&principal(&app, "hr"), rid.parse().unwrap()).unwrap();
    assert_eq!(after.decisions.len(), before.decisions.len(), "no decision without the token");
    let a = head.post(&action, &[("csrf", &head.csrf), ("decision", "approve"), ("comment", "同意，网页审批")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let after = app.archive.requests().get(&principal(&app, "hr"), rid.parse().unwrap()).unwrap();
    assert_eq!(after.decisions.len(), before.decisions.len() + 1);
    let last = after.decisions.last().unwrap();
    assert_eq!((last.actor.as_str(), last.decision.as_str()), ("head-ops", "approve"));
    assert_ne!(format!("{:?}", after.steps), format!("{:?}", before.steps), "the request advanced");
    let page = head.page(&format!("/requests/{rid}")).await;
    assert!(page.contains("同意，网页审批") && page.contains("head-ops"), "the timeline");
    assert!(!head.page("/inbox").await.contains(&action), "the item has left the inbox");

    // HR starts a promotion from the form; an empty one comes back with the findings.
    let token = app.login("hr").await;
    let research = app.send(Method::GET, "/api/v1/persons?department=research", Some(&token), None).await.json();
    let head_person =
        app.archive.accounts().user_by_name("head-research").unwrap().unwrap().person_id.unwrap().to_string();
    let pid = research["items"].as_array().unwrap().iter().find(|p| p["id"] != head_person.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hr = sign_in(&app, "hr").await;
    app.conclude_review(&pid).await;
    let form = hr.page(&format!("/requests/new?kind=promotion&person={pid}")).await;
    for name in ["position", "rank", "salary_grade", "reason"] {
        assert!(form.contains(&format!("name=\"{name}\"")), "{name}");
    }
    for kind in ["transfer", "update", "resignation"] {
        assert!(form.contains(&format!("/requests/new?kind={kind}&amp;person={pid}")), "{kind}");
    }
    let base = [("csrf", hr.csrf.as_str()), ("kind", "promotion"), ("person_id", pid.as_str())];
    let a = hr.post("/requests", &[base.as_slice(), &[("reason", "考核优秀")]].concat()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&a));
    assert!(text(&a).contains("校验结果") && text(&a).contains("考核优秀"), "the form keeps what was typed");
    assert_eq!(hr.post("/requests", &[("kind", "promotion"), ("person_id", &pid)]).await.status, StatusCode::FORBIDDEN);
    let a = hr.post("/requests", &[base.as_slice(), &[("position", "副处长"), ("reason", "考核优秀")]].concat()).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let page = hr.page(&a.header("location")).await;
    assert!(page.contains("晋升") && page.contains("副处长") && page.contains("审核中"), "{page}");
    let dossier = hr.page(&format!("/persons/{pid}")).await;
    let promotion = a.header("location");
    assert!(dossier.contains(&format!("href=\"{promotion}\"")), "the dossier lists its requests");
    // The head returns it; HR submits it again, then withdraws it.
    let head = sign_in(&app, "head-research").await;
    let a = head
        .post(&format!("{promotion}/decide"), &[("csrf", &head.csrf), ("decision", "return"), ("comment", "请补充")])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let page = hr.page(&promotion).await;
    assert!(
        page.contains("已退回") && page.contains("请补充") && page.contains(&format!("action=\"{promotion}/submit\""))
    );
    assert_eq!(hr.post(&format!("{promotion}/submit"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(hr.post(&format!("{promotion}/submit"), &[("csrf", &hr.csrf)]).await.status, StatusCode::SEE_OTHER);
    assert!(hr.page(&promotion).await.contains("审核中"));
    assert_eq!(hr.post(&format!("{promotion}/withdraw"), &[("csrf", &hr.csrf)]).await.status, StatusCode::SEE_OTHER);
    assert!(hr.page(&promotion).await.contains("已撤回"));
    // Withdrawing twice is a conflict the service names, as a page.
    let a = hr.post(&format!("{promotion}/withdraw"), &[("csrf", &hr.csrf)]).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_safe_page(&a, "409 page");

    // Anyone may ask to consult a dossier from its page, on the consultation form with its 介绍信; the leader with
    // 干部管理权限 decides on the grants page (not the security administrator); the reader views watermarked.
    let legal = sign_in(&app, "legal").await;
    let before = legal.page(&format!("/persons/{pid}")).await;
    assert!(before.contains(&format!("/grants/new?person={pid}")));
    let form = legal.page(&format!("/grants/new?person={pid}")).await;
    for name in ["unit", "readers", "purpose", "until", "permissions", "file"] {
        assert!(form.contains(&format!("name=\"{name}\"")), "{name}");
    }
    let until = (time::OffsetDateTime::now_utc().date() + time::Duration::days(7)).to_string();
    let fields = [
        ("person_id", pid.as_str()),
        ("unit", "某区纪委监委"),
        ("readers", "legal, finance"),
        ("purpose", "合同纠纷核查"),
        ("until", until.as_str()),
        ("permissions", "print"),
    ];
    let letter = crate::consult::pdf_pages(&["LETTER"]);
    let a = legal.post_named_file("/grants", None, &fields, ("letter.pdf", "application/pdf"), &letter).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "the form needs its token");
    let a =
        legal.post_named_file("/grants", Some(&legal.csrf), &fields, ("letter.pdf", "application/pdf"), &letter).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let sec = sign_in(&app, "secadmin").await;
    let grants = sec.page("/grants").await;
    assert!(grants.contains("合同纠纷核查") && grants.contains("某区纪委监委") && grants.contains("待决定"));
    assert!(!grants.contains("/decide\""), "the security administrator decides no consultation");
    let leader = sign_in(&app, "leader1").await;
    let grants = leader.page("/grants").await;
    let at = grants.find("action=\"/grants/").unwrap() + "action=\"".len();
    let decide = grants[at..].split('"').next().unwrap().to_string();
    assert!(decide.ends_with("/decide") && grants.contains("/letter\""), "{grants}");
    let refused = sec.post(&decide, &[("csrf", &sec.csrf), ("decision", "approve")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let a = leader.post(&decide, &[("csrf", &leader.csrf), ("decision", "approve")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let after = legal.page(&format!("/persons/{pid}")).await;
    let listed = |html: &str| html.matches("href=\"/materials/").count();
    assert!(listed(&after) > listed(&before), "the grant opens the dossier: {} → {}", listed(&before), listed(&after));
    // The viewer page: the text under the overlay naming the reader and the grant; no copying (not granted),
    // printing allowed (granted).
    let mid = after.split("href=\"/materials/").nth(1).unwrap().split(['"', '#', '?']).next().unwrap().to_string();
    let material = legal.page(&format!("/materials/{mid}")).await;
    assert!(material.contains(&format!("href=\"/materials/{mid}/view\"")));
    let view = legal.page(&format!("/materials/{mid}/view")).await;
    assert!(
        view.contains("watermark-overlay") && view.contains("dangan GRANT") && view.contains("· legal ·"),
        "{view}"
    );
    assert!(view.contains("no-copy") && !view.contains("no-print"), "{view}");
    let file = legal.get(&format!("/materials/{mid}/view/file")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(legal.get(&format!("/materials/{mid}/content")).await.status, StatusCode::FORBIDDEN, "no download");
    // The security administrator revokes it (rights management); the dossier closes again.
    let grants = sec.page("/grants").await;
    assert!(grants.contains("生效中"));
    let at = grants.find("action=\"/grants/").unwrap() + "action=\"".len();
    let revoke = grants[at..].split('"').next().unwrap().to_string();
    assert!(revoke.ends_with("/revoke"));
    assert_eq!(sec.post(&revoke, &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(sec.post(&revoke, &[("csrf", &sec.csrf)]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(listed(&legal.page(&format!("/persons/{pid}")).await), listed(&before));
    assert_eq!(legal.get(&format!("/materials/{mid}/view")).await.status, StatusCode::NOT_FOUND);
    let mine = legal.page("/grants").await;
    assert!(mine.contains("已撤销") && !mine.contains("action=\"/grants/"), "the requester sees it, without actions");
    assert_eq!(legal.post(&revoke, &[("csrf", &legal.csrf)]).await.status, StatusCode::FORBIDDEN);
    // A grant asked for through the API is refused on the page.
    let legal_token = app.login("legal").await;
    let g = app
        .send(
            Method::POST,
            "/api/v1/grants",
            Some(&legal_token),
            Some(json!({"person_id": pid, "purpose": "劳动争议仲裁取证", "until": until, "unit": "劳动仲裁委",
                "readers": ["legal", "finance"]})),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", text(&g));
    let gid = g.json()["id"].as_str().unwrap().to_string();
    let grants = leader.page("/grants").await;
    assert!(grants.contains(&format!("action=\"/grants/{gid}/decide\"")) && grants.contains("待决定"));
    let a = leader
        .post(
            &format!("/grants/{gid}/decide"),
            &[("csrf", &leader.csrf), ("decision", "reject"), ("comment", "证据不足")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let g = app.send(Method::GET, &format!("/api/v1/grants/{gid}"), Some(&legal_token), None).await.json();
    assert_eq!((g["state"].as_str(), g["comment"].as_str()), (Some("refused"), Some("证据不足")));

    // The auditor: the trail and its verification; others get a 403 page.
    let auditor = sign_in(&app, "auditor").await;
    let trail = auditor.page("/audit?action=auth.login").await;
    assert!(trail.contains("auth.login") && trail.contains("head-ops"));
    // The action filter offers the trail's one list of actions.
    assert!(
        trail.contains(r#"<datalist id="audit-actions">"#) && trail.contains(r#"<option value="material.download">"#)
    );
    assert!(auditor.page("/audit/verify").await.contains("校验通过"));
    let csv = auditor.get("/audit/export?action=auth.login").await;
    assert_eq!((csv.status, csv.header("cache-control").as_str()), (StatusCode::OK, "no-store"));
    assert!(csv.header("content-type").starts_with("text/csv") && text(&csv).contains("head-ops"));
    assert_eq!(hr.get("/audit").await.status, StatusCode::FORBIDDEN);
    // The security administrator's permission review; the system administrator's accounts.
    let review = sec.page("/review").await;
    assert!(review.contains("role.finance") && review.contains("head-ops"));
    let at = dossier.find("href=\"/materials/").unwrap() + "href=\"/materials/".len();
    let mid = &dossier[at..at + 36];
    let allowed = sec.page(&format!("/review?user=hr&material={mid}&access=read")).await;
    assert!(allowed.contains("允许") && allowed.contains("role.hr.read"), "{allowed}");
    let denied = sec.page(&format!("/review?user=it&material={mid}&access=read")).await;
    assert!(denied.contains("拒绝"));
    let it = sign_in(&app, "it").await;
    let accounts = it.page("/accounts").await;
    assert!(accounts.contains("leader2") && accounts.contains("name=\"username\""));
    assert!(!accounts.contains("name=\"roles\""), "the system administrator assigns no roles");
    let fields = [
        ("csrf", it.csrf.as_str()),
        ("username", "archivist2"),
        ("display_name", "档案员"),
        ("password", "a-long-pass"),
        ("department", "admin"),
    ];
    let a = it.post("/accounts", &fields).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    assert!(it.page(&a.header("location")).await.contains("已创建账号：archivist2"));
    // The initial password was set by the system administrator: the holder must choose their own before any
    // other page.
    let a = post_login(&app, "archivist2", "a-long-pass", "/", false).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let cookie = format!("dangan_session={}", cookie_value(&set_cookie(&a, "dangan_session").unwrap()));
    for path in ["/", "/search?q=x", "/inbox"] {
        let a = get_anon(&app, path, Some(&cookie)).await;
        assert_eq!((a.status, a.header("location").as_str()), (StatusCode::SEE_OTHER, "/password"), "{path}");
    }
    let archivist = Browser { app: &app, csrf: String::new(), cookie };
    let form = archivist.page("/password").await;
    let csrf = csrf_in(&form);
    let same = [("csrf", csrf.as_str()), ("current", "a-long-pass"), ("new", "a-long-pass"), ("again", "a-long-pass")];
    assert_eq!(archivist.post("/password", &same).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mine = [
        ("csrf", csrf.as_str()),
        ("current", "a-long-pass"),
        ("new", "这是档案员自己选的新密码"),
        ("again", "这是档案员自己选的新密码"),
    ];
    let done = archivist.post("/password", &mine).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", text(&done));
    assert_eq!(archivist.get("/").await.status, StatusCode::OK, "the account works once its holder chose a password");
    // An account made on the web form holds no role and no person link: it reads nothing.
    let made = app.archive.accounts().user_by_name("archivist2").unwrap().unwrap();
    assert!(made.roles.is_empty() && made.person_id.is_none());
    let persons = archivist.get("/persons").await;
    assert!(persons.status == StatusCode::FORBIDDEN || text(&persons).contains("共 <strong>0</strong>"));
    assert_ne!(archivist.get("/search?q=%E6%99%8B%E5%8D%87").await.status, StatusCode::OK);
    assert_eq!(post_login(&app, "archivist2", "a-long-pass", "/", false).await.status, StatusCode::UNAUTHORIZED);
    // Disabling an account ends its sessions.
    let id = app.archive.accounts().user_by_name("archivist2").unwrap().unwrap().id.to_string();
    let state = format!("/accounts/{id}/state");
    assert_eq!(it.post(&state, &[("disabled", "true")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(it.post(&state, &[("csrf", &it.csrf), ("disabled", "true")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(archivist.get("/").await.status, StatusCode::SEE_OTHER, "the disabled account is signed out");
    assert_eq!(
        post_login(&app, "archivist2", "这是档案员自己选的新密码", "/", false).await.status,
        StatusCode::UNAUTHORIZED
    );
    let weak = it.post("/accounts", &[("csrf", it.csrf.as_str()), ("username", "x2"), ("password", "short")]).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!text(&weak).contains("short"), "the password is not sent back");
    assert!(it.page("/persons").await.contains("共 <strong>0</strong>"), "IT sees no person, as through the API");
}

fn principal(app: &TestApp, user: &str) -> dangan::service::Principal {
    app.archive.accounts().principal_for(app.archive.accounts().user_by_name(user).unwrap().unwrap(), "test").unwrap()
}

/// The cells of each body row of the page's report table, as text.
fn report_rows(html: &str) -> Vec<Vec<String>> {
    let table = html.split("id=\"report-table\"").nth(1).expect("no report table");
    let body = table.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|c| {
                    let inner = &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()];
                    let mut out = String::new();
                    let mut in_tag = false;
                    for ch in inner.chars() {
                        match ch {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => out.push(c),
                            _ => {}
                        }
                    }
                    out
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn report_pages_show_the_apis_figures_with_charts_and_downloads_in_the_callers_scope() {
    use calamine::{DataType, Reader};
    let app = demo_app().await;
    let token = app.login("hr").await;
    let hr = sign_in(&app, "hr").await;
    assert!(hr.page("/").await.contains("href=\"/reports\""), "HR is offered the reports");
    let index = hr.page("/reports").await;
    for name in ["structure?by=department", "completeness", "findings", "digitization", "turnaround"] {
        assert!(index.contains(&format!("href=\"/reports/{name}\"")), "{name}: {index}");
    }

    // Structure by gender: the table holds the API's figures, the chart one bar per row.
    let api = app.send(Method::GET, "/api/v1/reports/structure?by=gender", Some(&token), None).await.json();
    let items = api["items"].as_array().unwrap();
    assert!(!items.is_empty());
    let page = hr.page("/reports/structure?by=gender").await;
    let rows = report_rows(&page);
    assert_eq!(rows.len(), items.len(), "{page}");
    for (row, item) in rows.iter().zip(items) {
        assert_eq!(row[0], item["label"].as_str().unwrap(), "{row:?}");
        assert_eq!(row[1], item["count"].to_string(), "{row:?}");
        assert_eq!(row[2], format!("{}%", item["percent"]), "{row:?}");
    }
    assert!(page.contains("<svg") && page.contains("role=\"img\"") && page.contains("<title>"), "{page}");
    assert_eq!(page.matches("<rect class=\"bar\"").count(), items.len(), "one bar per row");

    // The same report as CSV and XLSX, from the page's links.
    assert!(page.contains("href=\"/reports/structure.csv?by=gender\""));
    assert!(page.contains("href=\"/reports/structure.xlsx?by=gender\""));
    let csv = hr.get("/reports/structure.csv?by=gender").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(csv.header("cache-control"), "no-store");
    assert!(csv.header("content-disposition").contains("attachment; filename=\"structure-gender.csv\""));
    let csv_text = text(&csv);
    let lines: Vec<&str> = csv_text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "key,label,count,percent");
    assert_eq!(lines.len(), items.len() + 1);
    let xlsx = hr.get("/reports/structure.xlsx?by=gender").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert_eq!(xlsx.header("content-type"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert_eq!(xlsx.header("cache-control"), "no-store");
    assert!(xlsx.header("content-disposition").contains("structure-gender.xlsx"));
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = book.worksheet_range("structure-gender").unwrap();
    assert_eq!(sheet.rows().count(), items.len() + 1);
    let total: f64 = sheet.rows().skip(1).map(|r| r[2].get_float().unwrap()).sum();
    assert_eq!(total as u64, items.iter().map(|i| i["count"].as_u64().unwrap()).sum::<u64>());

    // Every report is a page, with a download; digitization has its chart by status.
    for name in ["completeness", "findings", "digitization", "turnaround"] {
        let page = hr.page(&format!("/reports/{name}")).await;
        assert!(page.contains(&format!("href=\"/reports/{name}.xlsx\"")), "{name}");
        let api = app.send(Method::GET, &format!("/api/v1/reports/{name}"), Some(&token), None).await.json();
        let items = api["items"].as_array().unwrap();
        assert_eq!(report_rows(&page).len(), items.len(), "{name}: {page}");
        let bars = page.matches("<rect class=\"bar\"").count();
        match name {
            "findings" => assert_eq!(bars, items.len().min(10), "the ten findings concerning most persons"),
            "turnaround" => {
                let whole = items.iter().filter(|i| i["step"] == "*" && i["median_hours"].is_number()).count();
                assert_eq!(bars, whole, "a bar per kind of applied request");
            }
            _ => {}
        }
        let csv = hr.get(&format!("/reports/{name}.csv")).await;
        assert_eq!((csv.status, csv.header("content-type").as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
    }
    // The completeness chart: dossiers lacking each required material, as the API's rows say.
    let completeness = hr.page("/reports/completeness").await;
    let api = app.send(Method::GET, "/api/v1/reports/completeness", Some(&token), None).await.json();
    let mut bars = 0;
    for name in dangan::model::completeness::Rules::shipped().required.iter().map(|r| &r.name) {
        let n =
            api["items"].as_array().unwrap().iter().filter(|i| i["missing"].as_str().unwrap().contains(name)).count();
        if n > 0 {
            bars += 1;
            assert!(completeness.contains(&format!("<title>{name}: {n}</title>")), "{name}: {completeness}");
        }
    }
    assert!(bars > 0);
    assert_eq!(completeness.matches("<rect class=\"bar\"").count(), bars);
    // The departments' mean rates, then the dossiers with findings; a dossier's page shows its rate and findings.
    assert!(completeness.contains("各部门档案完整率"), "{completeness}");
    for d in api["departments"].as_array().unwrap() {
        let row = format!("<td>{}</td>", d["name"].as_str().unwrap());
        assert!(completeness.contains(&row), "{d}");
        assert!(completeness.contains(&format!("{}%", d["mean_percent"].as_f64().unwrap())), "{d}");
    }
    let item = &api["items"][0];
    let dossier = hr.page(&format!("/persons/{}", item["person_id"].as_str().unwrap())).await;
    assert!(dossier.contains("档案完整性"), "{dossier}");
    assert!(dossier.contains(&format!("<strong>{}%</strong>", item["percent"].as_f64().unwrap())), "{dossier}");
    for f in item["finding_details"].as_array().unwrap() {
        assert!(dossier.contains(f["missing"].as_str().unwrap()), "{f}");
    }
    let digitization = hr.page("/reports/digitization").await;
    assert!(digitization.contains("<svg") && digitization.contains("<rect class=\"bar\""), "{digitization}");
    assert!(hr.page("/reports/structure?by=age&lang=en").await.contains("Cadre structure by age band"));
    let bad = hr.get("/reports/structure?by=shoe_size").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_safe_page(&bad, "bad dimension");
    assert_eq!(hr.get("/reports/nothing").await.status, StatusCode::NOT_FOUND);

    // Finance: salary grades only; the rest is the friendly 403 page.
    let finance = sign_in(&app, "finance").await;
    let denied = finance.get("/reports/structure?by=department").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_safe_page(&denied, "finance 403");
    assert!(text(&denied).contains("无权访问") && text(&denied).contains("rule report.structure"));
    assert_eq!(finance.get("/reports/structure.csv?by=department").await.status, StatusCode::FORBIDDEN);
    let salary = finance.page("/reports/structure?by=salary_grade").await;
    assert!(salary.contains("<svg"));
    let index = finance.page("/reports").await;
    assert!(index.contains("href=\"/reports/structure?by=salary_grade\"") && !index.contains("by=department"));
    assert!(!index.contains("href=\"/reports/completeness\""), "{index}");

    // A head sees their own department only.
    let head = sign_in(&app, "head-finance").await;
    let page = head.page("/reports/structure?by=department").await;
    let rows = report_rows(&page);
    assert_eq!(rows.len(), 1, "{page}");
    assert_eq!(rows[0][0], "财务部");
    assert!(!page.contains("法务部"));

    // A role without any report is not offered them, and is refused them.
    let it = sign_in(&app, "it").await;
    assert!(!it.page("/").await.contains("href=\"/reports\""));
    assert_eq!(it.get("/reports").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_batch_import_page_files_a_zip_and_shows_its_progress_and_report() {
    use crate::imports::zip_of;
    let app = demo_app().await;
    let token = app.login("hr").await;
    let list = app.send(Method::GET, "/api/v1/persons?department=legal&limit=5", Some(&token), None).await.json();
    let pid = list["items"][0]["id"].as_str().unwrap().to_string();
    let person = app.send(Method::GET, &format!("/api/v1/persons/{pid}"), Some(&token), None).await.json();
    let idn = person["id_number"].as_str().unwrap().to_string();
    let stranger = id_number("11010119800517001");

    let hr = sign_in(&app, "hr").await;
    assert!(hr.page("/").await.contains("href=\"/imports\""), "HR is offered the batch import");
    let form = hr.page("/imports").await;
    for says in [
        "E01Z101",
        "E01Z111",
        "A0184",
        "id_number",
        "catalogue.csv",
        "accept=\".zip,application/zip\"",
        "name=\"scheme\"",
        "value=\"2009\"",
        "value=\"1991\"",
    ] {
        assert!(form.contains(says), "{says}: {form}");
    }
    let csrf = csrf_in(&form);
    let catalogue = format!(
        "id_number,E01Z101,E01Z111,E01Z117,file\n{idn},4-4,网页批量导入培训证书,2024-05,certs/train.txt\n\
         {stranger},1,无主材料,2020,certs/other.txt\n"
    );
    let zip = zip_of(&[
        ("catalogue.csv", catalogue.as_bytes()),
        ("certs/train.txt", "培训结业证书 网页批量导入专用语".as_bytes()),
        ("certs/other.txt", b"other"),
        ("extra.txt", b"not listed"),
    ]);
    let file = ("batch.zip", "application/zip");
    assert_eq!(hr.post_named_file("/imports", None, &[], file, &zip).await.status, StatusCode::FORBIDDEN);
    let a = hr.post_named_file("/imports", Some(&csrf), &[], file, &zip).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let location = a.header("location");
    assert!(location.starts_with("/imports/"), "{location}");

    let started = std::time::Instant::now();
    let report = loop {
        let page = hr.page(&location).await;
        assert!(page.contains("<progress"), "{page}");
        if page.contains("已完成") {
            assert!(!page.contains("http-equiv=\"refresh\""), "a finished import stops refreshing");
            break page;
        }
        assert!(page.contains("<meta http-equiv=\"refresh\" content=\"2\">"), "{page}");
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the import never finished: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(report.contains("已处理 2 / 2") && report.contains("batch.zip"), "{report}");
    assert!(report.contains("<dd id=\"imported\">1</dd>") && report.contains("<dd id=\"rejected\">1</dd>"));
    assert!(report.contains("certs/train.txt") && report.contains("no person with ID number"), "{report}");
    assert!(report.contains("extra.txt"), "the unlisted file is named");
    let dossier = hr.page(&format!("/persons/{pid}")).await;
    assert!(dossier.contains("网页批量导入培训证书"), "the material is in the dossier");

    // A hostile batch is refused whole, on the form, with the service's reason.
    let slip = zip_of(&[("catalogue.csv", catalogue.as_bytes()), ("../../etc/cron.d/x", b"evil")]);
    let a = hr.post_named_file("/imports", Some(&csrf), &[], file, &slip).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&a));
    assert_safe_page(&a, "refused batch");
    assert!(text(&a).contains("unsafe path") && text(&a).contains("action=\"/imports\""), "{}", text(&a));
    let bomb = zip_of(&[("catalogue.csv", catalogue.as_bytes()), ("certs/train.txt", &vec![0u8; 64 * 1024 * 1024])]);
    let a = hr.post_named_file("/imports", Some(&csrf), &[], file, &bomb).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", text(&a));
    assert!(text(&a).contains("compression ratio") && text(&a).contains("action=\"/imports\""), "{}", text(&a));
    let none = hr.post_named_file("/imports", Some(&csrf), &[], file, &zip_of(&[("a.txt", b"x")])).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&none).contains("no catalogue.csv"));
    // The form's classification scheme is the service's: an unknown one refuses the batch, naming the known ones.
    let bad = hr.post_named_file("/imports", Some(&csrf), &[("scheme", "1980")], file, &zip).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&bad));
    assert!(text(&bad).contains("1980") && text(&bad).contains("2009"), "{}", text(&bad));

    // Finance may not file: neither offered nor served.
    let finance = sign_in(&app, "finance").await;
    assert!(!finance.page("/").await.contains("href=\"/imports\""));
    assert_eq!(finance.get("/imports").await.status, StatusCode::FORBIDDEN);
    // Nor is HR's import there for finance at all.
    assert_eq!(finance.get(&location).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_paths_are_the_web_404_page_and_unknown_api_paths_stay_problem_json() {
    let app = TestApp::new().await;
    let a = get_anon(&app, "/no-such-page", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.header("content-type").starts_with("text/html"), "{}", a.header("content-type"));
    assert_safe_page(&a, "404");
    assert!(text(&a).contains("未找到") && text(&a).contains("href=\"/\""));
    assert!(text(&get_anon(&app, "/no-such-page?lang=en", None).await).contains("Not found"));
    let api = get_anon(&app, "/api/v1/no-such", None).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.header("content-type"), "application/problem+json");
    assert_eq!(api.json()["status"], 404);
}

#[tokio::test]
async fn every_role_is_offered_exactly_the_reports_it_is_served() {
    let app = demo_app().await;
    let dims = ["department", "age", "gender", "education", "ethnicity", "rank", "salary_grade"];
    for who in ["hr", "admin", "finance", "legal", "it", "secadmin", "auditor", "head-ops", "leader1", "leader2"] {
        let user = sign_in(&app, who).await;
        let home = text(&user.get("/").await);
        let index = user.get("/reports").await;
        let offered = home.contains("href=\"/reports\"");
        assert_eq!(offered, index.status == StatusCode::OK, "{who}: home and /reports disagree");
        assert_safe_page(&index, who);
        let index = text(&index);
        let mut served_any = false;
        for name in ["completeness", "findings", "digitization", "turnaround", "contracts"] {
            let served = user.get(&format!("/reports/{name}")).await.status == StatusCode::OK;
            served_any |= served;
            assert_eq!(index.contains(&format!("href=\"/reports/{name}\"")), served, "{who}: {name}");
        }
        for by in dims {
            let served = user.get(&format!("/reports/structure?by={by}")).await.status == StatusCode::OK;
            served_any |= served;
            assert_eq!(index.contains(&format!("href=\"/reports/structure?by={by}\"")), served, "{who}: {by}");
        }
        assert_eq!(served_any, offered, "{who}: offered the reports page iff some report is served");
    }
}

#[tokio::test]
async fn a_request_page_shows_escalated_steps_and_what_is_hidden() {
    let app = demo_app().await;
    let token = app.login("hr").await;
    let head = app.archive.accounts().user_by_name("head-ops").unwrap().unwrap().person_id.unwrap().to_string();
    app.conclude_review(&head).await;
    let a = app
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(&token),
            Some(json!({"kind": "promotion", "person_id": head, "changes": {"position": "业务运营部部长（正职）", "salary_grade": "33"}})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", text(&a));
    let rid = a.json()["id"].as_str().unwrap().to_string();

    // Leader 1 took the head's review over: the page says so, and hides the salary grade leaders may not see.
    let leader = sign_in(&app, "leader1").await;
    let page = leader.page(&format!("/requests/{rid}")).await;
    assert!(page.contains("已升级") && page.contains("并入"), "the escalated step: {page}");
    assert!(page.contains("本人为当事人"), "the timeline names the escalation");
    assert!(page.contains("按您的权限") && !page.contains("<td>33</td>"), "the salary grade is hidden");
    // The head, whose promotion it is, does not see it.
    let own = sign_in(&app, "head-ops").await;
    assert_eq!(own.get(&format!("/requests/{rid}")).await.status, StatusCode::NOT_FOUND);
    assert!(!own.page("/inbox").await.contains(&rid));
}

/// The new-request form offers every kind the model marks for it, the new 借调 too, with the kind's own fields;
/// a secondment filed there is checked by the same rule as by API (an end before the start comes back as a
/// finding on the form) and lands on the person's page once approved.
#[tokio::test]
async fn the_request_form_offers_a_secondment_with_its_fields() {
    let app = demo_app().await;
    let token = app.login("hr").await;
    let ops = app.send(Method::GET, "/api/v1/persons?department=ops", Some(&token), None).await.json();
    let holders = account_holders(&app);
    let pid = ops["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| !holders.contains(&p["id"].as_str().unwrap().to_string()))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.conclude_review(&pid).await;
    let hr = sign_in(&app, "hr").await;
    let form = hr.page(&format!("/requests/new?kind=promotion&person={pid}")).await;
    for kind in ["transfer", "update", "resignation", "secondment"] {
        assert!(form.contains(&format!("/requests/new?kind={kind}&amp;person={pid}")), "{kind}");
    }
    let form = hr.page(&format!("/requests/new?kind=secondment&person={pid}")).await;
    assert!(form.contains("借调"), "{form}");
    for name in ["department", "position", "from", "until", "reason"] {
        assert!(form.contains(&format!("name=\"{name}\"")), "{name}");
    }
    assert!(form.contains("<select id=\"rq-department\" name=\"department\">"), "the host department is a choice");
    let base =
        [("csrf", hr.csrf.as_str()), ("kind", "secondment"), ("person_id", pid.as_str()), ("department", "sales")];
    let a = hr.post("/requests", &[base.as_slice(), &[("from", "2027-06-01"), ("until", "2027-01-01")]].concat()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&a));
    assert!(text(&a).contains("校验结果") && text(&a).contains("须晚于开始日期"), "{}", text(&a));
    let fields =
        [("position", "项目经理"), ("from", "2027-01-01"), ("until", "2027-06-30"), ("reason", "支援重点项目")];
    let a = hr.post("/requests", &[base.as_slice(), &fields].concat()).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let rid = a.header("location").trim_start_matches("/requests/").to_string();
    let page = hr.page(&a.header("location")).await;
    assert!(page.contains("借调") && page.contains("审核中"), "{page}");
    app.approve_as(&rid, &["head-ops", "head-sales", "leader1"]).await;
    let dossier = hr.page(&format!("/persons/{pid}")).await;
    assert!(dossier.contains("借调") && dossier.contains("2027-06-30") && dossier.contains("项目经理"), "{dossier}");
}

/// The printable 目录 (docs/DOMAIN.md §2): the paper form's columns with 形成时间 as 年 · 月 · 日, an A4 print
/// stylesheet, and 整理 from the page (with the token) as a new numbering, the old one a link away.
#[tokio::test]
async fn the_print_view_has_the_paper_forms_columns_and_arranging_keeps_the_old_numbering() {
    let app = TestApp::new().await;
    let token = app.login("hr").await;
    let person = app.create_person(&token, person_body("李目录", &id_number("11010519800517011"), "finance")).await;
    let pid = person["id"].as_str().unwrap();
    for (category, title, formed) in
        [("9-2", "任命通知2016", "2016-03-08"), ("9-2", "任命通知2012", "2012-07"), ("1", "干部履历表", "2019")]
    {
        let meta = json!({"category": category, "title": title, "formed_on": formed, "pages": 3, "note": "复印件"});
        assert_eq!(app.upload(&token, pid, meta, "a.txt", title.as_bytes()).await.status, StatusCode::CREATED);
    }
    let hr = sign_in(&app, "hr").await;
    let dossier = hr.page(&format!("/persons/{pid}")).await;
    assert!(dossier.contains(&format!("href=\"/persons/{pid}/catalogue\"")), "the dossier links the print view");
    let page = hr.page(&format!("/persons/{pid}/catalogue")).await;
    for column in [
        "类号",
        "序号",
        "材料名称",
        "材料形成时间",
        "<th scope=\"col\">年</th>",
        "<th scope=\"col\">月</th>",
        "<th scope=\"col\">日</th>",
        "页数",
        "备注",
    ] {
        assert!(page.contains(column), "column {column}: {page}");
    }
    let rows = paper_rows(&page);
    let row = |title: &str| rows.iter().find(|r| r.iter().any(|c| c == title)).cloned().unwrap_or_default();
    assert_eq!(row("任命通知2016"), ["9-2", "1", "任命通知2016", "2016", "3", "8", "3", "复印件"]);
    assert_eq!(row("任命通知2012"), ["9-2", "2", "任命通知2012", "2012", "7", "", "3", "复印件"]);
    assert_eq!(row("干部履历表"), ["1", "1", "干部履历表", "2019", "", "", "3", "复印件"]);
    let css = text(&hr.get("/assets/app.css").await);
    assert!(css.contains("@media print") && css.contains("size: A4"), "an A4 print stylesheet");

    // 整理 needs the token; with it, 2012 comes first and numbering 1 stays a link away.
    let arrange = format!("/persons/{pid}/catalogue/arrange");
    assert_eq!(hr.post(&arrange, &[]).await.status, StatusCode::FORBIDDEN);
    let a = hr.post(&arrange, &[("csrf", &csrf_in(&page))]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let page = hr.page(&format!("/persons/{pid}/catalogue")).await;
    let rows = paper_rows(&page);
    let row = |title: &str| rows.iter().find(|r| r.iter().any(|c| c == title)).cloned().unwrap_or_default();
    assert_eq!(row("任命通知2012")[1], "1");
    assert_eq!(row("任命通知2016")[1], "2");
    assert!(page.contains(&format!("href=\"/persons/{pid}/catalogue?numbering=1\"")), "{page}");
    let old = hr.page(&format!("/persons/{pid}/catalogue?numbering=1")).await;
    let rows = paper_rows(&old);
    assert_eq!(rows.iter().find(|r| r.iter().any(|c| c == "任命通知2012")).unwrap()[1], "2");
}

/// The rows of the printable 目录's table, cell texts.
fn paper_rows(html: &str) -> Vec<Vec<String>> {
    report_rows(&html.replace("class=\"paper-catalogue\"", "id=\"report-table\""))
}

#[tokio::test]
async fn the_review_page_records_a_special_review_submits_it_and_the_report_shows_its_progress() {
    let app = demo_app().await;
    let token = app.login("hr").await;
    let cadre = cadre(&app, &token, "sales").await;
    let pid = cadre["id"].as_str().unwrap().to_string();
    let meta = json!({"category": "1", "title": "干部履历表（专审）"});
    let resume = app.upload(&token, &pid, meta, "r.txt", "干部履历表".as_bytes()).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hr = sign_in(&app, "hr").await;
    let path = format!("/persons/{pid}/review");
    assert!(hr.page(&format!("/persons/{pid}")).await.contains(&format!("href=\"{path}\"")), "the dossier links it");
    let page = hr.page(&path).await;
    assert!(page.contains("未审核") && page.contains("参加工作时间") && page.contains("保存审核记录"), "{page}");

    let birth = cadre["birth_date"].as_str().unwrap();
    let work = cadre["work_start"].as_str().unwrap();
    let mut fields = vec![
        ("version", "0"),
        ("birth_date.found0.value", birth),
        ("birth_date.found0.material", resume.as_str()),
        ("birth_date.determined", birth),
        ("birth_date.evidence", resume.as_str()),
        ("work_start.determined", work),
        ("work_start.evidence", resume.as_str()),
        ("education.problem0.kind", "inconsistent"),
        ("education.problem0.note", "履历表与毕业证书所载毕业时间不一致"),
        ("education.problem0.material", resume.as_str()),
        ("education.determined", "大学本科"),
        ("education.evidence", resume.as_str()),
    ];
    if let Some(party) = cadre["party_join"].as_str() {
        fields.extend([("party_join.determined", party), ("party_join.evidence", resume.as_str())]);
    }
    assert_eq!(hr.post(&path, &fields).await.status, StatusCode::FORBIDDEN, "no token, no recording");
    fields.insert(0, ("csrf", hr.csrf.as_str()));
    let a = hr.post(&path, &fields).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&a.body));
    let page = hr.page(&path).await;
    assert!(page.contains("审核记录（未提交）") && page.contains("履历表与毕业证书所载毕业时间不一致"), "{page}");
    assert!(page.contains(birth) && page.contains("提交审核"));

    let a = hr.post(&format!("{path}/submit"), &[("csrf", &hr.csrf)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.header("location").starts_with("/requests/"));
    let page = hr.page(&path).await;
    assert!(page.contains("初审/复审中") && !page.contains("保存审核记录"), "no recording while the flow runs");

    let report = hr.page("/reports/review").await;
    assert!(report.contains("专审进度") && report.contains("不一致") && report.contains("市场营销部"), "{report}");
    let it = sign_in(&app, "it").await;
    assert_eq!(it.get(&path).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_intake_page_shows_the_queue_with_overdue_flags_and_files_with_the_token() {
    let app = demo_app().await;
    let hr = sign_in(&app, "hr").await;
    let home = hr.page("/").await;
    assert!(home.contains("href=\"/intake\""), "HR's navigation links the 待归档 page");
    let html = hr.page("/intake").await;
    assert!(html.contains("年度考核登记表（待归档）") && html.contains("学历证书复印件（待归档）"), "{html}");
    assert!(html.contains("逾期"), "the demo's overdue material is flagged: {html}");
    let action = html.split("action=\"/intake/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let path = format!("/intake/{action}");
    // Without the token: refused, nothing filed.
    let refused = hr.post(&path, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", text(&refused));
    assert_eq!(hr.page("/intake").await.matches("action=\"/intake/").count(), 2);
    let filed = hr.post(&path, &[("csrf", &hr.csrf)]).await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", text(&filed));
    assert_eq!(hr.page("/intake").await.matches("action=\"/intake/").count(), 1);
    // The material page shows its receipt.
    let id = action.trim_end_matches("/file");
    let material = hr.page(&format!("/materials/{id}")).await;
    assert!(material.contains("接收时间") && material.contains("接收人"), "{material}");
    // An administrator has no such page.
    let it = sign_in(&app, "it").await;
    assert!(!it.page("/").await.contains("href=\"/intake\""));
    assert_eq!(it.get("/intake").await.status, StatusCode::FORBIDDEN);
}

/// 转入审核 (issue 15 item 4): the queue page receives a package with the token, its review page accepts it into a
/// new dossier with the token and offers the receipt; an administrator has no such page.
#[tokio::test]
async fn the_receiving_pages_queue_review_and_accept_a_package_with_the_token() {
    let package = crate::receiving::package_from_a("转入测试", "11010119850101002").await;
    let app = TestApp::new().await;
    let hr = sign_in(&app, "hr").await;
    assert!(hr.page("/").await.contains("href=\"/receiving\""), "HR's navigation links the receiving page");
    let html = hr.page("/receiving").await;
    assert!(html.contains("action=\"/receiving\"") && html.contains("enctype=\"multipart/form-data\""), "{html}");
    let file = ("package.zip", "application/zip");
    let forged = hr.post_named_file("/receiving", None, &[("accept_unknown_sender", "1")], file, &package).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "without the token");
    let fields = [("accept_unknown_sender", "1")];
    let a = hr.post_named_file("/receiving", Some(&hr.csrf), &fields, file, &package).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let review = a.header("location");
    assert!(review.starts_with("/receiving/"), "{review}");
    let html = hr.page(&review).await;
    assert!(html.contains("转入测试") && html.contains("新增") && html.contains("退回理由"), "{html}");
    assert!(hr.page("/receiving").await.contains(&format!("href=\"{review}\"")));
    let refused = hr.post(&format!("{review}/accept"), &[("into", "new")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", text(&refused));
    let done = hr.post(&format!("{review}/accept"), &[("csrf", &hr.csrf), ("into", "new")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", text(&done));
    let html = hr.page(&review).await;
    assert!(html.contains("已入库") && html.contains("/receipt") && !html.contains("退回理由"), "{html}");
    let receipt = hr.get(&format!("{review}/receipt")).await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert_eq!(receipt.json()["materials"], 3);
    let it = sign_in(&app, "it").await;
    assert!(!it.page("/").await.contains("href=\"/receiving\""));
    assert_eq!(it.get("/receiving").await.status, StatusCode::FORBIDDEN);
    assert_eq!(it.get(&review).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_custody_page_shows_the_inbox_the_transfer_register_and_the_lending_list() {
    let app = demo_app().await;
    let admin = sign_in(&app, "admin").await;
    assert!(admin.page("/").await.contains("href=\"/custody\""), "行政部's navigation links the custody page");
    let html = admin.page("/custody").await;
    for want in [
        "保管待办",
        "归档任务",
        "转递登记簿",
        "市人力资源和社会保障局",
        "调字〔2026〕27号",
        "借阅登记",
        "王纪检",
        "纪检监察组",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    // The receipt upload of the open transfer, the 归还 of the loan, the 已归档 of the tasks: each a form.
    assert!(html.contains("action=\"/transfers/") && html.contains("/receipt\""), "{html}");
    let tasks = html.matches("action=\"/custody/tasks/").count();
    assert!(tasks >= 1);
    let task = html.split("action=\"/custody/tasks/").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(admin.post(&format!("/custody/tasks/{task}"), &[]).await.status, StatusCode::FORBIDDEN, "no token");
    let done = admin.post(&format!("/custody/tasks/{task}"), &[("csrf", &admin.csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", text(&done));
    assert_eq!(admin.page("/custody").await.matches("action=\"/custody/tasks/").count(), tasks - 1);
    let ret = html.split("action=\"/loans/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let returned = admin.post(&format!("/loans/{ret}"), &[("csrf", &admin.csrf)]).await;
    assert_eq!(returned.status, StatusCode::SEE_OTHER, "{}", text(&returned));
    assert!(!admin.page("/custody").await.contains(&format!("action=\"/loans/{ret}\"")));

    // A forged receipt through the web form: refused with the reason, nothing changes.
    let receipt = html.split("action=\"/transfers/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let forged = admin
        .post_named_file(
            &format!("/transfers/{receipt}"),
            Some(&admin.csrf),
            &[],
            ("receipt.json", "application/json"),
            b"{}",
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&forged));

    // The transferred dossier shows its custody: 转出中, the receiving unit, the history; the archive office's form.
    let row = html.split("市人力资源和社会保障局").next().unwrap();
    let person = row.rsplit("href=\"/persons/").next().unwrap().split('#').next().unwrap().to_string();
    let dossier = admin.page(&format!("/persons/{person}")).await;
    assert!(
        dossier.contains("id=\"custody\"") && dossier.contains("转出中") && dossier.contains("保管记录"),
        "{dossier}"
    );
    assert!(dossier.contains(&format!("action=\"/persons/{person}/custody\"")), "{dossier}");
    let changed = admin
        .post(
            &format!("/persons/{person}/custody"),
            &[("csrf", &admin.csrf), ("location", "B区-02-07"), ("note", "移库")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", text(&changed));
    let dossier = admin.page(&format!("/persons/{person}")).await;
    assert!(dossier.contains("B区-02-07") && dossier.contains("移库"), "{dossier}");

    // HR sees the custody and the register but not the archive office's form nor the lending list.
    let hr = sign_in(&app, "hr").await;
    let page = hr.page("/custody").await;
    assert!(page.contains("转递登记簿") && !page.contains("借阅登记"), "{page}");
    let dossier = hr.page(&format!("/persons/{person}")).await;
    assert!(dossier.contains("转出中") && !dossier.contains(&format!("action=\"/persons/{person}/custody\"")));
    // The system administrator has no such page.
    let it = sign_in(&app, "it").await;
    assert!(!it.page("/").await.contains("href=\"/custody\""));
    assert_eq!(it.get("/custody").await.status, StatusCode::FORBIDDEN);
}

/// An installation with a scanning operator, a dossier and a batch over it (every page sampled): (app, hr API
/// token, person id, batch id).
async fn scanning_batch() -> (TestApp, String, String, String) {
    let app = TestApp::new().await;
    app.add_account("scanner", vec![dangan::model::Role::Scanner], None, None, None).await;
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("陈思远", &id_number("11010519800214301"), "research")).await;
    let pid = person["id"].as_str().unwrap().to_string();
    let batch = app
        .send(
            Method::POST,
            "/api/v1/batches",
            Some(&hr),
            Some(json!({"name": "网页抽检批次", "assignees": ["scanner"], "person_ids": [pid],
                        "sample_percent": 100, "sample_min": 1})),
        )
        .await;
    assert_eq!(batch.status, StatusCode::CREATED, "{}", text(&batch));
    let bid = batch.json()["id"].as_str().unwrap().to_string();
    (app, hr, pid, bid)
}

/// Files a scanned material from page images into a batch over the API, as the scanning operator; its id.
async fn file_pages(app: &TestApp, token: &str, batch: &str, person: &str, title: &str, pages: &[Vec<u8>]) -> String {
    let boundary = "----dangan-web-pages-9e1";
    let meta = json!({"person_id": person, "category": "4-1", "title": title, "formed_on": "1998-07"});
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
    )
    .into_bytes();
    for (i, bytes) in pages.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"A001-4-1-001-{:03}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n",
                i + 1
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/batches/{batch}/materials"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let a = app.call(req).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", text(&a));
    a.json()["id"].as_str().unwrap().to_string()
}

/// The batch pages before anything is scanned: linked from the navigation of HR, administration and the
/// operator (not of others), the list, the batch's page with the operator's 自检 button and HR's none, the
/// service's refusals as error pages, and the QC page 403 for the operator.
#[tokio::test]
async fn the_batch_pages_are_in_the_navigation_of_who_scans_and_who_manages_and_refuse_as_the_service_does() {
    let (app, _hr, _pid, bid) = scanning_batch().await;
    let scanner = sign_in(&app, "scanner").await;
    let hr = sign_in(&app, "hr").await;
    for who in [&scanner, &hr] {
        assert!(who.page("/").await.contains("href=\"/batches\""), "the navigation links the batches");
        let list = who.page("/batches").await;
        assert!(list.contains(&format!("href=\"/batches/{bid}\"")) && list.contains("网页抽检批次"), "{list}");
        assert!(list.contains("扫描中"), "{list}");
    }
    let finance = sign_in(&app, "finance").await;
    assert!(!finance.page("/").await.contains("href=\"/batches\""));
    assert_eq!(finance.get(&format!("/batches/{bid}")).await.status, StatusCode::NOT_FOUND);

    let page = scanner.page(&format!("/batches/{bid}")).await;
    let self_check = format!("action=\"/batches/{bid}/self-check\"");
    assert!(page.contains(&self_check) && page.contains("100%"), "the operator's 自检 button, the sample: {page}");
    assert!(!hr.page(&format!("/batches/{bid}")).await.contains(&self_check), "HR scans nothing");
    // Without the token: refused; with it, the service's refusal (nothing scanned yet) as an error page.
    assert_eq!(scanner.post(&format!("/batches/{bid}/self-check"), &[]).await.status, StatusCode::FORBIDDEN);
    let empty = scanner.post(&format!("/batches/{bid}/self-check"), &[("csrf", &scanner.csrf)]).await;
    assert_eq!(empty.status, StatusCode::CONFLICT, "{}", text(&empty));
    assert!(text(&empty).contains("holds no scans"), "{}", text(&empty));
    // The reviewer's page: 403 for the operator, 409 for HR while the batch is not 抽检.
    let qc = scanner.get(&format!("/batches/{bid}/qc")).await;
    assert_eq!(qc.status, StatusCode::FORBIDDEN, "{}", text(&qc));
    assert!(text(&qc).contains("qc.reviewer"), "{}", text(&qc));
    assert_eq!(hr.get(&format!("/batches/{bid}/qc")).await.status, StatusCode::CONFLICT);
}

/// 自检 and 提交抽检 from the batch page; the QC page shows HR the sample with each page's image and records a
/// defect through its form (token required); the operator gets 403 there; 退回 sends the page back, which the
/// operator sees among the rescans; the batch page shows the figures; the material page lists its pages.
#[tokio::test]
async fn the_qc_page_shows_hr_the_sample_records_a_defect_with_the_token_and_is_403_for_the_operator() {
    let (app, _hr, pid, bid) = scanning_batch().await;
    let token = app.login("scanner").await;
    let page_jpeg = crate::digitisation::page_jpeg;
    let (p1, p2, p3) = (page_jpeg(300, 11), page_jpeg(300, 12), page_jpeg(300, 13));
    let first = file_pages(&app, &token, &bid, &pid, "毕业生登记表", &[p1.clone(), p2.clone()]).await;
    let second = file_pages(&app, &token, &bid, &pid, "学位证书", std::slice::from_ref(&p3)).await;

    let scanner = sign_in(&app, "scanner").await;
    let go = scanner.post(&format!("/batches/{bid}/self-check"), &[("csrf", &scanner.csrf)]).await;
    assert_eq!(go.status, StatusCode::SEE_OTHER, "{}", text(&go));
    let page = scanner.page(&format!("/batches/{bid}")).await;
    assert!(page.contains("自检") && page.contains(&format!("action=\"/batches/{bid}/hand-over\"")), "{page}");
    assert_eq!(scanner.post(&format!("/batches/{bid}/hand-over"), &[]).await.status, StatusCode::FORBIDDEN);
    let go = scanner.post(&format!("/batches/{bid}/hand-over"), &[("csrf", &scanner.csrf)]).await;
    assert_eq!(go.status, StatusCode::SEE_OTHER, "{}", text(&go));
    assert_eq!(scanner.get(&format!("/batches/{bid}/qc")).await.status, StatusCode::FORBIDDEN, "never the operator");
    assert!(!scanner.page(&format!("/batches/{bid}")).await.contains(&format!("href=\"/batches/{bid}/qc\"")));

    let hr = sign_in(&app, "hr").await;
    let page = hr.page(&format!("/batches/{bid}")).await;
    assert!(page.contains("抽检") && page.contains(&format!("href=\"/batches/{bid}/qc\"")), "{page}");
    let qc = hr.page(&format!("/batches/{bid}/qc")).await;
    assert_eq!(qc.matches("<tr class=\"sampled\"").count(), 3, "every page sampled: {qc}");
    assert!(qc.contains("毕业生登记表") && qc.contains("学位证书") && qc.contains("300 dpi"), "{qc}");
    assert_eq!(qc.matches("action=\"/batches/").count(), 4, "a defect form per page and the decision: {qc}");
    for code in ["模糊", "倾斜", "缺页", "重页", "错页", "黑边", "其他"] {
        assert!(qc.contains(&format!(">{code}</option>")), "{code}");
    }
    // Each row's image is the page as scanned, served inline.
    let src = format!("/materials/{first}/pages/2");
    assert!(qc.contains(&format!("src=\"{src}\"")), "{qc}");
    let image = hr.get(&src).await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.header("content-type"), "image/jpeg");
    assert!(image.header("content-disposition").starts_with("inline"));
    assert_eq!(image.body, p2);

    // A defect through the row's form: refused without the token, recorded with it.
    let defects = format!("/batches/{bid}/qc/defects");
    let fields = [("material_id", first.as_str()), ("page", "2"), ("code", "blur"), ("comment", "字迹模糊不清")];
    assert_eq!(hr.post(&defects, &fields).await.status, StatusCode::FORBIDDEN);
    assert!(!hr.page(&format!("/batches/{bid}/qc")).await.contains("字迹模糊不清"), "nothing recorded");
    let mut with_token = vec![("csrf", hr.csrf.as_str())];
    with_token.extend(fields);
    let done = hr.post(&defects, &with_token).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", text(&done));
    let qc = hr.page(&format!("/batches/{bid}/qc")).await;
    let recorded = qc.split("id=\"defects\"").nth(1).unwrap();
    assert!(recorded.contains("字迹模糊不清") && recorded.contains("模糊") && recorded.contains("(1)"), "{recorded}");
    // A page the material does not hold: the service's 422 as an error page.
    let bad = hr.post(&defects, &[("csrf", &hr.csrf), ("material_id", &second), ("page", "9"), ("code", "skew")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&bad));

    // The figures: three pages sampled, one defective (33.3%), by code.
    let page = hr.page(&format!("/batches/{bid}")).await;
    let figures = page.split("id=\"figures\"").nth(1).unwrap();
    assert!(figures.contains("33.3%") && figures.contains("缺陷分类") && figures.contains("scanner"), "{figures}");

    // 退回: the page goes back to the operator, who sees it among the rescans.
    let back = hr
        .post(
            &format!("/batches/{bid}/qc/decision"),
            &[("csrf", &hr.csrf), ("decision", "return"), ("comment", "重扫")],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", text(&back));
    let page = scanner.page(&format!("/batches/{bid}")).await;
    let rescans = page.split("id=\"rescans\"").nth(1).expect("the rescans");
    assert!(rescans.contains("毕业生登记表") && rescans.contains("待重扫") && rescans.contains("模糊"), "{rescans}");
    assert!(page.contains("退回"), "{page}");

    // The material page lists its page images in order, and the zip of the originals.
    let material = hr.page(&format!("/materials/{first}")).await;
    let pages = material.split("id=\"pages\"").nth(1).expect("the pages section");
    assert!(pages.contains(&format!("href=\"/materials/{first}/pages/1\"")), "{pages}");
    assert!(pages.find("/pages/1\"") < pages.find("/pages/2\""), "in order");
    let zip = hr.get(&format!("/materials/{first}/pages.zip")).await;
    assert_eq!(zip.status, StatusCode::OK);
    assert_eq!(zip.header("content-type"), "application/zip");
    assert!(zip.body.starts_with(b"PK"));
}

#[tokio::test]
async fn the_contract_pages_list_remind_record_from_the_proposal_and_keep_notes_for_legal_only() {
    let app = demo_app().await;
    let legal = sign_in(&app, "legal").await;
    // The register and its reminders, in legal's navigation and inbox.
    assert!(legal.page("/").await.contains("href=\"/contracts\""));
    let register = legal.page("/contracts").await;
    assert_labelled(&register, "/contracts");
    assert!(register.contains("id=\"contract-register\"") && register.contains("离职协议"), "{register}");
    assert!(register.contains("data-kind=\"ending\"") && register.contains("data-kind=\"probation_ending\""));
    let soon = legal.page("/contracts?ending_within=30&kind=labour").await;
    assert!(soon.contains("data-state=\"active\"") && !soon.contains("data-state=\"renewed\""), "{soon}");
    assert_eq!(legal.get("/contracts?kind=marriage").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(legal.page("/inbox").await.contains("id=\"contract-reminders\""));

    // A new contract: the form is filled from its text until it is recorded.
    let token = app.login("hr").await;
    let cadre = cadre(&app, &token, "ops").await;
    let pid = cadre["id"].as_str().unwrap().to_string();
    let meta = json!({"category": "10", "title": "劳动合同书", "tags": ["contract"]});
    let body = "劳动合同书\n甲方：某某集团有限公司\n乙方：王小明\n合同期限自2025年3月1日起至2028年2月29日止。\n试用期至2025年5月31日。";
    let a = app.upload(&token, &pid, meta, "c.txt", body.as_bytes()).await;
    let mid = a.json()["id"].as_str().unwrap().to_string();
    text_settled(&app, &token, &mid).await;
    let path = format!("/materials/{mid}/contract");
    assert!(legal.page(&format!("/materials/{mid}")).await.contains(&format!("href=\"{path}\"")));
    let page = legal.page(&path).await;
    assert_labelled(&page, &path);
    assert!(page.contains("id=\"contract-proposal\"") && page.contains("value=\"2028-02-29\""), "{page}");
    let record = [
        ("kind", "labour"),
        ("parties", "某某集团有限公司\n王小明"),
        ("from", "2025-03-01"),
        ("to", "2028-02-29"),
        ("probation_until", "2025-05-31"),
        ("status", "active"),
    ];
    assert_eq!(legal.post(&path, &record).await.status, StatusCode::FORBIDDEN, "no token, no record");
    let mut with_token = vec![("csrf", legal.csrf.as_str())];
    with_token.extend(record);
    let a = legal.post(&path, &with_token).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let page = legal.page(&path).await;
    assert!(page.contains("id=\"contract-record\"") && page.contains("name=\"version\" value=\"1\""), "{page}");
    // A stale form is refused, the record kept.
    with_token.push(("version", "7"));
    assert_eq!(legal.post(&path, &with_token).await.status, StatusCode::PRECONDITION_FAILED);

    // Legal's blocking note: HR sees it but has no resolve form; legal resolves it.
    let note =
        [("csrf", legal.csrf.as_str()), ("clause", "第三条"), ("finding", "试用期约定不明"), ("severity", "blocking")];
    let a = legal.post(&format!("{path}/notes"), &note).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let hr = sign_in(&app, "hr").await;
    let seen = hr.page(&path).await;
    assert!(
        seen.contains("试用期约定不明") && seen.contains("data-resolved=\"false\"") && !seen.contains("/resolve\"")
    );
    let page = legal.page(&path).await;
    let start = page.find(&format!("{path}/notes/")).expect("a resolve form for legal");
    let action: String = page[start..].chars().take_while(|c| *c != '"').collect();
    let hr_try = hr.post(&action, &[("csrf", hr.csrf.as_str())]).await;
    assert_eq!(hr_try.status, StatusCode::FORBIDDEN, "HR does not clear legal's finding");
    let a = legal.post(&action, &[("csrf", legal.csrf.as_str()), ("resolution", "已补充约定")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let page = legal.page(&path).await;
    assert!(page.contains("data-resolved=\"true\"") && page.contains("已补充约定"), "{page}");

    // The demo's renewal request shows the contract it changes, its comparison and legal's note.
    let requests = app.send(Method::GET, "/api/v1/requests", Some(&token), None).await.json();
    let renewal = requests["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["changes"]["contracts"][0]["material_id"].is_string())
        .expect("the demo's renewal request");
    let renewed = renewal["changes"]["contracts"][0]["material_id"].as_str().unwrap();
    let page = legal.page(&format!("/requests/{}", renewal["id"].as_str().unwrap())).await;
    assert!(page.contains("id=\"request-contracts\""), "{page}");
    assert!(page.contains(&format!("/materials/{renewed}/versions/1/diff/2")), "{page}");
    assert!(page.contains("阻止审批"), "{page}");

    // Finance and a department head: no link, and 404 for every page.
    for who in ["finance", "head-ops"] {
        let b = sign_in(&app, who).await;
        assert!(!b.page("/").await.contains("href=\"/contracts\""), "{who}");
        for p in ["/contracts".to_string(), path.clone()] {
            assert_eq!(b.get(&p).await.status, StatusCode::NOT_FOUND, "{who} {p}");
        }
        let a = b.post(&format!("{path}/notes"), &[("csrf", b.csrf.as_str()), ("finding", "x")]).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{who}");
        assert!(!b.page("/inbox").await.contains("contract-reminders"), "{who}");
    }
}
