use serde_json::{Value, json};

use crate::helpers::{omnichat_cli, spawn_app, spawn_in};

async fn kids(app: &crate::helpers::TestApp) -> Vec<String> {
    let (_, jwks) = app.get_json("/jwks.json").await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_restart_keeps_users_clients_and_keys() {
    let app = spawn_app().await;
    let dir = app.data_dir.clone();
    let kid_before = kids(&app).await;
    let out = omnichat_cli(
        &dir,
        &["users", "add", "alice", "--password-stdin"],
        Some("correct horse battery\n"),
    )
    .await;
    assert!(out.success, "{out:?}");
    let registered: Value = app
        .register(json!({"redirect_uris": ["http://127.0.0.1:5555/cb"], "token_endpoint_auth_method": "none"}))
        .await
        .json()
        .await
        .unwrap();
    let temp = app.stop().await;

    let app = spawn_in(&dir, |_| {}).await;
    assert_eq!(kids(&app).await, kid_before);
    let clients = app.store.list_clients().await.unwrap();
    assert_eq!(clients.len(), 1);
    assert_eq!(
        json!(clients[0].client_id.as_str()),
        registered["client_id"]
    );
    let users = app.store.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].name.as_str(), "alice");
    drop(temp);
}

#[tokio::test]
async fn keys_rotate_publishes_both_keys_then_prunes_the_old_one() {
    let app = spawn_app().await;
    let first = kids(&app).await;
    assert_eq!(first.len(), 1);

    let out = omnichat_cli(
        &app.data_dir,
        &["keys", "rotate", "--key-retention", "7200"],
        None,
    )
    .await;
    assert!(out.success, "{out:?}");
    assert!(out.stdout.contains("is now active"), "{}", out.stdout);
    // The running server publishes the new key at once, and keeps the old one.
    let both = kids(&app).await;
    assert_eq!(both.len(), 2);
    assert!(both.contains(&first[0]));

    let listing = omnichat_cli(&app.data_dir, &["keys", "list"], None).await;
    assert!(listing.success);
    assert_eq!(
        listing.stdout.matches("active").count(),
        1,
        "{}",
        listing.stdout
    );
    assert!(
        listing.stdout.contains("verify-only until"),
        "{}",
        listing.stdout
    );

    // Past the retention window the retired key leaves the JWKS.
    app.clock.advance(7201);
    let after = kids(&app).await;
    assert_eq!(after.len(), 1);
    assert!(!after.contains(&first[0]));
}

#[tokio::test]
async fn default_retention_is_token_lifetime_plus_an_hour() {
    let app = spawn_app().await;
    let out = omnichat_cli(&app.data_dir, &["keys", "rotate"], None).await;
    assert!(out.success, "{out:?}");
    let keys = app.store.list_signing_keys().await.unwrap();
    let retired = keys.iter().find(|k| k.retired_at.is_some()).unwrap();
    assert_eq!(
        retired.verify_until.unwrap() - retired.retired_at.unwrap(),
        3600 + 3600
    );
}

#[tokio::test]
async fn master_key_encrypts_private_keys_at_rest() {
    let master = "ab".repeat(32);
    let dir = tempfile::TempDir::new().unwrap();
    let app = spawn_in(dir.path(), |s| {
        s.master_key = Some(omnichat::crypto::MasterKey::parse(&master).unwrap());
    })
    .await;
    let keys = app.store.list_signing_keys().await.unwrap();
    assert_eq!(
        keys[0].protection,
        omnichat::store::KeyProtection::MasterKey
    );
    // A PKCS#8 EC key starts with the DER SEQUENCE tag; a sealed one with our version byte.
    assert_eq!(keys[0].private_key[0], 1);
    app.stop().await;

    // Without the master key, or with another one, the server refuses to start.
    let mut settings = crate::helpers::test_settings(dir.path());
    let missing = omnichat::app::Application::build(settings.clone()).await;
    let message = format!("{:#}", missing.err().unwrap());
    assert!(message.contains("master key"), "{message}");
    settings.master_key = Some(omnichat::crypto::MasterKey::parse(&"cd".repeat(32)).unwrap());
    let wrong = omnichat::app::Application::build(settings.clone()).await;
    let message = format!("{:#}", wrong.err().unwrap());
    assert!(message.contains("master key is wrong"), "{message}");
    settings.master_key = Some(omnichat::crypto::MasterKey::parse(&master).unwrap());
    assert!(omnichat::app::Application::build(settings).await.is_ok());
}
