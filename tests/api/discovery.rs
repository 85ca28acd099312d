use serde_json::json;

use crate::helpers::spawn_app;

const SCOPES: [&str; 5] = [
    "files:read",
    "files:write",
    "chat:read",
    "chat:write",
    "ssh:execute",
];

#[tokio::test]
async fn authorization_server_metadata_has_every_field_and_exact_issuer() {
    let app = spawn_app().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let (status, doc) = app.get_json(path).await;
        assert_eq!(status, 200, "{path}");
        // Byte-for-byte: the public URL, no trailing slash (RFC 8414 §3.3).
        assert_eq!(doc["issuer"], json!(app.issuer));
        assert_eq!(app.issuer, app.address);
        assert!(!app.issuer.ends_with('/'));
        assert_eq!(doc["authorization_endpoint"], json!(app.url("/authorize")));
        assert_eq!(doc["token_endpoint"], json!(app.url("/token")));
        assert_eq!(doc["registration_endpoint"], json!(app.url("/register")));
        assert_eq!(doc["jwks_uri"], json!(app.url("/jwks.json")));
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert_eq!(
            doc["grant_types_supported"],
            json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!(["none", "client_secret_basic", "client_secret_post"])
        );
        assert_eq!(doc["scopes_supported"], json!(SCOPES));
        assert_eq!(
            doc["authorization_response_iss_parameter_supported"],
            json!(true)
        );
    }
}

#[tokio::test]
async fn protected_resource_metadata_describes_the_url_it_came_from() {
    let app = spawn_app().await;
    for (path, resource) in [
        ("/.well-known/oauth-protected-resource", app.address.clone()),
        ("/.well-known/oauth-protected-resource/mcp", app.url("/mcp")),
    ] {
        let (status, doc) = app.get_json(path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(doc["resource"], json!(resource), "{path}");
        assert_eq!(doc["authorization_servers"], json!([app.issuer]));
        assert_eq!(doc["scopes_supported"], json!(SCOPES));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["resource_name"], json!("OmniChat"));
    }
}

#[tokio::test]
async fn configured_public_url_is_used_everywhere() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.public_url =
            Some(omnichat::config::PublicUrl::parse("https://omni.example.com/").unwrap());
    })
    .await;
    let response = app
        .client
        .get(app.url("/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["resource"], "https://omni.example.com/mcp");
    assert_eq!(
        doc["authorization_servers"],
        json!(["https://omni.example.com"])
    );
    let (_, as_doc) = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(as_doc["issuer"], "https://omni.example.com");
    assert_eq!(as_doc["token_endpoint"], "https://omni.example.com/token");
}

#[tokio::test]
async fn unknown_well_known_paths_are_404_not_401() {
    let app = spawn_app().await;
    for path in [
        "/.well-known/oauth-protected-resource/other",
        "/.well-known/oauth-authorization-server/mcp",
        "/.well-known/unknown",
        "/nowhere",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
        assert!(body["error_description"].is_string());
    }
}

#[tokio::test]
async fn jwks_publishes_the_signing_key() {
    let app = spawn_app().await;
    let (status, jwks) = app.get_json("/jwks.json").await;
    assert_eq!(status, 200);
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    // Only the public half is published.
    assert!(key.get("d").is_none());
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("ok"))
    );
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("ready"))
    );
}

#[tokio::test]
async fn wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let response = app
        .client
        .delete(app.url("/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    let response = app.client.get(app.url("/register")).send().await.unwrap();
    assert_eq!(response.status(), 405);
}
