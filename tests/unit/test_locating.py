"""How operator commands find a running shop, and how their listings look on a terminal and in a pipe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console

from eventshop.cli import locating
from eventshop.cli.listing import Column, print_table
from eventshop.cli.locating import locate, write_state
from eventshop.platform.settings import Settings


@pytest.fixture(autouse=True)
def no_shop_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EVENTSHOP_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(locating, "running_shops", lambda: iter(()))


def started(data_dir: Path, port_base: int) -> None:
    """The state file an `eventshop up` (this test's process, so it is alive) writes."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, port_base=port_base)
    write_state(data_dir, settings, f"nats://127.0.0.1:{port_base + 422}", ["order"], [], ready=True)


def test_the_data_dir_alone_gives_the_shops_ports_broker_and_secrets(tmp_path: Path) -> None:
    started(tmp_path, 12300)
    shop = locate(tmp_path)
    assert shop.broker_url == "nats://127.0.0.1:12722"
    assert shop.settings.url("order") == "http://127.0.0.1:12305"
    assert shop.settings.nats_secrets_dir == tmp_path / "secrets" / "nats"
    assert shop.up_pid == os.getpid()


def test_the_state_file_holds_paths_of_secrets_but_never_their_values(tmp_path: Path) -> None:
    started(tmp_path, 12300)
    text = (tmp_path / "up.json").read_text()
    assert str(tmp_path / "secrets" / "nats") in text and "password" not in text


def test_options_and_variables_win_over_the_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started(tmp_path, 12300)
    shop = locate(tmp_path, port_base=12400, nats_url="nats://broker:4222")
    assert shop.settings.url("order") == "http://127.0.0.1:12405" and shop.broker_url == "nats://broker:4222"
    assert shop.up_pid is None  # the up of this data directory runs another port base
    monkeypatch.setenv("EVENTSHOP_NATS_URL", "nats://other:4222")
    assert locate(tmp_path).broker_url == "nats://other:4222"


def test_the_data_dir_comes_from_eventshop_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started(tmp_path, 12300)
    monkeypatch.setenv("EVENTSHOP_DATA_DIR", str(tmp_path))
    assert locate().settings.port_base == 12300


def test_without_a_running_up_the_advice_is_the_command_that_starts_it(tmp_path: Path) -> None:
    shop = locate(tmp_path)
    assert shop.state is None and shop.broker_url == "nats://127.0.0.1:8422"
    assert shop.advice("eventshop dlq list") == (
        f"eventshop up is not running for {tmp_path}; start it with `eventshop up --data-dir {tmp_path}`")


def test_a_left_over_state_file_is_not_a_running_shop(tmp_path: Path) -> None:
    started(tmp_path, 12300)
    (tmp_path / "up.json").write_text((tmp_path / "up.json").read_text().replace(str(os.getpid()), "999999999", 1))
    shop = locate(tmp_path)
    assert shop.state is None and shop.settings.port_base == 8000
    assert "stale state from pid 999999999" in shop.advice("eventshop status")


def test_the_advice_names_the_data_dir_of_an_up_running_elsewhere(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locating, "running_shops", lambda: iter([Path("/tmp/x")]))
    assert locate(tmp_path).advice("eventshop status").endswith(
        "it runs for /tmp/x: `eventshop status --data-dir /tmp/x`")


def test_a_running_shop_that_does_not_answer_points_at_its_status_and_logs(tmp_path: Path) -> None:
    started(tmp_path, 12300)
    assert locate(tmp_path).advice("eventshop dlq list") == (
        f"see `eventshop status --data-dir {tmp_path}` and the logs in {tmp_path / 'logs'}")


COLUMNS = [Column("seq"), Column("time"), Column("consumer"), Column("event id", drop=1),
           Column("error", wrap=True, min_width=20)]
ROW = ["12", "2026-12-01 10:00", "notification--shopping-cart", "0f8fad5b-d9cb-469f-a165-70867728950e",
       "ValueError: " + "the account service answered 503 " * 4]


def test_a_table_on_an_80_column_terminal_fits_by_leaving_out_columns_and_wrapping_free_text() -> None:
    out = Console(force_terminal=True, width=80, record=True)
    print_table(COLUMNS, [ROW], console=out)
    text = out.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    words = " ".join(text.split())
    assert "12 2026-12-01 10:00 notification--shopping-cart " + ROW[4].strip() in words  # wrapped, whole
    assert "0f8fad5b" not in text and "event id left out at this width (--json has every field)" in text
    wide = Console(force_terminal=True, width=200, record=True)
    print_table(COLUMNS, [ROW], console=wide)
    assert "0f8fad5b-d9cb-469f-a165-70867728950e" in wide.export_text() and "left out" not in wide.export_text()


def test_a_listing_in_a_pipe_is_one_whole_row_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(COLUMNS, [ROW, ["13", "", "order--payment", "-", "[bold]bold text[/]"]],
                console=Console(force_terminal=False))
    header, first, second = capsys.readouterr().out.splitlines()
    assert header.split() == ["seq", "time", "consumer", "event", "id", "error"]
    assert first.startswith("12   2026-12-01 10:00  notification--shopping-cart  0f8fad5b-d9cb-469f-a165-70867728950e")
    assert first.endswith("answered 503")
    assert second.split()[0] == "13" and second.endswith("bold text") and "[bold]" not in second
