//! Logins over HTTP: the throttle slows addresses and accounts separately and is never turned against the
//! holder of an account; behind a trusted reverse proxy the client's address comes from `X-Forwarded-For`
//! (and from nowhere else); a login body is small.

use crate::common::*;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use dangan::model::Role;
use dangan::service::Config;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};

/// The reverse proxy of these tests.
const PROXY: &str = "10.0.0.1";

/// A login through the API over a connection from `peer`, with `X-Forwarded-For: xff` when given.
async fn login_from(app: &TestApp, peer: &str, xff: Option<&str>, user: &str, password: &str) -> Answer {
    let mut b =
        Request::builder().method(Method::POST).uri("/api/v1/auth/login").header("content-type", "application/json");
    if let Some(x) = xff {
        b = b.header("x-forwarded-for", x);
    }
    let mut req = b.body(Body::from(json!({"username": user, "password": password}).to_string())).unwrap();
    let ip: IpAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, 51234)));
    app.call(req).await
}

async fn behind_proxy() -> TestApp {
    TestApp::with_config(Config { trusted_proxies: vec![PROXY.parse().unwrap()], ..Config::default() }).await
}

fn assert_throttled(a: &Answer, what: &str) {
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{what}: {}", String::from_utf8_lossy(&a.body));
    assert!(a.header("retry-after").parse::<u64>().is_ok_and(|s| s > 0), "{what}: Retry-After");
    assert!(a.header("content-type").starts_with("application/problem+json"), "{what}");
}

/// The `auth.login` entries of the audit trail, as the auditor reads them.
async fn login_entries(app: &TestApp) -> Vec<Value> {
    app.add_account("auditor", vec![Role::Auditor], None, None, None).await;
    let auditor = app.login("auditor").await;
    let a = app.send(Method::GET, "/api/v1/audit?action=auth.login&limit=1000", Some(&auditor), None).await;
    assert_eq!(a.status, StatusCode::OK);
    a.json()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_another() {
    let app = behind_proxy().await;
    for _ in 0..5 {
        let a = login_from(&app, PROXY, Some("203.0.113.7"), "hr", "wrong-password").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    // Another client through the same proxy logs in as the very account that was attacked.
    let a = login_from(&app, PROXY, Some("198.51.100.9"), "hr", PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
    // The failing client waits, for every account, even with the right password.
    for user in ["hr", "finance"] {
        let a = login_from(&app, PROXY, Some("203.0.113.7"), user, PASSWORD).await;
        assert_throttled(&a, user);
    }
    // A proxy chain: the client is the rightmost address that is not a trusted proxy.
    let a = login_from(&app, PROXY, Some("192.0.2.1, 203.0.113.7"), "finance", PASSWORD).await;
    assert_throttled(&a, "the same client, whatever it claims further left");

    // The audit trail names the clients, not the proxy; throttled and failed logins are recorded as before.
    let entries = login_entries(&app).await;
    let from = |source: &str, detail: Option<&str>| {
        entries.iter().filter(|e| e["source"] == source && detail.is_none_or(|d| e["detail"] == d)).count()
    };
    assert_eq!(from("203.0.113.7", Some("wrong username or password")), 5);
    assert_eq!(from("203.0.113.7", Some("throttled")), 3);
    assert!(entries.iter().any(|e| e["source"] == "198.51.100.9" && e["outcome"] == "allowed" && e["actor"] == "hr"));
    assert_eq!(from(PROXY, None), 0);
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = behind_proxy().await;
    // A client that invents a new address for every guess is still one address: its own.
    for i in 0..5 {
        let xff = format!("203.0.113.{i}");
        let a = login_from(&app, "192.0.2.50", Some(&xff), "finance", "wrong-password").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = login_from(&app, "192.0.2.50", Some("203.0.113.99"), "finance", PASSWORD).await;
    assert_throttled(&a, "an invented X-Forwarded-For");
    let a = login_from(&app, "192.0.2.50", None, "hr", PASSWORD).await;
    assert_throttled(&a, "the peer itself");
    // Without trusted proxies the header counts from nowhere, not even from the proxy's address.
    let app = TestApp::new().await;
    for i in 0..5 {
        let xff = format!("203.0.113.{i}");
        assert_eq!(login_from(&app, PROXY, Some(&xff), "it", "wrong-password").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_throttled(&login_from(&app, PROXY, Some("198.51.100.9"), "hr", PASSWORD).await, "untrusted proxy");
    let entries = login_entries(&app).await;
    assert!(entries.iter().filter(|e| e["actor"] == "it").all(|e| e["source"] == PROXY));
}

#[tokio::test]
async fn wrong_passwords_for_an_account_from_one_address_do_not_stop_it_from_another() {
    let app = TestApp::new().await;
    for _ in 0..5 {
        assert_eq!(login_from(&app, "192.0.2.1", None, "hr", "wrong-password").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_from(&app, "192.0.2.2", None, "hr", PASSWORD).await.status, StatusCode::OK);
    assert_throttled(&login_from(&app, "192.0.2.1", None, "hr", PASSWORD).await, "the address that failed");
}

#[tokio::test]
async fn an_account_attacked_from_many_addresses_refuses_a_second_guess_from_each() {
    let app = TestApp::new().await;
    // One guess from each of eight addresses: the first five fill the account's window, and even after that
    // each new address has its one guess.
    for i in 1..=8 {
        let a = login_from(&app, &format!("198.51.100.{i}"), None, "hr", "wrong-password").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    // No address gets a second guess (not even the right password: it cannot be told apart from a guess).
    for i in 1..=8 {
        let a = login_from(&app, &format!("198.51.100.{i}"), None, "hr", "wrong-password").await;
        assert_throttled(&a, &format!("second guess from address {i}"));
        let a = login_from(&app, &format!("198.51.100.{i}"), None, "hr", PASSWORD).await;
        assert_throttled(&a, &format!("third try from address {i}"));
    }
    // Those addresses may still log in to other accounts (each failed once only).
    assert_eq!(login_from(&app, "198.51.100.1", None, "finance", PASSWORD).await.status, StatusCode::OK);
    // The holder, from an address that did not fail, is let in.
    assert_eq!(login_from(&app, "192.0.2.10", None, "hr", PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_login_body_over_8_kib_is_refused_before_it_is_parsed() {
    let app = TestApp::new().await;
    let big = "x".repeat(16 * 1024);
    // JSON that would parse (and be refused later as too long), and bytes that are no JSON at all: both 413.
    let bodies = [json!({"username": "hr", "password": big}).to_string(), format!("{{{big}")];
    for body in bodies {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let a = app.call(req).await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", String::from_utf8_lossy(&a.body));
        assert!(a.header("content-type").starts_with("application/problem+json"));
    }
    // The web form: a 413 page, before the form (and its anti-forgery token) is even looked at.
    let form = format!("username=hr&password={big}&csrf=x&next=%2F");
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", "dangan_login=x")
        .body(Body::from(form))
        .unwrap();
    let a = app.call(req).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.header("content-type").starts_with("text/html"));
    // An ordinary login still fits.
    app.login("hr").await;
}
