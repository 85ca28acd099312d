//! The SSH tools' policy around the executor in `ssh.rs`: which hosts a user may use, the
//! per-user concurrency limit, private keys opened with the master key, and the audit trail.
//! A host the caller may not use answers exactly like a host that does not exist.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::Caller;
use super::ssh::{self, ExecLimits, PinnedHostKey, SshAddress, SshTarget};
use crate::crypto::{MasterKey, Secret};
use crate::store::{AuditRecord, KeyProtection, SshHost, Store};

/// Commands one user may run at once.
pub const MAX_CONCURRENT_PER_USER: usize = 4;
/// Longest command string accepted.
pub const MAX_COMMAND_BYTES: usize = 16 * 1024;
const UNKNOWN_HOST: &str = "unknown host";

/// The associated data that binds a sealed SSH key to its host entry.
pub fn key_context(host_name: &str) -> Vec<u8> {
    format!("ssh-host:{host_name}").into_bytes()
}

/// Seals a private key for storage (plain when no master key is configured).
pub fn protect_key(
    master: Option<&MasterKey>,
    host_name: &str,
    key_text: &str,
) -> Result<(Vec<u8>, KeyProtection), String> {
    match master {
        Some(master) => master
            .seal(&key_context(host_name), key_text.as_bytes())
            .map(|sealed| (sealed, KeyProtection::MasterKey))
            .map_err(|e| e.to_string()),
        None => Ok((key_text.as_bytes().to_vec(), KeyProtection::Plain)),
    }
}

fn open_key(master: Option<&MasterKey>, host: &SshHost) -> Result<Secret<String>, String> {
    let bytes = match (host.protection, master) {
        (KeyProtection::Plain, _) => Secret::new(host.private_key.clone()),
        (KeyProtection::MasterKey, Some(master)) => master
            .open(&key_context(&host.name), &host.private_key)
            .map_err(|e| e.to_string())?,
        (KeyProtection::MasterKey, None) => {
            return Err("the host's key is encrypted and no master key is configured".into());
        }
    };
    String::from_utf8(bytes.expose().clone())
        .map(Secret::new)
        .map_err(|_| "the stored private key is damaged".to_string())
}

/// Per-user slots for running commands.
#[derive(Default)]
pub struct SshSlots {
    users: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl SshSlots {
    fn for_user(&self, user_id: &str) -> Arc<Semaphore> {
        let mut users = match self.users.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        users
            .entry(user_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(MAX_CONCURRENT_PER_USER)))
            .clone()
    }
}

fn internal(e: impl std::fmt::Display) -> String {
    tracing::error!(error = %e, "ssh tool failed");
    "the server could not read its SSH configuration".to_string()
}

/// The hosts `caller` may use (empty allow-list: everyone).
async fn usable_hosts(store: &dyn Store, caller: &Caller) -> Result<Vec<SshHost>, String> {
    let user = store
        .find_user_by_id(&caller.user_id)
        .await
        .map_err(internal)?;
    let Some(user) = user else {
        return Ok(Vec::new());
    };
    let hosts = store.list_ssh_hosts().await.map_err(internal)?;
    Ok(hosts
        .into_iter()
        .filter(|h| {
            h.allowed_users.is_empty() || h.allowed_users.iter().any(|u| u == user.name.as_str())
        })
        .collect())
}

pub async fn list(store: &dyn Store, caller: &Caller) -> Result<(String, Value), String> {
    let hosts = usable_hosts(store, caller).await?;
    let entries: Vec<Value> = hosts
        .iter()
        .map(|h| {
            let fingerprint = PinnedHostKey::parse(&h.host_key).map(|k| k.fingerprint()).unwrap_or_default();
            json!({ "name": h.name, "address": h.address, "user": h.username, "host_key_fingerprint": fingerprint })
        })
        .collect();
    let text = if hosts.is_empty() {
        "You may not use any SSH host.".to_string()
    } else {
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        format!("SSH hosts you may use: {}", names.join(", "))
    };
    Ok((text, json!({ "hosts": entries })))
}

pub struct ExecuteRequest<'a> {
    pub host: &'a str,
    pub command: &'a str,
    pub timeout_seconds: Option<u64>,
}

pub async fn execute(
    store: &dyn Store,
    master: Option<&MasterKey>,
    slots: &SshSlots,
    caller: &Caller,
    request: ExecuteRequest<'_>,
    now: i64,
) -> Result<(String, Value), String> {
    if request.command.is_empty()
        || request.command.len() > MAX_COMMAND_BYTES
        || request.command.contains('\0')
    {
        return Err(format!(
            "command must be 1-{MAX_COMMAND_BYTES} bytes without NUL characters"
        ));
    }
    let limits = ExecLimits::with_timeout_seconds(request.timeout_seconds)?;
    let audit = |exit_status: Option<i64>, timed_out: bool, duration_ms: i64, outcome: String| {
        AuditRecord {
            id: 0,
            at: now,
            user_id: caller.user_id.clone(),
            client_id: caller.client_id.clone(),
            host: request.host.to_string(),
            command: request.command.to_string(),
            exit_status,
            timed_out,
            duration_ms,
            outcome,
        }
    };
    let record = |r: AuditRecord| async move {
        if let Err(e) = store.insert_audit(&r).await {
            tracing::error!(error = %e, "writing the SSH audit record failed");
        }
    };

    let host = usable_hosts(store, caller)
        .await?
        .into_iter()
        .find(|h| h.name == request.host);
    let Some(host) = host else {
        record(audit(None, false, 0, UNKNOWN_HOST.into())).await;
        return Err(UNKNOWN_HOST.into());
    };
    let slot = slots.for_user(&caller.user_id);
    let Ok(_permit) = slot.try_acquire_owned() else {
        record(audit(
            None,
            false,
            0,
            "refused: too many commands running".into(),
        ))
        .await;
        return Err(format!(
            "you already have {MAX_CONCURRENT_PER_USER} commands running; wait for one to finish"
        ));
    };
    let target = (|| {
        Ok::<_, String>(SshTarget {
            address: SshAddress::parse(&host.address).map_err(|e| e.to_string())?,
            user: host.username.clone(),
            private_key: open_key(master, &host)?,
            host_key: PinnedHostKey::parse(&host.host_key).map_err(|e| e.to_string())?,
        })
    })();
    let target = match target {
        Ok(target) => target,
        Err(message) => {
            tracing::error!(host = %host.name, error = %message, "SSH host configuration unusable");
            record(audit(None, false, 0, format!("refused: {message}"))).await;
            return Err(format!(
                "the host {} is misconfigured; tell the operator",
                host.name
            ));
        }
    };
    match ssh::execute(&target, request.command, &limits).await {
        Ok(outcome) => {
            let result = if outcome.timed_out {
                "timed out".to_string()
            } else {
                "ok".to_string()
            };
            record(audit(
                outcome.exit_status.map(i64::from),
                outcome.timed_out,
                outcome.duration_ms as i64,
                result,
            ))
            .await;
            let status = match (outcome.exit_status, &outcome.exit_signal, outcome.timed_out) {
                (_, _, true) => format!("timed out after {} ms", outcome.duration_ms),
                (Some(code), _, _) => format!("exit status {code}"),
                (None, Some(signal), _) => format!("killed by signal {signal}"),
                (None, None, _) => "no exit status".to_string(),
            };
            let text = format!(
                "{} on {}: {status}\n--- stdout{} ---\n{}\n--- stderr{} ---\n{}",
                request.command,
                host.name,
                if outcome.stdout_truncated {
                    " (truncated)"
                } else {
                    ""
                },
                outcome.stdout,
                if outcome.stderr_truncated {
                    " (truncated)"
                } else {
                    ""
                },
                outcome.stderr,
            );
            Ok((
                text,
                json!({
                    "host": host.name,
                    "exit_status": outcome.exit_status,
                    "exit_signal": outcome.exit_signal,
                    "stdout": outcome.stdout,
                    "stderr": outcome.stderr,
                    "stdout_truncated": outcome.stdout_truncated,
                    "stderr_truncated": outcome.stderr_truncated,
                    "timed_out": outcome.timed_out,
                    "duration_ms": outcome.duration_ms,
                }),
            ))
        }
        Err(error) => {
            if matches!(error, ssh::SshError::HostKeyMismatch { .. }) {
                tracing::warn!(host = %host.name, user = %caller.user_id, "SSH host key mismatch: command refused");
            }
            record(audit(None, false, 0, format!("refused: {error}"))).await;
            Err(error.to_string())
        }
    }
}
