//! sessions-server
