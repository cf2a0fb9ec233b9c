//! What an operator relies on when Roster stops: in one process the gateway stops accepting,
//! answers every request it has, and only then do the services behind it stop.

use std::time::Duration;

use serde_json::Value;
use test_support::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::spawn_stack_with;

/// Whether a new TCP connection to `addr` is refused (the listener is gone).
async fn refuses(addr: std::net::SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn a_request_in_flight_when_shutdown_begins_is_answered_by_every_service_it_needs() {
    let mut t = spawn_stack_with(Backend::Sqlite, false, |_| {}).await;
    let stack = t.stack.take().expect("running");
    let (gateway, registry) = (stack.gateway, stack.registry);

    // A Sendbird create whose body is not sent yet: `Expect: 100-continue` makes the gateway say
    // when its handler starts reading the body, so the request is known to be in flight.
    let body = r#"{"user_id": "drained-1", "nickname": "Drained", "profile_url": ""}"#;
    let mut client = tokio::net::TcpStream::connect(gateway).await.unwrap();
    let head = format!(
        "POST /v3/users HTTP/1.1\r\nHost: roster\r\nApi-Token: {}\r\nContent-Type: application/json\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        t.token,
        body.len()
    );
    client.write_all(head.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    client.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");

    let shutdown = stack.shutdown();
    shutdown.trigger();
    let stopping = tokio::spawn(stack.wait());
    // Bounded waits for states, not timing assertions: the gateway stops accepting...
    for _ in 0..400 {
        if refuses(gateway).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(refuses(gateway).await, "the gateway stopped accepting");
    // ...while the registry behind it still serves the request the gateway has.
    assert!(!refuses(registry).await, "the registry waits for the gateway's requests");

    client.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), client.read_to_end(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let json: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(json["user_id"], "drained-1");

    stopping.await.unwrap().expect("a clean drain");
    assert!(refuses(registry).await, "everything has stopped");
}
