//! The resource-server side: bearer verification and challenges, and protected resource
//! metadata.

pub mod bearer;
pub mod metadata;
