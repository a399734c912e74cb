//! Runs the conformance suite on SQLite.
