//! Metrics for the operator, in the Prometheus text format (`GET /metrics`): how far behind the lanes are, how
//! fast documents are indexed and read, and how long searches, HTTP requests and audit commits take. Counts and
//! durations only — no name, word, id or query ever goes into a metric. A handful of atomics; no registry crate.

use super::Operations;
use super::Result;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A latency histogram: cumulative bucket counts, the count and the sum, lock-free.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(d.as_micros().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", self.buckets[i].load(Ordering::Relaxed));
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// The archive's metrics.
#[derive(Default)]
pub struct Metrics {
    /// Searches, as the service answers them.
    pub search: Histogram,
    /// HTTP requests, as the router answers them.
    pub http: Histogram,
    /// Audit group commits.
    pub audit_commit: Histogram,
    /// Documents made searchable by the text lane.
    pub indexed: AtomicU64,
    /// Materials read by the OCR lane (done or failed).
    pub ocr_read: AtomicU64,
    /// Failed sign-ins.
    pub login_failures: AtomicU64,
    /// When the last backup into a backup directory was completed (Unix seconds; 0: none since the start).
    pub backup_last_success: AtomicU64,
    /// Backups into a backup directory that failed.
    pub backup_failures: AtomicU64,
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
}

impl Operations<'_> {
    /// The archive's metrics (the HTTP layer records request latency into them).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// All metrics in the Prometheus text format.
    pub fn render_metrics(&self) -> Result<String> {
        let m = self.metrics();
        let mut out = String::new();
        let q = self.indexing().queue_stats()?;
        let _ =
            writeln!(out, "# HELP dangan_queue_depth Materials waiting on a lane.\n# TYPE dangan_queue_depth gauge");
        let _ = writeln!(out, "dangan_queue_depth{{lane=\"text\"}} {}", q.text.depth);
        let _ = writeln!(out, "dangan_queue_depth{{lane=\"ocr\"}} {}", q.ocr.depth);
        let _ = writeln!(
            out,
            "# HELP dangan_queue_oldest_seconds Age of the oldest entry of a lane.\n# TYPE dangan_queue_oldest_seconds gauge"
        );
        let _ = writeln!(out, "dangan_queue_oldest_seconds{{lane=\"text\"}} {}", q.text.oldest_seconds);
        let _ = writeln!(out, "dangan_queue_oldest_seconds{{lane=\"ocr\"}} {}", q.ocr.oldest_seconds);
        let _ = writeln!(
            out,
            "# HELP dangan_index_documents Documents searchable now.\n# TYPE dangan_index_documents gauge\ndangan_index_documents {}",
            self.indexing().indexed_count()
        );
        counter(
            &mut out,
            "dangan_indexed_total",
            "Documents made searchable by the text lane.",
            m.indexed.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "dangan_ocr_read_total",
            "Materials read by the OCR lane.",
            m.ocr_read.load(Ordering::Relaxed),
        );
        counter(&mut out, "dangan_login_failures_total", "Failed sign-ins.", m.login_failures.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP dangan_backup_last_success_timestamp_seconds When the last scheduled backup was completed (0: none \
             since the start).\n# TYPE dangan_backup_last_success_timestamp_seconds gauge\n\
             dangan_backup_last_success_timestamp_seconds {}",
            m.backup_last_success.load(Ordering::Relaxed)
        );
        counter(
            &mut out,
            "dangan_backup_failures_total",
            "Scheduled backups that failed.",
            m.backup_failures.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP dangan_store_stopped 1 when the store stopped taking writes after a failed write (restart \
             needed).\n# TYPE dangan_store_stopped gauge\ndangan_store_stopped {}",
            u8::from(self.store_stopped().is_some())
        );
        m.search.render(&mut out, "dangan_search_seconds", "Search latency in the service.");
        m.http.render(&mut out, "dangan_http_request_seconds", "HTTP request latency.");
        m.audit_commit.render(&mut out, "dangan_audit_commit_seconds", "Audit group-commit latency.");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_into_cumulative_buckets() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(30));
        let mut out = String::new();
        h.render(&mut out, "x", "help");
        assert!(out.contains("x_bucket{le=\"0.0005\"} 1"));
        assert!(out.contains("x_bucket{le=\"0.05\"} 2"));
        assert!(out.contains("x_bucket{le=\"+Inf\"} 2"));
        assert!(out.contains("x_count 2"));
    }
}
