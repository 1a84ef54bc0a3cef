//! A static file server on loopback, shaped like a release download host: `GET /{path}` serves
//! the file under its root (404 otherwise) and records every path asked for, so tests can tell
//! which archive an installer chose and whether a second run used its cache.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parking_lot::Mutex;

use super::Server;

struct FilesState {
    root: PathBuf,
    requests: Mutex<Vec<String>>,
}

/// A running file server.
pub struct Files {
    server: Server,
    state: Arc<FilesState>,
}

impl Files {
    /// Serve the files under `root`.
    pub fn serve(root: PathBuf) -> Files {
        let state = Arc::new(FilesState {
            root,
            requests: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        let server =
            Server::spawn(move |_| Router::new().route("/{*path}", get(file)).with_state(st));
        Files { server, state }
    }

    /// Base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Every path requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().clone()
    }
}

async fn file(State(st): State<Arc<FilesState>>, Path(path): Path<String>) -> Response {
    st.requests.lock().push(path.clone());
    if path.split('/').any(|p| p == "..") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    match std::fs::read(st.root.join(&path)) {
        Ok(bytes) => bytes.into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
