//! The audit trail as its users meet it: what is recorded, who reads and verifies it.

use super::{AuditQuery, Outcome};
use crate::model::{AuditAction, Role};
use crate::service::testing::{self, account, denial, file_text, meta};

fn by(actor: &str) -> AuditQuery {
    AuditQuery { actor: Some(actor.into()), ..Default::default() }
}

#[test]
fn a_denial_is_recorded_with_the_rule_that_denied_it() {
    let a = testing::archive();
    let hr = account(&a, "hr", &[Role::Hr], "hr");
    let admin = account(&a, "admin", &[Role::Admin], "admin");
    let auditor = account(&a, "auditor", &[Role::Auditor], "it");
    let person = testing::person(&a, "张三", "sales");
    let id = file_text(&a, person, meta("1", "履历表", &[]), "履历");
    denial(a.persons().get(&hr, hr.user.person_id.unwrap()));
    denial(a.materials().content(&admin, id));

    let (entries, _) = a.audit_trail().query(&auditor, &by("hr")).unwrap();
    let own = entries.iter().find(|e| e.event.action == AuditAction::PersonRead.as_str()).unwrap();
    assert_eq!(own.event.outcome, Outcome::Denied);
    assert_eq!(own.event.object, format!("person:{}", hr.user.person_id.unwrap()));
    assert!(own.event.detail.as_deref().unwrap_or_default().contains("hard.own-dossier"), "{own:?}");

    let q = AuditQuery { outcome: Some(Outcome::Denied), object: Some(format!("material:{id}")), ..by("admin") };
    let (entries, total) = a.audit_trail().query(&auditor, &q).unwrap();
    assert_eq!(total, 1, "{entries:?}");
    assert_eq!(entries[0].event.action, AuditAction::MaterialDownload.as_str());
    assert!(entries[0].event.detail.as_deref().unwrap_or_default().contains("rule no-role.scope"), "{:?}", entries[0]);
}

#[test]
fn a_read_is_recorded_as_allowed_and_the_chain_verifies() {
    let a = testing::archive();
    let hr = account(&a, "hr", &[Role::Hr], "hr");
    let auditor = account(&a, "auditor", &[Role::Auditor], "it");
    let person = testing::person(&a, "李四", "sales");
    let id = file_text(&a, person, meta("1", "履历表", &[]), "履历");
    a.materials().content(&hr, id).unwrap();
    let q = AuditQuery { object: Some(format!("material:{id}")), ..by("hr") };
    let (entries, _) = a.audit_trail().query(&auditor, &q).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].event.action.as_str(), entries[0].event.outcome), ("material.download", Outcome::Allowed));
    // Sequence numbers without gaps, each entry chained to the one before.
    let (all, total) =
        a.audit_trail().query(&auditor, &AuditQuery { limit: Some(1000), ..Default::default() }).unwrap();
    assert_eq!(all.len(), total);
    for pair in all.windows(2) {
        assert_eq!(pair[0].seq, pair[1].seq + 1, "newest first, no gaps");
        assert_eq!(pair[0].prev, pair[1].hash);
    }
    let v = a.audit_trail().verify_as(&auditor).unwrap();
    assert!(v.ok, "{v:?}");
    assert!(v.entries >= total as u64 && v.first_bad.is_none());
    assert_eq!(v.head_hash.len(), 64);
}

#[test]
fn only_the_auditor_reads_and_verifies_the_trail_and_a_refusal_is_recorded_too() {
    let a = testing::archive();
    let auditor = account(&a, "auditor", &[Role::Auditor], "it");
    for (name, role, dept) in [("hr", Role::Hr, "hr"), ("it", Role::It, "it"), ("leader", Role::Leader, "admin")] {
        let p = if role == Role::Leader { testing::leader(&a, name, 1) } else { account(&a, name, &[role], dept) };
        assert!(denial(a.audit_trail().query(&p, &AuditQuery::default())).contains("rule "), "{name} queried");
        assert!(denial(a.audit_trail().verify_as(&p)).contains("rule "), "{name} verified");
        assert!(denial(a.audit_trail().checkpoints(&p)).contains("rule "), "{name} read the checkpoints");
        let q = AuditQuery { action: Some("audit.*".into()), ..by(name) };
        let (entries, _) = a.audit_trail().query(&auditor, &q).unwrap();
        assert_eq!(entries.len(), 3, "{name}: {entries:?}");
        assert!(entries.iter().all(|e| e.event.outcome == Outcome::Denied));
    }
}

#[test]
fn the_security_administrator_reads_only_what_the_auditors_did() {
    let a = testing::archive();
    let hr = account(&a, "hr", &[Role::Hr], "hr");
    let auditor = account(&a, "auditor", &[Role::Auditor], "it");
    let secadmin = account(&a, "secadmin", &[Role::Secadmin], "it");
    let person = testing::person(&a, "王五", "sales");
    a.persons().get(&hr, person).unwrap();
    a.audit_trail().verify_as(&auditor).unwrap();
    let (entries, _) = a.audit_trail().query(&secadmin, &AuditQuery::default()).unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e.event.actor == "auditor"), "{entries:?}");
    let (none, total) = a.audit_trail().query(&secadmin, &by("hr")).unwrap();
    assert_eq!((none.len(), total), (0, 0));
}
