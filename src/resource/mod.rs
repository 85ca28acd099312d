//! The resource-server side: protected resource metadata (and, later, bearer verification).

pub mod metadata;
