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
mod token;
mod tools;
