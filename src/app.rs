//! The application: state, router and server lifecycle (`Application::build` →
//! `run_until_stopped`, as in Zero To Production).

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::clock::Clock;
use crate::config::{PublicUrl, Settings};
use crate::oauth::access_token::{AccessTokens, KeyRing};
use crate::oauth::error::OAuthError;
use crate::oauth::redirect::RedirectPolicy;
use crate::oauth::{authorize, endpoints, keys, metadata, register, revocation, token};
use crate::ratelimit::{AddressRateLimiter, FailureThrottle};
use crate::resource;
use crate::resource::bearer::TokenCache;
use crate::store::{self, Store};
use crate::web::{self, Pages};

/// Shared, read-mostly state of one server process.
pub struct AppInner {
    pub settings: Settings,
    /// The effective public URL (configured, or derived from the bound address).
    pub public_url: PublicUrl,
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub redirect_policy: RedirectPolicy,
    pub register_limiter: AddressRateLimiter,
    /// Issues and verifies access tokens with the store's signing keys.
    pub tokens: AccessTokens,
    pub pages: Pages,
    pub login_throttle: LoginThrottle,
    /// Bounds concurrent argon2 verifications (each takes ~19 MiB and a core for tens of ms).
    pub password_hashing: Arc<tokio::sync::Semaphore>,
    /// Verified bearer tokens of the MCP endpoint.
    pub token_cache: TokenCache,
}

/// Failed-login throttles: per account name and per client address.
pub struct LoginThrottle {
    pub accounts: FailureThrottle,
    pub addresses: FailureThrottle,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let window = Duration::from_secs(15 * 60);
        Self {
            // An account slows down after 3 failures and locks after 10 (per 15 minutes).
            accounts: FailureThrottle::new(3, 10, window),
            // An address may try several accounts, but not many.
            addresses: FailureThrottle::new(10, 50, window),
        }
    }
}

#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Opens the store (applying migrations), makes sure a signing key exists, and binds the
    /// listener. Nothing is served until [`Application::run_until_stopped`].
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        if settings.external_as.is_some() {
            anyhow::bail!(
                "resource-server-only mode (AUTHORIZATION_SERVER) is not implemented yet; unset AUTHORIZATION_SERVER to use the built-in authorization server"
            );
        }
        if settings.public_url.is_none() && settings.listen.ip().is_unspecified() {
            anyhow::bail!(
                "listening on {} needs --public-url (OMNICHAT_PUBLIC_URL): clients must be told a reachable address",
                settings.listen
            );
        }
        let store = store::open(&settings).await?;
        let now = clock.now();
        keys::ensure_active_key(&*store, settings.master_key.as_ref(), now).await?;
        store.prune_signing_keys(now).await?;
        crate::tools::search::seed_builtin_docs(&*store, now).await?;

        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        let local = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| PublicUrl::from_socket_addr(local));
        let key_ring =
            KeyRing::load(store.clone(), settings.master_key.clone(), clock.now()).await?;
        let tokens = AccessTokens::new(
            key_ring,
            public_url.as_str().to_string(),
            vec![
                public_url.as_str().to_string(),
                public_url.join(endpoints::MCP),
            ],
            settings.access_token_ttl,
        );
        let hashing_slots = std::thread::available_parallelism().map_or(2, |n| n.get());
        let state = AppState(Arc::new(AppInner {
            tokens,
            pages: Pages::new()?,
            login_throttle: LoginThrottle::default(),
            password_hashing: Arc::new(tokio::sync::Semaphore::new(hashing_slots)),
            token_cache: TokenCache::default(),
            redirect_policy: RedirectPolicy::new(
                settings.allowed_redirect_uris.iter().cloned(),
                settings.allow_insecure_http_redirects,
            ),
            register_limiter: AddressRateLimiter::per_minute(settings.register_rate_limit),
            settings,
            public_url,
            store,
            clock,
        }));
        Ok(Self {
            router: router(state.clone()),
            listener,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound listener always has a local address.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn public_url(&self) -> &PublicUrl {
        &self.state.public_url
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        // MCP answers are SSE streams written in several small pieces; without TCP_NODELAY,
        // Nagle's algorithm meets the client's delayed ACK and each answer stalls ~40 ms.
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        let served = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        housekeeping.abort();
        served
    }
}

/// Every ten minutes: delete expired codes, sessions and revocation records, and signing keys
/// whose verification window has passed. Any instance may do it; the deletes are idempotent.
async fn housekeeping(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_secs(600));
    loop {
        interval.tick().await;
        let now = state.clock.now();
        if let Err(e) = state.store.prune_expired(now).await {
            tracing::warn!(error = %e, "pruning expired records failed");
        }
        if let Err(e) = state.store.prune_signing_keys(now).await {
            tracing::warn!(error = %e, "pruning signing keys failed");
        }
    }
}

/// CORS for the endpoints browsers call cross-origin ([`endpoints::allows_cors`]: discovery,
/// registration, JWKS, token, MCP), for the configured origins only. It wraps the whole router,
/// so a preflight is answered before routing, fallbacks or (later) authentication; pages such
/// as `/authorize` never get an `Access-Control-Allow-Origin`.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, request| {
            endpoints::allows_cors(request.uri.path()) && origins.contains(origin)
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("mcp-session-id"),
        ])
        .max_age(Duration::from_secs(600))
}

/// The whole HTTP surface. Built by a function so tests can drive it without a socket.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            endpoints::AUTHORIZATION_SERVER_METADATA,
            get(metadata::authorization_server),
        )
        .route(
            endpoints::OPENID_CONFIGURATION,
            get(metadata::authorization_server),
        )
        .route(
            endpoints::PROTECTED_RESOURCE,
            get(resource::metadata::protected_resource_root),
        )
        .route(
            endpoints::PROTECTED_RESOURCE_MCP,
            get(resource::metadata::protected_resource_mcp),
        )
        .route(endpoints::JWKS, get(metadata::jwks))
        .route(endpoints::REGISTER, post(register::register))
        .route(
            endpoints::AUTHORIZE,
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(endpoints::LOGIN, post(authorize::login))
        .route(endpoints::CONSENT, post(authorize::consent))
        .route(endpoints::TOKEN, post(token::token))
        .route(endpoints::REVOKE, post(revocation::revoke))
        .route(endpoints::INTROSPECT, post(revocation::introspect))
        .route(web::STYLESHEET_PATH, get(web::stylesheet))
        .route(endpoints::HEALTHZ, get(healthz))
        .route(endpoints::READYZ, get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Every route so far answers quickly; MCP (added below) keeps SSE streams open.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .route(endpoints::MCP, mcp_service(&state))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(cors_layer(&state.settings.cors_origins))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `/mcp`: the JSON-RPC guard, then bearer verification, then rmcp (see `mcp`).
fn mcp_service(state: &AppState) -> axum::routing::MethodRouter<AppState> {
    let deps = crate::mcp::registry::ToolDeps {
        store: state.store.clone(),
        files: Arc::new(crate::tools::files::LocalFiles::new(
            state.settings.files_root(),
            state.settings.files_max_file_bytes,
            state.settings.files_quota_bytes,
        )),
        clock: state.clock.clone(),
        chat_max_content_bytes: state.settings.chat_max_message_bytes,
        master_key: state.settings.master_key.clone(),
        ssh_slots: Default::default(),
    };
    let tools = Arc::new(crate::mcp::registry::default_registry(deps));
    let service = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::mcp::jsonrpc_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::resource::bearer::bearer_layer,
        ))
        .service(crate::mcp::service(state, tools));
    axum::routing::any_service(service)
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// Ready only when the store answers within two seconds.
async fn readyz(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    match ping {
        Ok(Ok(())) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            unavailable()
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            unavailable()
        }
    }
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({ "status": "unavailable" })),
    )
        .into_response()
}

async fn not_found() -> OAuthError {
    OAuthError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> OAuthError {
    OAuthError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that HTTP method",
    )
}

/// A panic is a bug: log it and answer like any other internal error.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    OAuthError::internal("a request handler panicked").into_response()
}
