//! The `dangan` binary: parse the command line, set up logging, dispatch to the library.

use clap::Parser;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The extraction worker answers on stdout: run it before anything (clap, logging) could write there.
    if args.get(1).map(String::as_str) == Some("extract-worker") {
        std::process::exit(dangan::extract::worker_main(&args[2..]));
    }
    let cli = dangan::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DANGAN_LOG")
                // pdf-extract and lopdf log document content: never let them through.
                .map(|f| f.add_directive("pdf_extract=off".parse().unwrap_or_default()))
                .unwrap_or_else(|_| "info,tantivy=warn,pdf_extract=off,lopdf=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match dangan::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
