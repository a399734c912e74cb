//! In-process servers for tests, benches and examples (feature `testing`): the one way to start
//! this server on `127.0.0.1:0` inside the calling process and stop it again, instead of a copy
//! of "bind, build the state, spawn `serve`, keep a shutdown sender" in every test suite.
//!
//! It lives here rather than in `sessions-test-support` because that crate is a dev-dependency
//! of this one: it cannot depend on `sessions-server` without a cycle.
//!
//! Two starts, matching the two entry points: [`TestServer::serve`] for a test that builds its
//! own [`AppState`] (its own store handle, clock, emulator), and [`TestServer::run`] for one that
//! starts the whole server from [`ServerSettings`] as the binary does (fixture files, demo seed,
//! emulator settings), returning what [`run`](crate::run) reported once it listens.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{AppState, ServerError, ServerSettings, Started};

/// A server running in this process until [`stop`](TestServer::stop)ped or dropped (dropping
/// starts a graceful shutdown without waiting for it).
#[derive(Debug)]
pub struct TestServer {
    /// The bound address.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

impl TestServer {
    /// Serves `state` on `127.0.0.1:0` with [`serve`](crate::serve).
    pub async fn serve(state: AppState) -> std::io::Result<TestServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            crate::serve(listener, state, async {
                stopped.await.ok();
            })
            .await
            .map_err(ServerError::from)
        });
        Ok(TestServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Starts the server from `settings` with [`run`](crate::run) (listening where
    /// `settings.listen` says: `127.0.0.1:0` in tests) and returns once it listens, with what
    /// it reported; a start that fails answers its error.
    pub async fn run(settings: ServerSettings) -> Result<(TestServer, Started), ServerError> {
        let (started_tx, started_rx) = oneshot::channel::<Started>();
        let (stop, stopped) = oneshot::channel::<()>();
        let mut task = tokio::spawn(crate::run(
            settings,
            move |s| {
                let _ = started_tx.send(s.clone());
            },
            async {
                stopped.await.ok();
            },
        ));
        let started = match started_rx.await {
            Ok(started) => started,
            // `run` returned before it listened: its error says why.
            Err(_) => {
                return Err(match (&mut task).await {
                    Ok(Err(e)) => e,
                    Ok(Ok(())) => ServerError::Io(std::io::Error::other(
                        "the server stopped before it started",
                    )),
                    Err(join) => ServerError::Io(std::io::Error::other(join)),
                })
            }
        };
        let server = TestServer {
            addr: started.local_addr,
            stop: Some(stop),
            task: Some(task),
        };
        Ok((server, started))
    }

    /// `http://127.0.0.1:<port>`: the server root (`/audit`, `/control`, `/metrics`, ...).
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/api/`: a client's base URL.
    pub fn api(&self) -> String {
        format!("http://{}/api/", self.addr)
    }

    /// Shuts down gracefully and waits until the server has finished; its result.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|join| ServerError::Io(std::io::Error::other(join)))?,
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
