"""Drives Roster with the official Sendbird Platform SDK (sendbird-platform-sdk), changing
only its host. Run by the Rust test `compat::sendbird_sdk` against a live stack:

    ROSTER_URL=http://127.0.0.1:8080 ROSTER_TOKEN=... python sendbird_sdk.py

Every step asserts what the SDK hands back. The last line printed is a JSON report of the
tokens issued, which the Rust side validates over gRPC.
"""

import json
import os
import urllib.request

import sendbird_platform_sdk
from sendbird_platform_sdk.api.bot_api import BotApi
from sendbird_platform_sdk.api.user_api import UserApi
from sendbird_platform_sdk.exceptions import ApiException
from sendbird_platform_sdk.model.create_a_bot_request import CreateABotRequest
from sendbird_platform_sdk.model.create_a_user_request import CreateAUserRequest
from sendbird_platform_sdk.model.create_user_metadata_request import CreateUserMetadataRequest
from sendbird_platform_sdk.model.create_user_token_request import CreateUserTokenRequest
from sendbird_platform_sdk.model.update_a_user_request import UpdateAUserRequest
from sendbird_platform_sdk.model.update_bot_by_id_data import UpdateBotByIdData
from sendbird_platform_sdk.model.update_specific_user_metadata_request import UpdateSpecificUserMetadataRequest
from sendbird_platform_sdk.model.update_user_metadata_request import UpdateUserMetadataRequest

URL = os.environ["ROSTER_URL"]
TOKEN = os.environ["ROSTER_TOKEN"]


def sendbird_error(call, code):
    """The call must fail with Sendbird's error body and `code`."""
    try:
        call()
    except ApiException as err:
        body = json.loads(err.body)
        assert body["error"] is True and body["code"] == code, body
        return
    raise AssertionError(f"expected Sendbird error {code}")


def raw(method, path, body=None, content_type="application/json"):
    """What the SDK cannot send (multipart, revoke-all), sent as any HTTP client would."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(URL + path, data=data, method=method)
    request.add_header("Api-Token", TOKEN)
    if data is not None:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def main():
    config = sendbird_platform_sdk.Configuration(host=URL)
    with sendbird_platform_sdk.ApiClient(config) as client:
        users, bots = UserApi(client), BotApi(client)

        # Create (JSON), with an access token and metadata.
        created = users.create_a_user(
            api_token=TOKEN,
            create_a_user_request=CreateAUserRequest(
                user_id="sdk-alice", nickname="Alice", profile_url="https://example.com/a.png",
                issue_access_token=True, metadata={"tier": "gold"}, discovery_keys=["alice@example.com"],
            ),
        )
        assert created.user_id == "sdk-alice" and created.nickname == "Alice", created
        assert created.is_created is True and len(created.access_token) == 40, created
        first_access = created.access_token
        for user_id, nickname, tier in [("sdk-bob", "Bob", "silver"), ("sdk-carol", "Carol", "gold")]:
            users.create_a_user(
                api_token=TOKEN,
                create_a_user_request=CreateAUserRequest(user_id=user_id, nickname=nickname, metadata={"tier": tier}),
            )
        sendbird_error(
            lambda: users.create_a_user(api_token=TOKEN, create_a_user_request=CreateAUserRequest(user_id="sdk-bob", nickname="x")),
            400202,
        )

        # View, update.
        viewed = users.view_a_user("sdk-alice", api_token=TOKEN, include_unread_count=True)
        assert viewed.metadata == {"tier": "gold"} and viewed.discovery_keys == ["alice@example.com"], viewed
        updated = users.update_a_user(
            "sdk-carol", api_token=TOKEN,
            update_a_user_request=UpdateAUserRequest(nickname="Caroline", is_active=False, preferred_languages=["en"]),
        )
        assert updated.nickname == "Caroline" and updated.is_active is False, updated
        sendbird_error(lambda: users.view_a_user("nobody", api_token=TOKEN), 400201)

        # List: pages by token, and filters.
        seen, token = [], ""
        while True:
            page = users.list_users(api_token=TOKEN, limit=1, token=token, active_mode="all", show_bot=False)
            seen += [u.user_id for u in page.users]
            token = page.next
            if not token:
                break
        assert sorted(seen) == ["sdk-alice", "sdk-bob", "sdk-carol"], seen
        picked = users.list_users(api_token=TOKEN, user_ids="sdk-alice,sdk-carol", active_mode="all")
        assert sorted(u.user_id for u in picked.users) == ["sdk-alice", "sdk-carol"]
        assert [u.user_id for u in users.list_users(api_token=TOKEN, nickname_startswith="Bo").users] == ["sdk-bob"]
        gold = users.list_users(api_token=TOKEN, metadatakey="tier", metadatavalues_in="gold", active_mode="all")
        assert sorted(u.user_id for u in gold.users) == ["sdk-alice", "sdk-carol"]
        assert [u.user_id for u in users.list_users(api_token=TOKEN, active_mode="deactivated").users] == ["sdk-carol"]

        # Metadata.
        users.create_user_metadata("sdk-bob", api_token=TOKEN, create_user_metadata_request=CreateUserMetadataRequest(metadata={"city": "Seoul"}))
        users.update_user_metadata(
            "sdk-bob", api_token=TOKEN,
            update_user_metadata_request=UpdateUserMetadataRequest(metadata={"tier": "gold", "team": "blue"}, upsert=True),
        )
        assert users.view_specific_user_metadata("sdk-bob", "team", api_token=TOKEN) == {"team": "blue"}
        users.update_specific_user_metadata(
            "sdk-bob", "team", api_token=TOKEN,
            update_specific_user_metadata_request=UpdateSpecificUserMetadataRequest(value="red"),
        )
        users.delete_specific_user_metadata("sdk-bob", "city", api_token=TOKEN)
        assert users.view_a_user("sdk-bob", api_token=TOKEN).metadata == {"tier": "gold", "team": "red"}
        users.delete_user_all_metadata("sdk-bob", api_token=TOKEN)
        assert users.view_a_user("sdk-bob", api_token=TOKEN).metadata == {}

        # Access tokens: ten more push the first one out.
        latest = None
        for _ in range(10):
            latest = users.update_a_user(
                "sdk-alice", api_token=TOKEN, update_a_user_request=UpdateAUserRequest(issue_access_token=True)
            ).access_token

        # Session tokens: issued, then revoked all at once (not in the SDK: plain HTTP).
        revoked = users.create_user_token("sdk-alice", api_token=TOKEN, create_user_token_request=CreateUserTokenRequest())
        # Sendbird documents session tokens of 119 to 168 characters.
        assert revoked.expires_at > 0 and 119 <= len(revoked.token) <= 168
        assert raw("DELETE", "/v3/users/sdk-alice/token") == {}
        live = users.create_user_token("sdk-alice", api_token=TOKEN)

        # Multipart create with a profile image (the SDK cannot send files).
        png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082")
        boundary = "roster-compat-boundary"
        parts = []
        for name, value in [("user_id", "sdk-pic"), ("nickname", "Pic")]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="profile_file"; filename="p.png"\r\n'
            f"Content-Type: image/png\r\n\r\n".encode() + png + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        pic = raw("POST", "/v3/users", b"".join(parts), f"multipart/form-data; boundary={boundary}")
        assert pic["user_id"] == "sdk-pic" and pic["profile_url"].startswith("http"), pic
        with urllib.request.urlopen(pic["profile_url"]) as response:
            # Decoded and written again by Roster: a PNG, not necessarily the same bytes.
            assert response.read().startswith(b"\x89PNG\r\n\x1a\n") and response.headers["Content-Type"] == "image/png"
        assert users.view_a_user("sdk-pic", api_token=TOKEN).profile_url == pic["profile_url"]

        # Bots.
        bot = bots.create_a_bot(
            api_token=TOKEN,
            create_a_bot_request=CreateABotRequest(
                bot_userid="sdk-bot", bot_nickname="Helper", bot_profile_url="https://example.com/b.png",
                bot_type="ai_agent", bot_callback_url="https://example.com/hook", is_privacy_mode=False,
            ),
        )
        assert bot.bot.bot_userid == "sdk-bot", bot
        assert [b.bot.bot_userid for b in bots.list_bots(api_token=TOKEN).bots] == ["sdk-bot"]
        assert bots.view_bot_by_id("sdk-bot", api_token=TOKEN).bot.bot_nickname == "Helper"
        renamed = bots.update_bot_by_id(
            "sdk-bot", api_token=TOKEN,
            update_bot_by_id_data=UpdateBotByIdData(
                bot_userid="sdk-bot", bot_nickname="Helpful", bot_profile_url="https://example.com/b.png",
                bot_callback_url="https://example.com/hook", is_privacy_mode=True, enable_mark_as_read=True,
                show_member=False, channel_invitation_preference=0,
            ),
        )
        assert renamed.bot.bot_nickname == "Helpful" and renamed.is_privacy_mode is True, renamed
        bots.delete_bot_by_id("sdk-bot", api_token=TOKEN)
        sendbird_error(lambda: bots.view_bot_by_id("sdk-bot", api_token=TOKEN), 400201)

        # Deactivate a user: no new token (Sendbird's 400300), its tokens reported for the gRPC
        # check; a reactivated user gets tokens again.
        sleeper = users.create_a_user(
            api_token=TOKEN,
            create_a_user_request=CreateAUserRequest(user_id="sdk-sleeper", nickname="S", profile_url="", issue_access_token=True),
        )
        sleeper_session = users.create_user_token("sdk-sleeper", api_token=TOKEN)
        off = users.update_a_user("sdk-sleeper", api_token=TOKEN, update_a_user_request=UpdateAUserRequest(is_active=False))
        assert off.is_active is False, off
        sendbird_error(lambda: users.create_user_token("sdk-sleeper", api_token=TOKEN), 400300)
        sendbird_error(
            lambda: users.update_a_user(
                "sdk-sleeper", api_token=TOKEN, update_a_user_request=UpdateAUserRequest(issue_access_token=True)
            ),
            400300,
        )
        on = users.update_a_user("sdk-sleeper", api_token=TOKEN, update_a_user_request=UpdateAUserRequest(is_active=True))
        assert on.is_active is True, on
        assert 119 <= len(users.create_user_token("sdk-sleeper", api_token=TOKEN).token) <= 168
        users.update_a_user("sdk-sleeper", api_token=TOKEN, update_a_user_request=UpdateAUserRequest(is_active=False))

        # Delete a user; its tokens are reported for the gRPC check.
        deleted_token = users.create_a_user(
            api_token=TOKEN, create_a_user_request=CreateAUserRequest(user_id="sdk-gone", nickname="G", issue_access_token=True)
        ).access_token
        users.delete_a_user("sdk-gone", api_token=TOKEN)
        sendbird_error(lambda: users.view_a_user("sdk-gone", api_token=TOKEN), 400201)

        # A wrong API token.
        config_bad = sendbird_platform_sdk.Configuration(host=URL)
        with sendbird_platform_sdk.ApiClient(config_bad) as bad:
            sendbird_error(lambda: UserApi(bad).view_a_user("sdk-alice", api_token="0" * 40), 400401)

    print(json.dumps({
        "access_pushed_out": first_access,
        "access_latest": latest,
        "session_revoked": revoked.token,
        "session_live": live.token,
        "access_of_deleted_user": deleted_token,
        "access_of_deactivated_user": sleeper.access_token,
        "session_of_deactivated_user": sleeper_session.token,
    }))


if __name__ == "__main__":
    main()
