//! The authorization server: discovery, client registration, signing keys, and the
//! authorization code flow with its login and consent pages.

pub mod access_token;
pub mod authorize;
pub mod client_auth;
pub mod endpoints;
pub mod error;
pub mod keys;
pub mod metadata;
pub mod pkce;
pub mod redirect;
pub mod register;
pub mod revocation;
pub mod session;
pub mod token;
pub mod types;
