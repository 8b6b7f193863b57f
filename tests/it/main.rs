//! The integration suite: one test binary. `common` holds the TestApp (a temporary installation driven
//! through the axum router without a socket); `e2e` drives the real binary over HTTP.

mod access;
mod access_prop;
mod common;
mod e2e;
mod hostile;
mod http_api;
mod imports;
mod packages;
mod reports;
mod storage;
mod web;
mod workflows;
