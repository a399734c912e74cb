//! sessions-client
