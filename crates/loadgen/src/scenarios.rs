//! The scenarios: Roster's hot paths and the ceilings each is compared with, in the order they
//! run (each Roster path right after its ceiling, so the two see the same machine), and the
//! callers that drive them.

use std::{net::SocketAddr, sync::Arc};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use proto::{
    context::v1::{self as cpb, context_service_client::ContextServiceClient},
    token::v1::{self as tpb, token_service_client::TokenServiceClient},
};
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

use crate::{
    ceilings::{InsertTarget, NewUser, RedisTarget, echo::echo_client::EchoClient},
    http::HttpConn,
    load::{Caller, Measurement, Plan, measure},
    stack::{Endpoints, Fixtures, connect},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Roster,
    Ceiling,
    /// Another system's HTTP GET (`--peer`), compared with the bare axum GET.
    Peer,
}

pub struct Scenario {
    pub name: &'static str,
    pub side: Side,
    /// What a Roster path is compared with; the first is the one its target names.
    pub ceilings: &'static [&'static str],
    pub what: &'static str,
}

const fn roster(name: &'static str, ceilings: &'static [&'static str], what: &'static str) -> Scenario {
    Scenario { name, side: Side::Roster, ceilings, what }
}

const fn ceiling(name: &'static str, what: &'static str) -> Scenario {
    Scenario { name, side: Side::Ceiling, ceilings: &[], what }
}

pub const SCENARIOS: &[Scenario] = &[
    ceiling("echo/shared", "bare tonic unary echo of ValidateToken's messages, one channel"),
    roster("validate-session/shared", &["echo/shared"], "gRPC ValidateToken, session tokens, one channel"),
    ceiling("redis-get", "Redis GET through the redis crate's connection manager"),
    roster("validate-access/shared", &["echo/shared", "redis-get"], "gRPC ValidateToken, access tokens, one channel"),
    roster("issue-session", &["echo/shared"], "gRPC IssueSessionToken (default lifetime), one channel"),
    roster("get-context", &["echo/shared"], "gRPC GetContext of an existing context, one channel"),
    ceiling("echo/per-caller", "bare tonic unary echo, one channel per caller"),
    roster(
        "validate-session/per-caller",
        &["echo/per-caller"],
        "gRPC ValidateToken, session tokens, channel per caller",
    ),
    roster("validate-access/per-caller", &["echo/per-caller"], "gRPC ValidateToken, access tokens, channel per caller"),
    ceiling("axum-get", "bare axum GET answering a small JSON"),
    roster("rest-validate", &["axum-get"], "GET /v3/users?limit=0: Api-Token checked (one gRPC hop), then 400"),
    roster("rest-get-user", &["axum-get"], "GET /v3/users/{id}: Api-Token check + GetUser (two gRPC hops)"),
    ceiling("axum-post", "bare axum POST parsing a ~200-byte JSON body"),
    ceiling("insert-single", "one-row INSERT into the users table, autocommit"),
    ceiling("insert-multi", "multi-row INSERT into the users table (rows/s)"),
    roster("rest-create-user", &["insert-single", "axum-post"], "POST /v3/users with a ~200-byte body"),
];

pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// Everything the callers need: the stack, its fixtures and the ceilings' servers.
pub struct World {
    pub endpoints: Endpoints,
    pub fixtures: Fixtures,
    pub echo_url: String,
    pub axum: SocketAddr,
    pub redis: Option<RedisTarget>,
    pub inserts: InsertTarget,
    pub multi_rows: usize,
    pub run_id: String,
}

impl World {
    /// False for a scenario this run cannot drive (the Redis ceiling without Redis).
    pub fn can_run(&self, scenario: &Scenario) -> bool {
        scenario.name != "redis-get" || self.redis.is_some()
    }

    /// Operations one request stands for: rows for the multi-row INSERT, else 1.
    pub fn ops_per_request(&self, scenario: &Scenario) -> usize {
        if scenario.name == "insert-multi" { self.multi_rows } else { 1 }
    }
}

/// `n` clients: clones over one channel, or one channel each.
async fn channels(url: &str, n: usize, per_caller: bool) -> anyhow::Result<Vec<Channel>> {
    let shared = connect(url).await?;
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        channels.push(if per_caller { connect(url).await? } else { shared.clone() });
    }
    Ok(channels)
}

async fn http_conns(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<HttpConn>> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(HttpConn::connect(addr).await?);
    }
    Ok(conns)
}

/// Runs one scenario at one concurrency.
pub async fn run(world: &World, scenario: &Scenario, c: usize, plan: Plan) -> anyhow::Result<Measurement> {
    let fx = &world.fixtures;
    let per_caller = scenario.name.ends_with("/per-caller");
    Ok(match scenario.name {
        "echo/shared" | "echo/per-caller" => {
            let request =
                tpb::ValidateTokenRequest { token: fx.users[0].session_token.clone(), app_id: Some(fx.app_id.clone()) };
            let callers = channels(&world.echo_url, c, per_caller).await?;
            let callers = callers.into_iter().map(|ch| Echo { client: EchoClient::new(ch), request: request.clone() });
            measure(callers.collect(), plan).await
        }
        "validate-session/shared"
        | "validate-session/per-caller"
        | "validate-access/shared"
        | "validate-access/per-caller" => {
            let session = scenario.name.starts_with("validate-session");
            let tokens: Arc<Vec<String>> = Arc::new(
                fx.users.iter().map(|u| if session { &u.session_token } else { &u.access_token }).cloned().collect(),
            );
            let callers = channels(&world.endpoints.token, c, per_caller).await?;
            let callers = callers.into_iter().enumerate().map(|(i, ch)| Validate {
                client: TokenServiceClient::new(ch),
                tokens: Arc::clone(&tokens),
                next: i,
                app_id: fx.app_id.clone(),
            });
            measure(callers.collect(), plan).await
        }
        "issue-session" => {
            let callers = channels(&world.endpoints.token, c, false).await?;
            let users = Arc::new(fx.users.iter().map(|u| u.registry_id.clone()).collect::<Vec<_>>());
            let callers = callers.into_iter().enumerate().map(|(i, ch)| IssueSession {
                client: TokenServiceClient::new(ch),
                app_id: fx.app_id.clone(),
                users: Arc::clone(&users),
                next: i,
            });
            measure(callers.collect(), plan).await
        }
        "get-context" => {
            let keys: Arc<Vec<cpb::ContextKey>> = Arc::new(fx.users.iter().map(|u| fx.context_key(u)).collect());
            let callers = channels(&world.endpoints.context, c, false).await?;
            let callers = callers.into_iter().enumerate().map(|(i, ch)| GetContext {
                client: ContextServiceClient::new(ch),
                keys: Arc::clone(&keys),
                next: i,
            });
            measure(callers.collect(), plan).await
        }
        "axum-get" | "axum-post" | "rest-validate" | "rest-get-user" | "rest-create-user" => {
            rest(world, scenario.name, c, plan).await?
        }
        "insert-single" | "insert-multi" => {
            let rows = world.ops_per_request(scenario);
            let callers = (0..c).map(|i| Insert {
                target: world.inserts.clone(),
                rows,
                prefix: format!("ci-{}-{rows}-{c}-{i}", world.run_id),
                n: 0,
            });
            measure(callers.collect(), plan).await
        }
        "redis-get" => {
            let redis = world.redis.as_ref().ok_or_else(|| anyhow::anyhow!("redis-get needs --redis-url"))?;
            let callers =
                (0..c).map(|_| RedisGet { connection: redis.connection.clone(), key: redis.key.clone() }).collect();
            measure(callers, plan).await
        }
        other => anyhow::bail!("unknown scenario {other}"),
    })
}

async fn rest(world: &World, name: &str, c: usize, plan: Plan) -> anyhow::Result<Measurement> {
    let fx = &world.fixtures;
    let (addr, api_token) = match name {
        "axum-get" | "axum-post" => (world.axum, None),
        _ => (world.endpoints.gateway, Some(Arc::<str>::from(world.endpoints.api_token.as_str()))),
    };
    let paths: Arc<Vec<String>> = Arc::new(match name {
        "rest-get-user" => fx.users.iter().map(|u| format!("/v3/users/{}", u.user_id)).collect(),
        "rest-validate" => vec!["/v3/users?limit=0".into()],
        "rest-create-user" => vec!["/v3/users".into()],
        _ => vec!["/json".into()],
    });
    let (method, expect) = match name {
        "axum-post" | "rest-create-user" => (Method::POST, StatusCode::OK),
        "rest-validate" => (Method::GET, StatusCode::BAD_REQUEST),
        _ => (Method::GET, StatusCode::OK),
    };
    let body = match name {
        "rest-create-user" => Body::NewUser(format!("cu-{}-{c}", world.run_id)),
        "axum-post" => Body::Fixed(NewUser::body("load-test-user-000001")),
        _ => Body::None,
    };
    let headers: Arc<Vec<(String, String)>> =
        Arc::new(api_token.map(|t| vec![("api-token".to_owned(), t.to_string())]).unwrap_or_default());
    let conns = http_conns(addr, c).await?;
    let callers = conns.into_iter().enumerate().map(|(i, conn)| Rest {
        conn,
        method: method.clone(),
        paths: Arc::clone(&paths),
        next: i,
        headers: Arc::clone(&headers),
        body: match &body {
            Body::NewUser(prefix) => Body::NewUser(format!("{prefix}-{i}")),
            other => other.clone(),
        },
        n: 0,
        expect: Some(expect),
    });
    Ok(measure(callers.collect(), plan).await)
}

/// A peer's GET at concurrency `c`: any 2xx answer counts as a success.
pub async fn peer(peer: &crate::peers::Peer, c: usize, plan: Plan) -> anyhow::Result<Measurement> {
    let paths = Arc::new(vec![peer.spec.path.clone()]);
    let headers = Arc::new(peer.spec.headers.clone());
    let conns = http_conns(peer.addr, c).await?;
    let callers = conns.into_iter().map(|conn| Rest {
        conn,
        method: Method::GET,
        paths: Arc::clone(&paths),
        next: 0,
        headers: Arc::clone(&headers),
        body: Body::None,
        n: 0,
        expect: None,
    });
    Ok(measure(callers.collect(), plan).await)
}

struct Echo {
    client: EchoClient<Channel>,
    request: tpb::ValidateTokenRequest,
}

impl Caller for Echo {
    async fn call(&mut self) -> Result<(), String> {
        let answer = self.client.echo(self.request.clone()).await.map_err(|s| s.to_string())?.into_inner();
        if answer.valid { Ok(()) } else { Err("echo answered invalid".into()) }
    }
}

struct Validate {
    client: TokenServiceClient<Channel>,
    tokens: Arc<Vec<String>>,
    next: usize,
    app_id: String,
}

impl Caller for Validate {
    async fn call(&mut self) -> Result<(), String> {
        self.next = (self.next + 1) % self.tokens.len();
        let request =
            tpb::ValidateTokenRequest { token: self.tokens[self.next].clone(), app_id: Some(self.app_id.clone()) };
        let answer = self.client.validate_token(request).await.map_err(|s| s.to_string())?.into_inner();
        if answer.valid { Ok(()) } else { Err(format!("token refused, reason {}", answer.reason)) }
    }
}

struct IssueSession {
    client: TokenServiceClient<Channel>,
    app_id: String,
    users: Arc<Vec<String>>,
    next: usize,
}

impl Caller for IssueSession {
    async fn call(&mut self) -> Result<(), String> {
        self.next = (self.next + 1) % self.users.len();
        let request = tpb::IssueSessionTokenRequest {
            app_id: self.app_id.clone(),
            user_id: self.users[self.next].clone(),
            expires_at: None,
        };
        let answer = self.client.issue_session_token(request).await.map_err(|s| s.to_string())?.into_inner();
        if answer.token.is_empty() { Err("no token".into()) } else { Ok(()) }
    }
}

struct GetContext {
    client: ContextServiceClient<Channel>,
    keys: Arc<Vec<cpb::ContextKey>>,
    next: usize,
}

impl Caller for GetContext {
    async fn call(&mut self) -> Result<(), String> {
        self.next = (self.next + 1) % self.keys.len();
        let request = cpb::GetContextRequest { key: Some(self.keys[self.next].clone()) };
        let answer = self.client.get_context(request).await.map_err(|s| s.to_string())?.into_inner();
        if answer.context.is_some() { Ok(()) } else { Err("no context".into()) }
    }
}

#[derive(Clone)]
enum Body {
    None,
    Fixed(Bytes),
    /// A new user each call, its id this prefix and a counter.
    NewUser(String),
}

struct Rest {
    conn: HttpConn,
    method: Method,
    paths: Arc<Vec<String>>,
    next: usize,
    headers: Arc<Vec<(String, String)>>,
    body: Body,
    n: u64,
    /// `None`: any 2xx.
    expect: Option<StatusCode>,
}

impl Caller for Rest {
    async fn call(&mut self) -> Result<(), String> {
        self.next = (self.next + 1) % self.paths.len();
        self.n += 1;
        let body = match &self.body {
            Body::None => None,
            Body::Fixed(bytes) => Some(bytes.clone()),
            Body::NewUser(prefix) => Some(NewUser::body(&format!("{prefix}-{}", self.n))),
        };
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let (status, answer) = self.conn.send(self.method.clone(), &self.paths[self.next], &headers, body).await?;
        let expected = self.expect.map_or(status.is_success(), |expect| status == expect);
        if expected { Ok(()) } else { Err(format!("{status}: {}", String::from_utf8_lossy(&answer))) }
    }
}

struct Insert {
    target: InsertTarget,
    rows: usize,
    prefix: String,
    n: u64,
}

impl Caller for Insert {
    async fn call(&mut self) -> Result<(), String> {
        self.n += 1;
        let ids: Vec<String> = (0..self.rows).map(|r| format!("{}-{}-{r}", self.prefix, self.n)).collect();
        self.target.insert(&ids).await
    }
}

struct RedisGet {
    connection: redis::aio::ConnectionManager,
    key: String,
}

impl Caller for RedisGet {
    async fn call(&mut self) -> Result<(), String> {
        let value: Option<String> =
            redis::cmd("GET").arg(&self.key).query_async(&mut self.connection).await.map_err(|e| e.to_string())?;
        if value.is_some() { Ok(()) } else { Err("key missing".into()) }
    }
}
