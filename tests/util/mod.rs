//! The test harness: a fake ServiceTitan on 127.0.0.1 and a runner for the
//! real binary that checks every output for leaked secrets.

pub mod cmd;
pub mod fake_servicetitan;
pub mod proxy;
pub mod tls;
