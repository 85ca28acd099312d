//! The tool table: name → security scheme → handler, and the `tools/list` document built from
//! it once, with the Apps SDK's `securitySchemes` on each tool (top level and mirrored in
//! `_meta`, which older clients read).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use crate::oauth::types::{Scope, ScopeSet};
use crate::store::Store;
use crate::tools::{self, Caller};

/// Who may call a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone, with or without a token (`{"type":"noauth"}`).
    Public,
    /// A valid token carrying these scopes (none: any valid token) (`{"type":"oauth2"}`).
    Token(ScopeSet),
}

impl Access {
    /// The Apps SDK security schemes for this access.
    pub fn security_schemes(&self) -> Value {
        match self {
            Access::Public => json!([{ "type": "noauth" }]),
            Access::Token(scopes) => {
                let scopes: Vec<&str> = scopes.iter().map(Scope::as_str).collect();
                json!([{ "type": "oauth2", "scopes": scopes }])
            }
        }
    }
}

/// What a tool returns: a short text and the structured content (matching its output schema),
/// or an error text for `isError: true`.
pub enum ToolOutput {
    Ok { text: String, structured: Value },
    Err(String),
}

pub type ToolFuture = Pin<Box<dyn Future<Output = ToolOutput> + Send>>;
/// A tool's body. `caller` is `Some` for every tool that is not public.
pub type ToolFn = Arc<dyn Fn(Option<Caller>, JsonObject) -> ToolFuture + Send + Sync>;

pub struct ToolEntry {
    pub tool: Tool,
    pub access: Access,
    pub run: ToolFn,
}

pub struct Registry {
    tools: HashMap<String, ToolEntry>,
    /// The `tools/list` result, built once.
    list: Value,
}

fn object(value: Value) -> Arc<JsonObject> {
    Arc::new(value.as_object().cloned().unwrap_or_default())
}

impl Registry {
    pub fn new(entries: Vec<ToolEntry>) -> Self {
        let list_entries: Vec<Value> = entries
            .iter()
            .map(|entry| {
                let mut value = serde_json::to_value(&entry.tool).unwrap_or_else(|_| json!({}));
                let schemes = entry.access.security_schemes();
                if let Some(map) = value.as_object_mut() {
                    map.insert("securitySchemes".into(), schemes.clone());
                    let meta = map.entry("_meta").or_insert_with(|| json!({}));
                    if let Some(meta) = meta.as_object_mut() {
                        meta.insert("securitySchemes".into(), schemes);
                    }
                }
                value
            })
            .collect();
        let tools = entries
            .into_iter()
            .map(|entry| (entry.tool.name.to_string(), entry))
            .collect();
        Self {
            tools,
            list: json!({ "tools": list_entries }),
        }
    }

    pub fn get(&self, name: &str) -> Option<&ToolEntry> {
        self.tools.get(name)
    }

    pub fn list(&self) -> &Value {
        &self.list
    }
}

/// A tool descriptor with its schemas and truthful annotations.
pub fn describe(
    name: &'static str,
    title: &str,
    description: &'static str,
    input_schema: Value,
    output_schema: Value,
    annotations: ToolAnnotations,
) -> Tool {
    Tool::new(name, description, object(input_schema))
        .with_title(title)
        .with_raw_output_schema(object(output_schema))
        .with_annotations(annotations)
}

/// Annotations for a tool that only reads the caller's own data (MCP `ToolAnnotations`).
pub fn read_only(title: &str) -> ToolAnnotations {
    let mut a = ToolAnnotations::with_title(title).read_only(true);
    a.destructive_hint = Some(false);
    a.idempotent_hint = Some(true);
    a.open_world_hint = Some(false);
    a
}

/// The tools of this server.
pub fn default_registry(store: Arc<dyn Store>) -> Registry {
    let whoami_store = store.clone();
    Registry::new(vec![ToolEntry {
        tool: describe(
            "whoami",
            "Who am I?",
            "Tells which OmniChat user and app this connection acts for, and with which scopes. Needs a sign-in but no particular permission.",
            json!({ "type": "object", "properties": {}, "additionalProperties": false }),
            json!({
                "type": "object",
                "properties": {
                    "user_id": { "type": "string" },
                    "user_name": { "type": "string" },
                    "client_id": { "type": "string" },
                    "scopes": { "type": "array", "items": { "type": "string" } }
                },
                "required": ["user_id", "user_name", "client_id", "scopes"]
            }),
            read_only("Who am I?"),
        ),
        access: Access::Token(ScopeSet::default()),
        run: Arc::new(move |caller, _args| {
            let store = whoami_store.clone();
            Box::pin(async move {
                let Some(caller) = caller else {
                    return ToolOutput::Err("authentication required".into());
                };
                match tools::whoami::whoami(&*store, &caller).await {
                    Ok((text, structured)) => ToolOutput::Ok { text, structured },
                    Err(message) => ToolOutput::Err(message),
                }
            })
        }),
    }])
}
