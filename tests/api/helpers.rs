use proto::token::v1::{self as pb, token_service_client::TokenServiceClient};
use reqwest::{Response, StatusCode};
use roster::Stack;
use serde_json::Value;
use test_support::{Backend, TestDatabase};

pub struct TestStack {
    pub stack: Option<Stack>,
    pub base: String,
    /// The first application's API token, printed once at first start.
    pub token: String,
    pub app_id: String,
    pub http: reqwest::Client,
    pub db: TestDatabase,
}

pub async fn spawn_stack(backend: Backend, with_redis: bool) -> TestStack {
    spawn_stack_with(backend, with_redis, |_| {}).await
}

/// `spawn_stack` with `tune` applied to the settings first.
pub async fn spawn_stack_with(
    backend: Backend,
    with_redis: bool,
    tune: impl FnOnce(&mut platform::Settings),
) -> TestStack {
    test_support::init_logging();
    let db = TestDatabase::new(backend).await;
    let mut settings = test_support::settings(&db, with_redis);
    tune(&mut settings);
    let stack = Stack::start(settings).await.expect("stack starts");
    let first = stack.first_application.clone().expect("first start creates an application");
    TestStack {
        base: format!("http://{}", stack.gateway),
        stack: Some(stack),
        token: first.api_token,
        app_id: first.app_id,
        http: reqwest::Client::new(),
        db,
    }
}

impl TestStack {
    pub fn stack(&self) -> &Stack {
        self.stack.as_ref().expect("running")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(token) = token {
            request = request.header("Api-Token", token);
        }
        request.send().await.expect("request")
    }

    /// Any method, JSON body or none, with the first application's token.
    pub async fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> Response {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).header("api-token", token);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        request.send().await.expect("request")
    }

    /// A call that must answer 200, and its JSON body.
    pub async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let response = self.call(method.clone(), path, &self.token, body).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, StatusCode::OK, "{method} {path}: {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    /// Asks token-service, over gRPC, what a user token is worth.
    pub async fn validate(&self, token: &str) -> pb::ValidateTokenResponse {
        let mut client = TokenServiceClient::new(test_support::channel(self.stack().token).await);
        let request = pb::ValidateTokenRequest { token: token.to_owned(), app_id: Some(self.app_id.clone()) };
        client.validate_token(request).await.expect("validation answers").into_inner()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("api-token", token);
        }
        request.send().await.expect("request")
    }

    /// Creates another application through token-service and returns its API token.
    pub async fn second_application(&self) -> String {
        self.application_with(None).await
    }

    pub async fn application_with(&self, settings: Option<pb::ApplicationSettings>) -> String {
        let mut client = TokenServiceClient::new(test_support::channel(self.stack().token).await);
        client
            .create_application(pb::CreateApplicationRequest { name: "second".into(), settings, with_api_token: true })
            .await
            .expect("created")
            .into_inner()
            .api_token
    }

    pub async fn stop(&mut self) {
        if let Some(stack) = self.stack.take() {
            stack.stop().await.expect("clean shutdown");
        }
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        if let Some(stack) = &self.stack {
            stack.shutdown().trigger();
        }
    }
}

/// Asserts a Sendbird error: HTTP status, body `{ "error": true, "code", "message" }`.
pub async fn assert_sendbird_error(response: Response, status: StatusCode, code: u64) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["error"], Value::Bool(true), "{body}");
    assert_eq!(body["code"], Value::from(code), "{body}");
    let message = body["message"].as_str().expect("message").to_owned();
    assert!(!message.is_empty());
    message
}

/// The Python of the official SDKs' virtual environment. Missing, the suites fail: a skipped
/// compatibility suite would pass while proving nothing.
pub fn sdk_python() -> String {
    std::env::var("SDK_COMPAT_PYTHON").expect(
        "SDK_COMPAT_PYTHON is not set: run the suite with scripts/test, which makes the SDKs' virtual environment",
    )
}

/// Runs `test` on a runtime of its own whose every thread (its workers and its blocking pool)
/// reports to `subscriber`, and no other: a subscriber scoped to this test, whether tests share
/// a process or not.
pub fn with_subscriber<F: std::future::Future>(
    subscriber: impl tracing::Subscriber + Send + Sync + 'static,
    test: impl FnOnce() -> F,
) -> F::Output {
    let dispatch = tracing::Dispatch::new(subscriber);
    let on_start = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        // Each runtime thread keeps the subscriber as its default for as long as it lives.
        .on_thread_start(move || std::mem::forget(tracing::dispatcher::set_default(&on_start)))
        .build()
        .expect("runtime");
    let _scoped = tracing::dispatcher::set_default(&dispatch);
    runtime.block_on(test())
}
