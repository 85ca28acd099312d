//! The `omnichat` command line: `serve` and the operator's administration commands.
//! Every command prints one readable line and exits non-zero on error (see `main.rs`).

use std::io::{Read, Write};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::clock::{Clock, format_time};
use crate::config::{ConfigArgs, LogFormat, Settings};
use crate::crypto::Secret;
use crate::oauth::types::{ClientId, UserName};
use crate::oauth::{endpoints, keys, register};
use crate::password;
use crate::store::{self, Store, User};

#[derive(Debug, Parser)]
#[command(
    name = "omnichat",
    version,
    about = "OmniChat's MCP server and OAuth 2.1 authorization server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (prints the MCP URL to paste into ChatGPT)
    Serve,
    /// Manage the people who can sign in
    #[command(subcommand)]
    Users(UsersCommand),
    /// Inspect and remove registered OAuth clients
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Inspect and rotate the token signing keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect and revoke what users approved for clients
    #[command(subcommand)]
    Grants(GrantsCommand),
    /// Manage the public knowledge base searched by `public_search`
    #[command(subcommand)]
    Docs(DocsCommand),
    /// Manage the SSH hosts users may run commands on
    #[command(name = "ssh-hosts", subcommand)]
    SshHosts(SshHostsCommand),
    /// Show the audit trail of SSH commands
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Add text/Markdown files as documents
    Add {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Title (default: the file's first `# ` heading, or its name); only with one file
        #[arg(long)]
        title: Option<String>,
    },
    /// List documents
    List,
    /// Remove a document
    Remove { id: String },
}

#[derive(Debug, Subcommand)]
pub enum SshHostsCommand {
    /// Add a host. The private key file is read now and kept in the database (encrypted with
    /// the master key when one is configured).
    Add {
        name: String,
        /// HOST[:PORT] (port 22 by default; [IPv6]:PORT)
        #[arg(long)]
        address: String,
        /// The remote user to log in as
        #[arg(long)]
        user: String,
        /// An unencrypted OpenSSH private key file
        #[arg(long)]
        key_file: std::path::PathBuf,
        /// The host's public key, "<type> <base64>" (e.g. a line of ssh-keyscan's output without the host)
        #[arg(long)]
        host_key: String,
        /// OmniChat users allowed to use this host (default: every user)
        #[arg(long, num_args = 1..)]
        allow: Vec<String>,
    },
    /// List hosts
    List,
    /// Remove a host
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Newest SSH executions first
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// List grants (newest first)
    List {
        /// Only this user's grants
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a grant: its refresh tokens stop working at once, its access tokens at their
    /// next check
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user; the password is read from standard input
    Add {
        name: String,
        /// Read the password from standard input (required; keeps it out of `ps` and history)
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users
    List,
    /// Stop a user from signing in
    Disable { name: String },
    /// Let a disabled user sign in again
    Enable { name: String },
    /// Set a user's password, read from standard input
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// List registered clients
    List,
    /// Show one client's registration as JSON (never its secret)
    Show { client_id: String },
    /// Remove a client
    Remove { client_id: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys with their state
    List,
    /// Make a new signing key active; the old one keeps verifying for the retention period
    Rotate,
}

/// Sets up logging: text or JSON on stderr, level from `RUST_LOG` (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&cli.config)?;
    init_tracing(settings.log_format);
    match cli.command {
        Command::Serve => serve(settings).await,
        Command::Users(cmd) => users(cmd, &settings).await,
        Command::Clients(cmd) => clients(cmd, &settings).await,
        Command::Keys(cmd) => keys_command(cmd, &settings).await,
        Command::Grants(cmd) => grants(cmd, &settings).await,
        Command::Docs(cmd) => docs(cmd, &settings).await,
        Command::SshHosts(cmd) => ssh_hosts(cmd, &settings).await,
        Command::Audit(cmd) => audit(cmd, &settings).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.master_key.is_none() {
        tracing::warn!(
            "no master key configured: private keys are stored unencrypted in the database (set OMNICHAT_MASTER_KEY or --master-key-file)"
        );
    }
    let app = Application::build(settings).await?;
    let public = app.public_url().clone();
    let mut out = std::io::stdout().lock();
    writeln!(out, "omnichat is listening on {}", app.local_addr())?;
    writeln!(
        out,
        "MCP URL (paste into ChatGPT): {}",
        public.join(endpoints::MCP)
    )?;
    writeln!(out, "Discovery:")?;
    for path in [
        endpoints::PROTECTED_RESOURCE_MCP,
        endpoints::AUTHORIZATION_SERVER_METADATA,
        endpoints::OPENID_CONFIGURATION,
        endpoints::JWKS,
    ] {
        writeln!(out, "  {}", public.join(path))?;
    }
    out.flush()?;
    drop(out);
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Reads a password from standard input: everything up to the first line break.
fn read_password(password_stdin: bool) -> anyhow::Result<Secret<String>> {
    if !password_stdin {
        bail!("pass the password on standard input with --password-stdin");
    }
    let mut raw = Vec::new();
    std::io::stdin()
        .take(password::MAX_PASSWORD_BYTES as u64 * 4)
        .read_to_end(&mut raw)
        .context("cannot read the password from standard input")?;
    let text =
        String::from_utf8(raw).map_err(|_| anyhow::anyhow!("the password is not valid UTF-8"))?;
    let line = text.split(['\n', '\r']).next().unwrap_or("").to_string();
    password::validate_new_password(&line).map_err(anyhow::Error::msg)?;
    Ok(Secret::new(line))
}

async fn hash_off_runtime(password: Secret<String>) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || password::hash_password(&password)).await?
}

async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    store::open(settings).await
}

fn parse_user_name(name: &str) -> anyhow::Result<UserName> {
    UserName::parse(name).map_err(anyhow::Error::msg)
}

async fn users(cmd: UsersCommand, settings: &Settings) -> anyhow::Result<()> {
    let clock = Clock::system();
    match cmd {
        UsersCommand::Add {
            name,
            password_stdin,
        } => {
            let name = parse_user_name(&name)?;
            let password = read_password(password_stdin)?;
            let store = open_store(settings).await?;
            if store.find_user_by_name(&name).await?.is_some() {
                bail!("a user named {:?} already exists", name.as_str());
            }
            let user = User {
                id: uuid::Uuid::new_v4().to_string(),
                name: name.clone(),
                password_hash: hash_off_runtime(password).await?,
                disabled: false,
                created_at: clock.now(),
            };
            store.insert_user(&user).await?;
            println!("user {name} added");
        }
        UsersCommand::List => {
            let store = open_store(settings).await?;
            let users = store.list_users().await?;
            if users.is_empty() {
                println!("no users; add one with: omnichat users add NAME --password-stdin");
            }
            for user in users {
                let status = if user.disabled { "disabled" } else { "active" };
                println!(
                    "{}\t{}\tcreated {}",
                    user.name,
                    status,
                    format_time(user.created_at)
                );
            }
        }
        UsersCommand::Disable { name } => set_disabled(settings, &name, true, &clock).await?,
        UsersCommand::Enable { name } => set_disabled(settings, &name, false, &clock).await?,
        UsersCommand::Passwd {
            name,
            password_stdin,
        } => {
            let name = parse_user_name(&name)?;
            let password = read_password(password_stdin)?;
            let store = open_store(settings).await?;
            if store.find_user_by_name(&name).await?.is_none() {
                bail!("no user named {:?}", name.as_str());
            }
            let hash = hash_off_runtime(password).await?;
            if !store.set_user_password(&name, &hash, clock.now()).await? {
                bail!("no user named {:?}", name.as_str());
            }
            println!("password of {name} changed");
        }
    }
    Ok(())
}

async fn set_disabled(
    settings: &Settings,
    name: &str,
    disabled: bool,
    clock: &Clock,
) -> anyhow::Result<()> {
    let name = parse_user_name(name)?;
    let store = open_store(settings).await?;
    if !store
        .set_user_disabled(&name, disabled, clock.now())
        .await?
    {
        bail!("no user named {:?}", name.as_str());
    }
    if disabled {
        // A disabled user's existing access ends too, not only their sign-in.
        let user = store
            .find_user_by_name(&name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no user named {:?}", name.as_str()))?;
        let revoked = store.revoke_user_grants(&user.id, clock.now()).await?;
        println!("user {name} disabled; {revoked} grant(s) revoked and sessions ended");
    } else {
        println!("user {name} enabled");
    }
    Ok(())
}

fn parse_client_id(text: &str) -> anyhow::Result<ClientId> {
    ClientId::parse(text).ok_or_else(|| anyhow::anyhow!("no client with id {text:?}"))
}

async fn clients(cmd: ClientsCommand, settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    match cmd {
        ClientsCommand::List => {
            let clients = store.list_clients().await?;
            if clients.is_empty() {
                println!("no clients registered");
            }
            for client in clients {
                println!(
                    "{}\t{}\t{}\tregistered {}\t{}",
                    client.client_id,
                    client
                        .client_name
                        .as_deref()
                        .unwrap_or("(no name)")
                        .escape_debug(),
                    client.token_endpoint_auth_method.as_str(),
                    format_time(client.issued_at),
                    client.redirect_uris.join(" "),
                );
            }
        }
        ClientsCommand::Show { client_id } => {
            let id = parse_client_id(&client_id)?;
            let client = store
                .find_client(&id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no client with id {client_id:?}"))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&register::client_information(&client, None))?
            );
        }
        ClientsCommand::Remove { client_id } => {
            let id = parse_client_id(&client_id)?;
            if !store.delete_client(&id).await? {
                bail!("no client with id {client_id:?}");
            }
            println!("client {id} removed");
        }
    }
    Ok(())
}

async fn keys_command(cmd: KeysCommand, settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let now = Clock::system().now();
    match cmd {
        KeysCommand::List => {
            let keys = store.list_signing_keys().await?;
            if keys.is_empty() {
                println!("no signing keys yet; `omnichat serve` creates one on first start");
            }
            for key in keys {
                let state = match (key.retired_at, key.verify_until) {
                    (None, _) => "active".to_string(),
                    (Some(_), Some(until)) if until > now => {
                        format!("verify-only until {}", format_time(until))
                    }
                    (Some(_), _) => "expired (pruned at next rotation or start)".to_string(),
                };
                println!(
                    "{}\t{}\t{}\tcreated {}\tprivate key {}",
                    key.kid,
                    key.alg,
                    state,
                    format_time(key.created_at),
                    match key.protection {
                        store::KeyProtection::Plain => "unencrypted",
                        store::KeyProtection::MasterKey => "encrypted with the master key",
                    }
                );
            }
        }
        KeysCommand::Rotate => {
            let (fresh, previous) = keys::rotate(
                &*store,
                settings.master_key.as_ref(),
                now,
                settings.key_retention,
            )
            .await?;
            println!("signing key {} is now active", fresh.kid);
            if let Some(previous) = previous {
                println!(
                    "previous key {} verifies tokens until {}",
                    previous.kid,
                    previous.verify_until.map(format_time).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

async fn grants(cmd: GrantsCommand, settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let now = Clock::system().now();
    match cmd {
        GrantsCommand::List { user } => {
            let user_id = match user {
                Some(name) => {
                    let name = parse_user_name(&name)?;
                    Some(
                        store
                            .find_user_by_name(&name)
                            .await?
                            .ok_or_else(|| anyhow::anyhow!("no user named {:?}", name.as_str()))?
                            .id,
                    )
                }
                None => None,
            };
            let grants = store.list_grants(user_id.as_deref()).await?;
            if grants.is_empty() {
                println!("no grants");
            }
            for listing in grants {
                let grant = &listing.grant;
                let state = match grant.revoked_at {
                    Some(at) => format!("revoked {}", format_time(at)),
                    None if grant.expires_at <= now => "expired".to_string(),
                    None => "active".to_string(),
                };
                println!(
                    "{}\t{}\t{} ({})\t{}\t{}\tcreated {}",
                    grant.id,
                    listing.user_name,
                    listing
                        .client_name
                        .as_deref()
                        .unwrap_or("(no name)")
                        .escape_debug(),
                    grant.client_id,
                    grant.scope,
                    state,
                    format_time(grant.created_at),
                );
            }
        }
        GrantsCommand::Revoke { id } => {
            if uuid::Uuid::parse_str(&id).is_err() || !store.revoke_grant(&id, now).await? {
                bail!("no grant with id {id:?}");
            }
            println!("grant {id} revoked");
        }
    }
    Ok(())
}

async fn docs(cmd: DocsCommand, settings: &Settings) -> anyhow::Result<()> {
    use crate::tools::search::{MAX_DOCUMENT_BYTES, markdown_sections};
    let store = open_store(settings).await?;
    let now = Clock::system().now();
    match cmd {
        DocsCommand::Add { files, title } => {
            if title.is_some() && files.len() != 1 {
                bail!("--title applies to a single file");
            }
            // Read and check every file before storing any, so a bad file adds nothing.
            let mut documents = Vec::new();
            for file in &files {
                let bytes = std::fs::read(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                if bytes.len() > MAX_DOCUMENT_BYTES {
                    bail!(
                        "{} is larger than {} bytes",
                        file.display(),
                        MAX_DOCUMENT_BYTES
                    );
                }
                let body = String::from_utf8(bytes)
                    .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", file.display()))?;
                if body.trim().is_empty() {
                    bail!("{} is empty", file.display());
                }
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let title = title.clone().unwrap_or_else(|| {
                    markdown_sections(&body, &name)
                        .first()
                        .map(|(t, _)| t.clone())
                        .unwrap_or(name.clone())
                });
                documents.push(crate::store::Document {
                    id: uuid::Uuid::new_v4().to_string(),
                    title,
                    body,
                    source: name,
                    created_at: now,
                });
            }
            for document in documents {
                store.insert_document(&document).await?;
                println!("document {} added: {}", document.id, document.title);
            }
        }
        DocsCommand::List => {
            let documents = store.list_documents().await?;
            if documents.is_empty() {
                println!("no documents");
            }
            for d in documents {
                println!(
                    "{}\t{}\t{}\t{} bytes",
                    d.id,
                    d.title.escape_debug(),
                    d.source,
                    d.body.len()
                );
            }
        }
        DocsCommand::Remove { id } => {
            if !store.delete_document(&id).await? {
                bail!("no document with id {id:?}");
            }
            println!("document {id} removed");
        }
    }
    Ok(())
}

async fn ssh_hosts(cmd: SshHostsCommand, settings: &Settings) -> anyhow::Result<()> {
    use crate::tools::ssh::{PinnedHostKey, SshAddress, validate_private_key};
    let store = open_store(settings).await?;
    match cmd {
        SshHostsCommand::Add {
            name,
            address,
            user,
            key_file,
            host_key,
            allow,
        } => {
            // Host names follow the user-name rules: short, plain, case-insensitive.
            let name = UserName::parse(&name)
                .map_err(|_| {
                    anyhow::anyhow!(
                        "invalid host name {name:?}: use 1-64 letters, digits, '.', '_', '-'"
                    )
                })?
                .as_str()
                .to_string();
            let address = SshAddress::parse(&address).map_err(|e| anyhow::anyhow!("{e}"))?;
            if user.is_empty()
                || user.len() > 64
                || !user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                bail!("invalid remote user {user:?}");
            }
            let host_key = PinnedHostKey::parse(&host_key).map_err(|e| anyhow::anyhow!("{e}"))?;
            let key_text = std::fs::read_to_string(&key_file)
                .with_context(|| format!("cannot read the key file {}", key_file.display()))?;
            validate_private_key(&key_text).map_err(|e| anyhow::anyhow!("{e}"))?;
            let allowed = allow
                .iter()
                .map(|u| parse_user_name(u).map(|n| n.as_str().to_string()))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (private_key, protection) = crate::tools::ssh_hosts::protect_key(
                settings.master_key.as_ref(),
                &name,
                &key_text,
            )
            .map_err(anyhow::Error::msg)?;
            store
                .insert_ssh_host(&crate::store::SshHost {
                    name: name.clone(),
                    address: address.to_string(),
                    username: user,
                    private_key,
                    protection,
                    host_key: host_key.to_string(),
                    allowed_users: allowed,
                    created_at: Clock::system().now(),
                })
                .await?;
            println!(
                "ssh host {name} added ({}; host key {})",
                address,
                host_key.fingerprint()
            );
        }
        SshHostsCommand::List => {
            let hosts = store.list_ssh_hosts().await?;
            if hosts.is_empty() {
                println!("no ssh hosts");
            }
            for h in hosts {
                let allowed = if h.allowed_users.is_empty() {
                    "all users".to_string()
                } else {
                    h.allowed_users.join(",")
                };
                let fingerprint = PinnedHostKey::parse(&h.host_key)
                    .map(|k| k.fingerprint())
                    .unwrap_or_default();
                println!(
                    "{}\t{}@{}\t{}\tallowed: {}",
                    h.name, h.username, h.address, fingerprint, allowed
                );
            }
        }
        SshHostsCommand::Remove { name } => {
            if !store.delete_ssh_host(&name.to_ascii_lowercase()).await? {
                bail!("no ssh host named {name:?}");
            }
            println!("ssh host {name} removed");
        }
    }
    Ok(())
}

async fn audit(cmd: AuditCommand, settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let AuditCommand::List { limit } = cmd;
    let records = store.list_audit(limit.clamp(1, 10_000)).await?;
    if records.is_empty() {
        println!("no ssh executions recorded");
    }
    for r in records {
        println!(
            "{}\tuser {}\tclient {}\thost {}\texit {}\t{} ms\t{}\t{}",
            format_time(r.at),
            r.user_id,
            r.client_id,
            r.host,
            r.exit_status.map_or("-".to_string(), |s| s.to_string()),
            r.duration_ms,
            r.outcome,
            r.command.escape_debug(),
        );
    }
    Ok(())
}
