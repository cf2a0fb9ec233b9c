//! The registry's gRPC server: convert, call, convert back.

mod convert;
mod lifecycle;
mod privacy;

use proto::registry::v1::{self as pb, registry_service_server::RegistryService};
use tonic::{Request, Response, Status, Streaming};

use crate::{
    app::{MemberUpdate, OnConflict, Registry, Restored},
    domain::{EmailId, NewUser, Nickname, ProfileUrl, RosterId, UserFilter, UserPatch},
    error::RegistryError,
};

pub use convert::{page_token, parse_page_token, snapshot};
pub use lifecycle::GrpcLifecycle;
pub use pb::registry_service_server::RegistryServiceServer;

pub struct RegistryGrpc {
    registry: Registry,
}

impl RegistryGrpc {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

/// One RestoreUsers message answered, and how many records it held.
struct RestoreAnswer {
    response: pb::RestoreUsersResponse,
    records: u64,
}

async fn restore_batch(
    registry: &Registry,
    message: pb::RestoreUsersRequest,
    first: &mut Option<(String, i32)>,
    first_index: u64,
) -> Result<RestoreAnswer, Status> {
    let pb::RestoreUsersRequest { app_id, records, on_conflict } = message;
    let fixed = first.get_or_insert_with(|| (app_id.clone(), on_conflict));
    if fixed.0 != app_id {
        return Err(RegistryError::ImportAppChanged.into());
    }
    if fixed.1 != on_conflict {
        return Err(Status::invalid_argument("on_conflict changed within one RestoreUsers stream"));
    }
    let on_conflict = match pb::OnConflict::try_from(on_conflict) {
        Ok(pb::OnConflict::Skip) => OnConflict::Skip,
        Ok(pb::OnConflict::Update) => OnConflict::Update,
        Err(_) => return Err(Status::invalid_argument("on_conflict: unknown value")),
    };
    let app_id = convert::app_id(app_id)?;
    let count = records.len() as u64;
    let items = records.into_iter().map(convert::restore_record).collect();
    let results = registry.restore_users(&app_id, items, on_conflict).await?;
    let mut response = pb::RestoreUsersResponse { first_index, ..Default::default() };
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Restored::Created => response.created += 1,
            Restored::Updated => response.updated += 1,
            Restored::Skipped => {
                response.skipped += 1;
                response.left_out.push(pb::BatchItemResult {
                    index: u32::try_from(first_index + i as u64).unwrap_or(u32::MAX),
                    result: Some(pb::batch_item_result::Result::Error(pb::ItemError {
                        code: "skipped_existing".into(),
                        message: "a user with this Roster id is already in the application".into(),
                        field: "id".into(),
                    })),
                });
            }
            Restored::LeftOut(err) => response.left_out.push(convert::item_result(first_index + i as u64, Err(err))),
        }
    }
    Ok(RestoreAnswer { response, records: count })
}

/// The API token a caller presents as `authorization: Bearer <token>`.
fn bearer<T>(request: &Request<T>) -> Option<String> {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

/// Converts a request's user or patch; one carrying an uploaded image is converted on the
/// blocking pool, because decoding and re-encoding the image is CPU work.
async fn convert_off_thread<P, T>(pb: P, has_image: bool) -> Result<T, Status>
where
    P: Send + 'static,
    T: TryFrom<P, Error = RegistryError> + Send + 'static,
{
    if !has_image {
        return T::try_from(pb).map_err(Status::from);
    }
    tokio::task::spawn_blocking(move || T::try_from(pb))
        .await
        .map_err(|err| Status::from(RegistryError::Unexpected(anyhow::anyhow!("image conversion failed: {err}"))))?
        .map_err(Status::from)
}

#[tonic::async_trait]
impl RegistryService for RegistryGrpc {
    #[tracing::instrument(skip_all)]
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        let pb::CreateUserRequest { app_id, user } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        let user = user.unwrap_or_default();
        let has_image = user.profile_image.is_some();
        let new: NewUser = convert_off_thread(user, has_image).await?;
        let user = self.registry.create_user(app_id, new).await?;
        Ok(Response::new(pb::CreateUserResponse { user: Some(user.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn batch_create_users(
        &self,
        request: Request<pb::BatchCreateUsersRequest>,
    ) -> Result<Response<pb::BatchCreateUsersResponse>, Status> {
        let pb::BatchCreateUsersRequest { app_id, users } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        if users.len() > Registry::MAX_BATCH {
            // Before converting anything: refused whole.
            return Err(RegistryError::TooManyUsers { max: Registry::MAX_BATCH }.into());
        }
        let items = users.into_iter().map(NewUser::try_from).collect();
        let results = self.registry.batch_create_users(app_id, items).await?;
        let results = results.into_iter().enumerate().map(|(i, r)| convert::item_result(i as u64, r)).collect();
        Ok(Response::new(pb::BatchCreateUsersResponse { results }))
    }

    /// Every message must name the same application; users are numbered across the stream.
    #[tracing::instrument(skip_all)]
    async fn import_users(
        &self,
        request: Request<Streaming<pb::ImportUsersRequest>>,
    ) -> Result<Response<pb::ImportUsersResponse>, Status> {
        let mut stream = request.into_inner();
        let Some(first) = stream.message().await? else {
            return Ok(Response::new(pb::ImportUsersResponse::default()));
        };
        let mut import = self.registry.import(convert::app_id(first.app_id.clone())?).await?;
        let mut next = Some(first);
        while let Some(pb::ImportUsersRequest { app_id, users }) = next {
            if app_id != import.app_id().as_str() {
                return Err(RegistryError::ImportAppChanged.into());
            }
            import.add(users.into_iter().map(NewUser::try_from).collect()).await?;
            next = stream.message().await?;
        }
        let report = import.finish().await?;
        Ok(Response::new(pb::ImportUsersResponse {
            received: report.received,
            created: report.created,
            skipped_existing: report.skipped_existing,
            failures: report.failures.into_iter().map(|(i, err)| convert::item_result(i, Err(err))).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn upsert_user_by_external_id(
        &self,
        request: Request<pb::UpsertUserByExternalIdRequest>,
    ) -> Result<Response<pb::UpsertUserByExternalIdResponse>, Status> {
        let pb::UpsertUserByExternalIdRequest { app_id, user, mark_authenticated } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        let user = user.unwrap_or_default();
        let has_image = user.profile_image.is_some();
        let new: NewUser = convert_off_thread(user, has_image).await?;
        let (user, created) = self.registry.upsert_user_by_external_id(app_id, new, mark_authenticated).await?;
        Ok(Response::new(pb::UpsertUserByExternalIdResponse { user: Some(user.into()), created }))
    }

    #[tracing::instrument(skip_all)]
    async fn upsert_user_from_channel(
        &self,
        request: Request<pb::UpsertUserFromChannelRequest>,
    ) -> Result<Response<pb::UpsertUserFromChannelResponse>, Status> {
        let pb::UpsertUserFromChannelRequest { app_id, identity, profile } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        let identity = convert::identity(identity)?;
        let (profile, display_name, avatar) = convert::profile_from_pb(profile.unwrap_or_default())?;
        let nickname = display_name.map(Nickname::parse).transpose().map_err(RegistryError::from)?.unwrap_or_default();
        let profile_url = avatar.map(ProfileUrl::parse).transpose().map_err(RegistryError::from)?.unwrap_or_default();
        let (user, created) =
            self.registry.upsert_user_from_channel(app_id, identity, profile, nickname, profile_url).await?;
        Ok(Response::new(pb::UpsertUserFromChannelResponse { user: Some(user.into()), created }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_personal_information(
        &self,
        request: Request<pb::DeletePersonalInformationRequest>,
    ) -> Result<Response<pb::DeletePersonalInformationResponse>, Status> {
        let pb::DeletePersonalInformationRequest { app_id, lookup } = request.into_inner();
        let user =
            self.registry.delete_personal_information(&convert::app_id(app_id)?, &convert::lookup(lookup)?).await?;
        Ok(Response::new(pb::DeletePersonalInformationResponse { user: Some(user.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Result<Response<pb::GetUserResponse>, Status> {
        let pb::GetUserRequest { app_id, lookup } = request.into_inner();
        let user = self.registry.get_user(&convert::app_id(app_id)?, &convert::lookup(lookup)?).await?;
        Ok(Response::new(pb::GetUserResponse { user: Some(user.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UpdateUserResponse>, Status> {
        let pb::UpdateUserRequest { app_id, lookup, patch } = request.into_inner();
        let patch = patch.unwrap_or_default();
        let has_image = patch.profile_image.is_some();
        let patch: UserPatch = convert_off_thread(patch, has_image).await?;
        let user = self.registry.update_user(&convert::app_id(app_id)?, &convert::lookup(lookup)?, patch).await?;
        Ok(Response::new(pb::UpdateUserResponse { user: Some(user.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        let pb::DeleteUserRequest { app_id, lookup } = request.into_inner();
        let id = self.registry.delete_user(&convert::app_id(app_id)?, &convert::lookup(lookup)?).await?;
        Ok(Response::new(pb::DeleteUserResponse { id: id.as_str().to_owned() }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let pb::ListUsersRequest { app_id, page_token, page_size, filter } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        let after = convert::parse_page_token(&page_token)?;
        let filter = UserFilter::try_from(filter.unwrap_or_default())?;
        let page = self.registry.list_users(&app_id, after, page_size, &filter).await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page.users.into_iter().map(Into::into).collect(),
            next_page_token: page.next.as_ref().map(convert::page_token).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn set_metadata(
        &self,
        request: Request<pb::SetMetadataRequest>,
    ) -> Result<Response<pb::SetMetadataResponse>, Status> {
        let pb::SetMetadataRequest { app_id, lookup, metadata, mode } = request.into_inner();
        let metadata = self
            .registry
            .write_metadata(
                &convert::app_id(app_id)?,
                &convert::lookup(lookup)?,
                convert::metadata_from_pb(metadata)?,
                convert::metadata_write(mode)?,
            )
            .await?;
        Ok(Response::new(pb::SetMetadataResponse { metadata: convert::metadata_to_pb(metadata) }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_metadata(
        &self,
        request: Request<pb::DeleteMetadataRequest>,
    ) -> Result<Response<pb::DeleteMetadataResponse>, Status> {
        let pb::DeleteMetadataRequest { app_id, lookup, keys } = request.into_inner();
        let keys = keys
            .into_iter()
            .map(|k| platform::validation::no_nul("keys", k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(RegistryError::from)?;
        let keys = if keys.is_empty() {
            None
        } else {
            let mut keys = keys;
            keys.sort();
            keys.dedup();
            Some(keys)
        };
        self.registry.delete_metadata(&convert::app_id(app_id)?, &convert::lookup(lookup)?, keys).await?;
        Ok(Response::new(pb::DeleteMetadataResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn create_privacy_request(
        &self,
        request: Request<pb::CreatePrivacyRequestRequest>,
    ) -> Result<Response<pb::CreatePrivacyRequestResponse>, Status> {
        let request = privacy::new_request(request.into_inner(), self.registry.now_millis())?;
        let created = self.registry.create_privacy_request(request).await?;
        Ok(Response::new(pb::CreatePrivacyRequestResponse { request: Some(privacy::to_pb(created)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_privacy_request(
        &self,
        request: Request<pb::GetPrivacyRequestRequest>,
    ) -> Result<Response<pb::GetPrivacyRequestResponse>, Status> {
        let pb::GetPrivacyRequestRequest { app_id, id } = request.into_inner();
        let (app_id, id) = privacy::ids(app_id, id)?;
        let found = self.registry.privacy_request(&app_id, &id).await?;
        Ok(Response::new(pb::GetPrivacyRequestResponse { request: Some(privacy::to_pb(found)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_privacy_requests(
        &self,
        request: Request<pb::ListPrivacyRequestsRequest>,
    ) -> Result<Response<pb::ListPrivacyRequestsResponse>, Status> {
        let pb::ListPrivacyRequestsRequest { app_id, page_token, page_size } = request.into_inner();
        let after = convert::parse_page_token(&page_token)?;
        let page = self.registry.privacy_requests(&convert::app_id(app_id)?, after, page_size).await?;
        Ok(Response::new(pb::ListPrivacyRequestsResponse {
            requests: page.requests.into_iter().map(privacy::to_pb).collect(),
            next_page_token: page.next.as_ref().map(convert::page_token).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn cancel_privacy_request(
        &self,
        request: Request<pb::CancelPrivacyRequestRequest>,
    ) -> Result<Response<pb::CancelPrivacyRequestResponse>, Status> {
        let pb::CancelPrivacyRequestRequest { app_id, id } = request.into_inner();
        let (app_id, id) = privacy::ids(app_id, id)?;
        let cancelled = self.registry.cancel_privacy_request(&app_id, &id).await?;
        Ok(Response::new(pb::CancelPrivacyRequestResponse { request: Some(privacy::to_pb(cancelled)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_privacy_export(
        &self,
        request: Request<pb::GetPrivacyExportRequest>,
    ) -> Result<Response<pb::GetPrivacyExportResponse>, Status> {
        let pb::GetPrivacyExportRequest { app_id, id, key } = request.into_inner();
        let (app_id, id) = privacy::ids(app_id, id)?;
        let data = self.registry.privacy_export(&app_id, &id, &key).await?;
        Ok(Response::new(pb::GetPrivacyExportResponse { data }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_profile_image(
        &self,
        request: Request<pb::GetProfileImageRequest>,
    ) -> Result<Response<pb::GetProfileImageResponse>, Status> {
        let pb::GetProfileImageRequest { app_id, id } = request.into_inner();
        let id = RosterId::parse(id).map_err(RegistryError::from)?;
        let image = self.registry.get_profile_image(&convert::app_id(app_id)?, &id).await?;
        Ok(Response::new(pb::GetProfileImageResponse {
            content_type: image.kind.content_type().to_owned(),
            data: image.data,
            digest: image.digest,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn mark_associated(
        &self,
        request: Request<pb::MarkAssociatedRequest>,
    ) -> Result<Response<pb::MarkAssociatedResponse>, Status> {
        let pb::MarkAssociatedRequest { app_id, lookup } = request.into_inner();
        let user = self.registry.mark_associated(&convert::app_id(app_id)?, &convert::lookup(lookup)?).await?;
        Ok(Response::new(pb::MarkAssociatedResponse { user: Some(user.into()) }))
    }

    type ExportUsersStream = tokio_stream::wrappers::ReceiverStream<Result<pb::ExportUsersResponse, Status>>;

    /// Pages through the application's users in id order from a task that stays at most two
    /// batches ahead of the caller; it stops when the caller goes away.
    #[tracing::instrument(skip_all)]
    async fn export_users(
        &self,
        request: Request<pb::ExportUsersRequest>,
    ) -> Result<Response<Self::ExportUsersStream>, Status> {
        let token = bearer(&request);
        let pb::ExportUsersRequest { app_id, include_sensitive, after, batch_size } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        let mut after =
            if after.is_empty() { None } else { Some(RosterId::parse(after).map_err(RegistryError::from)?) };
        let size = if batch_size == 0 { Registry::EXPORT_BATCH } else { batch_size.min(Registry::MAX_EXPORT_BATCH) };
        if include_sensitive {
            self.registry.authorize_sensitive(&app_id, token.as_deref()).await?;
        }
        let mut total = Some(self.registry.count_users(&app_id).await?);
        tracing::info!(app.id = app_id.as_str(), sensitive = include_sensitive, total, "export started");
        let registry = self.registry.clone();
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            loop {
                let page = registry.export_page(&app_id, after.as_ref(), size, include_sensitive).await;
                let page = match page {
                    Ok(page) => page,
                    Err(err) => {
                        let _ = sender.send(Err(err.into())).await;
                        return;
                    }
                };
                if page.is_empty() && total.is_none() {
                    return;
                }
                let last = page.len() < size as usize;
                after = page.last().map(|(user, _)| user.id.clone());
                let users = page
                    .into_iter()
                    .map(|(user, fields)| pb::ExportedUser {
                        user: Some(user.into()),
                        sensitive_metadata: fields.into_entries().into_iter().collect(),
                    })
                    .collect();
                let message = pb::ExportUsersResponse { users, total: total.take() };
                if sender.send(Ok(message)).await.is_err() || last {
                    return;
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(receiver)))
    }

    type RestoreUsersStream = tokio_stream::wrappers::ReceiverStream<Result<pb::RestoreUsersResponse, Status>>;

    /// Answers each message once its batch is written, in order; the first message fixes the
    /// application and `on_conflict`. A failure ends the stream with its status after the
    /// answers of the batches written before it.
    #[tracing::instrument(skip_all)]
    async fn restore_users(
        &self,
        request: Request<Streaming<pb::RestoreUsersRequest>>,
    ) -> Result<Response<Self::RestoreUsersStream>, Status> {
        let mut stream = request.into_inner();
        let registry = self.registry.clone();
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            let mut first: Option<(String, i32)> = None;
            let mut index = 0u64;
            loop {
                let answer = match stream.message().await {
                    Ok(None) => return,
                    Ok(Some(message)) => restore_batch(&registry, message, &mut first, index).await,
                    Err(status) => Err(status),
                };
                let done = answer.is_err();
                if let Ok(answer) = &answer {
                    index += answer.records;
                }
                if sender.send(answer.map(|a| a.response)).await.is_err() || done {
                    return;
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(receiver)))
    }

    #[tracing::instrument(skip_all)]
    async fn list_sensitive_field_names(
        &self,
        request: Request<pb::ListSensitiveFieldNamesRequest>,
    ) -> Result<Response<pb::ListSensitiveFieldNamesResponse>, Status> {
        let pb::ListSensitiveFieldNamesRequest { app_id, lookup } = request.into_inner();
        let names = self.registry.sensitive_field_names(&convert::app_id(app_id)?, &convert::lookup(lookup)?).await?;
        Ok(Response::new(pb::ListSensitiveFieldNamesResponse { names }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_sensitive_metadata(
        &self,
        request: Request<pb::GetSensitiveMetadataRequest>,
    ) -> Result<Response<pb::GetSensitiveMetadataResponse>, Status> {
        let token = bearer(&request);
        let pb::GetSensitiveMetadataRequest { app_id, lookup } = request.into_inner();
        let fields = self
            .registry
            .sensitive_metadata(&convert::app_id(app_id)?, &convert::lookup(lookup)?, token.as_deref())
            .await?;
        Ok(Response::new(pb::GetSensitiveMetadataResponse { fields: fields.into_entries().into_iter().collect() }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_members(
        &self,
        request: Request<pb::UpdateMembersRequest>,
    ) -> Result<Response<pb::UpdateMembersResponse>, Status> {
        let pb::UpdateMembersRequest { app_id, updates } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        if updates.len() > Registry::MAX_MEMBERS {
            // Before converting anything: refused whole.
            return Err(RegistryError::TooMany { field: "updates", max: Registry::MAX_MEMBERS }.into());
        }
        let updates = updates.into_iter().map(MemberUpdate::try_from).collect();
        let results = self.registry.update_members(&app_id, updates).await?;
        let results = results.into_iter().enumerate().map(|(i, r)| convert::item_result(i as u64, r)).collect();
        Ok(Response::new(pb::UpdateMembersResponse { results }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_members(
        &self,
        request: Request<pb::GetMembersRequest>,
    ) -> Result<Response<pb::GetMembersResponse>, Status> {
        let pb::GetMembersRequest { app_id, email_ids } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        if email_ids.len() > Registry::MAX_MEMBERS {
            return Err(RegistryError::TooMany { field: "email_ids", max: Registry::MAX_MEMBERS }.into());
        }
        let email_ids = email_ids.into_iter().map(|e| EmailId::parse(e).map_err(RegistryError::from)).collect();
        let results = self.registry.get_members(&app_id, email_ids).await?;
        let results = results.into_iter().enumerate().map(|(i, r)| convert::item_result(i as u64, r)).collect();
        Ok(Response::new(pb::GetMembersResponse { results }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_member_groups(
        &self,
        request: Request<pb::ListMemberGroupsRequest>,
    ) -> Result<Response<pb::ListMemberGroupsResponse>, Status> {
        let pb::ListMemberGroupsRequest { app_id, offset, limit } = request.into_inner();
        let page = self.registry.list_member_groups(&convert::app_id(app_id)?, offset, limit).await?;
        Ok(Response::new(page.into()))
    }

    #[tracing::instrument(skip_all)]
    async fn list_member_roles(
        &self,
        request: Request<pb::ListMemberRolesRequest>,
    ) -> Result<Response<pb::ListMemberRolesResponse>, Status> {
        let pb::ListMemberRolesRequest { app_id, kind, offset, limit } = request.into_inner();
        let (app_id, kind) = (convert::app_id(app_id)?, convert::role_kind(kind)?);
        let page = self.registry.list_member_roles(&app_id, kind, offset, limit).await?;
        Ok(Response::new(pb::ListMemberRolesResponse { total: page.total, role_ids: page.role_ids }))
    }
}
