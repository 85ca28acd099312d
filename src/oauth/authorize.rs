//! The authorization endpoint (OAuth 2.1 §4.1.1–§4.1.2) with its login and consent pages.
//!
//! `GET|POST /authorize` checks the request; an unknown client or an unverified redirect URI
//! gets a 400 page and never a redirect (§4.1.2.1: redirecting there would make us an open
//! redirector). Every other problem is sent back to the verified redirect URI with `error`,
//! `error_description`, `state` and `iss` (RFC 9207). Without a session the login page is
//! shown; with one, the consent page (unless this exact scope set was approved before).
//!
//! The forms carry the authorization request in hidden fields and every POST checks it again
//! from scratch, so nothing a browser sends is trusted because an earlier step checked it.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::endpoints;
use super::pkce;
use super::redirect::RedirectPolicy;
use super::session::{self, CookieNames};
use super::types::{ClientId, Scope, ScopeSet, UserName};
use crate::app::AppState;
use crate::crypto::{Secret, random_token, sha256};
use crate::password;
use crate::ratelimit::client_address;
use crate::store::{AuthorizationCode, Client, User};
use crate::web::{ConsentPage, LoginPage, ScopeLine, form_target_for};

/// Authorization codes live this long (DESIGN.md: ≤ 60 s; OAuth 2.1 §4.1.2 "short lifetime").
pub const CODE_TTL_SECS: i64 = 60;
/// Largest form body accepted by the authorization endpoint and the login/consent forms.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// The parameters of an authorization request that the login and consent forms carry on.
const FORWARDED: [&str; 9] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "prompt",
];

/// A request parameter that appeared more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

/// Request parameters in the order given (a query string or a form body).
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(text: &str) -> Self {
        Self(
            url::form_urlencoded::parse(text.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// RFC 6749 §3.1: parameters must not be repeated. `Err` when this one is.
    pub fn single(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut values = self
            .0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Repeated);
        }
        Ok(first)
    }

    fn forwarded(&self, drop_prompt_login: bool) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(n, v)| {
                FORWARDED.contains(&n.as_str())
                    && !(drop_prompt_login && n == "prompt" && v == "login")
            })
            .cloned()
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Default,
    /// OIDC `prompt=none`: answer without showing any page, or fail.
    None,
    /// Show the login page even with a session.
    Login,
    /// Show the consent page even if this scope set was approved before.
    Consent,
}

/// A checked authorization request.
pub struct AuthorizationRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scope: ScopeSet,
    pub resource: String,
    pub code_challenge: String,
    pub prompt: Prompt,
}

/// Why an authorization request was refused, and how to tell the user agent.
pub enum Refusal {
    Page {
        message: String,
    },
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
    Internal(String),
}

fn page(message: impl Into<String>) -> Refusal {
    Refusal::Page {
        message: message.into(),
    }
}

/// Checks an authorization request. `state` is only known once the redirect URI is verified.
pub async fn check_request(
    app: &AppState,
    params: &Params,
) -> Result<AuthorizationRequest, Refusal> {
    // 1. The client and the redirect URI: failures here are pages, never redirects.
    let client_id = params
        .single("client_id")
        .map_err(|_| page("The request names more than one client_id."))?
        .ok_or_else(|| {
            page("The request does not say which application is asking (client_id is missing).")
        })?;
    let client = match ClientId::parse(client_id) {
        Some(id) => app
            .store
            .find_client(&id)
            .await
            .map_err(|e| Refusal::Internal(e.to_string()))?,
        None => None,
    }
    .ok_or_else(|| page("The application asking for access is not registered with this server."))?;
    let redirect_uri = match params
        .single("redirect_uri")
        .map_err(|_| page("The request names more than one redirect_uri."))?
    {
        Some(requested) => client
            .redirect_uris
            .iter()
            .any(|registered| RedirectPolicy::matches(registered, requested))
            .then(|| requested.to_string())
            .ok_or_else(|| {
                page("The redirect URI of this request is not registered for the application.")
            })?,
        // RFC 6749 §3.1.2.3: it may be omitted only when exactly one is registered.
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => {
                return Err(page(
                    "The request must say which registered redirect_uri to use.",
                ));
            }
        },
    };

    // 2. From here on, errors go back to the client.
    let state = params.single("state").ok().flatten().map(str::to_string);
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description: description.to_string(),
    };
    for name in FORWARDED.iter().filter(|n| **n != "resource") {
        if params.single(name).is_err() {
            return Err(refuse(
                "invalid_request",
                &format!("the parameter {name} is repeated"),
            ));
        }
    }
    if params.single("state").is_err() {
        return Err(refuse("invalid_request", "the parameter state is repeated"));
    }
    let single = |name: &str| params.single(name).ok().flatten();

    match single("response_type") {
        Some("code") => {}
        None => {
            return Err(refuse(
                "invalid_request",
                "response_type is missing; use response_type=code",
            ));
        }
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    // OAuth 2.1 §4.1.1: PKCE is required, and this server accepts only S256.
    let code_challenge = match (single("code_challenge"), single("code_challenge_method")) {
        (None, _) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge is required (PKCE with S256)",
            ));
        }
        (Some(_), None) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method is required and must be S256",
            ));
        }
        (Some(_), Some(method)) if method != "S256" => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
        (Some(challenge), Some(_)) if !pkce::is_valid_s256_challenge(challenge) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge must be the 43-character base64url SHA-256 of the verifier",
            ));
        }
        (Some(challenge), Some(_)) => challenge.to_string(),
    };

    // Scope: absent (or empty) means what the client registered, or else everything the
    // resource offers; the consent page shows exactly the result.
    let scope = match single("scope").map(ScopeSet::parse) {
        Some(Err(unknown)) => {
            return Err(refuse(
                "invalid_scope",
                &format!("the scope {:?} is not offered by this server", unknown.0),
            ));
        }
        Some(Ok(set)) if !set.is_empty() => set,
        _ => client.scope.clone().unwrap_or_else(ScopeSet::all),
    };
    if let Some(registered) = &client.scope
        && !scope.is_subset(registered)
    {
        return Err(refuse(
            "invalid_scope",
            "the requested scope exceeds what the application registered",
        ));
    }

    // RFC 8707: the resource must be one of ours; absent means the MCP endpoint.
    let resources: Vec<&str> = params
        .0
        .iter()
        .filter(|(n, _)| n == "resource")
        .map(|(_, v)| v.as_str())
        .collect();
    let ours = [
        app.public_url.as_str().to_string(),
        app.public_url.join(endpoints::MCP),
    ];
    let resource = match resources.as_slice() {
        [] => app.public_url.join(endpoints::MCP),
        [one] if ours.iter().any(|r| r == one) => one.to_string(),
        [_] => {
            return Err(refuse(
                "invalid_target",
                &format!("the resource must be {} or {}", ours[0], ours[1]),
            ));
        }
        _ => {
            return Err(refuse(
                "invalid_target",
                "only one resource may be requested",
            ));
        }
    };

    let prompt = match single("prompt") {
        None => Prompt::Default,
        Some(value) => {
            let values: Vec<&str> = value.split(' ').filter(|v| !v.is_empty()).collect();
            if values.contains(&"none") && values.len() > 1 {
                return Err(refuse(
                    "invalid_request",
                    "prompt=none cannot be combined with other values",
                ));
            }
            if values.contains(&"none") {
                Prompt::None
            } else if values.contains(&"login") {
                Prompt::Login
            } else if values.contains(&"consent") {
                Prompt::Consent
            } else {
                Prompt::Default
            }
        }
    };

    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        state,
        scope,
        resource,
        code_challenge,
        prompt,
    })
}

/// The redirect back to the client: `params` appended to the redirect URI's own query, plus
/// `state` (byte for byte) and `iss` (RFC 9207 §2).
fn redirect_to_client(
    app: &AppState,
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    status: StatusCode,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return app.pages.error(
            StatusCode::BAD_REQUEST,
            "Cannot continue",
            "The application's redirect URI is not a valid URL.",
            "",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", app.public_url.as_str());
    }
    let mut response = status.into_response();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    crate::web::with_page_headers(response, &[])
}

fn refusal_response(app: &AppState, refusal: Refusal, status: StatusCode) -> Response {
    match refusal {
        Refusal::Page { message } => app.pages.error(
            StatusCode::BAD_REQUEST,
            "This sign-in link is not valid",
            &message,
            "Go back to the application and try connecting again. If this keeps happening, its developer must fix its OAuth settings.",
        ),
        Refusal::Redirect {
            redirect_uri,
            state,
            error,
            description,
        } => redirect_to_client(
            app,
            &redirect_uri,
            &[("error", error), ("error_description", &description)],
            state.as_deref(),
            status,
        ),
        Refusal::Internal(cause) => {
            tracing::error!(error = %cause, "authorization request failed");
            app.pages.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not handle this request. It has been logged.",
                "Please try again in a moment.",
            )
        }
    }
}

fn internal(app: &AppState, cause: impl std::fmt::Display) -> Response {
    refusal_response(
        app,
        Refusal::Internal(cause.to_string()),
        StatusCode::INTERNAL_SERVER_ERROR,
    )
}

/// Issues a code for an approved request and redirects to the client with it.
async fn issue_code(
    app: &AppState,
    request: &AuthorizationRequest,
    user: &User,
    status: StatusCode,
) -> Response {
    let code = random_token();
    let now = app.clock.now();
    let record = AuthorizationCode {
        code_hash: sha256(code.expose().as_bytes()),
        client_id: request.client.client_id.clone(),
        user_id: user.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        scope: request.scope.clone(),
        resource: request.resource.clone(),
        created_at: now,
        expires_at: now + CODE_TTL_SECS,
        used_at: None,
        grant_id: None,
    };
    if let Err(e) = app.store.insert_authorization_code(&record).await {
        return internal(app, e);
    }
    tracing::info!(client_id = %request.client.client_id, user = %user.name, scope = %request.scope, "authorization code issued");
    redirect_to_client(
        app,
        &request.redirect_uri,
        &[("code", code.expose())],
        request.state.as_deref(),
        status,
    )
}

fn client_display_name(client: &Client) -> String {
    client
        .client_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("Unnamed application {}", client.client_id))
}

fn form_targets(request: &AuthorizationRequest) -> Vec<String> {
    form_target_for(&request.redirect_uri).into_iter().collect()
}

/// The login page, with a fresh double-submit CSRF cookie.
fn login_page(
    app: &AppState,
    request: &AuthorizationRequest,
    params: &Params,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> Response {
    let names = CookieNames::for_url(&app.public_url);
    let csrf = random_token();
    let forwarded = params.forwarded(true);
    let mut response = app.pages.login(
        status,
        &LoginPage {
            client_name: &client_display_name(&request.client),
            params: &forwarded,
            csrf_token: csrf.expose(),
            username,
            error,
            form_targets: &form_targets(request),
        },
    );
    if let Some(cookie) = names.login_csrf_cookie(&csrf) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn consent_page(
    app: &AppState,
    request: &AuthorizationRequest,
    params: &Params,
    user: &User,
    session_id: &Secret<String>,
) -> Response {
    let redirect_host = Url::parse(&request.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(str::to_string)
                .or_else(|| Some(format!("{}:", u.scheme())))
        })
        .unwrap_or_default();
    let forwarded = params.forwarded(true);
    app.pages.consent(&ConsentPage {
        client_name: &client_display_name(&request.client),
        user_name: user.name.as_str(),
        redirect_host: &redirect_host,
        scopes: request
            .scope
            .iter()
            .map(|s: Scope| ScopeLine {
                name: s.as_str(),
                description: s.description(),
            })
            .collect(),
        params: &forwarded,
        csrf_token: &session::consent_csrf_token(session_id),
        form_targets: &form_targets(request),
    })
}

/// `GET /authorize`.
pub async fn authorize_get(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorize(app, headers, Params::parse(query.as_deref().unwrap_or(""))).await
}

/// `POST /authorize`: the same parameters as a form (OIDC Core §3.1.2.1 allows both).
pub async fn authorize_post(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match read_form(&headers, body).await {
        Ok(params) => authorize(app, headers, params).await,
        Err(message) => app
            .pages
            .error(StatusCode::BAD_REQUEST, "Cannot continue", message, ""),
    }
}

async fn read_form(headers: &HeaderMap, body: Body) -> Result<Params, &'static str> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return Err("The form must be sent as application/x-www-form-urlencoded.");
    }
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| "The form is too large.")?;
    let text = std::str::from_utf8(&bytes).map_err(|_| "The form is not valid UTF-8.")?;
    Ok(Params::parse(text))
}

async fn authorize(app: AppState, headers: HeaderMap, params: Params) -> Response {
    let request = match check_request(&app, &params).await {
        Ok(request) => request,
        Err(refusal) => return refusal_response(&app, refusal, StatusCode::FOUND),
    };
    let now = app.clock.now();
    let names = CookieNames::for_url(&app.public_url);
    let session = match session::current_session(&*app.store, &names, &headers, now).await {
        Ok(session) => session,
        Err(e) => return internal(&app, e),
    };
    let refuse = |error: &'static str, description: &str| {
        refusal_response(
            &app,
            Refusal::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
                error,
                description: description.to_string(),
            },
            StatusCode::FOUND,
        )
    };
    let Some((session_id, _, user)) = session.filter(|_| request.prompt != Prompt::Login) else {
        if request.prompt == Prompt::None {
            return refuse("login_required", "the user is not signed in");
        }
        return login_page(&app, &request, &params, StatusCode::OK, "", None);
    };
    let remembered = match app
        .store
        .has_consent(&user.id, &request.client.client_id, &request.scope)
        .await
    {
        Ok(remembered) => remembered,
        Err(e) => return internal(&app, e),
    };
    if remembered && request.prompt != Prompt::Consent {
        return issue_code(&app, &request, &user, StatusCode::FOUND).await;
    }
    if request.prompt == Prompt::None {
        return refuse("consent_required", "the user has not approved this access");
    }
    consent_page(&app, &request, &params, &user, &session_id)
}

/// The form of a POST from one of our pages: refused when it comes from another site
/// (defence in depth besides the CSRF token) or is not a form.
async fn read_page_form(
    app: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Params, Box<Response>> {
    if !session::origin_allowed(headers, &app.public_url) {
        return Err(Box::new(app.pages.error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was sent from another site.",
            "",
        )));
    }
    read_form(headers, body).await.map_err(|message| {
        Box::new(
            app.pages
                .error(StatusCode::BAD_REQUEST, "Cannot continue", message, ""),
        )
    })
}

/// The generic answer to a failed login: it does not say whether the name exists.
const WRONG_CREDENTIALS: &str = "Wrong user name or password.";

/// `POST /login`: checks the credentials, starts a session and continues the authorization
/// request with a 303 (never 307, which would re-send the password).
pub async fn login(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let params = match read_page_form(&app, &headers, body).await {
        Ok(params) => params,
        Err(response) => return *response,
    };
    let names = CookieNames::for_url(&app.public_url);
    let cookie_token = session::read_cookie(&headers, names.login_csrf);
    let submitted = params.single("csrf_token").ok().flatten();
    if !session::csrf_matches(
        submitted,
        cookie_token
            .as_ref()
            .map(|t| t.expose().as_str())
            .unwrap_or(""),
    ) {
        return app.pages.error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The sign-in form expired or was not sent from this site.",
            "Go back to the application and start connecting again.",
        );
    }
    let request = match check_request(&app, &params).await {
        Ok(request) => request,
        Err(refusal) => return refusal_response(&app, refusal, StatusCode::SEE_OTHER),
    };
    let username_raw = params
        .single("username")
        .ok()
        .flatten()
        .unwrap_or("")
        .trim()
        .to_string();
    let password = Secret::new(
        params
            .single("password")
            .ok()
            .flatten()
            .unwrap_or("")
            .to_string(),
    );

    // Throttling: per address and per account name (slow down, then 429).
    let address = client_address(peer, &headers, &app.settings.trusted_proxies).to_string();
    let account = username_raw.to_ascii_lowercase();
    if let Err(retry) = app
        .login_throttle
        .addresses
        .check(&address)
        .and(app.login_throttle.accounts.check(&account))
    {
        let mut response = app.pages.error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "There were too many failed sign-in attempts.",
            &format!("Wait {retry} seconds, then try again."),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return response;
    }

    let user = match UserName::parse(&username_raw) {
        Ok(name) => match app.store.find_user_by_name(&name).await {
            Ok(user) => user,
            Err(e) => return internal(&app, e),
        },
        Err(_) => None,
    };
    let verified = match verify_off_runtime(
        &app,
        password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await
    {
        Ok(verified) => verified,
        Err(response) => return *response,
    };
    let user = match user {
        Some(user) if verified && !user.disabled => user,
        _ => {
            let delay = app
                .login_throttle
                .accounts
                .fail(&account)
                .max(app.login_throttle.addresses.fail(&address));
            tracing::info!(account = %account, %address, "failed login");
            tokio::time::sleep(delay).await;
            return login_page(
                &app,
                &request,
                &params,
                StatusCode::UNAUTHORIZED,
                &username_raw,
                Some(WRONG_CREDENTIALS),
            );
        }
    };
    app.login_throttle.accounts.succeed(&account);

    let now = app.clock.now();
    let session_id = match session::start_session(&*app.store, &user, now).await {
        Ok(id) => id,
        Err(e) => return internal(&app, e),
    };
    tracing::info!(user = %user.name, "signed in");
    let mut next = match Url::parse(&app.public_url.join(endpoints::AUTHORIZE)) {
        Ok(url) => url,
        Err(e) => return internal(&app, e),
    };
    {
        let mut query = next.query_pairs_mut();
        for (name, value) in params.forwarded(true) {
            query.append_pair(&name, &value);
        }
    }
    // Relative to our own origin, so the browser stays on this server.
    let location = match next.query() {
        Some(q) => format!("{}?{q}", endpoints::AUTHORIZE),
        None => endpoints::AUTHORIZE.to_string(),
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers_out = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&location) {
        headers_out.insert(header::LOCATION, location);
    }
    if let Some(cookie) = names.session_cookie(&session_id) {
        headers_out.append(header::SET_COOKIE, cookie);
    }
    crate::web::with_page_headers(response, &form_targets(&request))
}

/// Runs argon2 on the blocking pool, at most as many at once as the hashing semaphore allows,
/// so a burst of logins cannot starve the async runtime. An unknown user is checked against a
/// dummy hash so the answer takes as long as for a real one.
async fn verify_off_runtime(
    app: &AppState,
    password: Secret<String>,
    stored_hash: Option<String>,
) -> Result<bool, Box<Response>> {
    let busy = || {
        let mut response = app.pages.error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "The server is handling many sign-ins right now.",
            "Try again in a few seconds.",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        Box::new(response)
    };
    let permit = tokio::time::timeout(
        Duration::from_secs(10),
        app.password_hashing.clone().acquire_owned(),
    )
    .await
    .map_err(|_| busy())?
    .map_err(|_| busy())?;
    let known = stored_hash.is_some();
    let hash = stored_hash.unwrap_or_else(|| password::dummy_hash().to_string());
    let verified = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        password::verify_password(&password, &hash)
    })
    .await
    .map_err(|e| Box::new(internal(app, e)))?;
    Ok(verified && known)
}

/// `POST /consent`: the user's decision on the consent page.
pub async fn consent(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let params = match read_page_form(&app, &headers, body).await {
        Ok(params) => params,
        Err(response) => return *response,
    };
    let names = CookieNames::for_url(&app.public_url);
    let now = app.clock.now();
    let session = match session::current_session(&*app.store, &names, &headers, now).await {
        Ok(session) => session,
        Err(e) => return internal(&app, e),
    };
    let submitted = params.single("csrf_token").ok().flatten();
    let Some((session_id, _, user)) = session else {
        return app.pages.error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "You are not signed in, or your session has ended.",
            "Go back to the application and start connecting again.",
        );
    };
    if !session::csrf_matches(submitted, &session::consent_csrf_token(&session_id)) {
        return app.pages.error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The consent form expired or was not sent from this site.",
            "Go back to the application and start connecting again.",
        );
    }
    let request = match check_request(&app, &params).await {
        Ok(request) => request,
        Err(refusal) => return refusal_response(&app, refusal, StatusCode::SEE_OTHER),
    };
    match params.single("decision").ok().flatten() {
        Some("approve") => {
            if let Err(e) = app
                .store
                .insert_consent(&user.id, &request.client.client_id, &request.scope, now)
                .await
            {
                return internal(&app, e);
            }
            issue_code(&app, &request, &user, StatusCode::SEE_OTHER).await
        }
        Some("deny") => {
            tracing::info!(client_id = %request.client.client_id, user = %user.name, "access denied by the user");
            refusal_response(
                &app,
                Refusal::Redirect {
                    redirect_uri: request.redirect_uri,
                    state: request.state,
                    error: "access_denied",
                    description: "the user denied the request".into(),
                },
                StatusCode::SEE_OTHER,
            )
        }
        _ => app.pages.error(
            StatusCode::BAD_REQUEST,
            "Cannot continue",
            "Choose Allow or Deny on the consent page.",
            "",
        ),
    }
}
