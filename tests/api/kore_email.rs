//! Kore.ai's `sendEmail`: a member created with it (the default) gets an activation email through
//! the SMTP relay `smtp.url`, retried when the relay fails for a while; without it, none. Against
//! an SMTP server the test starts.

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;
use test_support::Backend;

use crate::{
    helpers::spawn_stack_with,
    kore::{admin_client, jwt},
    smtp::SmtpServer,
};

async fn members_asked_to_activate_get_one_email_each(backend: Backend) {
    let mut smtp = SmtpServer::start(1).await;
    let url = smtp.url();
    let t = spawn_stack_with(backend, false, move |s| {
        s.webhooks.first_retry_ms = 20;
        s.webhooks.idle_poll_ms = 20;
        s.smtp.url = Some(SecretString::from(url));
        s.smtp.from = "Acme <no-reply@acme.example>".into();
    })
    .await;
    let admin = admin_client(&t, vec![]).await;
    let body = json!({ "users": [
        { "userInfo": { "emailId": "ana@example.com", "firstName": "Ana" } },
        { "userInfo": { "emailId": "bo@example.com" }, "sendEmail": false },
        { "userInfo": { "emailId": "cy@example.com" }, "sendEmail": true },
    ] });
    let response = t
        .http
        .post(format!("{}/api/public/users", t.base))
        .header("auth", jwt(&admin, &admin.secret))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The relay refuses the first email once (451): it comes again.
    let mut mails = [smtp.next().await, smtp.next().await];
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(mails[0].to, ["ana@example.com"]);
    assert_eq!(mails[1].to, ["cy@example.com"]);
    assert!(mails.iter().all(|m| m.from == "no-reply@acme.example"));
    assert!(mails[0].data.contains("Subject: Activate your account"), "{}", mails[0].data);
    assert!(mails[0].data.contains("Hello Ana,"), "{}", mails[0].data);
    assert!(mails[0].data.contains("Message-ID: <"), "the event id, for de-duplication");
    // bo@ asked for none: nothing more arrives once both are delivered.
    let delivered = crate::webhooks_sendbird::wait_for(&t, proto::events::v1::DeliveryStatus::Delivered, 2).await;
    assert_eq!(delivered.len(), 2);
}

test_support::contract!(members_asked_to_activate_get_one_email_each);
