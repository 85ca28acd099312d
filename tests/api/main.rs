//! Integration tests: each starts the real server on 127.0.0.1:0 with its own data directory
//! and talks HTTP to it (or runs the real `omnichat` binary).

mod authorization;
mod cli;
mod cors;
mod discovery;
mod flow;
mod helpers;
mod keys;
mod mcp;
mod mcp_client;
mod register;
#[path = "../ssh_support/mod.rs"]
#[allow(dead_code)]
mod ssh_support;
mod ssh_tools;
mod token;
mod tools;
