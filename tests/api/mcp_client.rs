//! A minimal Streamable HTTP client for the tests: JSON-RPC over POST, answers read from the
//! SSE stream (or a JSON body), session id and protocol version headers kept.

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub struct Mcp<'a> {
    pub app: &'a TestApp,
    pub session: Option<String>,
    pub version: String,
    pub token: Option<String>,
    next_id: u64,
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The JSON-RPC message answering the request, if any.
    pub message: Option<Value>,
    pub body: String,
}

/// The JSON-RPC messages of an SSE body (`data:` lines), or the body itself if it is JSON.
pub fn messages(body: &str) -> Vec<Value> {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        return vec![value];
    }
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str(data.trim()).ok())
        .collect()
}

impl<'a> Mcp<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            session: None,
            version: "2025-11-25".into(),
            token: None,
            next_id: 1,
        }
    }

    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    pub fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut request = self
            .app
            .client
            .post(self.app.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(body);
        if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", &self.version);
        }
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        let message = messages(&body).into_iter().find(|m| m.get("id").is_some());
        Reply {
            status,
            headers,
            message,
            body,
        }
    }

    /// `initialize` + `notifications/initialized`; returns the initialize result.
    pub async fn initialize(&mut self) -> Value {
        let reply = self
            .send(self.post(&json!({
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": self.version, "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}}
            })))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        self.session = Some(
            reply.headers["mcp-session-id"]
                .to_str()
                .unwrap()
                .to_string(),
        );
        let result = reply.message.unwrap()["result"].clone();
        let note = self
            .send(self.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})))
            .await;
        assert_eq!(note.status, 202);
        result
    }

    /// A request; returns the whole reply.
    pub async fn request(&mut self, method: &str, params: Value) -> Reply {
        self.next_id += 1;
        let body =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        self.send(self.post(&body)).await
    }

    /// A request that must succeed at the HTTP level; returns its JSON-RPC message.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let reply = self.request(method, params).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.message.unwrap()
    }

    pub async fn tool(&mut self, name: &str, arguments: Value) -> Value {
        let message = self
            .call("tools/call", json!({"name": name, "arguments": arguments}))
            .await;
        message["result"].clone()
    }
}
