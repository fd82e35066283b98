"""The console in Debian's Chromium against a real ``agnosco serve``: sign in, create a
collection, try an image and see its boxes, give a ReadOnly principal a key and see its
read-only pages, revoke that key from the command line and see its session end, verify the
audit chain; with no error in the browser's console log on any page.

Chromium and its driver come from Debian (``apt-get install chromium chromium-driver``, which
``scripts/test.sh`` runs as root); Selenium drives them, downloading nothing.  The screenshots
are kept in the test's temporary directory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, start_server
from tests.text_images import draw_text, png

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    for binary in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(binary) is None:
            pytest.skip(
                f"{binary} is absent: install Debian's chromium and chromium-driver "
                "(scripts/test.sh does, as root)"
            )
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must fetch nothing
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,800")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    yield server
    server.stop()


def _errors(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


@pytest.mark.slow
def test_sign_in_create_a_collection_and_see_an_images_boxes(
    chromium: Any, served: Server, deepface_images: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = chromium
    wait = WebDriverWait(driver, 120)
    errors: dict[str, list[dict[str, Any]]] = {}

    def visit_done(name: str) -> None:
        errors[name] = _errors(driver)

    driver.get(served.url + "/console")
    assert driver.current_url.startswith(served.url + "/console/sign-in")
    # The first Tab reaches the skip link: the page is keyboard-reachable from the top.
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    skip = driver.switch_to.active_element
    assert skip.text == "Skip to content"
    # ... shown where it can be seen once focused, and outlined as every focused control is.
    assert skip.is_displayed() and skip.rect["x"] >= 0 and skip.rect["y"] >= 0
    assert skip.value_of_css_property("outline-style") == "solid"
    assert float(skip.value_of_css_property("outline-width").removesuffix("px")) >= 2
    skip.send_keys(Keys.ENTER)  # and it leads to the main content
    assert driver.switch_to.active_element.get_attribute("id") == "main"
    driver.find_element(By.ID, "access_key_id").send_keys(ACCESS_KEY_ID)
    secret = driver.find_element(By.ID, "secret_access_key")
    secret.send_keys(SECRET_ACCESS_KEY)
    here = driver.current_url
    secret.send_keys(Keys.ENTER)  # the form submits from the keyboard
    wait.until(until.url_changes(here))
    assert driver.current_url == served.url + "/console/collections", driver.page_source[-3000:]
    assert "Signed in as admin" in driver.find_element(By.CSS_SELECTOR, ".who").text
    visit_done("sign-in")

    driver.find_element(By.ID, "collection_id").send_keys("browser-made")
    here = driver.current_url
    driver.find_element(By.XPATH, "//button[text()='Create collection']").click()
    wait.until(until.url_changes(here))
    assert driver.current_url.endswith("/console/collections/browser-made?created=1"), (
        driver.page_source[-3000:]
    )
    assert "The collection was created." in driver.page_source
    assert served.client().describe_collection(CollectionId="browser-made")["FaceCount"] == 0
    visit_done("collection")

    driver.get(served.url + "/console/try")
    image = deepface_images / "couple.jpg"
    driver.find_element(By.ID, "detectfaces-image").send_keys(str(image))
    Select(driver.find_element(By.ID, "detectfaces-attributes")).select_by_value("DEFAULT")
    driver.find_element(By.XPATH, "//button[text()='Detect faces']").click()
    wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "figure.overlay")))
    boxes = driver.find_elements(By.CSS_SELECTOR, "figure.overlay svg rect.box")
    assert len(boxes) == 2
    picture = driver.find_element(By.CSS_SELECTOR, "figure.overlay img")
    shown = picture.rect
    assert shown["width"] > 100 and shown["height"] > 100  # the image itself rendered
    for box in boxes:  # each box drawn inside the image, with a size
        r = box.rect
        assert r["width"] > 5 and r["height"] > 5
        assert shown["x"] <= r["x"] and r["x"] + r["width"] <= shown["x"] + shown["width"] + 1
        assert shown["y"] <= r["y"] and r["y"] + r["height"] <= shown["y"] + shown["height"] + 1
    driver.execute_script("arguments[0].scrollIntoView()", picture)
    driver.save_screenshot(str(tmp_path / "try-1280x800.png"))
    driver.find_element(By.CSS_SELECTOR, "figure.overlay").screenshot(str(tmp_path / "boxes.png"))
    visit_done("try")

    # DetectText on a drawn sign: each line's polygon drawn inside the image.
    sign = tmp_path / "sign.png"
    sign.write_bytes(png(draw_text(["Hello world from Agnosco", "STOP 42 Main Street"]).image))
    driver.find_element(By.ID, "detecttext-image").send_keys(str(sign))
    driver.find_element(By.XPATH, "//button[text()='Detect text']").click()
    wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "svg polygon.line")))
    picture = driver.find_element(By.CSS_SELECTOR, "figure.overlay img").rect
    lines = driver.find_elements(By.CSS_SELECTOR, "figure.overlay svg polygon.line")
    assert len(lines) == 2
    for line in lines:
        r = line.rect
        assert r["width"] > 50 and r["height"] > 5
        assert picture["x"] <= r["x"] and r["x"] + r["width"] <= picture["x"] + picture["width"] + 1
    assert "STOP 42 Main Street" in driver.find_element(By.CSS_SELECTOR, "table.text").text
    visit_done("try-text")

    # DetectLabels with IMAGE_PROPERTIES: a Person box inside the image for each of the two
    # people, and the dominant colours, each named beside its swatch.
    driver.find_element(By.ID, "detectlabels-image").send_keys(str(image))
    driver.find_element(By.ID, "detectlabels-features-image_properties").click()
    driver.find_element(By.XPATH, "//button[text()='Detect labels']").click()
    wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "table.labels")))
    picture = driver.find_element(By.CSS_SELECTOR, "figure.overlay img").rect
    persons = driver.find_elements(By.CSS_SELECTOR, "figure.overlay svg rect.box")
    assert len(persons) == 2
    for box in persons:
        title = box.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        assert title.startswith("Person ")
        r = box.rect
        assert r["width"] > 5 and picture["x"] <= r["x"]
        assert r["x"] + r["width"] <= picture["x"] + picture["width"] + 1
    colours = driver.find_elements(By.CSS_SELECTOR, "ul.colours li")
    assert colours and all(
        c.find_element(By.CSS_SELECTOR, "svg.swatch").rect["width"] > 5
        and c.find_element(By.CSS_SELECTOR, "span.colour").text
        for c in colours
    )
    visit_done("try-labels")

    # Readable at phone width: no page scrolls sideways.
    driver.set_window_size(390, 844)
    for path in (
        "/console/sign-in",
        "/console/collections",
        "/console/collections/browser-made",
        "/console/try",
        "/console/reviews",
        "/console/keys",
        "/console/principals",
        "/console/policies/Admin",
        "/console/evaluations",
        "/console/audit",
        "/console/usage",
    ):
        driver.get(served.url + path)
        width = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert width[0] <= width[1], (path, width)
        visit_done(path)
    driver.save_screenshot(str(tmp_path / "audit-390.png"))
    driver.set_window_size(1280, 800)

    # A ReadOnly principal (made with the CLI), given a key on the keys page...
    _agnosco(served, "principals", "create", "viewer")
    _agnosco(served, "policies", "attach", "ReadOnly", "--principal", "viewer")
    driver.get(served.url + "/console/keys")
    Select(driver.find_element(By.ID, "principal")).select_by_value("viewer")
    driver.find_element(By.XPATH, "//button[text()='Create access key']").click()
    wait.until(until.presence_of_element_located((By.ID, "new-key-secret")))
    key_id = driver.find_element(By.ID, "new-key-id").text
    key_secret = driver.find_element(By.ID, "new-key-secret").text
    visit_done("keys")
    driver.find_element(By.XPATH, "//button[text()='Sign out']").click()
    wait.until(until.url_contains("/console/sign-in?ended=signed-out"))
    # ...sees read-only pages: the collection, no form to create or delete one.
    _sign_in(driver, wait, key_id, key_secret)
    assert "Signed in as viewer" in driver.find_element(By.CSS_SELECTOR, ".who").text
    assert "browser-made" in driver.page_source
    assert "do not allow creating collections" in driver.page_source
    assert not driver.find_elements(By.ID, "collection_id")
    driver.get(served.url + "/console/collections/browser-made")
    assert "do not allow deleting" in driver.page_source
    visit_done("read-only")
    # The key revoked from the command line (another process) ends the browser's session.
    _agnosco(served, "keys", "revoke", key_id)
    for _ in range(100):  # the server re-reads a key within a second of its revocation
        driver.get(served.url + "/console/collections")
        if "/console/sign-in" in driver.current_url:
            break
        time.sleep(0.1)
    assert "/console/sign-in" in driver.current_url
    visit_done("revoked")

    # The admin verifies the audit chain, which holds the console's calls.
    _sign_in(driver, wait, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    driver.get(served.url + "/console/audit?principal=viewer")
    assert "console" in driver.find_element(By.CSS_SELECTOR, "table").text
    here = driver.current_url
    driver.find_element(By.LINK_TEXT, "Verify the chain").click()
    wait.until(until.url_changes(here))
    assert "The chain verifies" in driver.find_element(By.CSS_SELECTOR, "main").text
    visit_done("audit")
    assert (tmp_path / "try-1280x800.png").stat().st_size > 10_000
    assert not any(errors.values()), errors


FOUR_EYES = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "FourEyes",
            "Effect": "Deny",
            "Action": "rekognition:Search*",
            "Resource": "*",
            "Condition": {"NumericLessThan": {"agnosco:RequiredReviewers": 2}},
        }
    ],
}


@pytest.mark.slow
def test_two_reviewers_decide_a_review_in_the_browser(
    chromium: Any, served: Server, deepface_images: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    driver, wait = chromium, WebDriverWait(chromium, 120)
    image = (deepface_images / "couple.jpg").read_bytes()
    admin = served.client()
    admin.create_collection(CollectionId="watched")
    admin.index_faces(CollectionId="watched", Image={"Bytes": image}, ExternalImageId="couple")
    policy = tmp_path / "four-eyes.json"
    policy.write_text(json.dumps(FOUR_EYES))
    _agnosco(served, "policies", "put", "FourEyes", str(policy))
    keys = {}
    for name, policies in (
        ("searcher", ("Identifier", "FourEyes")),
        ("reviewer-one", ("Reviewer",)),
        ("reviewer-two", ("Reviewer",)),
    ):
        _agnosco(served, "principals", "create", name)
        for attached in policies:
            _agnosco(served, "policies", "attach", attached, "--principal", name)
        made = json.loads(_agnosco(served, "keys", "create", "--principal", name, "--json"))
        keys[name] = (made["AccessKeyId"], made["SecretAccessKey"])
    searcher = served.client(*keys["searcher"])
    answer = searcher.search_faces_by_image(CollectionId="watched", Image={"Bytes": image})
    assert answer["FaceMatches"] == []
    review_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-agnosco-review-id"]
    errors = []
    for reviewer, status in (("reviewer-one", "PENDING"), ("reviewer-two", "CONFIRMED")):
        driver.get(served.url + "/console/sign-in")
        _sign_in(driver, wait, *keys[reviewer])
        # A reviewer lands on the reviews, the one page the Reviewer policy opens.
        assert driver.current_url == served.url + "/console/reviews"
        menu = driver.find_element(By.CSS_SELECTOR, "nav").text.split("\n")
        assert menu == ["Reviews"]
        section = driver.find_element(
            By.CSS_SELECTOR, f"section[aria-labelledby='review-{review_id}']"
        )
        assert "two-person rule" in section.text
        section.find_element(By.CSS_SELECTOR, "input[value='confirm']").click()
        section.find_element(By.TAG_NAME, "textarea").send_keys(f"{reviewer}: same person")
        here = driver.current_url
        section.find_element(By.XPATH, ".//button[text()='Record decision']").click()
        wait.until(until.url_changes(here))
        assert driver.current_url.endswith(f"/console/reviews?decided={status}")
        if status == "PENDING":
            assert "another reviewer must decide it" in driver.page_source
            driver.save_screenshot(str(tmp_path / "review-one-decided.png"))
        else:
            assert "No review is pending." in driver.page_source
        errors += _errors(driver)
        driver.find_element(By.XPATH, "//button[text()='Sign out']").click()
        wait.until(until.url_contains("ended=signed-out"))
    decided = _audit_records(served, "agnosco:DecideReview")
    assert [(r["principal"], r["result"]["status"]) for r in decided] == [
        ("reviewer-one", "PENDING"),
        ("reviewer-two", "CONFIRMED"),
    ]
    assert not errors, errors


def _audit_records(served: Server, operation: str) -> list[dict[str, Any]]:
    """The outcome records of ``operation``, from ``agnosco audit export``."""
    lines = _agnosco(served, "audit", "export").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return [r for r in records if r.get("operation") == operation and "phase" not in r]


def _sign_in(driver: Any, wait: Any, key_id: str, secret: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until

    if "/console/sign-in" not in driver.current_url:
        driver.get(driver.current_url.split("/console")[0] + "/console/sign-in")
    driver.find_element(By.ID, "access_key_id").send_keys(key_id)
    driver.find_element(By.ID, "secret_access_key").send_keys(secret)
    here = driver.current_url
    driver.find_element(By.XPATH, "//button[text()='Sign in']").click()
    wait.until(until.url_changes(here))
    assert "/console/sign-in" not in driver.current_url, driver.page_source[-2000:]


def _agnosco(served: Server, *argv: str) -> str:
    """The command line on the server's data directory, as its operator runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "agnosco.cli.main", *argv, "--data-dir", str(served.data_dir)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout
