//! Live streams at scale: 1,000 streams of one user and the fan-out of each
//! new event to all of them (from the change's request to each stream's
//! receipt), then 9,000 more streams of another user, and the server's
//! resident memory with 10,000 open. The server is the release binary in its
//! own process on SQLite; the streams are plain HTTP/1.1 connections over
//! loopback from this process. Prints a table.
//! Run with `cargo bench -p server --bench live` (needs 10,000 file
//! descriptors a side: `ulimit -n` of 12,000 or more). To measure a server
//! started some other way (under a heap profiler, say), give its address and
//! process id in `CADENCE_BENCH_ADDR` and `CADENCE_BENCH_PID`; it is left
//! running. `CADENCE_BENCH_STREAMS` sets the total (10,000), and
//! `CADENCE_BENCH_REUSE=1` opens each stream on a connection that served a
//! request first, which axum serves instead of the lean path.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

const FANOUT_STREAMS: usize = 1_000;
const TOTAL_STREAMS: usize = 10_000;
const EVENTS: usize = 50;

/// Receipt times per event id, from every stream.
type Receipts = Arc<Mutex<Vec<(i64, Instant)>>>;

async fn start_server(dir: &std::path::Path) -> (tokio::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("DATABASE_URL", format!("sqlite://{}/live.db", dir.display()))
        .env("CADENCE_BIND", "127.0.0.1:0")
        .env("CADENCE_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,server=info")
        .env("LEPTOS_SITE_ROOT", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next_line().await.unwrap().expect("the server listens");
        let Ok(log) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        if log["message"] == "Cadence is listening" {
            break log["addr"].as_str().unwrap().to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// Signs a new user up and returns their session cookie.
async fn sign_up(http: &reqwest::Client, addr: &str, email: &str) -> String {
    let form =
        [("email", email), ("password", "correct horse battery"), ("display_name", "Bench"), ("time_zone", "UTC")];
    let res = http.post(format!("http://{addr}/api/sign_up")).form(&form).send().await.unwrap();
    let cookie = res.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.starts_with("cadence_session=").then(|| v.split(';').next().unwrap().to_owned())
    });
    cookie.expect("a session cookie")
}

/// Reads byte by byte up to and including `end` (so nothing after it is taken from the stream).
async fn read_through(socket: &mut TcpStream, end: &[u8]) -> Vec<u8> {
    let mut read = Vec::new();
    let mut byte = [0u8; 1];
    while !read.ends_with(end) {
        socket.read_exact(&mut byte).await.unwrap();
        read.push(byte[0]);
    }
    read
}

/// Opens one stream and records every event id it receives, with the time.
async fn open_stream(addr: String, cookie: String, receipts: Receipts) {
    let mut socket = TcpStream::connect(&addr).await.expect("connect");
    if reuse_connections() {
        // A request first, so the stream is served by axum on a kept-alive connection.
        socket.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
        read_through(&mut socket, b"\r\n\r\nok").await;
    }
    let request = format!(
        "GET /events HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\nOrigin: http://{addr}\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let head = read_through(&mut socket, b"\r\n\r\n").await;
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
    tokio::spawn(async move {
        let mut lines = BufReader::new(socket).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // Chunked framing lines are skipped; only `id:` lines matter.
            if let Some(id) = line.strip_prefix("id:").and_then(|v| v.trim().parse::<i64>().ok()) {
                receipts.lock().unwrap().push((id, Instant::now()));
            }
        }
    });
}

/// `CADENCE_BENCH_REUSE=1`: every stream on a connection that served a request
/// first (the path a browser's pooled connection takes) instead of a fresh one.
fn reuse_connections() -> bool {
    std::env::var("CADENCE_BENCH_REUSE").is_ok_and(|v| v == "1")
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let total: usize =
        std::env::var("CADENCE_BENCH_STREAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(TOTAL_STREAMS);
    let dir = std::env::temp_dir().join(format!("cadence-live-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let given = std::env::var("CADENCE_BENCH_ADDR").ok().zip(std::env::var("CADENCE_BENCH_PID").ok());
    let (child, addr, pid) = match given {
        Some((addr, pid)) => (None, addr, pid.parse().expect("CADENCE_BENCH_PID is a process id")),
        None => {
            let (child, addr) = start_server(&dir).await;
            let pid = child.id().unwrap();
            (Some(child), addr, pid)
        }
    };
    let http = reqwest::Client::new();
    let one = sign_up(&http, &addr, "fanout@example.com").await;
    let other = sign_up(&http, &addr, "many@example.com").await;
    let idle_rss = rss_mib(pid);

    let receipts: Receipts = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..FANOUT_STREAMS {
        open_stream(addr.clone(), one.clone(), receipts.clone()).await;
    }
    let mut latencies = Vec::new();
    for i in 0..EVENTS {
        receipts.lock().unwrap().clear();
        let sent = Instant::now();
        let res = http
            .post(format!("http://{addr}/api/quick_add"))
            .header("cookie", &one)
            .header("origin", format!("http://{addr}"))
            .form(&[("title", format!("Fan-out {i}"))])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let deadline = Instant::now() + Duration::from_secs(10);
        while receipts.lock().unwrap().len() < FANOUT_STREAMS && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let got = receipts.lock().unwrap().clone();
        assert_eq!(got.len(), FANOUT_STREAMS, "every stream got event {i}");
        latencies.extend(got.iter().map(|(_, at)| (*at - sent).as_secs_f64() * 1000.0));
    }
    latencies.sort_by(f64::total_cmp);
    let fanout_rss = rss_mib(pid);

    let others: Receipts = Arc::new(Mutex::new(Vec::new()));
    let opening = Instant::now();
    for _ in FANOUT_STREAMS..total {
        open_stream(addr.clone(), other.clone(), others.clone()).await;
    }
    let opened_in = opening.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let full_rss = rss_mib(pid);

    println!();
    let path = if reuse_connections() {
        "connections that served a request first (axum)"
    } else {
        "fresh connections (lean path)"
    };
    println!("Live streams on one server process (SQLite, release build, loopback), on {path}");
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| server RSS, idle | {idle_rss:.1} MiB |");
    println!(
        "| fan-out of one event to {FANOUT_STREAMS} streams of one user ({EVENTS} events): p50 | {:.1} ms |",
        percentile(&latencies, 0.5)
    );
    println!("| same, p99 | {:.1} ms |", percentile(&latencies, 0.99));
    println!("| same, slowest | {:.1} ms |", latencies.last().copied().unwrap_or_default());
    println!("| server RSS with {FANOUT_STREAMS} streams | {fanout_rss:.1} MiB |");
    println!("| opening {} more streams took | {:.1} s |", total - FANOUT_STREAMS, opened_in.as_secs_f64());
    println!("| server RSS with {total} streams | {full_rss:.1} MiB |");
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
