//! The token, revocation and introspection endpoints, and access-token verification.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::flow::*;
use crate::helpers::{omnichat_cli, spawn_app};

async fn grant_count(app: &crate::helpers::TestApp, revoked: bool) -> usize {
    app.store
        .list_grants(None)
        .await
        .unwrap()
        .iter()
        .filter(|g| g.grant.revoked_at.is_some() == revoked)
        .count()
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let code = code_for(&app, &AuthRequest::new(&s.client_id, &s.challenge), "alice").await;
    let first: Value = exchange(&app, &s.client_id, &code, &s.verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap();
    assert!(token_is_active(&app, access).await);

    let (status, error) = error_of(exchange(&app, &s.client_id, &code, &s.verifier).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert!(!token_is_active(&app, access).await);
    let (_, error) =
        error_of(refresh(&app, &s.client_id, first["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!(error, "invalid_grant");
    assert_eq!(grant_count(&app, true).await, 1);
}

#[tokio::test]
async fn replays_by_another_client_or_with_a_wrong_verifier_revoke_nothing() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let other = register(&app, json!({})).await;
    let other_id = other["client_id"].as_str().unwrap();
    let code = code_for(&app, &AuthRequest::new(&s.client_id, &s.challenge), "alice").await;

    // Before redemption: another client, another redirect URI → refused, code still usable.
    let (_, error) = error_of(exchange(&app, other_id, &code, &s.verifier).await).await;
    assert_eq!(error, "invalid_grant");
    let (_, error) = error_of(
        token_request(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &s.client_id),
                ("code", &code),
                ("code_verifier", &s.verifier),
                ("redirect_uri", "http://127.0.0.1:5555/other"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(error, "invalid_grant");
    let tokens: Value = exchange(&app, &s.client_id, &code, &s.verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    // After redemption: replays that could not have redeemed it revoke nothing.
    let (other_verifier, _) = pkce();
    assert_eq!(
        error_of(exchange(&app, other_id, &code, &s.verifier).await)
            .await
            .1,
        "invalid_grant"
    );
    assert_eq!(
        error_of(exchange(&app, &s.client_id, &code, &other_verifier).await)
            .await
            .1,
        "invalid_grant"
    );
    assert!(token_is_active(&app, access).await);
    assert_eq!(grant_count(&app, true).await, 0);
}

#[tokio::test]
async fn twenty_concurrent_redemptions_give_exactly_one_success() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let code = code_for(&app, &AuthRequest::new(&s.client_id, &s.challenge), "alice").await;
    let form = vec![
        ("grant_type", "authorization_code".to_string()),
        ("client_id", s.client_id.clone()),
        ("code", code.clone()),
        ("code_verifier", s.verifier.clone()),
        ("redirect_uri", REDIRECT.to_string()),
    ];
    let statuses: Vec<u16> = concurrent_token_requests(&app, form, 20)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        19,
        "{statuses:?}"
    );
    // One grant was created, and the replays revoked it (OAuth 2.1 §4.1.3).
    assert_eq!(app.store.list_grants(None).await.unwrap().len(), 1);
}

/// Sends the same token request `n` times at once, each from its own task.
async fn concurrent_token_requests(
    app: &crate::helpers::TestApp,
    form: Vec<(&'static str, String)>,
    n: usize,
) -> Vec<reqwest::Response> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (client, url, form) = (app.client.clone(), app.url("/token"), form.clone());
        tasks.push(tokio::spawn(async move {
            client.post(url).form(&form).send().await.unwrap()
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.unwrap());
    }
    responses
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let code = code_for(&app, &AuthRequest::new(&s.client_id, &s.challenge), "alice").await;
    app.clock.advance(61);
    let (status, error) = error_of(exchange(&app, &s.client_id, &code, &s.verifier).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert!(app.store.list_grants(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn refresh_tokens_rotate_allow_one_retry_and_revoke_on_older_reuse() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let t0 = tokens(&app, &s).await;
    let r0 = t0["refresh_token"].as_str().unwrap().to_string();

    // r0 → r1. The response is "lost": the client retries with r0 and gets r1'.
    let t1: Value = refresh(&app, &s.client_id, &r0).await.json().await.unwrap();
    let r1 = t1["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r0, r1);
    let retry = refresh(&app, &s.client_id, &r0).await;
    assert_eq!(retry.status(), 200);
    let t1b: Value = retry.json().await.unwrap();
    let r1b = t1b["refresh_token"].as_str().unwrap().to_string();

    // Using the successor r1b ends r0's grace; r1b → r2.
    let t2: Value = refresh(&app, &s.client_id, &r1b)
        .await
        .json()
        .await
        .unwrap();
    let r2 = t2["refresh_token"].as_str().unwrap().to_string();
    let newest_access = t2["access_token"].as_str().unwrap().to_string();
    assert!(token_is_active(&app, &newest_access).await);

    // r0 is now two generations old: presenting it revokes the grant…
    let (status, error) = error_of(refresh(&app, &s.client_id, &r0).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    // …so the newest token fails too, and so do the grant's access tokens.
    assert_eq!(
        error_of(refresh(&app, &s.client_id, &r2).await).await.1,
        "invalid_grant"
    );
    assert!(!token_is_active(&app, &newest_access).await);
    let _ = r1;
}

#[tokio::test]
async fn twenty_concurrent_refreshes_leave_at_most_one_lineage() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let t0 = tokens(&app, &s).await;
    let r0 = t0["refresh_token"].as_str().unwrap().to_string();
    let form = vec![
        ("grant_type", "refresh_token".to_string()),
        ("client_id", s.client_id.clone()),
        ("refresh_token", r0.clone()),
    ];
    let responses = concurrent_token_requests(&app, form, 20).await;
    let mut issued = Vec::new();
    for response in responses {
        assert!(
            matches!(response.status().as_u16(), 200 | 400),
            "{}",
            response.status()
        );
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            issued.push(body["refresh_token"].as_str().unwrap().to_string());
        }
    }
    assert!(!issued.is_empty());
    // The grant is intact: its latest token is one of those issued, and exactly one of the
    // issued tokens still refreshes.
    let grants = app.store.list_grants(None).await.unwrap();
    assert_eq!(grants.len(), 1);
    let grant = &grants[0].grant;
    assert!(grant.revoked_at.is_none());
    let latest = grant.latest_refresh_hash.unwrap();
    let survivors: Vec<&String> = issued
        .iter()
        .filter(|t| omnichat::crypto::sha256(t.as_bytes()) == latest)
        .collect();
    assert_eq!(survivors.len(), 1, "exactly one lineage survives");
    assert_eq!(
        refresh(&app, &s.client_id, survivors[0]).await.status(),
        200
    );
}

#[tokio::test]
async fn refresh_scope_may_narrow_but_not_widen_and_resource_must_match() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let code = code_for(
        &app,
        &AuthRequest::new(&s.client_id, &s.challenge).set("scope", "files:read chat:read"),
        "alice",
    )
    .await;
    let t0: Value = exchange(&app, &s.client_id, &code, &s.verifier)
        .await
        .json()
        .await
        .unwrap();
    let r0 = t0["refresh_token"].as_str().unwrap();
    let widen = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &s.client_id),
            ("refresh_token", r0),
            ("scope", "files:read files:write"),
        ],
    )
    .await;
    assert_eq!(error_of(widen).await, (400, "invalid_scope".to_string()));
    let target = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &s.client_id),
            ("refresh_token", r0),
            ("resource", "https://other.example/mcp"),
        ],
    )
    .await;
    assert_eq!(error_of(target).await, (400, "invalid_target".to_string()));
    // Nothing rotated on those errors: narrowing with r0 still works.
    let narrow = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &s.client_id),
            ("refresh_token", r0),
            ("scope", "chat:read"),
        ],
    )
    .await;
    assert_eq!(narrow.status(), 200);
    let body: Value = narrow.json().await.unwrap();
    assert_eq!(body["scope"], "chat:read");
    // The grant keeps its scope: the next refresh without scope gets both again.
    let again: Value = refresh(&app, &s.client_id, body["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["scope"], "files:read chat:read");
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let t0 = tokens(&app, &s).await;
    app.clock.advance(30 * 86_400 + 1);
    let (_, error) =
        error_of(refresh(&app, &s.client_id, t0["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!(error, "invalid_grant");
}

#[tokio::test]
async fn access_token_has_rfc9068_header_and_claims() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let t = tokens(&app, &s).await;
    let token = t["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let (_, jwks) = app.get_json("/jwks.json").await;
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    assert_eq!(claims["iss"], json!(app.issuer));
    assert_eq!(claims["aud"], json!(format!("{}/mcp", app.issuer)));
    assert_eq!(claims["client_id"], json!(s.client_id));
    assert_eq!(
        claims["scope"],
        "files:read files:write chat:read chat:write ssh:execute"
    );
    let user = app
        .store
        .find_user_by_name(&omnichat::oauth::types::UserName::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims["sub"], json!(user.id));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

#[tokio::test]
async fn the_verification_function_refuses_forged_and_stale_tokens() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let t = tokens(&app, &s).await;
    let token = t["access_token"].as_str().unwrap().to_string();
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let now = app.clock.now();
    let verify = |t: String| {
        let state = app.state.clone();
        async move { state.tokens.verify(&t, state.clock.now()).await }
    };
    assert!(verify(token.clone()).await.is_ok());

    use omnichat::oauth::access_token::TokenError;
    // Tampered payload with the original signature.
    let mut tampered = claims.clone();
    tampered["scope"] = json!("files:read files:write chat:read chat:write ssh:execute admin");
    tampered["sub"] = json!("someone-else");
    assert_eq!(
        verify(format!("{}.{}.{}", parts[0], b64(&tampered), parts[2])).await,
        Err(TokenError::Signature)
    );
    // alg none (any spelling), unsigned.
    for alg in ["none", "None", "NONE"] {
        let mut h = header.clone();
        h["alg"] = json!(alg);
        assert_eq!(
            verify(format!("{}.{}.", b64(&h), parts[1])).await,
            Err(TokenError::Algorithm),
            "{alg}"
        );
    }
    // HS256 "signed" with our public key (the classic key-confusion attack).
    let (_, jwks) = app.get_json("/jwks.json").await;
    let public_key_bytes = serde_json::to_vec(&jwks["keys"][0]).unwrap();
    let mut h = header.clone();
    h["alg"] = json!("HS256");
    let signing_input = format!("{}.{}", b64(&h), parts[1]);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public_key_bytes);
    let mac = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
    assert_eq!(
        verify(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(mac.as_ref())
        ))
        .await,
        Err(TokenError::Algorithm)
    );
    // Expired, wrong audience, wrong issuer — each signed with our real key, so only the claim
    // check can refuse them.
    let sign = |claims: Value| {
        let state = app.state.clone();
        async move { sign_with_active_key(&state, claims).await }
    };
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    assert_eq!(verify(sign(expired).await).await, Err(TokenError::Expired));
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("https://other.example/mcp");
    assert_eq!(
        verify(sign(wrong_aud).await).await,
        Err(TokenError::Audience)
    );
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    assert_eq!(verify(sign(wrong_iss).await).await, Err(TokenError::Issuer));
    let mut control = claims.clone();
    control["jti"] = json!("control");
    assert!(
        verify(sign(control).await).await.is_ok(),
        "the signing helper itself works"
    );
    // Garbage and JWE shapes.
    assert_eq!(verify("a.b.c.d.e".into()).await, Err(TokenError::Encrypted));
    assert_eq!(
        verify("not a token".into()).await,
        Err(TokenError::Malformed)
    );
    assert_eq!(
        verify("x".repeat(20 * 1024)).await,
        Err(TokenError::TooLarge)
    );
}

/// Signs arbitrary claims with the server's active key, as the server would.
async fn sign_with_active_key(state: &omnichat::app::AppState, claims: Value) -> String {
    let keys = state.store.list_signing_keys().await.unwrap();
    let active = keys.iter().find(|k| k.retired_at.is_none()).unwrap();
    let pkcs8 = omnichat::oauth::keys::private_pkcs8(active, None).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(active.kid.clone());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(pkcs8.expose()),
    )
    .unwrap()
}

#[tokio::test]
async fn token_endpoint_errors_use_rfc6749_codes() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let no_refresh = register(&app, json!({"grant_types": ["authorization_code"]})).await;
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("client_id", &s.client_id)], 400, "invalid_request"),
        (
            vec![("grant_type", "password"), ("client_id", &s.client_id)],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &s.client_id),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "authorization_code")],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", "unknown"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &s.client_id),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", no_refresh["client_id"].as_str().unwrap()),
                ("refresh_token", "x"),
            ],
            400,
            "unauthorized_client",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &s.client_id),
                ("refresh_token", "nope"),
            ],
            400,
            "invalid_grant",
        ),
    ];
    for (form, status, code) in cases {
        let response = token_request(&app, &form).await;
        assert_eq!(
            error_of(response).await,
            (status, code.to_string()),
            "{form:?}"
        );
    }
    // Repeated parameters, wrong content type, oversized body.
    let repeated = app
        .client
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=refresh_token&grant_type=refresh_token&client_id={}",
            s.client_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(repeated).await,
        (400, "invalid_request".to_string())
    );
    let json_body = app
        .client
        .post(app.url("/token"))
        .json(&json!({"grant_type": "refresh_token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(json_body).await,
        (400, "invalid_request".to_string())
    );
    let big = app
        .client
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=".to_string() + &"b".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
}

#[tokio::test]
async fn confidential_clients_authenticate_as_registered() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    let basic = register(
        &app,
        json!({"token_endpoint_auth_method": "client_secret_basic"}),
    )
    .await;
    let post = register(
        &app,
        json!({"token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    let (verifier, challenge) = pkce();
    let id = basic["client_id"].as_str().unwrap();
    let secret = basic["client_secret"].as_str().unwrap();

    let code = code_for(&app, &AuthRequest::new(id, &challenge), "alice").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    // Wrong secret: 401 with a Basic challenge; the code is not consumed.
    let wrong = app
        .client
        .post(app.url("/token"))
        .basic_auth(id, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(error_of(wrong).await.1, "invalid_client");
    // The secret in the body is not how this client registered.
    let mut as_post = form.to_vec();
    as_post.extend([("client_id", id), ("client_secret", secret)]);
    assert_eq!(
        error_of(token_request(&app, &as_post).await).await,
        (401, "invalid_client".to_string())
    );
    // No authentication at all.
    let mut bare = form.to_vec();
    bare.push(("client_id", id));
    assert_eq!(
        error_of(token_request(&app, &bare).await).await,
        (401, "invalid_client".to_string())
    );
    let ok = app
        .client
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let post_id = post["client_id"].as_str().unwrap();
    let post_secret = post["client_secret"].as_str().unwrap();
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &AuthRequest::new(post_id, &challenge), "alice").await;
    let response = token_request(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("client_id", post_id),
            ("client_secret", post_secret),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn revocation_and_introspection() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    let client = register(&app, json!({"token_endpoint_auth_method": "client_secret_post", "grant_types": ["authorization_code", "refresh_token"]})).await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &AuthRequest::new(id, &challenge), "alice").await;
    let t: Value = token_request(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let access = t["access_token"].as_str().unwrap();
    let refresh_token = t["refresh_token"].as_str().unwrap();
    let introspect = |token: String| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/introspect"))
                .form(&[
                    ("client_id", id),
                    ("client_secret", secret),
                    ("token", &token),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let active = introspect(access.to_string()).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], id);
    assert_eq!(active["username"], "alice");
    assert_eq!(introspect(refresh_token.to_string()).await["active"], true);
    assert_eq!(introspect("garbage".into()).await, json!({"active": false}));

    // Unknown tokens: 200 (RFC 7009 §2.2).
    let revoke = |token: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/revoke"))
                .form(&[
                    ("client_id", id),
                    ("client_secret", secret),
                    ("token", &token),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(revoke("never-issued".into()).await.status(), 200);
    // Revoking the access token alone: it stops verifying; the grant lives on.
    assert_eq!(revoke(access.to_string()).await.status(), 200);
    assert_eq!(introspect(access.to_string()).await["active"], false);
    assert!(!token_is_active(&app, access).await);
    assert_eq!(introspect(refresh_token.to_string()).await["active"], true);
    // Public clients cannot introspect.
    let public = register(&app, json!({})).await;
    let response = app
        .client
        .post(app.url("/introspect"))
        .form(&[
            ("client_id", public["client_id"].as_str().unwrap()),
            ("token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // Another client cannot revoke this client's token.
    let response = app
        .client
        .post(app.url("/revoke"))
        .form(&[
            ("client_id", public["client_id"].as_str().unwrap()),
            ("token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(introspect(refresh_token.to_string()).await["active"], true);
}

#[tokio::test]
async fn grants_cli_lists_and_revokes_and_disabling_a_user_revokes_theirs() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let t = tokens(&app, &s).await;
    let access = t["access_token"].as_str().unwrap().to_string();
    let list = omnichat_cli(&app.data_dir, &["grants", "list", "--user", "alice"], None).await;
    assert!(list.success, "{list:?}");
    assert!(
        list.stdout.contains("alice") && list.stdout.contains("active"),
        "{}",
        list.stdout
    );
    let grant_id = list.stdout.split('\t').next().unwrap().to_string();
    let revoke = omnichat_cli(&app.data_dir, &["grants", "revoke", &grant_id], None).await;
    assert!(revoke.success, "{revoke:?}");
    assert!(!token_is_active(&app, &access).await);
    let bogus = omnichat_cli(&app.data_dir, &["grants", "revoke", "not-a-grant"], None).await;
    assert!(!bogus.success && bogus.stderr.contains("no grant"));

    // A second grant, then the user is disabled: it is revoked too.
    let t2 = tokens(&app, &s).await;
    let disable = omnichat_cli(&app.data_dir, &["users", "disable", "alice"], None).await;
    assert!(disable.success, "{disable:?}");
    assert!(disable.stdout.contains("1 grant(s) revoked"), "{disable:?}");
    assert!(!token_is_active(&app, t2["access_token"].as_str().unwrap()).await);
    assert_eq!(
        error_of(refresh(&app, &s.client_id, t2["refresh_token"].as_str().unwrap()).await)
            .await
            .1,
        "invalid_grant"
    );
    // …and their session ended: /authorize asks for the password again.
    let page = get_page(
        &app,
        &AuthRequest::new(&s.client_id, &s.challenge).url(&app),
    )
    .await;
    assert!(page.html.contains("name=\"password\""));
}
