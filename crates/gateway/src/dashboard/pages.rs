//! The dashboard's pages, server-rendered with maud (every value escaped). One layout: a skip
//! link, a header with the applications signed in to and sign-out, a `main` with one `h1`.

use maud::{DOCTYPE, Markup, html};
use proto::{context::v1 as context_pb, events::v1 as events_pb, registry::v1 as pb, token::v1 as token_pb};

/// What the header shows of a signed-in session.
pub struct Chrome<'a> {
    pub csrf: &'a str,
    pub app_ids: &'a [String],
    /// The application the page is about, if any.
    pub current: Option<&'a str>,
}

pub fn layout(title: &str, chrome: Option<&Chrome<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Roster" }
                link rel="stylesheet" href="/dashboard/static/roster.css";
                script src="/dashboard/static/copy.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    a.brand href="/dashboard" { "Roster" }
                    @if let Some(chrome) = chrome {
                        nav aria-label="Applications" {
                            ul {
                                @for app in chrome.app_ids {
                                    li {
                                        @if chrome.current == Some(app.as_str()) {
                                            a href=(format!("/dashboard/apps/{app}/users")) aria-current="page" { "Application " code { (app) } }
                                        } @else {
                                            a href=(format!("/dashboard/apps/{app}/users")) { "Application " code { (app) } }
                                        }
                                    }
                                }
                                @if let Some(current) = chrome.current {
                                    li { a href=(format!("/dashboard/apps/{current}/users")) { "Users" } }
                                    li { a href=(format!("/dashboard/apps/{current}/webhooks")) { "Webhooks" } }
                                    li { a href=(format!("/dashboard/apps/{current}/settings")) { "Settings" } }
                                }
                                li { a href="/dashboard/sign-in" { "Add an application" } }
                            }
                        }
                        form.inline method="post" action="/dashboard/sign-out" {
                            input type="hidden" name="csrf" value=(chrome.csrf);
                            button.quiet type="submit" { "Sign out" }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

pub fn sign_in(csrf: &str, error: Option<&str>, signed_in_to: &[String]) -> Markup {
    let body = html! {
        h1 { "Sign in to an application" }
        @if signed_in_to.is_empty() {
            p { "Enter an API token of the application you want to manage. The token decides the application: "
                "you are signed in to the one it belongs to. " code { "roster apps create" } " prints one; "
                code { "roster apps token --id APP" } " makes another." }
        } @else {
            p { "You are signed in to " (signed_in_to.len()) " application(s). An API token of another application adds it to this session." }
        }
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
        form.stack method="post" action="/dashboard/sign-in" {
            input type="hidden" name="csrf" value=(csrf);
            div {
                label for="api_token" { "API token" }
                input #api_token type="password" name="api_token" autocomplete="off" required
                    aria-describedby="api_token_hint";
                p.hint #api_token_hint { "40 hexadecimal characters. It is sent to this server only and never stored in your browser." }
            }
            div { button type="submit" { "Sign in" } }
        }
    };
    layout("Sign in", None, body)
}

/// The users list: a search form, the page, the next page's link, and the test-user form.
pub struct UsersPage<'a> {
    pub app_id: &'a str,
    pub query: &'a str,
    pub field: &'a str,
    pub active: &'a str,
    pub origin: &'a str,
    pub users: &'a [pb::User],
    pub next: Option<String>,
    pub error: Option<&'a str>,
}

const FIELDS: [(&str, &str); 4] =
    [("user_id", "User id"), ("nickname", "Nickname starts with"), ("external_id", "External id"), ("email", "Email")];
const ACTIVE: [(&str, &str); 3] = [("", "Active or not"), ("true", "Active only"), ("false", "Deactivated only")];
const ORIGINS: [(&str, &str); 6] = [
    ("", "Any origin"),
    ("api", "API"),
    ("bulk", "Import"),
    ("login", "Login"),
    ("conversation", "Conversation"),
    ("channel", "Channel"),
];

pub fn users(chrome: &Chrome<'_>, page: &UsersPage<'_>) -> Markup {
    let base = format!("/dashboard/apps/{}/users", page.app_id);
    let body = html! {
        h1 { "Users" }
        @if let Some(error) = page.error { p.error role="alert" { (error) } }
        form.search method="get" action=(base) role="search" aria-label="Find users" {
            div {
                label for="field" { "Search by" }
                select #field name="field" {
                    @for (value, label) in FIELDS {
                        option value=(value) selected[page.field == value] { (label) }
                    }
                }
            }
            div {
                label for="q" { "Value" }
                input #q type="search" name="q" value=(page.query);
            }
            div {
                label for="active" { "State" }
                select #active name="active" {
                    @for (value, label) in ACTIVE {
                        option value=(value) selected[page.active == value] { (label) }
                    }
                }
            }
            div {
                label for="origin" { "Origin" }
                select #origin name="origin" {
                    @for (value, label) in ORIGINS {
                        option value=(value) selected[page.origin == value] { (label) }
                    }
                }
            }
            div { button type="submit" { "Search" } }
        }
        @if page.users.is_empty() {
            p { "No users found." }
        } @else {
            table {
                caption.hint { "Users in Roster id order" }
                thead { tr { th scope="col" { "User id" } th scope="col" { "Nickname" } th scope="col" { "External id" } th scope="col" { "State" } th scope="col" { "Created" } } }
                tbody {
                    @for user in page.users {
                        tr {
                            td { a href=(format!("{base}/{}", user.id)) { (user.user_id) } }
                            td { (user.nickname) }
                            td { (user.external_id.as_deref().unwrap_or("")) }
                            td { @if user.is_active { "active" } @else { "deactivated" } }
                            td { (instant(user.created_at.as_ref())) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &page.next {
            p { a href=(format!("{base}?field={}&q={}&active={}&origin={}&after={next}", page.field, urlencode(page.query), page.active, page.origin)) rel="next" { "Next page" } }
        }
        h2 #create { "Create a test user" }
        form.stack method="post" action=(base) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            div { label for="new_user_id" { "User id" } input #new_user_id name="user_id" required maxlength="80"; }
            div { label for="new_nickname" { "Nickname" } input #new_nickname name="nickname" required maxlength="80"; }
            div {
                label for="new_profile_url" { "Profile URL (optional)" }
                input #new_profile_url name="profile_url" type="url" maxlength="2048";
            }
            div {
                label for="new_metadata" { "Metadata (optional)" }
                textarea #new_metadata name="metadata" rows="3" aria-describedby="metadata_hint" {}
                p.hint #metadata_hint { "A JSON object of strings, e.g. {\"plan\": \"trial\"}." }
            }
            div { button type="submit" { "Create user" } }
        }
    };
    layout("Users", Some(chrome), body)
}

pub fn user(
    chrome: &Chrome<'_>,
    app_id: &str,
    user: &pb::User,
    sensitive: &[String],
    tokens: &[token_pb::AccessTokenInfo],
    data: &context_pb::ListUserDataResponse,
) -> Markup {
    let base = format!("/dashboard/apps/{app_id}/users/{}", user.id);
    let profile = user.profile.clone().unwrap_or_default();
    // Sorted by key; numbers and booleans in their JSON spelling, as Sendbird's dialect shows them.
    let metadata = crate::http::sendbird::metadata_strings(user.metadata.clone());
    let body = html! {
        p { a href=(format!("/dashboard/apps/{app_id}/users")) { "← All users" } }
        h1 { "User " code { (user.user_id) } }
        dl {
            dt { "Roster id" } dd { code { (user.id) } }
            dt { "User id" } dd { (user.user_id) }
            dt { "External id" } dd { (user.external_id.as_deref().unwrap_or("—")) }
            dt { "Nickname" } dd { (user.nickname) }
            dt { "Profile URL" } dd { (if user.profile_url.is_empty() { "—" } else { user.profile_url.as_str() }) }
            dt { "Email" } dd { (profile.email.as_deref().unwrap_or("—")) }
            dt { "Name" } dd { (profile.given_name.as_deref().unwrap_or("")) " " (profile.surname.as_deref().unwrap_or("")) }
            dt { "Language" } dd { (profile.language.as_deref().unwrap_or("—")) }
            dt { "State" } dd { @if user.is_active { "active" } @else { "deactivated" } }
            dt { "Origin" } dd { (origin(user.origin)) }
            dt { "Created" } dd { (instant(user.created_at.as_ref())) }
            dt { "Updated" } dd { (instant(user.updated_at.as_ref())) }
            dt { "Last seen" } dd { (instant(user.last_seen_at.as_ref())) }
        }
        h2 { "Metadata" }
        @if metadata.is_empty() { p { "None." } } @else {
            table {
                thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } th scope="col" { span.skip { "Actions" } } } }
                tbody {
                    @for (key, value) in &metadata {
                        tr {
                            td { code { (key) } }
                            td { (value) }
                            td {
                                form.inline method="post" action=(format!("{base}/metadata/delete")) {
                                    input type="hidden" name="csrf" value=(chrome.csrf);
                                    input type="hidden" name="key" value=(key);
                                    button.quiet type="submit" aria-label=(format!("Remove metadata {key}")) { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.search method="post" action=(format!("{base}/metadata")) aria-label="Set a metadata value" {
            input type="hidden" name="csrf" value=(chrome.csrf);
            div { label for="meta_key" { "Key" } input #meta_key name="key" required maxlength="128"; }
            div { label for="meta_value" { "Value" } input #meta_value name="value" maxlength="190"; }
            div { button type="submit" { "Set" } }
        }
        h2 { "Sensitive metadata" }
        @if sensitive.is_empty() { p { "None." } } @else {
            p.hint { "Field names only: the values are sealed and readable only over gRPC with a token of the sensitive-metadata scope." }
            ul { @for name in sensitive { li { code { (name) } } } }
        }
        h2 { "Identities" }
        @if user.identities.is_empty() { p { "None." } } @else {
            ul { @for identity in &user.identities { li { (identity.channel_type) ": " (identity.value) } } }
        }
        h2 { "Discovery keys" }
        @if user.discovery_keys.is_empty() { p { "None." } } @else {
            ul { @for key in &user.discovery_keys { li { (key) } } }
        }
        h2 { "Context objects" }
        @if data.contexts.is_empty() { p { "None." } } @else {
            table {
                caption.hint { "What each AI agent is told about the user from its first turn" }
                thead { tr { th scope="col" { "Agent" } th scope="col" { "Language" } th scope="col" { "Country" } th scope="col" { "Values" } th scope="col" { "Updated" } } }
                tbody {
                    @for context in &data.contexts {
                        tr {
                            td { code { (context.agent_id) } }
                            td { (context.language.as_deref().unwrap_or("—")) }
                            td { (context.country.as_deref().unwrap_or("—")) }
                            td {
                                @for (key, value) in context.values.iter().collect::<std::collections::BTreeMap<_, _>>() { code { (key) } " = " (value) br; }
                            }
                            td { (instant(context.updated_at.as_ref())) }
                        }
                    }
                }
            }
        }
        h2 { "Conversations" }
        @if data.conversations.is_empty() { p { "None." } } @else {
            table {
                thead { tr { th scope="col" { "Id" } th scope="col" { "Kind" } th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Created" } } }
                tbody {
                    @for conversation in &data.conversations {
                        tr {
                            td { code { (conversation.id) } }
                            td { (if conversation.kind == context_pb::ConversationKind::Group as i32 { "group" } else { "personal" }) }
                            td { (conversation.display_name.as_deref().unwrap_or("—")) }
                            td { (if conversation.status == context_pb::ConversationStatus::Ended as i32 { "ended" } else { "active" }) }
                            td { (instant(conversation.created_at.as_ref())) }
                        }
                    }
                }
            }
        }
        h2 { "Access tokens" }
        @if tokens.is_empty() { p { "None." } } @else {
            table {
                caption.hint { "Access tokens by id, the latest 100 (their values are never shown again)" }
                thead { tr { th scope="col" { "Id" } th scope="col" { "Created" } th scope="col" { "Revoked" } } }
                tbody {
                    @for token in tokens {
                        tr {
                            td { code { (token.id) } }
                            td { (instant(token.created_at.as_ref())) }
                            td { @if token.revoked_at.is_some() { (instant(token.revoked_at.as_ref())) } @else { "live" } }
                        }
                    }
                }
            }
        }
        h2 { "Actions" }
        form.stack method="post" action=(format!("{base}/session-token")) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            p.hint { "A session token lets this user's app connect as the user; it is shown once." }
            div { button type="submit" { "Issue a session token" } }
        }
        form.stack method="post" action=(format!("{base}/revoke-tokens")) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            p.hint { "Every session and access token of the user stops working at once." }
            div { button.quiet type="submit" { "Revoke all tokens" } }
        }
        form.stack method="post" action=(format!("{base}/active")) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            @if user.is_active {
                input type="hidden" name="active" value="false";
                p.hint { "A deactivated user's tokens are refused until it is reactivated." }
                div { button.quiet type="submit" { "Deactivate" } }
            } @else {
                input type="hidden" name="active" value="true";
                div { button.quiet type="submit" { "Reactivate" } }
            }
        }
        p { a href=(format!("{base}/delete")) { "Delete this user…" } }
    };
    layout(&format!("User {}", user.user_id), Some(chrome), body)
}

/// A page that says what went wrong, in words.
pub fn problem(title: &str, message: &str, chrome: Option<&Chrome<'_>>) -> Markup {
    let body = html! {
        h1 { (title) }
        p.error role="alert" { (message) }
        p { a href="/dashboard" { "Back to the dashboard" } }
    };
    layout(title, chrome, body)
}

fn instant(ts: Option<&proto::Timestamp>) -> String {
    ts.map_or("—".to_owned(), |ts| {
        let iso = platform::time::iso8601_offset(proto::timestamp_to_millis(ts));
        format!("{} UTC", iso.trim_end_matches("+00:00").replacen('T', " ", 1))
    })
}

fn scopes(scopes: &[i32]) -> String {
    let names: Vec<&str> = scopes
        .iter()
        .map(|s| match token_pb::Scope::try_from(*s) {
            Ok(token_pb::Scope::App) => "app",
            Ok(token_pb::Scope::SensitiveMetadata) => "sensitive-metadata",
            Ok(token_pb::Scope::UserManagement) => "user-management",
            _ => "?",
        })
        .collect();
    names.join(", ")
}

fn origin(origin: i32) -> &'static str {
    match pb::Origin::try_from(origin) {
        Ok(pb::Origin::Api) => "API",
        Ok(pb::Origin::Bulk) => "import",
        Ok(pb::Origin::Login) => "login",
        Ok(pb::Origin::Conversation) => "conversation",
        Ok(pb::Origin::Channel) => "channel",
        _ => "—",
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|p| p.trim_start_matches('=').to_owned()).unwrap_or_default()
}

/// A session token, shown this once.
pub fn issued_token(
    chrome: &Chrome<'_>,
    app_id: &str,
    user: &pb::User,
    token: &str,
    expires_at: Option<&proto::Timestamp>,
) -> Markup {
    let body = html! {
        p { a href=(format!("/dashboard/apps/{app_id}/users/{}", user.id)) { "← Back to the user" } }
        h1 { "Session token for " code { (user.user_id) } }
        p.notice role="status" { "Copy it now: it is not shown again and not stored. It expires " (instant(expires_at)) "." }
        div {
            label for="token" { "Session token" }
            input #token type="text" readonly value=(token) aria-describedby="token_hint";
            p.hint #token_hint { "Select the field and copy (Ctrl+C or ⌘C), or use the button." }
            button.quiet type="button" data-copy="token" hidden { "Copy" }
            " " span #token_copied role="status" {}
        }
    };
    layout("Session token", Some(chrome), body)
}

/// The delete confirmation step.
pub fn confirm_delete(chrome: &Chrome<'_>, app_id: &str, user: &pb::User) -> Markup {
    let base = format!("/dashboard/apps/{app_id}/users/{}", user.id);
    let body = html! {
        h1 { "Delete user " code { (user.user_id) } "?" }
        p { "The user, its metadata, identities and context objects are deleted in every service, and its tokens stop working at once. This cannot be undone." }
        form.stack method="post" action=(format!("{base}/delete")) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            div {
                label for="confirm" { "Type the user id to confirm" }
                input #confirm name="confirm" required autocomplete="off";
            }
            div { button.danger type="submit" { "Delete the user" } " " a href=(base) { "Cancel" } }
        }
    };
    layout("Delete user", Some(chrome), body)
}

/// An application: its settings (editable) and the credentials customers hold.
pub struct AppPage<'a> {
    pub app: &'a token_pb::Application,
    pub tokens: &'a [token_pb::ApiTokenInfo],
    pub keys: &'a [token_pb::AppKey],
    pub clients: &'a [token_pb::AdminClient],
    pub notice: Option<&'a str>,
}

pub fn application(chrome: &Chrome<'_>, page: &AppPage<'_>) -> Markup {
    let app = page.app;
    let base = format!("/dashboard/apps/{}/settings", app.id);
    let settings = app.settings.unwrap_or_default();
    let body = html! {
        h1 { "Application " code { (app.id) } }
        @if let Some(notice) = page.notice { p.notice role="status" { (notice) } }
        h2 { "Settings" }
        form.stack method="post" action=(base) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            div { label for="name" { "Name" } input #name name="name" value=(app.name) required maxlength="100"; }
            div {
                label for="session_ttl" { "Session token lifetime (seconds)" }
                input #session_ttl name="session_token_ttl_seconds" type="number" min="0" value=(settings.session_token_ttl_seconds) aria-describedby="session_ttl_hint";
                p.hint #session_ttl_hint { "0: seven days." }
            }
            div {
                label for="access_limit" { "Access tokens per user" }
                input #access_limit name="access_token_limit" type="number" min="0" value=(settings.access_token_limit) aria-describedby="access_limit_hint";
                p.hint #access_limit_hint { "0: ten. Issuing one more revokes the oldest." }
            }
            div {
                label for="rate_limit" { "Rate limit (requests per second at each gateway)" }
                input #rate_limit name="rate_limit_per_second" type="number" min="0" value=(settings.rate_limit_per_second) aria-describedby="rate_limit_hint";
                p.hint #rate_limit_hint { "0: unlimited." }
            }
            div {
                label for="unassociated_ttl" { "Unassociated end-user lifetime (seconds)" }
                input #unassociated_ttl name="unassociated_user_ttl_seconds" type="number" min="0" value=(settings.unassociated_user_ttl_seconds) aria-describedby="unassociated_hint";
                p.hint #unassociated_hint { "End users no conversation includes within it are deleted; 0 turns it off." }
            }
            div {
                label.check for="tokenless" {
                    input #tokenless name="allow_tokenless_users" type="checkbox" value="true" checked[settings.allow_tokenless_users];
                    " Allow users to connect without a token (for testing)"
                }
            }
            div { button type="submit" { "Save settings" } }
        }
        h2 { "API tokens" }
        p.hint { "Listed by id and name; their values are never shown again. Revoking the token this session signed in with signs it out of the application." }
        @if page.tokens.is_empty() { p { "None." } } @else {
            table {
                thead { tr { th scope="col" { "Id" } th scope="col" { "Name" } th scope="col" { "Scopes" } th scope="col" { "Created" } th scope="col" { span.skip { "Actions" } } } }
                tbody {
                    @for token in page.tokens {
                        tr {
                            td { code { (token.id) } } td { (token.name) } td { (scopes(&token.scopes)) } td { (instant(token.created_at.as_ref())) }
                            td {
                                form.inline method="post" action=(format!("{base}/api-tokens/{}/delete", token.id)) {
                                    input type="hidden" name="csrf" value=(chrome.csrf);
                                    button.danger type="submit" aria-label=(format!("Revoke API token {}", token.id)) { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.stack method="post" action=(format!("{base}/api-tokens")) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            div { label for="token_name" { "Name" } input #token_name name="name" required maxlength="100"; }
            div {
                label for="token_scope" { "Scope" }
                select #token_scope name="scope" {
                    option value="app" { "app: the dialect APIs and this dashboard" }
                    option value="sensitive-metadata" { "sensitive-metadata: read sealed fields over gRPC" }
                    option value="user-management" { "user-management: Kore.ai's admin API" }
                }
            }
            div { button type="submit" { "Create an API token" } }
        }
        h2 { "App keys" }
        p.hint { "Sunshine's credentials: HTTP Basic " code { "keyId:secret" } ", and the secret that signs login JWTs." }
        @let keys: Vec<_> = page.keys.iter().map(|k| (k.id.as_str(), k.display_name.as_str(), k.created_at.as_ref())).collect();
        (credentials(chrome, &base, "app-keys", "app key", "Key id", &keys))
        form.stack method="post" action=(format!("{base}/app-keys")) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            div { label for="key_name" { "Name of a new app key" } input #key_name name="name" required maxlength="100"; }
            div { button type="submit" { "Create an app key" } }
        }
        h2 { "Admin clients" }
        p.hint { "Kore.ai's admin API: HS256 JWTs naming the client in " code { "appId" } "." }
        @let clients: Vec<_> = page.clients.iter().map(|c| (c.id.as_str(), c.name.as_str(), c.created_at.as_ref())).collect();
        (credentials(chrome, &base, "admin-clients", "admin client", "Client id", &clients))
        form.stack method="post" action=(format!("{base}/admin-clients")) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            div { label for="client_name" { "Name of a new admin client" } input #client_name name="name" required maxlength="100"; }
            div { button type="submit" { "Create an admin client" } }
        }
    };
    layout("Application", Some(chrome), body)
}

/// A table of app keys or admin clients (`kind`, the path segment; `what`, in words): id, name,
/// created, and a delete button each.
fn credentials(
    chrome: &Chrome<'_>,
    base: &str,
    kind: &str,
    what: &str,
    id_header: &str,
    rows: &[(&str, &str, Option<&proto::Timestamp>)],
) -> Markup {
    html! {
        @if rows.is_empty() { p { "None." } } @else {
            table {
                thead { tr { th scope="col" { (id_header) } th scope="col" { "Name" } th scope="col" { "Created" } th scope="col" { span.skip { "Actions" } } } }
                tbody {
                    @for (id, name, created) in rows {
                        tr {
                            td { code { (id) } } td { (name) } td { (instant(*created)) }
                            td {
                                form.inline method="post" action=(format!("{base}/{kind}/{id}/delete")) {
                                    input type="hidden" name="csrf" value=(chrome.csrf);
                                    button.danger type="submit" aria-label=(format!("Delete {what} {id}")) { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A credential's secret, shown this once.
pub fn secret_once(chrome: &Chrome<'_>, app_id: &str, what: &str, id: &str, secret: &str) -> Markup {
    let body = html! {
        p { a href=(format!("/dashboard/apps/{app_id}/settings")) { "← Back to the application" } }
        h1 { "New " (what) }
        p.notice role="status" { "Copy the secret now: it is not shown again, and Roster keeps it only sealed or hashed." }
        dl { dt { "Id" } dd { code { (id) } } }
        div {
            label for="secret" { "Secret" }
            input #secret type="text" readonly value=(secret);
            button.quiet type="button" data-copy="secret" hidden { "Copy" }
            " " span #secret_copied role="status" {}
        }
    };
    layout(&format!("New {what}"), Some(chrome), body)
}

/// The application's webhook subscriptions and the delivery log, newest first.
pub struct WebhooksPage<'a> {
    pub app_id: &'a str,
    pub subscriptions: &'a [events_pb::Subscription],
    pub deliveries: &'a [events_pb::Delivery],
    pub status: &'a str,
    pub next: Option<String>,
    pub notice: Option<&'a str>,
}

const DELIVERY_STATUS: [(&str, &str); 4] =
    [("", "Every status"), ("pending", "Pending"), ("delivered", "Delivered"), ("dead", "Dead (given up)")];

pub fn webhooks(chrome: &Chrome<'_>, page: &WebhooksPage<'_>) -> Markup {
    let base = format!("/dashboard/apps/{}/webhooks", page.app_id);
    let body = html! {
        h1 { "Webhooks" }
        @if let Some(notice) = page.notice { p.notice role="status" { (notice) } }
        p.hint { "Subscriptions are made with each dialect's own API (Sendbird's webhook settings, Ada's webhooks, Sunshine's integrations); see docs/events.md." }
        h2 { "Subscriptions" }
        @if page.subscriptions.is_empty() { p { "None." } } @else {
            table {
                thead { tr { th scope="col" { "Id" } th scope="col" { "Format" } th scope="col" { "Target" } th scope="col" { "Events" } th scope="col" { "State" } } }
                tbody {
                    @for s in page.subscriptions {
                        tr {
                            td { code { (s.id) } }
                            td { (format_name(s.format)) }
                            td { (s.target) }
                            td { (s.event_types.join(", ")) }
                            td { @if s.enabled { "enabled" } @else { "disabled" } }
                        }
                    }
                }
            }
        }
        h2 #deliveries { "Delivery log" }
        form.search method="get" action=(base) aria-label="Filter deliveries" {
            div {
                label for="status" { "Status" }
                select #status name="status" {
                    @for (value, label) in DELIVERY_STATUS {
                        option value=(value) selected[page.status == value] { (label) }
                    }
                }
            }
            div { button type="submit" { "Show" } }
        }
        @if page.deliveries.is_empty() { p { "No deliveries." } } @else {
            table {
                thead { tr { th scope="col" { "Event" } th scope="col" { "Subscription" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Last answer" } th scope="col" { "Created" } } }
                tbody {
                    @for d in page.deliveries {
                        tr {
                            td { (d.event.as_ref().map_or("", |e| e.r#type.as_str())) }
                            td { code { (d.subscription_id) } }
                            td { (delivery_status(d.status)) }
                            td { (d.attempts) }
                            td {
                                @if d.last_status > 0 { "HTTP " (d.last_status) " " }
                                (d.last_error)
                            }
                            td { (instant(Some(&proto::timestamp_from_millis(d.created_at)))) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &page.next {
            p { a href=(format!("{base}?status={}&after={next}", page.status)) rel="next" { "Older deliveries" } }
        }
        form.stack method="post" action=(format!("{base}/redeliver")) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            p.hint { "Dead deliveries (retries given up) are sent again from the start." }
            div { button.quiet type="submit" { "Redeliver every dead delivery" } }
        }
    };
    layout("Webhooks", Some(chrome), body)
}

fn format_name(format: i32) -> &'static str {
    match events_pb::Format::try_from(format) {
        Ok(events_pb::Format::Sendbird) => "Sendbird",
        Ok(events_pb::Format::Sunshine) => "Sunshine",
        Ok(events_pb::Format::Ada) => "Ada",
        Ok(events_pb::Format::Email) => "activation email",
        _ => "—",
    }
}

fn delivery_status(status: i32) -> &'static str {
    match events_pb::DeliveryStatus::try_from(status) {
        Ok(events_pb::DeliveryStatus::Pending) => "pending",
        Ok(events_pb::DeliveryStatus::Delivered) => "delivered",
        Ok(events_pb::DeliveryStatus::Dead) => "dead",
        _ => "—",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_in_utc() {
        assert_eq!(instant(Some(&proto::timestamp_from_millis(1_600_560_000_000))), "2020-09-20 00:00:00 UTC");
        assert_eq!(instant(None), "—");
    }
}
