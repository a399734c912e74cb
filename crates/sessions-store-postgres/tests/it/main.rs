//! PostgreSQL backend tests: the conformance suite and what only PostgreSQL has (several
//! nodes, concurrent migrations, retries). They need PostgreSQL and fail without it.

mod postgres;
