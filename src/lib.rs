//! OmniChat's MCP server: an OAuth 2.1 authorization server and the protected MCP resource
//! server in one binary. See `DESIGN.md` in the shared folder for the picture.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod mcp;
pub mod oauth;
pub mod password;
pub mod ratelimit;
pub mod resource;
pub mod store;
pub mod tools;
pub mod web;
