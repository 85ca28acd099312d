//! The authorization endpoint, login and consent pages.

use serde_json::json;

use crate::flow::*;
use crate::helpers::spawn_app;

#[tokio::test]
async fn happy_path_from_registration_to_revocation() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let request = AuthRequest::new(&s.client_id, &s.challenge).set("scope", "files:read chat:read");

    // Login page, then 303 (never 307) back to /authorize, then the consent page.
    let response = login(&app, &request.url(&app), "alice", PASSWORD).await;
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("omnichat_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let next = location(&response).unwrap();
    assert!(next.starts_with("/authorize?"), "{next}");
    let consent = get_page(&app, &app.url(&next)).await;
    assert!(consent.html.contains("Test Client"));
    assert!(consent.html.contains("files:read") && consent.html.contains("chat:read"));
    assert!(
        !consent.html.contains("files:write"),
        "shows more than will be granted"
    );
    assert!(consent.html.contains("127.0.0.1"), "redirect host shown");
    assert!(
        consent
            .html
            .contains(r#"<button type="submit" name="decision" value="approve""#)
    );
    assert!(consent.html.contains(r#"name="decision" value="deny""#));

    let response = submit(&app, &consent, "/consent", &[("decision", "approve")]).await;
    assert_eq!(response.status(), 303);
    let redirect = location(&response).unwrap();
    assert!(redirect.starts_with(REDIRECT), "{redirect}");
    let query = query_of(&redirect);
    assert_eq!(param(&query, "state"), Some("xyz-state"));
    assert_eq!(param(&query, "iss"), Some(app.issuer.as_str()));
    let code = param(&query, "code").unwrap().to_string();
    assert!(code.len() >= 43, "code has at least 256 bits");

    let response = exchange(&app, &s.client_id, &code, &s.verifier).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let tokens: serde_json::Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "files:read chat:read");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    assert!(token_is_active(&app, &access).await);

    let r1: serde_json::Value = refresh(
        &app,
        &s.client_id,
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await
    .json()
    .await
    .unwrap();
    let r2: serde_json::Value = refresh(&app, &s.client_id, r1["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert!(r2["access_token"].is_string() && r2["refresh_token"].is_string());
    assert_ne!(r1["refresh_token"], r2["refresh_token"]);

    // Revoking the newest refresh token revokes the grant: its access tokens stop working.
    let response = app
        .client
        .post(app.url("/revoke"))
        .form(&[
            ("client_id", s.client_id.as_str()),
            ("token", r2["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(!token_is_active(&app, &access).await);
    assert!(!token_is_active(&app, r2["access_token"].as_str().unwrap()).await);
    let (status, error) =
        error_of(refresh(&app, &s.client_id, r2["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
}

#[tokio::test]
async fn pkce_is_required_and_s256_only() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let base = || AuthRequest::new(&s.client_id, &s.challenge);
    for (request, why) in [
        (base().without("code_challenge"), "no code_challenge"),
        (base().set("code_challenge_method", "plain"), "plain"),
        (base().without("code_challenge_method"), "missing method"),
        (
            base().set("code_challenge", "too-short"),
            "malformed challenge",
        ),
    ] {
        let response = app.client.get(request.url(&app)).send().await.unwrap();
        assert_eq!(response.status(), 302, "{why}");
        let query = query_of(&location(&response).unwrap());
        assert_eq!(param(&query, "error"), Some("invalid_request"), "{why}");
        assert!(param(&query, "error_description").is_some());
        assert_eq!(param(&query, "state"), Some("xyz-state"));
        assert_eq!(param(&query, "iss"), Some(app.issuer.as_str()));
    }
    assert!(app.store.list_grants(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn wrong_or_malformed_verifiers_are_refused_and_leave_the_code_usable() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let code = code_for(&app, &AuthRequest::new(&s.client_id, &s.challenge), "alice").await;
    let (other_verifier, _) = pkce();
    let cases = [
        (other_verifier.as_str(), 400, "invalid_grant"),
        (&"a".repeat(42) as &str, 400, "invalid_grant"),
        (&"a".repeat(129) as &str, 400, "invalid_grant"),
    ];
    for (verifier, status, code_name) in cases {
        let (got_status, error) =
            error_of(exchange(&app, &s.client_id, &code, verifier).await).await;
        assert_eq!(
            (got_status, error.as_str()),
            (status, code_name),
            "{verifier}"
        );
    }
    // No verifier at all for a code that has a challenge (OAuth 2.1 §4.1.3).
    let (status, error) = error_of(
        token_request(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &s.client_id),
                ("code", &code),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    // None of that revoked or consumed anything: the real verifier still works once.
    assert_eq!(
        exchange(&app, &s.client_id, &code, &s.verifier)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn state_is_echoed_byte_for_byte_or_left_out() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let long_state: String = (0..2000)
        .map(|i| ["a", "~", " ", "&", "=", "é", "%"][i % 7])
        .collect();
    let location = authorize_and_approve(
        &app,
        &AuthRequest::new(&s.client_id, &s.challenge).set("state", &long_state),
        "alice",
    )
    .await;
    assert_eq!(
        param(&query_of(&location), "state"),
        Some(long_state.as_str())
    );

    let location = authorize_and_approve(
        &app,
        &AuthRequest::new(&s.client_id, &s.challenge).without("state"),
        "alice",
    )
    .await;
    let query = query_of(&location);
    assert_eq!(param(&query, "state"), None);
    assert!(param(&query, "code").is_some());

    // Errors carry the state too.
    let response = app
        .client
        .get(
            AuthRequest::new(&s.client_id, &s.challenge)
                .set("state", &long_state)
                .set("response_type", "token")
                .url(&app),
        )
        .send()
        .await
        .unwrap();
    let query = query_of(&location_of(&response));
    assert_eq!(param(&query, "state"), Some(long_state.as_str()));
}

fn location_of(response: &reqwest::Response) -> String {
    location(response).expect("a redirect")
}

#[tokio::test]
async fn unverified_redirect_uris_and_unknown_clients_get_a_page_never_a_redirect() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let registered = "https://chatgpt.com/connector/oauth/abc123";
    let chatgpt = register(&app, json!({"redirect_uris": [registered]})).await;
    let chatgpt_id = chatgpt["client_id"].as_str().unwrap();
    for bad in [
        "https://chatgpt.com/connector/oauth/abc123/",
        "https://chatgpt.com/connector/oauth/ABC123",
        "https://CHATGPT.com/connector/oauth/abc123",
        "https://chatgpt.com/connector/oauth/abc123?x=1",
        "https://chatgpt.com/connector%2Foauth/abc123",
        "https://chatgpt.com/connector/oauth/abc123#frag",
        "https://chatgpt.com/connector/oauth/abc12",
        "https://evil.example/cb",
    ] {
        let url = AuthRequest::new(chatgpt_id, &s.challenge)
            .set("redirect_uri", bad)
            .url(&app);
        let response = app.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        assert!(response.headers().get("location").is_none(), "{bad}");
        let html = response.text().await.unwrap();
        assert!(html.contains("redirect URI"), "{html}");
    }
    for client_id in ["no-such-client", "", "'; DROP TABLE clients; --"] {
        let url = AuthRequest::new(client_id, &s.challenge).url(&app);
        let response = app.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{client_id}");
        assert!(response.headers().get("location").is_none());
    }
    // A loopback redirect URI may use any port (RFC 8252 §7.3).
    let url = AuthRequest::new(&s.client_id, &s.challenge)
        .set("redirect_uri", "http://127.0.0.1:41234/cb")
        .url(&app);
    let page = get_page(&app, &url).await;
    assert_eq!(page.status, 200, "{}", page.html);
}

#[tokio::test]
async fn other_request_errors_redirect_with_the_rfc_code() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    let limited = register(&app, json!({"scope": "files:read"})).await;
    let id = limited["client_id"].as_str().unwrap();
    let (_, challenge) = pkce();
    let base = || AuthRequest::new(id, &challenge);
    for (request, expected) in [
        (
            base().set("response_type", "token"),
            "unsupported_response_type",
        ),
        (base().without("response_type"), "invalid_request"),
        (base().set("scope", "files:read admin"), "invalid_scope"),
        (base().set("scope", "files:write"), "invalid_scope"),
        (
            base().set("resource", "https://other.example/mcp"),
            "invalid_target",
        ),
        (base().set("prompt", "none"), "login_required"),
    ] {
        let response = app.client.get(request.url(&app)).send().await.unwrap();
        assert_eq!(response.status(), 302);
        let query = query_of(&location_of(&response));
        assert_eq!(param(&query, "error"), Some(expected));
        assert_eq!(param(&query, "iss"), Some(app.issuer.as_str()));
    }
    // Unknown parameters are ignored; both resource identifiers of this server are accepted.
    for resource in [app.issuer.clone(), format!("{}/mcp", app.issuer)] {
        let page = get_page(
            &app,
            &base()
                .set("resource", &resource)
                .set("foo", "bar")
                .url(&app),
        )
        .await;
        assert_eq!(page.status, 200);
    }
}

#[tokio::test]
async fn absent_scope_means_registered_scope_or_everything() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    let limited = register(&app, json!({"scope": "chat:read"})).await;
    let open = register(&app, json!({})).await;
    let (_, challenge) = pkce();
    for (client, expected) in [
        (&limited, vec!["chat:read"]),
        (
            &open,
            vec![
                "files:read",
                "files:write",
                "chat:read",
                "chat:write",
                "ssh:execute",
            ],
        ),
    ] {
        let request = AuthRequest::new(client["client_id"].as_str().unwrap(), &challenge);
        let mut page = get_page(&app, &request.url(&app)).await;
        if page.html.contains("name=\"password\"") {
            let response = submit(
                &app,
                &page,
                "/login",
                &[("username", "alice"), ("password", PASSWORD)],
            )
            .await;
            page = get_page(&app, &app.url(&location(&response).unwrap())).await;
        }
        let shown: Vec<&str> = [
            "files:read",
            "files:write",
            "chat:read",
            "chat:write",
            "ssh:execute",
        ]
        .into_iter()
        .filter(|s| page.html.contains(&format!("<code>{s}</code>")))
        .collect();
        assert_eq!(shown, expected);
    }
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let request = AuthRequest::new(&s.client_id, &s.challenge);
    let response = login(&app, &request.url(&app), "alice", PASSWORD).await;
    let consent = get_page(&app, &app.url(&location(&response).unwrap())).await;
    let response = submit(&app, &consent, "/consent", &[("decision", "deny")]).await;
    assert_eq!(response.status(), 303);
    let query = query_of(&location_of(&response));
    assert_eq!(param(&query, "error"), Some("access_denied"));
    assert_eq!(param(&query, "state"), Some("xyz-state"));
    assert_eq!(param(&query, "code"), None);
}

#[tokio::test]
async fn consent_without_or_with_a_wrong_csrf_token_is_403() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let request = AuthRequest::new(&s.client_id, &s.challenge);
    let response = login(&app, &request.url(&app), "alice", PASSWORD).await;
    let consent = get_page(&app, &app.url(&location(&response).unwrap())).await;
    let fields: Vec<(String, String)> = hidden_fields(&consent.html)
        .into_iter()
        .filter(|(n, _)| n != "csrf_token")
        .chain([("decision".to_string(), "approve".to_string())])
        .collect();
    let without = app
        .client
        .post(app.url("/consent"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403);
    assert!(without.headers().get("location").is_none());
    let mut wrong = fields.clone();
    wrong.push(("csrf_token".into(), "A".repeat(43)));
    let response = app
        .client
        .post(app.url("/consent"))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // A cross-site form post is refused even with the right token.
    let response = app
        .client
        .post(app.url("/consent"))
        .header("Origin", "https://evil.example")
        .form(
            &[
                hidden_fields(&consent.html),
                vec![("decision".into(), "approve".into())],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // Fetch metadata saying cross-site is refused too, even with Origin: null.
    let response = app
        .client
        .post(app.url("/consent"))
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "cross-site")
        .form(
            &[
                hidden_fields(&consent.html),
                vec![("decision".into(), "approve".into())],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(app.store.list_grants(None).await.unwrap().is_empty());
    let user = app
        .store
        .find_user_by_name(&omnichat::oauth::types::UserName::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    let scope = omnichat::oauth::types::ScopeSet::all();
    let client_id = omnichat::oauth::types::ClientId::parse(&s.client_id).unwrap();
    assert!(
        !app.store
            .has_consent(&user.id, &client_id, &scope)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_browsers_same_origin_post_under_no_referrer_is_accepted() {
    // Under Referrer-Policy: no-referrer, Chromium sends Origin: null with
    // Sec-Fetch-Site: same-origin on our own forms; that must work.
    let app = spawn_app().await;
    let s = setup(&app).await;
    let page = get_page(
        &app,
        &AuthRequest::new(&s.client_id, &s.challenge).url(&app),
    )
    .await;
    let mut fields = hidden_fields(&page.html);
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), PASSWORD.into()));
    let response = app
        .client
        .post(app.url("/login"))
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "same-origin")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let consent = get_page(&app, &app.url(&location(&response).unwrap())).await;
    let response = app
        .client
        .post(app.url("/consent"))
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "same-origin")
        .form(
            &[
                hidden_fields(&consent.html),
                vec![("decision".into(), "approve".into())],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert!(param(&query_of(&location(&response).unwrap()), "code").is_some());
}

#[tokio::test]
async fn login_without_the_csrf_cookie_is_403() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let page = get_page(
        &app,
        &AuthRequest::new(&s.client_id, &s.challenge).url(&app),
    )
    .await;
    // A fresh client without the page's cookie, posting the same form.
    let stranger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut fields = hidden_fields(&page.html);
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), PASSWORD.into()));
    let response = stranger
        .post(app.url("/login"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn wrong_password_unknown_user_and_disabled_user_get_the_same_generic_answer() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let user = add_user(&app, "bob").await;
    app.store
        .set_user_disabled(&user.name, true, 0)
        .await
        .unwrap();
    let url = AuthRequest::new(&s.client_id, &s.challenge).url(&app);
    for (name, password) in [
        ("alice", "wrong password!"),
        ("nobody", PASSWORD),
        ("bob", PASSWORD),
    ] {
        let response = login(&app, &url, name, password).await;
        assert_eq!(response.status(), 401, "{name}");
        let cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert!(
            cookies.iter().all(|c| !c.contains("session")),
            "{cookies:?}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("Wrong user name or password."), "{name}");
        assert!(!html.contains("disabled") && !html.contains("does not exist"));
    }
    // Still no session: /authorize shows the login page again.
    let page = get_page(&app, &url).await;
    assert!(page.html.contains("name=\"password\""));
}

#[tokio::test]
async fn failed_logins_slow_down_then_get_429() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let url = AuthRequest::new(&s.client_id, &s.challenge).url(&app);
    let mut statuses = Vec::new();
    let mut slowest = std::time::Duration::ZERO;
    for _ in 0..11 {
        let started = std::time::Instant::now();
        let response = login(&app, &url, "alice", "wrong password!").await;
        slowest = slowest.max(started.elapsed());
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().get("retry-after").is_some());
        }
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(statuses[10], 429);
    assert!(
        slowest >= std::time::Duration::from_millis(1000),
        "no slow-down: {slowest:?}"
    );
    // The right password is refused too while the account is locked.
    assert_eq!(login(&app, &url, "alice", PASSWORD).await.status(), 429);
}

#[tokio::test]
async fn consent_is_remembered_per_scope_set_unless_prompt_consent() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let request = AuthRequest::new(&s.client_id, &s.challenge).set("scope", "files:read");
    authorize_and_approve(&app, &request, "alice").await;
    // Same scope set: straight back to the client.
    let response = app.client.get(request.url(&app)).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert!(param(&query_of(&location_of(&response)), "code").is_some());
    // prompt=consent asks again; another scope set asks again.
    for request in [
        AuthRequest::new(&s.client_id, &s.challenge)
            .set("scope", "files:read")
            .set("prompt", "consent"),
        AuthRequest::new(&s.client_id, &s.challenge).set("scope", "files:read files:write"),
    ] {
        let page = get_page(&app, &request.url(&app)).await;
        assert_eq!(page.status, 200);
        assert!(page.html.contains("value=\"approve\""));
    }
    // prompt=none with a remembered consent answers at once; without one it fails.
    let none = AuthRequest::new(&s.client_id, &s.challenge)
        .set("scope", "files:read")
        .set("prompt", "none");
    let response = app.client.get(none.url(&app)).send().await.unwrap();
    assert!(param(&query_of(&location_of(&response)), "code").is_some());
    let none = AuthRequest::new(&s.client_id, &s.challenge)
        .set("scope", "chat:read")
        .set("prompt", "none");
    let response = app.client.get(none.url(&app)).send().await.unwrap();
    assert_eq!(
        param(&query_of(&location_of(&response)), "error"),
        Some("consent_required")
    );
}

#[tokio::test]
async fn pages_carry_security_headers_and_escape_the_client_name() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    let client = register(&app, json!({"client_name": "<script>alert(1)</script>"})).await;
    let (_, challenge) = pkce();
    let request = AuthRequest::new(client["client_id"].as_str().unwrap(), &challenge);
    let login_page = get_page(&app, &request.url(&app)).await;
    let response = login(&app, &request.url(&app), "alice", PASSWORD).await;
    let consent = get_page(&app, &app.url(&location(&response).unwrap())).await;
    let error_page = get_page(&app, &AuthRequest::new("unknown", &challenge).url(&app)).await;
    for page in [&login_page, &consent, &error_page] {
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
        assert_eq!(page.headers["cache-control"], "no-store");
        assert!(!page.html.contains("<script>"), "{}", page.html);
        assert!(
            !page.html.contains("https://"),
            "third-party resource in {}",
            page.html
        );
    }
    // The redirect URI's origin may be the target of the form's redirects (Chromium checks
    // form-action on redirects).
    let csp = consent.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:5555"),
        "{csp}"
    );
    assert!(
        consent
            .html
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
    );
    assert!(
        login_page
            .html
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
    );
    // No CORS on the authorization endpoint.
    assert!(
        login_page
            .headers
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn https_public_url_gives_host_prefixed_secure_cookies() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.public_url =
            Some(omnichat::config::PublicUrl::parse("https://omni.example.com").unwrap());
    })
    .await;
    let s = setup(&app).await;
    let page = app
        .client
        .get(AuthRequest::new(&s.client_id, &s.challenge).url(&app))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-omnichat_csrf="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
}

#[tokio::test]
async fn authorize_accepts_post_with_the_same_parameters() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let request = AuthRequest::new(&s.client_id, &s.challenge);
    let response = app
        .client
        .post(app.url("/authorize"))
        .form(&request.params)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("name=\"password\""));
    let bad = request.set("response_type", "token");
    let response = app
        .client
        .post(app.url("/authorize"))
        .form(&bad.params)
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&query_of(&location_of(&response)), "error"),
        Some("unsupported_response_type")
    );
}
