//! Wire-type integration tests: encoding round trips and Slack's own sample responses.

mod roundtrip;
mod samples;
