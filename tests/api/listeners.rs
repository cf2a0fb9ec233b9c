//! The gateway's listener against clients that hold connections without finishing requests:
//! a head that never ends, a body that stops, an idle keep-alive connection, and more
//! connections than the cap. Each is cut off (or waits its turn) instead of holding a descriptor.

use std::time::Duration;

use reqwest::Method;
use test_support::Backend;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::spawn_stack_with;

/// Everything the server sends until it closes the connection; bounded so a server that never
/// closes fails the test instead of hanging it (not a timing assertion).
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut seen))
        .await
        .expect("the server closed the connection")
        .expect("read");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut_off() {
    let t = spawn_stack_with(Backend::Sqlite, false, |s| {
        s.gateway.header_read_timeout_ms = 300;
        s.gateway.body_read_timeout_ms = 300;
    })
    .await;
    let gateway = t.stack().gateway;

    // A head that never ends.
    let mut half_head = TcpStream::connect(gateway).await.unwrap();
    half_head.write_all(b"GET /v3/users HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // A connection that sends nothing at all.
    let mut silent = TcpStream::connect(gateway).await.unwrap();
    // A body that stops: 11 of the 100 bytes announced.
    let mut short_body = TcpStream::connect(gateway).await.unwrap();
    let head = format!(
        "POST /v3/users HTTP/1.1\r\nHost: x\r\nApi-Token: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user_id\":",
        t.token
    );
    short_body.write_all(head.as_bytes()).await.unwrap();
    // A keep-alive connection left idle after one full request.
    let mut idle = TcpStream::connect(gateway).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();

    assert_eq!(until_closed(&mut half_head).await, "", "no answer to half a head, just the close");
    assert_eq!(until_closed(&mut silent).await, "");
    let answered = until_closed(&mut short_body).await;
    assert!(answered.starts_with("HTTP/1.1 400"), "a stopped body is a client error: {answered}");
    assert!(answered.contains("\"error\":true"), "in Sendbird's shape: {answered}");
    let answered = until_closed(&mut idle).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "the full request was answered, then the idle close: {answered}");
    assert_eq!(answered.matches("HTTP/1.1").count(), 1);

    // Nothing was written by the cut-off create, and the gateway still serves.
    let users = t.ok(Method::GET, "/v3/users", None).await;
    assert_eq!(users["users"].as_array().unwrap().len(), 0, "{users}");
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let t = spawn_stack_with(Backend::Sqlite, false, |s| s.gateway.max_connections = 2).await;
    let gateway = t.stack().gateway;
    let holders = [TcpStream::connect(gateway).await.unwrap(), TcpStream::connect(gateway).await.unwrap()];
    // Both holders are being served: each answers a request, keeping its connection.
    let mut holders = holders;
    for holder in &mut holders {
        holder.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut answer = [0u8; 12];
        holder.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200");
    }
    // A third connection is taken by the kernel, not yet by the gateway.
    let mut third = TcpStream::connect(gateway).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut first_byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), third.read(&mut first_byte)).await.is_err(),
        "not served while both slots are held"
    );
    // One holder leaves: the third is served.
    let [one, _two] = holders;
    drop(one);
    let answered = until_closed(&mut third).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
}

#[tokio::test]
async fn a_uri_or_head_too_large_is_refused_in_the_dialects_shape() {
    let t = spawn_stack_with(Backend::Sqlite, false, |_| {}).await;
    let long = format!("/v3/users?user_ids={}", "a".repeat(9 * 1024));
    let answer = t.call(Method::GET, &long, &t.token, None).await;
    assert_eq!(answer.status(), reqwest::StatusCode::URI_TOO_LONG);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], true, "Sendbird's shape: {body}");

    let mut request = t.http.get(format!("{}/api/v2/end-users", t.base)).bearer_auth(&t.token);
    for i in 0..120 {
        request = request.header(format!("x-filler-{i}"), "1");
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(body["errors"][0]["type"].is_string(), "Ada's shape: {body}");

    let big = t
        .http
        .get(format!("{}/v2/apps/{}/users/u", t.base, t.app_id))
        .header("x-filler", "b".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), reqwest::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let body: serde_json::Value = big.json().await.unwrap();
    assert!(body["errors"][0]["code"].is_string(), "Sunshine's shape: {body}");
}

/// A gRPC peer that stops answering HTTP/2 PINGs (a dead host, a half-open connection) is
/// dropped by the service after `grpc.keepalive_interval_secs` + `keepalive_timeout_secs`,
/// instead of holding its connection for ever. Played on a raw socket: the HTTP/2 preface,
/// SETTINGS acknowledged, PINGs never.
#[tokio::test]
async fn a_grpc_peer_that_stops_answering_pings_is_dropped() {
    let t = spawn_stack_with(Backend::Sqlite, false, |s| {
        s.grpc.keepalive_interval_secs = 1;
        s.grpc.keepalive_timeout_secs = 1;
    })
    .await;
    let mut peer = TcpStream::connect(t.stack().registry).await.unwrap();
    peer.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").await.unwrap();
    let mut kinds = Vec::new();
    let read_frames = async {
        let mut header = [0u8; 9];
        while peer.read_exact(&mut header).await.is_ok() {
            let length = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            let mut payload = vec![0u8; length];
            if peer.read_exact(&mut payload).await.is_err() {
                break;
            }
            let (kind, flags) = (header[3], header[4]);
            if kind == 0x4 && flags & 0x1 == 0 {
                // The server's SETTINGS, acknowledged: the connection is well formed.
                peer.write_all(b"\0\0\0\x04\x01\0\0\0\0").await.unwrap();
            }
            kinds.push(kind);
        }
    };
    // Bounded so a server that keeps the connection fails the test instead of hanging it.
    tokio::time::timeout(Duration::from_secs(30), read_frames).await.expect("the service dropped the peer");
    assert!(kinds.contains(&0x6), "it pinged first: {kinds:?}");
    assert_eq!(kinds.last(), Some(&0x7), "and said GOAWAY before closing: {kinds:?}");
}
