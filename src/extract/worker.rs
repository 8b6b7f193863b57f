//! The extraction worker process and the parent's side of it.
//!
//! Protocol (parent and worker are the same binary, so it has no version): the parent starts
//! `<program> <args…> <mime> <max_chars>`, writes the file's bytes to the worker's stdin and closes it. The
//! worker answers with one JSON object on one line of stdout; the parent reads the **last non-empty line**,
//! so stray output of a library before it does no harm. The answers:
//!
//! ```text
//! {"status":"text","text":"…","pages":3,"page_starts":[0,812,1630]}
//!                                             text found ("pages" may be null or left out; "page_starts",
//!                                             where each page starts in "text" in characters, is left out
//!                                             when empty and read as empty when missing)
//! {"status":"no_text"}                        the type carries no text
//! {"status":"unreadable","message":"…"}       ExtractError::Unreadable
//! {"status":"too_large","what":"…","limit":N} ExtractError::TooLarge
//! {"status":"panicked"}                       ExtractError::Panicked
//! {"status":"failed","message":"…"}           the worker itself failed (ExtractError::Worker)
//! ```
//!
//! The parent starts the worker sandboxed (see [`super::sandbox`]: a cleared environment, its own process
//! group; the worker limits its resources and applies Landlock rules before it reads its input). At the
//! timeout the parent kills the worker's whole process group (the worker and any OCR helper under it), and on
//! every path it reaps the worker (no zombies) and kills what is left of the group. It caps what it reads from
//! stdout, and discards the worker's stderr unread.
//!
//! A diagnostic mode, for tests and the server's start: `<program> <args…> --probe [PATH]` confines itself as
//! for an extraction, tries to read `PATH` (the answer says only whether it could, never what it read) and
//! answers one JSON line: the limits in force, what Landlock did, and the *names* of its environment variables
//! (see [`SandboxProbe`]). It reads no input.

use std::io::{self, Read, Write};
use std::panic;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use serde::{Deserialize, Serialize};

use super::sandbox::{self, Confinement, Sandbox};
use super::{DEFAULT_MAX_CHARS, ExtractError, Extracted, PARSER_STACK_BYTES, Result};

/// The subcommand name under which the binary runs [`worker_main`].
const SUBCOMMAND: &str = "extract-worker";
/// The argument that turns the worker into the sandbox probe.
const PROBE: &str = "--probe";
/// How often the parent looks whether the worker has exited once its answer is in.
const EXIT_POLL: Duration = Duration::from_millis(1);
/// How long the parent waits for the answer between two looks at the worker's state.
const ANSWER_POLL: Duration = Duration::from_millis(10);

/// The worker's answer, one JSON object on one line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum Answer {
    Text {
        text: String,
        #[serde(default)]
        pages: Option<u32>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        page_starts: Vec<u32>,
    },
    NoText,
    Unreadable {
        message: String,
    },
    TooLarge {
        what: String,
        limit: u64,
    },
    Panicked,
    Failed {
        message: String,
    },
}

impl From<Result<Option<Extracted>>> for Answer {
    fn from(outcome: Result<Option<Extracted>>) -> Self {
        match outcome {
            Ok(Some(Extracted { text, pages, page_starts })) => Answer::Text { text, pages, page_starts },
            Ok(None) => Answer::NoText,
            Err(ExtractError::Unreadable(message)) => Answer::Unreadable { message },
            Err(ExtractError::TooLarge { what, limit }) => Answer::TooLarge { what, limit },
            Err(ExtractError::Panicked) => Answer::Panicked,
            Err(other @ (ExtractError::Timeout(_) | ExtractError::Worker(_))) => {
                Answer::Failed { message: other.to_string() }
            }
        }
    }
}

impl Answer {
    fn into_outcome(self, max_chars: usize) -> Result<Option<Extracted>> {
        match self {
            Answer::Text { mut text, pages, mut page_starts } => {
                // The worker already capped the text; the parent does not rely on it.
                if let Some((cut, _)) = text.char_indices().nth(max_chars) {
                    text.truncate(cut);
                }
                // Nor on the page starts being what they should: page 1 at 0, non-decreasing, within the text.
                let chars = text.chars().count();
                let sound = page_starts.first() == Some(&0)
                    && page_starts.windows(2).all(|w| w[0] <= w[1])
                    && page_starts.last().is_some_and(|&last| last as usize <= chars);
                if !sound {
                    page_starts.clear();
                }
                Ok(Some(Extracted { text, pages, page_starts }))
            }
            Answer::NoText => Ok(None),
            Answer::Unreadable { message } => Err(ExtractError::Unreadable(message)),
            Answer::TooLarge { what, limit } => Err(ExtractError::TooLarge { what, limit }),
            Answer::Panicked => Err(ExtractError::Panicked),
            Answer::Failed { message } => Err(ExtractError::Worker(message)),
        }
    }
}

/// Entry point of the worker process: the binary's hidden `extract-worker` subcommand calls it and exits with
/// the code it returns.
///
/// `args` are the arguments after the subcommand: `<mime> [<max_chars>]` (`max_chars` defaults to
/// [`DEFAULT_MAX_CHARS`]). Passing the whole command line also works: everything up to and including an
/// `extract-worker` argument is skipped. The file's bytes are read from stdin; the answer (see the module
/// documentation) goes to stdout as one JSON line. A panic hook is installed that reports only where the
/// parser panicked, never the panic message (it may quote the document).
///
/// Exit codes: 0 when an answer was written (including answers that report an error), 1 when stdin could not
/// be read or stdout not written, 2 for a usage error. The binary must not write anything else to stdout
/// after this returns, and should not send logs to stdout (parsers log through `log`/`tracing` with
/// fragments of the document); the answer is the last line, so earlier stray output is tolerated.
pub fn worker_main(args: &[String]) -> i32 {
    panic::set_hook(Box::new(|info| {
        let place = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("extract-worker: the parser panicked at {place}");
    }));
    let args = match args.iter().position(|a| a == SUBCOMMAND) {
        Some(at) => &args[at + 1..],
        None => args,
    };
    if let Some(at) = args.iter().position(|a| a == PROBE) {
        return match &args[at + 1..] {
            [] => probe_main(None),
            [path] => probe_main(Some(Path::new(path))),
            _ => usage(),
        };
    }
    let (mime, max_chars) = match args {
        [mime] => (mime.clone(), DEFAULT_MAX_CHARS),
        [mime, max_chars] => match max_chars.parse::<usize>() {
            Ok(max_chars) => (mime.clone(), max_chars),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };

    // Before a byte of the file is read.
    sandbox::confine();
    let mut bytes = Vec::new();
    let (answer, code) = match io::stdin().lock().read_to_end(&mut bytes) {
        Ok(_) => (Answer::from(parse_on_big_stack(mime, bytes, max_chars)), 0),
        Err(e) => {
            let message = format!("the worker could not read its input: {e}");
            (Answer::Failed { message }, 1)
        }
    };
    match write_line(&answer) {
        Ok(()) => code,
        Err(_) => 1,
    }
}

/// What a worker's sandbox came to, as the worker saw it from inside (see [`super::Extractor::probe_sandbox`]).
/// For tests and the server's start-up log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxProbe {
    /// The limits in force, what Landlock did, the helpers' time limit.
    pub confinement: Confinement,
    /// The names (not the values) of the worker's environment variables.
    pub env: Vec<String>,
    /// Whether the worker leads its own process group (so that the parent can kill the group).
    pub own_process_group: bool,
    /// Whether the worker could read the path it was asked about (`None` when it was asked about none).
    pub read: Option<ProbeRead>,
}

/// Whether the probe could read a path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProbeRead {
    /// It opened the path and read from it (what it read was dropped unseen).
    Read,
    /// Permission denied (Landlock, or the file's permissions).
    Denied,
    /// Another error: the error's kind, e.g. `NotFound`.
    Failed {
        /// The error's kind.
        kind: String,
    },
}

/// The probe: confines itself like an extraction, then reports (see the module documentation).
fn probe_main(path: Option<&Path>) -> i32 {
    let confinement = sandbox::confine();
    let read = path.map(|path| {
        let outcome = std::fs::File::open(path).and_then(|mut f| {
            if f.metadata()?.is_dir() { std::fs::read_dir(path).map(drop) } else { f.read(&mut [0u8; 1]).map(drop) }
        });
        match outcome {
            Ok(()) => ProbeRead::Read,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => ProbeRead::Denied,
            Err(e) => ProbeRead::Failed { kind: format!("{:?}", e.kind()) },
        }
    });
    let mut env: Vec<String> = std::env::vars_os().map(|(k, _)| k.to_string_lossy().into_owned()).collect();
    env.sort();
    let own_process_group = rustix::process::getpgrp() == rustix::process::getpid();
    match write_line(&SandboxProbe { confinement, env, own_process_group, read }) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn usage() -> i32 {
    eprintln!("usage: {SUBCOMMAND} <mime> [<max_chars>]  (file bytes on stdin, JSON answer on stdout)");
    eprintln!("       {SUBCOMMAND} {PROBE} [<path>]  (reports the sandbox, for tests)");
    2
}

/// Runs the parser under `catch_unwind` on a thread with a large stack (the main thread's is too small for
/// hostile nesting).
fn parse_on_big_stack(mime: String, bytes: Vec<u8>, max_chars: usize) -> Result<Option<Extracted>> {
    let parse = move || super::catch_panic(|| super::extract_in_process(&mime, &bytes, max_chars));
    match thread::Builder::new().name("extract-worker".to_owned()).stack_size(PARSER_STACK_BYTES).spawn(parse) {
        Ok(handle) => handle.join().unwrap_or(Err(ExtractError::Panicked)),
        Err(e) => Err(ExtractError::Worker(format!("cannot start the parser thread: {e}"))),
    }
}

fn write_line(answer: &impl Serialize) -> io::Result<()> {
    let mut line = serde_json::to_vec(answer).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut stdout = io::stdout().lock();
    stdout.write_all(&line)?;
    stdout.flush()
}

/// A started worker, leader of its own process group. When dropped, whatever path the parent leaves by, the
/// group is killed (the worker and any helper under it) and the worker reaped.
struct Worker {
    child: Child,
    /// The worker's pid, which is also its process group's id. It stays taken until the worker is reaped, so the
    /// group is killed before that, never after (the number could then belong to another process).
    pid: Pid,
    reaped: bool,
}

impl Worker {
    /// Whether the worker has ended, without reaping it.
    fn has_ended(&self) -> io::Result<bool> {
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        Ok(rustix::process::waitid(WaitId::Pid(self.pid), options)?.is_some())
    }

    /// Kills what is left of the worker's process group (all of it, if the worker still runs), then reaps the
    /// worker.
    fn finish(&mut self) -> io::Result<ExitStatus> {
        // ESRCH when nothing of the group is left.
        let _ = rustix::process::kill_process_group(self.pid, Signal::KILL);
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(status)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.finish();
        }
    }
}

/// Why reading the worker's stdout stopped.
enum Output {
    /// The whole output (the worker closed stdout).
    Complete(Vec<u8>),
    /// More than the allowed number of bytes.
    TooLong,
    /// A read error.
    Failed(io::Error),
}

/// Runs one extraction in a worker process (the parent's side of the protocol).
pub(super) fn run(
    program: &Path,
    args: &[String],
    sandbox: &Sandbox,
    mime: &str,
    bytes: &[u8],
    max_chars: usize,
    timeout: Duration,
) -> Result<Option<Extracted>> {
    let tail = [mime.to_owned(), max_chars.to_string()];
    let max_output = max_chars.saturating_mul(6).saturating_add(64 * 1024);
    let (output, status) = exchange(program, args, &tail, sandbox, bytes, max_output, timeout)?;
    parse_answer(&output, status)?.into_outcome(max_chars)
}

/// Runs the worker as the sandbox probe, asking it to read `path` (see [`SandboxProbe`]).
pub(super) fn probe(
    program: &Path,
    args: &[String],
    sandbox: &Sandbox,
    path: Option<&Path>,
    timeout: Duration,
) -> Result<SandboxProbe> {
    let mut tail = vec![PROBE.to_owned()];
    tail.extend(path.map(|p| p.to_string_lossy().into_owned()));
    let (output, status) = exchange(program, args, &tail, sandbox, &[], 1024 * 1024, timeout)?;
    let last_line = output.split(|&b| b == b'\n').rev().find(|line| !line.trim_ascii().is_empty());
    serde_json::from_slice(last_line.unwrap_or_default())
        .map_err(|e| ExtractError::Worker(format!("the sandbox probe ({status}) answered something else: {e}")))
}

/// Starts the worker sandboxed (`program args… tail…`), feeds it `input`, and collects its stdout (at most
/// `max_output` bytes) and its exit status, killing its process group at the timeout.
fn exchange(
    program: &Path,
    args: &[String],
    tail: &[String],
    sandbox: &Sandbox,
    input: &[u8],
    max_output: usize,
    timeout: Duration,
) -> Result<(Vec<u8>, ExitStatus)> {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut command = Command::new(program);
    command
        .args(args)
        .args(tail)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // Unread, so the worker can never block on a full stderr pipe, and nothing of it reaches our logs.
        .stderr(Stdio::null());
    sandbox.prepare(&mut command, timeout);
    let child =
        command.spawn().map_err(|e| ExtractError::Worker(format!("cannot start {}: {e}", program.display())))?;
    let pid = Pid::from_child(&child);
    let mut worker = Worker { child, pid, reaped: false };

    // Feeding stdin and draining stdout happen on their own threads, so neither pipe can fill up and block
    // both sides. The threads are detached: if a grandchild keeps a pipe open after the worker is killed, they
    // end when it closes, and the parent does not wait for them.
    let stdin = worker.child.stdin.take();
    let input = input.to_vec();
    spawn_detached("extract-feed", move || {
        if let Some(mut stdin) = stdin {
            // A worker that exits early (or is killed) breaks the pipe; its answer or its death says why.
            let _ = stdin.write_all(&input);
        }
    })?;
    let stdout = worker.child.stdout.take();
    let (output_tx, output_rx) = mpsc::sync_channel(1);
    spawn_detached("extract-drain", move || {
        let _ = output_tx.send(drain(stdout, max_output));
    })?;

    let mut output: Option<Vec<u8>> = None;
    let mut ended = false;
    loop {
        let now = Instant::now();
        if now >= deadline {
            tracing::warn!(?timeout, "extraction worker timed out; its process group is killed");
            drop(worker); // kills the group and reaps the worker
            return Err(ExtractError::Timeout(timeout));
        }
        let left = deadline - now;
        if output.is_none() {
            match output_rx.recv_timeout(left.min(ANSWER_POLL)) {
                Ok(Output::Complete(bytes)) => output = Some(bytes),
                Ok(Output::TooLong) => {
                    return Err(ExtractError::Worker(format!("the worker's answer exceeds {max_output} bytes")));
                }
                Ok(Output::Failed(e)) => {
                    return Err(ExtractError::Worker(format!("cannot read the worker's answer: {e}")));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(ExtractError::Worker("the answer reader vanished".to_owned()));
                }
            }
        } else {
            thread::sleep(left.min(EXIT_POLL));
        }
        if !ended {
            ended = worker.has_ended().map_err(|e| ExtractError::Worker(format!("cannot watch the worker: {e}")))?;
        }
        if ended && let Some(output) = output.take() {
            // A helper the worker left behind dies with the group here.
            let status = worker.finish().map_err(|e| ExtractError::Worker(format!("cannot reap the worker: {e}")))?;
            tracing::debug!(elapsed = ?started.elapsed(), %status, "extraction worker finished");
            return Ok((output, status));
        }
    }
}

fn spawn_detached(name: &str, work: impl FnOnce() + Send + 'static) -> Result<()> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(work)
        .map(drop)
        .map_err(|e| ExtractError::Worker(format!("cannot start a thread for the worker's pipes: {e}")))
}

/// Reads a pipe to its end, refusing more than `limit` bytes.
fn drain(pipe: Option<impl Read>, limit: usize) -> Output {
    let Some(pipe) = pipe else {
        return Output::Failed(io::Error::other("no pipe"));
    };
    let mut bytes = Vec::new();
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    match pipe.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
        Ok(_) if bytes.len() as u64 > limit => Output::TooLong,
        Ok(_) => Output::Complete(bytes),
        Err(e) => Output::Failed(e),
    }
}

/// The answer on the last non-empty line of the worker's stdout.
fn parse_answer(output: &[u8], status: ExitStatus) -> Result<Answer> {
    let last_line = output.split(|&b| b == b'\n').rev().find(|line| !line.trim_ascii().is_empty());
    match last_line {
        Some(line) => serde_json::from_slice(line.trim_ascii()).map_err(|e| {
            ExtractError::Worker(format!("the worker ({status}) answered something that is not a result: {e}"))
        }),
        None => Err(ExtractError::Worker(format!("the worker ended without an answer ({status}{})", why(status)))),
    }
}

/// What a worker's death by a signal most likely means, given its sandbox.
fn why(status: ExitStatus) -> &'static str {
    use std::os::unix::process::ExitStatusExt;
    match status.signal().map(Signal::from_named_raw) {
        // Rust aborts when an allocation fails (the address-space limit) and on a stack overflow.
        Some(Some(Signal::ABORT)) => ": out of memory under its limit, or out of stack",
        Some(Some(Signal::XCPU)) => ": over its CPU time limit",
        Some(Some(Signal::KILL)) => ": killed, e.g. at its hard CPU time limit",
        Some(Some(Signal::XFSZ)) => ": over its file size limit",
        Some(Some(Signal::SEGV | Signal::BUS)) => ": crashed",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_through_json() {
        let outcomes = [
            Ok(Some(Extracted { text: "干部\t\"档案\"\n".to_owned(), pages: Some(3), page_starts: vec![0, 3, 3] })),
            Ok(Some(Extracted { text: "干部".to_owned(), pages: None, page_starts: vec![] })),
            Ok(None),
            Err(ExtractError::Unreadable("bad xref".to_owned())),
            Err(ExtractError::TooLarge { what: "ratio".to_owned(), limit: 200 }),
            Err(ExtractError::Panicked),
        ];
        for outcome in outcomes {
            let line = serde_json::to_string(&Answer::from(outcome.clone())).unwrap();
            assert!(!line.contains('\n'), "one line: {line}");
            let back: Answer = serde_json::from_str(&line).unwrap();
            assert_eq!(back.into_outcome(100), outcome);
        }
    }

    #[test]
    fn reads_the_last_non_empty_line() {
        let status = std::process::Command::new("true").status().unwrap();
        let output = b"noise from a library\n{\"status\":\"text\",\"text\":\"\xe4\xbd\xa0\xe5\xa5\xbd\"}\n\n";
        let answer = parse_answer(output, status).unwrap().into_outcome(10).unwrap();
        assert_eq!(answer, Some(Extracted { text: "你好".to_owned(), pages: None, page_starts: vec![] }));
        // Page starts that cannot be right are dropped, not trusted.
        for starts in ["[1,2]", "[0,2,1]", "[0,3]"] {
            let line = format!("{{\"status\":\"text\",\"text\":\"你好\",\"page_starts\":{starts}}}");
            let answer = parse_answer(line.as_bytes(), status).unwrap().into_outcome(10).unwrap().unwrap();
            assert!(answer.page_starts.is_empty(), "{starts}");
        }
        let line = b"{\"status\":\"text\",\"text\":\"\xe4\xbd\xa0\xe5\xa5\xbd\",\"pages\":2,\"page_starts\":[0,1]}";
        let answer = parse_answer(line, status).unwrap().into_outcome(10).unwrap().unwrap();
        assert_eq!(answer.page_starts, [0, 1]);
        assert!(matches!(parse_answer(b"{\"status\":\"text\"}\nnoise", status), Err(ExtractError::Worker(_))));
        assert!(matches!(parse_answer(b"\n \n", status), Err(ExtractError::Worker(_))));
    }
}
