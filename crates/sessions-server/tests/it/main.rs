//! Integration tests: a real server on 127.0.0.1:0 over a real SQLite file.

mod audit;
mod concurrency;
mod control;
mod cursors;
mod emulator;
mod hostile;
mod isolation;
mod methods;
mod nodes;
mod observe;
mod paging;
mod postgres;
mod probe;
mod props;
mod restart;
mod revoke;
mod run;
mod snapshots;
mod support;
mod users;
mod wire;
