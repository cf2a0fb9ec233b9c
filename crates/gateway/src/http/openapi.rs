//! The OpenAPI 3.1 document of every REST route, made from the handlers' own annotations and
//! the dialects' serde types as the router is built (`utoipa_axum::routes!` registers a handler
//! and its description together), served at `GET /openapi.json` and rendered at `/docs` by
//! Swagger UI, whose assets are compiled into the binary: nothing is fetched from elsewhere.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Names of the security schemes, as the handlers' `security(...)` cite them.
pub const SENDBIRD_API_TOKEN: &str = "sendbird_api_token";
pub const SUNSHINE_BASIC: &str = "sunshine_basic";
pub const SUNSHINE_JWT: &str = "sunshine_jwt";
pub const ADA_BEARER: &str = "ada_bearer";
pub const KORE_AUTH: &str = "kore_auth";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "Self-hosted identity backend for chat and AI-agent products. Four REST dialects, each \
                       wire-compatible with a hosted platform's API, over one user registry per application.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "Sendbird", description = "Sendbird Platform API v3: users, metadata, access and session tokens, \
                                           bots and the AI agent's messenger channel. Header `Api-Token`."),
        (name = "Sunshine", description = "Sunshine Conversations API v2 under `/v2/apps/{app_id}` (also served \
                                           under `/sc/v2/apps/{app_id}`, as on Zendesk's hosts): app keys, users, \
                                           conversations, participants, and Roster's JWT login. HTTP Basic with an \
                                           app key, or a `scope: app` JWT signed with one."),
        (name = "Ada", description = "Ada API v2: end users, channels, conversations. `Authorization: Bearer` \
                                      with an API token. Every path is also answered with a trailing slash."),
        (name = "Kore.ai", description = "Kore.ai's user-management API: users created, updated and removed in \
                                          bulk, looked up by email, and the groups and roles they hold. Header \
                                          `auth`: an HS256 JWT of an admin client, naming it in `appId`."),
        (name = "Health", description = "Liveness and readiness, without credentials."),
    ),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let header = |name: &str, description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, description)))
        };
        components.add_security_scheme(
            SENDBIRD_API_TOKEN,
            header("Api-Token", "An API token of the application (`roster apps create` prints the first)."),
        );
        components.add_security_scheme(
            SUNSHINE_BASIC,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("An app key of the application the path names: `keyId:secret`."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SUNSHINE_JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "HS256, signed with an app key's secret, header `kid` = key id, claim `scope: app`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ADA_BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token of the application."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            KORE_AUTH,
            header("auth", "An HS256 JWT signed with an admin client's secret, `appId` = the client's id."),
        );
    }
}

/// `/openapi.json` and the page at `/docs` that renders it.
pub fn docs(api: utoipa::openapi::OpenApi) -> SwaggerUi {
    // No validator: by default Swagger UI sends the document to an outside service.
    SwaggerUi::new("/docs").url("/openapi.json", api).config(Config::default().validator_url("none"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use crate::{Clients, http::api};

    const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "options", "trace"];

    /// Every (method, path) the router itself answers: its paths as its `Debug` rendering lists
    /// them (axum has no other way to enumerate routes), each path's methods from the `Allow` of
    /// the 405 a method it does not take gets.
    async fn routed() -> BTreeSet<(String, String)> {
        let (router, _) = api();
        let debug = format!("{router:?}");
        // The routes, not the fallback router that follows them.
        let routes = debug.split_once("fallback_router").map_or(debug.as_str(), |(routes, _)| routes);
        let paths: BTreeSet<String> = routes
            .match_indices("RouteId(")
            .filter_map(|(at, _)| {
                let rest = &routes[at..];
                let quoted = rest.split_once(": \"")?.1;
                Some(quoted.split_once('"')?.0.to_owned())
            })
            .filter(|path| path.starts_with('/'))
            .collect();
        assert!(paths.len() > 20, "the router's paths could not be read from its Debug output: {debug:.400}");
        let router = router.with_state(Clients::new(&platform::Settings::default()).expect("lazy clients"));
        let mut routed = BTreeSet::new();
        for path in paths {
            let concrete: String = path
                .split('/')
                .map(|segment| if segment.starts_with('{') { "x" } else { segment })
                .collect::<Vec<_>>()
                .join("/");
            let request = Request::builder().method("CONNECT").uri(&concrete).body(Body::empty()).expect("request");
            let response = router.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status(), 405, "{path} answers CONNECT");
            let allow = response.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            assert!(!allow.is_empty(), "{path}: a 405 without Allow");
            for method in allow.split(',').map(|m| m.trim().to_ascii_lowercase()).filter(|m| m != "head") {
                routed.insert((method, path.clone()));
            }
        }
        routed
    }

    fn documented() -> BTreeSet<(String, String)> {
        let (_, document) = api();
        let document = serde_json::to_value(&document).expect("JSON");
        let mut documented = BTreeSet::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for method in METHODS {
                if item.get(method).is_some() {
                    documented.insert((method.to_owned(), path.clone()));
                }
            }
        }
        documented
    }

    #[tokio::test]
    async fn every_route_of_every_dialect_is_in_the_document_and_nothing_else() {
        let (routed, documented) = (routed().await, documented());
        let missing: Vec<_> = routed.difference(&documented).collect();
        assert!(missing.is_empty(), "routes the OpenAPI document does not describe: {missing:?}");
        let phantom: Vec<_> = documented.difference(&routed).collect();
        assert!(phantom.is_empty(), "operations the router does not answer: {phantom:?}");
        for dialect in ["/v3/users", "/v2/apps/{app_id}/users", "/api/v2/end-users", "/api/public/users"] {
            assert!(routed.iter().any(|(_, path)| path == dialect), "{dialect} routed");
        }
    }

    #[test]
    fn every_operation_has_a_dialect_tag_security_and_error_bodies() {
        let (_, document) = api();
        let document = serde_json::to_value(&document).expect("JSON");
        assert_eq!(document["openapi"], "3.1.0");
        let schemes = document["components"]["securitySchemes"].as_object().expect("security schemes");
        for scheme in
            [super::SENDBIRD_API_TOKEN, super::SUNSHINE_BASIC, super::SUNSHINE_JWT, super::ADA_BEARER, super::KORE_AUTH]
        {
            assert!(schemes.contains_key(scheme), "{scheme}");
        }
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in
                item.as_object().expect("item").iter().filter(|(m, _)| METHODS.contains(&m.as_str()))
            {
                let tags = operation["tags"].as_array().map(Vec::len).unwrap_or_default();
                assert_eq!(tags, 1, "{method} {path}: one tag");
                let open = ["/healthz", "/readyz", "/profile_images/", "/privacy_exports/", "/login"]
                    .iter()
                    .any(|p| path.contains(p));
                if !open {
                    assert!(
                        operation["security"].as_array().is_some_and(|s| !s.is_empty()),
                        "{method} {path}: security"
                    );
                    let responses = operation["responses"].as_object().expect("responses");
                    assert!(
                        responses.keys().any(|s| s.starts_with('4')) && responses.contains_key("500"),
                        "{method} {path}: error bodies"
                    );
                }
            }
        }
    }

    #[test]
    fn the_document_is_served_and_rendered_without_leaving_the_host() {
        let html = utoipa_swagger_ui::Config::default().validator_url("none");
        let config = serde_json::to_value(&html).expect("config");
        assert_eq!(config["validatorUrl"], "none");
    }
}
