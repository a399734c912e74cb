//! Runs the conformance suite on PostgreSQL.
