//! Storage integration tests: one conformance suite, run against every backend.

mod conformance;
mod postgres;
mod sqlite;
