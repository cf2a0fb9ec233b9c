//! Peers: any HTTP GET outside Roster (`--peer NAME=URL`, headers with `--peer-header
//! NAME=Header: value`), measured in the same run with the same client as Roster's REST paths, so
//! a user can put Synapse's `whoami` or Kanidm's `/v1/auth/valid` beside them on one machine.
//! Each is compared with the bare axum GET, as `rest-validate` is.

use std::net::SocketAddr;

/// A peer as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    pub name: String,
    pub url: String,
    /// `host:port` of the URL.
    pub authority: String,
    /// Path and query, `/` when the URL has none.
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// A peer ready to load: its address resolved.
#[derive(Debug, Clone)]
pub struct Peer {
    pub spec: PeerSpec,
    pub addr: SocketAddr,
}

impl Peer {
    /// The row name its figures carry.
    pub fn scenario(&self) -> String {
        format!("peer/{}", self.spec.name)
    }
}

/// `NAME=http://host:port/path` (repeatable) and `NAME=Header: value` (repeatable, for a named
/// peer). Only `http://`: the same HTTP/1.1 client as the REST paths, without TLS.
pub fn parse(peers: &[String], headers: &[String]) -> Result<Vec<PeerSpec>, String> {
    let mut specs: Vec<PeerSpec> = Vec::new();
    for peer in peers {
        let (name, url) = peer.split_once('=').ok_or_else(|| format!("--peer {peer:?}: use NAME=URL"))?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(format!("--peer {peer:?}: the name is letters, digits, '-', '_' or '.'"));
        }
        if specs.iter().any(|s| s.name == name) {
            return Err(format!("--peer {name}: named twice"));
        }
        let rest = url.strip_prefix("http://").ok_or_else(|| format!("--peer {name}: only http:// URLs"))?;
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        if authority.is_empty() {
            return Err(format!("--peer {name}: no host in {url:?}"));
        }
        specs.push(PeerSpec {
            name: name.to_owned(),
            url: url.to_owned(),
            authority: authority.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
        });
    }
    for header in headers {
        let (name, line) =
            header.split_once('=').ok_or_else(|| format!("--peer-header {header:?}: use NAME=Header: value"))?;
        let (field, value) =
            line.split_once(':').ok_or_else(|| format!("--peer-header {header:?}: use NAME=Header: value"))?;
        let spec = specs
            .iter_mut()
            .find(|s| s.name == name.trim())
            .ok_or_else(|| format!("--peer-header {header:?}: no --peer named {}", name.trim()))?;
        spec.headers.push((field.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(specs)
}

pub async fn resolve(spec: PeerSpec) -> anyhow::Result<Peer> {
    let addr = tokio::net::lookup_host(spec.authority.as_str())
        .await?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{}: {} resolves to nothing", spec.name, spec.authority))?;
    Ok(Peer { spec, addr })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_and_their_headers_are_parsed() {
        let peers = [
            "synapse=http://127.0.0.1:8008/_matrix/client/v3/account/whoami".to_owned(),
            "kanidm=http://localhost:8443".to_owned(),
        ];
        let headers = ["synapse=Authorization: Bearer syt_abc".to_owned()];
        let specs = parse(&peers, &headers).unwrap();
        assert_eq!(specs[0].authority, "127.0.0.1:8008");
        assert_eq!(specs[0].path, "/_matrix/client/v3/account/whoami");
        assert_eq!(specs[0].headers, [("Authorization".to_owned(), "Bearer syt_abc".to_owned())]);
        assert_eq!((specs[1].authority.as_str(), specs[1].path.as_str()), ("localhost:8443", "/"));
        assert!(specs[1].headers.is_empty());
    }

    #[test]
    fn mistakes_are_named() {
        let one = |p: &str| parse(&[p.to_owned()], &[]).unwrap_err();
        assert!(one("no-url").contains("NAME=URL"));
        assert!(one("x=https://example.com/").contains("only http://"));
        assert!(one("bad name=http://h/").contains("name"));
        assert!(one("x=http:///path").contains("no host"));
        let twice = parse(&["a=http://h/".to_owned(), "a=http://h/".to_owned()], &[]).unwrap_err();
        assert!(twice.contains("twice"));
        let orphan = parse(&["a=http://h/".to_owned()], &["b=X: y".to_owned()]).unwrap_err();
        assert!(orphan.contains("no --peer named b"));
        let unshaped = parse(&["a=http://h/".to_owned()], &["a=no colon".to_owned()]).unwrap_err();
        assert!(unshaped.contains("Header: value"));
    }
}
