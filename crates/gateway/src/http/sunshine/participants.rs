//! `/v2/apps/{appId}/conversations/{conversationId}/participants` with Sunshine's cursor paging;
//! `join` (upserts a participant named by `userExternalId` and marks it associated, as creating a
//! conversation does) and `leave`.

use axum::{
    Json,
    extract::{OriginalUri, Path, RawQuery, State},
    http::StatusCode,
};
use platform::{ApiError, ErrorCode};
use proto::{context::v1 as pb, registry::v1 as registry};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{SunshineCaller, SunshineError, body::SunshineBody};
use crate::clients::{Clients, PublicBase, RequestId};

const DEFAULT_SIZE: usize = 25;
const MAX_SIZE: usize = 100;
/// context-service's most participants per conversation is 100, and none join later: the whole
/// list is one call of 100. The bound only stops a misbehaving service from looping the gateway.
const MAX_UPSTREAM_PAGES: usize = 20;

/// A page as asked for: `?page=<JSON {"after"|"before", "size"}>` (what the official client sends)
/// or `page[after]=...&page[before]=...&page[size]=N`. Cursors are participant ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    pub after: Option<String>,
    pub before: Option<String>,
    pub size: usize,
}

fn cursor(name: &str, value: &Value) -> Result<Option<String>, SunshineError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(SunshineError::bad_request(format!("page.{name} must be a string"))),
    }
}

pub fn page_query(raw: Option<&str>) -> Result<PageQuery, SunshineError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| SunshineError::bad_request("The query string is malformed."))?;
    let (mut after, mut before, mut size) = (None, None, None);
    let bad_size = || SunshineError::bad_request(format!("page size must be 1 to {MAX_SIZE}"));
    for (key, value) in pairs {
        match key.as_str() {
            "page" => {
                let page: Map<String, Value> = serde_json::from_str(&value)
                    .map_err(|_| SunshineError::bad_request("page must be a JSON object"))?;
                after = cursor("after", page.get("after").unwrap_or(&Value::Null))?.or(after);
                before = cursor("before", page.get("before").unwrap_or(&Value::Null))?.or(before);
                match page.get("size") {
                    None | Some(Value::Null) => {}
                    Some(n) => size = Some(n.as_u64().ok_or_else(bad_size)?),
                }
            }
            "page[after]" => after = Some(value),
            "page[before]" => before = Some(value),
            "page[size]" => size = Some(value.parse::<u64>().map_err(|_| bad_size())?),
            _ => {}
        }
    }
    if after.is_some() && before.is_some() {
        return Err(SunshineError::bad_request("Only one of page after and page before can be given."));
    }
    if [&after, &before].into_iter().flatten().any(|c| !platform::ids::is_id(c)) {
        return Err(SunshineError::bad_request("A page cursor must be a participant id."));
    }
    let size = match size {
        None => DEFAULT_SIZE,
        Some(n) => usize::try_from(n).ok().filter(|n| (1..=MAX_SIZE).contains(n)).ok_or_else(bad_size)?,
    };
    Ok(PageQuery { after, before, size })
}

/// Which slice of `ids` a page is, and the cursors on either side of it.
#[derive(Debug, PartialEq, Eq)]
pub struct Window {
    pub range: std::ops::Range<usize>,
    pub has_more: bool,
    pub after_cursor: Option<usize>,
    pub before_cursor: Option<usize>,
}

pub fn window(ids: &[String], page: &PageQuery) -> Result<Window, SunshineError> {
    let position = |cursor: &str| {
        ids.iter()
            .position(|id| id == cursor)
            .ok_or_else(|| SunshineError::bad_request("The page cursor names no participant of this conversation."))
    };
    let range = match (&page.after, &page.before) {
        (Some(after), _) => {
            let start = position(after)? + 1;
            start..(start + page.size).min(ids.len())
        }
        (None, Some(before)) => {
            let end = position(before)?;
            end.saturating_sub(page.size)..end
        }
        (None, None) => 0..page.size.min(ids.len()),
    };
    let more_after = range.end < ids.len() && !range.is_empty();
    let more_before = range.start > 0 && !range.is_empty();
    Ok(Window {
        has_more: if page.before.is_some() { range.start > 0 } else { range.end < ids.len() },
        after_cursor: more_after.then(|| range.end - 1),
        before_cursor: more_before.then_some(range.start),
        range,
    })
}

async fn all_participants(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    conversation_id: &str,
) -> Result<Vec<pb::Participant>, SunshineError> {
    let (mut all, mut page_token) = (Vec::new(), String::new());
    for _ in 0..MAX_UPSTREAM_PAGES {
        let request = pb::ListParticipantsRequest {
            app_id: app_id.to_owned(),
            conversation_id: conversation_id.to_owned(),
            page_token,
            page_size: MAX_SIZE as u32,
        };
        let page = clients.context.clone().list_participants(request_id.grpc(request)).await?;
        let page = page.into_inner();
        all.extend(page.participants);
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        page_token = page.next_page_token;
    }
    Err(ApiError::internal(&anyhow::anyhow!("context-service kept answering pages of participants")).into())
}

/// Each participant's user, concurrently: `None` for a user deleted since it took part.
async fn users_of(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    participants: &[pb::Participant],
) -> Result<Vec<Option<registry::User>>, SunshineError> {
    let mut lookups = tokio::task::JoinSet::new();
    for (index, participant) in participants.iter().enumerate() {
        let (mut client, request_id) = (clients.registry.clone(), request_id.clone());
        let request = registry::GetUserRequest {
            app_id: app_id.to_owned(),
            lookup: Some(registry::UserLookup {
                key: Some(registry::user_lookup::Key::Id(participant.user_id.clone())),
            }),
        };
        lookups.spawn(async move { (index, client.get_user(request_id.grpc(request)).await) });
    }
    let mut users = vec![None; participants.len()];
    while let Some(joined) = lookups.join_next().await {
        let (index, answer) =
            joined.map_err(|e| ApiError::internal(&anyhow::anyhow!("user lookup task failed: {e}")))?;
        users[index] = match answer {
            Ok(found) => found.into_inner().user,
            Err(status)
                if matches!(ApiError::from_status(&status).code, ErrorCode::UserNotFound | ErrorCode::NotFound) =>
            {
                None
            }
            Err(status) => return Err(status.into()),
        };
    }
    Ok(users)
}

/// Sunshine's participant resource.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::Participant)]
pub struct Participant {
    id: String,
    user_id: String,
    /// Always 0: Roster keeps no messages.
    unread_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_external_id: Option<String>,
}

/// `{ "participant": {...} }`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::ParticipantAnswer)]
pub struct ParticipantAnswer {
    participant: Participant,
}

/// A page of participants.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::ParticipantPage)]
pub struct ParticipantPage {
    participants: Vec<Participant>,
    meta: PageMeta,
    links: PageLinks,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::PageMeta)]
pub struct PageMeta {
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    after_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    before_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::PageLinks)]
pub struct PageLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

fn participant(participant: &pb::Participant, user: Option<registry::User>) -> Participant {
    Participant {
        id: participant.id.clone(),
        user_id: participant.user_id.clone(),
        unread_count: 0,
        user_external_id: user.and_then(|u| u.external_id).filter(|e| !e.is_empty()),
    }
}

/// `GET .../participants`: `{ "participants", "meta": { "hasMore", "afterCursor",
/// "beforeCursor" }, "links": { "prev", "next" } }`, in the order the participants were given.
#[utoipa::path(get, path = "/v2/apps/{app_id}/conversations/{conversation_id}/participants", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("conversation_id" = String, Path, description = "The conversation's id"),
        ("page" = Option<String>, Query, description = "URL-encoded JSON `{\"after\": \"<id>\", \"size\": 10}` (the official client's form); `page[after]`, `page[before]` and `page[size]` (1 to 100, default 25) are read too"),
    ),
    responses((status = 200, description = "A page of participants, in the order they were given", body = ParticipantPage), super::schema::Errors))]
pub async fn list(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    OriginalUri(uri): OriginalUri,
    Path((_, conversation_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ParticipantPage>, SunshineError> {
    let page = page_query(raw.as_deref())?;
    let app_id = caller.app_id.as_str();
    let participants = all_participants(&clients, &request_id, app_id, &conversation_id).await?;
    let ids: Vec<String> = participants.iter().map(|p| p.id.clone()).collect();
    let window = window(&ids, &page)?;
    let shown = &participants[window.range.clone()];
    let users = users_of(&clients, &request_id, app_id, shown).await?;
    let participants = shown.iter().zip(users).map(|(p, u)| participant(p, u)).collect();
    let link = |direction: &str, index: usize| {
        format!("{}{}?page[{direction}]={}&page[size]={}", base.0, uri.path(), ids[index], page.size)
    };
    let meta = PageMeta {
        has_more: window.has_more,
        after_cursor: window.after_cursor.map(|index| ids[index].clone()),
        before_cursor: window.before_cursor.map(|index| ids[index].clone()),
    };
    let links = PageLinks {
        prev: window.before_cursor.map(|i| link("before", i)),
        next: window.after_cursor.map(|i| link("after", i)),
    };
    Ok(Json(ParticipantPage { participants, meta, links }))
}

/// The participant a join or leave body names: `userId` or `userExternalId`.
fn named(body: &Map<String, Value>) -> Result<pb::ParticipantRef, SunshineError> {
    super::conversations::participant(0, &Value::Object(body.clone()))
        .map_err(|_| SunshineError::bad_request("exactly one of userId and userExternalId is required"))
}

/// `POST .../join`: 201 `{ "participant": {...} }`, also when the user already took part.
#[utoipa::path(post, path = "/v2/apps/{app_id}/conversations/{conversation_id}/join", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("conversation_id" = String, Path, description = "The conversation's id")),
    request_body(content = super::schema::ParticipantRef, content_type = "application/json"),
    responses((status = 201, description = "The participant (also when the user already took part)", body = ParticipantAnswer), super::schema::Errors))]
pub async fn join(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, conversation_id)): Path<(String, String)>,
    SunshineBody(body): SunshineBody,
) -> Result<(StatusCode, Json<ParticipantAnswer>), SunshineError> {
    let app_id = caller.app_id.as_str().to_owned();
    let request =
        pb::JoinConversationRequest { app_id: app_id.clone(), conversation_id, participant: Some(named(&body)?) };
    let joined = clients.context.clone().join_conversation(request_id.grpc(request)).await?;
    let joined = joined.into_inner().participant.ok_or_else(crate::http::error::incomplete)?;
    let user = users_of(&clients, &request_id, &app_id, std::slice::from_ref(&joined)).await?.pop().flatten();
    Ok((StatusCode::CREATED, Json(ParticipantAnswer { participant: participant(&joined, user) })))
}

/// `POST .../leave`: 200 `{}`.
#[utoipa::path(post, path = "/v2/apps/{app_id}/conversations/{conversation_id}/leave", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("conversation_id" = String, Path, description = "The conversation's id")),
    request_body(content = super::schema::ParticipantRef, content_type = "application/json"),
    responses((status = 200, description = "Left", body = super::schema::Empty), super::schema::Errors))]
pub async fn leave(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, conversation_id)): Path<(String, String)>,
    SunshineBody(body): SunshineBody,
) -> Result<Json<super::schema::Empty>, SunshineError> {
    let request = pb::LeaveConversationRequest {
        app_id: caller.app_id.as_str().to_owned(),
        conversation_id,
        participant: Some(named(&body)?),
    };
    clients.context.clone().leave_conversation(request_id.grpc(request)).await?;
    Ok(Json(super::schema::Empty {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:024x}")).collect()
    }

    #[test]
    fn page_queries_in_both_forms() {
        let id = "0000000000000000000000aa".to_owned();
        assert_eq!(page_query(None).unwrap(), PageQuery { after: None, before: None, size: 25 });
        let json_form = format!("page=%7B%22after%22%3A%20%22{id}%22%2C%20%22size%22%3A%2010%7D");
        assert_eq!(
            page_query(Some(&json_form)).unwrap(),
            PageQuery { after: Some(id.clone()), before: None, size: 10 }
        );
        let bracket_form = format!("page[before]={id}&page[size]=100");
        assert_eq!(
            page_query(Some(&bracket_form)).unwrap(),
            PageQuery { after: None, before: Some(id.clone()), size: 100 }
        );
        let encoded_brackets = format!("page%5Bafter%5D={id}");
        assert_eq!(page_query(Some(&encoded_brackets)).unwrap().after, Some(id.clone()));
        for bad in [
            "page[size]=0".to_owned(),
            "page[size]=101".to_owned(),
            "page[size]=x".to_owned(),
            "page=notjson".to_owned(),
            "page[after]=short".to_owned(),
            format!("page[after]={id}&page[before]={id}"),
            "page=%7B%22size%22%3A%20-1%7D".to_owned(),
        ] {
            assert_eq!(page_query(Some(&bad)).unwrap_err().status.as_u16(), 400, "{bad}");
        }
    }

    #[test]
    fn windows_and_cursors() {
        let ids = ids(5);
        let page = |after: Option<usize>, before: Option<usize>, size| PageQuery {
            after: after.map(|i| ids[i].clone()),
            before: before.map(|i| ids[i].clone()),
            size,
        };
        let first = window(&ids, &page(None, None, 2)).unwrap();
        assert_eq!(first, Window { range: 0..2, has_more: true, after_cursor: Some(1), before_cursor: None });
        let middle = window(&ids, &page(Some(1), None, 2)).unwrap();
        assert_eq!(middle, Window { range: 2..4, has_more: true, after_cursor: Some(3), before_cursor: Some(2) });
        let last = window(&ids, &page(Some(3), None, 2)).unwrap();
        assert_eq!(last, Window { range: 4..5, has_more: false, after_cursor: None, before_cursor: Some(4) });
        let back = window(&ids, &page(None, Some(4), 2)).unwrap();
        assert_eq!(back, Window { range: 2..4, has_more: true, after_cursor: Some(3), before_cursor: Some(2) });
        let start = window(&ids, &page(None, Some(1), 2)).unwrap();
        assert_eq!(start, Window { range: 0..1, has_more: false, after_cursor: Some(0), before_cursor: None });
        let everything = window(&ids, &page(None, None, 25)).unwrap();
        assert_eq!(everything, Window { range: 0..5, has_more: false, after_cursor: None, before_cursor: None });
        assert_eq!(window(&[], &page(None, None, 25)).unwrap().range, 0..0);
        let unknown = PageQuery { after: Some("f".repeat(24)), before: None, size: 2 };
        assert_eq!(window(&ids, &unknown).unwrap_err().status.as_u16(), 400);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Following afterCursor from the first page visits every participant once, in order.
        #[test]
        fn after_cursors_visit_every_participant_once(n in 0usize..60, size in 1usize..=100) {
            let ids: Vec<String> = (0..n).map(|i| format!("{i:024x}")).collect();
            let mut seen = Vec::new();
            let mut query = PageQuery { after: None, before: None, size };
            loop {
                let window = window(&ids, &query).unwrap();
                seen.extend(ids[window.range.clone()].iter().cloned());
                match window.after_cursor {
                    Some(i) => { prop_assert!(window.has_more); query.after = Some(ids[i].clone()) }
                    None => { prop_assert!(!window.has_more); break }
                }
            }
            prop_assert_eq!(seen, ids);
        }
    }
}
