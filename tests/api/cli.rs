use crate::helpers::{omnichat_cli, spawn_app};

#[tokio::test]
async fn users_add_list_disable_enable_passwd() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    let out = omnichat_cli(
        d,
        &["users", "add", "Alice", "--password-stdin"],
        Some("correct horse battery\n"),
    )
    .await;
    assert!(out.success, "{out:?}");
    assert!(out.stdout.contains("user alice added"));

    let list = omnichat_cli(d, &["users", "list"], None).await;
    assert!(list.success);
    assert!(list.stdout.contains("alice\tactive"), "{}", list.stdout);

    let out = omnichat_cli(d, &["users", "disable", "alice"], None).await;
    assert!(out.success, "{out:?}");
    let list = omnichat_cli(d, &["users", "list"], None).await;
    assert!(list.stdout.contains("alice\tdisabled"), "{}", list.stdout);
    let out = omnichat_cli(d, &["users", "enable", "ALICE"], None).await;
    assert!(out.success, "{out:?}");
    let list = omnichat_cli(d, &["users", "list"], None).await;
    assert!(list.stdout.contains("alice\tactive"), "{}", list.stdout);

    // passwd replaces the hash; the new password verifies and the old one does not.
    let settings = crate::helpers::test_settings(d);
    let store = omnichat::store::open(&settings).await.unwrap();
    let name = omnichat::oauth::types::UserName::parse("alice").unwrap();
    let before = store
        .find_user_by_name(&name)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    let out = omnichat_cli(
        d,
        &["users", "passwd", "alice", "--password-stdin"],
        Some("a new long password\r\n"),
    )
    .await;
    assert!(out.success, "{out:?}");
    let after = store
        .find_user_by_name(&name)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_ne!(before, after);
    assert!(after.starts_with("$argon2id$"));
    let secret = |s: &str| omnichat::crypto::Secret::new(s.to_string());
    assert!(omnichat::password::verify_password(
        &secret("a new long password"),
        &after
    ));
    assert!(!omnichat::password::verify_password(
        &secret("correct horse battery"),
        &after
    ));
}

fn one_line_error(out: &crate::helpers::CliOutput) -> &str {
    assert!(!out.success, "expected failure: {out:?}");
    let line = out.stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "not one line: {line:?}");
    assert!(line.starts_with("error: "), "{line}");
    line
}

#[tokio::test]
async fn user_errors_are_one_readable_line() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    let add = |name: &'static str, pw: &'static str| async move {
        omnichat_cli(d, &["users", "add", name, "--password-stdin"], Some(pw)).await
    };
    assert!(add("bob", "long enough pw\n").await.success);

    let dup = add("bob", "another password\n").await;
    assert!(one_line_error(&dup).contains("already exists"));
    let dup_case = add("BOB", "another password\n").await;
    assert!(one_line_error(&dup_case).contains("already exists"));

    let bad = add("bob smith", "long enough pw\n").await;
    assert!(one_line_error(&bad).contains("invalid user name"));
    let bad = add("../etc", "long enough pw\n").await;
    assert!(one_line_error(&bad).contains("invalid user name"));

    let empty = add("carol", "").await;
    assert!(one_line_error(&empty).contains("password is empty"));
    let empty_line = add("carol", "\n").await;
    assert!(one_line_error(&empty_line).contains("password is empty"));
    let short = add("carol", "short\n").await;
    assert!(one_line_error(&short).contains("at least"));

    let no_flag = omnichat_cli(d, &["users", "add", "carol"], Some("long enough pw\n")).await;
    assert!(one_line_error(&no_flag).contains("--password-stdin"));

    let missing = omnichat_cli(d, &["users", "disable", "nobody"], None).await;
    assert!(one_line_error(&missing).contains("no user named"));
    let missing = omnichat_cli(
        d,
        &["users", "passwd", "nobody", "--password-stdin"],
        Some("long enough pw\n"),
    )
    .await;
    assert!(one_line_error(&missing).contains("no user named"));

    // Nothing but bob was stored.
    let list = omnichat_cli(d, &["users", "list"], None).await;
    assert_eq!(list.stdout.lines().count(), 1, "{}", list.stdout);
}

#[tokio::test]
async fn clients_list_show_remove() {
    let app = spawn_app().await;
    let body: serde_json::Value = app
        .register(serde_json::json!({
            "redirect_uris": ["http://127.0.0.1:5555/cb"],
            "client_name": "Test\tClient"
        }))
        .await
        .json()
        .await
        .unwrap();
    let id = body["client_id"].as_str().unwrap();
    let secret = body["client_secret"].as_str().unwrap();

    let list = omnichat_cli(&app.data_dir, &["clients", "list"], None).await;
    assert!(list.success && list.stdout.contains(id), "{list:?}");
    let show = omnichat_cli(&app.data_dir, &["clients", "show", id], None).await;
    assert!(show.success, "{show:?}");
    let shown: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(shown["client_id"], id);
    assert_eq!(shown["client_name"], "Test\tClient");
    assert!(!show.stdout.contains(secret));

    let remove = omnichat_cli(&app.data_dir, &["clients", "remove", id], None).await;
    assert!(remove.success, "{remove:?}");
    assert!(app.store.list_clients().await.unwrap().is_empty());
    let again = omnichat_cli(&app.data_dir, &["clients", "remove", id], None).await;
    assert!(one_line_error(&again).contains("no client"));
    let bogus = omnichat_cli(
        &app.data_dir,
        &["clients", "show", "'; DROP TABLE clients; --"],
        None,
    )
    .await;
    assert!(one_line_error(&bogus).contains("no client"));
}

#[tokio::test]
async fn bad_settings_are_one_line_errors() {
    let dir = tempfile::TempDir::new().unwrap();
    let config = dir.path().join("omnichat.toml");
    std::fs::write(&config, "listn = \"127.0.0.1:1\"\n").unwrap();
    let out = omnichat_cli(
        dir.path(),
        &["--config", config.to_str().unwrap(), "users", "list"],
        None,
    )
    .await;
    assert!(one_line_error(&out).contains("unknown field"));
    let out = omnichat_cli(
        dir.path(),
        &["serve", "--public-url", "https://x.example/prefix"],
        None,
    )
    .await;
    assert!(one_line_error(&out).contains("public URL"));
}
