//! A scripted browser and OAuth client for the authorization code flow: it loads the real
//! pages, submits their forms (hidden fields included) and keeps cookies.

use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::helpers::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT: &str = "http://127.0.0.1:5555/cb";

pub async fn add_user(app: &TestApp, name: &str) -> omnichat::store::User {
    let user = omnichat::store::User {
        id: uuid::Uuid::new_v4().to_string(),
        name: omnichat::oauth::types::UserName::parse(name).unwrap(),
        password_hash: omnichat::password::hash_password(&omnichat::crypto::Secret::new(
            PASSWORD.to_string(),
        ))
        .unwrap(),
        disabled: false,
        created_at: app.clock.now(),
    };
    app.store.insert_user(&user).await.unwrap();
    user
}

/// Registers a client; `extra` is merged into the registration body.
pub async fn register(app: &TestApp, extra: Value) -> Value {
    let mut body = json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "client_name": "Test Client",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let response = app.register(body).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

pub fn pkce() -> (String, String) {
    let verifier = omnichat::crypto::random_token().expose().clone();
    let challenge = omnichat::crypto::b64url(&omnichat::crypto::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// Authorization request parameters with sensible defaults.
pub struct AuthRequest {
    pub params: Vec<(String, String)>,
}

impl AuthRequest {
    pub fn new(client_id: &str, challenge: &str) -> Self {
        Self {
            params: vec![
                ("response_type".into(), "code".into()),
                ("client_id".into(), client_id.into()),
                ("redirect_uri".into(), REDIRECT.into()),
                ("code_challenge".into(), challenge.into()),
                ("code_challenge_method".into(), "S256".into()),
                ("state".into(), "xyz-state".into()),
            ],
        }
    }

    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.params.retain(|(n, _)| n != name);
        self.params.push((name.into(), value.into()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.params.retain(|(n, _)| n != name);
        self
    }

    pub fn url(&self, app: &TestApp) -> String {
        let mut url = Url::parse(&app.url("/authorize")).unwrap();
        url.query_pairs_mut().extend_pairs(&self.params);
        url.to_string()
    }
}

pub fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every `<input type="hidden" name=… value=…>` of a page, in order.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for chunk in html.split("<input type=\"hidden\" name=\"").skip(1) {
        let (name, rest) = chunk.split_once('"').unwrap();
        let value = rest
            .split_once("value=\"")
            .unwrap()
            .1
            .split_once('"')
            .unwrap()
            .0;
        fields.push((html_unescape(name), html_unescape(value)));
    }
    fields
}

pub fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
}

/// Query parameters of a redirect to the client.
pub fn query_of(location: &str) -> Vec<(String, String)> {
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

pub async fn get_page(app: &TestApp, url: &str) -> Page {
    let response = app.client.get(url).send().await.unwrap();
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        html: response.text().await.unwrap(),
    }
}

/// Submits the page's form (hidden fields plus `extra`) to `action`.
pub async fn submit(
    app: &TestApp,
    page: &Page,
    action: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = hidden_fields(&page.html);
    for (name, value) in extra {
        fields.push((name.to_string(), value.to_string()));
    }
    app.client
        .post(app.url(action))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// Logs in on the login page that `authorize_url` shows; returns the 303 response.
pub async fn login(
    app: &TestApp,
    authorize_url: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let page = get_page(app, authorize_url).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains("name=\"password\""),
        "not the login page: {}",
        page.html
    );
    submit(
        app,
        &page,
        "/login",
        &[("username", user), ("password", password)],
    )
    .await
}

/// Runs the whole browser part: login (if needed) and approve (unless the consent is
/// remembered); returns the final redirect URL.
pub async fn authorize_and_approve(app: &TestApp, request: &AuthRequest, user: &str) -> String {
    let first = app.client.get(request.url(app)).send().await.unwrap();
    if first.status() == 302 {
        return location(&first).unwrap();
    }
    let mut page = Page {
        status: first.status(),
        headers: first.headers().clone(),
        html: first.text().await.unwrap(),
    };
    if page.html.contains("name=\"password\"") {
        let response = submit(
            app,
            &page,
            "/login",
            &[("username", user), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(response.status(), 303);
        let next = app.url(&location(&response).unwrap());
        page = get_page(app, &next).await;
    }
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains("value=\"approve\""),
        "not the consent page: {}",
        page.html
    );
    let response = submit(app, &page, "/consent", &[("decision", "approve")]).await;
    assert_eq!(response.status(), 303);
    location(&response).unwrap()
}

pub async fn code_for(app: &TestApp, request: &AuthRequest, user: &str) -> String {
    let location = authorize_and_approve(app, request, user).await;
    let query = query_of(&location);
    param(&query, "code")
        .unwrap_or_else(|| panic!("no code in {location}"))
        .to_string()
}

pub async fn token_request(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

pub async fn exchange(
    app: &TestApp,
    client_id: &str,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    token_request(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await
}

pub async fn refresh(app: &TestApp, client_id: &str, refresh_token: &str) -> reqwest::Response {
    token_request(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

pub async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert!(body["error_description"].is_string(), "{body}");
    (status, body["error"].as_str().unwrap().to_string())
}

/// A user, a public client and a fresh PKCE pair, ready for the flow.
pub struct Setup {
    pub client_id: String,
    pub verifier: String,
    pub challenge: String,
}

pub async fn setup(app: &TestApp) -> Setup {
    add_user(app, "alice").await;
    let client = register(app, json!({})).await;
    let (verifier, challenge) = pkce();
    Setup {
        client_id: client["client_id"].as_str().unwrap().to_string(),
        verifier,
        challenge,
    }
}

/// A token response for a fresh grant of alice to the setup's client.
pub async fn tokens(app: &TestApp, s: &Setup) -> Value {
    let code = code_for(app, &AuthRequest::new(&s.client_id, &s.challenge), "alice").await;
    let response = exchange(app, &s.client_id, &code, &s.verifier).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub async fn token_is_active(app: &TestApp, token: &str) -> bool {
    omnichat::oauth::revocation::verify_active(&app.state, token)
        .await
        .is_ok()
}

/// An access token for `user` with exactly `scope`, obtained through the real pages with a
/// browser of its own (so several users can be signed in at once).
pub async fn token_for(app: &TestApp, user: &str, scope: &str) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let client = register(app, json!({})).await;
    let client_id = client["client_id"].as_str().unwrap();
    let (verifier, challenge) = pkce();
    let url = AuthRequest::new(client_id, &challenge)
        .set("scope", scope)
        .url(app);
    let login = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut fields = hidden_fields(&login);
    fields.push(("username".into(), user.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let after = browser
        .post(app.url("/login"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "login of {user}");
    let consent = browser
        .get(app.url(&location(&after).unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut fields = hidden_fields(&consent);
    fields.push(("decision".into(), "approve".into()));
    let done = browser
        .post(app.url("/consent"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let code = param(&query_of(&location(&done).unwrap()), "code")
        .unwrap()
        .to_string();
    let body: Value = exchange(app, client_id, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_string()
}
