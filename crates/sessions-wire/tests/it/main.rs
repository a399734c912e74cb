//! Wire-type integration tests: encoding round trips and Slack's own sample responses.

mod audit;
mod roundtrip;
mod samples;
