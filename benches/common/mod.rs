//! What the benchmarks share: a server in this process, a user, and a token obtained
//! through the real login and consent pages.
#![allow(dead_code)]

use omnichat::app::{AppState, Application};
use omnichat::config::Settings;
use serde_json::{Value, json};

pub const REDIRECT: &str = "http://127.0.0.1:5555/cb";
pub const PASSWORD: &str = "benchmark password";

/// The hidden fields of a page's form.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|chunk| {
            let (n, rest) = chunk.split_once('"').unwrap_or_default();
            let v = rest
                .split_once("value=\"")
                .and_then(|(_, r)| r.split_once('"'))
                .map(|(v, _)| v)
                .unwrap_or_default();
            (
                n.to_string(),
                v.replace("&#x2f;", "/")
                    .replace("&amp;", "&")
                    .replace("&quot;", "\""),
            )
        })
        .collect()
}

pub fn pkce() -> (String, String) {
    let verifier = omnichat::crypto::random_token().expose().clone();
    let challenge = omnichat::crypto::b64url(&omnichat::crypto::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// Starts a server on 127.0.0.1:0 with a fresh data dir and a user `bench`.
pub async fn start(configure: impl FnOnce(&mut Settings)) -> (String, AppState, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().unwrap();
    let mut settings = Settings::with_data_dir(dir.path());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.register_rate_limit = 1000;
    configure(&mut settings);
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    state
        .store
        .insert_user(&omnichat::store::User {
            id: uuid::Uuid::new_v4().to_string(),
            name: omnichat::oauth::types::UserName::parse("bench").unwrap(),
            password_hash: omnichat::password::hash_password(&omnichat::crypto::Secret::new(
                PASSWORD.into(),
            ))
            .unwrap(),
            disabled: false,
            created_at: 0,
        })
        .await
        .unwrap();
    (base, state, dir)
}

/// A browser (cookies kept) signed in as `bench`, and a registered public client that it has
/// approved, so later authorizations skip both pages.
pub struct SignedIn {
    pub base: String,
    pub browser: reqwest::Client,
    pub api: reqwest::Client,
    pub client_id: String,
}

impl SignedIn {
    pub async fn new(base: &str) -> Self {
        let api = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .build()
            .unwrap();
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap();
        let client: Value = api
            .post(format!("{base}/register"))
            .json(&json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
                          "grant_types": ["authorization_code", "refresh_token"], "client_name": "bench"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let this = Self {
            base: base.to_string(),
            browser,
            api,
            client_id: client["client_id"].as_str().unwrap().to_string(),
        };
        let (_, challenge) = pkce();
        let login = this
            .browser
            .get(this.authorize_url(&challenge))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut form = hidden_fields(&login);
        form.push(("username".into(), "bench".into()));
        form.push(("password".into(), PASSWORD.into()));
        let after = this
            .browser
            .post(format!("{base}/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let next = after.headers()["location"].to_str().unwrap().to_string();
        let consent = this
            .browser
            .get(format!("{base}{next}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut form = hidden_fields(&consent);
        form.push(("decision".into(), "approve".into()));
        this.browser
            .post(format!("{base}/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        this
    }

    pub fn authorize_url(&self, challenge: &str) -> String {
        let mut url = url::Url::parse(&format!("{}/authorize", self.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        url.to_string()
    }

    /// A code for a fresh grant, and its verifier.
    pub async fn code(&self) -> (String, String) {
        let (verifier, challenge) = pkce();
        let response = self
            .browser
            .get(self.authorize_url(&challenge))
            .send()
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let code = url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        (code, verifier)
    }

    pub async fn exchange(&self, code: &str, verifier: &str) -> Value {
        self.api
            .post(format!("{}/token", self.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", &self.client_id),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A fresh token response (access and refresh token) with every scope.
    pub async fn tokens(&self) -> Value {
        let (code, verifier) = self.code().await;
        self.exchange(&code, &verifier).await
    }
}
