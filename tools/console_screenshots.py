"""Take the screenshots of ``docs/console.md``: the console's main pages at 1280x800, on a
real ``agnosco serve`` with demo data, in Debian's Chromium driven by Selenium.

The demo: three collections (faces indexed in one, users in another), principals with the
shipped policies, a two-person review with one decision made in the console, and the audit
records all of that leaves.  **No photograph of anyone is in a screenshot**: the console shows
no face images (a face in a collection is metadata), and the try page is shown with a sign
drawn here (DetectText's lines drawn over it; DetectLabels' labels and colours of it).  A shared-data photograph is *sent* to index
and search faces (``deepface-pairs/images/couple.jpg``), which no page shows back.

Each PNG is reduced to 256 colours and optimised (a screenshot of text and flat colours loses
nothing visible), so each stays well under 200 KB.

    python tools/console_screenshots.py [--data ../shared/data] [--out docs/images]

Needs ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (``apt-get install chromium
chromium-driver``); Selenium fetches nothing (``SE_OFFLINE``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: The demo deployment's admin key (a throwaway data directory's: it opens nothing else).
ADMIN_KEY = ("AKIACONSOLEDEMOADMIN", "demoSecretOfTheConsoleScreenshotAdminKey")
REGION = "eu-west-1"
SIZE = (1280, 800)
#: A policy requiring two reviewers for every search (docs/responsible-use.md).
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    couple = args.data / "deepface-pairs" / "images" / "couple.jpg"
    if not couple.is_file():
        sys.exit(f"{couple} is absent: the demo indexes and searches its faces (never shown)")
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not Path(binary).exists():
            sys.exit(f"{binary} is absent: apt-get install chromium chromium-driver")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="agnosco-screenshots-") as folder:
        work = Path(folder)
        with _server(work / "data", work / "server.log") as url, _chromium() as driver:
            _demo(url, work, couple.read_bytes())
            _shoot(driver, url, work, args.out)


@contextmanager
def _server(data_dir: Path, log: Path) -> Iterator[str]:
    """``agnosco serve`` on a free port of 127.0.0.1; its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = os.environ | {
        "AGNOSCO_ACCESS_KEY_ID": ADMIN_KEY[0],
        "AGNOSCO_SECRET_ACCESS_KEY": ADMIN_KEY[1],
        "AGNOSCO_REGION": REGION,
    }
    argv = [sys.executable, "-m", "agnosco.cli.main", "serve", "--port", str(port)]
    with open(log, "ab") as fh:
        process = subprocess.Popen(
            [*argv, "--data-dir", str(data_dir)], stdout=fh, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"agnosco serve did not start:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def _chromium() -> Iterator[Any]:
    """Headless Chromium at exactly 1280x800 CSS pixels, as the browser tests run it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must fetch nothing
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={SIZE[0]},{SIZE[1]}")
    options.add_argument("--hide-scrollbars")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": SIZE[0], "height": SIZE[1], "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        yield driver
    finally:
        driver.quit()


def _client(url: str, key: tuple[str, str]) -> Any:
    return boto3.client(
        "rekognition",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(retries={"max_attempts": 1}, read_timeout=300),
    )


def _agnosco(data_dir: Path, *argv: str) -> str:
    """The command line on the server's data directory, as its operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "agnosco.cli.main", *argv, "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def _demo(url: str, work: Path, photo: bytes) -> None:
    """Collections, faces, users, principals, a search held for two reviewers."""
    data_dir = work / "data"
    admin = _client(url, ADMIN_KEY)
    for collection in ("front-desk", "staff-badges", "visitors-2026"):
        admin.create_collection(CollectionId=collection)
    admin.index_faces(
        CollectionId="staff-badges", Image={"Bytes": photo}, ExternalImageId="badge-0042"
    )
    for user in ("reception", "night-shift"):
        admin.create_user(CollectionId="staff-badges", UserId=user)
    policy = work / "four-eyes.json"
    policy.write_text(json.dumps(FOUR_EYES))
    _agnosco(data_dir, "policies", "put", "FourEyes", str(policy))
    keys = {}
    for name, policies, organisation in (
        ("badge-office", ("Identifier", "FourEyes"), "Facilities"),
        ("reviewer-ana", ("Reviewer",), "Security"),
        ("reviewer-ben", ("Reviewer",), "Security"),
        ("auditor", ("Auditor",), "Internal audit"),
        ("viewer", ("ReadOnly",), "Facilities"),
    ):
        _agnosco(data_dir, "principals", "create", name, "--organization", organisation)
        for attached in policies:
            _agnosco(data_dir, "policies", "attach", attached, "--principal", name)
        made = json.loads(_agnosco(data_dir, "keys", "create", "--principal", name, "--json"))
        keys[name] = (made["AccessKeyId"], made["SecretAccessKey"])
    searcher = _client(url, keys["badge-office"])
    searcher.list_collections()
    searcher.search_faces_by_image(
        CollectionId="staff-badges", Image={"Bytes": photo}, FaceMatchThreshold=90
    )
    (work / "keys.json").write_text(json.dumps(keys))


def _sign(path: Path) -> None:
    """A drawn sign with two lines of text (no photograph), for DetectText."""
    image = Image.new("RGB", (960, 400), (236, 239, 241))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((40, 40, 920, 360), radius=28, fill=(21, 101, 192))
    font = ImageFont.load_default(size=64)
    draw.text((96, 100), "Reception open", fill="white", font=font)
    draw.text((96, 220), "Visitors sign in here", fill="white", font=font)
    image.save(path)


def _shoot(driver: Any, url: str, work: Path, out: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 120)
    keys = json.loads((work / "keys.json").read_text())

    def sign_in(key: tuple[str, str]) -> None:
        driver.get(url + "/console/sign-in")
        driver.find_element(By.ID, "access_key_id").send_keys(key[0])
        driver.find_element(By.ID, "secret_access_key").send_keys(key[1])
        here = driver.current_url
        driver.find_element(By.XPATH, "//button[text()='Sign in']").click()
        wait.until(until.url_changes(here))

    def sign_out() -> None:
        driver.find_element(By.XPATH, "//button[text()='Sign out']").click()
        wait.until(until.url_contains("ended=signed-out"))

    def save(name: str, scroll_to: str | None = None) -> None:
        if scroll_to is not None:
            element = driver.find_element(By.CSS_SELECTOR, scroll_to)
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)
        _save_png(driver.get_screenshot_as_png(), out / f"console-{name}.png")

    driver.get(url + "/console/sign-in")
    save("sign-in")
    # One reviewer of the two decides the review in the console first.
    sign_in(keys["reviewer-ana"])
    driver.find_element(By.CSS_SELECTOR, "input[value='confirm']").click()
    driver.find_element(By.TAG_NAME, "textarea").send_keys(
        "Same person as the badge photo on file; checked with the badge office."
    )
    here = driver.current_url
    driver.find_element(By.XPATH, "//button[text()='Record decision']").click()
    wait.until(until.url_changes(here))
    sign_out()
    sign_in(keys["reviewer-ben"])
    save("reviews")
    sign_out()

    sign_in(ADMIN_KEY)
    driver.get(url + "/console/collections")
    save("collections")
    driver.get(url + "/console/collections/staff-badges")
    save("collection")
    driver.get(url + "/console/try")
    sign = work / "sign.png"
    _sign(sign)
    driver.find_element(By.ID, "detecttext-image").send_keys(str(sign))
    driver.find_element(By.XPATH, "//button[text()='Detect text']").click()
    wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "svg polygon.line")))
    save("try-text", "main > h2")
    # DetectLabels with IMAGE_PROPERTIES on the same drawn sign: its labels and colours.
    driver.find_element(By.ID, "detectlabels-image").send_keys(str(sign))
    driver.find_element(By.ID, "detectlabels-features-image_properties").click()
    driver.find_element(By.XPATH, "//button[text()='Detect labels']").click()
    wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "ul.colours")))
    save("try-labels", "table.labels")
    driver.get(url + "/console/audit?collection=staff-badges")
    save("audit")
    driver.get(url + "/console/usage")
    save("usage")
    driver.get(url + "/console/keys")
    save("keys")
    driver.get(url + "/console/principals")
    save("principals")
    driver.get(url + "/console/policies/FourEyes")
    save("policy-editor", "#editor")


def _save_png(png: bytes, path: Path) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.size != SIZE:
        sys.exit(f"{path.name}: the screenshot is {image.size}, not {SIZE}")
    image.quantize(colors=256).save(path, optimize=True)
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
        f"{path.stat().st_size // 1024} KB"
    )


if __name__ == "__main__":
    main()
