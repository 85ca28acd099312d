//! The OmniChat tools through MCP: search, files, chat, and their scope checks.

use base64::Engine;
use serde_json::{Value, json};

use crate::flow::{add_user, token_for};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::mcp_client::Mcp;

const ALL: &str = "files:read files:write chat:read chat:write ssh:execute";

async fn session<'a>(app: &'a TestApp, token: Option<&str>) -> Mcp<'a> {
    let mut mcp = Mcp::new(app);
    if let Some(token) = token {
        mcp = mcp.with_token(token);
    }
    mcp.initialize().await;
    mcp
}

fn ok(result: &Value) -> &Value {
    assert_ne!(result["isError"], json!(true), "tool failed: {result}");
    assert!(result["content"][0]["text"].is_string(), "{result}");
    &result["structuredContent"]
}

fn err(result: &Value) -> String {
    assert_eq!(
        result["isError"],
        json!(true),
        "expected an error: {result}"
    );
    result["content"][0]["text"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn public_search_finds_the_seeded_docs_without_a_token() {
    let app = spawn_app().await;
    let mut mcp = session(&app, None).await;
    let result = mcp
        .tool("public_search", json!({"query": "refresh tokens rotate"}))
        .await;
    let results = ok(&result)["results"].as_array().unwrap().clone();
    assert!(!results.is_empty());
    for r in &results {
        assert!(
            r["id"].is_string()
                && r["title"].is_string()
                && r["snippet"].is_string()
                && r["score"].is_number()
        );
    }
    assert!(
        results[0]["snippet"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("refresh"),
        "{results:?}"
    );
    // Scores are in descending order.
    let scores: Vec<f64> = results
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[tokio::test]
async fn public_search_ranks_the_best_match_first_and_survives_odd_queries() {
    let app = spawn_app().await;
    let now = app.clock.now();
    for (title, body) in [
        ("Gardening", "Tomatoes need sun. Quokka mentioned once."),
        (
            "Quokka care",
            "Quokka quokka quokka: feeding a quokka, housing a quokka.",
        ),
        ("Cooking", "Soup and bread."),
    ] {
        app.store
            .insert_document(&omnichat::store::Document {
                id: uuid::Uuid::new_v4().to_string(),
                title: title.into(),
                body: body.into(),
                source: "test".into(),
                created_at: now,
            })
            .await
            .unwrap();
    }
    let mut mcp = session(&app, None).await;
    let result = mcp.tool("public_search", json!({"query": "quokka"})).await;
    let results = ok(&result)["results"].as_array().unwrap().clone();
    assert_eq!(results[0]["title"], "Quokka care");
    assert_eq!(results.len(), 2);

    let long = "quokka ".repeat(71)[..497].to_string() + "abc";
    assert_eq!(long.chars().count(), 500);
    for query in [
        "\"",
        "*",
        "AND(",
        "quokka\" OR 1=1 --",
        "NEAR(quokka tomatoes)",
        "😀🦘",
        &long,
        "col:quokka",
        "^quokka",
    ] {
        let result = mcp.tool("public_search", json!({"query": query})).await;
        ok(&result);
    }
    let limited = mcp
        .tool("public_search", json!({"query": "quokka", "limit": 1}))
        .await;
    assert_eq!(ok(&limited)["results"].as_array().unwrap().len(), 1);
    for bad in [
        json!({"query": ""}),
        json!({"query": "x".repeat(501)}),
        json!({"query": "a", "limit": 0}),
        json!({"query": "a", "limit": 51}),
        json!({}),
        json!({"query": 5}),
    ] {
        let result = mcp.tool("public_search", bad.clone()).await;
        assert!(!err(&result).is_empty(), "{bad}");
    }
}

#[tokio::test]
async fn files_round_trip_text_binary_and_nested_folders() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    let token = token_for(&app, "alice", ALL).await;
    let mut mcp = session(&app, Some(&token)).await;
    let written = mcp
        .tool(
            "private_files_write",
            json!({"path": "notes/2026/today.md", "content": "héllo wörld"}),
        )
        .await;
    assert_eq!(ok(&written)["created"], true);
    let read = mcp
        .tool("private_files_read", json!({"path": "notes/2026/today.md"}))
        .await;
    let read = ok(&read);
    assert_eq!(read["content"], "héllo wörld");
    assert_eq!(read["encoding"], "utf-8");
    assert_eq!(read["size"], "héllo wörld".len());

    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&binary);
    ok(&mcp
        .tool(
            "private_files_write",
            json!({"path": "bin/data.bin", "content": b64, "encoding": "base64"}),
        )
        .await);
    let read = mcp
        .tool("private_files_read", json!({"path": "bin/data.bin"}))
        .await;
    let read = ok(&read);
    assert_eq!(read["encoding"], "base64");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(read["content"].as_str().unwrap())
            .unwrap(),
        binary
    );
    // Ranged read.
    let part = mcp
        .tool(
            "private_files_read",
            json!({"path": "bin/data.bin", "offset": 256, "length": 10}),
        )
        .await;
    let part = ok(&part);
    // A range of valid UTF-8 comes back as text; the encoding field says which.
    let bytes = match part["encoding"].as_str().unwrap() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(part["content"].as_str().unwrap())
            .unwrap(),
        _ => part["content"].as_str().unwrap().as_bytes().to_vec(),
    };
    assert_eq!(bytes, binary[256..266].to_vec());
    assert_eq!(part["eof"], false);

    let listing = mcp.tool("private_files_list", json!({"path": ""})).await;
    let names: Vec<(String, String)> = ok(&listing)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("bin".into(), "folder".into()),
            ("notes".into(), "folder".into())
        ]
    );
    let replaced = mcp
        .tool(
            "private_files_write",
            json!({"path": "notes/2026/today.md", "content": "v2"}),
        )
        .await;
    assert_eq!(ok(&replaced)["created"], false);
    assert_eq!(
        ok(&mcp
            .tool("private_files_read", json!({"path": "notes/2026/today.md"}))
            .await)["content"],
        "v2"
    );
    ok(&mcp
        .tool(
            "private_files_delete",
            json!({"path": "notes/2026/today.md"}),
        )
        .await);
    assert!(
        err(&mcp
            .tool("private_files_read", json!({"path": "notes/2026/today.md"}))
            .await)
        .contains("not found")
    );
    // A folder goes only when empty.
    assert!(
        err(&mcp
            .tool("private_files_delete", json!({"path": "notes"}))
            .await)
        .contains("not empty")
    );
    let removed = mcp
        .tool("private_files_delete", json!({"path": "notes/2026"}))
        .await;
    assert_eq!(ok(&removed)["kind"], "folder");
}

#[tokio::test]
async fn bad_paths_are_refused_without_revealing_host_paths() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    let token = token_for(&app, "alice", ALL).await;
    let mut mcp = session(&app, Some(&token)).await;
    let data_dir = app.data_dir.to_string_lossy().to_string();
    for path in [
        "../x",
        "/etc/passwd",
        "a//b",
        "a\\b",
        "a\u{0}b",
        &"s".repeat(300),
        "a/../../b",
        ".",
    ] {
        for tool in [
            "private_files_read",
            "private_files_write",
            "private_files_delete",
        ] {
            let result = mcp.tool(tool, json!({"path": path, "content": "x"})).await;
            let message = err(&result);
            assert!(
                message.starts_with("path refused"),
                "{tool} {path:?}: {message}"
            );
            assert!(!message.contains(&data_dir), "{message}");
        }
    }
    let message = err(&mcp
        .tool("private_files_read", json!({"path": "missing.txt"}))
        .await);
    assert_eq!(message, "not found");
}

fn user_dir(app: &TestApp, user: &omnichat::store::User) -> std::path::PathBuf {
    app.data_dir.join("files").join(&user.id)
}

#[tokio::test]
async fn planted_symlinks_are_never_followed() {
    let app = spawn_app().await;
    let alice = add_user(&app, "alice").await;
    let bob = add_user(&app, "bob").await;
    let token = token_for(&app, "alice", ALL).await;
    let bob_token = token_for(&app, "bob", ALL).await;
    let mut bob_mcp = session(&app, Some(&bob_token)).await;
    ok(&bob_mcp
        .tool(
            "private_files_write",
            json!({"path": "secret.txt", "content": "bob's secret"}),
        )
        .await);
    let mut mcp = session(&app, Some(&token)).await;
    ok(&mcp
        .tool(
            "private_files_write",
            json!({"path": "real.txt", "content": "mine"}),
        )
        .await);
    let dir = user_dir(&app, &alice);
    std::os::unix::fs::symlink("/etc", dir.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd")).unwrap();
    std::os::unix::fs::symlink(user_dir(&app, &bob), dir.join("bob")).unwrap();
    std::os::unix::fs::symlink(
        user_dir(&app, &bob).join("secret.txt"),
        dir.join("bobs.txt"),
    )
    .unwrap();

    for path in ["etc/hostname", "passwd", "bob/secret.txt", "bobs.txt"] {
        let read = mcp.tool("private_files_read", json!({"path": path})).await;
        let message = err(&read);
        assert!(
            !message.contains("root:") && !message.contains("bob's secret"),
            "{message}"
        );
        let write = mcp
            .tool(
                "private_files_write",
                json!({"path": path, "content": "pwned"}),
            )
            .await;
        err(&write);
        let delete = mcp
            .tool("private_files_delete", json!({"path": path}))
            .await;
        err(&delete);
    }
    for path in ["etc", "bob"] {
        err(&mcp.tool("private_files_list", json!({"path": path})).await);
    }
    // Nothing outside alice's space changed, and the links are not listed as files.
    assert_eq!(
        std::fs::read_to_string(user_dir(&app, &bob).join("secret.txt")).unwrap(),
        "bob's secret"
    );
    assert!(
        std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .contains("root:")
    );
    let listing = mcp.tool("private_files_list", json!({})).await;
    let names: Vec<&str> = ok(&listing)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["real.txt"]);

    // A file swapped for a link between two calls.
    ok(&mcp
        .tool("private_files_read", json!({"path": "real.txt"}))
        .await);
    std::fs::remove_file(dir.join("real.txt")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("real.txt")).unwrap();
    let message = err(&mcp
        .tool("private_files_read", json!({"path": "real.txt"}))
        .await);
    assert!(!message.contains("root:"), "{message}");
    err(&mcp
        .tool(
            "private_files_write",
            json!({"path": "real.txt", "content": "x"}),
        )
        .await);
    assert!(
        std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .contains("root:")
    );
}

#[tokio::test]
async fn users_cannot_see_each_others_files() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    add_user(&app, "bob").await;
    let alice = token_for(&app, "alice", ALL).await;
    let bob = token_for(&app, "bob", ALL).await;
    let mut a = session(&app, Some(&alice)).await;
    let mut b = session(&app, Some(&bob)).await;
    ok(&a
        .tool(
            "private_files_write",
            json!({"path": "diary.txt", "content": "alice only"}),
        )
        .await);
    assert_eq!(
        err(&b
            .tool("private_files_read", json!({"path": "diary.txt"}))
            .await),
        "not found"
    );
    let listing = b.tool("private_files_list", json!({})).await;
    assert!(ok(&listing)["entries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn size_cap_and_quota_hold_under_concurrent_writers() {
    let app = spawn_app_with(|s| {
        s.files_max_file_bytes = 1000;
        s.files_quota_bytes = 5000;
    })
    .await;
    add_user(&app, "alice").await;
    let token = token_for(&app, "alice", ALL).await;
    let mut mcp = session(&app, Some(&token)).await;
    let message = err(&mcp
        .tool(
            "private_files_write",
            json!({"path": "big", "content": "x".repeat(1001)}),
        )
        .await);
    assert!(message.contains("larger than the limit"), "{message}");

    // Ten writers of 900 bytes each at once: at most five fit in 5000 bytes.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (client, url, session_id, token) = (
            app.client.clone(),
            app.url("/mcp"),
            mcp.session.clone().unwrap(),
            token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let body = json!({"jsonrpc":"2.0","id": 100 + i,"method":"tools/call","params":{"name":"private_files_write","arguments":{"path": format!("f{i}"), "content": "y".repeat(900)}}});
            let response = client
                .post(url)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-session-id", session_id)
                .header("mcp-protocol-version", "2025-11-25")
                .header("authorization", format!("Bearer {token}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let text = response.text().await.unwrap();
            crate::mcp_client::messages(&text).into_iter().find(|m| m.get("id").is_some()).unwrap()["result"].clone()
        }));
    }
    let mut succeeded = 0;
    for task in tasks {
        let result = task.await.unwrap();
        if result["isError"] != json!(true) {
            succeeded += 1;
        } else {
            assert!(
                result["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .contains("quota"),
                "{result}"
            );
        }
    }
    assert_eq!(succeeded, 5);
    let user = app
        .store
        .find_user_by_name(&omnichat::oauth::types::UserName::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    let total: u64 = std::fs::read_dir(user_dir(&app, &user))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total <= 5000, "{total}");
}

#[tokio::test]
async fn a_crash_between_temp_write_and_rename_keeps_the_old_content() {
    let dir = tempfile::TempDir::new().unwrap();
    let files = omnichat::tools::files::LocalFiles::new(dir.path(), 1 << 20, 1 << 20);
    let user = uuid::Uuid::new_v4().to_string();
    let path = omnichat::tools::files::UserPath::parse("doc.txt").unwrap();
    files
        .stage_write(&user, &path, b"old content")
        .unwrap()
        .commit()
        .unwrap();
    // Staged (written and fsynced under a temporary name) but never committed: a crash.
    let staged = files
        .stage_write(&user, &path, b"new content that never landed")
        .unwrap();
    drop(staged);
    use omnichat::tools::files::FileStorage;
    let read = files.read(&user, &path, 0, None).await.unwrap();
    assert_eq!(read.bytes, b"old content");
    let listing = files
        .list(&user, &omnichat::tools::files::UserPath::parse("").unwrap())
        .await
        .unwrap();
    assert_eq!(listing.len(), 1, "temporary files are not listed");
}

#[tokio::test]
async fn chat_round_trip_pagination_search_and_isolation() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    add_user(&app, "bob").await;
    let alice = token_for(&app, "alice", ALL).await;
    let bob = token_for(&app, "bob", ALL).await;
    let mut a = session(&app, Some(&alice)).await;
    let first = a
        .tool(
            "private_chat_write",
            json!({"content": "Planning the quokka expedition next spring"}),
        )
        .await;
    let first = ok(&first).clone();
    let conversation = first["conversation_id"].as_str().unwrap().to_string();
    assert!(first["message_id"].is_string());
    assert_eq!(first["new_conversation"], true);
    for i in 1..250 {
        let role = ["user", "assistant", "system"][i % 3];
        let result = a.tool("private_chat_write", json!({"conversation_id": conversation, "content": format!("message number {i}"), "role": role})).await;
        assert_eq!(ok(&result)["conversation_id"], json!(conversation));
    }
    // Read all 250 in pages.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = json!({"conversation_id": conversation, "limit": 100});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let page = a.tool("private_chat_read", args).await;
        let page = ok(&page).clone();
        for m in page["messages"].as_array().unwrap() {
            seen.push(m["content"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250);
    assert_eq!(seen[0], "Planning the quokka expedition next spring");
    assert_eq!(seen[249], "message number 249");

    let listing = a.tool("private_chat_list", json!({})).await;
    let conversations = ok(&listing)["conversations"].as_array().unwrap().clone();
    assert_eq!(conversations.len(), 1);
    assert_eq!(
        conversations[0]["title"],
        "Planning the quokka expedition next spring"
    );
    let newer = a
        .tool(
            "private_chat_write",
            json!({"content": "second conversation"}),
        )
        .await;
    let newer_id = ok(&newer)["conversation_id"].clone();
    let listing = a.tool("private_chat_list", json!({"limit": 1})).await;
    let page = ok(&listing).clone();
    assert_eq!(page["conversations"][0]["id"], newer_id, "newest first");
    let next = a
        .tool(
            "private_chat_list",
            json!({"limit": 1, "cursor": page["next_cursor"]}),
        )
        .await;
    assert_eq!(ok(&next)["conversations"][0]["id"], json!(conversation));

    let found = a
        .tool("private_chat_search", json!({"query": "quokka"}))
        .await;
    let results = ok(&found)["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["conversation_id"], json!(conversation));

    // Bob sees none of it: the id answers like an unknown one, search finds nothing.
    let mut b = session(&app, Some(&bob)).await;
    let theirs = err(&b
        .tool(
            "private_chat_read",
            json!({"conversation_id": conversation}),
        )
        .await);
    let unknown = err(&b
        .tool(
            "private_chat_read",
            json!({"conversation_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await);
    assert_eq!(theirs, unknown);
    assert_eq!(
        err(&b
            .tool(
                "private_chat_write",
                json!({"conversation_id": conversation, "content": "hi"})
            )
            .await),
        unknown
    );
    assert!(
        ok(&b
            .tool("private_chat_search", json!({"query": "quokka"}))
            .await)["results"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        ok(&b.tool("private_chat_list", json!({})).await)["conversations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn chat_caps_and_bad_arguments() {
    let app = spawn_app_with(|s| s.chat_max_message_bytes = 100).await;
    add_user(&app, "alice").await;
    let token = token_for(&app, "alice", ALL).await;
    let mut mcp = session(&app, Some(&token)).await;
    assert!(
        err(&mcp
            .tool("private_chat_write", json!({"content": "x".repeat(101)}))
            .await)
        .contains("at most 100")
    );
    assert!(err(&mcp.tool("private_chat_write", json!({"content": ""})).await).contains("empty"));
    assert!(
        err(&mcp
            .tool(
                "private_chat_write",
                json!({"content": "hi", "role": "admin"})
            )
            .await)
        .contains("role")
    );
    assert!(
        err(&mcp
            .tool("private_chat_list", json!({"cursor": "garbage!"}))
            .await)
        .contains("cursor")
    );
    assert!(err(&mcp.tool("private_chat_list", json!({"limit": 0})).await).contains("limit"));
    assert!(err(&mcp.tool("private_chat_read", json!({})).await).contains("conversation_id"));
}

#[tokio::test]
async fn each_tool_checks_its_scope() {
    let app = spawn_app().await;
    add_user(&app, "alice").await;
    let cases = [
        ("private_files_list", json!({}), "files:read"),
        ("private_files_read", json!({"path": "x"}), "files:read"),
        (
            "private_files_write",
            json!({"path": "x", "content": "y"}),
            "files:write",
        ),
        ("private_files_delete", json!({"path": "x"}), "files:write"),
        ("private_chat_list", json!({}), "chat:read"),
        (
            "private_chat_read",
            json!({"conversation_id": "x"}),
            "chat:read",
        ),
        ("private_chat_search", json!({"query": "x"}), "chat:read"),
        ("private_chat_write", json!({"content": "x"}), "chat:write"),
    ];
    // A token with every scope but the needed one gets insufficient_scope naming it plus
    // what was granted; a token with it gets a normal answer.
    for (tool, args, needed) in cases {
        let others: Vec<&str> = ALL.split(' ').filter(|s| *s != needed).collect();
        let token = token_for(&app, "alice", &others.join(" ")).await;
        let mut mcp = session(&app, Some(&token)).await;
        let result = mcp.tool(tool, args.clone()).await;
        assert_eq!(result["isError"], true, "{tool}");
        let challenge = result["_meta"]["mcp/www_authenticate"][0].as_str().unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(
            challenge.contains("resource_metadata=\"")
                && challenge.contains("error_description=\""),
            "{challenge}"
        );
        let scope = challenge
            .split("scope=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches('"');
        let mut granted: Vec<&str> = scope.split(' ').collect();
        granted.sort();
        let mut expected: Vec<&str> = ALL.split(' ').collect();
        expected.sort();
        assert_eq!(granted, expected, "{tool}: needed plus granted");

        let token = token_for(&app, "alice", needed).await;
        let mut mcp = session(&app, Some(&token)).await;
        let result = mcp.tool(tool, args).await;
        assert!(
            result["_meta"]["mcp/www_authenticate"].is_null(),
            "{tool}: {result}"
        );
        // No token at all: the invalid_token challenge.
        let mut anonymous = session(&app, None).await;
        let result = anonymous.tool(tool, json!({})).await;
        assert!(
            result["_meta"]["mcp/www_authenticate"][0]
                .as_str()
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
    }
}

#[tokio::test]
async fn tools_list_shows_every_tool_with_its_scheme() {
    let app = spawn_app().await;
    let mut mcp = session(&app, None).await;
    let list = mcp.call("tools/list", json!({})).await;
    let tools = list["result"]["tools"].as_array().unwrap();
    let scheme_of = |name: &str| -> Value {
        tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))["securitySchemes"]
            .clone()
    };
    assert_eq!(scheme_of("public_search"), json!([{"type": "noauth"}]));
    for (name, scope, read_only) in [
        ("private_files_list", "files:read", true),
        ("private_files_read", "files:read", true),
        ("private_files_write", "files:write", false),
        ("private_files_delete", "files:write", false),
        ("private_chat_list", "chat:read", true),
        ("private_chat_read", "chat:read", true),
        ("private_chat_search", "chat:read", true),
        ("private_chat_write", "chat:write", false),
        ("ssh_hosts", "ssh:execute", true),
        ("ssh_execute", "ssh:execute", false),
    ] {
        assert_eq!(
            scheme_of(name),
            json!([{"type": "oauth2", "scopes": [scope]}]),
            "{name}"
        );
        let tool = tools.iter().find(|t| t["name"] == name).unwrap();
        assert_eq!(tool["annotations"]["readOnlyHint"], read_only, "{name}");
        // Only a remote command reaches beyond OmniChat's own data.
        assert_eq!(
            tool["annotations"]["openWorldHint"],
            name == "ssh_execute",
            "{name}"
        );
    }
    let delete = tools
        .iter()
        .find(|t| t["name"] == "private_files_delete")
        .unwrap();
    assert_eq!(delete["annotations"]["destructiveHint"], true);
}
