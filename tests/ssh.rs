//! The SSH executor (`omnichat::tools::ssh`) against a real OpenSSH `sshd` on 127.0.0.1.
//! Needs `/usr/sbin/sshd` (Debian: openssh-server) and `ssh-keygen` (openssh-client); the
//! tests fail, never skip, when they are missing.

mod ssh_support;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omnichat::crypto::Secret;
use omnichat::tools::ssh::{
    DEFAULT_MAX_STREAM_BYTES, ExecLimits, ExecOutcome, PinnedHostKey, SshAddress, SshError,
    SshTarget, execute, validate_private_key,
};
use ssh_support::{KeyKind, Sshd, current_user, keygen, process_alive};

async fn run(target: &SshTarget, command: &str) -> ExecOutcome {
    execute(target, command, &ExecLimits::default())
        .await
        .unwrap_or_else(|e| panic!("{command:?} failed: {e}"))
}

/// Polls `condition` without blocking the runtime (russh's session tasks run on it too).
async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

#[tokio::test]
async fn a_command_returns_its_output_and_exit_status() {
    let sshd = Sshd::start();
    let outcome = run(&sshd.target(), "echo hello").await;
    assert_eq!(outcome.stdout, "hello\n");
    assert_eq!(outcome.stderr, "");
    assert_eq!(outcome.exit_status, Some(0));
    assert_eq!(outcome.exit_signal, None);
    assert!(!outcome.stdout_truncated && !outcome.stderr_truncated && !outcome.timed_out);
    assert!(outcome.duration_ms < 10_000);
    // The connection is closed by the time execute returns.
    assert!(eventually(Duration::from_secs(2), || sshd.connection_processes() == 0).await);
}

#[tokio::test]
async fn a_failing_command_returns_its_exit_status_and_stderr() {
    let sshd = Sshd::start();
    let target = sshd.target();
    let outcome = run(&target, "exit 3").await;
    assert_eq!(outcome.exit_status, Some(3));
    assert_eq!(outcome.stdout, "");

    let outcome = run(&target, "echo oops >&2").await;
    assert_eq!(outcome.stderr, "oops\n");
    assert_eq!(outcome.stdout, "");
    assert_eq!(outcome.exit_status, Some(0));
}

#[tokio::test]
async fn the_remote_shell_interprets_the_command() {
    let sshd = Sshd::start();
    let target = sshd.target();
    assert_eq!(run(&target, "echo a; echo b").await.stdout, "a\nb\n");
    assert_eq!(run(&target, "echo $(echo hi)").await.stdout, "hi\n");
    assert_eq!(
        run(&target, "printf '%s|' \"x y\" z | tr '|' '\\n'")
            .await
            .stdout,
        "x y\nz\n"
    );
}

#[tokio::test]
async fn output_that_is_not_utf8_is_decoded_lossily() {
    let sshd = Sshd::start();
    let outcome = run(&sshd.target(), "printf 'a\\377b'").await;
    assert_eq!(outcome.stdout, "a\u{FFFD}b");
}

#[tokio::test]
async fn a_command_killed_by_a_signal_has_no_exit_status() {
    let sshd = Sshd::start();
    let outcome = run(&sshd.target(), "kill -TERM $$").await;
    assert_eq!(outcome.exit_status, None);
    assert_eq!(outcome.exit_signal.as_deref(), Some("TERM"));
    assert!(!outcome.timed_out);
}

#[tokio::test]
async fn a_wrong_host_key_is_refused_before_anything_runs() {
    // Capture what the executor logs (the test runtime runs on this thread).
    let logs = SharedBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sshd = Sshd::start();
    let other = keygen(sshd.dir(), "impostor", KeyKind::Ed25519, "");
    let marker = sshd.path("ran");
    let command = format!("touch {}", marker.display());
    let mut target = sshd.target();
    target.host_key = PinnedHostKey::parse(&other.public).unwrap();

    let error = execute(&target, &command, &ExecLimits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SshError::HostKeyMismatch { address } if *address == sshd.address().to_string()),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("does not match the pinned host key")
    );
    // Nothing ran, and no authentication was even attempted.
    assert!(!marker.exists());
    let log = sshd.log();
    assert!(
        !log.contains("publickey"),
        "sshd saw an authentication:\n{log}"
    );
    assert!(
        !log.contains("Accepted"),
        "sshd saw an authentication:\n{log}"
    );
    assert!(logs.text().contains("host key mismatch"), "{}", logs.text());

    // The same command with the right key does run: the marker would have shown it.
    run(&sshd.target(), &command).await;
    assert!(marker.exists());
    assert!(sshd.log().contains("Accepted publickey"));
}

#[tokio::test]
async fn a_server_without_a_host_key_of_the_pinned_type_is_refused() {
    let sshd = Sshd::start();
    let ecdsa = keygen(sshd.dir(), "ecdsa_elsewhere", KeyKind::Ecdsa, "");
    let mut target = sshd.target();
    target.host_key = PinnedHostKey::parse(&ecdsa.public).unwrap();
    let error = execute(&target, "true", &ExecLimits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SshError::HostKeyMismatch { .. }),
        "{error:?}"
    );
    assert!(!sshd.log().contains("Accepted"));
}

#[tokio::test]
async fn the_pinned_key_is_the_one_asked_for_among_several() {
    // The server has ed25519, ECDSA and RSA host keys: pinning any one of them works, since
    // only the pinned key's algorithm is offered in the key exchange.
    let sshd = Sshd::start_with(&[KeyKind::Ed25519, KeyKind::Ecdsa, KeyKind::Rsa]);
    for host_key in &sshd.host_keys {
        let mut target = sshd.target();
        target.host_key = PinnedHostKey::parse(&host_key.public).unwrap();
        let outcome = execute(&target, "echo pinned", &ExecLimits::default())
            .await
            .unwrap_or_else(|e| panic!("pinning {}: {e}", host_key.public));
        assert_eq!(outcome.stdout, "pinned\n");
    }
}

#[tokio::test]
async fn ecdsa_and_rsa_client_keys_log_in() {
    let sshd = Sshd::start();
    for (name, kind) in [
        ("client_ecdsa", KeyKind::Ecdsa),
        ("client_rsa", KeyKind::Rsa),
    ] {
        let key = keygen(sshd.dir(), name, kind, "");
        validate_private_key(&key.private).unwrap();
        sshd.authorize(&key);
        let mut target = sshd.target();
        target.private_key = Secret::new(key.private);
        let outcome = execute(&target, "echo in", &ExecLimits::default())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(outcome.stdout, "in\n", "{name}");
    }
}

#[tokio::test]
async fn an_unauthorized_client_key_is_an_authentication_error() {
    let sshd = Sshd::start();
    let stranger = keygen(sshd.dir(), "stranger", KeyKind::Ed25519, "");
    let mut target = sshd.target();
    target.private_key = Secret::new(stranger.private.clone());
    let error = execute(&target, "true", &ExecLimits::default())
        .await
        .unwrap_err();
    assert!(matches!(error, SshError::Auth(_)), "{error:?}");
    assert!(error.to_string().contains("refused the private key"));
    assert!(!error.to_string().contains(&stranger.private));
}

#[tokio::test]
async fn a_closed_port_fails_fast() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sshd = Sshd::start();
    let mut target = sshd.target();
    target.address = SshAddress::parse(&format!("127.0.0.1:{port}")).unwrap();
    let started = Instant::now();
    let error = execute(&target, "true", &ExecLimits::default())
        .await
        .unwrap_err();
    assert!(matches!(error, SshError::Connect(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_unreachable_host_fails_within_the_connect_timeout() {
    let sshd = Sshd::start();
    let mut target = sshd.target();
    // TEST-NET-1 (RFC 5737): never routed, so the connection either fails at once or hangs.
    target.address = SshAddress::parse("192.0.2.1:22").unwrap();
    let limits = ExecLimits {
        connect_timeout: Duration::from_secs(1),
        ..ExecLimits::default()
    };
    let started = Instant::now();
    let error = execute(&target, "true", &limits).await.unwrap_err();
    assert!(matches!(error, SshError::Connect(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_server_that_never_answers_fails_within_the_connect_timeout() {
    // Accepts TCP connections (the kernel's backlog does) but never says a word of SSH.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sshd = Sshd::start();
    let mut target = sshd.target();
    target.address = SshAddress::parse(&silent.local_addr().unwrap().to_string()).unwrap();
    let limits = ExecLimits {
        connect_timeout: Duration::from_secs(1),
        ..ExecLimits::default()
    };
    let started = Instant::now();
    let error = execute(&target, "true", &limits).await.unwrap_err();
    assert!(matches!(error, SshError::Connect(_)), "{error:?}");
    assert!(error.to_string().contains("within 1 s"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_command_that_outlives_its_timeout_is_stopped() {
    let sshd = Sshd::start();
    let limits = ExecLimits {
        timeout: Duration::from_secs(2),
        ..ExecLimits::default()
    };
    let started = Instant::now();
    // The shell prints its pid, then becomes `sleep 60`: the pid is the sleep's.
    let outcome = execute(&sshd.target(), "echo $$; exec sleep 60", &limits)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(outcome.timed_out);
    assert_eq!(outcome.exit_status, None);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // The output before the timeout is kept.
    let pid: u32 = outcome.stdout.trim().parse().unwrap();
    // The connection is closed.
    assert!(eventually(Duration::from_secs(3), || sshd.connection_processes() == 0).await);
    // The command was sent SIGKILL. OpenSSH delivers it for ordinary users (checked by hand
    // with one); for a root login sshd has no privilege-separated session process and
    // refuses signals, so there the request must at least have reached sshd.
    let refused_for_root = sshd
        .log()
        .contains("session_signal_req: session signalling requires privilege separation");
    let killed = if refused_for_root {
        !process_alive(pid)
    } else {
        eventually(Duration::from_secs(3), || !process_alive(pid)).await
    };
    if !killed {
        // Ours to clean up, by its pid.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(
        killed || (current_user() == "root" && refused_for_root),
        "the remote sleep {pid} still runs; sshd's log:\n{}",
        sshd.log()
    );
}

#[tokio::test]
async fn large_output_is_truncated_at_the_cap_and_read_to_the_end() {
    let sshd = Sshd::start();
    let outcome = run(&sshd.target(), "head -c 5000000 /dev/zero; echo done >&2").await;
    assert!(outcome.stdout_truncated);
    assert_eq!(outcome.stdout.len(), DEFAULT_MAX_STREAM_BYTES);
    assert!(outcome.stdout.bytes().all(|b| b == 0));
    // The command was not blocked by the cap: it ran to its end.
    assert_eq!(outcome.exit_status, Some(0));
    assert_eq!(outcome.stderr, "done\n");
    assert!(!outcome.stderr_truncated);
    assert!(!outcome.timed_out);
}

#[tokio::test]
async fn memory_stays_flat_however_much_a_command_writes() {
    let sshd = Sshd::start();
    let before = peak_resident_bytes();
    let outcome = run(&sshd.target(), "head -c 64000000 /dev/zero").await;
    assert!(outcome.stdout_truncated);
    assert_eq!(outcome.exit_status, Some(0));
    // Had the output been kept, the peak would have grown by 64 MB; the cap and russh's
    // bounded channel buffers account for a few MiB. (Other tests of this binary run in
    // parallel, each with at most a few MiB.)
    let growth = peak_resident_bytes().saturating_sub(before);
    assert!(
        growth < 24 * 1024 * 1024,
        "peak memory grew by {growth} bytes"
    );
}

/// The test process's peak resident set (`VmHWM`), in bytes.
fn peak_resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[tokio::test]
async fn a_small_cap_applies_to_each_stream() {
    let sshd = Sshd::start();
    let limits = ExecLimits {
        max_stream_bytes: 4,
        ..ExecLimits::default()
    };
    let outcome = execute(&sshd.target(), "echo 123456; echo abcdef >&2", &limits)
        .await
        .unwrap();
    assert_eq!(
        (outcome.stdout.as_str(), outcome.stdout_truncated),
        ("1234", true)
    );
    assert_eq!(
        (outcome.stderr.as_str(), outcome.stderr_truncated),
        ("abcd", true)
    );
}

#[tokio::test]
async fn a_bad_private_key_is_a_clear_error_before_connecting() {
    let sshd = Sshd::start();
    let mut target = sshd.target();
    let garbage =
        "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n";
    target.private_key = Secret::new(garbage.to_string());
    let error = execute(&target, "true", &ExecLimits::default())
        .await
        .unwrap_err();
    assert!(matches!(error, SshError::BadKey(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("not a valid OpenSSH private key")
    );
    assert!(!error.to_string().contains("bm90IGEga2V5"));
    assert!(!sshd.log().contains("Connection from"), "it connected");

    // The public half is not a private key either.
    let error = validate_private_key(&sshd.client_key.public).unwrap_err();
    assert!(matches!(error, SshError::BadKey(_)));

    // A key with a passphrase cannot be used: there is nobody to type it.
    let encrypted = keygen(sshd.dir(), "encrypted", KeyKind::Ed25519, "a passphrase");
    let error = validate_private_key(&encrypted.private).unwrap_err();
    assert!(error.to_string().contains("passphrase"), "{error}");
    validate_private_key(&sshd.client_key.private).unwrap();
}

/// A `tracing` writer that keeps what is written, for the test to read.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl io::Write for SharedBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SharedBuffer {
    type Writer = SharedBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
