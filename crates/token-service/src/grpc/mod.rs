//! Token-service gRPC server. Secrets are never recorded in spans.

mod convert;
mod directory;

pub use directory::GrpcDirectory;

use proto::token::v1::{self as pb, token_service_server::TokenService};
use tonic::{Request, Response, Status};

use crate::{app::Tokens, domain::Secret};

pub use pb::token_service_server::TokenServiceServer;

const MAX_PAGE: u32 = 100;

pub struct TokenGrpc {
    tokens: Tokens,
}

impl TokenGrpc {
    pub fn new(tokens: Tokens) -> Self {
        Self { tokens }
    }
}

#[tonic::async_trait]
impl TokenService for TokenGrpc {
    #[tracing::instrument(skip_all)]
    async fn create_application(
        &self,
        request: Request<pb::CreateApplicationRequest>,
    ) -> Result<Response<pb::CreateApplicationResponse>, Status> {
        let pb::CreateApplicationRequest { name, settings, with_api_token } = request.into_inner();
        let name = convert::name("name", name)?;
        let created = self.tokens.create_application(name, convert::settings(settings)?, with_api_token).await?;
        let (api_token_info, api_token) = match created.api_token {
            Some((info, secret)) => (Some(info.into()), secret.into_exposed()),
            None => (None, String::new()),
        };
        Ok(Response::new(pb::CreateApplicationResponse {
            application: Some(created.application.into()),
            api_token_info,
            api_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_application(
        &self,
        request: Request<pb::GetApplicationRequest>,
    ) -> Result<Response<pb::GetApplicationResponse>, Status> {
        let pb::GetApplicationRequest { app_id } = request.into_inner();
        let app = self.tokens.get_application(&convert::app_id(app_id)?).await?;
        Ok(Response::new(pb::GetApplicationResponse { application: Some(app.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_applications(
        &self,
        request: Request<pb::ListApplicationsRequest>,
    ) -> Result<Response<pb::ListApplicationsResponse>, Status> {
        let pb::ListApplicationsRequest { page_token, page_size } = request.into_inner();
        let after = if page_token.is_empty() { None } else { Some(convert::app_id(page_token)?) };
        let size = page_size.clamp(1, MAX_PAGE);
        // One extra row tells whether another page exists.
        let mut apps = self.tokens.list_applications(after.as_ref(), u64::from(size) + 1).await?;
        let next_page_token = if apps.len() > size as usize {
            apps.truncate(size as usize);
            apps.last().map(|a| a.id.as_str().to_owned()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListApplicationsResponse {
            applications: apps.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_application(
        &self,
        request: Request<pb::UpdateApplicationRequest>,
    ) -> Result<Response<pb::UpdateApplicationResponse>, Status> {
        let pb::UpdateApplicationRequest { app_id, name, settings } = request.into_inner();
        let name = name.map(|n| convert::name("name", n)).transpose()?;
        let settings = settings.map(|s| convert::settings(Some(s))).transpose()?;
        let app = self.tokens.update_application(&convert::app_id(app_id)?, name, settings).await?;
        Ok(Response::new(pb::UpdateApplicationResponse { application: Some(app.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_api_token(
        &self,
        request: Request<pb::CreateApiTokenRequest>,
    ) -> Result<Response<pb::CreateApiTokenResponse>, Status> {
        let pb::CreateApiTokenRequest { app_id, name, scopes } = request.into_inner();
        let (info, secret) = self
            .tokens
            .create_api_token(convert::app_id(app_id)?, convert::name("name", name)?, convert::scopes(scopes)?)
            .await?;
        Ok(Response::new(pb::CreateApiTokenResponse { info: Some(info.into()), api_token: secret.into_exposed() }))
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_api_token(
        &self,
        request: Request<pb::RevokeApiTokenRequest>,
    ) -> Result<Response<pb::RevokeApiTokenResponse>, Status> {
        let pb::RevokeApiTokenRequest { app_id, api_token_id } = request.into_inner();
        self.tokens.revoke_api_token(&convert::app_id(app_id)?, &api_token_id).await?;
        Ok(Response::new(pb::RevokeApiTokenResponse {}))
    }

    #[tracing::instrument(skip_all, fields(app.id, credential.id))]
    async fn authenticate_caller(
        &self,
        request: Request<pb::AuthenticateCallerRequest>,
    ) -> Result<Response<pb::AuthenticateCallerResponse>, Status> {
        let pb::AuthenticateCallerRequest { credential, app_id } = request.into_inner();
        let expected_app = app_id.map(convert::app_id).transpose()?;
        let caller = match credential {
            Some(pb::authenticate_caller_request::Credential::ApiToken(token)) => {
                self.tokens.authenticate_api_token(Secret::from_presented(token), expected_app.as_ref()).await?
            }
            Some(pb::authenticate_caller_request::Credential::Basic(pb::BasicCredential { key_id, secret })) => {
                self.tokens.authenticate_basic(&key_id, &secret, expected_app.as_ref()).await?
            }
            Some(pb::authenticate_caller_request::Credential::Jwt(jwt)) => {
                self.tokens.authenticate_jwt(&jwt, expected_app.as_ref()).await?
            }
            None => return Err(crate::error::TokenError::CredentialMissing.into()),
        };
        let span = tracing::Span::current();
        span.record("app.id", caller.app_id.as_str());
        span.record("credential.id", caller.credential_id.as_str());
        Ok(Response::new(pb::AuthenticateCallerResponse {
            app_id: caller.app_id.as_str().to_owned(),
            scopes: convert::scopes_to_pb(&caller.scopes),
            credential_id: caller.credential_id,
            rate_limit_per_second: caller.rate_limit_per_second,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_user_tokens(
        &self,
        request: Request<pb::RevokeUserTokensRequest>,
    ) -> Result<Response<pb::RevokeUserTokensResponse>, Status> {
        let pb::RevokeUserTokensRequest { app_id, user_id } = request.into_inner();
        self.tokens.revoke_user_tokens(&convert::app_id(app_id)?, &user_id).await?;
        Ok(Response::new(pb::RevokeUserTokensResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_access_token(
        &self,
        request: Request<pb::IssueAccessTokenRequest>,
    ) -> Result<Response<pb::IssueAccessTokenResponse>, Status> {
        let pb::IssueAccessTokenRequest { app_id, user_id } = request.into_inner();
        let issued = self.tokens.issue_access_token(&convert::app_id(app_id)?, &user_id).await?;
        Ok(Response::new(pb::IssueAccessTokenResponse {
            info: Some(issued.token.into()),
            token: issued.secret.into_exposed(),
            revoked_ids: issued.revoked_ids,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_access_tokens(
        &self,
        request: Request<pb::ListAccessTokensRequest>,
    ) -> Result<Response<pb::ListAccessTokensResponse>, Status> {
        let pb::ListAccessTokensRequest { app_id, user_id, include_revoked } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        let tokens = if include_revoked {
            let history = self.tokens.access_token_history(&app_id, &user_id).await?;
            history
                .into_iter()
                .map(|(token, revoked_at)| pb::AccessTokenInfo {
                    revoked_at: revoked_at.map(proto::timestamp_from_millis),
                    ..token.into()
                })
                .collect()
        } else {
            self.tokens.list_access_tokens(&app_id, &user_id).await?.into_iter().map(Into::into).collect()
        };
        Ok(Response::new(pb::ListAccessTokensResponse { tokens }))
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_access_token(
        &self,
        request: Request<pb::RevokeAccessTokenRequest>,
    ) -> Result<Response<pb::RevokeAccessTokenResponse>, Status> {
        let pb::RevokeAccessTokenRequest { app_id, token_id } = request.into_inner();
        self.tokens.revoke_access_token(&convert::app_id(app_id)?, &token_id).await?;
        Ok(Response::new(pb::RevokeAccessTokenResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_session_token(
        &self,
        request: Request<pb::IssueSessionTokenRequest>,
    ) -> Result<Response<pb::IssueSessionTokenResponse>, Status> {
        let pb::IssueSessionTokenRequest { app_id, user_id, expires_at } = request.into_inner();
        let expires_at = expires_at.as_ref().map(proto::timestamp_to_millis);
        let issued = self.tokens.issue_session_token(&convert::app_id(app_id)?, &user_id, expires_at).await?;
        Ok(Response::new(pb::IssueSessionTokenResponse {
            token: issued.token,
            expires_at: Some(proto::timestamp_from_millis(issued.expires_at)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_session_tokens(
        &self,
        request: Request<pb::RevokeSessionTokensRequest>,
    ) -> Result<Response<pb::RevokeSessionTokensResponse>, Status> {
        let pb::RevokeSessionTokensRequest { app_id, user_id } = request.into_inner();
        self.tokens.revoke_session_tokens(&convert::app_id(app_id)?, &user_id).await?;
        Ok(Response::new(pb::RevokeSessionTokensResponse {}))
    }

    /// The hot path: no span of its own at info level, no database on the common path.
    async fn validate_token(
        &self,
        request: Request<pb::ValidateTokenRequest>,
    ) -> Result<Response<pb::ValidateTokenResponse>, Status> {
        let pb::ValidateTokenRequest { token, app_id } = request.into_inner();
        let expected_app = app_id.map(convert::app_id).transpose()?;
        let outcome = self.tokens.validate(&token, expected_app.as_ref()).await?;
        Ok(Response::new(convert::validation(outcome)))
    }

    #[tracing::instrument(skip_all)]
    async fn set_user_active(
        &self,
        request: Request<pb::SetUserActiveRequest>,
    ) -> Result<Response<pb::SetUserActiveResponse>, Status> {
        let pb::SetUserActiveRequest { app_id, user_id, active } = request.into_inner();
        self.tokens.set_user_active(&convert::app_id(app_id)?, &user_id, active).await?;
        Ok(Response::new(pb::SetUserActiveResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn authorize_connection(
        &self,
        request: Request<pb::AuthorizeConnectionRequest>,
    ) -> Result<Response<pb::AuthorizeConnectionResponse>, Status> {
        let pb::AuthorizeConnectionRequest { app_id, user_id, token } = request.into_inner();
        let connection =
            self.tokens.authorize_connection(&convert::app_id(app_id)?, &user_id, token.as_deref()).await?;
        Ok(Response::new(convert::connection(connection)))
    }

    #[tracing::instrument(skip_all)]
    async fn list_api_tokens(
        &self,
        request: Request<pb::ListApiTokensRequest>,
    ) -> Result<Response<pb::ListApiTokensResponse>, Status> {
        let pb::ListApiTokensRequest { app_id } = request.into_inner();
        let tokens = self.tokens.list_api_tokens(&convert::app_id(app_id)?).await?;
        Ok(Response::new(pb::ListApiTokensResponse { tokens: tokens.into_iter().map(Into::into).collect() }))
    }

    #[tracing::instrument(skip_all)]
    async fn start_console_session(
        &self,
        request: Request<pb::StartConsoleSessionRequest>,
    ) -> Result<Response<pb::StartConsoleSessionResponse>, Status> {
        let pb::StartConsoleSessionRequest { api_token } = request.into_inner();
        let started = self.tokens.start_console_session(Secret::from_presented(api_token)).await?;
        Ok(Response::new(pb::StartConsoleSessionResponse {
            id: started.id,
            session: Some(convert::console_session(started.session)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_console_session(
        &self,
        request: Request<pb::GetConsoleSessionRequest>,
    ) -> Result<Response<pb::GetConsoleSessionResponse>, Status> {
        let pb::GetConsoleSessionRequest { id } = request.into_inner();
        let session = self.tokens.console_session(&id).await?;
        Ok(Response::new(pb::GetConsoleSessionResponse { session: session.map(convert::console_session) }))
    }

    #[tracing::instrument(skip_all)]
    async fn add_console_application(
        &self,
        request: Request<pb::AddConsoleApplicationRequest>,
    ) -> Result<Response<pb::AddConsoleApplicationResponse>, Status> {
        let pb::AddConsoleApplicationRequest { id, api_token } = request.into_inner();
        let session = self.tokens.add_console_application(&id, Secret::from_presented(api_token)).await?;
        Ok(Response::new(pb::AddConsoleApplicationResponse { session: session.map(convert::console_session) }))
    }

    #[tracing::instrument(skip_all)]
    async fn end_console_session(
        &self,
        request: Request<pb::EndConsoleSessionRequest>,
    ) -> Result<Response<pb::EndConsoleSessionResponse>, Status> {
        let pb::EndConsoleSessionRequest { id } = request.into_inner();
        self.tokens.end_console_session(&id).await?;
        Ok(Response::new(pb::EndConsoleSessionResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn create_app_key(
        &self,
        request: Request<pb::CreateAppKeyRequest>,
    ) -> Result<Response<pb::CreateAppKeyResponse>, Status> {
        let pb::CreateAppKeyRequest { app_id, display_name } = request.into_inner();
        let (key, secret) =
            self.tokens.create_app_key(convert::app_id(app_id)?, convert::name("display_name", display_name)?).await?;
        Ok(Response::new(pb::CreateAppKeyResponse { key: Some(key.into()), secret: secret.expose().to_owned() }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_app_keys(
        &self,
        request: Request<pb::ListAppKeysRequest>,
    ) -> Result<Response<pb::ListAppKeysResponse>, Status> {
        let pb::ListAppKeysRequest { app_id } = request.into_inner();
        let keys = self.tokens.list_app_keys(&convert::app_id(app_id)?).await?;
        Ok(Response::new(pb::ListAppKeysResponse { keys: keys.into_iter().map(Into::into).collect() }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_app_key(
        &self,
        request: Request<pb::GetAppKeyRequest>,
    ) -> Result<Response<pb::GetAppKeyResponse>, Status> {
        let pb::GetAppKeyRequest { app_id, key_id } = request.into_inner();
        let key = self.tokens.get_app_key(&convert::app_id(app_id)?, &key_id).await?;
        Ok(Response::new(pb::GetAppKeyResponse { key: Some(key.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_app_key(
        &self,
        request: Request<pb::DeleteAppKeyRequest>,
    ) -> Result<Response<pb::DeleteAppKeyResponse>, Status> {
        let pb::DeleteAppKeyRequest { app_id, key_id } = request.into_inner();
        self.tokens.delete_app_key(&convert::app_id(app_id)?, &key_id).await?;
        Ok(Response::new(pb::DeleteAppKeyResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn register_public_key(
        &self,
        request: Request<pb::RegisterPublicKeyRequest>,
    ) -> Result<Response<pb::RegisterPublicKeyResponse>, Status> {
        let pb::RegisterPublicKeyRequest { app_id, algorithm, pem } = request.into_inner();
        let key = self.tokens.register_public_key(convert::app_id(app_id)?, &algorithm, pem).await?;
        Ok(Response::new(pb::RegisterPublicKeyResponse { key: Some(key.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_public_keys(
        &self,
        request: Request<pb::ListPublicKeysRequest>,
    ) -> Result<Response<pb::ListPublicKeysResponse>, Status> {
        let pb::ListPublicKeysRequest { app_id } = request.into_inner();
        let keys = self.tokens.list_public_keys(&convert::app_id(app_id)?).await?;
        Ok(Response::new(pb::ListPublicKeysResponse { keys: keys.into_iter().map(Into::into).collect() }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_public_key(
        &self,
        request: Request<pb::DeletePublicKeyRequest>,
    ) -> Result<Response<pb::DeletePublicKeyResponse>, Status> {
        let pb::DeletePublicKeyRequest { app_id, key_id } = request.into_inner();
        self.tokens.delete_public_key(&convert::app_id(app_id)?, &key_id).await?;
        Ok(Response::new(pb::DeletePublicKeyResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn login_with_jwt(
        &self,
        request: Request<pb::LoginWithJwtRequest>,
    ) -> Result<Response<pb::LoginWithJwtResponse>, Status> {
        let pb::LoginWithJwtRequest { app_id, jwt } = request.into_inner();
        let login = self.tokens.login_with_jwt(&convert::app_id(app_id)?, &jwt).await?;
        Ok(Response::new(pb::LoginWithJwtResponse {
            user_id: login.user_id,
            external_id: login.external_id,
            created: login.created,
            session_token: login.session.token,
            expires_at: Some(proto::timestamp_from_millis(login.session.expires_at)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_admin_client(
        &self,
        request: Request<pb::CreateAdminClientRequest>,
    ) -> Result<Response<pb::CreateAdminClientResponse>, Status> {
        let pb::CreateAdminClientRequest { app_id, name, scopes } = request.into_inner();
        let (client, secret) = self
            .tokens
            .create_admin_client(convert::app_id(app_id)?, convert::name("name", name)?, convert::scopes(scopes)?)
            .await?;
        Ok(Response::new(pb::CreateAdminClientResponse {
            client: Some(client.into()),
            secret: secret.expose().to_owned(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_admin_clients(
        &self,
        request: Request<pb::ListAdminClientsRequest>,
    ) -> Result<Response<pb::ListAdminClientsResponse>, Status> {
        let pb::ListAdminClientsRequest { app_id } = request.into_inner();
        let clients = self.tokens.list_admin_clients(&convert::app_id(app_id)?).await?;
        Ok(Response::new(pb::ListAdminClientsResponse { clients: clients.into_iter().map(Into::into).collect() }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_admin_client(
        &self,
        request: Request<pb::DeleteAdminClientRequest>,
    ) -> Result<Response<pb::DeleteAdminClientResponse>, Status> {
        let pb::DeleteAdminClientRequest { app_id, client_id } = request.into_inner();
        self.tokens.delete_admin_client(&convert::app_id(app_id)?, &client_id).await?;
        Ok(Response::new(pb::DeleteAdminClientResponse {}))
    }
}
