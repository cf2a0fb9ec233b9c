//! The dashboard in a real browser: `tests/browser/dashboard.py` drives Debian's Chromium with
//! Playwright for Python against the whole stack (`scripts/test` installs both and sets
//! `BROWSER_PYTHON` and `CHROMIUM`). The screenshots it takes go to a temporary directory, or,
//! with `UPDATE_SCREENSHOTS=1`, to `docs/images/dashboard/` (what README shows).

use serde_json::{Value, json};
use test_support::Backend;

use crate::{helpers::spawn_stack, sunshine::other_application};

#[tokio::test]
async fn dashboard_in_chromium() {
    let python = std::env::var("BROWSER_PYTHON").expect(
        "BROWSER_PYTHON is not set: run the suite with scripts/test, which makes the browser suite's environment",
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let stack = spawn_stack(Backend::Sqlite, false).await;
    for (user_id, nickname) in [("ana", "Ana Lima"), ("bruno", "Bruno Costa"), ("carla", "Carla Dias")] {
        let body =
            json!({ "user_id": user_id, "nickname": nickname, "profile_url": "", "metadata": { "plan": "gold" } });
        stack.ok(reqwest::Method::POST, "/v3/users", Some(body)).await;
    }
    // A user of another application, which the dashboard must never show.
    let other = other_application(&stack).await;
    let mut registry = crate::sunshine::registry(&stack).await;
    let user = proto::registry::v1::NewUser {
        user_id: Some("someone-elses-user".into()),
        nickname: "Elsewhere".into(),
        ..Default::default()
    };
    let request = proto::registry::v1::CreateUserRequest { app_id: other.clone(), user: Some(user) };
    registry.create_user(request).await.expect("created elsewhere");

    let dir = tempfile::tempdir().unwrap();
    let shots = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/images/dashboard");
        std::fs::create_dir_all(docs).unwrap();
        docs.to_owned()
    } else {
        dir.path().to_str().unwrap().to_owned()
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/dashboard.py");
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(180),
        tokio::process::Command::new(python)
            .arg(script)
            .env("ROSTER_URL", &stack.base)
            .env("ROSTER_TOKEN", &stack.token)
            .env("ROSTER_APP", &stack.app_id)
            .env("OTHER_APP", &other)
            .env("OTHER_USER", "someone-elses-user")
            .env("CHROMIUM", chromium)
            .env("SCREENSHOTS", &shots)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser suite ends within 3 minutes")
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "browser suite failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(stdout.lines().last().expect("a report")).expect("JSON report");
    let token = report["session_token"].as_str().expect("the token copied");
    // A real session token of the user, revoked when the suite deleted the user at its end.
    let validation = stack.validate(token).await;
    assert_eq!(validation.reason, proto::token::v1::InvalidReason::Revoked as i32, "{validation:?}");
    assert!(report["axe_pages"].as_array().is_some_and(|pages| pages.len() >= 6), "{report}");
    for name in ["sign-in", "users", "user", "settings", "users-phone"] {
        assert!(std::path::Path::new(&shots).join(format!("{name}.png")).exists(), "{name}.png");
    }
}
