//! A TCP proxy in front of a real server (PostgreSQL, Redis) that a test cuts, as a network
//! partition or a crashed server would look to Roster (open connections reset, new ones
//! refused), and restores on the same port.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use tokio::{net::TcpListener, task::AbortHandle};

pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    /// The accept loop and every connection's pipe.
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("bound");
        let proxy = Self { addr, upstream, tasks: Arc::default() };
        proxy.serve(listener);
        proxy
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every open connection is dropped and the port refuses new ones.
    pub fn cut(&self) {
        for task in self.lock().drain(..) {
            task.abort();
        }
    }

    /// Accepting again, on the same port.
    pub async fn restore(&self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind the proxy's port");
        self.serve(listener);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AbortHandle>> {
        self.tasks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, tasks) = (self.upstream, self.tasks.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(pipe.abort_handle());
            }
        });
        self.lock().push(accepting.abort_handle());
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
