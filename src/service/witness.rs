//! The audit trail's witness outside the store. The trail proves that nothing was removed, altered or
//! reordered *inside* it, but not that the whole store was not put back to an older state: an old sealed head
//! (every backup holds one) written back over a cut-off trail, or an older backup restored, verifies on its own.
//! So the server also tells someone else how far the trail has come, as it goes:
//!
//! * a **witness file** at a configured path outside the data directory, append-only, one JSON line per
//!   witnessed point, each fsynced: every checkpoint (every 256 entries) as it is made, the head at start, the
//!   head at a clean stop, and a security administrator's acknowledgement of a rollback;
//! * the same line, best effort, to the **system log** (`/dev/log`, RFC 3164 as the C library writes it,
//!   facility authpriv).
//!
//! Each line is signed with the installation's key (Ed25519, or SM2 under the 国密 suite) (the one of its transfer packages, `dangan keys
//! show`), so a line cannot be made up or changed without the key, and anyone holding the public key can check
//! it. `audit verify` compares the trail with the witness and names a witnessed point the trail ends before or
//! differs from, and a line that does not verify; the server compares the store's head with the witness at
//! start and, if the store is behind it, serves nothing but sign-in and the acknowledgement until the security
//! administrator acknowledges (which is then the first entry of the resumed trail and a witness line of its
//! own, superseding the lines before it).

use super::AuditTrail;
use super::audit::{AuditEvent, Outcome};
use super::{Error, Principal, Result};
use crate::crypto::{Keys, verify_signature_hex};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// DO NOT CHANGE: the first line of the text a witness line's signature covers.
const SIGNED_TITLE: &str = "dangan audit witness v1";

/// What a witness line records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WitnessKind {
    /// A checkpoint (every 256 entries), as it was made.
    Checkpoint,
    /// The head when the server started.
    Start,
    /// The head at a clean stop.
    Stop,
    /// The security administrator acknowledged that the store was behind its witness: the head is the
    /// acknowledgement's own entry, the first of the resumed trail. Lines before it are superseded.
    Acknowledge,
}

impl WitnessKind {
    fn name(self) -> &'static str {
        match self {
            WitnessKind::Checkpoint => "checkpoint",
            WitnessKind::Start => "start",
            WitnessKind::Stop => "stop",
            WitnessKind::Acknowledge => "acknowledge",
        }
    }

    fn described(self) -> &'static str {
        match self {
            WitnessKind::Checkpoint => "checkpoint",
            WitnessKind::Start => "head at start",
            WitnessKind::Stop => "head at a clean stop",
            WitnessKind::Acknowledge => "acknowledgement",
        }
    }
}

/// A place in the trail: an entry's sequence number and hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Sequence number.
    pub seq: u64,
    /// That entry's hash (hex).
    pub hash: String,
}

/// One line of a witness file:
/// `{"kind":"checkpoint","seq":512,"hash":"…","at":1764400000000,"key":"ed25519:…","sig":"…"}`, with
/// `"behind":{"seq","hash"}` on an acknowledgement (the witnessed point the trail had fallen behind).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessLine {
    /// What it records.
    pub kind: WitnessKind,
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's hash (hex).
    pub hash: String,
    /// When (Unix milliseconds): the checkpoint entry's time, or when the line was written.
    pub at: i64,
    /// On an acknowledgement: the witnessed point the trail had fallen behind (or differed from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind: Option<Point>,
    /// The installation's public key, `ed25519:<hex>` or `sm2:<hex>`.
    pub key: String,
    /// Signature (hex, Ed25519 or SM2) of [`signed_text`].
    pub sig: String,
}

/// DO NOT CHANGE: the text a witness line's signature covers, one field a line:
/// `dangan audit witness v1`, kind, sequence number, hash, time (Unix ms), and for an acknowledgement the
/// sequence number and hash it was behind (empty lines otherwise). A checkpoint served by
/// `GET /api/v1/audit/checkpoints` carries the signature of the same text (kind `checkpoint`).
pub fn signed_text(kind: WitnessKind, seq: u64, hash: &str, at: i64, behind: Option<&Point>) -> String {
    let (bs, bh) = match behind {
        Some(b) => (b.seq.to_string(), b.hash.as_str()),
        None => (String::new(), ""),
    };
    format!("{SIGNED_TITLE}\n{}\n{seq}\n{hash}\n{at}\n{bs}\n{bh}", kind.name())
}

impl WitnessLine {
    /// A line signed with the installation's key.
    pub fn signed(keys: &Keys, kind: WitnessKind, point: &Point, at: i64, behind: Option<Point>) -> Self {
        let sig = keys.sign_hex(signed_text(kind, point.seq, &point.hash, at, behind.as_ref()).as_bytes());
        WitnessLine { kind, seq: point.seq, hash: point.hash.clone(), at, behind, key: keys.signing_public(), sig }
    }

    /// Whether the line carries `public_hex`'s signature of what it says.
    pub fn verifies(&self, public_hex: &str) -> bool {
        let key = crate::crypto::unlabelled_key(&self.key);
        key.eq_ignore_ascii_case(public_hex)
            && verify_signature_hex(
                public_hex,
                signed_text(self.kind, self.seq, &self.hash, self.at, self.behind.as_ref()).as_bytes(),
                &self.sig,
            )
    }

    fn witnessed(&self, line: usize) -> Witnessed {
        Witnessed { line, kind: self.kind, seq: self.seq, hash: self.hash.clone(), at: self.at }
    }
}

/// A witness as read: each line's number (from 1) and the line, or why it is not one.
pub type WitnessLines = Vec<(usize, std::result::Result<WitnessLine, String>)>;

/// A checkpoint as `GET /api/v1/audit/checkpoints` serves it: with the signature of its witness line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    /// Sequence number.
    pub seq: u64,
    /// Hash of that entry.
    pub hash: String,
    /// When the entry was made (Unix milliseconds).
    pub at: i64,
    /// Signature (hex, Ed25519 or SM2) of [`signed_text`] with kind `checkpoint`.
    pub signature: String,
}

/// The checkpoints as the auditor downloads them: also a witness for `dangan audit verify --witness`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedCheckpoints {
    /// Every checkpoint, oldest first.
    pub items: Vec<SignedCheckpoint>,
    /// How many.
    pub total: usize,
    /// The installation's public key, `ed25519:<hex>` or `sm2:<hex>`.
    pub public_key: String,
}

/// Parses a witness: a witness file (JSON lines), or a checkpoints document downloaded from
/// `GET /api/v1/audit/checkpoints`. A last line cut short (a crash while it was written) is left out.
pub fn parse_witness(text: &str) -> WitnessLines {
    if let Ok(doc) = serde_json::from_str::<SignedCheckpoints>(text) {
        return doc
            .items
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let line = WitnessLine {
                    kind: WitnessKind::Checkpoint,
                    seq: c.seq,
                    hash: c.hash,
                    at: c.at,
                    behind: None,
                    key: doc.public_key.clone(),
                    sig: c.signature,
                };
                (i + 1, Ok(line))
            })
            .collect();
    }
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.len();
    lines
        .into_iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .filter_map(|(i, l)| match serde_json::from_str::<WitnessLine>(l) {
            Ok(w) => Some((i + 1, Ok(w))),
            Err(_) if i + 1 == last && !complete => None,
            Err(e) => Some((i + 1, Err(format!("not a witness line: {e}")))),
        })
        .collect()
}

/// Reads a witness file (or a downloaded checkpoints document); an absent file is an empty witness.
pub fn read_witness(path: &Path) -> Result<WitnessLines> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_witness(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::Internal(format!("cannot read the audit witness {}: {e}", path.display()))),
    }
}

/// A witnessed point, named: its line in the witness, what it records, where and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witnessed {
    /// Line number in the witness (from 1).
    pub line: usize,
    /// What the line records.
    pub kind: WitnessKind,
    /// Sequence number.
    pub seq: u64,
    /// Hash (hex).
    pub hash: String,
    /// When (Unix milliseconds).
    pub at: i64,
}

impl std::fmt::Display for Witnessed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the witnessed {} at entry {} (hash {}, {}, witness line {})",
            self.kind.described(),
            self.seq,
            self.hash,
            crate::model::ts_rfc3339(self.at.div_euclid(1000)),
            self.line
        )
    }
}

/// How a trail disagrees with its witness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    /// The trail ends before a witnessed point: entries were removed, or an older state restored.
    Behind,
    /// The trail holds another entry where a point was witnessed: it was replaced from there on.
    Differs,
    /// A witness line does not verify: the witness was altered, or is another installation's.
    Unverified,
}

/// Where a trail disagrees with its witness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// How.
    pub kind: ConflictKind,
    /// The witnessed point (for a line that does not even parse, none).
    pub witnessed: Option<Witnessed>,
    /// The witness line concerned.
    pub line: usize,
    /// The last entry of the trail.
    pub trail_end: u64,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.kind, &self.witnessed) {
            (ConflictKind::Behind, Some(w)) => write!(
                f,
                "the trail ends at entry {}, before {w}: entries were removed or an older state (a backup) was \
                 restored",
                self.trail_end
            ),
            (ConflictKind::Differs, Some(w)) => {
                write!(f, "the trail's entry {} differs from {w}: the trail was replaced from there on", w.seq)
            }
            _ => write!(
                f,
                "witness line {} does not verify (signature): the witness was altered or is another \
                 installation's",
                self.line
            ),
        }
    }
}

/// An acknowledged rollback, as the witness records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Acknowledged {
    /// The acknowledgement's entry (the first of the resumed trail) and its witness line.
    pub entry: Witnessed,
    /// The witnessed point the trail had fallen behind.
    pub behind: Option<Point>,
}

/// What the witness says about a trail (part of `audit verify`'s answer).
#[derive(Clone, Debug, Default, Serialize)]
pub struct WitnessReport {
    /// The installation key the lines must carry, `ed25519:<hex>` or `sm2:<hex>`.
    pub key: String,
    /// Lines read.
    pub lines: usize,
    /// Lines compared with the trail (from the last acknowledgement on).
    pub compared: usize,
    /// The newest witnessed point compared.
    pub newest: Option<Witnessed>,
    /// The first disagreement, if any.
    pub conflict: Option<Conflict>,
    /// Lines that do not verify (number and why).
    pub unverified: Vec<UnverifiedLine>,
    /// Rollbacks the security administrator acknowledged.
    pub acknowledged: Vec<Acknowledged>,
}

/// A witness line that does not verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnverifiedLine {
    /// Line number (from 1).
    pub line: usize,
    /// Why.
    pub problem: String,
}

impl WitnessReport {
    /// Whether the trail agrees with every line and every line verifies.
    pub fn ok(&self) -> bool {
        self.conflict.is_none() && self.unverified.is_empty()
    }
}

/// Compares a trail ending at `end` with its witness. `hash_at` gives the trail's hash at a sequence number
/// (at most `end.seq`). With `every`, each witnessed point is compared (verification); without, the newest
/// only (at start: the chain commits to everything before it).
pub fn compare(
    lines: &WitnessLines,
    public_hex: &str,
    end: &Point,
    every: bool,
    mut hash_at: impl FnMut(u64) -> Result<Option<String>>,
) -> Result<WitnessReport> {
    let mut r =
        WitnessReport { key: crate::crypto::labelled_key(public_hex), lines: lines.len(), ..Default::default() };
    let mut valid: Vec<(usize, &WitnessLine)> = Vec::new();
    for (n, l) in lines {
        match l {
            Ok(w) if w.verifies(public_hex) => valid.push((*n, w)),
            Ok(_) => r.unverified.push(UnverifiedLine {
                line: *n,
                problem: "the signature does not verify with this installation's key".into(),
            }),
            Err(e) => r.unverified.push(UnverifiedLine { line: *n, problem: e.clone() }),
        }
    }
    // An acknowledgement supersedes the lines before it: its own entry commits to the trail it resumed.
    let last_ack = valid.iter().rposition(|(_, w)| w.kind == WitnessKind::Acknowledge);
    for (n, w) in &valid {
        if w.kind == WitnessKind::Acknowledge {
            r.acknowledged.push(Acknowledged { entry: w.witnessed(*n), behind: w.behind.clone() });
        }
    }
    let from_line = last_ack.map(|i| valid[i].0).unwrap_or(0);
    let effective: Vec<(usize, &WitnessLine)> = last_ack.map(|i| valid[i..].to_vec()).unwrap_or(valid);
    r.compared = effective.len();
    // A line after the last acknowledgement that does not verify cannot be compared: the witness was altered.
    if let Some(u) = r.unverified.iter().find(|u| u.line > from_line) {
        let witnessed =
            lines.iter().find(|(n, _)| *n == u.line).and_then(|(n, l)| l.as_ref().ok().map(|w| w.witnessed(*n)));
        r.conflict = Some(Conflict { kind: ConflictKind::Unverified, witnessed, line: u.line, trail_end: end.seq });
    }
    let Some(&(newest_line, newest)) = effective.iter().max_by_key(|(n, w)| (w.seq, *n)) else { return Ok(r) };
    r.newest = Some(newest.witnessed(newest_line));
    if r.conflict.is_some() {
        return Ok(r);
    }
    if newest.seq > end.seq {
        r.conflict = Some(Conflict {
            kind: ConflictKind::Behind,
            witnessed: Some(newest.witnessed(newest_line)),
            line: newest_line,
            trail_end: end.seq,
        });
        return Ok(r);
    }
    let mut points: Vec<(usize, &WitnessLine)> = if every { effective } else { vec![(newest_line, newest)] };
    points.sort_by_key(|(n, w)| (w.seq, *n));
    for (n, w) in points {
        let held = match w.seq {
            s if s == end.seq => Some(end.hash.clone()),
            // Before the first entry: the chain starts from zeros.
            0 => Some(crate::crypto::encode_hex(&[0u8; 32])),
            s => hash_at(s)?,
        };
        if held.as_deref() != Some(w.hash.as_str()) {
            r.conflict = Some(Conflict {
                kind: ConflictKind::Differs,
                witnessed: Some(w.witnessed(n)),
                line: n,
                trail_end: end.seq,
            });
            break;
        }
    }
    Ok(r)
}

/// Where the witness is kept and where its lines are copied.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    /// The witness file (outside the data directory).
    pub path: PathBuf,
    /// The system log's socket (`/dev/log`); `None` sends nothing there.
    pub syslog: Option<PathBuf>,
}

/// The open witness file.
pub(crate) struct Witness {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    syslog: Option<PathBuf>,
}

impl Witness {
    /// Opens (or creates, 0640) the witness file for appending. A last line cut short by a crash is ended,
    /// so the next line starts on its own.
    fn open(config: &WitnessConfig) -> Result<Witness> {
        let path = &config.path;
        let err = |e: std::io::Error| Error::Internal(format!("cannot open the audit witness {}: {e}", path.display()));
        let existed = path.exists();
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o640);
        }
        let mut file = opts.open(path).map_err(err)?;
        let text = std::fs::read(path).map_err(err)?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            file.write_all(b"\n").map_err(err)?;
            file.sync_all().map_err(err)?;
        }
        if !existed {
            // The new file's name must survive a crash too.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(err)?;
            }
        }
        Ok(Witness { path: path.clone(), file: Mutex::new(file), syslog: config.syslog.clone() })
    }

    /// Reads the witness as it stands.
    pub(crate) fn read(&self) -> Result<WitnessLines> {
        let _file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        read_witness(&self.path)
    }

    /// Appends a signed line and makes it durable; copies it to the system log (best effort).
    pub(crate) fn append(&self, line: &WitnessLine) -> Result<()> {
        let mut json = serde_json::to_string(line).map_err(|e| Error::Internal(e.to_string()))?;
        json.push('\n');
        {
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            file.write_all(json.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(|e| Error::Internal(format!("cannot write the audit witness {}: {e}", self.path.display())))?;
        }
        if let Some(socket) = &self.syslog {
            to_syslog(socket, json.trim_end());
        }
        Ok(())
    }

    /// Appends a line; a failure is logged (the trail goes on; the next start compares what was written).
    pub(crate) fn record(&self, keys: &Keys, kind: WitnessKind, point: &Point, at: i64) {
        if let Err(e) = self.append(&WitnessLine::signed(keys, kind, point, at, None)) {
            tracing::error!(error = %e, seq = point.seq, "the audit witness could not be written");
        }
    }
}

/// Sends a line to the system log's socket as the C library's `syslog(3)` does (RFC 3164:
/// `<PRI>Mmm dd hh:mm:ss dangan[pid]: …`), facility authpriv, severity notice. Best effort: a missing or
/// unwilling log daemon is ignored.
#[cfg(unix)]
fn to_syslog(socket: &Path, line: &str) {
    use std::os::unix::net::UnixDatagram;
    const PRI: u8 = 10 * 8 + 5;
    let format = time::macros::format_description!("[month repr:short] [day padding:space] [hour]:[minute]:[second]");
    let stamp = time::OffsetDateTime::now_utc().format(&format).unwrap_or_default();
    let message = format!("<{PRI}>{stamp} dangan[{}]: audit-witness {line}", std::process::id());
    if let Ok(sock) = UnixDatagram::unbound() {
        let _ = sock.send_to(message.as_bytes(), socket);
    }
}

#[cfg(not(unix))]
fn to_syslog(_: &Path, _: &str) {}

/// Whether `path` lies inside `dir` (both resolved; a path that does not exist yet by its parent).
fn inside(path: &Path, dir: &Path) -> std::io::Result<bool> {
    let dir = dir.canonicalize()?;
    let resolved = match path.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            parent.canonicalize()?.join(path.file_name().unwrap_or_default())
        }
    };
    Ok(resolved.starts_with(&dir))
}

/// The security administrator's acknowledgement of a rolled-back store.
#[derive(Clone, Debug, Serialize)]
pub struct Acknowledgement {
    /// The acknowledgement's entry: the first of the resumed trail.
    pub entry: Point,
    /// What the store was found to be behind.
    pub conflict: Conflict,
}

impl AuditTrail<'_> {
    /// Attaches the witness and compares the store's trail with it (at start, before serving). In agreement,
    /// it records the head (a `start` line). Otherwise the archive is held: nothing but sign-in and
    /// [`AuditTrail::acknowledge_rollback`] is served (the API and the web UI check [`AuditTrail::hold`]) and
    /// the conflict is returned. Refuses a witness inside the data directory.
    pub fn attach_witness(&self, config: &WitnessConfig, data_dir: &Path) -> Result<Option<Conflict>> {
        let inside = inside(&config.path, data_dir)
            .map_err(|e| Error::invalid("audit_witness", format!("cannot resolve {}: {e}", config.path.display())))?;
        if inside {
            return Err(Error::invalid(
                "audit_witness",
                format!(
                    "{} lies inside the data directory {}: the witness must be kept outside it (another disk, \
                     another account's directory), or a rollback of the data takes the witness with it",
                    config.path.display(),
                    data_dir.display()
                ),
            ));
        }
        let witness = Witness::open(config)?;
        self.audit_sync()?;
        let lines = witness.read()?;
        let end = self.audit_head()?;
        let public = self.store().keys().signing_public_hex();
        let report = compare(&lines, &public, &end, false, |seq| self.audit_hash_at(seq))?;
        let log = self.inner.audit.clone();
        log.set_witness(witness)?;
        match report.conflict {
            None => {
                log.witness_record(self.store().keys(), WitnessKind::Start, &end, super::audit::now_ms());
                Ok(None)
            }
            Some(c) => {
                tracing::error!(
                    problem = %c,
                    "the audit trail is behind its witness: the archive serves nothing but sign-in and the \
                     security administrator's acknowledgement (POST /api/v1/audit/acknowledge-rollback)"
                );
                self.hold_audit(c.clone());
                Ok(Some(c))
            }
        }
    }

    /// The security administrator acknowledges that the store is behind its witness (a rollback, an older
    /// backup restored). The acknowledgement, naming the witnessed point and the reason, is the first entry of
    /// the resumed trail; the sign-ins made while the archive was held follow it; the witness records the new
    /// head, so the next start is a normal one.
    pub fn acknowledge_rollback(&self, p: &Principal, reason: &str) -> Result<Acknowledgement> {
        self.audited(p, "audit.acknowledge-rollback", "audit", true, || {
            if !p.subject.roles.contains(&crate::model::Role::Secadmin) {
                return Err(Error::Forbidden(
                    "rule audit.acknowledge: only the security administrator acknowledges a rolled-back trail".into(),
                ));
            }
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > 2000 {
                return Err(Error::invalid("reason", "say why the rollback is accepted (1 to 2000 characters)"));
            }
            let Some(conflict) = self.hold() else {
                return Err(Error::Conflict(
                    "the audit trail is not behind its witness: nothing to acknowledge".into(),
                ));
            };
            let conflict = (*conflict).clone();
            let detail = format!("{conflict}; acknowledged: {reason}");
            let event = AuditEvent::by(p, "audit.acknowledge-rollback", "audit", Outcome::Allowed, Some(detail));
            let behind = conflict.witnessed.as_ref().map(|w| Point { seq: w.seq, hash: w.hash.clone() });
            let entry = self.resume_audit(event, behind)?;
            Ok((Acknowledgement { entry, conflict }, None))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    fn keys() -> Keys {
        Keys::derive(crate::crypto::Suite::Default, &MasterKey::from_bytes([3u8; 32]))
    }

    fn point(seq: u64) -> Point {
        Point { seq, hash: format!("{seq:064x}") }
    }

    fn lines(ls: &[WitnessLine]) -> WitnessLines {
        ls.iter().cloned().enumerate().map(|(i, l)| (i + 1, Ok(l))).collect()
    }

    fn trail(seq: u64) -> Result<Option<String>> {
        Ok(Some(point(seq).hash))
    }

    #[test]
    fn a_line_verifies_and_any_change_to_it_does_not() {
        for suite in crate::crypto::Suite::ALL {
            a_line_verifies_and_any_change_to_it_does_not_under(suite);
        }
    }

    fn a_line_verifies_and_any_change_to_it_does_not_under(suite: crate::crypto::Suite) {
        let k = Keys::derive(suite, &MasterKey::from_bytes([3u8; 32]));
        let public = k.signing_public_hex();
        let line = WitnessLine::signed(&k, WitnessKind::Checkpoint, &point(512), 1_700_000_000_000, None);
        assert!(line.verifies(&public));
        let json = serde_json::to_string(&line).unwrap();
        assert_eq!(parse_witness(&format!("{json}\n")), vec![(1, Ok(line.clone()))]);
        for changed in [
            WitnessLine { seq: 256, ..line.clone() },
            WitnessLine { hash: point(7).hash, ..line.clone() },
            WitnessLine { at: 1, ..line.clone() },
            WitnessLine { kind: WitnessKind::Stop, ..line.clone() },
            WitnessLine { behind: Some(point(1)), ..line.clone() },
        ] {
            assert!(!changed.verifies(&public), "{changed:?}");
        }
        assert_eq!(line.key, k.signing_public());
        let other = Keys::derive(suite, &MasterKey::from_bytes([4u8; 32]));
        assert!(!line.verifies(&other.signing_public_hex()));
    }

    #[test]
    fn a_trail_behind_or_beside_its_witness_is_named_and_an_acknowledgement_supersedes() {
        let k = keys();
        let public = k.signing_public_hex();
        let w = |kind, seq| WitnessLine::signed(&k, kind, &point(seq), 1_700_000_000_000, None);
        let ls = lines(&[w(WitnessKind::Start, 10), w(WitnessKind::Checkpoint, 256), w(WitnessKind::Stop, 300)]);
        // In agreement: at the newest point, and ahead of it.
        for end in [300, 400] {
            let r = compare(&ls, &public, &point(end), true, trail).unwrap();
            assert!(r.ok() && r.newest.as_ref().unwrap().seq == 300, "{r:?}");
        }
        // Behind: the newest witnessed point is named.
        let r = compare(&ls, &public, &point(200), false, trail).unwrap();
        let c = r.conflict.unwrap();
        assert_eq!((c.kind, c.line, c.trail_end), (ConflictKind::Behind, 3, 200));
        assert!(c.to_string().contains(&format!("entry 300 (hash {}", point(300).hash)), "{c}");
        // Replaced: another hash where a point was witnessed.
        let other =
            |seq: u64| -> Result<Option<String>> { Ok(Some(if seq == 256 { "x".into() } else { point(seq).hash })) };
        let r = compare(&ls, &public, &point(400), true, other).unwrap();
        assert_eq!(r.conflict.map(|c| (c.kind, c.line)), Some((ConflictKind::Differs, 2)));
        // An acknowledgement at 201 supersedes what came before: a trail at 250 agrees.
        let ack = WitnessLine::signed(&k, WitnessKind::Acknowledge, &point(201), 5, Some(point(300)));
        let mut with_ack = ls.clone();
        with_ack.extend(lines(&[ack]).into_iter().map(|(_, l)| (4, l)));
        let r = compare(&with_ack, &public, &point(250), true, trail).unwrap();
        assert!(r.ok(), "{r:?}");
        assert_eq!(r.acknowledged.len(), 1);
        assert_eq!(r.acknowledged[0].behind, Some(point(300)));
        // A tampered line is reported, and (after the last acknowledgement) is a conflict of its own.
        let mut tampered = ls.clone();
        if let (_, Ok(l)) = &mut tampered[2] {
            l.seq = 100;
        }
        let r = compare(&tampered, &public, &point(200), true, trail).unwrap();
        assert_eq!(r.unverified.iter().map(|u| u.line).collect::<Vec<_>>(), vec![3]);
        assert_eq!(r.conflict.map(|c| (c.kind, c.line)), Some((ConflictKind::Unverified, 3)));
    }

    #[test]
    fn a_downloaded_checkpoints_document_is_a_witness_and_a_torn_last_line_is_left_out() {
        let k = keys();
        let line = WitnessLine::signed(&k, WitnessKind::Checkpoint, &point(256), 42, None);
        let doc = SignedCheckpoints {
            items: vec![SignedCheckpoint { seq: 256, hash: point(256).hash, at: 42, signature: line.sig.clone() }],
            total: 1,
            public_key: line.key.clone(),
        };
        assert_eq!(parse_witness(&serde_json::to_string(&doc).unwrap()), vec![(1, Ok(line.clone()))]);
        let json = serde_json::to_string(&line).unwrap();
        let torn = format!("{json}\n{}", &json[..20]);
        assert_eq!(parse_witness(&torn).len(), 1);
        let garbled = format!("{}\n{json}\n", &json[..20]);
        let parsed = parse_witness(&garbled);
        assert!(parsed[0].1.is_err() && parsed[1].1.is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn each_line_is_appended_durably_and_copied_to_the_system_log() {
        use std::os::unix::net::UnixDatagram;
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("log");
        let log = UnixDatagram::bind(&socket).unwrap();
        log.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let path = dir.path().join("witness.jsonl");
        std::fs::write(&path, "{\"kind\":\"chec").unwrap();
        let w = Witness::open(&WitnessConfig { path: path.clone(), syslog: Some(socket) }).unwrap();
        let k = keys();
        w.record(&k, WitnessKind::Start, &point(7), 99);
        let mut buf = [0u8; 4096];
        let n = log.recv(&mut buf).unwrap();
        let message = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(message.starts_with("<85>") && message.contains(" dangan["), "{message}");
        let json = message.split_once("audit-witness ").unwrap().1;
        let sent: WitnessLine = serde_json::from_str(json).unwrap();
        // The torn line a crash left is ended; the new line stands on its own and verifies.
        let read = w.read().unwrap();
        assert_eq!(read.len(), 2);
        assert!(read[0].1.is_err());
        assert_eq!(read[1], (2, Ok(sent.clone())));
        assert!(sent.verifies(&k.signing_public_hex()) && sent.seq == 7);
        // No log daemon: the line is still written.
        let quiet = Witness::open(&WitnessConfig { path, syslog: Some(dir.path().join("none")) }).unwrap();
        quiet.record(&k, WitnessKind::Stop, &point(8), 100);
        assert_eq!(quiet.read().unwrap().len(), 3);
    }

    #[test]
    fn a_witness_inside_the_data_directory_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("sub")).unwrap();
        assert!(inside(&data.join("witness"), &data).unwrap());
        assert!(inside(&data.join("sub/../witness"), &data).unwrap());
        assert!(!inside(&dir.path().join("witness"), &data).unwrap());
        assert!(!inside(&dir.path().join("data-witness"), &data).unwrap());
    }
}
