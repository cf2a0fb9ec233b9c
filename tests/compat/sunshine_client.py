"""Drives Roster with the official Sunshine Conversations client (sunshine-conversations-client),
changing only its host. Run by the Rust test `sunshine_compat::sunshine_client` against a live
stack, once per way of authenticating:

    ROSTER_HOST=http://127.0.0.1:8080 ROSTER_APP_ID=... ROSTER_KEY_ID=app_... ROSTER_KEY_SECRET=... \
    ROSTER_AUTH=basic|jwt ROSTER_RUN=name python sunshine_client.py

ROSTER_HOST may carry Zendesk's `/sc` prefix. Every step asserts what the client hands back. The
last line printed is a JSON report of what was made and removed, which the Rust side checks over
gRPC.
"""

import base64
import hashlib
import hmac
import json
import os
import time

import sunshine_conversations_client as sc
from sunshine_conversations_client.exceptions import ApiException
from sunshine_conversations_client import (
    AppKeyCreateBody,
    ConversationCreateBody,
    Custom,
    CustomUpdate,
    IntegrationListFilter,
    IntegrationUpdate,
    Page,
    ParticipantSubSchema,
    ParticipantWithUserExternalId,
    Profile,
    UserCreateBody,
    UserUpdateBody,
    Webhook,
    WebhookBody,
    WebhookCreateBody,
)

HOST = os.environ["ROSTER_HOST"]
APP_ID = os.environ["ROSTER_APP_ID"]
KEY_ID = os.environ["ROSTER_KEY_ID"]
KEY_SECRET = os.environ["ROSTER_KEY_SECRET"]
AUTH = os.environ.get("ROSTER_AUTH", "basic")
RUN = os.environ.get("ROSTER_RUN", "run")
WEBHOOK_TARGET = os.environ["ROSTER_WEBHOOK_TARGET"]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def app_jwt(key_id, secret):
    """A `scope: app` JWT signed HS256 with an app key, as Sunshine's docs mint one."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key_id}).encode())
    claims = b64url(json.dumps({"scope": "app", "iat": int(time.time())}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64url(signature)}"


def sunshine_error(call, status, code):
    """The call must fail with Sunshine's error body, `status` and `code`."""
    try:
        call()
    except ApiException as err:
        assert err.status == status, (err.status, err.body)
        body = json.loads(err.body)
        assert body["errors"][0]["code"] == code, body
        assert err.headers["content-type"] == "application/json", err.headers
        return
    raise AssertionError(f"expected Sunshine error {status} {code}")


def configuration():
    config = sc.Configuration(host=HOST)
    if AUTH == "jwt":
        config.access_token = app_jwt(KEY_ID, KEY_SECRET)
    else:
        config.username = KEY_ID
        config.password = KEY_SECRET
    return config


def app_keys(client):
    keys = sc.AppKeysApi(client)
    created = keys.create_app_key(APP_ID, AppKeyCreateBody(display_name=f"compat {RUN}")).key
    assert created.id.startswith("app_") and created.secret, created
    assert created.display_name == f"compat {RUN}", created
    listed = keys.list_app_keys(APP_ID).keys
    assert created.id in [k.id for k in listed], listed
    assert all(k.secret is None for k in listed), "secrets are shown once"
    got = keys.get_app_key(APP_ID, created.id).key
    assert (got.id, got.display_name, got.secret) == (created.id, created.display_name, None), got
    assert keys.delete_app_key(APP_ID, created.id) == {}
    sunshine_error(lambda: keys.get_app_key(APP_ID, created.id), 404, "not_found")
    return created.id


def integrations(client):
    """A custom integration and its webhooks, as IntegrationsApi and WebhooksApi make them."""
    api = sc.IntegrationsApi(client)
    hooks = sc.WebhooksApi(client)
    triggers = ["user:update", "user:remove", "conversation:create"]
    body = Custom(
        display_name=f"compat {RUN}",
        webhooks=[Webhook(target=WEBHOOK_TARGET, triggers=triggers, include_full_user=True)],
    )
    created = api.create_integration(APP_ID, body).integration
    assert isinstance(created, Custom) and created.status == "active", created
    assert len(created.id) == 24 and created.display_name == f"compat {RUN}", created
    webhook = created.webhooks[0]
    assert webhook.version == "v2" and webhook.triggers == triggers and webhook.include_full_user, webhook
    assert webhook.secret and webhook.target == WEBHOOK_TARGET, webhook
    got = api.get_integration(APP_ID, created.id).integration
    assert got.id == created.id and got.webhooks[0].id == webhook.id, got
    assert got.webhooks[0].secret is None, "the secret is shown once"
    customs = api.list_integrations(APP_ID, filter=IntegrationListFilter(types="custom")).integrations
    assert created.id in [i.id for i in customs], customs
    assert not api.list_integrations(APP_ID, filter=IntegrationListFilter(types="web")).integrations

    second = hooks.create_webhook(
        APP_ID, created.id, WebhookCreateBody(target=WEBHOOK_TARGET, triggers=["conversation:join"])
    ).webhook
    assert second.secret and second.secret != webhook.secret and second.id != webhook.id, second
    listed = hooks.list_webhooks(APP_ID, created.id).webhooks
    assert [w.id for w in listed] == [webhook.id, second.id] and all(w.secret is None for w in listed), listed
    changed = hooks.update_webhook(
        APP_ID, created.id, second.id, WebhookBody(triggers=["conversation:join", "conversation:leave"])
    ).webhook
    assert changed.triggers == ["conversation:join", "conversation:leave"], changed
    assert hooks.get_webhook(APP_ID, created.id, second.id).webhook == changed
    assert hooks.delete_webhook(APP_ID, created.id, second.id) == {}
    sunshine_error(lambda: hooks.get_webhook(APP_ID, created.id, second.id), 404, "not_found")
    # A custom integration keeps one webhook at least.
    sunshine_error(lambda: hooks.delete_webhook(APP_ID, created.id, webhook.id), 400, "bad_request")

    renamed = api.update_integration(APP_ID, created.id, IntegrationUpdate(CustomUpdate(display_name="renamed")))
    assert renamed.integration.display_name == "renamed", renamed
    doomed = api.create_integration(
        APP_ID, Custom(webhooks=[Webhook(target=WEBHOOK_TARGET, triggers=["user:remove"])])
    ).integration
    assert api.delete_integration(APP_ID, doomed.id) == {}
    sunshine_error(lambda: api.get_integration(APP_ID, doomed.id), 404, "not_found")
    bad = Custom(webhooks=[Webhook(target="ftp://example.com/x", triggers=["user:update"])])
    sunshine_error(lambda: api.create_integration(APP_ID, bad), 400, "bad_request")
    return created.id, webhook.secret


def users(client):
    api = sc.UsersApi(client)
    external_id = f"{RUN}/ü+ 1"
    created = api.create_user(
        APP_ID,
        UserCreateBody(
            external_id=external_id,
            signed_up_at="2020-09-20T10:11:12.345Z",
            to_be_retained=True,
            profile=Profile(given_name="Ada", surname="Lovelace", email="ada@example.com", locale="en-GB"),
            metadata={"tier": 2, "vip": True, "region": "emea"},
        ),
    ).user
    assert len(created.id) == 24 and created.external_id == external_id, created
    assert created.signed_up_at == "2020-09-20T10:11:12.345Z", created
    assert created.to_be_retained is True and created.authenticated is False, created
    assert created.profile.given_name == "Ada" and created.profile.avatar_url is None, created.profile
    assert created.metadata == {"tier": 2, "vip": True, "region": "emea"}, created.metadata
    assert created.identities == [], created

    by_id = api.get_user(APP_ID, created.id).user
    by_external_id = api.get_user(APP_ID, external_id).user
    assert by_id == created == by_external_id, (by_id, by_external_id)
    sunshine_error(lambda: api.create_user(APP_ID, UserCreateBody(external_id=external_id.upper())), 409, "conflict")

    # None sent explicitly clears: email (a profile field) and, later, the whole metadata.
    updated = api.update_user(
        APP_ID,
        external_id,
        UserUpdateBody(profile=Profile(given_name="Augusta", email=None), metadata={"plan": "pro"}),
    ).user
    assert updated.profile.given_name == "Augusta" and updated.profile.email is None, updated.profile
    assert updated.profile.surname == "Lovelace", "fields not sent stay"
    assert updated.metadata == {"plan": "pro"}, "metadata sent replaces the whole of it"
    cleared = api.update_user(APP_ID, created.id, UserUpdateBody(metadata=None, to_be_retained=False)).user
    assert cleared.metadata == {} and cleared.to_be_retained is False, cleared

    wiped = api.delete_user_personal_information(APP_ID, external_id).user
    assert wiped.id == created.id and wiped.external_id == external_id, wiped
    assert wiped.profile == Profile() and wiped.metadata == {} and wiped.identities == [], wiped

    doomed = api.create_user(APP_ID, UserCreateBody(external_id=f"{RUN}-doomed")).user
    assert api.delete_user(APP_ID, f"{RUN}-doomed") == {}
    sunshine_error(lambda: api.get_user(APP_ID, doomed.id), 404, "not_found")
    sunshine_error(lambda: api.get_user(APP_ID, f"{RUN}-nobody"), 404, "not_found")
    return created.id, doomed.id


def conversations(client):
    names = [f"{RUN}-p{i}" for i in range(3)]
    participants = [
        ParticipantSubSchema(ParticipantWithUserExternalId(user_external_id=name, subscribe_sdk_client=False))
        for name in names
    ]
    body = ConversationCreateBody(
        type="sdkGroup", participants=participants, display_name="Compat", metadata={"lang": "en"}
    )
    conversation = sc.ConversationsApi(client).create_conversation(APP_ID, body).conversation
    assert conversation.type == "sdkGroup" and conversation.display_name == "Compat", conversation
    assert conversation.description is None and conversation.metadata == {"lang": "en"}, conversation
    got = sc.ConversationsApi(client).get_conversation(APP_ID, conversation.id).conversation
    assert got == conversation, got

    api = sc.ParticipantsApi(client)
    first = api.list_participants(APP_ID, conversation.id, page=Page(size=2))
    assert [p.user_external_id for p in first.participants] == names[:2], first
    assert first.meta.has_more is True and first.meta.after_cursor == first.participants[1].id, first.meta
    assert first.links.next is not None and first.links.prev is None, first.links
    rest = api.list_participants(APP_ID, conversation.id, page=Page(after=first.meta.after_cursor, size=2))
    assert [p.user_external_id for p in rest.participants] == names[2:], rest
    assert rest.meta.has_more is False and rest.meta.before_cursor == rest.participants[0].id, rest.meta
    assert all(p.unread_count == 0 and len(p.user_id) == 24 for p in first.participants + rest.participants)
    return conversation.id, names


def main():
    with sc.ApiClient(configuration()) as client:
        deleted_key = app_keys(client)
        integration, webhook_secret = integrations(client)
        kept_user, deleted_user = users(client)
        conversation, participants = conversations(client)
    # Another application's credential is refused on this application's path.
    config = configuration()
    config.username, config.password, config.access_token = KEY_ID, "not-the-secret", None
    with sc.ApiClient(config) as client:
        sunshine_error(lambda: sc.AppKeysApi(client).list_app_keys(APP_ID), 401, "unauthorized")
    print(json.dumps({
        "deleted_key": deleted_key,
        "kept_user": kept_user,
        "deleted_user": deleted_user,
        "conversation": conversation,
        "participants": participants,
        "integration": integration,
        "webhook_secret": webhook_secret,
    }))


if __name__ == "__main__":
    main()
