//! OpenID Connect end-to-end and interoperability tests: the real `tessera` binary, each tenant an
//! OpenID Provider, driven as relying parties drive it, from the discovery document through the
//! hosted sign-in page to every back-channel endpoint, on SQLite (`…::sqlite::…`) and on a
//! throwaway PostgreSQL database (`…::postgres::…`, skipped with a notice when PostgreSQL is not
//! reachable, failing in CI). `interop` runs real third-party client libraries (Node
//! `openid-client`, Python `authlib` and `idpyoidc`) from `tests/interop/` against the server.
//!
//! The process harness is the end-to-end suite's, shared by path. `rp`, `browser` and `jose` are
//! the relying party's tools; every other module is one area of the protocol.

#[macro_use]
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../e2e/harness/mod.rs"]
mod harness;

mod browser;
mod jose;
mod rp;

mod authorize;
mod code_flow;
mod consent;
mod discovery;
mod expiry;
mod grants;
mod interop;
mod isolation;
mod logout;
mod mfa;
mod privacy;
mod signing;
