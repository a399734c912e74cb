//! What the tests of every crate share, written once: throwaway PostgreSQL databases
//! ([`pg`]), waiting for a condition instead of sleeping a fixed time ([`wait`]), and
//! whole `slack-sessions serve` processes ([`process`]).
//!
//! Nothing here skips: a test that needs PostgreSQL fails, with the command that starts it,
//! when PostgreSQL is not there.

pub mod pg;
pub mod process;
pub mod wait;
