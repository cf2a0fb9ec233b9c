//! Uploaded profile images, served without credentials at the stable URL that became the
//! user's `profile_url` (the path names the application, the user and the image's digest, so
//! a new image gets a new URL and old URLs stop resolving).

use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use proto::registry::v1 as pb;

use crate::clients::{Clients, RequestId};

/// `GET /profile_images/{app_id}/{id}/{digest}.{png|jpg}`
#[utoipa::path(get, path = "/profile_images/{app_id}/{id}/{file}", tag = "Sendbird",
    params(
        ("app_id" = String, Path, description = "The application"),
        ("id" = String, Path, description = "The user's Roster id"),
        ("file" = String, Path, description = "`<digest>.png` or `<digest>.jpg`, as the `profile_url` names it"),
    ),
    responses(
        (status = 200, description = "The uploaded image, without credentials", content(("image/png"), ("image/jpeg"))),
        (status = 404, description = "No such image (or no longer this user's)"),
        (status = 503, description = "The registry is unavailable"),
    ))]
pub async fn serve(
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((app_id, id, file)): Path<(String, String, String)>,
) -> Response {
    let request = pb::GetProfileImageRequest { app_id, id };
    let image = match clients.registry.clone().get_profile_image(request_id.grpc(request)).await {
        Ok(image) => image.into_inner(),
        Err(status) if matches!(status.code(), tonic::Code::NotFound | tonic::Code::InvalidArgument) => {
            return StatusCode::NOT_FOUND.into_response();
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), "profile image unavailable");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let extension = if image.content_type == "image/png" { "png" } else { "jpg" };
    if file != format!("{}.{extension}", image.digest) {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, image.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_owned()),
            // Never read as anything but the image it says it is, never run as a document.
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox".to_owned()),
        ],
        image.data,
    )
        .into_response()
}
