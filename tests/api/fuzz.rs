//! Schemathesis (PyPI) against the whole stack in its production shape (PostgreSQL and Redis),
//! driven by the OpenAPI document the gateway serves: every operation of every dialect, with
//! generated valid and invalid inputs and each dialect's own credentials. Checks: no 5xx, every
//! status, header, content type and body as the document says, invalid input refused, no
//! request answered without credentials, no response slower than the request timeout.
//! `scripts/test` makes the virtual environment and sets `SCHEMATHESIS`; the run is bounded by
//! the number of examples per operation.

use std::path::Path;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proto::token::v1::{self as pb, token_service_client::TokenServiceClient};
use serde_json::json;
use test_support::Backend;

use crate::helpers::{TestStack, spawn_stack};

/// Generated cases per operation and phase: about 2,500 requests in all.
const EXAMPLES: &str = "20";

/// The credentials of every dialect, as Schemathesis reads them (`[auth.openapi.<scheme>]`).
async fn config(stack: &TestStack) -> String {
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let key = pb::CreateAppKeyRequest { app_id: stack.app_id.clone(), display_name: "fuzz".into() };
    let key = tokens.create_app_key(key).await.expect("app key").into_inner();
    let admin = pb::CreateAdminClientRequest {
        app_id: stack.app_id.clone(),
        name: "fuzz".into(),
        scopes: vec![pb::Scope::UserManagement as i32],
    };
    let admin = tokens.create_admin_client(admin).await.expect("admin client").into_inner();
    let claims = json!({ "appId": admin.client.expect("client").id, "exp": platform::now_millis() / 1000 + 3600 });
    let kore = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(admin.secret.as_bytes()),
    )
    .expect("JWT");
    let mut jwt_header = Header::new(Algorithm::HS256);
    let key_id = key.key.expect("key").id;
    jwt_header.kid = Some(key_id.clone());
    let sunshine_jwt =
        jsonwebtoken::encode(&jwt_header, &json!({ "scope": "app" }), &EncodingKey::from_secret(key.secret.as_bytes()))
            .expect("JWT");
    format!(
        r#"request-timeout = 10
[parameters]
"path.app_id" = "{app}"
[auth.openapi.sendbird_api_token]
api_key = "{token}"
[auth.openapi.ada_bearer]
bearer = "{token}"
[auth.openapi.sunshine_basic]
username = "{key_id}"
password = "{key_secret}"
[auth.openapi.sunshine_jwt]
bearer = "{sunshine_jwt}"
[auth.openapi.kore_auth]
api_key = "{kore}"

# Every check but one: valid input may still be refused for what a schema cannot say (a user
# that does not exist, a language tag that is not BCP 47).
[checks]
positive_data_acceptance.enabled = false

# Sendbird answers a missing or wrong API token with 400 and code 400401, as Sendbird does.
[[operations]]
include-tag = "Sendbird"
checks.ignored_auth.enabled = false

# Kore reports a user of the wrong shape in a 200's failedUserDetails, by design: the request
# is accepted and that user refused, so a schema-violating user is not a rejected request.
[[operations]]
include-path = "/api/public/users"
checks.negative_data_rejection.enabled = false
"#,
        app = stack.app_id,
        token = stack.token,
        key_secret = key.secret,
    )
}

async fn schemathesis(dir: &Path, base: &str, extra: &[&str]) -> (bool, String) {
    let program = std::env::var("SCHEMATHESIS").expect(
        "SCHEMATHESIS is not set: run the suite with scripts/test, which makes the fuzzing virtual environment",
    );
    let output = tokio::process::Command::new(program)
        .current_dir(dir)
        .args(["run", &format!("{base}/openapi.json"), "--max-examples", EXAMPLES, "--seed", "1"])
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("schemathesis runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test]
async fn every_operation_holds_up_to_generated_input() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("schemathesis.toml"), config(&stack).await).expect("config");
    // Deleting an app key is fuzzed last and without the stateful phase: that phase lists the
    // keys and would delete the one the other operations authenticate with.
    const DELETE_KEY: &str = "DELETE /v2/apps/{app_id}/keys/{key_id}";
    let (ok, report) = schemathesis(dir.path(), &stack.base, &["--exclude-name", DELETE_KEY]).await;
    assert!(ok, "Schemathesis found failures:\n{report}");
    assert!(report.contains("Tested:"), "no operation was tested:\n{report}");
    let only = ["--include-name", DELETE_KEY, "--phases", "examples,coverage,fuzzing"];
    let (ok, report) = schemathesis(dir.path(), &stack.base, &only).await;
    assert!(ok, "Schemathesis found failures deleting app keys:\n{report}");
}
