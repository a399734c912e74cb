//! Integration tests: every control over real HTTP, against an axum app with a dummy
//! `/api/{method}` handler, the emulator layer and its control router.

mod clock;
mod control;
mod faults;
mod log;
mod props;
mod rate_limits;
mod support;
