"""A real browser for the workbench's tests (docs/contract.md 12): Debian's chromium driven by
chromium-driver through python3-selenium, headless, against the real daemon.

    b = Browser(daemon)                    # a fresh profile, a desktop-sized window
    b.login("wang", "s3cret-pass")         # the sign-in form, as a person fills it
    b.open("/app/")                        # a page of the daemon
    b.wait_text("FQ20261203-0001")         # waits (no sleeps) until the page shows it
    b.shot("board")                        # a PNG under $FQ_SCREENSHOTS (default build/screenshots)

Every wait polls the live DOM up to a timeout and fails with what the page shows instead. The
browser is registered with lib, so it goes with the test's daemon at the end.
"""
import os
import sys
import time

import lib

try:
    import selenium  # noqa: F401
except ImportError:  # Debian installs python3-selenium for the system's python3
    sys.path.append("/usr/lib/python3/dist-packages")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = os.environ.get("FQ_CHROMIUM", "/usr/bin/chromium")
DRIVER = os.environ.get("FQ_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = os.environ.get("FQ_SCREENSHOTS") or os.path.join(lib.ROOT, "build", "screenshots")

PHONE = (390, 844)
DESKTOP = (1366, 900)


class Browser:
    def __init__(self, daemon, size=DESKTOP, lang="zh-CN"):
        lib.check(os.path.exists(CHROMIUM) and os.path.exists(DRIVER),
                  f"no {CHROMIUM} or {DRIVER}: install chromium and chromium-driver (scripts/deps.sh)")
        self.d = daemon
        self.profile = lib.TempDir("fqit-chromium-").path
        o = Options()
        o.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                  "--no-first-run", "--disable-extensions", "--disable-background-networking",
                  f"--user-data-dir={self.profile}", f"--window-size={size[0]},{size[1]}",
                  f"--lang={lang}"):
            o.add_argument(a)
        o.add_experimental_option("prefs", {"intl.accept_languages": lang})
        if size == PHONE:   # a window cannot be that narrow: the phone is emulated
            o.add_experimental_option("mobileEmulation", {"deviceMetrics": {
                "width": size[0], "height": size[1], "pixelRatio": 2.0}})
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.drv = webdriver.Chrome(service=Service(DRIVER), options=o)
        self.drv.set_page_load_timeout(20)
        lib.register(self)

    # navigation -------------------------------------------------------------------------------
    def url(self, path):
        return f"http://127.0.0.1:{self.d.port}{path}"

    def open(self, path):
        self.drv.get(self.url(path))
        return self

    def login(self, login, password, expect_board=True):
        self.open("/app/login")
        self.fill("login", login)
        self.fill("password", password)
        self.submit()
        if expect_board:
            self.wait(lambda: self.path() == "/app/", "the board after sign-in")
        return self

    def path(self):
        from urllib.parse import urlparse
        return urlparse(self.drv.current_url).path

    # the page ---------------------------------------------------------------------------------
    def el(self, css):
        return self.drv.find_element(By.CSS_SELECTOR, css)

    def els(self, css):
        return self.drv.find_elements(By.CSS_SELECTOR, css)

    def text(self):
        try:
            return self.drv.find_element(By.TAG_NAME, "body").text
        except (NoSuchElementException, StaleElementReferenceException):
            return ""

    def fill(self, name, value):
        e = self.el(f"[name={name}]")
        e.clear()
        e.send_keys(value)

    def submit(self):
        buttons = self.els("main form button[type=submit]")
        lib.check(len(buttons) == 1, f"the form has {len(buttons)} submit buttons")
        buttons[0].click()

    def button(self, label):
        """The one button whose text is label."""
        found = [b for b in self.els("button") if b.text.strip() == label]
        lib.check(len(found) == 1, f"{len(found)} buttons labelled {label!r}; page: {self.text()[:400]}")
        return found[0]

    def wait(self, pred, what, timeout=15):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            try:
                last = pred()
                if last:
                    return last
            except (NoSuchElementException, StaleElementReferenceException):
                pass
            time.sleep(0.1)
        raise lib.Failure(f"waited {timeout}s for {what}; page {self.drv.current_url}: "
                          f"{self.text()[:800]}")

    def wait_text(self, s, timeout=15):
        return self.wait(lambda: s in self.text(), f"{s!r} on the page", timeout)

    def wait_css(self, css, timeout=15):
        return self.wait(lambda: self.els(css), f"an element {css}", timeout)

    def console_errors(self):
        """The browser console's errors (CSP violations show here)."""
        try:
            return [e for e in self.drv.get_log("browser") if e.get("level") == "SEVERE"]
        except Exception:
            return []

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        p = os.path.join(SHOTS, f"{name}.png")
        self.drv.save_screenshot(p)
        return p

    def cleanup(self):
        try:
            self.drv.quit()
        except Exception:
            pass
