"""Screenshots of the search page for the README: ``make screenshots``.

Serves the app on loopback over the bundled corpus's index (``index_data/index``,
built first when missing or stale, as ``searchsvc serve`` does), opens a page of
results with facets in headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium), types into the box so that the
suggestions are open, and writes

    docs/screenshots/results-desktop.png   1280 x 900
    docs/screenshots/results-phone.png      375 x 812

Usage: python docs/make_screenshots.py [--out DIR] [--query Q] [--typed TEXT] [--filters QS]
"""

from __future__ import annotations

import argparse
import io
import logging
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from searchsvc import create_app
from searchsvc.cli.indexing import reindex_with_config
from searchsvc.cli.output import print_summary

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"desktop": (1280, 900, False), "phone": (375, 812, True)}


def ready_app():
    """The app over its configured index, (re)built from the bundled corpus if needed."""
    app = create_app()
    with app.app_context():
        live = app.extensions["searchsvc.index"]
        live.refresh()
        if live.index is None or not live.searchable:  # as `searchsvc serve` does
            print(
                f"{live.stale or live.problem or 'no index yet'}: indexing {app.config['SOURCE_DIR']} first."
            )
            print_summary(reindex_with_config(show_progress=False))
            live.refresh()
    return app


def start_browser():
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        sys.exit("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--lang=fr-FR",
        "--force-color-profile=srgb",
    ):
        options.add_argument(arg)
    # An explicit driver path: Selenium Manager never looks anything up or downloads.
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def small_png(png: bytes) -> bytes:
    """The screenshot in at most 256 colours when Pillow is there (a third of the size)."""
    try:
        from PIL import Image
    except ImportError:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, "PNG", optimize=True
    )
    return out.getvalue() if len(out.getvalue()) < len(png) else png


def shoot(
    driver, base: str, path: str, typed: str, size: tuple[int, int, bool], target: Path
) -> None:
    width, height, mobile = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    driver.get(base + path)
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(typed)
    WebDriverWait(driver, 10).until(
        lambda d: (
            box.get_attribute("aria-expanded") == "true"
            and d.find_elements(By.CSS_SELECTOR, "#q-suggestions [role=option]")
        )
    )
    time.sleep(0.2)  # let the list paint
    target.write_bytes(small_png(driver.get_screenshot_as_png()))
    print(
        f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target} "
        f"({target.stat().st_size // 1024} KiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--query", default="élection présidentielle", help="the search shown")
    parser.add_argument(
        "--filters",
        default="year=2020&year=2019",
        help="query-string filters applied (source=…&year=…)",
    )
    parser.add_argument(
        "--typed", default="élection présid", help="what is being typed (suggestions open)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = ready_app()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    filters = "&".join(
        f"{quote(k)}={quote(v)}"
        for k, _, v in (p.partition("=") for p in args.filters.split("&") if p)
    )
    path = "/?q=" + quote(args.query) + ("&" + filters if filters else "")
    driver = start_browser()
    try:
        for name, size in SIZES.items():
            shoot(driver, base, path, args.typed, size, args.out / f"results-{name}.png")
    finally:
        driver.quit()
        httpd.shutdown()


if __name__ == "__main__":
    main()
