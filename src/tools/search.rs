//! `public_search`: full-text search over the public knowledge base (SQLite FTS5, bm25
//! ranking), and the documents it searches: seeded with the project's own documentation on
//! first start, managed with `omnichat docs`.

use serde_json::{Value, json};

use crate::store::{Document, Store, StoreError};

pub const MAX_QUERY_CHARS: usize = 500;
pub const MAX_LIMIT: u32 = 50;
pub const DEFAULT_LIMIT: u32 = 10;
/// Larger documents are refused by `docs add` (the knowledge base is for documentation).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// The documentation built into the binary: the README, one document per `## ` section.
const BUILTIN_README: &str = include_str!("../../README.md");
const SEEDED_FACT: &str = "docs_seeded";

/// Turns what a person typed into an FTS5 query that cannot be a syntax error: every run of
/// letters and digits becomes a quoted term, and terms are OR-ed (bm25 ranks documents with
/// more of them first). Operators, quotes and brackets in the input are just separators.
pub fn match_expression(query: &str) -> Option<String> {
    let terms: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(32)
        .map(|t| format!("\"{}\"", t.chars().take(64).collect::<String>()))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

/// Splits Markdown into `(title, body)` sections at level-2 headings; text before the first
/// heading becomes a section titled by the level-1 heading (or `fallback_title`).
pub fn markdown_sections(text: &str, fallback_title: &str) -> Vec<(String, String)> {
    let mut sections = Vec::new();
    let mut title = text
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or(fallback_title)
        .trim()
        .to_string();
    let mut body = String::new();
    let mut seen_top_heading = false;
    for line in text.lines() {
        if !seen_top_heading && line.starts_with("# ") {
            // The level-1 heading is the first section's title, not its text.
            seen_top_heading = true;
            continue;
        }
        if let Some(heading) = line.strip_prefix("## ") {
            if !body.trim().is_empty() {
                sections.push((title.clone(), body.trim().to_string()));
            }
            title = heading.trim().to_string();
            body.clear();
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    if !body.trim().is_empty() {
        sections.push((title, body.trim().to_string()));
    }
    sections
}

/// Seeds the built-in documentation once per database (removing the documents later does
/// not bring them back).
pub async fn seed_builtin_docs(store: &dyn Store, now: i64) -> Result<(), StoreError> {
    if store.get_fact(SEEDED_FACT).await?.is_some() {
        return Ok(());
    }
    for (title, body) in markdown_sections(BUILTIN_README, "omnichat") {
        store
            .insert_document(&Document {
                id: uuid::Uuid::new_v4().to_string(),
                title: format!("omnichat: {title}"),
                body,
                source: "builtin:README.md".into(),
                created_at: now,
            })
            .await?;
    }
    store.set_fact(SEEDED_FACT, "1").await
}

/// The tool: checks the arguments, searches, and shapes the result.
pub async fn public_search(
    store: &dyn Store,
    query: &str,
    limit: Option<u64>,
) -> Result<(String, Value), String> {
    let chars = query.chars().count();
    if chars == 0 || chars > MAX_QUERY_CHARS || query.trim().is_empty() {
        return Err(format!("query must be 1-{MAX_QUERY_CHARS} characters"));
    }
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=u64::from(MAX_LIMIT)).contains(&n) => n as u32,
        Some(_) => return Err(format!("limit must be between 1 and {MAX_LIMIT}")),
    };
    let hits = match match_expression(query) {
        Some(expression) => store
            .search_documents(&expression, limit)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "public_search failed");
                "the search failed on the server".to_string()
            })?,
        None => Vec::new(),
    };
    let results: Vec<Value> = hits
        .iter()
        .map(|h| json!({ "id": h.id, "title": h.title, "snippet": h.snippet, "score": h.score }))
        .collect();
    let summary = if hits.is_empty() {
        format!("No documents match {query:?}.")
    } else {
        let lines: Vec<String> = hits
            .iter()
            .map(|h| format!("- {}: {}", h.title, h.snippet))
            .collect();
        format!(
            "{} result(s) for {query:?}:\n{}",
            hits.len(),
            lines.join("\n")
        )
    };
    Ok((summary, json!({ "query": query, "results": results })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_never_carry_fts_syntax() {
        assert_eq!(
            match_expression("token refresh").unwrap(),
            "\"token\" OR \"refresh\""
        );
        assert_eq!(
            match_expression("\"AND( *near").unwrap(),
            "\"AND\" OR \"near\""
        );
        assert_eq!(match_expression("*\"()"), None);
        assert_eq!(match_expression("😀"), None);
        assert_eq!(
            match_expression("héllo wörld").unwrap(),
            "\"héllo\" OR \"wörld\""
        );
    }

    #[test]
    fn markdown_is_split_at_sections() {
        let sections = markdown_sections("# Top\nintro\n## One\na\n## Two\nb\n", "x");
        assert_eq!(
            sections,
            vec![
                ("Top".to_string(), "intro".to_string()),
                ("One".to_string(), "a".to_string()),
                ("Two".to_string(), "b".to_string())
            ]
        );
    }
}
