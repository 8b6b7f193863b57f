//! Notifications: whenever a request needs someone (a step opens) or ends (applied, rejected, returned), a
//! notification is put in a durable outbox in the same commit as the change. Users read theirs in the API
//! (`GET /api/v1/notifications`); a background thread delivers every notification to the configured webhooks
//! (the link to an OA system), signed with HMAC-SHA256 and retried with exponential backoff until accepted.

use super::Notifications;
use super::workflows::{Request, STUCK_RECIPIENT};
use super::{Archive, Inner, Principal, Result};
use crate::model::AuditAction;
use crate::model::workflow::StepState;
use crate::model::{PersonId, RequestId, now_ts};
use crate::store::{Table, WriteSet};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// One notification.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Notification {
    /// Id (time-ordered).
    pub id: String,
    /// When (Unix seconds).
    pub at: i64,
    /// `request.step_pending`, `request.applied`, `request.rejected`, `request.returned`.
    pub event: String,
    /// The request.
    pub request_id: RequestId,
    /// Its kind.
    pub kind: String,
    /// The person.
    pub person_id: Option<PersonId>,
    /// The step that waits, for `step_pending`.
    pub step: Option<String>,
    /// Who it is for: a step's assignee (`role:finance`, `head:person`, …) or `user:<name>`.
    pub recipient: String,
    /// Webhooks that accepted it.
    #[serde(default)]
    pub delivered: Vec<String>,
    /// Failed delivery attempts.
    #[serde(default)]
    pub attempts: u32,
    /// Not before (Unix seconds).
    #[serde(default)]
    pub next_attempt: i64,
}

impl Notifications<'_> {
    /// Stages the notifications a request's new state calls for: the assignees of the steps `opened`, the
    /// security administrator and the initiator of the steps `stuck` (nobody eligible may decide them), the
    /// initiator of its end.
    pub(crate) fn stage(&self, ws: &mut WriteSet, r: &Request, opened: &[String], stuck: &[String]) -> Result<()> {
        let now = now_ts();
        let mut put = |event: &str, step: Option<String>, recipient: String| -> Result<()> {
            let id = uuid::Uuid::now_v7();
            let n = Notification {
                id: id.to_string(),
                at: now,
                event: event.into(),
                request_id: r.id,
                kind: r.kind.to_string(),
                person_id: r.person_id,
                step,
                recipient,
                delivered: Vec::new(),
                attempts: 0,
                next_attempt: 0,
            };
            ws.put(Table::Outbox, id.as_bytes().to_vec(), &n)?;
            Ok(())
        };
        for s in r.steps.iter().filter(|s| s.state == StepState::Pending && opened.contains(&s.name)) {
            put("request.step_pending", Some(s.name.clone()), s.assignee.clone())?;
        }
        for s in stuck {
            put("request.step_stuck", Some(s.clone()), STUCK_RECIPIENT.into())?;
            put("request.step_stuck", Some(s.clone()), format!("user:{}", r.initiator))?;
        }
        use crate::model::workflow::RequestState as S;
        let ended = match r.state {
            S::Applied => Some("request.applied"),
            S::Rejected => Some("request.rejected"),
            S::Returned => Some("request.returned"),
            _ => None,
        };
        if let Some(e) = ended {
            put(e, None, format!("user:{}", r.initiator))?;
        }
        Ok(())
    }

    /// The caller's notifications, newest first: those addressed to it (by name, or as the assignee they name),
    /// except about a request whose person a hard rule bars it from (own dossier, recorded relative).
    pub fn list(&self, p: &Principal) -> Result<Vec<Notification>> {
        self.audited(p, AuditAction::RequestRead, "notifications", false, || {
            let mut out = Vec::new();
            for (_, n) in self.store().scan::<Notification>(Table::Outbox, b"")? {
                let Some(r) = self.store().get::<Request>(Table::Requests, n.request_id.as_bytes())? else {
                    continue;
                };
                let mine = match n.recipient.strip_prefix("user:") {
                    Some(u) => u == p.user.username,
                    None => self.requests().is_assignee(p, &r, &n.recipient),
                };
                if mine && !self.requests().barred_from_request(p, self.requests().request_person(&r)?.as_ref()) {
                    out.push(n);
                }
            }
            out.reverse();
            let detail = format!("{} notifications", out.len());
            Ok((out, Some(detail)))
        })
    }

    /// Delivers due notifications to the webhooks; returns how many deliveries succeeded.
    pub fn deliver_webhooks(&self) -> Result<usize> {
        let hooks = &self.config().webhooks;
        if hooks.is_empty() {
            return Ok(0);
        }
        let now = now_ts();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut delivered = 0;
        for (k, mut n) in self.store().scan::<Notification>(Table::Outbox, b"")? {
            if n.next_attempt > now || hooks.iter().all(|h| n.delivered.contains(h)) {
                continue;
            }
            let body = serde_json::json!({
                "id": n.id, "event": n.event, "request_id": n.request_id, "kind": n.kind,
                "person_id": n.person_id, "step": n.step, "recipient": n.recipient,
                "at": crate::model::ts_rfc3339(n.at),
            })
            .to_string();
            let signature = self.config().webhook_secret.as_ref().and_then(|secret| {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).ok()?;
                mac.update(body.as_bytes());
                Some(format!("sha256={}", crate::crypto::encode_hex(&mac.finalize().into_bytes())))
            });
            let mut failed = false;
            let pending: Vec<&String> = hooks.iter().filter(|h| !n.delivered.contains(h)).collect();
            for h in pending {
                let mut req =
                    agent.post(h).header("content-type", "application/json").header("x-dangan-event", &n.event);
                if let Some(sig) = &signature {
                    req = req.header("x-dangan-signature", sig);
                }
                match req.send(&body) {
                    Ok(r) if r.status().is_success() => {
                        n.delivered.push(h.clone());
                        delivered += 1;
                    }
                    Ok(r) => {
                        tracing::warn!(webhook = %h, status = %r.status(), "webhook refused a notification");
                        failed = true;
                    }
                    Err(e) => {
                        tracing::warn!(webhook = %h, error = %e, "webhook unreachable");
                        failed = true;
                    }
                }
            }
            if failed {
                n.attempts += 1;
                n.next_attempt = now + (1i64 << n.attempts.min(12)).min(3600);
            }
            let _guard = self.lock();
            let mut ws = self.store().write_set();
            ws.put(Table::Outbox, k, &n)?;
            self.store().commit(ws)?;
        }
        Ok(delivered)
    }
}

/// Starts the delivery thread (only when webhooks are configured). It holds the archive weakly.
pub(super) fn spawn(archive: Archive) {
    if archive.config().webhooks.is_empty() {
        return;
    }
    let weak: Weak<Inner> = Arc::downgrade(&archive.inner);
    drop(archive);
    let spawned = std::thread::Builder::new().name("dangan-webhooks".into()).spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let Some(inner) = weak.upgrade() else { return };
            if let Err(e) = Archive::for_worker(inner).notifications().deliver_webhooks() {
                tracing::error!(error = %e, "webhook delivery round failed");
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the webhook thread");
    }
}
