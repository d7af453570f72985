"""Account against a real broker and database: events with growing revisions, password policy, throttled sign-in,
server-side sessions, internal data."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from eventshop.platform.auth import CLIENT_ADDRESS_HEADER
from eventshop.platform.settings import Settings
from eventshop.services.account.service import declare
from tests.conftest import eventually, running
from tests.credentials import as_service
from tests.integration.publishing import broker, collect

PASSWORD = "correct horse battery"
NEW = {"name": "Ada Lovelace", "email": "Ada@Example.com", "password": PASSWORD,
       "address": {"street": "Invalidenstr. 1", "city": "Berlin", "postcode": "10115", "country": "de"},
       "payment_token": "tok_visa"}


def caller(name: str) -> dict[str, str]:
    return as_service(name, "account")


async def test_create_update_deactivate_publish_events_with_growing_revisions(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as account:
        nc = await broker(settings)
        events = await collect(nc, "account.>")
        created = await account.http.post("/accounts", json=NEW)
        assert created.status_code == 201
        body = created.json()
        assert body["email"] == "ada@example.com" and body["address"]["country"] == "DE"
        assert "password" not in str(body) and "hash" not in str(body)
        account_id = body["id"]
        await account.http.patch(f"/accounts/{account_id}", json={"payment_token": "tok_declined"})
        await account.http.post(f"/accounts/{account_id}/deactivate", json={"reason": "moved away"})
        await eventually(lambda: len(events) == 3, message="three events")
        assert [(e["type"], e["data"]["revision"]) for e in events] == [
            ("AccountCreatedEvent", 1), ("AccountUpdatedEvent", 2), ("AccountDeactivatedEvent", 3)
        ]
        assert events[1]["data"]["changed"] == ["payment_token"]
        assert all("tok_" not in str(e) and "argon" not in str(e) for e in events)
        refused = await account.http.patch(f"/accounts/{account_id}", json={"name": "X"})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "account_deactivated"
        await nc.close()


async def test_duplicate_email_and_bad_input_are_clear_errors(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as account:
        assert (await account.http.post("/accounts", json=NEW)).status_code == 201
        again = await account.http.post("/accounts", json=NEW | {"email": "ada@example.com"})
        assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"
        bad: dict[str, Any] = NEW | {"email": "not-an-email", "password": "short"}
        response = await account.http.post("/accounts", json=bad)
        assert response.status_code == 422 and "email" in response.json()["error"]["message"]
        short = await account.http.post("/accounts", json=NEW | {"email": "b@example.com", "password": "short"})
        assert short.json()["error"]["code"] == "weak_password"
        token = await account.http.post("/accounts", json=NEW | {"email": "c@example.com", "payment_token": "4242"})
        assert token.json()["error"]["code"] == "invalid_payment_token"


async def test_sign_in_checks_the_password_and_refuses_deactivated_accounts(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as account:
        account_id = (await account.http.post("/accounts", json=NEW)).json()["id"]
        ok = await account.http.post("/sessions", json={"email": "ADA@example.com", "password": NEW["password"]})
        assert ok.status_code == 200 and ok.json()["account_id"] == account_id and len(ok.json()["session_id"]) > 30
        wrong = await account.http.post("/sessions", json={"email": "ada@example.com", "password": "nope-nope"})
        unknown = await account.http.post("/sessions", json={"email": "who@example.com", "password": "nope-nope"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        await account.http.post(f"/accounts/{account_id}/deactivate", json={})
        gone = await account.http.post("/sessions", json={"email": "ada@example.com", "password": NEW["password"]})
        assert gone.status_code == 403 and gone.json()["error"]["code"] == "account_deactivated"


async def test_internal_data_is_served_only_to_the_services_the_seed_names(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as account:
        account_id = (await account.http.post("/accounts", json=NEW)).json()["id"]
        base = f"/internal/accounts/{account_id}"
        paid = await account.http.get(f"{base}/payment-data", headers=caller("payment"))
        assert paid.json() == {"account_id": account_id, "status": "active", "payment_token": "tok_visa"}
        assert (await account.http.get(f"{base}/address", headers=caller("shipping"))).json()["address"]["city"] == (
            "Berlin"
        )
        assert (await account.http.get(f"{base}/contact", headers=caller("notification"))).json()["email"] == (
            "ada@example.com"
        )
        wrong = await account.http.get(f"{base}/payment-data", headers=caller("shipping"))
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "caller_not_allowed"
        anonymous = await account.anonymous.get(f"{base}/payment-data")
        assert anonymous.status_code == 401


async def test_common_and_guessable_passwords_are_refused_with_the_estimators_reason(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as account:
        for weak in ("12345678", "password", "demo-password", "lovelace-ada", "w@example.com"):
            refused = await account.http.post("/accounts", json=NEW | {"email": "w@example.com", "password": weak})
            error = refused.json()["error"]
            assert refused.status_code == 422 and error["code"] == "weak_password", weak
            assert error["details"]["field"] == "password" and len(error["message"]) > 20, weak
        common = await account.http.post("/accounts", json=NEW | {"password": "password"})
        assert "common password" in common.json()["error"]["message"]
        assert (await account.http.post("/accounts", json=NEW)).status_code == 201
        schema = (await account.http.get("/openapi.json")).json()["components"]["schemas"]["CreateAccount"]
        assert schema["properties"]["password"]["minLength"] == 8
        assert schema["properties"]["password"]["maxLength"] == 200


async def test_a_password_change_needs_a_strong_password_and_ends_every_other_session(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as account:
        account_id = (await account.http.post("/accounts", json=NEW)).json()["id"]
        here = await sign_in(account.http, PASSWORD)
        elsewhere = await sign_in(account.http, PASSWORD)
        weak = await account.http.patch(f"/accounts/{account_id}", json={"password": "12345678"})
        assert weak.status_code == 422 and weak.json()["error"]["details"]["field"] == "password"
        wrong = await account.http.patch(f"/accounts/{account_id}", json={
            "password": "a brand new secret", "current_password": "not my password"})
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_current_password"
        assert (await session(account.http, elsewhere)).status_code == 200

        changed = await account.http.patch(f"/accounts/{account_id}", json={
            "password": "a brand new secret", "current_password": PASSWORD, "keep_session_id": here})
        assert changed.status_code == 200
        assert (await session(account.http, here)).status_code == 200
        ended = await session(account.http, elsewhere)
        assert ended.status_code == 404 and ended.json()["error"]["code"] == "session_ended"
        assert (await sign_in_response(account.http, PASSWORD)).status_code == 401
        assert (await sign_in_response(account.http, "a brand new secret")).status_code == 200
        await account.http.post(f"/accounts/{account_id}/deactivate", json={})
        assert (await session(account.http, here)).status_code == 404


async def test_an_email_change_needs_the_current_password_and_publishes_the_new_email(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as account:
        nc = await broker(settings)
        events = await collect(nc, "account.>")
        account_id = (await account.http.post("/accounts", json=NEW)).json()["id"]
        unproven = await account.http.patch(f"/accounts/{account_id}", json={"email": "ada@king.example"})
        wrong = await account.http.patch(f"/accounts/{account_id}", json={
            "email": "ada@king.example", "current_password": "not my password"})
        for refused in (unproven, wrong):
            error = refused.json()["error"]
            assert refused.status_code == 422 and error["code"] == "wrong_current_password"
            assert error["details"]["field"] == "current_password"
        same = await account.http.patch(f"/accounts/{account_id}", json={"email": " ADA@example.com"})
        assert same.status_code == 200 and same.json()["revision"] == 1, "the same email, normalised, is no change"

        changed = await account.http.patch(f"/accounts/{account_id}", json={
            "email": "Ada@King.Example", "current_password": PASSWORD})
        assert changed.status_code == 200 and changed.json()["email"] == "ada@king.example"
        await eventually(lambda: len(events) == 2, message="created and updated")
        assert events[1]["type"] == "AccountUpdatedEvent"
        assert events[1]["data"]["changed"] == ["email"] and events[1]["data"]["email"] == "ada@king.example"
        assert (await sign_in_response(account.http, PASSWORD)).status_code == 401
        assert (await sign_in_response(account.http, PASSWORD, "ADA@king.example")).status_code == 200
        await nc.close()


async def test_an_email_another_account_has_is_refused(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as account:
        account_id = (await account.http.post("/accounts", json=NEW)).json()["id"]
        assert (await account.http.post("/accounts", json=NEW | {"email": "grace@example.com"})).status_code == 201
        taken = await account.http.patch(f"/accounts/{account_id}", json={
            "email": "GRACE@example.com", "current_password": PASSWORD})
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "email_taken"
        assert (await account.http.get(f"/accounts/{account_id}")).json()["email"] == "ada@example.com"
        malformed = await account.http.patch(f"/accounts/{account_id}", json={
            "email": "not-an-email", "current_password": PASSWORD})
        assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "validation_error"


async def test_sign_out_ends_the_session_on_the_server(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as account:
        account_id = (await account.http.post("/accounts", json=NEW)).json()["id"]
        session_id = await sign_in(account.http, PASSWORD)
        live = await session(account.http, session_id)
        assert live.status_code == 200 and live.json()["account_id"] == account_id
        assert (await account.anonymous.get(f"/sessions/{session_id}")).status_code == 401  # frontend, operator only
        assert (await account.anonymous.delete(f"/sessions/{session_id}")).status_code == 401
        assert (await account.http.delete(f"/sessions/{session_id}", headers=caller("frontend"))).status_code == 204
        assert (await session(account.http, session_id)).status_code == 404
        assert (await account.http.delete(f"/sessions/{session_id}", headers=caller("frontend"))).status_code == 204
        assert (await session(account.http, "no-such-session")).status_code == 404


async def test_repeated_wrong_passwords_lock_the_account_for_the_window_even_against_the_right_one(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long enough that six password checks fit in it on a busy machine.
    monkeypatch.setenv("EVENTSHOP_ACCOUNT_SIGN_IN_WINDOW_SECONDS", "6")
    async with running(declare(), settings) as account:
        await account.http.post("/accounts", json=NEW)
        for _ in range(5):
            assert (await sign_in_response(account.http, "wrong password")).status_code == 401
        sixth = await sign_in_response(account.http, "wrong password")
        assert sixth.status_code == 429 and sixth.json()["error"]["code"] == "too_many_attempts"
        assert 1 <= int(sixth.headers["Retry-After"]) <= 6
        assert "Try again in" in sixth.json()["error"]["message"]
        right = await sign_in_response(account.http, PASSWORD)
        assert right.status_code == 429, "locked: even the right password waits for the window"
        other = NEW | {"email": "grace@example.com", "name": "Grace Hopper"}
        await account.http.post("/accounts", json=other)
        assert (await sign_in_response(account.http, PASSWORD, "grace@example.com")).status_code == 200

        async def unlocked() -> bool:
            return (await sign_in_response(account.http, PASSWORD)).status_code == 200

        await eventually(unlocked, timeout=10, interval=0.5, message="the window to pass")


async def test_failures_from_one_client_address_are_limited_across_accounts(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTSHOP_ACCOUNT_SIGN_IN_FAILURES_PER_ADDRESS", "3")
    async with running(declare(), settings) as account:
        await account.http.post("/accounts", json=NEW)
        shopper = caller("frontend") | {CLIENT_ADDRESS_HEADER: "203.0.113.7"}
        for n in range(3):
            tried = await sign_in_response(account.http, "wrong password", f"u{n}@example.com", shopper)
            assert tried.status_code == 401
        refused = await sign_in_response(account.http, PASSWORD, headers=shopper)
        assert refused.status_code == 429 and "from your network" in refused.json()["error"]["message"]
        neighbour = caller("frontend") | {CLIENT_ADDRESS_HEADER: "203.0.113.8"}
        assert (await sign_in_response(account.http, PASSWORD, headers=neighbour)).status_code == 200
        # Without the internal token the header is not believed: these all count against the peer address.
        for n in range(3):
            forged = {CLIENT_ADDRESS_HEADER: f"198.51.100.{n}"}
            await sign_in_response(account.http, "wrong password", f"v{n}@example.com", forged)
        believed = await sign_in_response(account.http, PASSWORD, headers={CLIENT_ADDRESS_HEADER: "192.0.2.1"})
        assert believed.status_code == 429


async def sign_in_response(http: httpx.AsyncClient, password: str, email: str = "ada@example.com",
                           headers: dict[str, str] | None = None) -> httpx.Response:
    return await http.post("/sessions", json={"email": email, "password": password}, headers=headers)


async def sign_in(http: httpx.AsyncClient, password: str) -> str:
    opened = await sign_in_response(http, password)
    assert opened.status_code == 200, opened.text
    return str(opened.json()["session_id"])


async def session(http: httpx.AsyncClient, session_id: str) -> httpx.Response:
    return await http.get(f"/sessions/{session_id}", headers=caller("frontend"))


async def test_an_unknown_country_or_a_malformed_postcode_is_refused_at_its_field_on_sign_up_and_change(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as account:
        home = {"street": "Invalidenstr. 1", "city": "Berlin", "postcode": "10115", "country": "de"}
        for address, field in (({"country": "XX"}, "address.country"), ({"postcode": "abc"}, "address.postcode"),
                               ({"country": "GB", "postcode": "10115"}, "address.postcode")):
            bad = NEW | {"email": "x@example.com", "address": home | address}
            refused = await account.http.post("/accounts", json=bad)
            error = refused.json()["error"]
            assert refused.status_code == 422 and error["code"] == "invalid_address", address
            assert error["details"]["field"] == field, address
        created = await account.http.post("/accounts", json=NEW | {"address": {
            "street": "10 Downing St", "city": "London", "postcode": "sw1a  2aa", "country": "gb"}})
        assert created.status_code == 201 and created.json()["address"] | {"street": "", "city": ""} == {
            "street": "", "city": "", "postcode": "SW1A 2AA", "country": "GB"}
        account_id = created.json()["id"]
        changed = await account.http.patch(f"/accounts/{account_id}", json={"address": home | {"postcode": "1234"}})
        assert changed.status_code == 422 and changed.json()["error"]["details"]["field"] == "address.postcode"
        stored = (await account.http.get(f"/accounts/{account_id}")).json()["address"]
        assert stored["postcode"] == "SW1A 2AA", "a refused change stores nothing"
