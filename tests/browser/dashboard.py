"""Drives Roster's dashboard in Debian's Chromium with Playwright for Python, as a person would:
sign in (a wrong token first), find users, create a test user, edit nothing behind its back,
issue and copy a session token, deactivate and reactivate, delete; a forged form refused; another
application's user never shown; axe-core on every page (no serious or critical violation); the
keyboard reaches the skip link first; a phone-sized window scrolls only vertically. Run by the
Rust test `browser::dashboard_in_chromium` against a live stack:

    ROSTER_URL=... ROSTER_TOKEN=... ROSTER_APP=... OTHER_APP=... OTHER_USER=... \
    CHROMIUM=/usr/bin/chromium SCREENSHOTS=dir python dashboard.py

The last line printed is a JSON report (the session token copied), which the Rust side checks.
"""

import json
import os
import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

URL = os.environ["ROSTER_URL"]
TOKEN = os.environ["ROSTER_TOKEN"]
APP = os.environ["ROSTER_APP"]
OTHER_APP = os.environ["OTHER_APP"]
OTHER_USER = os.environ["OTHER_USER"]
SHOTS = os.environ["SCREENSHOTS"]

axe = Axe()
checked = []


def accessible(page, name):
    """axe-core in the page: no serious or critical violation."""
    results = axe.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{name}: " + json.dumps([(v["id"], v["impact"], v["help"]) for v in bad])
    checked.append(name)


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=os.environ["CHROMIUM"], args=["--no-sandbox"])
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()

    # Signed out, the dashboard is its sign-in page; the keyboard meets the skip link first.
    page.goto(f"{URL}/dashboard")
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to an application")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    accessible(page, "sign-in")
    shot(page, "sign-in")

    # A wrong token: refused in words.
    page.get_by_label("API token").fill("f" * 40)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    accessible(page, "sign-in refused")

    # The right one: the users of the application.
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/apps/{APP}/users$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    expect(page.get_by_role("link", name="ana")).to_be_visible()
    assert OTHER_USER not in page.content(), "another application's user is never shown"
    accessible(page, "users")
    shot(page, "users")

    # A form being sent says so and cannot be sent twice (held back here, to look at it).
    busy = page.evaluate(
        """() => {
            const form = document.querySelector('form[method=post][action$="/users"]');
            form.querySelector('[name=user_id]').value = 'held-back';
            form.querySelector('[name=nickname]').value = 'Held back';
            form.addEventListener('submit', (e) => e.preventDefault(), { once: true });
            form.requestSubmit();
            const button = form.querySelector('button[type=submit]');
            return [form.getAttribute('aria-busy'), button.disabled, button.textContent];
        }"""
    )
    assert busy == ["true", True, "Working…"], busy
    page.reload()

    # A test user.
    page.get_by_label("User id").fill("browser-user")
    page.get_by_label("Nickname").fill("Made in a browser")
    page.get_by_label("Metadata (optional)").fill('{"source": "dashboard"}')
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("browser-user")
    expect(page.get_by_role("cell", name="dashboard", exact=True)).to_be_visible()
    accessible(page, "user")
    shot(page, "user")

    # Its metadata edited: a value changed, another added, one removed.
    page.get_by_label("Key", exact=True).fill("source")
    page.get_by_label("Value", exact=True).fill("edited in a browser")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_role("cell", name="edited in a browser")).to_be_visible()
    page.get_by_label("Key", exact=True).fill("tier")
    page.get_by_label("Value", exact=True).fill("gold")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_role("cell", name="gold")).to_be_visible()
    page.get_by_role("button", name="Remove metadata tier").click()
    expect(page.get_by_role("cell", name="gold")).to_have_count(0)
    accessible(page, "user edited")

    # Found by search.
    page.get_by_role("link", name="All users").click()
    page.get_by_label("Search by").select_option("user_id")
    page.get_by_label("Value").fill("browser-user")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="browser-user")).to_be_visible()
    expect(page.get_by_role("link", name="ana")).to_have_count(0)
    page.get_by_role("link", name="browser-user").click()
    user_url = page.url

    # A session token, shown once, copied from its field.
    page.get_by_role("button", name="Issue a session token").click()
    field = page.get_by_label("Session token")
    expect(field).to_be_visible()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=URL)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").last).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == field.input_value() and len(copied) > 40, copied
    accessible(page, "session token")

    # Deactivate, then reactivate.
    page.goto(user_url)
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()
    expect(page.locator("dd", has_text="deactivated")).to_be_visible()
    page.get_by_role("button", name="Reactivate").click()
    expect(page.get_by_role("button", name="Deactivate")).to_be_visible()

    # A forged form (no CSRF token of this session) changes nothing.
    forged = context.request.post(f"{user_url}/active", form={"csrf": "0" * 64, "active": "false"}, max_redirects=0)
    assert forged.status == 403, forged.status
    page.goto(user_url)
    expect(page.get_by_role("button", name="Deactivate")).to_be_visible()

    # The application's settings: saved, and a credential made with its secret shown once.
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Application")
    accessible(page, "settings")
    shot(page, "settings")
    page.get_by_label("Rate limit (requests per second at each gateway)").fill("25")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("The settings were saved.")
    expect(page.get_by_label("Rate limit (requests per second at each gateway)")).to_have_value("25")
    page.get_by_label("Name of a new app key").fill("browser")
    page.get_by_role("button", name="Create an app key").click()
    expect(page.get_by_label("Secret")).not_to_have_value("")
    accessible(page, "secret")

    # Webhooks: the subscriptions and the delivery log.
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    accessible(page, "webhooks")

    # Another application: not signed in to it, nothing of it shown.
    response = page.goto(f"{URL}/dashboard/apps/{OTHER_APP}/users")
    assert response.status == 404, response.status
    assert OTHER_USER not in page.content()

    # A phone: one column, nothing wider than the screen.
    phone = browser.new_context(viewport={"width": 375, "height": 740}, storage_state=context.storage_state())
    small = phone.new_page()
    small.goto(f"{URL}/dashboard/apps/{APP}/users")
    width = small.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"scrolls sideways on a phone: {width}"
    shot(small, "users-phone")
    phone.close()

    # Delete, after its confirmation step.
    page.goto(user_url)
    page.get_by_role("link", name="Delete this user…").click()
    accessible(page, "delete")
    page.get_by_label("Type the user id to confirm").fill("browser-user")
    page.get_by_role("button", name="Delete the user").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/apps/{APP}/users$"))
    expect(page.get_by_role("link", name="browser-user")).to_have_count(0)

    # Sign out: the dashboard asks to sign in again.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in$"))
    page.goto(f"{URL}/dashboard/apps/{APP}/users")
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in$"))
    browser.close()

print(json.dumps({"session_token": copied, "axe_pages": checked}))
