//! Kore.ai's user API beyond creation, through the whole stack: a member created with every
//! `userInfo` field, read back by usersInfo, changed, listed in its groups and roles, removed
//! (its tokens with it) and gone through Sendbird too; each call's per-user failures and
//! whole-request refusals.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::{
    helpers::{TestStack, assert_sendbird_error, spawn_stack},
    kore::{admin_client, jwt, kore_error, members},
};

/// A Kore call with the `auth` header (when given) and a JSON body (when given).
async fn kore(stack: &TestStack, method: Method, path: &str, auth: Option<&str>, body: Option<&Value>) -> Response {
    let mut request = stack.http.request(method, format!("{}{path}", stack.base));
    if let Some(auth) = auth {
        request = request.header("auth", auth);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// A call that must answer 200, and its body.
async fn ok(stack: &TestStack, method: Method, path: &str, auth: &str, body: Option<&Value>) -> Value {
    let response = kore(stack, method.clone(), path, Some(auth), body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{method} {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn auth(stack: &TestStack) -> String {
    let admin = admin_client(stack, vec![]).await;
    jwt(&admin, &admin.secret)
}

/// Every `userInfo` field Kore documents.
fn every_field(email: &str) -> Value {
    json!({
        "emailId": email, "orgUserId": "emp-1", "firstName": "Ana", "lastName": "Lima",
        "companyName": "Acme", "dept": "Support", "companyContactPhone": "+351 21 000 0000", "worknumber": "321",
        "street": "Rua Augusta 1", "suiteNo": "4B", "city": "Lisboa", "zip": "1100-053", "state": "Lisboa",
        "country": "PT"
    })
}

/// Each failure's identifying value and reason message, in order.
fn failures(answer: &Value, key: &str) -> Vec<(String, String)> {
    answer["failedUserDetails"]
        .as_array()
        .unwrap_or_else(|| panic!("no failedUserDetails: {answer}"))
        .iter()
        .map(|f| {
            let holder = if f.get("userInfo").is_some() { &f["userInfo"] } else { f };
            let reason = &holder["reason"];
            assert_eq!(reason["errors"][0]["msg"], reason["message"], "{f}");
            assert_eq!(reason["statusCode"], reason["errors"][0]["code"], "{f}");
            (holder[key].as_str().unwrap_or_default().to_owned(), reason["message"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_member_round_trips_from_creation_to_removal() {
    let stack = spawn_stack(Backend::Postgres, false).await;
    let auth = auth(&stack).await;
    let created = ok(
        &stack,
        Method::POST,
        "/api/public/users",
        &auth,
        Some(&json!({ "users": [
            { "userInfo": every_field("Ana@Example.com"), "groups": ["support", "sales"],
              "roles": [ { "roleId": "r-admin" }, { "roleId": "r-dev", "botId": "st-1" } ],
              "assignBotTasks": [ { "streamId": "st-1", "dialogs": ["dg-1"] } ], "canCreateBot": false },
            { "userInfo": { "emailId": "bo@example.com", "jTitle": "CTO" } }
        ] })),
    )
    .await;
    assert_eq!(failures(&created, "emailId"), [("bo@example.com".into(), "INVALID_USERINFO".into())]);

    // usersInfo: every field as sent, in Kore's shape; an unknown email as a failure item.
    let asked = json!({ "emailIds": ["ana@example.com", "nobody@example.com"] });
    let info = ok(&stack, Method::POST, "/api/public/usersInfo", &auth, Some(&asked)).await;
    let ana = &info[0];
    let mut expected_info = every_field("Ana@Example.com");
    let fields = expected_info.as_object_mut().unwrap();
    fields.insert("status".into(), "inactive".into());
    fields.insert("userId".into(), ana["userInfo"]["userId"].clone());
    assert_eq!(ana["userInfo"], expected_info, "every userInfo field kept; pending activation is not active");
    let id = ana["userInfo"]["userId"].as_str().unwrap().to_owned();
    assert_eq!((ana["canCreateBot"].clone(), ana["isDeveloper"].clone()), (json!(false), json!(true)));
    assert_eq!(ana["roles"]["adminRoles"], json!([ { "roleId": "r-admin", "groups": [] } ]));
    assert_eq!(ana["roles"]["btRoles"], json!([ { "roleId": "r-dev", "groups": [], "botId": "st-1" } ]));
    assert_eq!(
        ana["assignBotTasks"],
        json!([ { "botId": "st-1", "dialogs": ["dg-1"], "actions": [], "alerts": [], "knowledgeTask": [] } ])
    );
    assert_eq!(
        ana["groups"],
        json!([ { "groupId": "support", "groupName": "support" }, { "groupId": "sales", "groupName": "sales" } ])
    );
    assert_eq!(info[1]["userInfo"]["emailId"], "nobody@example.com");
    assert_eq!(info[1]["userInfo"]["status"], "failure");
    assert_eq!(info[1]["userInfo"]["reason"]["message"], "User not found. Please check the provided email address.");
    let active = json!({ "emailIds": ["ana@example.com"], "status": "active" });
    assert_eq!(ok(&stack, Method::POST, "/api/public/usersInfo", &auth, Some(&active)).await, json!([]));

    // Update by emailId: names, particulars (empty clears), orgUserId, groups, roles, tasks, flags.
    let change = json!({ "users": [ {
        "userInfo": { "emailId": "ANA@example.com", "orgUserId": "emp-9", "firstName": "Ana Maria", "lastName": "",
                      "city": "Porto", "zip": "" },
        "groups": { "addTo": ["emea"], "removeFrom": ["support"] },
        "roles": { "addTo": [ { "roleId": "r-view", "botId": "st-2" } ], "removeFrom": [ { "roleId": "r-admin" } ] },
        "assignBotTasks": [ { "botId": "st-2" } ],
        "isDeveloper": false
    } ] });
    let updated = ok(&stack, Method::PUT, "/api/public/users", &auth, Some(&change)).await;
    assert_eq!(updated, json!({ "msg": "Users are updated Successfully" }));
    let info =
        ok(&stack, Method::POST, "/api/public/usersInfo", &auth, Some(&json!({ "emailIds": ["ana@example.com"] })))
            .await;
    let user_info = &info[0]["userInfo"];
    assert_eq!((user_info["firstName"].clone(), user_info["lastName"].clone()), (json!("Ana Maria"), json!("")));
    assert_eq!((user_info["orgUserId"].clone(), user_info["city"].clone()), (json!("emp-9"), json!("Porto")));
    assert!(user_info.get("zip").is_none(), "cleared: {user_info}");
    assert_eq!(user_info["companyName"], "Acme", "what the change did not name stays");
    assert_eq!(info[0]["groups"].as_array().unwrap().len(), 2);
    assert_eq!(info[0]["roles"]["adminRoles"], json!([]));
    let bots: Vec<&str> =
        info[0]["assignBotTasks"].as_array().unwrap().iter().map(|t| t["botId"].as_str().unwrap()).collect();
    assert_eq!(bots, ["st-1", "st-2"]);
    assert_eq!((info[0]["canCreateBot"].clone(), info[0]["isDeveloper"].clone()), (json!(false), json!(false)));

    // By orgUserId: an entry without botId unassigns every bot.
    let change = json!({ "users": [ { "userInfo": { "orgUserId": "emp-9" }, "assignBotTasks": [ {} ] } ] });
    ok(&stack, Method::PUT, "/api/public/users", &auth, Some(&change)).await;
    let info =
        ok(&stack, Method::POST, "/api/public/usersInfo", &auth, Some(&json!({ "emailIds": ["ana@example.com"] })))
            .await;
    assert_eq!(info[0]["assignBotTasks"], json!([]));

    // Groups and roles, from what the members hold.
    let groups = ok(&stack, Method::GET, "/api/public/groups", &auth, None).await;
    assert_eq!((groups["total"].clone(), groups["availableMore"].clone()), (json!(3), json!(false)));
    let names: Vec<&str> = groups["groups"].as_array().unwrap().iter().map(|g| g["gN"].as_str().unwrap()).collect();
    assert_eq!(names, ["emea", "sales", "support"]);
    let emea = &groups["groups"][0];
    assert_eq!((emea["_id"].clone(), emea["userCount"].clone()), (json!("emea"), json!(1)));
    assert_eq!(
        emea["users"][0],
        json!({ "_id": id, "emailId": "Ana@Example.com", "firstName": "Ana Maria", "lastName": "",
                "activationStatus": "inactive", "orgId": stack.app_id })
    );
    assert_eq!(groups["groups"][2]["users"], json!([]), "left, and the group stays");
    let roles = ok(&stack, Method::GET, "/api/public/roles?roleType=bot", &auth, None).await;
    assert_eq!(
        roles,
        json!({ "total": 2, "availableMore": false,
                "roles": [ { "roleType": "bot", "_id": "r-dev" }, { "roleType": "bot", "_id": "r-view" } ] })
    );
    let roles = ok(&stack, Method::GET, "/api/public/roles?roleType=admin", &auth, None).await;
    assert_eq!(roles, json!({ "total": 0, "availableMore": false, "roles": [] }));

    // Removed the way every user is: its tokens stop working, and it is gone everywhere.
    let token = stack.ok(Method::POST, &format!("/v3/users/{id}/token"), Some(json!({}))).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(stack.validate(&token).await.valid);
    let removed =
        ok(&stack, Method::DELETE, "/api/public/users", &auth, Some(&json!({ "deleteEmailIds": ["ana@EXAMPLE.com"] })))
            .await;
    assert_eq!(removed, json!({ "msg": "Users are removed Successfully" }));
    assert!(!stack.validate(&token).await.valid, "the member's tokens went with it");
    let info =
        ok(&stack, Method::POST, "/api/public/usersInfo", &auth, Some(&json!({ "emailIds": ["ana@example.com"] })))
            .await;
    assert_eq!(info[0]["userInfo"]["status"], "failure");
    let sendbird = stack.call(Method::GET, &format!("/v3/users/{id}"), &stack.token, None).await;
    assert_sendbird_error(sendbird, StatusCode::BAD_REQUEST, 400201).await;
    let groups = ok(&stack, Method::GET, "/api/public/groups", &auth, None).await;
    assert!(groups["groups"].as_array().unwrap().iter().all(|g| g["userCount"] == 0), "{groups}");
    assert!(members(&stack).await.is_empty());
}

#[tokio::test]
async fn updates_and_removals_name_each_failure_and_write_nothing_of_it() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let auth = auth(&stack).await;
    let users = json!({ "users": [
        { "userInfo": { "emailId": "ana@example.com", "orgUserId": "emp-1", "firstName": "Ana" }, "groups": ["a"] },
        { "userInfo": { "emailId": "bo@example.com", "orgUserId": "emp-2" } },
        { "userInfo": { "emailId": "cy@example.com", "orgUserId": "emp-3" } }
    ] });
    ok(&stack, Method::POST, "/api/public/users", &auth, Some(&users)).await;

    let hundred: Vec<String> = (0..100).map(|i| format!("g{i}")).collect();
    let change = json!({ "users": [
        { "userInfo": { "emailId": "ana@example.com", "orgUserId": "emp-2", "firstName": "Taken" } },
        { "userInfo": { "emailId": "ana@example.com", "firstName": "Crowded" }, "groups": { "addTo": hundred } },
        { "userInfo": { "emailId": "ana@example.com", "manager": "bo" } },
        { "userInfo": { "firstName": "Nobody named" } },
        { "userInfo": { "emailId": "nobody@example.com" } },
        { "userInfo": { "emailId": "not-an-email" } },
        { "userInfo": { "emailId": "ana@example.com" }, "groups": ["a"] },
        { "userInfo": { "emailId": "ana@example.com", "city": "c".repeat(257) } },
        { "userInfo": { "orgUserId": "emp-3", "lastName": "Changed" } }
    ] });
    let answer = ok(&stack, Method::PUT, "/api/public/users", &auth, Some(&change)).await;
    let expected = [
        ("ana@example.com", "DUPLICATE_USER"),
        ("ana@example.com", "INVALID_GROUPS"),
        ("ana@example.com", "INVALID_USERINFO"),
        ("", "INVALID_USERINFO"),
        ("nobody@example.com", "USER_NOT_FOUND"),
        ("not-an-email", "INVALID_EMAIL"),
        ("ana@example.com", "INVALID_GROUPS"),
        ("ana@example.com", "INVALID_CITY"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(e, m)| (e.to_string(), m.to_string())).collect();
    assert_eq!(failures(&answer, "emailId"), expected);
    assert_eq!(answer["failedUserDetails"][0]["userInfo"]["reason"]["statusCode"], 409);
    assert_eq!(answer["failedUserDetails"][4]["userInfo"]["reason"]["name"], "NotFound");
    let info = ok(
        &stack,
        Method::POST,
        "/api/public/usersInfo",
        &auth,
        Some(&json!({ "emailIds": ["ana@example.com", "cy@example.com"] })),
    )
    .await;
    assert_eq!(info[0]["userInfo"]["firstName"], "Ana", "nothing of a refused change was written");
    assert_eq!(
        (info[0]["userInfo"]["orgUserId"].clone(), info[0]["groups"].as_array().unwrap().len()),
        (json!("emp-1"), 1)
    );
    assert_eq!(info[1]["userInfo"]["lastName"], "Changed", "the valid one was");

    // Removal: each member once; the unknown and the malformed named.
    let removal =
        json!({ "deleteEmailIds": ["bo@example.com", "BO@example.com", "nobody@example.com", "not-an-email"] });
    let answer = ok(&stack, Method::DELETE, "/api/public/users", &auth, Some(&removal)).await;
    let expected = [("nobody@example.com", "USER_NOT_FOUND"), ("not-an-email", "INVALID_EMAIL")];
    let expected: Vec<(String, String)> = expected.iter().map(|(e, m)| (e.to_string(), m.to_string())).collect();
    assert_eq!(failures(&answer, "emailId"), expected);
    let removal = json!({ "orgUserIds": ["emp-3", "emp-2"] });
    let answer = ok(&stack, Method::DELETE, "/api/public/users", &auth, Some(&removal)).await;
    assert_eq!(failures(&answer, "orgUserId"), [("emp-2".to_string(), "USER_NOT_FOUND".to_string())]);
    let left: Vec<String> = members(&stack).await.into_iter().map(|u| u.member.unwrap().email_id.unwrap()).collect();
    assert_eq!(left, ["ana@example.com"]);

    // Whole-request refusals, before anything is written.
    for (method, path, body, status) in [
        (Method::PUT, "/api/public/users", json!({ "users": [] }), StatusCode::BAD_REQUEST),
        (Method::PUT, "/api/public/users", json!({ "users": vec![json!({}); 1001] }), StatusCode::BAD_REQUEST),
        (Method::DELETE, "/api/public/users", json!({}), StatusCode::BAD_REQUEST),
        (
            Method::DELETE,
            "/api/public/users",
            json!({ "deleteEmailIds": ["ana@example.com"], "orgUserIds": ["emp-1"] }),
            StatusCode::BAD_REQUEST,
        ),
        (Method::DELETE, "/api/public/users", json!({ "deleteEmailIds": "ana@example.com" }), StatusCode::BAD_REQUEST),
        (Method::POST, "/api/public/usersInfo", json!({ "emailIds": [] }), StatusCode::BAD_REQUEST),
        (
            Method::POST,
            "/api/public/usersInfo",
            json!({ "emailIds": ["ana@example.com"], "status": "inactive" }),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = kore(&stack, method.clone(), path, Some(&auth), Some(&body)).await;
        kore_error(response, status).await;
    }
    let malformed = stack
        .http
        .put(format!("{}/api/public/users", stack.base))
        .header("auth", &auth)
        .body("{ not json")
        .send()
        .await
        .unwrap();
    kore_error(malformed, StatusCode::BAD_REQUEST).await;
    let unauthenticated = kore(
        &stack,
        Method::DELETE,
        "/api/public/users",
        None,
        Some(&json!({ "deleteEmailIds": ["ana@example.com"] })),
    )
    .await;
    kore_error(unauthenticated, StatusCode::UNAUTHORIZED).await;
    assert_eq!(members(&stack).await.len(), 1, "still there");
}

#[tokio::test]
async fn groups_and_roles_page_and_refuse_bad_queries() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let auth = auth(&stack).await;
    let users = json!({ "users": [
        { "userInfo": { "emailId": "ana@example.com" }, "groups": ["c", "a"], "roles": [ { "roleId": "r2" }, { "roleId": "r1", "botId": "st-1" } ] },
        { "userInfo": { "emailId": "bo@example.com" }, "groups": ["b"], "roles": [ { "roleId": "r1" } ], "sendEmail": false }
    ] });
    ok(&stack, Method::POST, "/api/public/users", &auth, Some(&users)).await;

    let page = |value: &Value| {
        let ids: Vec<String> =
            value["groups"].as_array().unwrap().iter().map(|g| g["_id"].as_str().unwrap().to_owned()).collect();
        (value["total"].as_u64().unwrap(), value["availableMore"].as_bool().unwrap(), ids)
    };
    let first = ok(&stack, Method::GET, "/api/public/groups?offset=0&limit=2", &auth, None).await;
    assert_eq!(page(&first), (3, true, vec!["a".into(), "b".into()]));
    let second = ok(&stack, Method::GET, "/api/public/groups?offset=1&limit=2", &auth, None).await;
    assert_eq!(page(&second), (3, false, vec!["c".into()]));
    assert_eq!(
        page(&ok(&stack, Method::GET, "/api/public/groups?limit=500", &auth, None).await).2.len(),
        3,
        "at most 50"
    );
    assert_eq!(page(&ok(&stack, Method::GET, "/api/public/groups?offset=9", &auth, None).await), (3, false, vec![]));
    let a = &first["groups"][0];
    let statuses: Vec<&str> =
        a["users"].as_array().unwrap().iter().map(|u| u["activationStatus"].as_str().unwrap()).collect();
    assert_eq!((a["userCount"].clone(), statuses), (json!(1), vec!["inactive"]));
    assert_eq!(first["groups"][1]["users"][0]["activationStatus"], "active", "sendEmail false: active at once");

    let admin = ok(&stack, Method::GET, "/api/public/roles?roleType=admin&limit=1", &auth, None).await;
    assert_eq!(admin, json!({ "total": 2, "availableMore": true, "roles": [ { "roleType": "admin", "_id": "r1" } ] }));
    let admin = ok(&stack, Method::GET, "/api/public/roles?roleType=admin&limit=1&offset=1", &auth, None).await;
    assert_eq!(admin["roles"], json!([ { "roleType": "admin", "_id": "r2" } ]));
    let bot = ok(&stack, Method::GET, "/api/public/roles?roleType=bot", &auth, None).await;
    assert_eq!(bot["roles"], json!([ { "roleType": "bot", "_id": "r1" } ]));

    for path in [
        "/api/public/groups?limit=0",
        "/api/public/groups?limit=abc",
        "/api/public/groups?offset=-1",
        "/api/public/roles",
        "/api/public/roles?roleType=owner",
        "/api/public/roles?roleType=bot&limit=0",
    ] {
        kore_error(kore(&stack, Method::GET, path, Some(&auth), None).await, StatusCode::BAD_REQUEST).await;
    }
    kore_error(kore(&stack, Method::GET, "/api/public/groups", None, None).await, StatusCode::UNAUTHORIZED).await;
    let narrow = admin_client(&stack, vec![proto::token::v1::Scope::App]).await;
    let narrow = jwt(&narrow, &narrow.secret);
    kore_error(
        kore(&stack, Method::GET, "/api/public/roles?roleType=bot", Some(&narrow), None).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}
