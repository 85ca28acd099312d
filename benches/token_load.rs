//! Load benchmark for the token endpoint (issue 3's budgets), printing figures only:
//! refresh grants per second on SQLite with `synchronous=FULL`, and code-exchange latency
//! (p50/p99) measured while that refresh load runs. Client and server share this machine's
//! cores over loopback.
//!
//! Run: `cargo bench --bench token_load` (env BENCH_SECONDS, BENCH_CONCURRENCY to change;
//! BENCH_SYNC_NORMAL=1 for `synchronous=NORMAL`, to see what the fsyncs cost).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

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
    let (base, _state, _dir) = common::start(|settings| {
        if std::env::var("BENCH_SYNC_NORMAL").is_ok() {
            settings.sqlite_synchronous = omnichat::config::SqliteSynchronous::Normal;
        }
    })
    .await;
    let bench = Arc::new(common::SignedIn::new(&base).await);

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
