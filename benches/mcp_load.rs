//! Load benchmark for the MCP endpoint (issue 4's budget), printing figures only.
//!
//! Runs `wrk` (32 connections, 2 threads) against an authenticated `tools/call` of `whoami`
//! on omnichat, and, in the same run, against a minimal axum hello-world server that this
//! benchmark starts itself (not part of the product), then prints both side by side. With
//! BENCH_TOOLS=1 it also loads `private_files_read` of a 4 KiB file and `private_chat_read`
//! of 50 messages (issue 5's budget).
//!
//! Run: `cargo bench --bench mcp_load` (needs `wrk`; env BENCH_SECONDS, default 10).

mod common;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

async fn mcp(base: &str, token: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::new();
    let init = client
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}))
        .send()
        .await
        .unwrap();
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    client
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
        .send()
        .await
        .unwrap();
    (client, session)
}

async fn call(
    base: &str,
    token: &str,
    session: &str,
    client: &reqwest::Client,
    name: &str,
    arguments: Value,
) -> Value {
    let text = client
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name": name,"arguments": arguments}}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|m| m.get("id").is_some())
        .unwrap_or_default()
}

struct WrkResult {
    requests_per_sec: f64,
    p99: String,
    non_2xx: String,
}

/// Runs wrk with a Lua script that POSTs `body` with `headers`.
fn wrk(
    url: &str,
    body: Option<&str>,
    headers: &[(&str, String)],
    sessions: &[String],
    seconds: u64,
) -> WrkResult {
    let dir = tempfile::TempDir::new().unwrap();
    let script = dir.path().join("request.lua");
    let mut lua = String::new();
    for (name, value) in headers {
        lua.push_str(&format!(
            "wrk.headers[{}] = {}\n",
            serde_json::to_string(name).unwrap(),
            serde_json::to_string(value).unwrap()
        ));
    }
    if let Some(body) = body {
        // Every JSON-RPC request needs its own id within a session (a real client never
        // reuses one while it is in flight), so the body is made per request.
        lua.push_str(&format!(
            "template = {}\n",
            serde_json::to_string(body).unwrap()
        ));
        lua.push_str(&format!(
            "sessions = {{{}}}\n",
            sessions
                .iter()
                .map(|s| serde_json::to_string(s).unwrap())
                .collect::<Vec<_>>()
                .join(",")
        ));
        lua.push_str(
            "counter = 0\n\
             math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))\n\
             prefix = tostring(math.random(1, 1000000000))\n\
             request = function()\n\
               counter = counter + 1\n\
               local body = string.gsub(template, '\"__ID__\"', '\"' .. prefix .. '-' .. counter .. '\"')\n\
               local headers = {}\n\
               for k, v in pairs(wrk.headers) do headers[k] = v end\n\
               if #sessions > 0 then headers[\"Mcp-Session-Id\"] = sessions[counter % #sessions + 1] end\n\
               return wrk.format(\"POST\", nil, headers, body)\n\
             end\n",
        );
    }
    std::fs::write(&script, lua).unwrap();
    let output = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("wrk must be installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let find = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.trim().to_string())
            .unwrap_or_default()
    };
    let rps = find("Requests/sec:")
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let p99 = find("99%")
        .split_whitespace()
        .nth(1)
        .unwrap_or("?")
        .to_string();
    let non_2xx = find("Non-2xx");
    WrkResult {
        requests_per_sec: rps,
        p99,
        non_2xx,
    }
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let (base, _state, _dir) = common::start(|_| {}).await;
    let tokens = common::SignedIn::new(&base).await.tokens().await;
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let (client, session) = mcp(&base, &token).await;
    let check = call(&base, &token, &session, &client, "whoami", json!({})).await;
    assert_eq!(
        check["result"]["structuredContent"]["user_name"], "bench",
        "{check}"
    );

    // The comparison server: axum's hello world, in this process, started by the benchmark.
    let hello = axum::Router::new().route("/", axum::routing::any(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hello_url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hello).await });

    let headers = vec![
        ("Content-Type", "application/json".to_string()),
        ("Accept", "application/json, text/event-stream".to_string()),
        ("Authorization", format!("Bearer {token}")),
        ("MCP-Protocol-Version", "2025-11-25".to_string()),
    ];
    let body = |name: &str, arguments: Value| {
        json!({"jsonrpc":"2.0","id":"__ID__","method":"tools/call","params":{"name": name,"arguments": arguments}}).to_string()
    };
    let mcp_url = format!("{base}/mcp");
    // Let the runtime settle, then measure both in turn (the idle one costs nothing).
    tokio::time::sleep(Duration::from_millis(200)).await;
    // One MCP session per connection, as separate clients would have.
    let mut sessions = Vec::new();
    for _ in 0..32 {
        sessions.push(mcp(&base, &token).await.1);
    }
    let run = |url: String, body: Option<String>, headers: Vec<(&'static str, String)>| {
        let sessions = if body.is_some() {
            sessions.clone()
        } else {
            Vec::new()
        };
        tokio::task::spawn_blocking(move || {
            wrk(&url, body.as_deref(), &headers, &sessions, seconds)
        })
    };
    let whoami = run(
        mcp_url.clone(),
        Some(body("whoami", json!({}))),
        headers.clone(),
    )
    .await
    .unwrap();
    let baseline = run(hello_url, None, vec![]).await.unwrap();
    println!(
        "wrk -t2 -c32 -d{seconds}s on this machine (client and servers share its cores); 32 MCP sessions"
    );
    println!(
        "axum hello world:         {:>9.0} req/s  p99 {}",
        baseline.requests_per_sec, baseline.p99
    );
    println!(
        "omnichat tools/call whoami: {:>7.0} req/s  p99 {}  ({:.0}% of hello world) {}",
        whoami.requests_per_sec,
        whoami.p99,
        100.0 * whoami.requests_per_sec / baseline.requests_per_sec.max(1.0),
        whoami.non_2xx
    );

    if std::env::var("BENCH_TOOLS").is_ok() {
        let content: String = "0123456789abcdef".repeat(256);
        let w = call(
            &base,
            &token,
            &session,
            &client,
            "private_files_write",
            json!({"path": "bench/4k.txt", "content": content}),
        )
        .await;
        assert_eq!(w["result"]["structuredContent"]["size"], 4096, "{w}");
        let first = call(
            &base,
            &token,
            &session,
            &client,
            "private_chat_write",
            json!({"content": "message 0"}),
        )
        .await;
        let conversation = first["result"]["structuredContent"]["conversation_id"]
            .as_str()
            .unwrap()
            .to_string();
        for i in 1..50 {
            call(
                &base,
                &token,
                &session,
                &client,
                "private_chat_write",
                json!({"conversation_id": conversation, "content": format!("message {i}")}),
            )
            .await;
        }
        let files = run(
            mcp_url.clone(),
            Some(body("private_files_read", json!({"path": "bench/4k.txt"}))),
            headers.clone(),
        )
        .await
        .unwrap();
        let chat = run(
            mcp_url.clone(),
            Some(body(
                "private_chat_read",
                json!({"conversation_id": conversation, "limit": 50}),
            )),
            headers.clone(),
        )
        .await
        .unwrap();
        println!(
            "omnichat private_files_read 4 KiB: {:>7.0} req/s  p99 {} {}",
            files.requests_per_sec, files.p99, files.non_2xx
        );
        println!(
            "omnichat private_chat_read 50 msgs: {:>6.0} req/s  p99 {} {}",
            chat.requests_per_sec, chat.p99, chat.non_2xx
        );
    }
}
