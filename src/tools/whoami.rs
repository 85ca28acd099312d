//! `whoami`: who the token belongs to. Needs a valid token but no particular scope.

use serde_json::{Value, json};

use super::Caller;
use crate::store::Store;

/// The structured result: the user, the client and the scopes of the call.
pub async fn whoami(store: &dyn Store, caller: &Caller) -> Result<(String, Value), String> {
    let user = store
        .find_user_by_id(&caller.user_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "whoami: store failed");
            "the server could not read the account".to_string()
        })?
        .ok_or_else(|| "the account of this token no longer exists".to_string())?;
    let scopes: Vec<&str> = caller.scopes.iter().map(|s| s.as_str()).collect();
    let summary = format!(
        "Signed in as {} through client {} with scopes: {}",
        user.name,
        caller.client_id,
        if scopes.is_empty() {
            "(none)".to_string()
        } else {
            scopes.join(" ")
        }
    );
    Ok((
        summary,
        json!({
            "user_id": caller.user_id,
            "user_name": user.name.as_str(),
            "client_id": caller.client_id,
            "scopes": scopes,
        }),
    ))
}
