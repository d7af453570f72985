"""Account against a real broker and database: events with growing revisions, sign-in, internal data."""

from __future__ import annotations

from typing import Any

from eventshop.platform.settings import Settings
from eventshop.services.account.service import declare
from tests.conftest import eventually, running
from tests.integration.publishing import broker, collect

TOKEN = "Bearer eventshop-internal-dev-token"
NEW = {"name": "Ada Lovelace", "email": "Ada@Example.com", "password": "correct horse battery",
       "address": {"street": "Invalidenstr. 1", "city": "Berlin", "postcode": "10115", "country": "de"},
       "payment_token": "tok_visa"}


def caller(name: str) -> dict[str, str]:
    return {"Authorization": TOKEN, "X-Eventshop-Caller": name}


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
        weak = await account.http.post("/accounts", json=NEW | {"email": "b@example.com", "password": "short"})
        assert weak.json()["error"]["code"] == "weak_password"
        token = await account.http.post("/accounts", json=NEW | {"email": "c@example.com", "payment_token": "4242"})
        assert token.json()["error"]["code"] == "invalid_payment_token"


async def test_sign_in_checks_the_password_and_refuses_deactivated_accounts(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as account:
        account_id = (await account.http.post("/accounts", json=NEW)).json()["id"]
        ok = await account.http.post("/sessions", json={"email": "ADA@example.com", "password": NEW["password"]})
        assert ok.status_code == 200 and ok.json()["account_id"] == account_id
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
        anonymous = await account.http.get(f"{base}/payment-data")
        assert anonymous.status_code == 401
