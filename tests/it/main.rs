//! The integration suite: one test binary. `common` holds the TestApp (a temporary installation driven
//! through the axum router without a socket); `e2e` drives the real binary over HTTP; `browser` drives the web
//! UI of the real binary in headless Chromium over WebDriver; `sandbox` checks the extraction worker's sandbox
//! from inside and from outside.

mod access;
mod access_prop;
mod browser;
mod catalogue;
mod common;
mod consult;
mod contracts;
mod custody;
mod diff;
mod digitisation;
mod duties;
mod e2e;
mod failover;
mod golden;
mod hostile;
mod http_api;
mod imports;
mod intake;
mod lanes;
mod layering;
mod login;
mod openapi;
mod packages;
mod receiving;
mod reports;
mod review;
mod sandbox;
mod storage;
mod streaming;
mod web;
mod workflows;
