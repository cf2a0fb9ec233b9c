//! `roster users import`: the real binary against a running stack, importing Kore.ai users
//! from CSV and JSON Lines files with bad rows, twice.

use std::path::Path;

use proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
use reqwest::Method;
use test_support::Backend;

use crate::helpers::{TestStack, spawn_stack};

/// Runs `roster users import ARGS` against the stack's registry: success, stdout, stderr.
async fn roster_import(stack: &TestStack, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["users", "import"])
        .args(args)
        .env("ROSTER_REGISTRY__ENDPOINT", format!("http://{}", stack.stack().registry))
        .env("ROSTER_TELEMETRY__FILTER", "warn")
        .output()
        .await
        .expect("roster runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// The summary's count for `label` ("created", "skipped existing"...).
fn summary(out: &str, label: &str) -> u64 {
    let line = out.lines().find_map(|l| l.strip_prefix(&format!("{label}:"))).unwrap_or_else(|| panic!("{out}"));
    line.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{out}"))
}

async fn members(stack: &TestStack) -> Vec<pb::User> {
    let mut client = RegistryServiceClient::new(test_support::channel(stack.stack().registry).await);
    let request = pb::ListUsersRequest { app_id: stack.app_id.clone(), page_size: 100, ..Default::default() };
    let mut users = client.list_users(request).await.expect("list").into_inner().users;
    users.sort_by(|a, b| a.member.as_ref().unwrap().email_id.cmp(&b.member.as_ref().unwrap().email_id));
    users
}

/// The rejected CSV rows: (line, reason).
fn rejected_csv(path: &Path) -> Vec<(String, String)> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path).expect("rejected file");
    let header = reader.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name} in {header:?}"));
    let (line, reason) = (at("line"), at("reason"));
    reader.records().map(|r| r.unwrap()).map(|r| (r[line].to_owned(), r[reason].to_owned())).collect()
}

const CSV: &str = "\
emailId,orgUserId,firstName,lastName,groups,canCreateBot,isDeveloper
ana@example.com,org-1,Ana,Lima,sales; emea,true,false
bruno@example.com,,Bruno,Costa,,,
not-an-email,org-3,Bad,Email,,,
carla@example.com,org-4,Carla,Dias,,maybe,
ANA@example.com,org-5,Ana,Again,,,
dora@example.com,org-6,Dora
,org-7,No,Email,,,
eva@example.com,org-8,\"Eva, Jr.\",Souza,sales,,
";

#[tokio::test]
async fn a_csv_file_with_bad_rows_imports_twice_without_duplicates() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("team.csv");
    std::fs::write(&file, CSV).unwrap();
    let rejected_file = dir.path().join("team.csv.rejected");
    let expected_rejections = [
        ("4", "email_id"),
        ("5", "canCreateBot must be true or false"),
        ("6", "already_exists (email_id)"),
        ("7", "the row has 3 fields, the header 7"),
        ("8", "missing_field (email_id)"),
    ];

    let (ok, out, err) = roster_import(&stack, &[file.to_str().unwrap(), "--app", &stack.app_id]).await;
    assert!(ok, "{err}");
    assert_eq!(
        ["received", "created", "skipped existing", "rejected"].map(|l| summary(&out, l)),
        [8, 3, 0, 5],
        "{out}"
    );
    let rejected = rejected_csv(&rejected_file);
    assert_eq!(rejected.len(), 5, "{rejected:?}");
    for ((line, reason), (expected_line, expected_reason)) in rejected.iter().zip(expected_rejections) {
        assert_eq!(line, expected_line);
        assert!(reason.contains(expected_reason), "line {line}: {reason}");
    }

    let users = members(&stack).await;
    let emails: Vec<_> = users.iter().map(|u| u.member.clone().unwrap().email_id.unwrap()).collect();
    assert_eq!(emails, ["ana@example.com", "bruno@example.com", "eva@example.com"]);
    let ana = users[0].member.clone().unwrap();
    assert_eq!((ana.org_user_id.as_deref(), ana.groups.clone()), (Some("org-1"), vec!["sales".into(), "emea".into()]));
    assert!(ana.can_create_bot && !ana.is_developer);
    assert_eq!(ana.activation(), pb::ActivationState::Active, "a CSV row asks for no activation");
    assert_eq!(users[2].profile.as_ref().unwrap().given_name.as_deref(), Some("Eva, Jr."));
    // Visible through another dialect, by its user id (the Roster id).
    let sendbird = stack.ok(Method::GET, &format!("/v3/users/{}", users[0].user_id), None).await;
    assert_eq!(sendbird["user_id"], users[0].id.as_str());

    // Again: nothing new; the good rows are skipped, the bad ones rejected again.
    let (ok, out, err) = roster_import(&stack, &[file.to_str().unwrap(), "--app", &stack.app_id, "--batch", "2"]).await;
    assert!(ok, "{err}");
    assert_eq!(
        ["received", "created", "skipped existing", "rejected"].map(|l| summary(&out, l)),
        [8, 0, 3, 5],
        "{out}"
    );
    assert_eq!(rejected_csv(&rejected_file), rejected, "the same rows, the same reasons");
    assert_eq!(members(&stack).await.len(), 3);
}

#[tokio::test]
async fn kore_json_lines_import_and_what_cannot_run_fails() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.jsonl");
    let lines = [
        r#"{"userInfo":{"emailId":"kim@example.com","orgUserId":"o-1","firstName":"Kim","lastName":"Park"},"groups":["ops"],"roles":[{"roleId":"r-admin","botId":"st-1"},{"roleId":"r-view"}],"assignBotTasks":[{"streamId":"st-1","dialogs":["dg-1"]},{"streamId":"st-2"}],"canCreateBot":false}"#,
        "",
        r#"{"userInfo":{"emailId":"lee@example.com"},"sendEmail":false,"isDeveloper":false}"#,
        r#"{"userInfo": "#,
        r#"{"userInfo":{"emailId":"max@example.com"},"roles":[{"botId":"st-1"}]}"#,
        r#"{"userInfo":{"emailId":"ned@example.com"},"roles":[{"roleId":""}]}"#,
        r#"{"userInfo":{"emailId":"oli@example.com","jTitle":"CTO"}}"#,
        r#"{"userInfo":{"emailId":"pia@example.com","companyName":"Acme","worknumber":"321","country":"PT"}}"#,
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let rejected_file = dir.path().join("refused.jsonl");

    let args = [file.to_str().unwrap(), "--app", &stack.app_id, "--rejected", rejected_file.to_str().unwrap()];
    let (ok, out, err) = roster_import(&stack, &args).await;
    assert!(ok, "{err}");
    assert_eq!(["received", "created", "rejected"].map(|l| summary(&out, l)), [7, 3, 4], "{out}");
    let users = members(&stack).await;
    let kim = users[0].member.clone().unwrap();
    assert_eq!(kim.activation(), pb::ActivationState::Pending, "sendEmail defaults to true");
    assert_eq!(
        kim.roles,
        [
            pb::RoleBinding { role_id: "r-admin".into(), bot_id: Some("st-1".into()) },
            pb::RoleBinding { role_id: "r-view".into(), bot_id: None }
        ]
    );
    assert_eq!(
        kim.bot_tasks,
        [
            pb::BotTaskAssignment { stream_id: "st-1".into(), dialogs: vec!["dg-1".into()] },
            pb::BotTaskAssignment { stream_id: "st-2".into(), dialogs: vec![] }
        ]
    );
    assert!(!kim.can_create_bot && kim.is_developer);
    let lee = users[1].member.clone().unwrap();
    assert_eq!((lee.activation(), lee.is_developer), (pb::ActivationState::Active, false));

    let rejected: Vec<serde_json::Value> =
        std::fs::read_to_string(&rejected_file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let lines: Vec<_> = rejected.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [4, 5, 6, 7]);
    assert!(rejected[3]["reason"].as_str().unwrap().contains("jTitle"), "an unknown userInfo field: {}", rejected[3]);
    let pia = users[2].member.clone().unwrap().info.unwrap();
    assert_eq!((pia.company_name.as_deref(), pia.work_number.as_deref()), (Some("Acme"), Some("321")));
    assert_eq!(rejected[0]["user"], r#"{"userInfo":"#, "a row that is not JSON is kept as text");
    assert!(rejected[1]["reason"].as_str().unwrap().contains("roleId"), "{}", rejected[1]);
    assert_eq!(rejected[2]["user"]["userInfo"]["emailId"], "ned@example.com");
    assert!(rejected[2]["reason"].as_str().unwrap().contains("roles.role_id"), "{}", rejected[2]);

    // What cannot run exits non-zero: no such file, no format, an unknown application.
    let missing = dir.path().join("missing.csv");
    let (ok, _, err) = roster_import(&stack, &[missing.to_str().unwrap(), "--app", &stack.app_id]).await;
    assert!(!ok && err.contains("cannot open"), "{err}");
    let odd = dir.path().join("users.txt");
    std::fs::write(&odd, "x").unwrap();
    let (ok, _, err) = roster_import(&stack, &[odd.to_str().unwrap(), "--app", &stack.app_id]).await;
    assert!(!ok && err.contains("--format"), "{err}");
    let (ok, _, err) = roster_import(&stack, &[file.to_str().unwrap(), "--app", "not-an-app"]).await;
    assert!(!ok && err.contains("refused"), "{err}");
}

#[tokio::test]
async fn csv_columns_are_every_user_info_field_and_nothing_else() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("team.csv");
    std::fs::write(&file, "emailId,companyName,dept,suiteNo,City,zip\nana@example.com,Acme,Ops,4B,Porto,4000\n")
        .unwrap();
    let (ok, out, err) = roster_import(&stack, &[file.to_str().unwrap(), "--app", &stack.app_id]).await;
    assert!(ok, "{err}");
    assert_eq!(summary(&out, "created"), 1, "{out}");
    let info = members(&stack).await[0].member.clone().unwrap().info.unwrap();
    let kept = (info.company_name, info.dept, info.suite_no, info.city, info.zip, info.street);
    assert_eq!(
        kept,
        (Some("Acme".into()), Some("Ops".into()), Some("4B".into()), Some("Porto".into()), Some("4000".into()), None)
    );

    // A rejected file's own columns are skipped; any other column Roster would not keep
    // refuses the file, and nothing is imported.
    std::fs::write(&file, "emailId,city,line,reason\nbo@example.com,Faro,3,invalid_argument (email_id)\n").unwrap();
    let (ok, out, err) = roster_import(&stack, &[file.to_str().unwrap(), "--app", &stack.app_id]).await;
    assert!(ok && summary(&out, "created") == 1, "{out}{err}");
    std::fs::write(&file, "emailId,jobTitle\nbo@example.com,CTO\n").unwrap();
    let (ok, _, err) = roster_import(&stack, &[file.to_str().unwrap(), "--app", &stack.app_id]).await;
    assert!(!ok && err.contains("jobTitle"), "{err}");
    assert_eq!(members(&stack).await.len(), 2);
}
