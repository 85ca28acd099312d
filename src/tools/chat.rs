//! Chat history tools: conversations and messages per user, in the store. Another user's
//! conversation id answers exactly like an unknown one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::Caller;
use crate::clock::format_time;
use crate::store::{Conversation, Message, Store};

pub const DEFAULT_LIST_LIMIT: u32 = 20;
pub const DEFAULT_READ_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
const NOT_FOUND: &str = "conversation not found";

fn internal(e: impl std::fmt::Display) -> String {
    tracing::error!(error = %e, "chat tool failed");
    "the server could not read or write the chat history".to_string()
}

fn limit_of(limit: Option<u64>, default: u32) -> Result<u32, String> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=u64::from(MAX_LIMIT)).contains(&n) => Ok(n as u32),
        Some(_) => Err(format!("limit must be between 1 and {MAX_LIMIT}")),
    }
}

/// Cursors are opaque to clients: base64url of the position they continue after.
fn encode_cursor(parts: &[i64]) -> String {
    let text: Vec<String> = parts.iter().map(i64::to_string).collect();
    URL_SAFE_NO_PAD.encode(text.join(":"))
}

fn decode_cursor(cursor: &str, parts: usize) -> Result<Vec<i64>, String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.split(':')
                .map(|p| p.parse().ok())
                .collect::<Option<Vec<i64>>>()
        })
        .filter(|values| values.len() == parts)
        .ok_or_else(|| {
            "the cursor is not valid; use the next_cursor of a previous answer".to_string()
        })
}

fn conversation_json(c: &Conversation) -> Value {
    json!({
        "id": c.id,
        "title": c.title,
        "created": format_time(c.created_at),
        "updated": format_time(c.updated_at),
    })
}

fn message_json(m: &Message) -> Value {
    json!({
        "id": m.id,
        "role": m.role,
        "content": m.content,
        "created": format_time(m.created_at),
    })
}

pub async fn list(
    store: &dyn Store,
    caller: &Caller,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> Result<(String, Value), String> {
    let limit = limit_of(limit, DEFAULT_LIST_LIMIT)?;
    let after = cursor
        .map(|c| decode_cursor(c, 2).map(|v| (v[0], v[1])))
        .transpose()?;
    // One extra row tells whether another page exists.
    let mut rows = store
        .list_conversations(&caller.user_id, after, limit + 1)
        .await
        .map_err(internal)?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = more
        .then(|| {
            rows.last()
                .map(|c| encode_cursor(&[c.updated_at, c.updated_seq]))
        })
        .flatten();
    let lines: Vec<String> = rows
        .iter()
        .map(|c| format!("- {} ({})", c.title, c.id))
        .collect();
    let text = if rows.is_empty() {
        "No conversations.".to_string()
    } else {
        format!(
            "{} conversation(s), newest first:\n{}",
            rows.len(),
            lines.join("\n")
        )
    };
    Ok((
        text,
        json!({
            "conversations": rows.iter().map(conversation_json).collect::<Vec<_>>(),
            "next_cursor": next,
        }),
    ))
}

pub async fn read(
    store: &dyn Store,
    caller: &Caller,
    conversation_id: &str,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> Result<(String, Value), String> {
    let limit = limit_of(limit, DEFAULT_READ_LIMIT)?;
    let conversation = store
        .find_conversation(&caller.user_id, conversation_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| NOT_FOUND.to_string())?;
    let after = cursor
        .map(|c| decode_cursor(c, 1).map(|v| v[0]))
        .transpose()?
        .unwrap_or(0);
    let mut rows = store
        .list_messages(&caller.user_id, conversation_id, after, limit + 1)
        .await
        .map_err(internal)?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = more
        .then(|| rows.last().map(|m| encode_cursor(&[m.seq])))
        .flatten();
    let text = format!(
        "{}: {} message(s){}",
        conversation.title,
        rows.len(),
        if more { " (more follow)" } else { "" }
    );
    Ok((
        text,
        json!({
            "conversation": conversation_json(&conversation),
            "messages": rows.iter().map(message_json).collect::<Vec<_>>(),
            "next_cursor": next,
        }),
    ))
}

pub async fn search(
    store: &dyn Store,
    caller: &Caller,
    query: &str,
    limit: Option<u64>,
) -> Result<(String, Value), String> {
    let chars = query.chars().count();
    if chars == 0 || chars > super::search::MAX_QUERY_CHARS || query.trim().is_empty() {
        return Err(format!(
            "query must be 1-{} characters",
            super::search::MAX_QUERY_CHARS
        ));
    }
    let limit = match limit {
        None => 10,
        Some(n) if (1..=50).contains(&n) => n as u32,
        Some(_) => return Err("limit must be between 1 and 50".into()),
    };
    let hits = match super::search::match_expression(query) {
        Some(expression) => store
            .search_messages(&caller.user_id, &expression, limit)
            .await
            .map_err(internal)?,
        None => Vec::new(),
    };
    let results: Vec<Value> = hits
        .iter()
        .map(|h| {
            json!({
                "conversation_id": h.message.conversation_id,
                "conversation_title": h.conversation_title,
                "message_id": h.message.id,
                "role": h.message.role,
                "snippet": h.snippet,
                "created": format_time(h.message.created_at),
                "score": h.score,
            })
        })
        .collect();
    let text = if hits.is_empty() {
        format!("No messages match {query:?}.")
    } else {
        let lines: Vec<String> = hits
            .iter()
            .map(|h| format!("- {}: {}", h.conversation_title, h.snippet))
            .collect();
        format!(
            "{} message(s) match {query:?}:\n{}",
            hits.len(),
            lines.join("\n")
        )
    };
    Ok((text, json!({ "query": query, "results": results })))
}

/// A title from the first words of the first message.
fn title_from(content: &str) -> String {
    let words: Vec<&str> = content.split_whitespace().take(8).collect();
    let mut title: String = words.join(" ").chars().take(80).collect();
    if title.is_empty() {
        title = "Untitled conversation".into();
    }
    title
}

pub struct WriteRequest<'a> {
    pub conversation_id: Option<&'a str>,
    pub content: &'a str,
    pub role: Option<&'a str>,
}

pub async fn write(
    store: &dyn Store,
    caller: &Caller,
    request: WriteRequest<'_>,
    max_content_bytes: usize,
    now: i64,
) -> Result<(String, Value), String> {
    if request.content.is_empty() {
        return Err("content must not be empty".into());
    }
    if request.content.len() > max_content_bytes {
        return Err(format!("content must be at most {max_content_bytes} bytes"));
    }
    let role = request.role.unwrap_or("user");
    if !matches!(role, "user" | "assistant" | "system") {
        return Err("role must be user, assistant or system".into());
    }
    let (conversation_id, started) = match request.conversation_id {
        Some(id) => {
            store
                .find_conversation(&caller.user_id, id)
                .await
                .map_err(internal)?
                .ok_or_else(|| NOT_FOUND.to_string())?;
            (id.to_string(), false)
        }
        None => {
            let conversation = Conversation {
                id: uuid::Uuid::new_v4().to_string(),
                user_id: caller.user_id.clone(),
                title: title_from(request.content),
                created_at: now,
                updated_at: now,
                updated_seq: 0,
            };
            store
                .insert_conversation(&conversation)
                .await
                .map_err(internal)?;
            (conversation.id, true)
        }
    };
    let message = Message {
        seq: 0,
        id: uuid::Uuid::new_v4().to_string(),
        conversation_id: conversation_id.clone(),
        role: role.to_string(),
        content: request.content.to_string(),
        created_at: now,
    };
    let stored = store
        .insert_message(&caller.user_id, &message, now)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => NOT_FOUND.to_string(),
            other => internal(other),
        })?;
    let text = if started {
        format!(
            "Started conversation {conversation_id} with message {}",
            stored.id
        )
    } else {
        format!(
            "Added message {} to conversation {conversation_id}",
            stored.id
        )
    };
    Ok((
        text,
        json!({
            "conversation_id": conversation_id,
            "message_id": stored.id,
            "created": format_time(stored.created_at),
            "new_conversation": started,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(&[1_700_000_000, 42]);
        assert_eq!(decode_cursor(&c, 2).unwrap(), vec![1_700_000_000, 42]);
        assert!(decode_cursor(&c, 1).is_err());
        assert!(decode_cursor("!!!", 2).is_err());
    }

    #[test]
    fn titles_come_from_the_first_words() {
        assert_eq!(title_from("  hello   world  "), "hello world");
        assert_eq!(title_from("a b c d e f g h i j"), "a b c d e f g h");
        assert_eq!(title_from(&"x".repeat(200)).len(), 80);
    }
}
