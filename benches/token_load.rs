//! Load benchmark for the token endpoint (issue 3's budgets), printing figures only:
//! refresh grants per second on SQLite with `synchronous=FULL`, and code-exchange latency
//! (p50/p99) measured while that refresh load runs. Client and server share this machine's
//! cores over loopback.
//!
//! Run: `cargo bench --bench token_load` (env BENCH_SECONDS, BENCH_CONCURRENCY to change;
//! BENCH_SYNC_NORMAL=1 for `synchronous=NORMAL`, to see what the fsyncs cost).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use omnichat::app::Application;
use omnichat::config::Settings;
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:5555/cb";
const PASSWORD: &str = "benchmark password";

fn pkce() -> (String, String) {
    let verifier = omnichat::crypto::random_token().expose().clone();
    let challenge = omnichat::crypto::b64url(&omnichat::crypto::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// The hidden fields of a page's form.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|chunk| {
            let (n, rest) = chunk.split_once('"').unwrap_or_default();
            let v = rest
                .split_once("value=\"")
                .and_then(|(_, r)| r.split_once('"'))
                .map(|(v, _)| v)
                .unwrap_or_default();
            (
                n.to_string(),
                v.replace("&#x2f;", "/")
                    .replace("&amp;", "&")
                    .replace("&quot;", "\""),
            )
        })
        .collect()
}

struct Bench {
    base: String,
    browser: reqwest::Client,
    api: reqwest::Client,
    client_id: String,
}

impl Bench {
    fn authorize_url(&self, challenge: &str) -> String {
        let mut url =
            url::Url::parse(&format!("{}/authorize", self.base)).unwrap_or_else(|_| unreachable!());
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("scope", "files:read");
        url.to_string()
    }

    /// A code for a fresh grant (the consent is remembered after the first approval).
    async fn code(&self) -> (String, String) {
        let (verifier, challenge) = pkce();
        let response = self
            .browser
            .get(self.authorize_url(&challenge))
            .send()
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let code = url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        (code, verifier)
    }

    async fn exchange(&self, code: &str, verifier: &str) -> Value {
        self.api
            .post(format!("{}/token", self.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", &self.client_id),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let dir = tempfile::TempDir::new().unwrap();
    let mut settings = Settings::with_data_dir(dir.path());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.register_rate_limit = 1000;
    if std::env::var("BENCH_SYNC_NORMAL").is_ok() {
        settings.sqlite_synchronous = omnichat::config::SqliteSynchronous::Normal;
    }
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let store = app.state().store.clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let user = omnichat::store::User {
        id: uuid::Uuid::new_v4().to_string(),
        name: omnichat::oauth::types::UserName::parse("bench").unwrap(),
        password_hash: omnichat::password::hash_password(&omnichat::crypto::Secret::new(
            PASSWORD.into(),
        ))
        .unwrap(),
        disabled: false,
        created_at: 0,
    };
    store.insert_user(&user).await.unwrap();
    let api = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let registered: Value = api
        .post(format!("{base}/register"))
        .json(&json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"], "client_name": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bench = Arc::new(Bench {
        base: base.clone(),
        browser,
        api,
        client_id: registered["client_id"].as_str().unwrap().to_string(),
    });

    // Log in and approve once; later authorizations skip both pages.
    let (_, challenge) = pkce();
    let login = bench
        .browser
        .get(bench.authorize_url(&challenge))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form = hidden_fields(&login);
    form.push(("username".into(), "bench".into()));
    form.push(("password".into(), PASSWORD.into()));
    let after = bench
        .browser
        .post(format!("{base}/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let next = after.headers()["location"].to_str().unwrap().to_string();
    let consent = bench
        .browser
        .get(format!("{base}{next}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form = hidden_fields(&consent);
    form.push(("decision".into(), "approve".into()));
    bench
        .browser
        .post(format!("{base}/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();

    // One grant per refresh worker (refreshes of one grant serialise by design).
    let mut refresh_tokens = Vec::new();
    for _ in 0..concurrency {
        let (code, verifier) = bench.code().await;
        let tokens = bench.exchange(&code, &verifier).await;
        refresh_tokens.push(tokens["refresh_token"].as_str().unwrap().to_string());
    }

    let stop = Arc::new(AtomicBool::new(false));
    let refreshes = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for mut token in refresh_tokens {
        let (bench, stop, refreshes, failures) = (
            bench.clone(),
            stop.clone(),
            refreshes.clone(),
            failures.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let response = bench
                    .api
                    .post(format!("{}/token", bench.base))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("client_id", bench.client_id.as_str()),
                        ("refresh_token", &token),
                    ])
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 200 => {
                        let body: Value = r.json().await.unwrap_or_default();
                        token = body["refresh_token"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        latencies.push(started.elapsed());
                        refreshes.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            latencies
        }));
    }

    // Code exchanges while the refresh load runs: only the /token call is timed.
    let exchanger = {
        let (bench, stop) = (bench.clone(), stop.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let (code, verifier) = bench.code().await;
                let started = Instant::now();
                let tokens = bench.exchange(&code, &verifier).await;
                latencies.push(started.elapsed());
                assert!(tokens["access_token"].is_string());
            }
            latencies
        })
    };

    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let mut refresh_latencies = Vec::new();
    for worker in workers {
        refresh_latencies.extend(worker.await.unwrap_or_default());
    }
    let mut exchange_latencies = exchanger.await.unwrap_or_default();
    refresh_latencies.sort();
    exchange_latencies.sort();

    let total = refreshes.load(Ordering::Relaxed);
    let mode = if std::env::var("BENCH_SYNC_NORMAL").is_ok() {
        "NORMAL"
    } else {
        "FULL"
    };
    println!(
        "token endpoint load, SQLite synchronous={mode}, {concurrency} refresh workers + 1 code-exchange worker, {seconds} s"
    );
    println!(
        "refresh grants: {total} in {:.1} s = {:.0}/s (p50 {:?}, p99 {:?}); failures {}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        percentile(&refresh_latencies, 0.5),
        percentile(&refresh_latencies, 0.99),
        failures.load(Ordering::Relaxed)
    );
    println!(
        "code exchanges under that load: {} (p50 {:?}, p99 {:?})",
        exchange_latencies.len(),
        percentile(&exchange_latencies, 0.5),
        percentile(&exchange_latencies, 0.99)
    );
}
