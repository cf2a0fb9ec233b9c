//! The gateway's HTTP/1.1 listener, with the limits a public listener needs: a deadline for a
//! request's head (which is also how long an idle keep-alive connection is kept), a deadline for
//! each part of a body (the router's `RequestBodyTimeoutLayer`), and a cap on open connections.
//! On shutdown it stops accepting and waits for every connection's request in progress.

use std::{sync::Arc, time::Duration};

use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use platform::{Shutdown, config::GatewaySettings};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinSet};
use tower::ServiceExt;

use crate::http;

pub async fn serve(
    listener: TcpListener,
    service: http::Service,
    settings: &GatewaySettings,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(settings.header_read_timeout_ms))
        // Above the router's own limit (http::MAX_HEADERS), which answers in the dialect's shape.
        .max_headers(2 * http::MAX_HEADERS)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let mut connections = JoinSet::new();
    let stop = shutdown.requested();
    tokio::pin!(stop);
    loop {
        // At the cap, new connections wait in the kernel's backlog until one closes.
        let slot = tokio::select! {
            _ = &mut stop => break,
            slot = slots.clone().acquire_owned() => slot?,
        };
        let (stream, _) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, or a connection reset before it was taken: keep serving.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // No Nagle: a response written in two parts must not wait for the client's delayed ACK.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "TCP_NODELAY not set");
        }
        let service = service.clone();
        let hyper_service = hyper::service::service_fn(move |request: Request<Incoming>| {
            service.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = builder.serve_connection(TokioIo::new(stream), hyper_service);
        let stopping = shutdown.requested();
        connections.spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => return log_end(result),
                _ = stopping => connection.as_mut().graceful_shutdown(),
            }
            // The request in progress is answered; an idle connection closes now.
            log_end(connection.await)
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(err) = result {
        // Timeouts, resets and malformed requests: the client's doing, never an answer of ours.
        tracing::debug!(error = %err, "connection ended");
    }
}
