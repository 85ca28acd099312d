//! The executor behind `ssh_execute`: runs one command on an operator-configured host through
//! russh, exactly as `ssh host 'command'` would (the command string goes to the remote user's
//! shell, which interprets it), with the server's host key pinned.
//!
//! Independent of HTTP, OAuth and the store: the caller hands over an [`SshTarget`] (whose
//! private key the store keeps: it is read from the key file when the operator adds the host)
//! and gets an [`ExecOutcome`], or an [`SshError`] whose text is safe to show the user.
//!
//! Limits: a command that outlives [`ExecLimits::timeout`] is killed and reported with
//! `timed_out`; each output stream keeps at most [`ExecLimits::max_stream_bytes`] and the rest
//! is read and dropped, so the remote command is never blocked and memory stays bounded.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use russh::keys::{
    Algorithm, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate,
};
use russh::{AlgorithmKind, ChannelMsg, Disconnect, Sig, client};
use tokio::time::Instant;

use crate::crypto::Secret;

/// The timeout when the caller gives none (issue 5).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest timeout a caller may ask for (issue 5).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);
/// How long connecting, the handshake and authentication may take together: an unreachable
/// host must fail fast rather than use up the whole command timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes kept of each of stdout and stderr (issue 5: 1 MiB per stream).
pub const DEFAULT_MAX_STREAM_BYTES: usize = 1024 * 1024;
const DEFAULT_PORT: u16 = 22;
/// Cleanup after a timeout or at the end talks to a server that may be stuck: never wait long.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(1);
/// RFC 4254 §5.2: the `data_type_code` of stderr in SSH_MSG_CHANNEL_EXTENDED_DATA.
const SSH_EXTENDED_DATA_STDERR: u32 = 1;

/// Why an SSH execution did not produce an [`ExecOutcome`]. Every text is safe to show the
/// user: it names hosts, users and key types, never key material.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The server presented a host key other than the pinned one (or none of its type).
    /// Nothing was authenticated and nothing ran.
    #[error("the host key of {address} does not match the pinned host key; refusing to connect")]
    HostKeyMismatch { address: String },
    /// The host could not be reached in time (DNS, TCP, or a handshake that never finished).
    #[error("{0}")]
    Connect(String),
    /// The server refused the private key for this user.
    #[error("{0}")]
    Auth(String),
    /// The private key text is unusable (not an OpenSSH/PEM private key, or encrypted).
    #[error("{0}")]
    BadKey(String),
    /// The pinned host key line is not an OpenSSH public key line.
    #[error("{0}")]
    BadHostKey(String),
    /// The address is not `HOST[:PORT]`.
    #[error("{0}")]
    BadAddress(String),
    /// The SSH conversation failed after connecting.
    #[error("{0}")]
    Protocol(String),
}

/// Where to connect: `HOST[:PORT]`, the port defaulting to 22. An IPv6 address with a port is
/// written in brackets (`[::1]:2222`), as in URLs; a bare IPv6 address means port 22.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshAddress {
    host: String,
    port: u16,
}

impl SshAddress {
    pub fn parse(input: &str) -> Result<Self, SshError> {
        let bad = |why: &str| SshError::BadAddress(format!("invalid SSH address {input:?}: {why}"));
        let input_trimmed = input.trim();
        let (host, port) = if let Some(rest) = input_trimmed.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| bad("expected ':' after ']'"))?,
                    ),
                ),
            }
        } else {
            match input_trimmed.rsplit_once(':') {
                // More than one ':' without brackets can only be a bare IPv6 address.
                Some((host, _)) if host.contains(':') => (input_trimmed, None),
                Some((host, port)) => (host, Some(port)),
                None => (input_trimmed, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '@')
        {
            return Err(bad(
                "the host contains a character not allowed in a host name",
            ));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port != 0 => port,
                _ => return Err(bad("the port must be a number from 1 to 65535")),
            },
        };
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for SshAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl std::str::FromStr for SshAddress {
    type Err = SshError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The one host key the server must present: an OpenSSH public key line
/// `"<type> <base64>[ comment]"`, as in `/etc/ssh/ssh_host_ed25519_key.pub` or the output of
/// `ssh-keyscan` (without the host name). The comment is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedHostKey(PublicKey);

impl PinnedHostKey {
    pub fn parse(line: &str) -> Result<Self, SshError> {
        let key = PublicKey::from_openssh(line.trim()).map_err(|_| {
            SshError::BadHostKey(
                "the host key must be an OpenSSH public key line \"<type> <base64>\", \
                 e.g. the content of /etc/ssh/ssh_host_ed25519_key.pub"
                    .to_string(),
            )
        })?;
        Ok(Self(PublicKey::new(key.key_data().clone(), "")))
    }

    /// The key type as OpenSSH names it, e.g. `ssh-ed25519`.
    pub fn key_type(&self) -> String {
        self.0.algorithm().to_string()
    }

    /// `SHA256:…`, as `ssh-keygen -l` and `ssh` print it: what an operator compares by eye.
    pub fn fingerprint(&self) -> String {
        self.0.fingerprint(HashAlg::Sha256).to_string()
    }

    /// The host key algorithms to offer in the key exchange: only the pinned key's own, so a
    /// server with several host keys presents the pinned one (OpenSSH does the same for
    /// hosts in `known_hosts`). RSA is offered with SHA-2 signatures only, as OpenSSH ≥ 8.8.
    fn algorithms(&self) -> Vec<Algorithm> {
        match self.0.algorithm() {
            Algorithm::Rsa { .. } => vec![
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512),
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256),
                },
            ],
            other => vec![other],
        }
    }
}

impl fmt::Display for PinnedHostKey {
    /// `"<type> <base64>"`: the form to store and to show the operator.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.to_openssh() {
            Ok(line) => f.write_str(&line),
            Err(_) => Err(fmt::Error),
        }
    }
}

/// One host a user may run commands on, as the store hands it over.
#[derive(Debug, Clone)]
pub struct SshTarget {
    pub address: SshAddress,
    pub user: String,
    /// The OpenSSH private key text (`-----BEGIN OPENSSH PRIVATE KEY-----`; PEM/PKCS#8 work too),
    /// unencrypted: there is nobody to type a passphrase.
    pub private_key: Secret<String>,
    pub host_key: PinnedHostKey,
}

/// How long a command may run and how much of its output is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecLimits {
    /// From the start of [`execute`] to the end of the command; connecting counts.
    pub timeout: Duration,
    /// Connecting, the handshake and authentication (never more than `timeout`).
    pub connect_timeout: Duration,
    /// Bytes kept of each of stdout and stderr; the rest is read and dropped.
    pub max_stream_bytes: usize,
}

impl Default for ExecLimits {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_stream_bytes: DEFAULT_MAX_STREAM_BYTES,
        }
    }
}

impl ExecLimits {
    /// The limits for a tool call's `timeout_seconds`: the default when absent, an error
    /// text for the caller when outside 1..=300.
    pub fn with_timeout_seconds(timeout_seconds: Option<u64>) -> Result<Self, String> {
        let timeout = match timeout_seconds {
            None => DEFAULT_TIMEOUT,
            Some(seconds) if (1..=MAX_TIMEOUT.as_secs()).contains(&seconds) => {
                Duration::from_secs(seconds)
            }
            Some(_) => {
                return Err(format!(
                    "timeout_seconds must be between 1 and {}",
                    MAX_TIMEOUT.as_secs()
                ));
            }
        };
        Ok(Self {
            timeout,
            ..Self::default()
        })
    }
}

/// What the command did. Output is decoded as lossy UTF-8; the cap counts bytes, so a
/// character cut by the cap shows as U+FFFD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// The command's exit status; `None` when it was killed by a signal (see `exit_signal`),
    /// when it timed out before exiting, or when the server closed the channel without saying.
    pub exit_status: Option<i32>,
    /// The signal that ended the command (`"KILL"`, `"SEGV"`, …), as the server reports it.
    pub exit_signal: Option<String>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The timeout ended the command: it was sent SIGKILL and the connection was closed.
    /// OpenSSH delivers the signal for ordinary users but refuses it for root logins (no
    /// privilege-separated session process): a root command that never writes again then
    /// keeps running on the host, as after interrupting `ssh host 'command'`.
    pub timed_out: bool,
    pub duration_ms: u64,
}

/// Checks, when the operator adds a host, that the private key text can be used.
pub fn validate_private_key(text: &str) -> Result<(), SshError> {
    decode_private_key(text).map(|_| ())
}

/// Runs `command` on `target` as `ssh user@host 'command'` would. The host key is checked
/// before anything else: on a mismatch nothing is authenticated and nothing runs.
pub async fn execute(
    target: &SshTarget,
    command: &str,
    limits: &ExecLimits,
) -> Result<ExecOutcome, SshError> {
    let started = Instant::now();
    let deadline = started + limits.timeout;
    // A bad key is a configuration error: report it without touching the network.
    let private_key = decode_private_key(target.private_key.expose())?;

    let connect_limit = limits.connect_timeout.min(limits.timeout);
    let handle = tokio::time::timeout(connect_limit, connect(target, private_key, limits))
        .await
        .map_err(|_| {
            SshError::Connect(format!(
                "could not connect to {} within {} s",
                target.address,
                connect_limit.as_secs_f32()
            ))
        })??;

    let outcome = run(&handle, command, limits.max_stream_bytes, deadline).await;
    // Best effort, bounded: the outcome is known whatever the server does with our goodbye.
    let _ = tokio::time::timeout(CLEANUP_TIMEOUT, async {
        let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
        // The handle resolves when russh's session task ends: the connection is closed
        // when we return, not some time later.
        let _ = handle.await;
    })
    .await;

    let run = outcome?;
    let (stdout, stdout_truncated) = run.stdout.finish();
    let (stderr, stderr_truncated) = run.stderr.finish();
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::debug!(
        address = %target.address,
        exit_status = ?run.exit_status,
        timed_out = run.timed_out,
        duration_ms,
        "ssh: command finished"
    );
    Ok(ExecOutcome {
        exit_status: run.exit_status,
        exit_signal: run.exit_signal,
        stdout,
        stderr,
        stdout_truncated,
        stderr_truncated,
        timed_out: run.timed_out,
        duration_ms,
    })
}

fn decode_private_key(text: &str) -> Result<PrivateKey, SshError> {
    russh::keys::decode_secret_key(text, None).map_err(|e| match e {
        russh::keys::Error::KeyIsEncrypted => SshError::BadKey(
            "the private key is protected by a passphrase; give an unencrypted key \
             (ssh-keygen -p -N '' -f KEYFILE removes it)"
                .to_string(),
        ),
        // The parser's own message could quote parts of the key: give a fixed one.
        _ => SshError::BadKey(
            "the private key is not a valid OpenSSH private key \
             (\"-----BEGIN OPENSSH PRIVATE KEY-----\", as ssh-keygen writes it)"
                .to_string(),
        ),
    })
}

/// russh's client callbacks: only the host key check is ours.
struct PinnedKeyCheck {
    address: String,
    pinned: PinnedHostKey,
    /// Set when the check refuses the server, so the refusal is reported as such whatever
    /// error russh surfaces while tearing the connection down.
    refused: Arc<AtomicBool>,
}

impl client::Handler for PinnedKeyCheck {
    type Error = russh::Error;

    /// Exact comparison with the pinned key. Returning `false` makes russh drop the connection
    /// before authentication, so no credential is sent to a server we do not trust.
    async fn check_server_key(
        &mut self,
        presented: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // Certificates are never asked for (`host_key_certificates` stays empty), and a pin
        // is a key, not a CA: a certificate is refused like any other key.
        if let PublicKeyOrCertificate::PublicKey { key, .. } = presented
            && key.key_data() == self.pinned.0.key_data()
        {
            return Ok(true);
        }
        let presented = match presented {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256))
            }
            PublicKeyOrCertificate::Certificate(_) => "a host certificate".to_string(),
        };
        tracing::warn!(
            address = %self.address,
            pinned = %format!("{} {}", self.pinned.key_type(), self.pinned.fingerprint()),
            presented = %presented,
            "ssh: host key mismatch; refusing to connect"
        );
        self.refused.store(true, Ordering::SeqCst);
        Ok(false)
    }
}

async fn connect(
    target: &SshTarget,
    private_key: PrivateKey,
    limits: &ExecLimits,
) -> Result<client::Handle<PinnedKeyCheck>, SshError> {
    let address = target.address.to_string();
    let config = client::Config {
        preferred: russh::Preferred {
            key: Cow::Owned(target.host_key.algorithms()),
            ..Default::default()
        },
        // Our deadline ends the command; this only guarantees that russh's session task
        // cannot outlive it on a connection that went silent.
        inactivity_timeout: Some(limits.timeout + limits.connect_timeout),
        nodelay: true,
        ..Default::default()
    };
    let refused = Arc::new(AtomicBool::new(false));
    let handler = PinnedKeyCheck {
        address: address.clone(),
        pinned: target.host_key.clone(),
        refused: refused.clone(),
    };
    let connected = client::connect(
        Arc::new(config),
        (target.address.host(), target.address.port()),
        handler,
    )
    .await;
    let mut handle = match connected {
        Ok(handle) => handle,
        Err(_) if refused.load(Ordering::SeqCst) => {
            return Err(SshError::HostKeyMismatch { address });
        }
        Err(russh::Error::NoCommonAlgo {
            kind: AlgorithmKind::Key,
            ..
        }) => {
            // The server has no host key of the pinned type: it cannot be the pinned host.
            tracing::warn!(
                address = %address,
                pinned_type = %target.host_key.key_type(),
                "ssh: server offers no host key of the pinned type; refusing to connect"
            );
            return Err(SshError::HostKeyMismatch { address });
        }
        Err(russh::Error::IO(e)) => {
            return Err(SshError::Connect(format!(
                "could not connect to {address}: {e}"
            )));
        }
        Err(e) => {
            return Err(SshError::Protocol(format!(
                "the SSH handshake with {address} failed: {e}"
            )));
        }
    };

    let protocol =
        |e: russh::Error| SshError::Protocol(format!("authentication with {address} failed: {e}"));
    // RSA keys sign with the best SHA-2 hash the server announces (RFC 8332, RFC 8308
    // `server-sig-algs`); asking costs a round trip of up to 1 s, so only for RSA keys.
    let hash_alg = if private_key.algorithm().is_rsa() {
        match handle.best_supported_rsa_hash().await.map_err(protocol)? {
            Some(announced) => announced,
            // No announcement: try SHA-256, which every OpenSSH since 7.2 accepts.
            None => Some(HashAlg::Sha256),
        }
    } else {
        None
    };
    let auth = handle
        .authenticate_publickey(
            target.user.as_str(),
            PrivateKeyWithHashAlg::new(Arc::new(private_key), hash_alg),
        )
        .await
        .map_err(protocol)?;
    if !auth.success() {
        return Err(SshError::Auth(format!(
            "{address} refused the private key for user {:?}",
            target.user
        )));
    }
    Ok(handle)
}

/// What came back on the channel before it closed or the deadline passed.
struct RunResult {
    exit_status: Option<i32>,
    exit_signal: Option<String>,
    stdout: CappedBuffer,
    stderr: CappedBuffer,
    timed_out: bool,
}

async fn run(
    handle: &client::Handle<PinnedKeyCheck>,
    command: &str,
    max_stream_bytes: usize,
    deadline: Instant,
) -> Result<RunResult, SshError> {
    let mut result = RunResult {
        exit_status: None,
        exit_signal: None,
        stdout: CappedBuffer::new(max_stream_bytes),
        stderr: CappedBuffer::new(max_stream_bytes),
        timed_out: false,
    };
    let protocol = |e: russh::Error| SshError::Protocol(format!("the SSH session failed: {e}"));

    let Ok(channel) = tokio::time::timeout_at(deadline, handle.channel_open_session()).await else {
        result.timed_out = true;
        return Ok(result);
    };
    let mut channel = channel.map_err(protocol)?;
    // RFC 4254 §6.5 "exec": the server hands the string to the user's shell, like `ssh`.
    channel.exec(true, command).await.map_err(protocol)?;

    loop {
        let Ok(message) = tokio::time::timeout_at(deadline, channel.wait()).await else {
            result.timed_out = true;
            // RFC 4254 §6.9: OpenSSH ≥ 7.9 delivers the signal to the command's process
            // group (not for root logins, see `ExecOutcome::timed_out`). KILL, not TERM: the
            // caller has been told the command ended, so it must not carry on unseen. Then
            // close, whether or not the server honoured it.
            let _ = tokio::time::timeout(CLEANUP_TIMEOUT, async {
                let _ = channel.signal(Sig::KILL).await;
                let _ = channel.close().await;
            })
            .await;
            break;
        };
        match message {
            None | Some(ChannelMsg::Close) => break,
            Some(ChannelMsg::Data { data }) => result.stdout.push(&data),
            Some(ChannelMsg::ExtendedData { data, ext }) if ext == SSH_EXTENDED_DATA_STDERR => {
                result.stderr.push(&data)
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                result.exit_status = i32::try_from(exit_status).ok();
            }
            Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                result.exit_signal = Some(signal_name_text(&signal_name));
            }
            // The reply to our `exec` request (we asked for one with want_reply).
            Some(ChannelMsg::Failure) => {
                return Err(SshError::Protocol(
                    "the server refused to run the command".to_string(),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(result)
}

fn signal_name_text(signal: &Sig) -> String {
    match signal {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name,
    }
    .to_string()
}

/// Keeps the first `cap` bytes of a stream and counts nothing else, so a command that writes
/// gigabytes costs at most `cap` bytes of memory while it is still read to the end.
struct CappedBuffer {
    bytes: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl CappedBuffer {
    fn new(cap: usize) -> Self {
        Self {
            bytes: Vec::new(),
            cap,
            truncated: false,
        }
    }

    fn push(&mut self, data: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes.len());
        if data.len() > room {
            self.truncated = true;
        }
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    fn finish(self) -> (String, bool) {
        (
            String::from_utf8_lossy(&self.bytes).into_owned(),
            self.truncated,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOx+VEFmSysbedkL1hc7wUmi3h8R/Pe1AwbNl2R1LsS/";

    #[test]
    fn addresses_default_to_port_22() {
        let a = SshAddress::parse("example.com").unwrap();
        assert_eq!((a.host(), a.port()), ("example.com", 22));
        let a = SshAddress::parse("10.0.0.1:2222").unwrap();
        assert_eq!((a.host(), a.port()), ("10.0.0.1", 2222));
        assert_eq!(a.to_string(), "10.0.0.1:2222");
        let a = SshAddress::parse("[::1]:2222").unwrap();
        assert_eq!((a.host(), a.port()), ("::1", 2222));
        assert_eq!(a.to_string(), "[::1]:2222");
        let a = SshAddress::parse("fe80::1").unwrap();
        assert_eq!((a.host(), a.port()), ("fe80::1", 22));
        assert_eq!(SshAddress::parse(" [::1] ").unwrap().port(), 22);
    }

    #[test]
    fn bad_addresses_are_refused() {
        for bad in [
            "",
            ":22",
            "host:",
            "host:0",
            "host:65536",
            "host:ssh",
            "[::1",
            "[::1]x",
            "a b",
            "user@host",
        ] {
            assert!(
                matches!(SshAddress::parse(bad), Err(SshError::BadAddress(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn host_keys_parse_from_openssh_lines_and_drop_the_comment() {
        let key = PinnedHostKey::parse(&format!("{ED25519} root@host\n")).unwrap();
        assert_eq!(key.to_string(), ED25519);
        assert_eq!(key.key_type(), "ssh-ed25519");
        assert!(key.fingerprint().starts_with("SHA256:"));
        assert_eq!(key.algorithms(), vec![Algorithm::Ed25519]);
    }

    #[test]
    fn bad_host_keys_are_refused() {
        let (kind, base64) = ED25519.split_once(' ').unwrap();
        for bad in [
            String::new(),
            kind.to_string(),
            base64.to_string(),
            format!("ssh-rsa {base64}"),
            format!("{kind} {}", &base64[..20]),
            format!("{kind} not-base64!"),
        ] {
            assert!(
                matches!(PinnedHostKey::parse(&bad), Err(SshError::BadHostKey(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn timeouts_default_to_30_s_and_stop_at_300_s() {
        assert_eq!(
            ExecLimits::with_timeout_seconds(None).unwrap().timeout,
            DEFAULT_TIMEOUT
        );
        assert_eq!(
            ExecLimits::with_timeout_seconds(Some(300)).unwrap().timeout,
            MAX_TIMEOUT
        );
        assert!(ExecLimits::with_timeout_seconds(Some(0)).is_err());
        assert!(ExecLimits::with_timeout_seconds(Some(301)).is_err());
    }

    #[test]
    fn the_buffer_keeps_the_first_cap_bytes() {
        let mut buffer = CappedBuffer::new(5);
        buffer.push(b"abc");
        buffer.push(b"defgh");
        buffer.push(b"ijk");
        assert_eq!(buffer.finish(), ("abcde".to_string(), true));
        let mut buffer = CappedBuffer::new(5);
        buffer.push(b"abcde");
        assert_eq!(buffer.finish(), ("abcde".to_string(), false));
    }

    #[test]
    fn bad_private_keys_are_refused_without_quoting_them() {
        let text = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END OPENSSH PRIVATE KEY-----\n";
        let error = validate_private_key(text).unwrap_err();
        assert!(matches!(error, SshError::BadKey(_)));
        assert!(!error.to_string().contains("c2VjcmV0"));
        assert!(matches!(
            validate_private_key("not a key"),
            Err(SshError::BadKey(_))
        ));
    }

    #[test]
    fn targets_do_not_print_their_private_key() {
        let target = SshTarget {
            address: SshAddress::parse("h").unwrap(),
            user: "u".into(),
            private_key: Secret::new("PRIVATE-KEY-TEXT".into()),
            host_key: PinnedHostKey::parse(ED25519).unwrap(),
        };
        assert!(!format!("{target:?}").contains("PRIVATE-KEY-TEXT"));
    }
}
