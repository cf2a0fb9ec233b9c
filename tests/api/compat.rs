//! The official Sendbird Platform SDK (Python, `sendbird-platform-sdk` 2.1.5) against the whole
//! stack, changing only its host. `scripts/test` makes the virtual environment and sets
//! `SDK_COMPAT_PYTHON`; the tokens the SDK was handed are then validated over gRPC.

use serde_json::Value;
use test_support::Backend;

use crate::helpers::spawn_stack;

#[tokio::test]
async fn sendbird_sdk() {
    let python = crate::helpers::sdk_python();
    let stack = spawn_stack(Backend::Sqlite, true).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/compat/sendbird_sdk.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("ROSTER_URL", &stack.base)
        .env("ROSTER_TOKEN", &stack.token)
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "SDK suite failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(stdout.lines().last().expect("a report")).expect("JSON report");

    let token = |name: &str| report[name].as_str().unwrap_or_else(|| panic!("{name} in report")).to_owned();
    assert!(!stack.validate(&token("access_pushed_out")).await.valid, "the 11th access token revoked the first");
    assert!(stack.validate(&token("access_latest")).await.valid);
    assert!(!stack.validate(&token("session_revoked")).await.valid, "revoke-all through the gateway");
    assert!(stack.validate(&token("session_live")).await.valid);
    assert!(!stack.validate(&token("access_of_deleted_user")).await.valid, "deleting a user stops its tokens");
    for name in ["access_of_deactivated_user", "session_of_deactivated_user"] {
        let answer = stack.validate(&token(name)).await;
        assert!(!answer.valid, "{name}");
        assert_eq!(answer.reason(), proto::token::v1::InvalidReason::UserDeactivated, "{name}");
    }
}
