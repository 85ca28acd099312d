use std::path::{Path, PathBuf};
use std::sync::Arc;

use omnichat::app::Application;
use omnichat::clock::Clock;
use omnichat::config::Settings;
use omnichat::store::Store;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    /// `http://127.0.0.1:<port>`: where the test connects.
    pub address: String,
    /// The public URL and issuer (the same as `address` unless a test configured one).
    pub issuer: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub state: omnichat::app::AppState,
    pub clock: Clock,
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    _temp: Option<Arc<TempDir>>,
}

pub fn test_settings(data_dir: &Path) -> Settings {
    let mut settings = Settings::with_data_dir(data_dir);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    // Most tests register many clients; the rate-limit test sets its own limit.
    settings.register_rate_limit = 10_000;
    settings
}

/// A server on a fresh data directory.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let temp = Arc::new(TempDir::new().unwrap());
    let mut app = spawn_in(temp.path(), configure).await;
    app._temp = Some(temp);
    app
}

/// A server on an existing data directory (for restart tests).
pub async fn spawn_in(data_dir: &Path, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(data_dir);
    configure(&mut settings);
    let clock = Clock::system();
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let issuer = app.public_url().as_str().to_string();
    let store = app.state().store.clone();
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    TestApp {
        address,
        issuer,
        client,
        store,
        state,
        clock,
        data_dir: data_dir.to_path_buf(),
        shutdown: Some(tx),
        server: Some(server),
        _temp: None,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    pub async fn register(&self, body: Value) -> reqwest::Response {
        self.client
            .post(self.url("/register"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Stops the server gracefully and waits for it; the data directory stays.
    pub async fn stop(mut self) -> Option<Arc<TempDir>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        self._temp.take()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs the real `omnichat` binary with `--data-dir`, feeding `stdin`.
pub async fn omnichat_cli(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> CliOutput {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_omnichat"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("OMNICHAT_MASTER_KEY")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    CliOutput {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[derive(Debug)]
pub struct CliOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}
