//! The tool table: name → security scheme → handler, and the `tools/list` document built from
//! it once, with the Apps SDK's `securitySchemes` on each tool (top level and mirrored in
//! `_meta`, which older clients read).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use base64::Engine;

use crate::clock::{Clock, format_time};
use crate::oauth::types::{Scope, ScopeSet};
use crate::store::Store;
use crate::tools::files::{EntryKind, FileError, FileStorage, UserPath};
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

/// What the tools need from the application (never HTTP or tokens).
pub struct ToolDeps {
    pub store: Arc<dyn Store>,
    pub files: Arc<dyn FileStorage>,
    pub clock: Clock,
    pub chat_max_content_bytes: usize,
    pub master_key: Option<crate::crypto::MasterKey>,
    pub ssh_slots: tools::ssh_hosts::SshSlots,
}

/// The caller of a tool that requires a token (the access check has run before).
fn require(caller: Option<Caller>) -> Result<Caller, String> {
    caller.ok_or_else(|| "authentication required".to_string())
}

/// A string argument; `Ok(None)` when absent.
fn text_arg<'a>(args: &'a JsonObject, name: &str) -> Result<Option<&'a str>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

fn required_text<'a>(args: &'a JsonObject, name: &str) -> Result<&'a str, String> {
    text_arg(args, name)?.ok_or_else(|| format!("{name} is required"))
}

/// A non-negative integer argument; `Ok(None)` when absent.
fn number_arg(args: &JsonObject, name: &str) -> Result<Option<u64>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{name} must be a non-negative integer")),
    }
}

fn output(result: Result<(String, Value), String>) -> ToolOutput {
    match result {
        Ok((text, structured)) => ToolOutput::Ok { text, structured },
        Err(message) => ToolOutput::Err(message),
    }
}

/// A tool's body: the text summary and structured content, or an error text.
type BodyFuture = Pin<Box<dyn Future<Output = Result<(String, Value), String>> + Send>>;
type Body = fn(Arc<ToolDeps>, Option<Caller>, JsonObject) -> BodyFuture;

fn entry(deps: &Arc<ToolDeps>, tool: Tool, access: Access, body: Body) -> ToolEntry {
    let deps = deps.clone();
    ToolEntry {
        tool,
        access,
        run: Arc::new(move |caller, args| {
            let result = body(deps.clone(), caller, args);
            Box::pin(async move { output(result.await) })
        }),
    }
}

fn scopes(list: &[Scope]) -> Access {
    Access::Token(list.iter().copied().collect())
}

fn annotations(
    title: &str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    open_world: bool,
) -> ToolAnnotations {
    let mut a = ToolAnnotations::with_title(title).read_only(read_only);
    a.destructive_hint = Some(destructive);
    a.idempotent_hint = Some(idempotent);
    a.open_world_hint = Some(open_world);
    a
}

fn path_property(description: &str) -> Value {
    json!({ "type": "string", "maxLength": 1024, "description": description })
}

/// The tools of this server.
pub fn default_registry(deps: ToolDeps) -> Registry {
    let deps = Arc::new(deps);
    let entry_schema = json!({
        "type": "object",
        "properties": {
            "name": { "type": "string" },
            "kind": { "type": "string", "enum": ["file", "folder"] },
            "size": { "type": "integer" },
            "modified": { "type": "string", "format": "date-time" }
        },
        "required": ["name", "kind", "size", "modified"]
    });
    let conversation_schema = json!({
        "type": "object",
        "properties": {
            "id": { "type": "string" }, "title": { "type": "string" },
            "created": { "type": "string" }, "updated": { "type": "string" }
        },
        "required": ["id", "title", "created", "updated"]
    });
    Registry::new(vec![
        entry(
            &deps,
            describe(
                "public_search",
                "Search the OmniChat documentation",
                "Full-text search over the public OmniChat knowledge base (documentation the operator publishes). Needs no sign-in. Returns the best matches first with a snippet of each.",
                json!({
                    "type": "object",
                    "properties": {
                        "query": { "type": "string", "minLength": 1, "maxLength": 500, "description": "Words to look for" },
                        "limit": { "type": "integer", "minimum": 1, "maximum": 50, "default": 10 }
                    },
                    "required": ["query"],
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": {
                        "query": { "type": "string" },
                        "results": { "type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "id": { "type": "string" }, "title": { "type": "string" },
                                "snippet": { "type": "string" }, "score": { "type": "number" }
                            },
                            "required": ["id", "title", "snippet", "score"]
                        }}
                    },
                    "required": ["query", "results"]
                }),
                annotations(
                    "Search the OmniChat documentation",
                    true,
                    false,
                    true,
                    false,
                ),
            ),
            Access::Public,
            |deps, _caller, args| {
                Box::pin(async move {
                    let query = required_text(&args, "query")?;
                    let limit = number_arg(&args, "limit")?;
                    tools::search::public_search(&*deps.store, query, limit).await
                })
            },
        ),
        entry(
            &deps,
            describe(
                "private_files_list",
                "List my files",
                "Lists a folder of the user's private OmniChat file space: name, kind (file or folder), size and modification time. path is relative; \"\" is the top folder.",
                json!({
                    "type": "object",
                    "properties": { "path": path_property("Folder to list, relative (\"\" for the top)") },
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": { "path": { "type": "string" }, "entries": { "type": "array", "items": entry_schema } },
                    "required": ["path", "entries"]
                }),
                annotations("List my files", true, false, true, false),
            ),
            scopes(&[Scope::FilesRead]),
            |deps, caller, args| Box::pin(async move { files_list(&deps, caller, &args).await }),
        ),
        entry(
            &deps,
            describe(
                "private_files_read",
                "Read one of my files",
                "Reads a file of the user's private file space. Text comes back as UTF-8, anything else as base64 (see encoding). Large files can be read in ranges with offset and length (at most 1 MiB per call).",
                json!({
                    "type": "object",
                    "properties": {
                        "path": path_property("File to read, relative"),
                        "offset": { "type": "integer", "minimum": 0, "default": 0 },
                        "length": { "type": "integer", "minimum": 0, "maximum": 1_048_576 }
                    },
                    "required": ["path"],
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": {
                        "path": { "type": "string" }, "size": { "type": "integer" },
                        "offset": { "type": "integer" }, "length": { "type": "integer" },
                        "encoding": { "type": "string", "enum": ["utf-8", "base64"] },
                        "content": { "type": "string" }, "eof": { "type": "boolean" }
                    },
                    "required": ["path", "size", "offset", "length", "encoding", "content", "eof"]
                }),
                annotations("Read one of my files", true, false, true, false),
            ),
            scopes(&[Scope::FilesRead]),
            |deps, caller, args| Box::pin(async move { files_read(&deps, caller, &args).await }),
        ),
        entry(
            &deps,
            describe(
                "private_files_write",
                "Write one of my files",
                "Creates or replaces a file in the user's private file space (parent folders are created). content is UTF-8 text, or base64 with encoding \"base64\". The write is atomic; size and quota limits apply.",
                json!({
                    "type": "object",
                    "properties": {
                        "path": path_property("File to write, relative"),
                        "content": { "type": "string" },
                        "encoding": { "type": "string", "enum": ["utf-8", "base64"], "default": "utf-8" }
                    },
                    "required": ["path", "content"],
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": { "path": { "type": "string" }, "size": { "type": "integer" }, "created": { "type": "boolean" } },
                    "required": ["path", "size", "created"]
                }),
                // Replacing a file destroys its old content.
                annotations("Write one of my files", false, true, true, false),
            ),
            scopes(&[Scope::FilesWrite]),
            |deps, caller, args| Box::pin(async move { files_write(&deps, caller, &args).await }),
        ),
        entry(
            &deps,
            describe(
                "private_files_delete",
                "Delete one of my files",
                "Deletes a file, or an empty folder, from the user's private file space.",
                json!({
                    "type": "object",
                    "properties": { "path": path_property("File or empty folder to delete, relative") },
                    "required": ["path"],
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": { "path": { "type": "string" }, "kind": { "type": "string", "enum": ["file", "folder"] } },
                    "required": ["path", "kind"]
                }),
                annotations("Delete one of my files", false, true, false, false),
            ),
            scopes(&[Scope::FilesWrite]),
            |deps, caller, args| Box::pin(async move { files_delete(&deps, caller, &args).await }),
        ),
        entry(
            &deps,
            describe(
                "private_chat_list",
                "List my conversations",
                "Lists the user's OmniChat conversations, most recently updated first. Pass next_cursor back as cursor for the next page.",
                json!({
                    "type": "object",
                    "properties": {
                        "cursor": { "type": "string" },
                        "limit": { "type": "integer", "minimum": 1, "maximum": 200, "default": 20 }
                    },
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": {
                        "conversations": { "type": "array", "items": conversation_schema.clone() },
                        "next_cursor": { "type": ["string", "null"] }
                    },
                    "required": ["conversations", "next_cursor"]
                }),
                annotations("List my conversations", true, false, true, false),
            ),
            scopes(&[Scope::ChatRead]),
            |deps, caller, args| {
                Box::pin(async move {
                    let caller = require(caller)?;
                    tools::chat::list(
                        &*deps.store,
                        &caller,
                        text_arg(&args, "cursor")?,
                        number_arg(&args, "limit")?,
                    )
                    .await
                })
            },
        ),
        entry(
            &deps,
            describe(
                "private_chat_read",
                "Read a conversation",
                "Reads the messages of one of the user's conversations, oldest first, a page at a time (cursor, limit).",
                json!({
                    "type": "object",
                    "properties": {
                        "conversation_id": { "type": "string" },
                        "cursor": { "type": "string" },
                        "limit": { "type": "integer", "minimum": 1, "maximum": 200, "default": 50 }
                    },
                    "required": ["conversation_id"],
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": {
                        "conversation": conversation_schema,
                        "messages": { "type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "id": { "type": "string" }, "role": { "type": "string" },
                                "content": { "type": "string" }, "created": { "type": "string" }
                            },
                            "required": ["id", "role", "content", "created"]
                        }},
                        "next_cursor": { "type": ["string", "null"] }
                    },
                    "required": ["conversation", "messages", "next_cursor"]
                }),
                annotations("Read a conversation", true, false, true, false),
            ),
            scopes(&[Scope::ChatRead]),
            |deps, caller, args| {
                Box::pin(async move {
                    let caller = require(caller)?;
                    let id = required_text(&args, "conversation_id")?;
                    tools::chat::read(
                        &*deps.store,
                        &caller,
                        id,
                        text_arg(&args, "cursor")?,
                        number_arg(&args, "limit")?,
                    )
                    .await
                })
            },
        ),
        entry(
            &deps,
            describe(
                "private_chat_search",
                "Search my conversations",
                "Full-text search across the user's own chat messages, best matches first.",
                json!({
                    "type": "object",
                    "properties": {
                        "query": { "type": "string", "minLength": 1, "maxLength": 500 },
                        "limit": { "type": "integer", "minimum": 1, "maximum": 50, "default": 10 }
                    },
                    "required": ["query"],
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": { "query": { "type": "string" }, "results": { "type": "array", "items": { "type": "object" } } },
                    "required": ["query", "results"]
                }),
                annotations("Search my conversations", true, false, true, false),
            ),
            scopes(&[Scope::ChatRead]),
            |deps, caller, args| {
                Box::pin(async move {
                    let caller = require(caller)?;
                    tools::chat::search(
                        &*deps.store,
                        &caller,
                        required_text(&args, "query")?,
                        number_arg(&args, "limit")?,
                    )
                    .await
                })
            },
        ),
        entry(
            &deps,
            describe(
                "private_chat_write",
                "Add a chat message",
                "Appends a message to one of the user's conversations (conversation_id), or starts a new conversation when none is given. Returns conversation_id and message_id.",
                json!({
                    "type": "object",
                    "properties": {
                        "conversation_id": { "type": "string" },
                        "content": { "type": "string", "minLength": 1 },
                        "role": { "type": "string", "enum": ["user", "assistant", "system"], "default": "user" }
                    },
                    "required": ["content"],
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": {
                        "conversation_id": { "type": "string" }, "message_id": { "type": "string" },
                        "created": { "type": "string" }, "new_conversation": { "type": "boolean" }
                    },
                    "required": ["conversation_id", "message_id", "created", "new_conversation"]
                }),
                annotations("Add a chat message", false, false, false, false),
            ),
            scopes(&[Scope::ChatWrite]),
            |deps, caller, args| {
                Box::pin(async move {
                    let caller = require(caller)?;
                    let request = tools::chat::WriteRequest {
                        conversation_id: text_arg(&args, "conversation_id")?,
                        content: required_text(&args, "content")?,
                        role: text_arg(&args, "role")?,
                    };
                    tools::chat::write(
                        &*deps.store,
                        &caller,
                        request,
                        deps.chat_max_content_bytes,
                        deps.clock.now(),
                    )
                    .await
                })
            },
        ),
        entry(
            &deps,
            describe(
                "ssh_hosts",
                "List my SSH hosts",
                "Lists the SSH hosts the user may run commands on (defined by the operator).",
                json!({ "type": "object", "properties": {}, "additionalProperties": false }),
                json!({
                    "type": "object",
                    "properties": { "hosts": { "type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "name": { "type": "string" }, "address": { "type": "string" },
                            "user": { "type": "string" }, "host_key_fingerprint": { "type": "string" }
                        },
                        "required": ["name", "address", "user", "host_key_fingerprint"]
                    }}},
                    "required": ["hosts"]
                }),
                annotations("List my SSH hosts", true, false, true, false),
            ),
            scopes(&[Scope::SshExecute]),
            |deps, caller, _args| {
                Box::pin(async move {
                    let caller = require(caller)?;
                    tools::ssh_hosts::list(&*deps.store, &caller).await
                })
            },
        ),
        entry(
            &deps,
            describe(
                "ssh_execute",
                "Run a command over SSH",
                "Runs a command on one of the user's SSH hosts exactly as `ssh host 'command'` would: the remote login shell interprets the command string (pipes, ;, $(...) all work). Returns exit_status, stdout and stderr (each kept up to 1 MiB, then truncated), and whether it timed out (timeout_seconds: default 30, at most 300). The host's key is pinned; every run is audited.",
                json!({
                    "type": "object",
                    "properties": {
                        "host": { "type": "string", "description": "A host name from ssh_hosts" },
                        "command": { "type": "string", "minLength": 1, "maxLength": 16384 },
                        "timeout_seconds": { "type": "integer", "minimum": 1, "maximum": 300, "default": 30 }
                    },
                    "required": ["host", "command"],
                    "additionalProperties": false
                }),
                json!({
                    "type": "object",
                    "properties": {
                        "host": { "type": "string" },
                        "exit_status": { "type": ["integer", "null"] },
                        "exit_signal": { "type": ["string", "null"] },
                        "stdout": { "type": "string" }, "stderr": { "type": "string" },
                        "stdout_truncated": { "type": "boolean" }, "stderr_truncated": { "type": "boolean" },
                        "timed_out": { "type": "boolean" }, "duration_ms": { "type": "integer" }
                    },
                    "required": ["host", "exit_status", "stdout", "stderr", "stdout_truncated", "stderr_truncated", "timed_out", "duration_ms"]
                }),
                // A command can change anything on the host, and reaches beyond OmniChat.
                annotations("Run a command over SSH", false, true, false, true),
            ),
            scopes(&[Scope::SshExecute]),
            |deps, caller, args| {
                Box::pin(async move {
                    let caller = require(caller)?;
                    let request = tools::ssh_hosts::ExecuteRequest {
                        host: required_text(&args, "host")?,
                        command: required_text(&args, "command")?,
                        timeout_seconds: number_arg(&args, "timeout_seconds")?,
                    };
                    tools::ssh_hosts::execute(
                        &*deps.store,
                        deps.master_key.as_ref(),
                        &deps.ssh_slots,
                        &caller,
                        request,
                        deps.clock.now(),
                    )
                    .await
                })
            },
        ),
        entry(
            &deps,
            describe(
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
                annotations("Who am I?", true, false, true, false),
            ),
            Access::Token(ScopeSet::default()),
            |deps, caller, _args| {
                Box::pin(async move {
                    let caller = require(caller)?;
                    tools::whoami::whoami(&*deps.store, &caller).await
                })
            },
        ),
    ])
}

fn file_error(e: FileError) -> String {
    e.to_string()
}

async fn files_list(
    deps: &ToolDeps,
    caller: Option<Caller>,
    args: &JsonObject,
) -> Result<(String, Value), String> {
    let caller = require(caller)?;
    let path = UserPath::parse(text_arg(args, "path")?.unwrap_or("")).map_err(file_error)?;
    let entries = deps
        .files
        .list(&caller.user_id, &path)
        .await
        .map_err(file_error)?;
    let shown = if path.is_root() {
        "/".to_string()
    } else {
        path.as_relative()
    };
    let lines: Vec<String> = entries
        .iter()
        .map(|e| match e.kind {
            EntryKind::Folder => format!("- {}/", e.name),
            EntryKind::File => format!("- {} ({} bytes)", e.name, e.size),
        })
        .collect();
    let text = if entries.is_empty() {
        format!("{shown} is empty.")
    } else {
        format!("{shown}: {} entries\n{}", entries.len(), lines.join("\n"))
    };
    let structured = json!({
        "path": path.as_relative(),
        "entries": entries.iter().map(|e| json!({
            "name": e.name,
            "kind": if e.kind == EntryKind::File { "file" } else { "folder" },
            "size": e.size,
            "modified": format_time(e.modified),
        })).collect::<Vec<_>>(),
    });
    Ok((text, structured))
}

async fn files_read(
    deps: &ToolDeps,
    caller: Option<Caller>,
    args: &JsonObject,
) -> Result<(String, Value), String> {
    let caller = require(caller)?;
    let path = UserPath::parse(required_text(args, "path")?).map_err(file_error)?;
    let offset = number_arg(args, "offset")?.unwrap_or(0);
    let length = number_arg(args, "length")?;
    let read = deps
        .files
        .read(&caller.user_id, &path, offset, length)
        .await
        .map_err(file_error)?;
    let length = read.bytes.len();
    let (encoding, content) = match String::from_utf8(read.bytes) {
        Ok(text) => ("utf-8", text),
        Err(e) => (
            "base64",
            base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
        ),
    };
    let text = if encoding == "utf-8" {
        content.clone()
    } else {
        format!(
            "{} bytes of binary content (base64 in structuredContent)",
            length
        )
    };
    Ok((
        text,
        json!({
            "path": path.as_relative(), "size": read.size, "offset": read.offset, "length": length,
            "encoding": encoding, "content": content, "eof": read.eof,
        }),
    ))
}

async fn files_write(
    deps: &ToolDeps,
    caller: Option<Caller>,
    args: &JsonObject,
) -> Result<(String, Value), String> {
    let caller = require(caller)?;
    let path = UserPath::parse(required_text(args, "path")?).map_err(file_error)?;
    let content = required_text(args, "content")?;
    let bytes = match text_arg(args, "encoding")?.unwrap_or("utf-8") {
        "utf-8" | "utf8" => content.as_bytes().to_vec(),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|_| "content is not valid base64".to_string())?,
        _ => return Err("encoding must be utf-8 or base64".into()),
    };
    let written = deps
        .files
        .write(&caller.user_id, &path, bytes)
        .await
        .map_err(file_error)?;
    Ok((
        format!(
            "{} {} ({} bytes)",
            if written.created {
                "Created"
            } else {
                "Replaced"
            },
            path.as_relative(),
            written.size
        ),
        json!({ "path": path.as_relative(), "size": written.size, "created": written.created }),
    ))
}

async fn files_delete(
    deps: &ToolDeps,
    caller: Option<Caller>,
    args: &JsonObject,
) -> Result<(String, Value), String> {
    let caller = require(caller)?;
    let path = UserPath::parse(required_text(args, "path")?).map_err(file_error)?;
    let kind = deps
        .files
        .delete(&caller.user_id, &path)
        .await
        .map_err(file_error)?;
    let kind = if kind == EntryKind::File {
        "file"
    } else {
        "folder"
    };
    Ok((
        format!("Deleted {kind} {}", path.as_relative()),
        json!({ "path": path.as_relative(), "kind": kind }),
    ))
}
