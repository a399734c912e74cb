//! Wire types for Slack's `admin.users.session.*` Web API methods, `auth.test`, `auth.revoke`
//! and the `users.*` look-ups (`lookupByEmail`, `info`, `list`). No I/O lives here.
//!
//! Each method is a marker type implementing [`Method`], which ties its name to its request
//! and response types, its rate tier and whether it is safe to retry. Requests encode to Slack's
//! form conventions and decode from every shape Slack's SDKs send.
//!
//! ```
//! use sessions_wire::{Args, Method, Request, SessionList, ListRequest, ListResponse};
//!
//! // What a client sends...
//! let req = ListRequest::user("T0ENG", "W0DEV").limit(100);
//! req.validate().unwrap();
//! assert_eq!(SessionList::NAME, "admin.users.session.list");
//! let form = req.to_form();
//! assert!(form.contains(&("limit", "100".to_string())));
//!
//! // ...and what a server reads back, from any SDK's encoding.
//! let args: Args = form.into_iter().collect();
//! assert_eq!(ListRequest::from_args(&args).unwrap(), req);
//!
//! // Decoding is tolerant: `session_id` as a number or a string, unknown fields ignored.
//! let page: ListResponse = serde_json::from_str(
//!     r#"{"active_sessions":[{"user_id":"W1","team_id":"T1","session_id":"42","created":{},"x":1}],
//!        "response_metadata":{"next_cursor":""}}"#,
//! ).unwrap();
//! assert_eq!(page.active_sessions[0].session_id.0, 42);
//! assert_eq!(page.next_cursor(), None);
//! ```

pub mod args;
pub mod audit;
mod envelope;
mod error_code;
mod methods;
mod sessions;
mod types;
mod users;

pub use args::{ArgError, Args};
pub use envelope::{Envelope, ResponseMetadata};
pub use error_code::ErrorCode;
pub use methods::*;
pub use sessions::*;
pub use types::{ActiveSession, DeviceInfo, ResetScope, SessionId, SessionSetting};
pub use users::{
    EnterpriseUser, User, UserProfile, UserResponse, UsersInfoRequest, UsersListRequest,
    UsersListResponse, UsersLookupByEmailRequest, EMAIL_MAX_LEN, USERS_LIST_LIMIT_DEFAULT,
    USERS_LIST_LIMIT_MAX,
};
