"""The report in a real browser: Debian's Chromium, headless, driven by Playwright (pointed at the system
browser; never a downloaded one). Pages load from disk with no console error and no network request,
sorting and filtering change the rows shown, the CSV download holds them, a model page opens from the
leaderboard, the comparison computes paired differences, and each page type is photographed."""
from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
PAGE_TYPES = {"leaderboard": "index.html", "models": "models.html", "model": "models/alexnet.html",
              "compare": "compare.html", "analysis": "analysis.html", "about": "about.html"}


def _missing(reason: str):
    if os.environ.get("CI"):  # `make test` installs both: in CI a missing browser is a failure, not a skip
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (make test installs it)")
    if not Path(CHROMIUM).exists():
        _missing("chromium is not installed (make test installs it: apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


class Visit:
    """One page opened from disk, with every console message, page error and request it made."""

    def __init__(self, browser, site: Path, name: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.messages: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.messages.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e))))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto((site / name).as_uri())
        self.page.wait_for_load_state("load")

    def charts_drawn(self) -> int:
        """Wait until every chart of the page is drawn; the number of charts."""
        self.page.wait_for_function("Array.from(document.querySelectorAll('div.vega'))"
                                    ".every(d => d.querySelector('svg'))", timeout=20_000)
        return self.page.locator("div.vega svg.marks").count()

    def visible_rows(self, table: str):
        return self.page.locator(f"#{table} tbody tr:not([hidden])")

    def close(self):
        self.context.close()


def _rows_data(visit: Visit, table: str) -> list[dict]:
    return visit.page.eval_on_selector_all(f"#{table} tbody tr:not([hidden])", "rs => rs.map(r => JSON.parse(r.dataset.row))")


def test_every_page_loads_offline_without_errors(browser, synthetic_site, tmp_path):
    _, index = synthetic_site
    shots = tmp_path / "screens"
    shots.mkdir()
    for kind, name in PAGE_TYPES.items():
        visit = Visit(browser, index.parent, name)
        charts = visit.charts_drawn()
        assert charts == visit.page.locator("div.vega").count(), kind
        visit.page.screenshot(path=str(shots / f"{kind}.png"), full_page=True)
        errors = [m for m in visit.messages if m[0] in ("error", "pageerror")]
        assert errors == [], (kind, errors)
        assert [m for m in visit.messages if m[0] == "warning"] == [], kind  # Vega warns of bad specs
        offline = [u for u in visit.requests if not u.startswith(("file://", "data:", "blob:"))]
        assert offline == [], (kind, offline)
        assert (shots / f"{kind}.png").stat().st_size > 20_000
        visit.close()
    assert charts_on("model", index.parent, browser) >= 3  # per-site scores and two layer profiles


def charts_on(kind: str, site: Path, browser) -> int:
    visit = Visit(browser, site, PAGE_TYPES[kind])
    try:
        return visit.charts_drawn()
    finally:
        visit.close()


def test_sorting_orders_rows_and_keeps_missing_last(browser, synthetic_site):
    _, index = synthetic_site
    visit = Visit(browser, index.parent, "index.html")
    table = next(t for t in ("board-0", "board-1") if visit.page.locator(f"#{t} tr.note-row").count())  # "not run"
    before = [r["model"] for r in _rows_data(visit, table)]
    header = visit.page.locator(f"#{table} th[data-key='mean_score'] button")
    header.click()
    ascending = [r["mean_score"] for r in _rows_data(visit, table)]
    header.click()
    descending = [r["mean_score"] for r in _rows_data(visit, table)]
    scored = [v for v in ascending if v is not None]
    assert scored == sorted(scored) and len(scored) < len(ascending)
    assert [v for v in descending if v is not None] == sorted(scored, reverse=True)
    for order in (ascending, descending):  # results not run sort last either way
        assert order[len(scored):] == [None] * (len(order) - len(scored))
    assert visit.page.locator(f"#{table} th[data-key='mean_score']").get_attribute("aria-sort") == "descending"
    visit.page.locator(f"#{table} th[data-key='model'] button").click()
    assert [r["model"] for r in _rows_data(visit, table)] == sorted(before)
    visit.close()


def test_filters_change_the_rows_and_the_download_holds_them(browser, synthetic_site):
    _, index = synthetic_site
    visit = Visit(browser, index.parent, "index.html")
    table = next(t for t in ("board-0", "board-1")
                 if visit.page.locator(f"#{t} tbody tr[data-weights='random']").count())
    total = visit.visible_rows(table).count()
    visit.page.select_option("select[data-filter='weights']", "random")
    shown = _rows_data(visit, table)
    assert 0 < len(shown) < total and {r["weights"] for r in shown} == {"random"}
    count = visit.page.locator(f"#{table}").locator("xpath=ancestor::div[@data-table-block]//span[@data-count]")
    assert count.inner_text() == f"{len(shown)} of {total} rows shown"
    visit.page.fill("input[data-filter-text]", "alex")
    assert [r["model"] for r in _rows_data(visit, table)] == ["alexnet"]
    visit.page.fill("input[data-filter-text]", "")
    visit.page.select_option("select[data-filter='family']", "unknown")  # the synthetic catalogue has no families
    visit.page.select_option("select[data-filter='weights']", "")
    assert visit.visible_rows(table).count() == total
    visit.page.select_option("select[data-filter='weights']", "random")
    block = visit.page.locator(f"#{table}").locator("xpath=ancestor::div[@data-table-block]")
    with visit.page.expect_download() as download:
        block.locator("button.download").click()
    csv = pd.read_csv(io.StringIO(Path(download.value.path()).read_text()))
    assert list(csv.columns) == visit.page.eval_on_selector(f"#{table}", "t => JSON.parse(t.dataset.columns)")
    assert len(csv) == len(shown) and set(csv["weights"]) == {"random"}
    expected = pd.DataFrame(shown)
    assert np.allclose(csv["mean_score"], expected["mean_score"].astype(float), atol=1e-12)
    visit.close()


def test_a_model_page_opens_from_the_leaderboard(browser, synthetic_site):
    _, index = synthetic_site
    visit = Visit(browser, index.parent, "index.html")
    visit.page.locator("#board-0 tbody a", has_text="alexnet").first.click()
    visit.page.wait_for_load_state("load")
    assert visit.page.url.endswith("/models/alexnet.html")
    assert visit.page.locator("h1").inner_text() == "alexnet"
    assert visit.charts_drawn() >= 3
    assert [m for m in visit.messages if m[0] in ("error", "pageerror")] == []
    visit.close()


def test_comparison_shows_the_paired_differences(browser, synthetic_site):
    root, index = synthetic_site
    from mouse_rsa.results import read_scores

    visit = Visit(browser, index.parent, "compare.html")
    scope = next(o for o in visit.page.eval_on_selector_all("select[data-compare-scope] option",
                                                           "os => os.map(o => o.value)") if "all layers" in o)
    visit.page.select_option("select[data-compare-scope]", scope)
    visit.page.select_option("select[data-compare-a]", "alexnet · pretrained")
    visit.page.select_option("select[data-compare-b]", "alexnet · random (untrained)")
    visit.charts_drawn()
    scores = read_scores(root)
    alexnet = scores[(scores["model"] == "alexnet") & (scores["layer_set"] == "all")].pivot_table(
        index="site", columns="weights", values="score")
    difference = (alexnet["pretrained"] - alexnet["random"])
    summary = visit.page.locator("[data-compare-summary]").inner_text()
    assert f"mean paired difference {difference.mean():.3f} over {len(difference)} sites" in summary
    assert f"A scores higher at {(difference > 0).sum()} of {len(difference)}" in summary
    bars = visit.page.locator("#compare-diff svg g.mark-rect path")
    assert bars.count() == len(difference)
    visit.close()
