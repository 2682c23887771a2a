"""Console sign-in: sessions in a signed, expiring cookie; sign-out; CSRF on every form; throttled wrong
passwords (recorded in the database, so every process sees them); supervisor pages refuse agents."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.api.app import create_app
from miles.bootstrap import Container
from miles.domain.agents import Actor
from miles.services import passwords
from miles.services.agents import disable_agent, list_agents
from miles.services.clock import FixedClock
from tests.integration.console_helpers import (
    HTMX,
    PASSWORD,
    console_client,
    counts,
    csrf,
    make_agent,
    sign_in,
    sign_in_token,
    signed_in,
)
from tests.integration.factories import enrol


def test_pages_need_a_session_and_send_the_browser_to_sign_in(container: Container) -> None:
    with console_client(container) as console:
        page = console.get("/console/members?q=Lovelace")
        assert page.status_code == 303
        assert page.headers["location"] == "/console/sign-in?next=/console/members%3Fq%3DLovelace"
        partial = console.get("/console/members?q=x", headers=HTMX)
        assert partial.headers["HX-Redirect"].startswith("/console/sign-in")
        assert console.get("/console/audit").status_code == 303
        assert console.post("/console/members/1000000016/goodwill", data={}).status_code == 303


def test_an_agent_signs_in_lands_where_they_were_going_and_signs_out(container: Container) -> None:
    make_agent(container, "alice")
    with console_client(container) as console:
        token = sign_in_token(console)
        response = console.post(
            "/console/sign-in",
            data={"name": "ALICE", "password": PASSWORD, "sign_in_token": token, "next": "/console/audit"},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/console/audit"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "Max-Age=28800" in cookie
        assert "Path=/console" in cookie
        home = console.get("/console/members")
        assert home.status_code == 200
        assert "alice (agent)" in home.text
        stolen = console.cookies.get("miles_session")
        out = console.post("/console/sign-out", data={"csrf_token": csrf(console)})
        assert out.status_code == 303
        assert console.get("/console/members").status_code == 303
        console.cookies.set("miles_session", stolen or "", path="/console")
        assert console.get("/console/members").status_code == 303  # signed out means ended, everywhere


def test_a_session_expires_after_its_shift(container: Container, clock: FixedClock) -> None:
    make_agent(container, "bob")
    with console_client(container) as console:
        signed_in(console, "bob")
        clock.at += timedelta(hours=7, minutes=59)
        still = console.get("/console/members")
        assert still.status_code == 200
        assert "bob" in still.text  # the agent's own page, signed in
        clock.at += timedelta(minutes=2)
        ended = console.get("/console/members")
        assert ended.status_code == 303
        assert ended.headers["location"].startswith("/console/sign-in")


def test_a_tampered_session_cookie_is_refused(container: Container) -> None:
    make_agent(container, "carol")
    with console_client(container) as console:
        signed_in(console, "carol")
        value = console.cookies.get("miles_session") or ""
        token, _, signature = value.partition(".")
        other = "B" if token[:1] == "A" else "A"  # a changed first character (it may have been an A: 1 in 64)
        console.cookies.set("miles_session", other + token[1:] + "." + signature, path="/console")
        refused = console.get("/console/members")
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/console/sign-in")


def test_the_sign_in_form_needs_its_own_token(container: Container, engine: Engine) -> None:
    make_agent(container, "dave")
    with console_client(container) as console:
        response = console.post("/console/sign-in", data={"name": "dave", "password": PASSWORD})
        assert response.status_code == 403
        assert "expired" in response.text
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM agent_sessions")).scalar_one() == 0


def test_missing_fields_on_the_sign_in_form_are_shown_next_to_them(container: Container) -> None:
    with console_client(container) as console:
        response = console.post("/console/sign-in", data={"sign_in_token": sign_in_token(console)})
        assert response.status_code == 422
        assert 'id="name-error"' in response.text
        assert 'id="password-error"' in response.text


def test_wrong_passwords_are_throttled_for_every_process(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    make_agent(container, "erin")
    with console_client(container) as console:
        for _ in range(5):
            wrong = sign_in(console, "erin", "not the password")
            assert wrong.status_code == 401
            assert "wrong name or password" in wrong.text
        locked = sign_in(console, "erin", PASSWORD)
        assert locked.status_code == 429
        assert "too many wrong passwords for this name: try again in 15 minutes" in locked.text
        assert locked.headers["Retry-After"] == "900"
    with console_client(container) as other_process:  # a second app: nothing shared but the database
        assert sign_in(other_process, "erin", PASSWORD).status_code == 429
    with engine.connect() as c:  # five checked; the two refused were counted, not checked
        assert c.execute(text("SELECT count(*) FROM sign_in_attempts WHERE NOT succeeded")).scalar_one() == 5
        assert (
            c.execute(text("SELECT tries FROM sign_in_counters WHERE agent_name = 'erin'")).scalar_one() == 7
        )
    clock.at += timedelta(minutes=15, seconds=1)
    with console_client(container) as console:
        assert sign_in(console, "erin", PASSWORD).status_code == 303


def from_address(container: Container, address: str) -> TestClient:
    return TestClient(create_app(container), follow_redirects=False, client=(address, 40000))


def test_wrong_passwords_from_elsewhere_never_stop_an_agent_at_their_own_address(
    container: Container,
) -> None:
    make_agent(container, "erin")
    with from_address(container, "198.51.100.9") as stranger:
        for _ in range(6):
            assert sign_in(stranger, "erin", "not the password").status_code in (401, 429)
        assert sign_in(stranger, "erin", PASSWORD).status_code == 429  # the stranger's own lock
    with from_address(container, "192.0.2.10") as erin:
        assert sign_in(erin, "erin", PASSWORD).status_code == 303


def test_one_address_trying_many_names_is_stopped_at_its_limit(container: Container) -> None:
    make_agent(container, "gus")
    with from_address(container, "198.51.100.7") as hammer:
        answers = [sign_in(hammer, f"guess{i}", "not the password").status_code for i in range(21)]
        assert answers == [401] * 20 + [429]
        refused = sign_in(hammer, "gus", PASSWORD)
        assert refused.status_code == 429
        assert "from your address" in refused.text
    with from_address(container, "198.51.100.8") as neighbour:
        assert sign_in(neighbour, "gus", PASSWORD).status_code == 303


def test_a_right_password_forgives_the_wrong_ones_before_it(container: Container) -> None:
    make_agent(container, "hana")
    with console_client(container) as console:
        for _ in range(4):
            assert sign_in(console, "hana", "not the password").status_code == 401
        assert sign_in(console, "hana", PASSWORD).status_code == 303
        console.cookies.clear()
        for _ in range(4):
            assert sign_in(console, "hana", "not the password").status_code == 401
        assert sign_in(console, "hana", PASSWORD).status_code == 303


def test_when_every_hash_slot_is_taken_a_sign_in_is_refused_fast_and_not_counted(
    container: Container, engine: Engine
) -> None:
    make_agent(container, "iris")
    taken = 0
    while passwords.HASH_SLOTS.try_take():
        taken += 1
    try:
        with console_client(container) as console:
            busy = sign_in(console, "iris", PASSWORD)
            assert busy.status_code == 429
            assert busy.headers["Retry-After"] == "1"
            assert "busy signing other agents in" in busy.text
    finally:
        for _ in range(taken):
            passwords.HASH_SLOTS.give_back()
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM sign_in_counters")).scalar_one() == 0
    with console_client(container) as console:
        assert sign_in(console, "iris", PASSWORD).status_code == 303


def test_a_disabled_agent_is_signed_out_at_once_and_cannot_sign_in(
    container: Container, clock: FixedClock
) -> None:
    make_agent(container, "jack")
    with console_client(container) as console:
        signed_in(console, "jack")
        assert console.get("/console/members").status_code == 200
        agent, ended = disable_agent(container, "JACK", Actor("cli"))
        assert (agent.name, ended) == ("jack", 1)
        assert console.get("/console/members").status_code == 303
        again = sign_in(console, "jack", PASSWORD)
        assert again.status_code == 401
    listed = {a.name: a for a in list_agents(container)}
    assert listed["jack"].disabled_at == clock.now()
    assert listed["jack"].last_signed_in_at == clock.now()


def test_control_characters_and_odd_names_never_get_a_5xx(container: Container, engine: Engine) -> None:
    with console_client(container) as console:
        for name in ("a\x00b", "\x1b[31malice", "é" * 300, " ", "x" * 5000):
            token = sign_in_token(console)
            response = console.post(
                "/console/sign-in",
                data={"name": name, "password": "p\x00ssword\x07", "sign_in_token": token, "next": ""},
            )
            assert response.status_code in (401, 422), (name, response.status_code)
            assert "text/html" in response.headers["content-type"]


def test_an_unknown_name_gets_the_same_answer_as_a_wrong_password(container: Container) -> None:
    make_agent(container, "frank")
    with console_client(container) as console:
        unknown = sign_in(console, "nobody", PASSWORD)
        wrong = sign_in(console, "frank", "not the password")
        assert unknown.status_code == wrong.status_code == 401
        assert "wrong name or password" in unknown.text


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "gina")
    body = {"miles": "100", "reason_code": "delay", "comment": "late"}
    with console_client(container) as console:
        signed_in(console, "gina")
        before = counts(engine)
        missing = console.post(f"/console/members/{member}/goodwill", data=body)
        assert missing.status_code == 403
        forged = console.post(
            f"/console/members/{member}/goodwill", data=body, headers={"X-CSRF-Token": "forged"}
        )
        assert forged.status_code == 403
        assert counts(engine) == before


def test_a_csrf_token_from_an_earlier_session_is_stale(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "hugo")
    with console_client(container) as console:
        old = signed_in(console, "hugo")
        console.post("/console/sign-out", data={"csrf_token": old})
        fresh = signed_in(console, "hugo")
        assert fresh != old
        before = counts(engine)
        stale = console.post(
            f"/console/members/{member}/goodwill",
            data={"miles": "100", "reason_code": "delay", "comment": "late", "csrf_token": old},
            headers=HTMX,
        )
        assert stale.status_code == 403
        assert "Nothing was changed" in stale.text
        assert counts(engine) == before
        ok = console.post(
            f"/console/members/{member}/goodwill",
            data={"miles": "100", "reason_code": "delay", "comment": "late"},
            headers=HTMX | {"X-CSRF-Token": fresh},
        )
        assert ok.status_code == 200


def test_an_agent_gets_403_on_supervisor_pages(container: Container) -> None:
    make_agent(container, "ivan")
    with console_client(container) as console:
        token = signed_in(console, "ivan")
        assert console.get("/console/approvals").status_code == 403
        assert console.get("/console/audit").status_code == 403
        refused = console.post("/console/approvals/1/approve", data={"csrf_token": token})
        assert refused.status_code == 403
        assert "Approvals" not in console.get("/console/members").text  # not even offered


def test_a_supervisor_reaches_the_supervisor_pages(container: Container) -> None:
    make_agent(container, "judy", role="supervisor")
    with console_client(container) as console:
        signed_in(console, "judy")
        approvals = console.get("/console/approvals")
        assert approvals.status_code == 200
        assert "waiting for approval" in approvals.text
        audit = console.get("/console/audit")
        assert audit.status_code == 200
        assert "Audit trail" in audit.text


def test_console_pages_forbid_inline_script(container: Container) -> None:
    with console_client(container) as console:
        page = console.get("/console/sign-in")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert console.get("/console/static/htmx.min.js").status_code == 200
