//! Integration tests: constructed failure scenarios, engine properties over random graphs
//! and workloads, and the command line as a user runs it. One test binary, so the crate is
//! linked once.

mod cli;
mod golden;
mod l402;
mod lab;
mod learning;
mod mpp;
mod properties;
mod scenarios;
mod support;
mod sweep;
