//! Storage integration tests: one conformance suite, run against every backend.

mod audit_conformance;
mod conformance;
mod directory_conformance;
mod postgres;
mod sqlite;
