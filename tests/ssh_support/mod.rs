//! A real OpenSSH `sshd` for the SSH executor's tests: one per test, on `127.0.0.1` and a free
//! port, with generated host and client keys in a temporary directory, killed on drop.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use omnichat::crypto::Secret;
use omnichat::tools::ssh::{PinnedHostKey, SshAddress, SshTarget};
use tempfile::TempDir;

pub const SSHD: &str = "/usr/sbin/sshd";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Ed25519,
    Ecdsa,
    Rsa,
}

impl KeyKind {
    fn keygen_args(self) -> &'static [&'static str] {
        match self {
            KeyKind::Ed25519 => &["-t", "ed25519"],
            KeyKind::Ecdsa => &["-t", "ecdsa", "-b", "256"],
            // 2048 bits: the smallest size OpenSSH accepts by default, and the fastest to sign
            // with in an unoptimised test build.
            KeyKind::Rsa => &["-t", "rsa", "-b", "2048"],
        }
    }
}

/// A key pair as `ssh-keygen` writes it.
pub struct KeyPair {
    /// The OpenSSH private key file's text.
    pub private: String,
    /// The `.pub` line: `"<type> <base64> <comment>"`.
    pub public: String,
}

/// Generates a key pair with `ssh-keygen` (no passphrase unless one is given) under `dir`.
pub fn keygen(dir: &Path, name: &str, kind: KeyKind, passphrase: &str) -> KeyPair {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-N", passphrase, "-C", name, "-f"])
        .arg(&path)
        .args(kind.keygen_args())
        .stdin(Stdio::null())
        .status()
        .expect("could not run ssh-keygen: install openssh-client");
    assert!(status.success(), "ssh-keygen failed for {name}");
    KeyPair {
        private: fs::read_to_string(&path).unwrap(),
        public: fs::read_to_string(path.with_extension("pub"))
            .unwrap()
            .trim()
            .to_string(),
    }
}

/// A running `sshd -D -e`; killed (and reaped) when dropped, so a failing test leaves none.
pub struct Sshd {
    child: Child,
    pub port: u16,
    /// The host keys the server has, the first being the one [`Sshd::target`] pins.
    pub host_keys: Vec<KeyPair>,
    /// The key `authorized_keys` accepts from the start.
    pub client_key: KeyPair,
    log: PathBuf,
    authorized_keys: PathBuf,
    dir: TempDir,
}

impl Sshd {
    /// A server with one ed25519 host key.
    pub fn start() -> Sshd {
        Self::start_with(&[KeyKind::Ed25519])
    }

    /// A server with one host key of each kind given, in that order.
    pub fn start_with(host_key_kinds: &[KeyKind]) -> Sshd {
        // A missing sshd is a failure, never a skip: CI must install it (scripts/test.sh).
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install the Debian package openssh-server \
             (apt-get install -y openssh-server) to run the SSH tests"
        );
        // sshd refuses to start without its privilege separation directory.
        fs::create_dir_all("/run/sshd").expect("could not create /run/sshd");

        let dir = tempfile::tempdir().unwrap();
        let host_keys: Vec<KeyPair> = host_key_kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| keygen(dir.path(), &format!("host_key_{i}"), *kind, ""))
            .collect();
        let client_key = keygen(dir.path(), "client_key", KeyKind::Ed25519, "");
        let authorized_keys = dir.path().join("authorized_keys");
        fs::write(&authorized_keys, format!("{}\n", client_key.public)).unwrap();
        let log = dir.path().join("sshd.log");

        // Two tests may draw the same free port between our probe and sshd's bind: then
        // sshd exits at once and we try another port.
        for _attempt in 0..5 {
            let port = free_port();
            let config = dir.path().join("sshd_config");
            let mut text = format!(
                "ListenAddress 127.0.0.1:{port}\n\
                 PidFile none\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 AuthorizedKeysFile {authorized_keys}\n\
                 AllowUsers {user}\n\
                 PermitRootLogin prohibit-password\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PrintMotd no\n\
                 LogLevel VERBOSE\n",
                authorized_keys = authorized_keys.display(),
                user = current_user(),
            );
            for i in 0..host_keys.len() {
                text.push_str(&format!(
                    "HostKey {}\n",
                    dir.path().join(format!("host_key_{i}")).display()
                ));
            }
            fs::write(&config, text).unwrap();
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).unwrap())
                .spawn()
                .expect("could not start sshd");
            let ready = format!("Server listening on 127.0.0.1 port {port}");
            let started = Instant::now();
            loop {
                if fs::read_to_string(&log)
                    .unwrap_or_default()
                    .contains(&ready)
                {
                    return Sshd {
                        child,
                        port,
                        host_keys,
                        client_key,
                        log,
                        authorized_keys,
                        dir,
                    };
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "sshd did not start listening within 10 s; its log:\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!(
            "sshd would not start; its last log:\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        );
    }

    pub fn address(&self) -> SshAddress {
        SshAddress::parse(&format!("127.0.0.1:{}", self.port)).unwrap()
    }

    /// A target for this server: its first host key pinned, the authorized client key.
    pub fn target(&self) -> SshTarget {
        SshTarget {
            address: self.address(),
            user: current_user(),
            private_key: Secret::new(self.client_key.private.clone()),
            host_key: PinnedHostKey::parse(&self.host_keys[0].public).unwrap(),
        }
    }

    /// Lets `key` log in too (sshd reads `authorized_keys` at every attempt).
    pub fn authorize(&self, key: &KeyPair) {
        let mut file = OpenOptions::new()
            .append(true)
            .open(&self.authorized_keys)
            .unwrap();
        writeln!(file, "{}", key.public).unwrap();
    }

    /// A path in the server's temporary directory, for files a command creates.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What sshd has logged so far (`-e`: to stderr, which goes to a file).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The per-connection sshd processes alive now: one for each open connection.
    pub fn connection_processes(&self) -> usize {
        children_of(self.child.id()).len()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn current_user() -> String {
    let output = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The live (not zombie) processes whose parent is `pid`, from `/proc`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces, so parse after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 1
            && fields[0] != "Z"
            && fields[1] == pid.to_string()
            && let Ok(child) = entry.file_name().to_string_lossy().parse()
        {
            children.push(child);
        }
    }
    children
}

/// Whether a process is alive (a zombie counts as gone: it no longer runs).
pub fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
