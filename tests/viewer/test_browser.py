"""The viewer in a real browser (headless chromium): the demo's conversation in full, filters, paging through
10,000 spans, and hostile content shown as text. Screenshots go to tests/viewer/output/."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.viewer import data
from tests.viewer.conftest import OUTPUT

pytestmark = pytest.mark.timeout(30)


def wait(driver: Any, seconds: float = 8) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def open_list(driver: Any, url: str, query: str = "") -> None:
    driver.get(f"{url}/#/{'?' + query if query else ''}")
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#traces tr.trace"))


def test_demo_conversation_in_full(browser: Any, viewer_url: str) -> None:
    open_list(browser, viewer_url, "service=furnish-hub")
    assert browser.find_element(By.ID, "count").text.startswith("1–4 of 4 traces")
    browser.save_screenshot(str(OUTPUT / "trace_list.png"))
    open_list(browser, viewer_url, "service=furnish-hub&q=Jane%20Doe")  # the text search
    (row,) = browser.find_elements(By.CSS_SELECTOR, "#traces tr.trace")
    row.click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#waterfall .wf-row")))
    llm = browser.find_elements(By.CSS_SELECTOR, '#waterfall .wf-row[data-kind="llm"]')
    llm[0].click()
    details = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#span-details .tabs")))
    text = browser.find_element(By.ID, "span-details").text
    assert "Hi, I'm Jane Doe (<EMAIL_ADDRESS>)" in text  # the full user message, placeholder and all
    assert "Oslo corner sofa" in text
    assert "ASSISTANT" in text and "nordhaven-support" in text and "2026-03" in text  # answer, prompt version
    assert "total_cost" in text
    placeholders = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "#span-details .placeholder")]
    assert "<EMAIL_ADDRESS>" in placeholders
    browser.save_screenshot(str(OUTPUT / "trace_llm_span.png"))
    details.find_element(By.CSS_SELECTOR, 'button[data-tab="evaluations"]').click()
    evaluations = browser.find_element(By.CSS_SELECTOR, '.tab-body[data-tab="evaluations"]')
    assert "truncated" in evaluations.text and "pass" in evaluations.text
    browser.save_screenshot(str(OUTPUT / "trace_evaluations.png"))
    details.find_element(By.CSS_SELECTOR, 'button[data-tab="raw"]').click()
    assert '"trace_id"' in browser.find_element(By.ID, "raw-json").text


def test_failed_evaluation_and_session_transcript(browser: Any, viewer_url: str) -> None:
    open_list(browser, viewer_url, "service=furnish-hub&eval_fail=1")
    rows = browser.find_elements(By.CSS_SELECTOR, "#traces tr.trace")
    assert len(rows) == 1 and "eval failed: prompt_injection" in rows[0].text
    rows[0].click()
    link = wait(browser).until(EC.element_to_be_clickable((By.ID, "session-link")))
    link.click()
    transcript = wait(browser).until(EC.visibility_of_element_located((By.ID, "transcript")))
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#transcript .turn.assistant"))
    assert "Ignore all previous instructions" in transcript.text and "I'm sorry" in transcript.text
    browser.save_screenshot(str(OUTPUT / "session.png"))


def test_filter_by_errors_and_by_pii_type(browser: Any, viewer_url: str) -> None:
    open_list(browser, viewer_url, "service=bulk&status=error")
    assert browser.find_element(By.ID, "count").text.startswith("1–50 of 286 traces")  # every 7th of 2,000
    assert all("error" in r.text for r in browser.find_elements(By.CSS_SELECTOR, "#traces tr.trace"))
    open_list(browser, viewer_url)
    form = browser.find_element(By.ID, "filters")
    form.find_element(By.NAME, "pii").send_keys("credit_card")
    form.find_element(By.NAME, "service").send_keys("furnish-hub")
    browser.find_element(By.ID, "apply").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "count").text.startswith("1–1 of 1 traces"))
    assert "PII credit_card" in browser.find_element(By.ID, "traces").text
    browser.save_screenshot(str(OUTPUT / "filter_pii.png"))


def test_page_through_10000_spans(browser: Any, viewer_url: str) -> None:
    open_list(browser, viewer_url, "service=bulk")
    seen: set[str] = set()
    for page in range(1, 41):  # 2,000 traces of 5 spans, 50 a page
        wait(browser).until(lambda d, p=page: d.find_element(By.ID, "count").text.endswith(f"page {p}"))
        ids = browser.execute_script(
            "return [...document.querySelectorAll('#traces tr.trace')].map((r) => r.dataset.trace)"
        )
        assert len(ids) == 50 and not seen & set(ids)
        seen |= set(ids)
        assert browser.find_element(By.ID, "count").text.startswith(f"{(page - 1) * 50 + 1}–{page * 50} of 2,000")
        if page < 40:
            browser.find_element(By.ID, "older").click()
    assert len(seen) == 2000 and browser.find_element(By.ID, "older").get_attribute("disabled") is not None


def test_hostile_content_is_text(browser: Any, viewer_url: str) -> None:
    open_list(browser, viewer_url, "service=hostile-app")
    assert data.HOSTILE in browser.find_element(By.ID, "traces").text
    browser.find_element(By.CSS_SELECTOR, "#traces tr.trace").click()
    wait(browser).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, '#waterfall .wf-row[data-kind="llm"]'))
    ).click()
    wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#span-details .tabs")))
    for tab in ("details", "evaluations", "redaction", "raw"):
        browser.find_element(By.CSS_SELECTOR, f'#span-details button[data-tab="{tab}"]').click()
        body = browser.find_element(By.CSS_SELECTOR, f'.tab-body[data-tab="{tab}"]')
        assert "<script>window.__pwned=1</script>" in body.text.replace("\n", ""), tab
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "#app img, #app script") == []
    browser.save_screenshot(str(OUTPUT / "hostile.png"))


def test_overview_charts_are_svg(browser: Any, viewer_url: str) -> None:
    browser.get(f"{viewer_url}/#/overview")
    charts = wait(browser).until(EC.presence_of_element_located((By.ID, "charts")))
    assert len(charts.find_elements(By.CSS_SELECTOR, "svg")) >= 12
    assert "phone_number" in charts.text and "nordhaven-support" in charts.text
    # the shipped Datadog dashboards' panels, computed from the store: the demo's refusal and injection attempt
    # fail failure_to_answer once; the bulk traces' errors have a type
    for title in ("Latency p50 / p95 / p99", "Errors by type", "Failure rates", "Evaluations by label and assessment"):
        assert title in charts.text, title
    assert "refusals (1 of" in charts.text and "failure_to_answer fail" in charts.text
    browser.save_screenshot(str(OUTPUT / "overview.png"))
