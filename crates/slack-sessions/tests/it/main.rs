//! End-to-end tests: the built `slack-sessions` binary against a real server.

mod audit;
mod bulk;
mod crash;
mod emulator;
mod errors;
mod harness;
mod list;
mod misc;
mod multinode;
mod observe;
mod procs;
mod revoke;
mod settings;
