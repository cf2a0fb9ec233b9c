//! Profile images: multipart create and update, checked by content, served back at a stable URL.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, assert_sendbird_error, spawn_stack};

/// 8 x 8 pixels, with a text chunk ("private-note-in-metadata") that must not be kept.
pub const PNG: &[u8] = include_bytes!("../fixtures/images/face.png");
/// 8 x 8 pixels, with EXIF ("private-note-in-exif") that must not be kept.
const JPEG: &[u8] = include_bytes!("../fixtures/images/face.jpg");

/// A `multipart/form-data` body with text fields and an optional `profile_file`.
fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "roster-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some(file) = file {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"profile_file\"; filename=\"p\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend(file);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn send_form(
    stack: &TestStack,
    method: Method,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<&[u8]>,
) -> reqwest::Response {
    let (content_type, body) = multipart(fields, file);
    stack
        .http
        .request(method, format!("{}{path}", stack.base))
        .header("api-token", &stack.token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_uploaded_image_becomes_the_profile_url_and_is_served_there() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let response = send_form(
        &stack,
        Method::POST,
        "/v3/users",
        &[("user_id", "pic"), ("nickname", "Pic"), ("issue_access_token", "true"), ("metadata", r#"{"k":"v"}"#)],
        Some(PNG),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["metadata"], json!({ "k": "v" }));
    assert_eq!(created["access_token"].as_str().unwrap().len(), 40);
    let url = created["profile_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/profile_images/", stack.base)), "{url}");

    let image = stack.http.get(&url).send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(image.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert!(image.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let served = image.bytes().await.unwrap();
    assert!(served.starts_with(b"\x89PNG\r\n\x1a\n"), "decoded and written again as PNG");
    assert!(!String::from_utf8_lossy(&served).contains("private-note"), "without the upload's metadata");
    assert_eq!(stack.ok(Method::GET, "/v3/users/pic", None).await["profile_url"], url.as_str());

    // A new image, a new URL; the old one no longer resolves.
    let updated: Value = send_form(&stack, Method::PUT, "/v3/users/pic", &[("nickname", "Pic 2")], Some(JPEG))
        .await
        .json()
        .await
        .unwrap();
    let new_url = updated["profile_url"].as_str().unwrap().to_owned();
    assert_ne!(new_url, url);
    assert!(new_url.ends_with(".jpg"));
    assert_eq!(stack.http.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let jpeg = stack.http.get(&new_url).send().await.unwrap();
    assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
    assert!(!String::from_utf8_lossy(&jpeg.bytes().await.unwrap()).contains("private-note"), "EXIF is dropped");

    // A plain URL replaces the upload.
    stack.ok(Method::PUT, "/v3/users/pic", Some(json!({ "profile_url": "https://cdn.example.com/p.png" }))).await;
    assert_eq!(stack.http.get(&new_url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn images_are_checked_by_content_and_size() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let fields = [("user_id", "bad"), ("nickname", "B")];
    let gif = send_form(&stack, Method::POST, "/v3/users", &fields, Some(b"GIF89a....")).await;
    assert_sendbird_error(gif, StatusCode::BAD_REQUEST, 400111).await;
    // PNG by its first bytes only: noise, HTML, or a header declaring 65,535 pixels a side.
    let mut noise = b"\x89PNG\r\n\x1a\n".to_vec();
    noise.extend((0..2048u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let html = b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>".to_vec();
    let huge = include_bytes!("../fixtures/images/huge.png").to_vec();
    for hostile in [noise, html, huge] {
        let refused = send_form(&stack, Method::POST, "/v3/users", &fields, Some(&hostile)).await;
        assert_sendbird_error(refused, StatusCode::BAD_REQUEST, 400111).await;
    }
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let too_big = send_form(&stack, Method::POST, "/v3/users", &fields, Some(&big)).await;
    assert_sendbird_error(too_big, StatusCode::BAD_REQUEST, 400110).await;
    big.resize(7 * 1024 * 1024, 0);
    let over_limit = send_form(&stack, Method::POST, "/v3/users", &fields, Some(&big)).await;
    assert_sendbird_error(over_limit, StatusCode::PAYLOAD_TOO_LARGE, 400111).await;
    let no_url = send_form(&stack, Method::POST, "/v3/users", &fields, None).await;
    assert_sendbird_error(no_url, StatusCode::BAD_REQUEST, 400105).await;
    let bad_flag = send_form(
        &stack,
        Method::POST,
        "/v3/users",
        &[("user_id", "b"), ("nickname", "n"), ("profile_url", ""), ("is_active", "maybe")],
        None,
    )
    .await;
    assert_sendbird_error(bad_flag, StatusCode::BAD_REQUEST, 400104).await;
    let missing = stack.call(Method::GET, "/v3/users/bad", &stack.token, None).await;
    assert_sendbird_error(missing, StatusCode::BAD_REQUEST, 400201).await;
    let unknown = stack
        .http
        .get(format!("{}/profile_images/{}/{}/x.png", stack.base, stack.app_id, platform::ids::new_id()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn json_bodies_over_the_limit_are_413_in_sendbirds_shape() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let body = json!({ "user_id": "u", "nickname": "n", "profile_url": "x".repeat(7 * 1024 * 1024) });
    let response = stack.call(Method::POST, "/v3/users", &stack.token, Some(body)).await;
    assert_sendbird_error(response, StatusCode::PAYLOAD_TOO_LARGE, 400111).await;
}
