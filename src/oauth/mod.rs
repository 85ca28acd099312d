//! The authorization server: discovery, client registration, signing keys, and the
//! authorization code flow.

pub mod endpoints;
pub mod error;
pub mod keys;
pub mod metadata;
pub mod redirect;
pub mod register;
pub mod types;
