//! The MCP endpoint: protocol, sessions, input errors, and the auth behaviour clients rely on.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::flow::{setup, tokens};
use crate::helpers::{TestApp, spawn_app};
use crate::mcp_client::Mcp;

async fn access_token(app: &TestApp) -> String {
    let s = setup(app).await;
    tokens(app, &s).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn initialize_answers_with_the_clients_supported_version() {
    let app = spawn_app().await;
    for version in ["2025-06-18", "2025-11-25"] {
        let mut mcp = Mcp::new(&app);
        mcp.version = version.into();
        let result = mcp.initialize().await;
        assert_eq!(result["protocolVersion"], version);
        assert_eq!(result["serverInfo"]["name"], "omnichat");
        assert!(result["capabilities"]["tools"].is_object());
    }
}

#[tokio::test]
async fn tools_list_works_without_a_token_and_carries_security_schemes() {
    let app = spawn_app().await;
    let mut mcp = Mcp::new(&app);
    mcp.initialize().await;
    let message = mcp.call("tools/list", json!({})).await;
    let tools = message["result"]["tools"].as_array().unwrap();
    assert!(!tools.is_empty());
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        let schemes = &tool["securitySchemes"];
        assert!(
            schemes.is_array() && !schemes.as_array().unwrap().is_empty(),
            "{name}"
        );
        assert_eq!(
            &tool["_meta"]["securitySchemes"], schemes,
            "{name}: mirrored in _meta"
        );
        for scheme in schemes.as_array().unwrap() {
            match scheme["type"].as_str().unwrap() {
                "noauth" => {}
                "oauth2" => assert!(scheme["scopes"].is_array(), "{name}"),
                other => panic!("{name}: unknown scheme {other}"),
            }
        }
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        for hint in ["readOnlyHint", "destructiveHint", "openWorldHint"] {
            assert!(tool["annotations"][hint].is_boolean(), "{name}: {hint}");
        }
    }
    let whoami = tools.iter().find(|t| t["name"] == "whoami").unwrap();
    assert_eq!(
        whoami["securitySchemes"],
        json!([{"type": "oauth2", "scopes": []}])
    );
}

#[tokio::test]
async fn sessions_missing_unknown_and_deleted() {
    let app = spawn_app().await;
    let mut mcp = Mcp::new(&app);
    mcp.initialize().await;
    let session = mcp.session.clone().unwrap();

    // No session id on a non-initialize request: 400.
    let mut anonymous = Mcp::new(&app);
    anonymous.version = mcp.version.clone();
    let reply = anonymous.request("tools/list", json!({})).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    // An unknown session: 404.
    let mut unknown = Mcp::new(&app);
    unknown.session = Some("00000000-0000-0000-0000-000000000000".into());
    assert_eq!(unknown.request("tools/list", json!({})).await.status, 404);

    // GET opens the SSE stream of the session.
    let stream = app
        .client
        .get(app.url("/mcp"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", &mcp.version)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    drop(stream);

    // DELETE ends it; afterwards the id is unknown.
    let deleted = app
        .client
        .delete(app.url("/mcp"))
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", &mcp.version)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    assert_eq!(mcp.request("tools/list", json!({})).await.status, 404);
}

#[tokio::test]
async fn input_errors_get_json_rpc_codes_never_500() {
    let app = spawn_app().await;
    let mut mcp = Mcp::new(&app);
    mcp.initialize().await;
    let raw = |body: String| {
        let request = mcp
            .app
            .client
            .post(app.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", mcp.session.clone().unwrap())
            .header("mcp-protocol-version", "2025-11-25")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let code_of = |body: &str| -> i64 {
        crate::mcp_client::messages(body)
            .into_iter()
            .find_map(|m| m["error"]["code"].as_i64())
            .unwrap_or_else(|| panic!("no JSON-RPC error in {body}"))
    };
    let (status, body) = raw("{not json".into()).await;
    assert_eq!((status, code_of(&body)), (400, -32700));
    let (status, body) = raw("[1, 2]".into()).await;
    assert_eq!((status, code_of(&body)), (400, -32600));
    let (_, body) = raw(r#"{"jsonrpc":"2.0","id":9,"method":"no/such/method"}"#.into()).await;
    assert_eq!(code_of(&body), -32601);
    let (_, body) = raw(
        r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"no_such_tool"}}"#.into(),
    )
    .await;
    assert_eq!(code_of(&body), -32602);
    let (_, body) =
        raw(r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"arguments":5}}"#.into())
            .await;
    assert_eq!(code_of(&body), -32602);
    let (status, body) = raw(format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"ping","params":{{"x":"{}"}}}}"#,
        "a".repeat(1024 * 1024)
    ))
    .await;
    assert_eq!(status, 413, "{body}");
    // A notification is accepted with 202.
    let note = mcp
        .send(mcp.post(
            &json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId": 99}}),
        ))
        .await;
    assert_eq!(note.status, 202);
    // ping works.
    assert!(mcp.call("ping", json!({})).await["result"].is_object());
}

#[tokio::test]
async fn protocol_version_origin_and_host_are_checked() {
    let app = spawn_app().await;
    let mut mcp = Mcp::new(&app);
    mcp.initialize().await;
    mcp.version = "1999-01-01".into();
    assert_eq!(mcp.request("tools/list", json!({})).await.status, 400);
    mcp.version = "2025-11-25".into();
    let bad_origin = mcp
        .post(&json!({"jsonrpc":"2.0","id":5,"method":"tools/list"}))
        .header("origin", "https://evil.example");
    assert_eq!(mcp.send(bad_origin).await.status, 403);
    let good_origin = mcp
        .post(&json!({"jsonrpc":"2.0","id":6,"method":"tools/list"}))
        .header("origin", "https://chatgpt.com");
    assert_eq!(mcp.send(good_origin).await.status, 200);
    let bad_host = mcp
        .post(&json!({"jsonrpc":"2.0","id":7,"method":"tools/list"}))
        .header("host", "evil.example");
    let status = mcp.send(bad_host).await.status;
    assert!(status == 403 || status == 421, "{status}");
}

fn challenge_of(result: &Value) -> String {
    assert_eq!(result["isError"], true, "{result}");
    let challenges = result["_meta"]["mcp/www_authenticate"]
        .as_array()
        .expect("the challenge array");
    assert_eq!(challenges.len(), 1, "{result}");
    let challenge = challenges[0].as_str().unwrap().to_string();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(!challenge.contains('\''), "stray quotes: {challenge}");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    challenge
}

#[tokio::test]
async fn protected_tool_without_a_token_returns_the_apps_sdk_challenge() {
    let app = spawn_app().await;
    let mut mcp = Mcp::new(&app);
    mcp.initialize().await;
    let result = mcp.tool("whoami", json!({})).await;
    let challenge = challenge_of(&result);
    assert_eq!(
        challenge,
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", error=\"invalid_token\", error_description=\"Authentication required\"",
            app.issuer
        )
    );
}

#[tokio::test]
async fn valid_token_reaches_the_tool_as_a_caller() {
    let app = spawn_app().await;
    let token = access_token(&app).await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let mut mcp = Mcp::new(&app);
        mcp.initialize().await;
        let request = mcp
            .post(&json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}}))
            .header("authorization", format!("{scheme} {token}"));
        let reply = mcp.send(request).await;
        assert_eq!(reply.status, 200, "{scheme}: {}", reply.body);
        let result = &reply.message.unwrap()["result"];
        assert_ne!(result["isError"], json!(true), "{result}");
        assert_eq!(
            result["structuredContent"]["user_name"], "alice",
            "{scheme}: {result}"
        );
        assert!(
            result["structuredContent"]["scopes"]
                .as_array()
                .unwrap()
                .len()
                == 5
        );
    }
}

#[tokio::test]
async fn token_in_the_query_string_is_ignored() {
    let app = spawn_app().await;
    let token = access_token(&app).await;
    let mut mcp = Mcp::new(&app);
    mcp.initialize().await;
    let request = app
        .client
        .post(format!("{}?access_token={token}", app.url("/mcp")))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", mcp.session.clone().unwrap())
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}}));
    let reply = mcp.send(request).await;
    assert_eq!(reply.status, 200);
    challenge_of(&reply.message.unwrap()["result"]);
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

async fn sign(app: &TestApp, header_changes: Value, claims: Value) -> String {
    let keys = app.store.list_signing_keys().await.unwrap();
    let active = keys.iter().find(|k| k.retired_at.is_none()).unwrap();
    sign_with(active, header_changes, claims).await
}

async fn sign_with(
    active: &omnichat::store::StoredSigningKey,
    header_changes: Value,
    claims: Value,
) -> String {
    let pkcs8 = omnichat::oauth::keys::private_pkcs8(active, None).unwrap();
    let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.expose(),
    )
    .unwrap();
    let mut header = json!({"alg": "ES256", "typ": "at+jwt", "kid": active.kid});
    for (k, v) in header_changes.as_object().unwrap() {
        if v.is_null() {
            header.as_object_mut().unwrap().remove(k);
        } else {
            header[k] = v.clone();
        }
    }
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let signature = pair.sign(&rng, input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

async fn expect_401(app: &TestApp, token: &str, what: &str) {
    let mut mcp = Mcp::new(app);
    mcp.initialize().await;
    let reply = mcp
        .send(mcp.post(&json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}})).header("authorization", format!("Bearer {token}")))
        .await;
    assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    let header = reply.headers["www-authenticate"].to_str().unwrap();
    assert!(
        header.starts_with(&format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", error=\"invalid_token\", error_description=\"",
            app.issuer
        )),
        "{what}: {header}"
    );
}

#[tokio::test]
async fn jwt_attack_matrix_is_refused_with_401_invalid_token() {
    let app = spawn_app().await;
    let good = access_token(&app).await;
    let parts: Vec<&str> = good.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let now = app.clock.now();
    let with = |changes: Value| {
        let mut c = claims.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    // A control: the signing helper makes tokens the server accepts.
    let control = sign(&app, json!({}), with(json!({"jti": "control"}))).await;
    let mut mcp = Mcp::new(&app).with_token(&control);
    mcp.initialize().await;
    assert_eq!(
        mcp.tool("whoami", json!({})).await["structuredContent"]["user_name"],
        "alice"
    );

    let mut cases: Vec<(String, String)> = Vec::new();
    for alg in ["none", "None", "NONE"] {
        let mut h = header.clone();
        h["alg"] = json!(alg);
        cases.push((format!("alg {alg}"), format!("{}.{}.", b64(&h), parts[1])));
    }
    // HS256 keyed with our public key.
    let (_, jwks) = app.get_json("/jwks.json").await;
    let mut h = header.clone();
    h["alg"] = json!("HS256");
    let input = format!("{}.{}", b64(&h), parts[1]);
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        &serde_json::to_vec(&jwks["keys"][0]).unwrap(),
    );
    cases.push((
        "HS256 with the public key".into(),
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&key, input.as_bytes()).as_ref())
        ),
    ));
    for alg in ["RS256", "ES384"] {
        cases.push((
            format!("{alg} with our kid"),
            sign(&app, json!({"alg": alg}), claims.clone()).await,
        ));
    }
    cases.push((
        "unknown kid".into(),
        sign(&app, json!({"kid": "no-such-key"}), claims.clone()).await,
    ));
    cases.push((
        "kid with ../".into(),
        sign(&app, json!({"kid": "../../etc/passwd"}), claims.clone()).await,
    ));
    cases.push((
        "kid with SQL".into(),
        sign(&app, json!({"kid": "' OR '1'='1"}), claims.clone()).await,
    ));
    // jku / jwk pointing at an attacker's key: the token is signed with that other key.
    let attacker = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    use aws_lc_rs::signature::KeyPair;
    let point = attacker.public_key().as_ref().to_vec();
    let attacker_jwk = json!({"kty":"EC","crv":"P-256","x": URL_SAFE_NO_PAD.encode(&point[1..33]),"y": URL_SAFE_NO_PAD.encode(&point[33..65])});
    for (name, extra) in [
        (
            "jku",
            json!({"alg":"ES256","typ":"at+jwt","kid":"attacker","jku":"http://127.0.0.1:1/jwks.json"}),
        ),
        (
            "embedded jwk",
            json!({"alg":"ES256","typ":"at+jwt","jwk": attacker_jwk}),
        ),
        (
            "x5u",
            json!({"alg":"ES256","typ":"at+jwt","x5u":"http://127.0.0.1:1/cert.pem"}),
        ),
    ] {
        let input = format!("{}.{}", b64(&extra), parts[1]);
        let sig = attacker
            .sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
            .unwrap();
        cases.push((
            name.into(),
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())),
        ));
    }
    cases.push((
        "typ JWT".into(),
        sign(&app, json!({"typ": "JWT"}), claims.clone()).await,
    ));
    cases.push((
        "no typ".into(),
        sign(&app, json!({"typ": null}), claims.clone()).await,
    ));
    cases.push((
        "wrong iss".into(),
        sign(
            &app,
            json!({}),
            with(json!({"iss": "https://evil.example"})),
        )
        .await,
    ));
    cases.push((
        "wrong aud".into(),
        sign(
            &app,
            json!({}),
            with(json!({"aud": "https://other.example/mcp"})),
        )
        .await,
    ));
    cases.push((
        "expired".into(),
        sign(
            &app,
            json!({}),
            with(json!({"iat": now - 7200, "exp": now - 3600})),
        )
        .await,
    ));
    cases.push((
        "nbf 5 minutes ahead".into(),
        sign(&app, json!({}), with(json!({"nbf": now + 300}))).await,
    ));
    cases.push((
        "iat far in the future".into(),
        sign(
            &app,
            json!({}),
            with(json!({"iat": now + 86_400, "exp": now + 90_000})),
        )
        .await,
    ));
    for claim in ["exp", "sub", "client_id"] {
        cases.push((
            format!("missing {claim}"),
            sign(&app, json!({}), with(json!({claim: null}))).await,
        ));
    }
    let mut flipped = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    flipped[10] ^= 0x01;
    cases.push((
        "signature bit flipped".into(),
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(&flipped)
        ),
    ));
    cases.push((
        "JWE".into(),
        "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d".into(),
    ));
    cases.push((
        "20 KiB token".into(),
        format!("{}.{}.{}", parts[0], "A".repeat(20 * 1024), parts[2]),
    ));
    cases.push(("garbage".into(), "not-a-jwt".into()));
    for (what, token) in &cases {
        expect_401(&app, token, what).await;
    }
}

#[tokio::test]
async fn rotated_out_key_still_verifies_and_deleted_key_does_not() {
    let app = spawn_app().await;
    let token = access_token(&app).await;
    // Rotate: the old key stays published, so its token works.
    omnichat::oauth::keys::rotate(&*app.store, None, app.clock.now(), 7200)
        .await
        .unwrap();
    let mut mcp = Mcp::new(&app).with_token(&token);
    mcp.initialize().await;
    assert_eq!(
        mcp.tool("whoami", json!({})).await["structuredContent"]["user_name"],
        "alice"
    );
    // A token signed by a key that no longer exists (pruned past retention): refused.
    let keys = app.store.list_signing_keys().await.unwrap();
    let doomed = keys
        .iter()
        .find(|k| k.retired_at.is_none())
        .unwrap()
        .clone();
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let now = app.clock.now();
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 3600);
    claims["jti"] = json!("signed-by-doomed-key");
    let crafted = sign_with(&doomed, json!({}), claims).await;
    omnichat::oauth::keys::rotate(&*app.store, None, now, 60)
        .await
        .unwrap();
    app.clock.advance(61);
    app.store.prune_signing_keys(app.clock.now()).await.unwrap();
    assert!(
        app.store
            .list_signing_keys()
            .await
            .unwrap()
            .iter()
            .all(|k| k.kid != doomed.kid)
    );
    expect_401(&app, &crafted, "deleted key").await;
}

#[tokio::test]
async fn a_revoked_grant_stops_working_within_the_documented_bound() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let t = tokens(&app, &s).await;
    let token = t["access_token"].as_str().unwrap();
    let mut mcp = Mcp::new(&app).with_token(token);
    mcp.initialize().await;
    assert_eq!(
        mcp.tool("whoami", json!({})).await["structuredContent"]["user_name"],
        "alice"
    );
    // Revoke through the refresh token; within the bound the cache may still answer…
    let response = app
        .client
        .post(app.url("/revoke"))
        .form(&[
            ("client_id", s.client_id.as_str()),
            ("token", t["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // …and once the bound has passed, the token is refused.
    app.clock
        .advance(omnichat::resource::bearer::REVOCATION_RECHECK_SECS);
    let reply = mcp
        .request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("revoked")
    );
}

#[tokio::test]
async fn cors_preflight_for_mcp_succeeds_without_a_token() {
    let app = spawn_app().await;
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/mcp"))
        .header("origin", "https://chatgpt.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, mcp-session-id, mcp-protocol-version, last-event-id",
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://chatgpt.com"
    );
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "authorization",
        "content-type",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
    ] {
        assert!(allowed.contains(h), "{h} in {allowed}");
    }
    // And an actual response exposes the headers clients need.
    let mcp = Mcp::new(&app);
    let reply = mcp
        .send(mcp.post(&json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})).header("origin", "https://chatgpt.com"))
        .await;
    let exposed = reply.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("www-authenticate") && exposed.contains("mcp-session-id"),
        "{exposed}"
    );
}
