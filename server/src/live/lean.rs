//! The lean path for live streams. A connection whose first request is
//! `GET /events` is served here instead of by hyper: hyper keeps a 16 KB
//! read buffer and an 8 KB write buffer for every connection as long as it
//! is open, and the middleware stack adds several KB more to each response,
//! which for 10,000 idle streams is most of the server's memory. Here a
//! stream costs its task and its state, a few hundred bytes.
//!
//! It serves the same stream as the axum route (the same session check, the
//! same cursor rules, the same events) and ends the connection with the
//! stream, so the response needs no chunked framing (`Connection: close`).
//! Every other connection, and a `GET /events` on a connection that served
//! something else first, goes to axum unchanged.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::auth::AppState;
use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::{LiveHub, StreamState};

/// The bytes that begin a request for the stream; the next one must end the path.
const PREFIX: &[u8] = b"GET /events";
/// The longest request head the lean path reads; longer ones get a 431.
const MAX_HEAD: usize = 8 * 1024;
/// How long a new connection may take to send its request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write may wait for a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the lean path needs: the hub for the stream, the state for the session.
#[derive(Clone)]
pub struct Lean {
    pub hub: Arc<LiveHub>,
    pub state: AppState,
}

/// The listener axum serves: the connections the lean path did not take.
pub struct SplitListener {
    connections: mpsc::Receiver<(TcpStream, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for SplitListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The acceptor has stopped (shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Accepts connections on `listener`, serves the ones that open with
/// `GET /events` on the lean path (if this process serves streams), and
/// hands the rest to the returned listener. Accepting stops when `closing`
/// turns true or the returned listener is dropped.
pub fn split(
    listener: TcpListener,
    lean: Option<Lean>,
    mut closing: watch::Receiver<bool>,
) -> io::Result<SplitListener> {
    let local = listener.local_addr()?;
    let (tx, connections) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = tx.closed() => return,
                _ = closing.changed() => return,
            };
            match accepted {
                Ok((stream, addr)) => {
                    let (tx, lean) = (tx.clone(), lean.clone());
                    tokio::spawn(async move {
                        match lean {
                            Some(lean) if opens_with_the_stream(&stream).await => lean.serve(stream).await,
                            _ => {
                                let _ = tx.send((stream, addr)).await;
                            }
                        }
                    });
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    // Most likely out of file descriptors: wait for some to close, as axum does.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(SplitListener { connections, local })
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Whether the connection's first bytes are `GET /events` followed by the
/// path's end, judged without reading them (a peek), so axum still gets
/// every byte of any other request.
async fn opens_with_the_stream(stream: &TcpStream) -> bool {
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    let mut buf = [0u8; PREFIX.len() + 1];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => return false,
        };
        let seen = n.min(PREFIX.len());
        if n == 0 || buf[..seen] != PREFIX[..seen] {
            return false;
        }
        if n > PREFIX.len() {
            return matches!(buf[PREFIX.len()], b' ' | b'?');
        }
        // Only part of the request line is here yet; peeking again at once would spin.
        tokio::time::sleep(Duration::from_millis(5)).await;
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
    }
}

/// The parts of the request the stream needs.
struct Head {
    headers: HeaderMap,
    after: Option<String>,
}

enum HeadError {
    TooLarge,
    Malformed,
    Gone,
}

impl Lean {
    async fn serve(&self, stream: TcpStream) {
        let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&stream)).await {
            Ok(Ok(head)) => head,
            Ok(Err(HeadError::TooLarge)) => {
                return respond(&stream, "431 Request Header Fields Too Large", &[], b"").await;
            }
            Ok(Err(HeadError::Malformed)) => return respond(&stream, "400 Bad Request", &[], b"").await,
            Ok(Err(HeadError::Gone)) | Err(_) => return,
        };
        let Some(me) = app::auth::session_of(&self.state, &head.headers).await else {
            let body = serde_json::to_vec(&app::error::AppError::Unauthenticated).unwrap_or_default();
            return respond(&stream, "401 Unauthorized", &[("content-type", "application/json")], &body).await;
        };
        let Ok(mut state) = StreamState::open(&self.hub, me.user.id, &head.headers, head.after.as_deref()).await else {
            return respond(&stream, "503 Service Unavailable", &[("retry-after", "5")], b"").await;
        };
        drop((me, head));
        let start = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\n\
                     x-accel-buffering: no\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n";
        if write_all(&stream, start.as_bytes()).await.is_err() {
            return;
        }
        loop {
            let step = tokio::select! {
                step = tokio::time::timeout(self.hub.heartbeat, state.step()) => step,
                _ = closed_by_peer(&stream) => return,
            };
            let mut out = Vec::new();
            match step {
                Ok(Some(step)) => step.write_to(&mut out),
                Ok(None) => return,
                // Quiet for a heartbeat's length: a comment keeps proxies from closing the connection.
                Err(_) => out.extend_from_slice(b":\n\n"),
            }
            if write_all(&stream, &out).await.is_err() {
                return;
            }
        }
    }
}

/// Reads the request's head (the stream's request has no body).
async fn read_head(stream: &TcpStream) -> Result<Head, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        stream.readable().await.map_err(|_| HeadError::Gone)?;
        let mut chunk = [0u8; 1024];
        match stream.try_read(&mut chunk) {
            Ok(0) => return Err(HeadError::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => return Err(HeadError::Gone),
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
    };
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut fields);
    match request.parse(&buf[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        _ => return Err(HeadError::Malformed),
    }
    let path = request.path.ok_or(HeadError::Malformed)?;
    let after = path
        .split_once('?')
        .and_then(|(_, query)| query.split('&').find_map(|pair| pair.strip_prefix("after=")))
        .map(str::to_owned);
    let mut headers = HeaderMap::new();
    for field in request.headers.iter() {
        // Only what the session and the cursor need is kept.
        if field.name.eq_ignore_ascii_case("cookie") || field.name.eq_ignore_ascii_case("last-event-id") {
            let name = HeaderName::from_bytes(field.name.as_bytes()).map_err(|_| HeadError::Malformed)?;
            let value = HeaderValue::from_bytes(field.value).map_err(|_| HeadError::Malformed)?;
            headers.append(name, value);
        }
    }
    Ok(Head { headers, after })
}

/// Resolves when the client has closed its side of the connection. Anything
/// it sends after the request is read and ignored.
async fn closed_by_peer(stream: &TcpStream) {
    let mut scratch = [0u8; 256];
    loop {
        if stream.readable().await.is_err() {
            return;
        }
        match stream.try_read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, async {
        while !bytes.is_empty() {
            stream.writable().await?;
            match stream.try_write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
}

/// A whole response that ends the connection.
async fn respond(stream: &TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    if write_all(stream, head.as_bytes()).await.is_ok() {
        let _ = write_all(stream, body).await;
    }
}
