//! # dangan — an archive store for cadre personnel files (干部人事档案)
//!
//! Documents are stored content-addressed (keyed BLAKE3) and encrypted (XChaCha20-Poly1305) in sled, indexed
//! by Tantivy for Chinese full-text search, and described by a metadata layer of persons, materials and their
//! immutable versions. The same library serves the HTTP API (axum), the CLI and the demo.
//!
//! ## Layers and the dependency rule
//!
//! ```text
//!   cli ──► server ──► api ──┐
//!              │              ├──► http ──► service ──► store ──► crypto ──► model
//!              └─────► web ──┘                │   └──► index ─────────────► model
//!                                             ├──────► extract (stands alone)
//!                                             └──────► exchange ──────► crypto
//! ```
//!
//! * [`model`] — pure domain types and rules: identifiers, dates of partial precision, the category scheme,
//!   ID-number validation, persons, materials, users. No I/O.
//! * [`crypto`] — keys (master key, derived keys, per-blob data keys), sealing and opening, keyed addresses.
//! * [`store`] — the only module that knows sled: a narrow key-value trait with a sled and an in-memory adapter,
//!   encrypted records and the chunked blob store.
//! * [`index`] — the only module that knows Tantivy: schema, the Chinese analyzer, permission-filtered queries.
//! * [`extract`] — text out of PDF, DOCX and text files, isolated so that hostile files cannot hurt the server.
//! * [`digitise`] — page images of scanned materials: inspection, intake rules, one PDF assembled from the
//!   pages. Pure functions, no store.
//! * [`exchange`] — zips, catalogues and BagIt bags from outside, read without trusting them.
//! * [`service`] — the use cases; the only gate for authorization. No sled, Tantivy or axum type crosses its API.
//! * [`http`] — what the API and the web UI share: state, the blocking bridge, the single error → HTTP status
//!   mapping, the client address, downloads and the multipart reader.
//! * [`api`] — the JSON API: routes, extractors, DTOs and problem+json. Never uses [`web`].
//! * [`web`] — the server-rendered web UI at `/` (maud): pages call the same service functions as the API. Never
//!   uses [`api`].
//! * [`server`] — the one router: the API's and the web UI's routes with the shared layers.
//! * [`cli`] — `serve`, `demo`, `users`, `import`, `export`, `import-package`, `reindex`, `verify`, `backup`,
//!   `restore`, `keys`.

pub mod api;
pub mod bootstrap;
pub mod cli;
pub mod crypto;
pub mod digitise;
pub mod exchange;
pub mod extract;
pub mod http;
pub mod index;
pub mod model;
pub mod server;
pub mod service;
pub mod store;
pub mod web;
