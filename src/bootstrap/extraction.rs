//! Text extraction as the server runs it: OCR when tesseract with Chinese data is installed (unless
//! `DANGAN_OCR=off`), every extraction in the sandboxed `dangan extract-worker` child process of this same
//! executable (docs/DESIGN.md, the extraction sandbox), its memory limit from `DANGAN_EXTRACT_MEMORY_MIB`.

use crate::extract::Extractor;
use std::time::Duration;

/// The hidden `extract-worker` command: reads one job on stdin, answers on stdout; its exit status.
pub fn extract_worker_main(args: &[String]) -> i32 {
    crate::extract::worker_main(args)
}

/// The extractor the server uses: the sandboxed worker (or in process if the executable cannot be found),
/// with OCR when available.
pub fn extractor() -> Extractor {
    let off = std::env::var("DANGAN_OCR").is_ok_and(|v| matches!(v.trim(), "0" | "off" | "false"));
    let ocr = if off { None } else { crate::extract::ocr::detect() };
    match &ocr {
        Some(langs) => tracing::info!(%langs, "OCR of scans with tesseract is on"),
        None if off => tracing::info!("OCR is off (DANGAN_OCR): scans are found by their catalogue fields"),
        None => tracing::info!("tesseract with Chinese data not found: scans are found by their catalogue fields"),
    }
    let base = match std::env::current_exe() {
        Ok(exe) => {
            let worker = Extractor::with_worker(exe, vec!["extract-worker".into()], Duration::from_secs(120));
            let worker = match extract_memory_limit() {
                Some(bytes) => worker.with_memory_limit(bytes),
                None => worker,
            };
            log_sandbox(&worker);
            worker
        }
        Err(_) => Extractor::in_thread(Duration::from_secs(120)),
    };
    base.with_ocr(ocr)
}

/// The extraction worker's memory limit from `DANGAN_EXTRACT_MEMORY_MIB`, when set (and sensible).
fn extract_memory_limit() -> Option<u64> {
    let value = std::env::var("DANGAN_EXTRACT_MEMORY_MIB").ok()?;
    match value.trim().parse::<u64>() {
        Ok(mib) if mib >= 128 => Some(mib << 20),
        _ => {
            tracing::warn!(%value, "DANGAN_EXTRACT_MEMORY_MIB is not a number of MiB of at least 128; the default applies");
            None
        }
    }
}

/// Says once, at start, how the extraction worker is confined (a probe worker reports it from inside).
fn log_sandbox(extractor: &Extractor) {
    let memory_mib = extractor.memory_limit().unwrap_or_default() >> 20;
    match extractor.probe_sandbox(None) {
        Ok(probe) if probe.confinement.landlock.enforced() => tracing::info!(
            memory_mib,
            landlock = ?probe.confinement.landlock,
            "text extraction runs sandboxed: cleared environment, resource limits, own process group, Landlock"
        ),
        Ok(probe) => tracing::warn!(
            memory_mib,
            landlock = ?probe.confinement.landlock,
            "Landlock is not in force on this kernel: the extraction worker has a cleared environment, resource \
             limits and its own process group, but may read whatever the server's user may"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot probe the extraction worker's sandbox"),
    }
}
