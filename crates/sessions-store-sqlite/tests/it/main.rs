//! SQLite backend tests: the conformance suite and what only SQLite has.

mod sqlite;
