//! Typed settings. Precedence: command-line flags > environment (`OMNICHAT_*`, plus the seed's
//! `RESOURCE_URL`, `AUTHORIZATION_SERVER`, `OAUTH_JWKS_URI`, `OAUTH_CLIENT_ID`,
//! `OAUTH_CLIENT_SECRET`) > the TOML file given with `--config` > defaults.
//!
//! clap reads flags and environment variables together ([`ConfigArgs`]); the file is read
//! into [`FileConfig`], which rejects unknown keys so a typo is an error rather than a
//! silently ignored setting.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;
use url::Url;

use crate::crypto::{MasterKey, Secret};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "./omnichat-data";
/// ChatGPT's web origins: the browser-side parts of the connector flow come from these.
pub const DEFAULT_CORS_ORIGINS: [&str; 2] = ["https://chatgpt.com", "https://platform.openai.com"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// SQLite's `synchronous` pragma. FULL survives power loss without losing a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    Full,
    Normal,
}

/// Every setting as a flag with its environment variable. All are optional here; the
/// defaults are applied in [`Settings::load`] after the config file.
#[derive(Clone, Default, clap::Args)]
#[command(next_help_heading = "Settings (flag > environment > --config file > default)")]
pub struct ConfigArgs {
    /// Where the SQLite database and user files live [default: ./omnichat-data]
    #[arg(long, global = true, env = "OMNICHAT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML file with settings (keys as in the README's table)
    #[arg(long, global = true, env = "OMNICHAT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000]
    #[arg(long, global = true, env = "OMNICHAT_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The URL clients reach this server at [default: http://<listen>]; env RESOURCE_URL is an alias
    #[arg(long, global = true, env = "OMNICHAT_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Database URL [default: sqlite in the data dir]
    #[arg(long, global = true, env = "OMNICHAT_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// SQLite durability [default: full]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_SQLITE_SYNCHRONOUS",
        value_name = "MODE"
    )]
    pub sqlite_synchronous: Option<SqliteSynchronous>,
    /// File holding the 32-byte master key (base64 or hex) that encrypts private keys at rest;
    /// or set OMNICHAT_MASTER_KEY
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_MASTER_KEY_FILE",
        value_name = "FILE"
    )]
    pub master_key_file: Option<PathBuf>,
    /// Browser origins allowed by CORS, comma-separated [default: https://chatgpt.com,https://platform.openai.com]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGINS"
    )]
    pub cors_origins: Option<Vec<String>>,
    /// Extra redirect URIs clients may register, exact strings, comma-separated
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_ALLOWED_REDIRECT_URIS",
        value_delimiter = ',',
        value_name = "URIS"
    )]
    pub allowed_redirect_uris: Option<Vec<String>>,
    /// Allow plain-http redirect URIs to non-loopback hosts (development only) [default: false]
    #[arg(long, global = true, env = "OMNICHAT_ALLOW_INSECURE_HTTP_REDIRECTS", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub allow_insecure_http_redirects: Option<bool>,
    /// Extra Host names (or host:port) the MCP endpoint accepts besides the public URL's, comma-separated
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOSTS"
    )]
    pub allowed_hosts: Option<Vec<String>>,
    /// Client registrations allowed per client address per minute [default: 20]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_REGISTER_RATE_LIMIT",
        value_name = "N"
    )]
    pub register_rate_limit: Option<u32>,
    /// Proxies whose X-Forwarded-For is trusted (IPs or CIDRs, comma-separated) [default: none]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "NETS"
    )]
    pub trusted_proxies: Option<Vec<IpNet>>,
    /// Access-token lifetime in seconds [default: 3600]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_ACCESS_TOKEN_TTL",
        value_name = "SECONDS"
    )]
    pub access_token_ttl: Option<u64>,
    /// Refresh tokens expire after this many seconds unused [default: 2592000 = 30 days]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_REFRESH_TOKEN_IDLE_TTL",
        value_name = "SECONDS"
    )]
    pub refresh_token_idle_ttl: Option<u64>,
    /// A grant's refresh tokens end this many seconds after the grant [default: 7776000 = 90 days]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_REFRESH_TOKEN_MAX_TTL",
        value_name = "SECONDS"
    )]
    pub refresh_token_max_ttl: Option<u64>,
    /// Largest file a user may store, bytes [default: 10485760 = 10 MiB]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_FILES_MAX_FILE_BYTES",
        value_name = "BYTES"
    )]
    pub files_max_file_bytes: Option<u64>,
    /// Per-user file space quota, bytes [default: 104857600 = 100 MiB]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_FILES_QUOTA_BYTES",
        value_name = "BYTES"
    )]
    pub files_quota_bytes: Option<u64>,
    /// Largest chat message, bytes [default: 65536]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_CHAT_MAX_MESSAGE_BYTES",
        value_name = "BYTES"
    )]
    pub chat_max_message_bytes: Option<usize>,
    /// How long a rotated-out signing key stays in the JWKS, seconds [default: access-token TTL + 3600]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_KEY_RETENTION",
        value_name = "SECONDS"
    )]
    pub key_retention: Option<u64>,
    /// The name clients show for this resource [default: OmniChat]
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_RESOURCE_NAME",
        value_name = "NAME"
    )]
    pub resource_name: Option<String>,
    /// Log format [default: text]; the level comes from RUST_LOG
    #[arg(
        long,
        global = true,
        env = "OMNICHAT_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    pub log_format: Option<LogFormat>,
    /// External authorization server for resource-server-only mode (not implemented yet)
    #[arg(long, global = true, env = "AUTHORIZATION_SERVER", value_name = "URL")]
    pub authorization_server: Option<String>,
    /// The external authorization server's JWKS URL (resource-server-only mode)
    #[arg(long, global = true, env = "OAUTH_JWKS_URI", value_name = "URL")]
    pub oauth_jwks_uri: Option<String>,
    /// This resource's client id at the external authorization server
    #[arg(long, global = true, env = "OAUTH_CLIENT_ID", value_name = "ID")]
    pub oauth_client_id: Option<String>,
    /// This resource's client secret at the external authorization server (env only)
    #[arg(skip)]
    pub oauth_client_secret: Option<String>,
}

/// Flags may carry secrets (a database URL with a password); `Debug` shows none of them.
impl std::fmt::Debug for ConfigArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigArgs")
            .field("data_dir", &self.data_dir)
            .field("config", &self.config)
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// The `--config` file. Every key is optional; unknown keys are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub database_url: Option<String>,
    pub sqlite_synchronous: Option<SqliteSynchronous>,
    pub master_key_file: Option<PathBuf>,
    pub cors_origins: Option<Vec<String>>,
    pub allowed_redirect_uris: Option<Vec<String>>,
    pub allow_insecure_http_redirects: Option<bool>,
    pub allowed_hosts: Option<Vec<String>>,
    pub register_rate_limit: Option<u32>,
    pub trusted_proxies: Option<Vec<IpNet>>,
    pub access_token_ttl: Option<u64>,
    pub refresh_token_idle_ttl: Option<u64>,
    pub refresh_token_max_ttl: Option<u64>,
    pub key_retention: Option<u64>,
    pub files_max_file_bytes: Option<u64>,
    pub files_quota_bytes: Option<u64>,
    pub chat_max_message_bytes: Option<usize>,
    pub resource_name: Option<String>,
    pub log_format: Option<LogFormat>,
    pub authorization_server: Option<String>,
    pub oauth_jwks_uri: Option<String>,
    pub oauth_client_id: Option<String>,
}

/// Settings of resource-server-only mode, where an external AS issues the tokens.
#[derive(Debug, Clone)]
pub struct ExternalAuthorizationServer {
    pub issuer: Url,
    pub jwks_uri: Option<Url>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret<String>>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `None` means "http://<the bound address>", resolved once the listener is bound.
    pub public_url: Option<PublicUrl>,
    /// May hold a password, so it is a secret.
    pub database_url: Option<Secret<String>>,
    pub sqlite_synchronous: SqliteSynchronous,
    pub master_key: Option<MasterKey>,
    pub cors_origins: Vec<String>,
    pub allowed_redirect_uris: Vec<String>,
    pub allow_insecure_http_redirects: bool,
    pub allowed_hosts: Vec<String>,
    pub register_rate_limit: u32,
    pub trusted_proxies: Vec<IpNet>,
    pub access_token_ttl: u64,
    pub refresh_token_idle_ttl: u64,
    pub refresh_token_max_ttl: u64,
    pub key_retention: u64,
    pub files_max_file_bytes: u64,
    pub files_quota_bytes: u64,
    pub chat_max_message_bytes: usize,
    pub resource_name: String,
    pub log_format: LogFormat,
    pub external_as: Option<ExternalAuthorizationServer>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl Settings {
    /// Settings for a server with the given data directory and every other value at its
    /// default (what a fresh `omnichat serve` uses).
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let access_token_ttl = 3600;
        Self {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: None,
            database_url: None,
            sqlite_synchronous: SqliteSynchronous::Full,
            master_key: None,
            cors_origins: DEFAULT_CORS_ORIGINS.iter().map(|s| s.to_string()).collect(),
            allowed_redirect_uris: Vec::new(),
            allow_insecure_http_redirects: false,
            allowed_hosts: Vec::new(),
            register_rate_limit: 20,
            trusted_proxies: Vec::new(),
            access_token_ttl,
            refresh_token_idle_ttl: 30 * 86_400,
            refresh_token_max_ttl: 90 * 86_400,
            key_retention: access_token_ttl + 3600,
            files_max_file_bytes: 10 * 1024 * 1024,
            files_quota_bytes: 100 * 1024 * 1024,
            chat_max_message_bytes: 64 * 1024,
            resource_name: "OmniChat".to_string(),
            log_format: LogFormat::Text,
            external_as: None,
        }
    }

    /// Merges flags/env (`args`, as clap read them), the environment-only values and the
    /// optional config file over the defaults.
    pub fn load(args: &ConfigArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());

        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let mut settings = Settings::with_data_dir(data_dir);
        if let Some(listen) = args.listen.or(file.listen) {
            settings.listen = listen;
        }
        // The seed's RESOURCE_URL named the MCP resource; accept it (without a trailing /mcp)
        // as the public URL when OMNICHAT_PUBLIC_URL is not set.
        let public_url = args
            .public_url
            .clone()
            .or_else(|| env("RESOURCE_URL").map(|u| strip_mcp_suffix(&u)))
            .or(file.public_url);
        settings.public_url = public_url.as_deref().map(PublicUrl::parse).transpose()?;
        settings.database_url = args
            .database_url
            .clone()
            .or(file.database_url)
            .map(Secret::new);
        if let Some(mode) = args.sqlite_synchronous.or(file.sqlite_synchronous) {
            settings.sqlite_synchronous = mode;
        }
        settings.master_key = load_master_key(
            env("OMNICHAT_MASTER_KEY"),
            args.master_key_file
                .clone()
                .or(file.master_key_file)
                .as_deref(),
        )?;
        if let Some(origins) = args.cors_origins.clone().or(file.cors_origins) {
            settings.cors_origins = origins
                .iter()
                .map(|o| parse_origin(o))
                .collect::<Result<_, _>>()?;
        }
        if let Some(uris) = args
            .allowed_redirect_uris
            .clone()
            .or(file.allowed_redirect_uris)
        {
            settings.allowed_redirect_uris = uris.into_iter().filter(|u| !u.is_empty()).collect();
        }
        if let Some(allow) = args
            .allow_insecure_http_redirects
            .or(file.allow_insecure_http_redirects)
        {
            settings.allow_insecure_http_redirects = allow;
        }
        if let Some(hosts) = args.allowed_hosts.clone().or(file.allowed_hosts) {
            settings.allowed_hosts = hosts.into_iter().filter(|h| !h.is_empty()).collect();
        }
        if let Some(limit) = args.register_rate_limit.or(file.register_rate_limit) {
            if limit == 0 {
                return Err(ConfigError::Invalid(
                    "register_rate_limit must be at least 1".into(),
                ));
            }
            settings.register_rate_limit = limit;
        }
        if let Some(proxies) = args.trusted_proxies.clone().or(file.trusted_proxies) {
            settings.trusted_proxies = proxies;
        }
        if let Some(ttl) = args.access_token_ttl.or(file.access_token_ttl) {
            if !(60..=86_400).contains(&ttl) {
                return Err(ConfigError::Invalid(
                    "access_token_ttl must be between 60 and 86400 seconds".into(),
                ));
            }
            settings.access_token_ttl = ttl;
            settings.key_retention = ttl + 3600;
        }
        if let Some(idle) = args.refresh_token_idle_ttl.or(file.refresh_token_idle_ttl) {
            settings.refresh_token_idle_ttl = idle.max(60);
        }
        if let Some(max) = args.refresh_token_max_ttl.or(file.refresh_token_max_ttl) {
            settings.refresh_token_max_ttl = max.max(60);
        }
        if settings.refresh_token_idle_ttl > settings.refresh_token_max_ttl {
            return Err(ConfigError::Invalid(
                "refresh_token_idle_ttl must not exceed refresh_token_max_ttl".into(),
            ));
        }
        if let Some(retention) = args.key_retention.or(file.key_retention) {
            if retention < settings.access_token_ttl {
                return Err(ConfigError::Invalid(format!(
                    "key_retention ({retention} s) must be at least the access-token lifetime ({} s), or tokens signed by a retired key would stop verifying early",
                    settings.access_token_ttl
                )));
            }
            settings.key_retention = retention;
        }
        if let Some(bytes) = args.files_max_file_bytes.or(file.files_max_file_bytes) {
            settings.files_max_file_bytes = bytes;
        }
        if let Some(bytes) = args.files_quota_bytes.or(file.files_quota_bytes) {
            settings.files_quota_bytes = bytes;
        }
        if let Some(bytes) = args.chat_max_message_bytes.or(file.chat_max_message_bytes) {
            settings.chat_max_message_bytes = bytes.max(1);
        }
        if let Some(name) = args.resource_name.clone().or(file.resource_name) {
            if name.trim().is_empty() || name.len() > 100 {
                return Err(ConfigError::Invalid(
                    "resource_name must be 1-100 characters".into(),
                ));
            }
            settings.resource_name = name;
        }
        if let Some(format) = args.log_format.or(file.log_format) {
            settings.log_format = format;
        }
        if let Some(issuer) = args
            .authorization_server
            .clone()
            .or(file.authorization_server)
        {
            let parse = |name: &str, value: &str| {
                Url::parse(value)
                    .map_err(|e| ConfigError::Invalid(format!("{name} {value:?}: {e}")))
            };
            settings.external_as = Some(ExternalAuthorizationServer {
                issuer: parse("AUTHORIZATION_SERVER", &issuer)?,
                jwks_uri: args
                    .oauth_jwks_uri
                    .clone()
                    .or(file.oauth_jwks_uri)
                    .map(|u| parse("OAUTH_JWKS_URI", &u))
                    .transpose()?,
                client_id: args.oauth_client_id.clone().or(file.oauth_client_id),
                client_secret: args
                    .oauth_client_secret
                    .clone()
                    .or_else(|| env("OAUTH_CLIENT_SECRET"))
                    .map(Secret::new),
            });
        }
        Ok(settings)
    }

    /// Where users' private files live.
    pub fn files_root(&self) -> PathBuf {
        self.data_dir.join("files")
    }

    /// The SQLite database file used when no database URL is configured.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("omnichat.db")
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })
}

fn strip_mcp_suffix(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    trimmed.strip_suffix("/mcp").unwrap_or(trimmed).to_string()
}

fn load_master_key(
    from_env: Option<String>,
    file: Option<&Path>,
) -> Result<Option<MasterKey>, ConfigError> {
    let text = match (from_env, file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid(
                "set either OMNICHAT_MASTER_KEY or --master-key-file, not both".into(),
            ));
        }
        (Some(text), None) => text,
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
            ConfigError::Invalid(format!(
                "cannot read master key file {}: {e}",
                path.display()
            ))
        })?,
        (None, None) => return Ok(None),
    };
    MasterKey::parse(&text)
        .map(Some)
        .map_err(|e| ConfigError::Invalid(e.to_string()))
}

/// A CORS origin: `scheme://host[:port]` exactly as browsers send it in `Origin`.
fn parse_origin(text: &str) -> Result<String, ConfigError> {
    let url = Url::parse(text)
        .map_err(|_| ConfigError::Invalid(format!("CORS origin {text:?} is not a URL")))?;
    let origin = url.origin().ascii_serialization();
    if origin == "null" || !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::Invalid(format!(
            "CORS origin {text:?} is not an http(s) origin"
        )));
    }
    if url.path() != "/" || url.query().is_some() || text.trim_end_matches('/') != origin {
        return Err(ConfigError::Invalid(format!(
            "CORS origin {text:?} must be just scheme://host[:port], e.g. {origin}"
        )));
    }
    Ok(origin)
}

/// The public base URL of this server: `http(s)://host[:port]`, no path, query, fragment or
/// user information. Its text (no trailing slash) is the issuer, compared byte for byte by
/// clients (RFC 8414 §3.3), so it is normalised once here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    url: Url,
    text: String,
}

impl PublicUrl {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError::Invalid(format!("public URL {text:?} {why}"));
        let url = Url::parse(text).map_err(|_| bad("is not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must use http or https"));
        }
        if url.host().is_none() {
            return Err(bad("has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not contain user information"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not have a query or fragment"));
        }
        if url.path() != "/" {
            return Err(bad(
                "must not have a path: serve omnichat at the root of its host name",
            ));
        }
        let text = url.as_str().trim_end_matches('/').to_string();
        Ok(Self { url, text })
    }

    pub fn from_socket_addr(addr: SocketAddr) -> Self {
        let host = match addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        // An http URL built from a socket address always parses.
        let text = format!("http://{host}:{}", addr.port());
        #[allow(clippy::expect_used)]
        Self::parse(&text).expect("a socket address forms a valid URL")
    }

    /// The issuer identifier and base of every endpoint: no trailing slash.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// An absolute URL for one of this server's paths (the path constants in
    /// `oauth::endpoints` all start with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.text, path)
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// The origin browsers send in `Origin` for pages of this server.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_is_normalised() {
        let u = PublicUrl::parse("https://Example.COM/").unwrap();
        assert_eq!(u.as_str(), "https://example.com");
        assert_eq!(u.join("/mcp"), "https://example.com/mcp");
        assert_eq!(
            PublicUrl::parse("http://127.0.0.1:3000").unwrap().as_str(),
            "http://127.0.0.1:3000"
        );
        for bad in [
            "ftp://x",
            "https://x/prefix",
            "https://u:p@x",
            "https://x/?q",
            "x",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_strict() {
        assert_eq!(
            parse_origin("https://chatgpt.com").unwrap(),
            "https://chatgpt.com"
        );
        assert_eq!(
            parse_origin("https://chatgpt.com/").unwrap(),
            "https://chatgpt.com"
        );
        assert!(parse_origin("https://chatgpt.com/path").is_err());
        assert!(parse_origin("*").is_err());
    }

    #[test]
    fn resource_url_alias_drops_mcp() {
        assert_eq!(
            strip_mcp_suffix("https://x.example/mcp"),
            "https://x.example"
        );
        assert_eq!(strip_mcp_suffix("https://x.example/"), "https://x.example");
    }

    #[test]
    fn debug_output_carries_no_secrets() {
        let args = ConfigArgs {
            database_url: Some("postgres://app:hunter2@db/omni".into()),
            oauth_client_secret: Some("client-hunter2".into()),
            ..ConfigArgs::default()
        };
        assert!(!format!("{args:?}").contains("hunter2"));
        let mut settings = Settings::with_data_dir("/tmp/x");
        settings.database_url = Some(Secret::new("postgres://app:hunter2@db/omni".into()));
        settings.master_key = Some(MasterKey::parse(&"ab".repeat(32)).unwrap());
        let text = format!("{settings:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("abab"),
            "{text}"
        );
    }

    #[test]
    fn file_rejects_unknown_keys() {
        assert!(toml::from_str::<FileConfig>("listn = \"127.0.0.1:1\"").is_err());
        let ok: FileConfig = toml::from_str("listen = \"127.0.0.1:1\"\ncors_origins = []").unwrap();
        assert_eq!(ok.listen, Some("127.0.0.1:1".parse().unwrap()));
    }
}
