//! token-service over a real socket: applications, API tokens, caller authentication.

use platform::{ApiError, ErrorCode};
use proto::token::v1 as pb;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::{TestTokenService, spawn_token_service};

async fn create_app(service: &mut TestTokenService, name: &str) -> (String, String) {
    let created = service
        .client
        .create_application(pb::CreateApplicationRequest { name: name.into(), settings: None, with_api_token: true })
        .await
        .expect("created")
        .into_inner();
    (created.application.expect("app").id, created.api_token)
}

fn authenticate(token: &str, app_id: Option<&str>) -> pb::AuthenticateCallerRequest {
    pb::AuthenticateCallerRequest {
        credential: Some(pb::authenticate_caller_request::Credential::ApiToken(token.into())),
        app_id: app_id.map(str::to_owned),
    }
}

#[tokio::test]
async fn answers_health_serving() {
    let service = spawn_token_service(false).await;
    let mut health = HealthClient::new(test_support::channel(service.addr).await);
    let status = health
        .check(HealthCheckRequest { service: "roster.token.v1.TokenService".into() })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
}

#[tokio::test]
async fn an_api_token_authenticates_its_application_only() {
    let mut service = spawn_token_service(true).await;
    let (app_a, token_a) = create_app(&mut service, "a").await;
    let (app_b, _) = create_app(&mut service, "b").await;
    assert_eq!(token_a.len(), 40);

    for _ in 0..2 {
        // The second round is answered from the cache.
        let caller = service.client.authenticate_caller(authenticate(&token_a, None)).await.unwrap().into_inner();
        assert_eq!(caller.app_id, app_a);
        assert_eq!(caller.scopes, vec![pb::Scope::App as i32]);
    }
    let wrong_app =
        service.client.authenticate_caller(authenticate(&token_a, Some(&app_b))).await.expect_err("other app");
    assert_eq!(ApiError::from_status(&wrong_app).code, ErrorCode::CredentialInvalid);
}

#[tokio::test]
async fn unknown_and_missing_tokens_are_refused() {
    let mut service = spawn_token_service(false).await;
    let unknown = service.client.authenticate_caller(authenticate("f".repeat(40).as_str(), None)).await.unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);
    assert_eq!(ApiError::from_status(&unknown).code, ErrorCode::CredentialInvalid);
    let empty = service.client.authenticate_caller(authenticate("", None)).await.unwrap_err();
    assert_eq!(ApiError::from_status(&empty).code, ErrorCode::CredentialMissing);
    let none = service.client.authenticate_caller(pb::AuthenticateCallerRequest::default()).await.unwrap_err();
    assert_eq!(ApiError::from_status(&none).code, ErrorCode::CredentialMissing);
}

async fn revocation_takes_effect_at_once(with_redis: bool) {
    let mut service = spawn_token_service(with_redis).await;
    let (app, _) = create_app(&mut service, "a").await;
    let created = service
        .client
        .create_api_token(pb::CreateApiTokenRequest { app_id: app.clone(), name: "ci".into(), scopes: vec![] })
        .await
        .unwrap()
        .into_inner();
    // Warm the cache, then revoke.
    service.client.authenticate_caller(authenticate(&created.api_token, None)).await.expect("valid");
    service
        .client
        .revoke_api_token(pb::RevokeApiTokenRequest { app_id: app, api_token_id: created.info.unwrap().id })
        .await
        .expect("revoked");
    let refused = service.client.authenticate_caller(authenticate(&created.api_token, None)).await.unwrap_err();
    assert_eq!(ApiError::from_status(&refused).code, ErrorCode::CredentialInvalid);
}

#[tokio::test]
async fn revocation_takes_effect_at_once_with_redis() {
    revocation_takes_effect_at_once(true).await;
}

#[tokio::test]
async fn revocation_takes_effect_at_once_in_process() {
    revocation_takes_effect_at_once(false).await;
}

#[tokio::test]
async fn application_names_are_validated() {
    let mut service = spawn_token_service(false).await;
    let err = service
        .client
        .create_application(pb::CreateApplicationRequest { name: " ".into(), settings: None, with_api_token: false })
        .await
        .unwrap_err();
    let err = ApiError::from_status(&err);
    assert_eq!((err.code, err.field.as_deref()), (ErrorCode::MissingField, Some("name")));
}
