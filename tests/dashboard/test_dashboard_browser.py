"""The dashboard in a real headless Chromium (Debian's, driven by Selenium through Debian's
chromedriver) while a real pipeline runs, released record by record by the test.

Screenshots go to the test's tmp dir (``dashboard-*.png``).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_kit import HOSTILE, headless_chromium, release, wait_for

from wf_cli import sigint_default


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium (skipped, saying what is missing, where it is not installed)."""
    with headless_chromium("--window-size=1500,1100") as driver:
        yield driver


def _row(driver: Any, instance: str) -> dict[str, Any]:
    """The plugins table's row of ``instance``: its data attributes and cell texts."""
    got: dict[str, Any] = driver.execute_script(
        """
        for (const tr of document.querySelectorAll('#plugins tbody tr')) {
          if (tr.dataset.instance === arguments[0]) {
            return {state: tr.dataset.state, breaker: tr.dataset.breaker,
                    cells: Array.from(tr.children, (td) => td.textContent)};
          }
        }
        return null;
        """,
        instance,
    )
    return got


def _click(driver: Any, instance: str, action: str) -> None:
    driver.execute_script(
        """
        for (const tr of document.querySelectorAll('#plugins tbody tr')) {
          if (tr.dataset.instance === arguments[0]) {
            tr.querySelector(`button[data-action="${arguments[1]}"]`).click();
          }
        }
        """,
        instance,
        action,
    )


def _notice(driver: Any) -> str:
    text: str = driver.execute_script("return document.getElementById('notice').textContent")
    return text


def test_the_page_follows_a_live_run(
    project: Path, live_run: Any, browser: Any, tmp_path: Path
) -> None:
    """The page lists the run's plugins, updates as records flow, shows hostile error text as
    text (nothing of it runs), shows the breaker opening, and disables a plugin with the
    token; opened without the token, the same button is refused (403) and changes nothing."""
    run = live_run("--dashboard", "--port", "0")
    url = run.line_starting("dashboard: ")
    browser.get(url)
    wait_for(lambda: all(_row(browser, n) for n in ("gated", "flaky", "upper")), "three rows")

    release(project, 4)
    wait_for(lambda: _row(browser, "upper")["cells"][9] == "3", "upper: 3 records out")
    flaky = _row(browser, "flaky")
    assert flaky["cells"][8] == "4" and flaky["cells"][7] == "1"  # 4 in, 1 error
    error_text = browser.execute_script(
        "return document.querySelector('#plugins td.error').textContent"
    )
    assert "<script>window.pwned=1</script>" in error_text  # shown as text ...
    assert browser.execute_script("return window.pwned === undefined")  # ... never run
    assert browser.execute_script("return document.images.length") == 0
    assert browser.execute_script("return document.scripts.length") == 1  # app.js only
    assert HOSTILE[:8] in browser.execute_script("return document.body.textContent")
    # what flaky's worker reported attempting (its audit hook): flagged, its sample as text
    behaviour = "#plugins tr[data-instance='flaky'] td[data-behaviour]"
    wait_for(lambda: browser.execute_script(f"return document.querySelector({behaviour!r})"),
             "flaky's behaviour cell")  # fmt: skip
    browser.execute_script(f"document.querySelector({behaviour!r} + ' details').open = true")
    beh_text = browser.execute_script(f"return document.querySelector({behaviour!r}).textContent")
    assert "flagged: attempted 1 file open(s)" in beh_text
    assert "<script>window.pwned=1</script>" in beh_text
    assert browser.execute_script("return window.pwned === undefined")
    assert browser.execute_script("return document.images.length") == 0
    browser.save_screenshot(str(tmp_path / "dashboard-flowing.png"))

    release(project, 12)  # records 9, 10, 11 fail in a row: flaky's breaker opens
    wait_for(lambda: _row(browser, "flaky")["breaker"] == "open", "flaky's breaker open")
    wait_for(lambda: browser.execute_script(
        "return document.querySelector('#events li[data-event=\"breaker-open\"]') !== null"
    ), "breaker-open in the timeline")  # fmt: skip

    _click(browser, "upper", "disable")
    wait_for(lambda: _row(browser, "upper")["state"] == "DISABLED", "upper DISABLED")
    assert _notice(browser).startswith("202")
    browser.save_screenshot(str(tmp_path / "dashboard-disabled.png"))

    browser.get(url.split("?")[0])  # the same page without the token: read-only
    wait_for(lambda: _row(browser, "upper"), "the page without token")
    assert "read-only" in browser.execute_script(
        "return document.getElementById('mode').textContent"
    )
    _click(browser, "upper", "enable")
    wait_for(lambda: _notice(browser).startswith("403"), "403 for the click without token")
    assert "WF301" in _notice(browser)
    assert not list((project / ".wiseflow" / "metrics").glob("*.control/*.json"))
    assert run.plugin("upper")["state"] == "DISABLED"
    browser.save_screenshot(str(tmp_path / "dashboard-refused.png"))
    code, _ = run.finish()
    assert code == 1  # dead letters


def test_past_runs_details_and_replay(project: Path, live_run: Any, browser: Any,
                                      tmp_path: Path) -> None:  # fmt: skip
    """`wiseflow dashboard` of another process shows a finished run's plugins with their
    kept resource history, and its replay button starts a replay run that appears."""
    run = live_run()
    release(project, 4)
    run.wait_fetched(4)
    assert run.finish()[0] == 1
    with sigint_default():  # the Ctrl-C this test sends must reach it
        server = subprocess.Popen(
            [sys.executable, "-m", "wiseflow", "dashboard", "--port", "0", "--json",
             "--pipeline", "p.toml"],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
    try:
        assert server.stdout is not None
        browser.get(json.loads(server.stdout.readline())["url"])
        wait_for(lambda: browser.execute_script(
            "return document.querySelector('#runs tr[data-run=\"1\"] details') !== null"),
            "run 1 listed")  # fmt: skip
        browser.execute_script(
            "document.querySelector('#runs tr[data-run=\"1\"] details').open = true"
        )
        wait_for(lambda: browser.execute_script(
            "return document.querySelectorAll('#runs tr[data-run-plugin] polyline').length"
        ) > 0, "the run's plugins with their history")  # fmt: skip
        names = browser.execute_script(
            "return Array.from(document.querySelectorAll('#runs tr[data-run-plugin]'),"
            " (tr) => tr.dataset.runPlugin)"
        )
        assert names == ["gated", "flaky", "upper"]
        browser.execute_script("document.querySelector('#dead button[data-action]').click()")
        wait_for(lambda: _notice(browser).startswith("202"), "the replay accepted")
        wait_for(
            lambda: (
                "(replay)"
                in browser.execute_script(
                    "return document.querySelector('#runs tbody').textContent"
                )
            ),
            "the replay run",
        )
        browser.save_screenshot(str(tmp_path / "dashboard-past-runs.png"))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)
