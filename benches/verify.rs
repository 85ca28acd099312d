//! Access-token verification cost (issue 4's budget), printing figures only:
//! - a cache hit of the MCP bearer layer (`resource::bearer::authenticate`),
//! - a full verification without the cache (`AccessTokens::verify`: parse, checks, ES256),
//! - the raw ES256 signature check alone (aws-lc `UnparsedPublicKey::verify`), the floor;
//! - issuing a token (`AccessTokens::issue`), which every code exchange and refresh pays.
//!
//! Run: `cargo bench --bench verify` (env BENCH_ITERATIONS, default 20000).

mod common;

use std::time::Instant;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn per_op(label: &str, iterations: u32, mut op: impl FnMut()) -> f64 {
    // Warm up, then time.
    for _ in 0..iterations / 10 {
        op();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        op();
    }
    let ns = started.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{label:<48} {:>10.0} ns/op ({:.2} µs)", ns, ns / 1000.0);
    ns
}

#[tokio::main]
async fn main() {
    let iterations: u32 = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let (base, state, _dir) = common::start(|_| {}).await;
    let token = common::SignedIn::new(&base).await.tokens().await["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    // The raw ES256 check over the same token with the same public key.
    let (_, jwks) = {
        let jwks: serde_json::Value = reqwest::get(format!("{base}/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ((), jwks)
    };
    let key = &jwks["keys"][0];
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(key["y"].as_str().unwrap()).unwrap());
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point);
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();

    let runtime = tokio::runtime::Handle::current();
    println!("token verification, {iterations} iterations each, one thread");
    let raw = per_op("raw ES256 signature check (aws-lc)", iterations, || {
        public.verify(signed.as_bytes(), &signature).unwrap();
    });
    let now = state.clock.now();
    let full = tokio::task::block_in_place(|| {
        per_op("AccessTokens::verify (no cache)", iterations, || {
            runtime.block_on(state.tokens.verify(&token, now)).unwrap();
        })
    });
    // Prime the cache once, then every call is a hit.
    omnichat::resource::bearer::authenticate(&state, &token)
        .await
        .unwrap();
    tokio::task::block_in_place(|| {
        per_op("bearer authenticate, cache hit", iterations, || {
            runtime
                .block_on(omnichat::resource::bearer::authenticate(&state, &token))
                .unwrap();
        })
    });
    println!("verify without cache / raw ES256 = {:.2}x", full / raw);

    // Issuing (what every code exchange and refresh pays): sign with the active key.
    let client_id = omnichat::oauth::types::ClientId::parse("bench-client").unwrap();
    let scope = omnichat::oauth::types::ScopeSet::all();
    tokio::task::block_in_place(|| {
        per_op("AccessTokens::issue (sign a new token)", iterations, || {
            runtime
                .block_on(state.tokens.issue(
                    "user",
                    &client_id,
                    &scope,
                    "https://r.example/mcp",
                    "grant",
                    now,
                ))
                .unwrap();
        })
    });
}
