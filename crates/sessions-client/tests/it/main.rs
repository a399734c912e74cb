//! Integration tests: the client against wiremock on 127.0.0.1 standing in for slack.com.

mod audit;
mod errors;
mod examples;
mod pagination;
mod props;
mod redaction;
mod retries;
mod support;
mod throttle;
mod users;
mod validation;
mod wire;
