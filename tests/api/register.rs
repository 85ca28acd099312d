use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

async fn client_count(app: &TestApp) -> usize {
    app.store.list_clients().await.unwrap().len()
}

#[tokio::test]
async fn accepts_chatgpt_and_loopback_redirect_uris() {
    let app = spawn_app().await;
    for uri in [
        "https://chatgpt.com/connector_platform_oauth_redirect",
        "https://chatgpt.com/connector/oauth/abc123",
        "https://platform.openai.com/apps-manage/oauth",
        "http://127.0.0.1:5555/cb",
        "http://localhost:8080/callback",
    ] {
        let response = app
            .register(json!({"redirect_uris": [uri], "token_endpoint_auth_method": "none"}))
            .await;
        assert_eq!(response.status(), 201, "{uri}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["redirect_uris"], json!([uri]));
        assert!(body["client_id"].as_str().is_some_and(|id| !id.is_empty()));
        assert!(body["client_id_issued_at"].is_i64());
    }
    assert_eq!(client_count(&app).await, 5);
}

#[tokio::test]
async fn registration_echoes_metadata() {
    let app = spawn_app().await;
    let response = app
        .register(json!({
            "redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "ChatGPT <b>",
            "scope": "files:read chat:read",
            "unknown_extension": {"ignored": true}
        }))
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_name"], "ChatGPT <b>");
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["scope"], "files:read chat:read");
    assert_eq!(body["token_endpoint_auth_method"], "none");
    let stored = app.store.list_clients().await.unwrap();
    assert_eq!(stored[0].client_name.as_deref(), Some("ChatGPT <b>"));
}

#[tokio::test]
async fn public_client_gets_no_secret() {
    let app = spawn_app().await;
    let body: Value = app
        .register(json!({"redirect_uris": ["http://127.0.0.1:5555/cb"], "token_endpoint_auth_method": "none"}))
        .await
        .json()
        .await
        .unwrap();
    assert!(body.get("client_secret").is_none());
    assert!(body.get("client_secret_expires_at").is_none());
    assert!(
        app.store.list_clients().await.unwrap()[0]
            .secret_hash
            .is_none()
    );
}

#[tokio::test]
async fn confidential_client_secret_is_stored_only_as_a_hash() {
    let app = spawn_app().await;
    // No method given: RFC 7591 §2's default, client_secret_basic.
    let response = app
        .register(json!({"redirect_uris": ["http://127.0.0.1:5555/cb"]}))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["client_secret_expires_at"], 0);
    let secret = body["client_secret"].as_str().unwrap().to_string();
    // >= 256 bits: 43 base64url characters.
    assert!(secret.len() >= 43, "{secret}");
    let post = app
        .register(json!({"redirect_uris": ["http://127.0.0.1:5555/cb"], "token_endpoint_auth_method": "client_secret_post"}))
        .await;
    let post_secret = post.json::<Value>().await.unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(secret, post_secret);

    // Read every byte SQLite wrote (database and write-ahead log): the secret is not there
    // in any readable form, only its SHA-256.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&app.data_dir).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for s in [&secret, &post_secret] {
        assert!(!contains(&stored, s.as_bytes()), "secret in the database");
        let hash = omnichat::crypto::sha256(s.as_bytes());
        assert!(
            contains(&stored, &hash),
            "hash not found: is the test reading the right files?"
        );
    }
    let client = &app.store.list_clients().await.unwrap()[0];
    assert!(client.secret_hash.is_some());
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn rejects_bad_redirect_uris_and_metadata_storing_nothing() {
    let app = spawn_app().await;
    let uri = |u: &str| json!({"redirect_uris": [u], "token_endpoint_auth_method": "none"});
    let cases: Vec<(Value, &str)> = vec![
        (uri("javascript:alert(1)"), "invalid_redirect_uri"),
        (
            uri("data:text/html,<script>alert(1)</script>"),
            "invalid_redirect_uri",
        ),
        (
            uri("http://127.0.0.1:5555/cb#fragment"),
            "invalid_redirect_uri",
        ),
        (uri("http://evil.example/cb"), "invalid_redirect_uri"),
        (uri("/relative/callback"), "invalid_redirect_uri"),
        (
            uri("https://chatgpt.com.evil.example/connector_platform_oauth_redirect"),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [], "token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": "http://127.0.0.1:5555/cb"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1:5555/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1:5555/cb"], "token_endpoint_auth_method": "magic"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1:5555/cb"], "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1:5555/cb"], "scope": "files:read root"}),
            "invalid_client_metadata",
        ),
    ];
    for (body, code) in cases {
        let response = app.register(body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], code, "{body}");
        assert!(
            error["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    assert_eq!(client_count(&app).await, 0);
}

#[tokio::test]
async fn rejects_malformed_oversized_and_mistyped_bodies() {
    let app = spawn_app().await;
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(app.url("/register"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // 65 KiB of valid JSON: too large.
    let padding = "x".repeat(65 * 1024);
    let big = serde_json::to_vec(
        &json!({"redirect_uris": ["http://127.0.0.1:1/cb"], "client_name": padding}),
    )
    .unwrap();
    let response = post(big, "application/json").await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_client_metadata"
    );

    for (body, content_type) in [
        (b"{\"redirect_uris\": [".to_vec(), "application/json"),
        (b"not json at all".to_vec(), "application/json"),
        (
            b"{\"redirect_uris\": [\"http://127.0.0.1:1/cb\"]}".to_vec(),
            "text/plain",
        ),
        (
            b"redirect_uris=http://127.0.0.1:1/cb".to_vec(),
            "application/x-www-form-urlencoded",
        ),
    ] {
        let response = post(body, content_type).await.unwrap();
        assert_eq!(response.status(), 400, "{content_type}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_client_metadata");
        assert!(error["error_description"].is_string());
    }
    // Also without any content type.
    let response = app
        .client
        .post(app.url("/register"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(client_count(&app).await, 0);
}

#[tokio::test]
async fn the_21st_registration_in_a_minute_gets_429() {
    let app = spawn_app_with(|s| s.register_rate_limit = 20).await;
    let body = json!({"redirect_uris": ["http://127.0.0.1:5555/cb"], "token_endpoint_auth_method": "none"});
    for i in 0..20 {
        assert_eq!(
            app.register(body.clone()).await.status(),
            201,
            "registration {}",
            i + 1
        );
    }
    let response = app.register(body.clone()).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let error: Value = response.json().await.unwrap();
    assert!(error["error_description"].is_string());
    assert_eq!(client_count(&app).await, 20);
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let body = json!({"redirect_uris": ["http://127.0.0.1:5555/cb"], "token_endpoint_auth_method": "none"});
    // Untrusted peer: a client cannot dodge the limit by inventing X-Forwarded-For.
    let app = spawn_app_with(|s| s.register_rate_limit = 2).await;
    for i in 0..3 {
        let response = app
            .client
            .post(app.url("/register"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), if i < 2 { 201 } else { 429 });
    }
    // Loopback as a trusted proxy: each forwarded address has its own budget.
    let app = spawn_app_with(|s| {
        s.register_rate_limit = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    for i in 0..3 {
        let response = app
            .client
            .post(app.url("/register"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
}
