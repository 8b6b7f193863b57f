//! Accounts and sessions. Passwords are stored as Argon2id PHC strings; session tokens are random, shown to
//! the client once, and stored only as keyed hashes with an expiry. Failed logins are throttled per account
//! and per source address. Usernames are found through a keyed hash too, so the store's keys reveal no names.

use super::{Accounts, Sessions};
use super::{Archive, Error, Result};
use crate::crypto::{encode_hex, random_bytes};
use crate::model::AuditAction;
use crate::model::{PersonId, Role, User, UserId, now_ts};
use crate::store::Table;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The account.
    pub user: User,
    /// What the rules see of it (roles, department, own dossier, relatives).
    pub subject: crate::model::policy::Subject,
    /// Where the request came from (for throttling and, later, the audit trail).
    pub source: String,
}

impl Principal {
    /// A principal for work done on the server's own command line or by the demo loader: it acts as HR (to
    /// create and file records through the ordinary, checked paths) and is recorded in the trail as `username`.
    pub(crate) fn local(username: &str, display_name: &str) -> Principal {
        Principal {
            user: User {
                id: UserId::new(),
                username: username.into(),
                display_name: display_name.into(),
                roles: vec![Role::Hr],
                department: Some("hr".into()),
                person_id: None,
                leader_level: None,
                password_hash: String::new(),
                disabled: false,
                created_at: now_ts(),
                must_change_password: false,
                totp_secret: None,
                totp_pending: None,
                clearance: None,
            },
            // The server's own command line is trusted with every 密级.
            subject: crate::model::policy::Subject {
                roles: vec![Role::Hr],
                clearance: crate::model::user::MAX_SECRECY,
                ..Default::default()
            },
            source: "local".into(),
        }
    }
}

/// A stored session.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Session {
    user_id: UserId,
    created_at: i64,
    expires_at: i64,
}

/// What a new account needs.
#[derive(Clone, Debug, Deserialize)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Password (the password policy: [`check_password`]).
    pub password: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Department code.
    pub department: Option<String>,
    /// Linked person record.
    pub person_id: Option<PersonId>,
    /// Leader level.
    pub leader_level: Option<u8>,
}

/// Failed-login bookkeeping (in memory: a restart forgives, which a throttle may).
///
/// Failures slow the account and the address separately, so that neither can be turned against users:
/// * an address with `max` recent failures (for any accounts) is refused;
/// * an account with `max` recent failures (from anywhere) is refused only from the addresses that have
///   themselves failed for it recently. Someone guessing from many addresses gets one guess per address and
///   window, and the holder, logging in from an address that did not fail, is never refused for others'
///   failures.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<FailureKey, Vec<Instant>>>,
}

/// What a failure counts against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum FailureKey {
    /// A source address, whatever the account.
    Address(String),
    /// An account (its lower-cased name), whatever the address.
    Account(String),
    /// An account from one address.
    AccountFrom(String, String),
}

/// Most keys the throttle holds; beyond it the stalest are forgotten first.
const THROTTLE_KEYS: usize = 100_000;

impl Throttle {
    fn keys(username: &str, source: &str) -> [FailureKey; 3] {
        let name = username.trim().to_lowercase();
        [
            FailureKey::Address(source.to_string()),
            FailureKey::AccountFrom(name.clone(), source.to_string()),
            FailureKey::Account(name),
        ]
    }

    /// Refuses a login of `username` from `source` while it is throttled, saying for how long.
    fn check(&self, username: &str, source: &str, max: u32, window: Duration) -> Result<()> {
        let [address, pair, account] = Self::keys(username, source);
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        // How long until fewer than `n` failures of `key` are recent (`None`: already fewer).
        let mut wait = |key: &FailureKey, n: usize| -> Option<Duration> {
            let v = map.get_mut(key)?;
            v.retain(|t| now.duration_since(*t) < window);
            let n = n.max(1);
            (v.len() >= n).then(|| window.saturating_sub(now.duration_since(v[v.len() - n])))
        };
        let max = max as usize;
        let by_address = wait(&address, max);
        let by_account = match (wait(&account, max), wait(&pair, 1)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            _ => None,
        };
        match by_address.into_iter().chain(by_account).max() {
            Some(d) => Err(Error::TooManyAttempts { retry_after: d.as_secs().max(1) }),
            None => Ok(()),
        }
    }

    /// Records a failed login of `username` from `source`.
    fn fail(&self, username: &str, source: &str, max: u32, window: Duration) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() + 3 > THROTTLE_KEYS {
            map.retain(|_, v| {
                v.retain(|t| now.duration_since(*t) < window);
                !v.is_empty()
            });
            if map.len() + 3 > THROTTLE_KEYS {
                // Still full of recent failures: forget the quarter whose last failure is oldest.
                let mut last: Vec<Instant> = map.values().filter_map(|v| v.last().copied()).collect();
                last.sort_unstable();
                let cut = last[last.len() / 4];
                map.retain(|_, v| v.last().is_some_and(|t| *t > cut));
            }
        }
        // Only the newest `max` failures of a key decide anything: keep no more.
        let keep = (max as usize).max(1);
        for k in Self::keys(username, source) {
            let v = map.entry(k).or_default();
            v.push(now);
            if v.len() > keep {
                v.drain(..v.len() - keep);
            }
        }
    }

    /// A successful login forgives the failures of this account from this address (not the account's
    /// failures elsewhere, nor the address's for other accounts).
    fn succeed(&self, username: &str, source: &str) {
        let [_, pair, _] = Self::keys(username, source);
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&pair);
    }
}

/// Passwords too common to allow, whatever their length (the start of the usual leaked-password lists, and
/// the words of this product and its demo).
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "12345678910",
    "0123456789",
    "1111111111",
    "0000000000",
    "1234512345",
    "1q2w3e4r5t",
    "qwertyuiop",
    "qwerty1234",
    "1qaz2wsx3edc",
    "qazwsxedc123",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "p@ssw0rd123",
    "abc1234567",
    "abcd123456",
    "iloveyou123",
    "woaini1314",
    "woaini520",
    "a123456789",
    "aa12345678",
    "88888888888",
    "66666666666",
    "5201314520",
    "administrator",
    "admin12345",
    "admin@123456",
    "changeme123",
    "welcome123",
    "letmein1234",
    "dangan12345",
    "dangan-pass",
    "demo-pass123",
];

/// The password policy: at least 10 characters, not the username (nor containing it), not a common password.
pub fn check_password(username: &str, password: &str) -> Result<()> {
    let lower = password.to_lowercase();
    let user = username.trim().to_lowercase();
    if password.chars().count() < 10 {
        return Err(Error::invalid("password", "at least 10 characters"));
    }
    if password.chars().count() > 256 {
        return Err(Error::invalid("password", "at most 256 characters"));
    }
    if user.chars().count() >= 3 && lower.contains(&user) {
        return Err(Error::invalid("password", "the password may not contain the username"));
    }
    if COMMON_PASSWORDS.contains(&lower.as_str()) || lower.chars().all(|c| lower.starts_with(c)) {
        return Err(Error::invalid("password", "this password is too common; choose another"));
    }
    Ok(())
}

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String> {
    let salt_bytes = random_bytes::<16>().map_err(|e| Error::Internal(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| Error::Internal(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(e.to_string()))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the account does not exist, so timing does not tell which names exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0OKnUr8MZgQdqiBnBOnq0E0b5m6QkKpT6FujxHzT5ao";

/// TOTP (RFC 6238 over HOTP, RFC 4226): HMAC-SHA1, 30-second steps, six digits — what every authenticator
/// app speaks.
pub mod totp {
    use hmac::{Hmac, Mac};

    /// The code of `secret` for the 30-second step holding `unix_secs`.
    pub fn code(secret: &[u8], unix_secs: u64) -> u32 {
        let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else { return u32::MAX };
        mac.update(&(unix_secs / 30).to_be_bytes());
        let h = mac.finalize().into_bytes();
        let offset = usize::from(h[19] & 0x0f);
        let bin = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
        bin % 1_000_000
    }

    /// Whether `presented` is the code of this step or of the one before or after (clocks drift).
    pub fn verify(secret: &[u8], presented: &str, unix_secs: u64) -> bool {
        let presented = presented.trim();
        if presented.len() != 6 || !presented.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let want: u32 = presented.parse().unwrap_or(u32::MAX);
        [unix_secs.saturating_sub(30), unix_secs, unix_secs + 30].iter().any(|t| code(secret, *t) == want)
    }

    /// RFC 4648 base32 without padding: how authenticator apps take a secret.
    pub fn base32(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for b in bytes {
            buffer = (buffer << 8) | u32::from(*b);
            bits += 8;
            while bits >= 5 {
                out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
                bits -= 5;
            }
        }
        if bits > 0 {
            out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
        }
        out
    }
}

/// A second factor handed out: the secret for the authenticator app, as text and as an `otpauth://` URI.
#[derive(Clone, Debug, Serialize)]
pub struct TotpEnrolment {
    /// Base32 secret.
    pub secret: String,
    /// `otpauth://totp/…` (for a QR code).
    pub otpauth: String,
}

impl Sessions<'_> {
    /// The caller's own account as stored now (its principal may be older than a change made since).
    fn own_account(&self, p: &Principal) -> Result<User> {
        self.store()
            .get(Table::Users, p.user.id.as_bytes())?
            .ok_or_else(|| Error::Unauthorized("the account no longer exists".into()))
    }

    /// Starts enrolling the caller in the second factor (TOTP): a fresh secret, kept pending until
    /// [`Sessions::confirm_totp`] sees a code made from it.
    pub fn begin_totp(&self, p: &Principal) -> Result<TotpEnrolment> {
        self.audited(p, AuditAction::UserTotpBegin, &format!("user:{}", p.user.username), true, || {
            let secret = random_bytes::<20>().map_err(|e| Error::Internal(e.to_string()))?;
            let _guard = self.lock();
            let mut u = self.own_account(p)?;
            u.totp_pending = Some(encode_hex(&secret));
            let mut ws = self.store().write_set();
            ws.put(Table::Users, u.id.as_bytes().to_vec(), &u)?;
            self.commit_audited(ws, p, AuditAction::UserTotpBegin, &format!("user:{}", u.username), None)?;
            let b32 = totp::base32(&secret);
            let otpauth = format!(
                "otpauth://totp/dangan:{}?secret={b32}&issuer=dangan&algorithm=SHA1&digits=6&period=30",
                u.username
            );
            Ok((TotpEnrolment { secret: b32, otpauth }, None))
        })
    }

    /// Confirms the pending second factor with a code from the authenticator app; from then on every sign-in
    /// needs a code too.
    pub fn confirm_totp(&self, p: &Principal, code: &str) -> Result<User> {
        self.audited(p, AuditAction::UserTotpConfirm, &format!("user:{}", p.user.username), true, || {
            let _guard = self.lock();
            let mut u = self.own_account(p)?;
            let pending = u.totp_pending.clone().ok_or_else(|| {
                Error::Conflict("no second factor is being set up (POST /api/v1/me/totp first)".into())
            })?;
            let secret = crate::crypto::decode_hex(&pending).unwrap_or_default();
            if !totp::verify(&secret, code, now_ts().max(0) as u64) {
                return Err(Error::invalid("code", "this is not the current code of the authenticator app"));
            }
            u.totp_secret = Some(pending);
            u.totp_pending = None;
            let mut ws = self.store().write_set();
            ws.put(Table::Users, u.id.as_bytes().to_vec(), &u)?;
            self.commit_audited(ws, p, AuditAction::UserTotpConfirm, &format!("user:{}", u.username), None)?;
            Ok((u, None))
        })
    }

    /// The caller changes their own password (`current` must be right; the new one follows the password
    /// policy and differs from the current). Clears a pending forced change and ends the account's other
    /// sessions.
    pub fn change_own_password(&self, p: &Principal, token: &str, current: &str, new: &str) -> Result<User> {
        self.audited(p, AuditAction::UserPassword, &format!("user:{}", p.user.username), true, || {
            // Wrong current passwords count as failed logins: a stolen session cannot be used to guess the
            // password behind it. Both Argon2 computations run before the write lock is taken.
            let u = self.own_account(p)?;
            let cfg = self.config();
            let (max, window) = (cfg.max_failed_logins, cfg.throttle_window);
            self.inner.throttle.check(&u.username, &p.source, max, window)?;
            if current.len() > 1024 || !verify_password(current, &u.password_hash) {
                self.inner.throttle.fail(&u.username, &p.source, max, window);
                return Err(Error::Forbidden("rule password.current: the current password is not right".into()));
            }
            check_password(&u.username, new)?;
            if new == current {
                return Err(Error::invalid("new", "choose a password other than the current one"));
            }
            let hash = hash_password(new)?;
            let _guard = self.lock();
            let mut u = self.own_account(p)?;
            u.password_hash = hash;
            u.must_change_password = false;
            let mut ws = self.store().write_set();
            ws.put(Table::Users, u.id.as_bytes().to_vec(), &u)?;
            let keep = self.store().keys().token_digest(token).to_vec();
            let ended = self.stage_end_sessions(&mut ws, u.id, Some(&keep))?;
            self.commit_audited(
                ws,
                p,
                AuditAction::UserPassword,
                &format!("user:{}", u.username),
                Some(format!("other sessions ended: {ended}")),
            )?;
            Ok((u, None))
        })
    }

    /// Checks a username and password; returns a new session token and the account. An account with a second
    /// factor needs [`Sessions::login_with_code`].
    pub fn login(&self, username: &str, password: &str, source: &str) -> Result<(String, User)> {
        self.login_with_code(username, password, None, source)
    }

    /// Checks a username, password and — for an account with a second factor — the current TOTP code.
    pub fn login_with_code(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
        source: &str,
    ) -> Result<(String, User)> {
        let cfg = self.config();
        let (max, window) = (cfg.max_failed_logins, cfg.throttle_window);
        if let Err(e) = self.inner.throttle.check(username, source, max, window) {
            self.audit_login(username, source, super::audit::Outcome::Denied, Some("throttled".into()))?;
            return Err(e);
        }
        let user = self.accounts().user_by_name(username)?;
        let ok = match &user {
            Some(u) => verify_password(password, &u.password_hash) && !u.disabled,
            None => {
                verify_password(password, DUMMY_HASH);
                false
            }
        };
        let Some(user) = user.filter(|_| ok) else {
            self.operations().metrics().login_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.throttle.fail(username, source, max, window);
            self.audit_login(
                username,
                source,
                super::audit::Outcome::Denied,
                Some("wrong username or password".into()),
            )?;
            return Err(Error::Unauthorized("wrong username or password".into()));
        };
        if let Some(secret) = &user.totp_secret {
            let secret = crate::crypto::decode_hex(secret).unwrap_or_default();
            let good = code.is_some_and(|c| totp::verify(&secret, c, now_ts().max(0) as u64));
            if !good {
                self.operations().metrics().login_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.inner.throttle.fail(username, source, max, window);
                let why = if code.is_none() { "one-time code required" } else { "wrong one-time code" };
                self.audit_login(username, source, super::audit::Outcome::Denied, Some(why.into()))?;
                return Err(Error::Unauthorized(format!(
                    "{why}: this account signs in with the code of its authenticator app (\"otp\")"
                )));
            }
        }
        self.inner.throttle.succeed(username, source);
        let token = format!("dg_{}", encode_hex(&random_bytes::<32>().map_err(|e| Error::Internal(e.to_string()))?));
        let now = now_ts();
        let session = Session { user_id: user.id, created_at: now, expires_at: now + cfg.session_ttl.as_secs() as i64 };
        let mut ws = self.store().write_set();
        ws.put(Table::Sessions, self.store().keys().token_digest(&token).to_vec(), &session)?;
        let principal = Principal { subject: self.subject_for(&user)?, user: user.clone(), source: source.to_string() };
        self.commit_audited(ws, &principal, AuditAction::AuthLogin, &format!("user:{}", user.username), None)?;
        Ok((token, user))
    }

    /// Resolves a bearer token to its principal.
    pub fn authenticate(&self, token: &str, source: &str) -> Result<Principal> {
        let unauthorized = || Error::Unauthorized("missing, invalid or expired token".into());
        if token.len() > 200 {
            return Err(unauthorized());
        }
        let digest = self.store().keys().token_digest(token);
        let session: Session = self.store().get(Table::Sessions, &digest)?.ok_or_else(unauthorized)?;
        if session.expires_at <= now_ts() {
            let mut ws = self.store().write_set();
            ws.delete(Table::Sessions, digest.to_vec());
            self.store().commit(ws)?;
            return Err(unauthorized());
        }
        let user: User = self.store().get(Table::Users, session.user_id.as_bytes())?.ok_or_else(unauthorized)?;
        if user.disabled {
            return Err(unauthorized());
        }
        let subject = self.subject_for(&user)?;
        Ok(Principal { user, subject, source: source.to_string() })
    }

    /// The anti-forgery token of a session, which the web UI's forms carry: a keyed hash of the session token
    /// (domain-separated from the session's stored key), so it needs no storage, ends with the session and tells
    /// nothing about the session token itself.
    pub fn csrf_token(&self, session_token: &str) -> String {
        encode_hex(&self.store().keys().token_digest(&format!("csrf:{session_token}")))
    }

    /// Whether a form's anti-forgery token is the one of this session (constant-time).
    pub fn check_csrf(&self, session_token: &str, presented: &str) -> bool {
        crate::crypto::ct_eq(self.csrf_token(session_token).as_bytes(), presented.as_bytes())
    }

    /// Ends a session.
    pub fn logout(&self, token: &str) -> Result<()> {
        let mut ws = self.store().write_set();
        ws.delete(Table::Sessions, self.store().keys().token_digest(token).to_vec());
        self.store().commit(ws).map_err(Into::into)
    }
}

impl Archive {
    fn name_key(&self, username: &str) -> Vec<u8> {
        self.store().keys().token_digest(&format!("username:{username}")).to_vec()
    }

    /// Stages the end of an account's sessions (all but `keep`); returns how many.
    pub(crate) fn stage_end_sessions(
        &self,
        ws: &mut crate::store::WriteSet,
        user: UserId,
        keep: Option<&[u8]>,
    ) -> Result<usize> {
        let mut ended = 0;
        for (k, session) in self.store().scan::<Session>(Table::Sessions, b"")? {
            if session.user_id == user && keep != Some(k.as_slice()) {
                ws.delete(Table::Sessions, k);
                ended += 1;
            }
        }
        Ok(ended)
    }
}

impl Accounts<'_> {
    /// Creates an account from the local command line: recorded in the audit trail as the act of `system`.
    /// Refuses duplicates, weak passwords and role sets that break 三员分立.
    pub fn create_user(&self, new: NewUser) -> Result<User> {
        check_password(&new.username, &new.password)?;
        self.create_user_by(new, "system", "local", false)
    }

    /// Creates a demo or test account: as [`Accounts::create_user`], but the password policy is not applied
    /// (every demo account signs in with `demo-pass`).
    pub fn create_demo_user(&self, new: NewUser) -> Result<User> {
        self.create_user_by(new, "system", "local", false)
    }

    /// Creates an account, recording who did it in the same commit. `temporary`: the password was chosen by
    /// someone else, and the holder must set their own at first login.
    pub(crate) fn create_user_by(&self, new: NewUser, actor: &str, source: &str, temporary: bool) -> Result<User> {
        let username = new.username.trim().to_lowercase();
        if !User::valid_username(&username) {
            return Err(Error::invalid("username", "1–64 characters of a-z, 0-9, '-', '_', '.'"));
        }
        if new.password.chars().count() < 8 || new.password.len() > 1024 {
            return Err(Error::invalid("password", "8–1024 characters"));
        }
        Role::check_separation(&new.roles).map_err(|e| Error::invalid("roles", e))?;
        if new.roles.contains(&Role::Leader) && !matches!(new.leader_level, Some(1..)) {
            return Err(Error::invalid("leader_level", "a leader account names its approval level (1, 2, …)"));
        }
        let password_hash = hash_password(&new.password)?;
        let _guard = self.lock();
        if let Some(pid) = new.person_id {
            self.check_link(pid, None)?;
        }
        let user = User {
            id: UserId::new(),
            username: username.clone(),
            display_name: new.display_name,
            roles: new.roles,
            department: new.department,
            person_id: new.person_id,
            leader_level: new.leader_level,
            password_hash,
            disabled: false,
            created_at: now_ts(),
            must_change_password: temporary,
            totp_secret: None,
            totp_pending: None,
            clearance: None,
        };
        let nk = self.name_key(&username);
        if self.store().contains(Table::UserNames, &nk)? {
            return Err(Error::Conflict(format!("user {username} exists")));
        }
        let mut ws = self.store().write_set();
        ws.put(Table::Users, user.id.as_bytes().to_vec(), &user)?;
        ws.put(Table::UserNames, nk, &user.id)?;
        let event = super::audit::AuditEvent {
            actor: actor.into(),
            source: source.into(),
            action: AuditAction::UserCreate.as_str().into(),
            object: format!("user:{username}"),
            outcome: super::audit::Outcome::Allowed,
            detail: Some(format!("roles {:?}", user.roles)),
        };
        self.commit_audited_event(ws, event)?;
        Ok(user)
    }

    /// Checks that a person record may be linked to an account: it exists and no other account holds it.
    pub(crate) fn check_link(&self, person: PersonId, account: Option<UserId>) -> Result<()> {
        if !self.store().contains(Table::Persons, person.as_bytes())? {
            return Err(Error::invalid("person_id", format!("no person record {person}")));
        }
        if let Some(other) = self.users()?.into_iter().find(|u| u.person_id == Some(person) && Some(u.id) != account) {
            return Err(Error::Conflict(format!(
                "the person record is already linked to the account {}",
                other.username
            )));
        }
        Ok(())
    }

    /// Creates a minimal person record (name and department) for an account's holder from the local command
    /// line — a fresh installation's first accounts need a dossier of their own before they may read anything;
    /// HR completes it later through requests. Recorded in the trail as the act of `system`.
    pub fn create_holder_record(&self, name: &str, department: &str) -> Result<PersonId> {
        let system = Principal::local("system", "本地命令行");
        let input = serde_json::json!({"name": name, "department": department});
        Ok(self.persons().create(&system, input)?.record.id)
    }

    /// Links an account to its holder's person record from the local command line (`dangan users link`).
    pub fn link_user_local(&self, username: &str, person: PersonId) -> Result<User> {
        let _guard = self.lock();
        let mut u =
            self.user_by_name(username)?.ok_or_else(|| Error::NotFound(format!("user {username} not found")))?;
        self.check_link(person, Some(u.id))?;
        u.person_id = Some(person);
        let mut ws = self.store().write_set();
        ws.put(Table::Users, u.id.as_bytes().to_vec(), &u)?;
        let event = super::audit::AuditEvent {
            actor: "system".into(),
            source: "local".into(),
            action: AuditAction::UserLink.as_str().into(),
            object: format!("user:{}", u.username),
            outcome: super::audit::Outcome::Allowed,
            detail: Some(format!("person:{person}")),
        };
        self.commit_audited_event(ws, event)?;
        Ok(u)
    }

    /// Finds an account by name.
    pub fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let id: Option<UserId> = self.store().get(Table::UserNames, &self.name_key(&username.trim().to_lowercase()))?;
        match id {
            Some(id) => self.store().get(Table::Users, id.as_bytes()).map_err(Into::into),
            None => Ok(None),
        }
    }

    /// All accounts.
    pub fn users(&self) -> Result<Vec<User>> {
        Ok(self.store().scan::<User>(Table::Users, b"")?.into_iter().map(|(_, u)| u).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Extractor;
    use crate::service::Config;

    fn archive() -> Archive {
        crate::bootstrap::in_memory(Extractor::in_thread(Duration::from_secs(5)), Config::default()).unwrap()
    }

    fn new_user(name: &str, roles: Vec<Role>) -> NewUser {
        NewUser {
            username: name.into(),
            display_name: name.into(),
            password: "a-long-enough-pass".into(),
            roles,
            department: None,
            person_id: None,
            leader_level: None,
        }
    }

    #[test]
    fn login_authenticate_logout() {
        let a = archive();
        a.accounts().create_user(new_user("hr", vec![Role::Hr])).unwrap();
        assert!(matches!(a.accounts().create_user(new_user("HR", vec![Role::Hr])), Err(Error::Conflict(_))));
        let (token, user) = a.sessions().login("hr", "a-long-enough-pass", "t").unwrap();
        assert_eq!(user.username, "hr");
        assert_eq!(a.sessions().authenticate(&token, "t").unwrap().user.id, user.id);
        assert!(a.sessions().authenticate("dg_nope", "t").is_err());
        a.sessions().logout(&token).unwrap();
        assert!(a.sessions().authenticate(&token, "t").is_err());
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let a = archive();
        let t = a.sessions().csrf_token("dg_one");
        assert_eq!(t, a.sessions().csrf_token("dg_one"));
        assert_ne!(t, a.sessions().csrf_token("dg_two"));
        assert!(a.sessions().check_csrf("dg_one", &t));
        assert!(!a.sessions().check_csrf("dg_two", &t));
        assert!(!a.sessions().check_csrf("dg_one", ""));
    }

    #[test]
    fn failed_logins_are_throttled() {
        let a = archive();
        a.accounts().create_user(new_user("legal", vec![Role::Legal])).unwrap();
        a.accounts().create_user(new_user("hr", vec![Role::Hr])).unwrap();
        for _ in 0..5 {
            assert!(matches!(a.sessions().login("legal", "wrong-pass", "x"), Err(Error::Unauthorized(_))));
        }
        // The address that failed waits, for every account.
        assert!(matches!(a.sessions().login("legal", "a-long-enough-pass", "x"), Err(Error::TooManyAttempts { .. })));
        assert!(matches!(a.sessions().login("hr", "a-long-enough-pass", "x"), Err(Error::TooManyAttempts { .. })));
        // The holder, from an address that did not fail, does not.
        assert!(a.sessions().login("legal", "a-long-enough-pass", "y").is_ok());
        assert!(a.sessions().login("hr", "a-long-enough-pass", "y").is_ok());
    }

    #[test]
    fn an_account_guessed_from_many_addresses_gets_one_guess_per_address() {
        let a = archive();
        a.accounts().create_user(new_user("hr", vec![Role::Hr])).unwrap();
        for i in 0..5 {
            assert!(matches!(
                a.sessions().login("HR", "wrong-pass", &format!("10.0.0.{i}")),
                Err(Error::Unauthorized(_))
            ));
        }
        // The account has had its five: each address that failed for it waits, even with the right password.
        for i in 0..5 {
            let e = a.sessions().login("hr", "a-long-enough-pass", &format!("10.0.0.{i}"));
            assert!(matches!(e, Err(Error::TooManyAttempts { retry_after }) if retry_after > 0), "{i}");
        }
        // A new address gets one guess; then it waits too.
        assert!(matches!(a.sessions().login("hr", "wrong-pass", "10.0.0.9"), Err(Error::Unauthorized(_))));
        assert!(matches!(a.sessions().login("hr", "wrong-pass", "10.0.0.9"), Err(Error::TooManyAttempts { .. })));
        // The holder, from an address that did not fail, is let in.
        assert!(a.sessions().login("hr", "a-long-enough-pass", "192.0.2.1").is_ok());
        // The throttle forgets after the window.
        let t = Throttle::default();
        for _ in 0..5 {
            t.fail("hr", "x", 5, Duration::from_millis(50));
        }
        assert!(t.check("hr", "x", 5, Duration::from_millis(50)).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.check("hr", "x", 5, Duration::from_millis(50)).is_ok());
    }

    #[test]
    fn the_throttle_stays_bounded() {
        let t = Throttle::default();
        let window = Duration::from_secs(60);
        for i in 0..(THROTTLE_KEYS / 3 + 10) {
            t.fail(&format!("u{i}"), &format!("a{i}"), 5, window);
        }
        assert!(t.failures.lock().unwrap().len() <= THROTTLE_KEYS);
        for _ in 0..100 {
            t.fail("hr", "x", 5, window);
        }
        let map = t.failures.lock().unwrap();
        assert!(map.values().all(|v| v.len() <= 5));
    }

    #[test]
    fn totp_follows_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890": 8-digit 94287082 at T=59 → 6 digits.
        let secret = b"12345678901234567890";
        assert_eq!(totp::code(secret, 59), 287_082);
        assert_eq!(totp::code(secret, 1_111_111_109), 81_804);
        assert!(totp::verify(secret, "081804", 1_111_111_109));
        assert!(totp::verify(secret, "081804", 1_111_111_109 + 30), "one step of drift");
        assert!(!totp::verify(secret, "081804", 1_111_111_109 + 90));
        assert!(!totp::verify(secret, "81804", 1_111_111_109));
        assert_eq!(totp::base32(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn guessing_the_current_password_through_a_session_is_throttled() {
        let a = archive();
        a.accounts().create_user(new_user("legal", vec![Role::Legal])).unwrap();
        let (token, user) = a.sessions().login("legal", "a-long-enough-pass", "x").unwrap();
        let p = a.accounts().principal_for(user, "x").unwrap();
        for _ in 0..5 {
            assert!(matches!(
                a.sessions().change_own_password(&p, &token, "a-wrong-guess", "brand-new-secret"),
                Err(Error::Forbidden(_))
            ));
        }
        assert!(matches!(
            a.sessions().change_own_password(&p, &token, "a-long-enough-pass", "brand-new-secret"),
            Err(Error::TooManyAttempts { .. })
        ));
    }

    #[test]
    fn separation_of_duties_and_weak_passwords() {
        let a = archive();
        assert!(a.accounts().create_user(new_user("x", vec![Role::Auditor, Role::It])).is_err());
        assert!(a.accounts().create_user(new_user("x", vec![Role::It, Role::Hr])).is_err());
        assert!(a.accounts().create_user(new_user("x", vec![Role::Secadmin, Role::Leader])).is_err());
        for weak in ["short", "demo-pass", "1234567890", "yyyyyyyyyyyy", "i-am-the-clerk", "Password123"] {
            let mut u = new_user("clerk", vec![Role::Hr]);
            u.password = weak.into();
            assert!(a.accounts().create_user(u).is_err(), "{weak}");
        }
        assert!(check_password("y", "correct horse battery").is_ok());
        // Demo accounts are exempt from the policy, not from 三员分立.
        let mut demo = new_user("demo", vec![Role::Hr]);
        demo.password = "demo-pass".into();
        assert!(a.accounts().create_demo_user(demo).is_ok());
        assert!(a.accounts().create_demo_user(new_user("x", vec![Role::It, Role::Hr])).is_err());
    }

    #[test]
    fn dummy_hash_is_well_formed() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
