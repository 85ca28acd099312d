//! The SSH tools through MCP against a real OpenSSH sshd, with hosts added by the real CLI,
//! and the docs CLI feeding public_search.

use serde_json::{Value, json};

use crate::flow::{add_user, token_for};
use crate::helpers::{omnichat_cli, spawn_app};
use crate::mcp_client::Mcp;
use crate::ssh_support::{KeyKind, Sshd, current_user, keygen};

fn err(result: &Value) -> String {
    assert_eq!(
        result["isError"],
        json!(true),
        "expected an error: {result}"
    );
    result["content"][0]["text"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn ssh_execute_through_mcp_with_allow_lists_pinning_and_audit() {
    let app = spawn_app().await;
    let alice = add_user(&app, "alice").await;
    add_user(&app, "bob").await;
    let sshd = Sshd::start();
    let key_file = sshd.path("client_key");
    std::fs::write(&key_file, &sshd.client_key.private).unwrap();
    let other = keygen(sshd.dir(), "other_host_key", KeyKind::Ed25519, "");
    let address = format!("127.0.0.1:{}", sshd.port);
    let user = current_user();
    let key = key_file.to_str().unwrap();
    let add = |name: &'static str, host_key: String, allow: Option<&'static str>| {
        let (address, user, dir) = (address.clone(), user.clone(), app.data_dir.clone());
        async move {
            let mut args = vec![
                "ssh-hosts",
                "add",
                name,
                "--address",
                &address,
                "--user",
                &user,
                "--key-file",
                key,
                "--host-key",
                &host_key,
            ];
            if let Some(allow) = allow {
                args.extend(["--allow", allow]);
            }
            omnichat_cli(&dir, &args, None).await
        }
    };
    let pinned = sshd.host_keys[0].public.clone();
    assert!(add("box", pinned.clone(), Some("alice")).await.success);
    assert!(add("bobs-box", pinned.clone(), Some("bob")).await.success);
    assert!(add("spoofed", other.public.clone(), None).await.success);
    let duplicate = add("box", pinned.clone(), None).await;
    assert!(
        !duplicate.success && duplicate.stderr.contains("already exists"),
        "{duplicate:?}"
    );
    let bad = add("bad", "ssh-ed25519 not-base64!".into(), None).await;
    assert!(!bad.success, "{bad:?}");
    let listing = omnichat_cli(&app.data_dir, &["ssh-hosts", "list"], None).await;
    assert!(
        listing.stdout.contains("box") && listing.stdout.contains("SHA256:"),
        "{listing:?}"
    );
    // The private key is kept in the database, so the file is no longer needed.
    std::fs::remove_file(&key_file).unwrap();

    let token = token_for(&app, "alice", "ssh:execute").await;
    let mut mcp = Mcp::new(&app).with_token(&token);
    mcp.initialize().await;
    let hosts = mcp.tool("ssh_hosts", json!({})).await;
    let names: Vec<&str> = hosts["structuredContent"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["box", "spoofed"],
        "bob's host is not listed for alice"
    );

    let result = mcp
        .tool(
            "ssh_execute",
            json!({"host": "box", "command": "echo hello; echo oops >&2; exit 3"}),
        )
        .await;
    let out = &result["structuredContent"];
    assert_eq!(out["exit_status"], 3, "{result}");
    assert_eq!(out["stdout"], "hello\n");
    assert_eq!(out["stderr"], "oops\n");
    assert_eq!(out["timed_out"], false);
    assert_eq!(out["stdout_truncated"], false);
    assert!(out["duration_ms"].is_u64());

    // Not allowed answers exactly like unknown.
    let not_allowed = err(&mcp
        .tool(
            "ssh_execute",
            json!({"host": "bobs-box", "command": "true"}),
        )
        .await);
    let unknown = err(&mcp
        .tool(
            "ssh_execute",
            json!({"host": "no-such-host", "command": "true"}),
        )
        .await);
    assert_eq!(not_allowed, unknown);
    // A host key other than the pinned one: refused before anything runs.
    let marker = sshd.path("must-not-exist");
    let spoofed = err(&mcp
        .tool(
            "ssh_execute",
            json!({"host": "spoofed", "command": format!("touch {}", marker.display())}),
        )
        .await);
    assert!(spoofed.contains("host key"), "{spoofed}");
    assert!(!marker.exists());
    // Bad arguments.
    assert!(
        err(&mcp
            .tool(
                "ssh_execute",
                json!({"host": "box", "command": "true", "timeout_seconds": 301})
            )
            .await)
        .contains("timeout_seconds")
    );
    assert!(
        err(&mcp
            .tool("ssh_execute", json!({"host": "box", "command": ""}))
            .await)
        .contains("command")
    );

    // Every attempt is audited: user, client, host, command, exit status.
    let records = app.store.list_audit(100).await.unwrap();
    assert_eq!(records.len(), 4, "{records:?}");
    let ran = records.iter().find(|r| r.host == "box").unwrap();
    assert_eq!(ran.user_id, alice.id);
    assert_eq!(ran.exit_status, Some(3));
    assert_eq!(ran.command, "echo hello; echo oops >&2; exit 3");
    assert!(!ran.client_id.is_empty());
    assert!(
        records
            .iter()
            .any(|r| r.host == "spoofed" && r.outcome.contains("host key"))
    );
    let audit = omnichat_cli(&app.data_dir, &["audit", "list"], None).await;
    assert!(
        audit.success && audit.stdout.contains("exit 3") && audit.stdout.contains(&alice.id),
        "{audit:?}"
    );

    // Without ssh:execute: the insufficient_scope challenge, and nothing runs or is audited.
    let files_only = token_for(&app, "alice", "files:read").await;
    let mut limited = Mcp::new(&app).with_token(&files_only);
    limited.initialize().await;
    let result = limited
        .tool("ssh_execute", json!({"host": "box", "command": "true"}))
        .await;
    assert!(
        result["_meta"]["mcp/www_authenticate"][0]
            .as_str()
            .unwrap()
            .contains("scope=\"files:read ssh:execute\""),
        "{result}"
    );
    assert_eq!(app.store.list_audit(100).await.unwrap().len(), 4);
}

#[tokio::test]
async fn docs_cli_feeds_public_search() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().unwrap();
    let doc = dir.path().join("wombats.md");
    std::fs::write(
        &doc,
        "# Wombat facts\nWombats produce cube-shaped droppings.\n",
    )
    .unwrap();
    let added = omnichat_cli(&app.data_dir, &["docs", "add", doc.to_str().unwrap()], None).await;
    assert!(added.success, "{added:?}");
    let mut mcp = Mcp::new(&app);
    mcp.initialize().await;
    let found = mcp
        .tool("public_search", json!({"query": "wombat droppings"}))
        .await;
    assert_eq!(
        found["structuredContent"]["results"][0]["title"], "Wombat facts",
        "{found}"
    );
    let id = found["structuredContent"]["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let listing = omnichat_cli(&app.data_dir, &["docs", "list"], None).await;
    assert!(
        listing.stdout.contains(&id) && listing.stdout.contains("omnichat: "),
        "seeded docs listed too: {listing:?}"
    );

    // A binary file is refused and nothing is added.
    let binary = dir.path().join("blob.bin");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    let before = app.store.list_documents().await.unwrap().len();
    let refused = omnichat_cli(
        &app.data_dir,
        &[
            "docs",
            "add",
            doc.to_str().unwrap(),
            binary.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert!(
        !refused.success && refused.stderr.contains("not UTF-8"),
        "{refused:?}"
    );
    assert_eq!(app.store.list_documents().await.unwrap().len(), before);

    let removed = omnichat_cli(&app.data_dir, &["docs", "remove", &id], None).await;
    assert!(removed.success, "{removed:?}");
    let gone = mcp
        .tool("public_search", json!({"query": "wombat droppings"}))
        .await;
    // "droppings" still stems like "dropped" in the seeded README, but the wombat is gone.
    let ids: Vec<&str> = gone["structuredContent"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&id.as_str()), "{gone}");
    let again = omnichat_cli(&app.data_dir, &["docs", "remove", &id], None).await;
    assert!(!again.success && again.stderr.contains("no document"));
}
