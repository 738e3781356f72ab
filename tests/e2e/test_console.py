"""The web console in a real browser: Debian's Chromium, headless, driven by selenium through
chromium-driver, against the gateway under gunicorn and the real services.

One chain is made through the API before the browser starts: a Silver tier (washes 10 % off,
parts 5 % off; recharge >= 500 yuan gives 20 yuan), a wash at 120 yuan and brake pads at 300
yuan, and a member enrolled at store A whose phone ends in 4321 and who recharged 500 yuan.
Screenshots of the main screens are written to var/screenshots/.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy.orm import Session

from deploy import demo, demo_counter
from services.kit.db import make_engine
from tests.e2e.test_make_run import free_port
from tests.helpers import (
    DEFAULT_PASSWORD,
    ChainWorld,
    build_chain,
    error,
    ok,
    process_environment,
    unique,
    wait_for,
)
from tests.wallet_helpers import SILVER

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
WAIT = 15


@pytest.fixture(scope="module")
def gateway(provisioned, services, tmp_path_factory):
    """gunicorn serving the gateway (and so the console) on a free port."""
    port = free_port()
    env = process_environment(
        provisioned, HUIYUAN_GATEWAY_BIND=f"127.0.0.1:{port}", HUIYUAN_GATEWAY_WORKERS="2", HUIYUAN_LOG_LEVEL="WARNING"
    )
    log = tmp_path_factory.mktemp("console") / "gunicorn.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gateway/gunicorn_conf.py", "gateway.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5):
                break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(timeout=30)


class Shop:
    """The chain the browser works on, and API shortcuts to check what it did."""

    def __init__(self, world: ChainWorld) -> None:
        self.world = world
        self.hq = world.hq
        self.cashier = self.hq.as_user(world.usernames["cashier_A"])

    def member_with_card(self, phone: str, recharge_fen: int) -> dict:
        member = ok(
            self.cashier.post(self.world.path("/members"), {"name": unique("张三"), "phone": phone}),
            201,
        )
        card = ok(self.cashier.post(self.world.path(f"/members/{member['id']}/cards"), {"tier_code": "WSILVER"}), 201)
        body = {
            "card_no": card["card_no"],
            "store_id": self.world.stores["A"]["id"],
            "amount": recharge_fen,
            "payment_method": "cash",
        }
        ok(self.cashier.post(self.world.path("/wallet/recharges"), body), 201)
        return card

    def statement(self, card_no: str) -> list[dict]:
        return ok(self.hq.get(self.world.path(f"/wallet/cards/{card_no}/statement"), {"limit": 200}))["items"]

    def balances(self, card_no: str) -> dict:
        return ok(self.hq.get(self.world.path(f"/wallet/cards/{card_no}/balances")))["balances"]


@pytest.fixture(scope="module")
def shop(admin) -> Shop:
    return make_shop(admin)


def make_shop(admin) -> Shop:
    world = build_chain(admin)
    hq = world.hq
    ok(hq.post(world.path("/tiers"), SILVER), 201)
    for code, name in (("wash", "洗车"), ("parts", "配件")):
        ok(hq.post(world.path("/categories"), {"code": code, "name": name}), 201)
    for code, name, category, price in (("W01", "标准洗车", "wash", 12000), ("PAD", "刹车片", "parts", 30000)):
        body = {"code": code, "name": name, "category_code": category, "price": price}
        ok(hq.post(world.path("/items"), body), 201)
    ok(hq.patch(world.path("/settings"), {"receipt_footer": "谢谢惠顾，欢迎再来"}), 200)
    return Shop(world)


@pytest.fixture(scope="module")
def browser():
    for command in ("chromium", "chromedriver"):
        assert shutil.which(command), f"{command} is missing: bash deploy/ensure_browser.sh installs it"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=zh-CN"):
        options.add_argument(argument)
    options.add_argument("--window-size=1024,900")
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


# ---- helpers -------------------------------------------------------------------------------


def wait(driver, condition, timeout: float = WAIT):
    try:
        # a screen redrawn while it is read: read it again
        return WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: condition(d)
        )
    except TimeoutException:
        pytest.fail(f"not within {timeout} s; the page says: {driver.find_element(By.TAG_NAME, 'body').text[:2000]}")


def text_of(driver, css: str) -> str:
    return wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, css) and d.find_element(By.CSS_SELECTOR, css).text)


def shown(driver, css: str):
    return wait(driver, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()), None))


def sign_in(driver, base: str, chain: str, username: str, password: str = DEFAULT_PASSWORD) -> None:
    driver.get(f"{base}/")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{base}/")
    chain_box = shown(driver, "input[name=chain]")
    chain_box.clear()
    chain_box.send_keys(chain)
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password + Keys.ENTER)


def active_id(driver) -> str:
    return driver.switch_to.active_element.get_attribute("id")


def screenshot(driver, name: str, width: int, height: int = 900) -> None:
    driver.set_window_size(width, height)
    time.sleep(0.2)
    # no layout break: nothing wider than the window at this width
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} at {width} px is {overflow} px wider than the window"
    driver.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))


# every visible control on the page that has no label (by `for`, wrapping, or aria-label)
UNLABELLED = """
    return [...document.querySelectorAll('input, select, button, textarea')]
      .filter((el) => el.offsetParent !== null)
      .filter((el) => {
        if (el.tagName === 'BUTTON') return !el.textContent.trim() && !el.getAttribute('aria-label');
        const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
        return !byFor && !el.getAttribute('aria-label') && !el.closest('label');
      })
      .map((el) => el.outerHTML.slice(0, 120));
"""


def record_timings(timings: dict[str, float]) -> None:
    """The counter's three steps, key press to result shown, in seconds (selenium's own round
    trips included, so an upper bound): written beside the screenshots and printed."""
    rounded = {name: round(seconds, 3) for name, seconds in timings.items()}
    (SCREENSHOTS / "timings.json").write_text(json.dumps(rounded, indent=2) + "\n")
    print(f"counter steps (s): {rounded}")


# the rows of the receipt frame's page: (the section heading above it, label, value)
RECEIPT_ROWS = """
    const rows = [];
    let heading = '';
    for (const tr of document.querySelectorAll('#receipt tr')) {
      const th = tr.querySelector('th');
      if (th) { heading = th.textContent; continue; }
      rows.push([heading, ...[...tr.querySelectorAll('td')].map((td) => td.textContent.trim())]);
    }
    return rows;
"""


def receipt_value(driver, label: str, under: str = "") -> str:
    """The value beside `label` on the receipt shown (the first under a heading starting `under`)."""

    def found(d):
        for heading, *cells in d.execute_script(RECEIPT_ROWS):
            if heading.startswith(under) and len(cells) == 2 and cells[0].startswith(label):
                return cells[1]
        return None

    return wait(driver, found)


def phone_ending(tail: str) -> str:
    return f"139{random.randint(0, 9999):04d}{tail}"


# ---- the counter -------------------------------------------------------------------------------


def test_cashier_finds_by_last_four_consumes_two_items_with_discount_and_prints_in_three_steps(gateway, shop, browser):
    tail = f"{random.randint(1000, 9999)}"
    card = shop.member_with_card(phone_ending(tail), 50000)  # 500 yuan: +20 yuan bonus (SILVER)
    browser.set_window_size(1024, 900)
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search")
    assert browser.current_url.endswith("#/desk")
    # a cashier's menu has the counter only
    assert [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")] == ["前台收银"]
    assert active_id(browser) == "desk-search"

    # step 1: the last four digits of the phone, Enter (each step timed from the key press to
    # its result on the screen: measured and reported, not asserted)
    search = browser.switch_to.active_element
    search.send_keys(tail)
    timings = {}
    started = time.perf_counter()
    search.send_keys(Keys.ENTER)
    assert text_of(browser, "#bal-cash") == "¥500.00"
    timings["look_up_s"] = time.perf_counter() - started
    assert text_of(browser, "#bal-bonus") == "¥20.00"
    assert text_of(browser, "#card-tier") == SILVER["name"]
    assert card["card_no"] in browser.find_element(By.CSS_SELECTOR, ".member").text
    screenshot(browser, "desk-member", 1024)
    browser.set_window_size(1024, 900)

    # step 2: two washes and a set of brake pads, by code, then Enter on the empty box
    wait(browser, lambda d: active_id(d) == "item-input")
    items = browser.switch_to.active_element
    items.send_keys("W01*2" + Keys.ENTER)
    items.send_keys("pad")
    started = time.perf_counter()
    items.send_keys(Keys.ENTER)
    # 2 x 120 = 240 less 10 % = 216; 300 less 5 % = 285; due 501: 500 cash, then 1 bonus
    wait(browser, lambda d: d.find_element(By.ID, "sum-gross").text == "¥540.00")
    timings["consume_preview_s"] = time.perf_counter() - started
    assert text_of(browser, "#sum-gross") == "¥540.00"
    assert text_of(browser, "#sum-discount") == "-¥39.00"
    assert text_of(browser, "#sum-due") == "¥501.00"
    assert text_of(browser, "#sum-cash") == "¥500.00"
    assert text_of(browser, "#sum-bonus") == "¥1.00"
    items.send_keys(Keys.ENTER)
    assert active_id(browser) == "confirm-consume"
    screenshot(browser, "desk-consume", 1024)
    screenshot(browser, "desk-consume", 1920, 1080)
    browser.set_window_size(1024, 900)

    # step 3: confirm with Enter; the receipt comes with its print button focused
    confirm = browser.switch_to.active_element
    started = time.perf_counter()
    confirm.send_keys(Keys.ENTER)
    # the wallet's own receipt (GET .../transactions/{id}/receipt), shown in the receipt frame
    assert receipt_value(browser, "应付") == "501.00"
    timings["confirm_to_receipt_s"] = time.perf_counter() - started
    record_timings(timings)
    assert receipt_value(browser, "折扣") == "-39.00"
    assert receipt_value(browser, "本金", under="支付") == "500.00"
    assert receipt_value(browser, "赠送金", under="支付") == "1.00"
    assert receipt_value(browser, "本金", under="余额") == "0.00"
    assert receipt_value(browser, "赠送金", under="余额") == "19.00"
    receipt = browser.find_element(By.ID, "receipt").text
    assert "谢谢惠顾，欢迎再来" in receipt and "会员签名" in receipt and "标准洗车" in receipt
    wait(browser, lambda d: active_id(d) == "print-80mm")
    # the card shown agrees with the wallet
    assert text_of(browser, "#bal-cash") == "¥0.00"
    assert text_of(browser, "#bal-bonus") == "¥19.00"
    assert shop.balances(card["card_no"])["cash"] == 0
    assert shop.balances(card["card_no"])["bonus"] == 1900

    # print preview: in print media only the receipt shows, and Chromium makes a PDF of it
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert browser.find_element(By.ID, "receipt").is_displayed()
        assert not browser.find_element(By.ID, "desk-search").is_displayed()
        assert not browser.find_element(By.ID, "print-80mm").is_displayed()
        screenshot(browser, "receipt-print", 1024)
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert browser.print_page().startswith("JVBERi")  # base64 of "%PDF"


def test_a_double_click_on_confirm_charges_once(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 100000)  # 1000 yuan, +50 bonus
    before = [e for e in shop.statement(card["card_no"]) if e["kind"] == "consume"]
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    search = shown(browser, "#desk-search")
    search.send_keys(card["card_no"] + Keys.ENTER)  # as a card reader types it
    assert text_of(browser, "#bal-cash") == "¥1,000.00"
    wait(browser, lambda d: active_id(d) == "item-input")
    browser.switch_to.active_element.send_keys("W01" + Keys.ENTER)
    assert text_of(browser, "#sum-due") == "¥108.00"
    ActionChains(browser).double_click(browser.find_element(By.ID, "confirm-consume")).perform()
    assert receipt_value(browser, "应付") == "108.00"
    time.sleep(1)  # a second request, had one been sent, would have answered by now
    consumes = [e for e in shop.statement(card["card_no"]) if e["kind"] == "consume"]
    assert len(consumes) == len(before) + 1
    assert shop.balances(card["card_no"])["cash"] == 100000 - 10800
    assert text_of(browser, "#bal-cash") == "¥892.00"


def test_a_forbidden_action_shows_the_apis_message(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 10000)
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    text_of(browser, "#bal-cash")
    shown(browser, "[data-tab=card]").click()
    shown(browser, "#card-reason").send_keys("会员挂失" + Keys.ENTER)
    wait(browser, lambda d: "已冻结" in d.find_element(By.CSS_SELECTOR, ".member").text)
    # unfreezing is for managers: the API refuses the cashier, and the console says what it said
    refusal = error(
        shop.cashier.post(shop.world.path(f"/cards/{card['id']}/unfreeze"), {"reason": "找回"}),
        403,
    )
    shown(browser, "#card-reason").send_keys("找回" + Keys.ENTER)
    message = text_of(browser, "#card-error")
    assert message == f"无权限：{refusal['message']}"
    assert "已冻结" in browser.find_element(By.CSS_SELECTOR, ".member").text


def test_a_cashier_cannot_see_or_reach_the_back_office(gateway, shop, browser):
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search")
    browser.get(f"{gateway}/#/office/staff")
    wait(browser, lambda d: d.current_url.endswith("#/desk"))
    assert text_of(browser, "#notice") == "您的角色无权访问该页面。"
    assert not browser.find_elements(By.CSS_SELECTOR, ".office")
    assert [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")] == ["前台收银"]
    # nor the loyalty, message and report screens
    for screen in (
        "points",
        "gifts",
        "gift-redemptions",
        "notifications",
        "reports",
        "tiers",
        "items",
        "settings",
        "credit",
    ):
        browser.get(f"{gateway}/#/office/{screen}")
        wait(browser, lambda d: d.current_url.endswith("#/desk"))
        assert text_of(browser, "#notice") == "您的角色无权访问该页面。"
        assert not browser.find_elements(By.CSS_SELECTOR, ".office")
    # and the API refuses what the console hides
    error(shop.cashier.get(shop.world.path("/access-log")), 403)
    error(shop.cashier.get(shop.world.path("/notifications/kinds")), 403)
    error(shop.cashier.post(shop.world.path("/gifts"), {"name": "x", "market_price": 1, "points_cost": 1}), 403)
    error(shop.cashier.post(shop.world.path("/tiers"), {"code": "NOPE", "name": "x", "rank": 99}), 403)
    error(
        shop.cashier.post(
            shop.world.path("/items"), {"code": "NOPE", "name": "x", "category_code": "wash", "price": 1}
        ),
        403,
    )
    error(shop.cashier.patch(shop.world.path("/settings"), {"sms_signature": "x"}), 403)
    error(shop.cashier.get(shop.world.path("/wallet/settlement"), {"since": "2026-01-01", "until": "2026-01-02"}), 403)


def test_hq_sees_the_back_office(gateway, shop, browser):
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    menu = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")]
    assert menu == [
        "前台收银",
        "门店",
        "员工",
        "会员",
        "对账单",
        "卡操作日志",
        "会员等级",
        "项目字典",
        "连锁设置",
        "挂账与结算",
        "登录日志",
        "储值负债",
        "积分",
        "礼品",
        "兑换记录",
        "消息通知",
        "报表",
    ]
    browser.find_element(By.LINK_TEXT, "门店").click()
    table = text_of(browser, ".office table")
    assert "Store A" in table and "Franchise store" in table
    screenshot(browser, "office-stores", 1280)
    browser.find_element(By.LINK_TEXT, "会员等级").click()
    assert "9折" in text_of(browser, ".office table")  # SILVER: washes 10 % off
    browser.find_element(By.LINK_TEXT, "储值负债").click()
    assert "全连锁" in text_of(browser, ".office p")
    screenshot(browser, "office-liability", 768)


def test_sign_in_shows_the_apis_refusals_and_lockout(gateway, shop, browser):
    username = shop.world.usernames["store_manager_B"]
    browser.set_window_size(1024, 900)
    sign_in(browser, gateway, shop.world.code, username, "wrong-password-1")
    first = text_of(browser, "#signin-error")
    assert first.startswith("未登录或登录已失效：")
    screenshot(browser, "sign-in", 1024)
    for _ in range(5):
        # the button is disabled while a sign-in is out (argon2 takes its time on a busy machine),
        # and Enter submits nothing then: each attempt waits for the answer to the one before
        wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").is_enabled())
        browser.find_element(By.NAME, "password").send_keys("wrong-password-1" + Keys.ENTER)
        time.sleep(0.3)
    wait(browser, lambda d: d.find_element(By.ID, "signin-error").text.startswith("账号已锁定："))
    # the right password is refused too while the lock holds
    browser.find_element(By.NAME, "password").send_keys(DEFAULT_PASSWORD + Keys.ENTER)
    time.sleep(0.5)
    wait(browser, lambda d: d.find_element(By.ID, "signin-error").text.startswith("账号已锁定："))
    assert not browser.find_element(By.ID, "top").is_displayed()


def test_the_console_signs_out_when_the_token_is_revoked(gateway, shop, browser):
    username = shop.world.usernames["cashier_B"]
    sign_in(browser, gateway, shop.world.code, username)
    shown(browser, "#desk-search")
    staff = {s["username"]: s for s in ok(shop.hq.get(shop.world.path("/staff")))["items"]}
    ok(shop.hq.post(shop.world.path(f"/staff/{staff[username]['id']}/disable")))
    # the next request the console makes is refused with 401: it goes back to sign-in
    deadline = time.monotonic() + WAIT
    while not browser.find_elements(By.ID, "signin-error"):
        assert time.monotonic() < deadline, "the console did not sign out"
        try:
            search = browser.find_element(By.ID, "desk-search")
            search.clear()
            search.send_keys("999999999999" + Keys.ENTER)
        except StaleElementReferenceException:
            pass  # the console went to the sign-in page while the box was typed into
        time.sleep(0.5)
    assert "登录已失效" in text_of(browser, "#signin-error")
    assert browser.execute_script("return sessionStorage.getItem('huiyuan.session')") is None


def test_sign_out_ends_the_session(gateway, shop, browser):
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["store_manager_A"])
    shown(browser, "#desk-search")
    token = browser.execute_script("return JSON.parse(sessionStorage.getItem('huiyuan.session')).token")
    browser.find_element(By.ID, "sign-out").click()
    assert text_of(browser, "#signin-error") == "已退出登录。"
    request = urllib.request.Request(f"{gateway}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_the_console_is_no_api_operation(gateway):
    with urllib.request.urlopen(f"{gateway}/api/v1/openapi.json", timeout=10) as answer:
        document = answer.read().decode()
    assert '"/"' not in document and "/console" not in document
    with urllib.request.urlopen(f"{gateway}/", timeout=10) as page:
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert os.path.isdir(SCREENSHOTS)


def test_after_make_demo_a_cashier_looks_up_consumes_and_prints_with_the_keyboard(gateway, provisioned, browser):
    """`make demo` with the system running: the demo chain's members have cards and money, so
    the counter's three steps work at once (a chain code of its own: the demo's own test seeds
    the real one)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "CODE", "DEMOCONSOLE")
        patch.setattr(demo_counter, "CODE", "DEMOCONSOLE")
        engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="console-test")
        try:
            with Session(engine) as session, session.begin():
                assert demo.seed(session)
        finally:
            engine.dispose()
        cards = demo_counter.seed_counter(gateway, demo.PASSWORD)
        assert demo_counter.seed_counter(gateway, demo.PASSWORD) == cards  # again: nothing new
    browser.set_window_size(1024, 900)
    sign_in(browser, gateway, "DEMOCONSOLE", "demo.north.cashier", demo.PASSWORD)
    shown(browser, "#desk-search")
    # 1: the phone's last four (13800135678), Enter
    browser.switch_to.active_element.send_keys("5678" + Keys.ENTER)
    assert text_of(browser, "#bal-cash") == "¥1,000.00"
    assert text_of(browser, "#bal-bonus") == "¥50.00"  # >= 1000 yuan recharged: +50 (Silver)
    assert "银卡 Silver（全场9.5折）" in browser.find_element(By.CSS_SELECTOR, ".member .meta").text
    # 2: a standard wash by its code, Enter, and Enter again on the empty box
    wait(browser, lambda d: active_id(d) == "item-input")
    browser.switch_to.active_element.send_keys("W01" + Keys.ENTER)
    assert text_of(browser, "#sum-due") == "¥114.00"  # 120 less 5 %
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    # 3: Enter confirms; the receipt is there with its print button focused
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    assert receipt_value(browser, "应付") == "114.00"
    assert receipt_value(browser, "本金", under="余额") == "886.00"
    assert "谢谢惠顾 Thank you" in browser.find_element(By.ID, "receipt").text
    wait(browser, lambda d: active_id(d) == "print-80mm")
    screenshot(browser, "demo-receipt", 1024)


def test_recharge_shows_the_bonus_before_confirming(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 10000)  # 100 yuan, no bonus
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    assert text_of(browser, "#bal-cash") == "¥100.00"
    shown(browser, "[data-tab=recharge]").click()
    amount = shown(browser, "#recharge-amount")
    amount.send_keys("3000")
    # SILVER: 3000 yuan reaches the 8 % rule, 240 yuan of bonus
    assert text_of(browser, "#recharge-preview") == "充值 ¥3,000.00，赠送 ¥240.00，共到账 ¥3,240.00"
    amount.send_keys(Keys.ENTER)
    assert receipt_value(browser, "赠送金额") == "240.00"
    assert receipt_value(browser, "本金", under="余额") == "3100.00"
    assert text_of(browser, "#bal-cash") == "¥3,100.00"
    assert text_of(browser, "#bal-bonus") == "¥240.00"
    assert shop.balances(card["card_no"])["bonus"] == 24000


def test_enrolment_shows_the_apis_reason_beside_the_field_and_then_issues_a_card(gateway, shop, browser):
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search")
    browser.find_element(By.XPATH, "//button[text()='新会员入会']").click()
    shown(browser, "#enrol-name").send_keys("赵六")
    browser.find_element(By.ID, "enrol-phone").send_keys("12345" + Keys.ENTER)
    # the API names the phone: its reason is written beside that field, which gets the focus
    reason = text_of(browser, "#enrol-phone-error")
    refusal = error(shop.cashier.post(shop.world.path("/members"), {"name": "赵六", "phone": "12345"}), 422)
    assert reason == " ".join(refusal["fields"]["phone"])
    assert active_id(browser) == "enrol-phone"
    phone = phone_ending(f"{random.randint(1000, 9999)}")
    phone_box = browser.find_element(By.ID, "enrol-phone")
    phone_box.clear()  # WebDriver's clear leaves the field unfocused
    phone_box.send_keys(phone + Keys.ENTER)
    assert text_of(browser, "#bal-cash") == "¥0.00"
    assert "正常" in browser.find_element(By.CSS_SELECTOR, ".member h2").text
    [member] = ok(shop.hq.get(shop.world.path("/members"), {"phone": phone}))["items"]
    assert member["name"] == "赵六" and len(member["cards"]) == 1


def test_every_control_is_labelled_and_focus_is_visible(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 10000)
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["store_manager_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    text_of(browser, "#bal-cash")
    unlabelled = UNLABELLED
    for tab in ("consume", "recharge", "package", "points", "gift", "card"):
        shown(browser, f"[data-tab={tab}]").click()
        time.sleep(0.3)
        assert browser.execute_script(unlabelled) == [], tab
    # Tab from the search box moves on to its button, and the focused control has an outline
    browser.find_element(By.ID, "desk-search").click()
    browser.switch_to.active_element.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "查找"
    assert focused.value_of_css_property("outline-style") != "none"
    for width in (768, 1920):
        screenshot(browser, "desk-manager", width)


def test_a_manager_refunds_a_visit_sells_a_package_and_gives_points(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 100000)  # 1000 yuan, +50 bonus
    wash = {"item_code": "W01", "name": "标准洗车", "category": "wash", "quantity": 1, "unit_price": 12000}
    sale = {"card_no": card["card_no"], "store_id": shop.world.stores["A"]["id"], "lines": [wash]}
    ok(shop.cashier.post(shop.world.path("/wallet/consumes"), sale), 201)  # 108 yuan from cash
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["store_manager_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    assert text_of(browser, "#bal-cash") == "¥892.00"
    # refund the visit from the recent list: the 108 yuan go back to cash (W-6)
    browser.find_element(By.XPATH, "//table[@class='recent']//button[text()='退款']").click()
    shown(browser, "#refund-reason").send_keys("洗车不满意" + Keys.ENTER)
    assert receipt_value(browser, "退款金额") == "108.00"
    assert receipt_value(browser, "本金", under="退回") == "108.00"
    assert text_of(browser, "#bal-cash") == "¥1,000.00"
    # a package of 10 washes for 1000 yuan, paid from the card: cash first (W-5)
    shown(browser, "[data-tab=package]").click()
    Select(shown(browser, "#package-item")).select_by_value("W01")
    shown(browser, "#package-price").send_keys("1000" + Keys.ENTER)
    wait(browser, lambda d: "标准洗车 10次卡　剩余 10/10 次" in d.find_element(By.CSS_SELECTOR, ".packages").text)
    assert text_of(browser, "#bal-cash") == "¥0.00"
    assert text_of(browser, "#bal-bonus") == "¥50.00"
    # 100 points as a birthday gift (P-3): the card's points show them
    shown(browser, "[data-tab=points]").click()
    shown(browser, "#grant-points").send_keys("100")
    browser.find_element(By.ID, "grant-reason").send_keys("生日礼" + Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "bal-points").text == "100")
    assert "生日礼" in text_of(browser, ".panel table")


def test_a_franchisee_opens_a_store_of_their_own_in_the_back_office(gateway, shop, browser):
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["franchisee"])
    shown(browser, "#desk-search")
    menu = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")]
    assert menu == [
        "前台收银",
        "门店",
        "员工",
        "会员",
        "对账单",
        "卡操作日志",
        "挂账与结算",
        "登录日志",
        "积分",
        "礼品",
        "兑换记录",
        "报表",
    ]
    browser.find_element(By.LINK_TEXT, "门店").click()
    assert "Franchise store" in text_of(browser, ".office table")
    code = unique("FC")
    shown(browser, "form[aria-label='开新门店'] input").send_keys(code)
    inputs = browser.find_elements(By.CSS_SELECTOR, "form[aria-label='开新门店'] input")
    inputs[1].send_keys("东城加盟店" + Keys.ENTER)
    assert text_of(browser, "#notice") == "门店已创建：东城加盟店（营业）"
    wait(browser, lambda d: code in d.find_element(By.CSS_SELECTOR, ".office table").text)
    mine = ok(shop.hq.as_user(shop.world.usernames["franchisee"]).get(shop.world.path("/stores")))["items"]
    assert any(s["code"] == code and s["kind"] == "franchise" for s in mine)


def test_after_a_refusal_the_next_confirmation_is_a_new_operation(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 10000)  # 100 yuan
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    assert text_of(browser, "#bal-cash") == "¥100.00"
    wait(browser, lambda d: active_id(d) == "item-input")
    browser.switch_to.active_element.send_keys("W01*2" + Keys.ENTER)
    assert text_of(browser, "#sum-remainder") == "¥116.00"  # 216 due, 100 on the card
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    assert text_of(browser, "form[aria-label='消费'] .form-error").startswith("余额不足：")
    # the member pays 500 yuan at another till; the same sale confirmed again now goes through
    body = {"card_no": card["card_no"], "store_id": shop.world.stores["A"]["id"], "amount": 50000}
    ok(shop.cashier.post(shop.world.path("/wallet/recharges"), {**body, "payment_method": "cash"}), 201)
    browser.find_element(By.ID, "confirm-consume").click()
    assert receipt_value(browser, "应付") == "216.00"
    assert text_of(browser, "#bal-cash") == "¥384.00"
    assert [e["kind"] for e in shop.statement(card["card_no"])].count("consume") == 1


def test_points_are_redeemed_within_the_balance_and_a_card_is_returned(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 50000)  # 500 yuan, +20 bonus
    manager = shop.hq.as_user(shop.world.usernames["store_manager_A"])
    gift = {"card_no": card["card_no"], "store_id": shop.world.stores["A"]["id"], "kind": "gift", "points": 300}
    wait_for(lambda: manager.post(shop.world.path("/points/grants"), {**gift, "reason": "开业"}).status_code == 201)
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    assert text_of(browser, "#bal-points") == "300"
    shown(browser, "[data-tab=points]").click()
    # more than the balance: the API's reason is shown beside the points field (P-6)
    shown(browser, "#redeem-points").send_keys("500")
    browser.find_element(By.ID, "redeem-reference").send_keys("洗车券" + Keys.ENTER)
    assert text_of(browser, "#redeem-points-error")
    assert text_of(browser, "#redeem-error").startswith("积分不足")
    points = browser.find_element(By.ID, "redeem-points")
    points.clear()
    points.send_keys("200" + Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "bal-points").text == "100")
    # returning the card: 500 yuan back at the counter, the 20 yuan of bonus forfeited (W-7)
    shown(browser, "[data-tab=card]").click()
    assert text_of(browser, "#return-preview") == "退还储值 ¥500.00，作废赠送金 ¥20.00"
    shown(browser, "#return-reason").send_keys("搬家" + Keys.ENTER)
    returned = "已退卡：退还储值 ¥500.00，作废赠送金 ¥20.00"
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == returned)
    assert shop.balances(card["card_no"])["cash"] == 0


# ---- loyalty, messages and reports in the back office ----------------------------------------


def give_points(shop: Shop, card: dict, points: int) -> None:
    manager = shop.hq.as_user(shop.world.usernames["store_manager_A"])
    body = {"card_no": card["card_no"], "store_id": shop.world.stores["A"]["id"], "kind": "gift", "points": points}
    # the points service hears of a new card by event: give once it knows the card
    wait_for(lambda: manager.post(shop.world.path("/points/grants"), {**body, "reason": "开业"}).status_code == 201)


def test_hq_adds_a_gift_and_a_cashier_redeems_it_at_the_desk(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 10000)
    give_points(shop, card, 1000)
    name = unique("保温杯")
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.set_window_size(1280, 900)
    browser.find_element(By.LINK_TEXT, "礼品").click()
    shown(browser, "#gift-new").click()
    shown(browser, "#gift-name").send_keys(name)
    browser.find_element(By.ID, "gift-points_cost").send_keys("600")
    browser.find_element(By.ID, "gift-market_price").send_keys("49.90")
    stock = browser.find_element(By.ID, "gift-stock")
    stock.clear()
    stock.send_keys("5")
    screenshot(browser, "office-gift-new", 1280)
    browser.find_element(By.ID, "gift-save").click()
    assert text_of(browser, "#notice") == f"礼品已新增：{name}"
    [gift] = [g for g in ok(shop.hq.get(shop.world.path("/gifts")))["items"] if g["name"] == name]
    assert (gift["points_cost"], gift["market_price"], gift["stock"], gift["store_ids"]) == (600, 4990, 5, [])
    wait(browser, lambda d: name in d.find_element(By.CSS_SELECTOR, ".office table").text)
    assert text_of(browser, f"#gift-stock-{gift['id']}") == "5"
    screenshot(browser, "office-gifts", 1280)

    # the cashier: the card has 1000 points; the gift costs 600, so 400 are left and 4 in stock
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    assert text_of(browser, "#bal-points") == "1000"
    shown(browser, "[data-tab=gift]").click()
    Select(shown(browser, "#gift-pick")).select_by_value(gift["id"])
    assert text_of(browser, "#gift-preview") == f"{name} × 1，需 600 积分，门店库存 5"
    screenshot(browser, "desk-gift", 1024)
    browser.find_element(By.ID, "gift-quantity").send_keys(Keys.ENTER)
    assert text_of(browser, "#gift-done") == f"已兑换：{name} × 1，扣 600 积分"
    wait(browser, lambda d: d.find_element(By.ID, "bal-points").text == "400")
    Select(shown(browser, "#gift-pick")).select_by_value(gift["id"])
    assert text_of(browser, "#gift-preview") == f"{name} × 1，需 600 积分，门店库存 4"
    assert active_id(browser) in ("gift-pick", "gift-receipt")
    assert ok(shop.hq.get(shop.world.path(f"/gifts/{gift['id']}")))["stock"] == 4
    # the gift service's receipt, ready to print: the gift, its points, a signature line
    browser.find_element(By.ID, "gift-receipt").click()
    receipt = text_of(browser, "#receipt")
    assert name in receipt and "600" in receipt and "会员签名" in receipt
    wait(browser, lambda d: active_id(d) == "print-80mm")
    screenshot(browser, "desk-gift-receipt", 1024)
    browser.set_window_size(1024, 900)
    # a second one is more than the 400 points left: the API's reason, beside the form
    browser.find_element(By.ID, "confirm-gift").click()
    assert text_of(browser, "#gift-error").startswith("积分不足")
    assert browser.find_element(By.ID, "bal-points").text == "400"

    # HQ's record shows the redemption; the catalogue shows 4 in stock
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.find_element(By.LINK_TEXT, "兑换记录").click()
    wait(browser, lambda d: name in d.find_element(By.CSS_SELECTOR, ".office table").text)
    rows = [r.text for r in browser.find_elements(By.XPATH, f"//table//tr[td[text()='{name}']]")]
    # newest first: the refused second try is on the record too, with no points taken
    assert len(rows) == 2 and "已拒绝" in rows[0] and "已完成" in rows[1]
    assert " 1 600 " in rows[1] and card["card_no"] in rows[1]
    screenshot(browser, "office-gift-redemptions", 1280)
    # HQ cancels it: the 600 points and the one in stock go back
    browser.find_element(By.CSS_SELECTOR, f"button[aria-label='取消兑换 {name}']").click()
    shown(browser, "#gr-cancel-reason").send_keys("会员改主意" + Keys.ENTER)
    assert text_of(browser, "#notice") == "已取消兑换，退回 600 积分"
    wait(browser, lambda d: "会员改主意" in d.find_element(By.CSS_SELECTOR, ".office table").text)
    balance = shop.world.path(f"/points/cards/{card['card_no']}/balance")
    assert ok(shop.hq.get(balance))["balance"] == 1000
    browser.find_element(By.LINK_TEXT, "礼品").click()
    assert text_of(browser, f"#gift-stock-{gift['id']}") == "5"
    # HQ edits it: 500 points from now on, and 2 more in stock (5 + 2 = 7)
    browser.find_element(By.CSS_SELECTOR, f"button[aria-label='编辑 {name}']").click()
    cost = shown(browser, "#gift-points_cost")
    cost.clear()
    cost.send_keys("500")
    browser.find_element(By.ID, "gift-change").send_keys("2")
    browser.find_element(By.ID, "gift-save").click()
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == f"礼品已保存：{name}")
    assert text_of(browser, f"#gift-stock-{gift['id']}") == "7"
    changed = ok(shop.hq.get(shop.world.path(f"/gifts/{gift['id']}")))
    assert (changed["points_cost"], changed["stock"]) == (500, 7)
    # and retires it: once redeemed, it is kept as retired, not deleted
    browser.find_element(By.CSS_SELECTOR, f"button[aria-label='编辑 {name}']").click()
    shown(browser, "#gift-retire").click()
    browser.switch_to.alert.accept()
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == f"已下架：{name}")
    assert ok(shop.hq.get(shop.world.path(f"/gifts/{gift['id']}")))["retired"] is True
    wait(browser, lambda d: "已下架" in d.find_element(By.XPATH, f"//tr[td[text()='{name}']]").text)


@pytest.fixture(scope="module")
def report_shop(admin) -> Shop:
    """A chain of its own, so the report shows this test's operations alone."""
    return make_shop(admin)


def test_hq_opens_a_report_with_the_figures_of_the_days_operations(gateway, report_shop, browser):
    shop = report_shop
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 50000)  # 500 yuan: +20 bonus
    wash = {"item_code": "W01", "name": "标准洗车", "category": "wash", "quantity": 1, "unit_price": 12000}
    ok(
        shop.cashier.post(
            shop.world.path("/wallet/consumes"),
            {"card_no": card["card_no"], "store_id": shop.world.stores["A"]["id"], "lines": [wash]},
        ),
        201,
    )
    # 120 yuan less 10 % (SILVER washes): 108 yuan, all from the card's cash
    expected = {
        "consume_count": 1,
        "gross": 12000,
        "discount": 1200,
        "actual": 10800,
        "paid_cash": 10800,
        "recharge_count": 1,
        "recharged": 50000,
        "bonus_issued": 2000,
    }
    span = {
        "since": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400)),
        "until": time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400)),
    }

    def reported():
        totals = ok(shop.hq.get(shop.world.path("/reports/store-summary"), span))["totals"]
        return all(totals[k] == v for k, v in expected.items())

    wait_for(reported)  # the reporting service hears of the operations by event
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.set_window_size(1280, 900)
    browser.find_element(By.LINK_TEXT, "报表").click()
    cells = wait(
        browser, lambda d: [c.text for c in d.find_elements(By.CSS_SELECTOR, "#report-totals tbody td")] or None
    )
    # the totals row, in the columns' order: 1 consume of 120 less 12 = 108 from cash; 1 recharge of 500, 20 bonus
    assert cells == [
        "1",
        "¥120.00",
        "¥12.00",
        "¥108.00",
        "¥108.00",
        "¥0.00",
        "¥0.00",
        "¥0.00",
        "0",
        "¥0.00",
        "¥108.00",
        "1",
        "¥500.00",
        "¥20.00",
    ]
    screenshot(browser, "office-report-summary", 1280)
    screenshot(browser, "office-report-summary", 768)
    browser.set_window_size(1280, 900)
    # the file the API makes of the same query
    browser.find_element(By.ID, "report-csv").click()
    wait(browser, lambda d: d.find_element(By.ID, "notice").text.startswith("已下载："))
    # the recharge detail: the member's 500 yuan and its 20 yuan of bonus
    Select(browser.find_element(By.ID, "report-kind")).select_by_value("recharges")
    wait(browser, lambda d: "¥500.00" in d.find_element(By.CSS_SELECTOR, ".report").text)
    assert "¥20.00" in browser.find_element(By.CSS_SELECTOR, ".report table").text
    # HQ's dashboard: today's figures are the same operations
    Select(browser.find_element(By.ID, "report-kind")).select_by_value("dashboard")
    today = wait(browser, lambda d: [c.text for c in d.find_elements(By.CSS_SELECTOR, "#dash-today tbody td")] or None)
    assert today == ["1", "¥108.00", "¥0.00", "¥108.00", "1", "¥500.00", "¥20.00"]
    assert not browser.find_element(By.ID, "report-csv").is_displayed()
    screenshot(browser, "office-report-dashboard", 1280)
    browser.set_window_size(1280, 900)
    Select(browser.find_element(By.ID, "report-kind")).select_by_value("store-summary")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#report-totals"))
    # a commission rule for a level: 5 % of sales and 8 yuan per wash
    shown(browser, "#comm-level").send_keys("高级技师")
    browser.find_element(By.ID, "comm-percent").send_keys("5")
    browser.find_element(By.ID, "comm-fixed").send_keys("W01=8" + Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == "提成规则已保存：高级技师")
    rules = ok(shop.hq.get(shop.world.path("/commission-rules")))["items"]
    assert [(r["level"], r["sales_bp"], r["item_fixed"]) for r in rules] == [("高级技师", 500, {"W01": 800})]
    wait(browser, lambda d: "W01 ¥8.00" in d.find_element(By.CSS_SELECTOR, "section[aria-label='提成规则']").text)
    # an impossible range: the API's reason beside the day it names
    until = browser.find_element(By.ID, "report-until")
    browser.execute_script("arguments[0].value = '2000-01-01'", until)
    browser.find_element(By.ID, "report-run").click()
    assert text_of(browser, "#report-until-error")


def test_hq_edits_a_message_template_and_sees_an_unknown_variable_refused_beside_it(gateway, shop, browser):
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.set_window_size(1280, 900)
    browser.find_element(By.LINK_TEXT, "消息通知").click()
    box = shown(browser, "#kind-consume-sms_text")
    [consume] = [k for k in ok(shop.hq.get(shop.world.path("/notifications/kinds")))["items"] if k["kind"] == "consume"]
    assert all(f"{{{v}}}" in text_of(browser, "#kind-consume-variables") for v in consume["variables"])
    screenshot(browser, "office-notification-kinds", 1280)
    bad = "您好，本次消费{no_such_thing}元"
    refusal = error(shop.hq.patch(shop.world.path("/notifications/kinds/consume"), {"sms_text": bad}), 422)
    box.clear()
    box.send_keys(bad)
    browser.find_element(By.ID, "kind-consume-save").click()
    assert text_of(browser, "#kind-consume-sms_text-error") == " ".join(refusal["fields"]["sms_text"])
    assert box.get_attribute("aria-invalid") == "true"
    assert active_id(browser) == "kind-consume-sms_text"
    good = f"您好{{{consume['variables'][0]}}}，感谢光临"
    box.clear()
    box.send_keys(good)
    browser.find_element(By.ID, "kind-consume-save").click()
    assert text_of(browser, "#notice") == "已保存：消费通知"
    [saved] = [k for k in ok(shop.hq.get(shop.world.path("/notifications/kinds")))["items"] if k["kind"] == "consume"]
    assert saved["sms_text"] == good and saved["customised"] is True
    # the provider settings never show a secret, and the other parts open
    browser.find_element(By.CSS_SELECTOR, "[data-tab=provider]").click()
    secret = shown(browser, "#prov-http_secret")
    assert secret.get_attribute("type") == "password" and secret.get_attribute("value") == ""
    screenshot(browser, "office-notification-provider", 1280)
    browser.find_element(By.CSS_SELECTOR, "[data-tab=campaigns]").click()
    shown(browser, "#camp-name")
    screenshot(browser, "office-notification-campaigns", 1280)
    browser.find_element(By.CSS_SELECTOR, "[data-tab=messages]").click()
    shown(browser, "#msg-phone")
    screenshot(browser, "office-notification-messages", 768)


def test_points_screen_shows_the_rules_and_a_cards_points(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 10000)
    give_points(shop, card, 250)
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.set_window_size(1280, 900)
    browser.find_element(By.LINK_TEXT, "积分").click()
    rules = ok(shop.hq.get(shop.world.path("/points/rules")))
    assert shown(browser, "#rule-base_rate").get_attribute("value") == rules["base_rate"]
    remind = browser.find_element(By.ID, "rule-remind_days")
    remind.clear()
    remind.send_keys("500")  # more than the 90 days the API allows: its reason beside the field
    browser.find_element(By.ID, "rules-save").click()
    assert text_of(browser, "#rule-remind_days-error")
    remind.clear()
    remind.send_keys("10")
    browser.find_element(By.ID, "rules-save").click()
    assert text_of(browser, "#notice") == "积分规则已保存"
    assert ok(shop.hq.get(shop.world.path("/points/rules")))["remind_days"] == 10
    # a promotion: double points over two days; both an effect and none are refused by the API
    promo = unique("双倍积分")
    shown(browser, "#promo-name").send_keys(promo)
    for box, day in (("#promo-starts_on", "2030-05-01"), ("#promo-ends_on", "2030-05-02")):
        browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.CSS_SELECTOR, box), day)
    browser.find_element(By.ID, "promo-save").click()
    assert text_of(browser, "#promo-multiplier-error")  # neither a multiplier nor extra points
    browser.find_element(By.ID, "promo-multiplier").send_keys("2" + Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == f"积分活动已新增：{promo}")
    row = wait(browser, lambda d: next(iter(d.find_elements(By.XPATH, f"//tr[td[text()='{promo}']]")), None))
    assert "2 倍积分" in row.text and "进行中" in row.text
    row.find_element(By.XPATH, ".//button[text()='停止']").click()
    wait(browser, lambda d: "已停止" in d.find_element(By.XPATH, f"//tr[td[text()='{promo}']]").text)
    listed = ok(shop.hq.get(shop.world.path("/points/promotions"), {"include_inactive": "true"}))["items"]
    assert [(p["multiplier"], p["active"]) for p in listed if p["name"] == promo] == [("2", False)]
    shown(browser, "#points-card").send_keys(card["card_no"] + Keys.ENTER)
    assert text_of(browser, "#points-balance") == "250"
    assert "开业" in browser.find_element(By.CSS_SELECTOR, "section[aria-label='会员积分'] table").text
    screenshot(browser, "office-points", 1280)


def test_hq_drafts_and_sends_a_campaign_and_finds_the_message_in_the_box(gateway, report_shop, browser):
    shop = report_shop  # a chain whose only consenting member is this one
    phone = phone_ending(f"{random.randint(1000, 9999)}")
    body = {"name": "李四", "phone": phone, "marketing_consent": True}
    member = ok(shop.cashier.post(shop.world.path("/members"), body), 201)
    ok(shop.cashier.post(shop.world.path(f"/members/{member['id']}/cards"), {"tier_code": "WSILVER"}), 201)
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.set_window_size(1280, 900)
    browser.find_element(By.LINK_TEXT, "消息通知").click()
    shown(browser, "[data-tab=campaigns]").click()
    name = unique("周末洗车")
    shown(browser, "#camp-name").send_keys(name)
    text = browser.find_element(By.ID, "camp-text")
    text.send_keys("{member_name}您好，{balance}")  # a campaign offers no balance (N-4)
    browser.find_element(By.ID, "camp-tiers").send_keys("WSILVER")
    browser.find_element(By.XPATH, "//button[text()='保存草稿']").click()
    refused = error(shop.hq.post(shop.world.path("/notifications/campaigns"), {"name": "x", "text": "{balance}"}), 422)
    assert text_of(browser, "#camp-text-error") == " ".join(refused["fields"]["text"])
    text.clear()
    text.send_keys("{member_name}您好，本周洗车九折")
    browser.find_element(By.XPATH, "//button[text()='保存草稿']").click()
    assert text_of(browser, "#notice") == "草稿已保存"
    row = wait(browser, lambda d: next((r for r in d.find_elements(By.XPATH, f"//tr[td[text()='{name}']]")), None))
    assert "草稿" in row.text
    row.find_element(By.XPATH, ".//button[text()='发送']").click()
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == f"已开始发送：{name}")
    [campaign] = [c for c in ok(shop.hq.get(shop.world.path("/notifications/campaigns")))["items"] if c["name"] == name]
    path = shop.world.path(f"/notifications/campaigns/{campaign['id']}")
    done = wait_for(lambda: (c := ok(shop.hq.get(path)))["status"] == "done" and c, 20)
    assert done["total"] == 1 and done["progress"]["sent"] == 1
    browser.find_element(By.CSS_SELECTOR, "[data-tab=campaigns]").click()
    row = wait(browser, lambda d: next((r for r in d.find_elements(By.XPATH, f"//tr[td[text()='{name}']]")), None))
    assert "已完成" in row.text and "1 已发 / 0 失败 / 0 待发（共 1）" in row.text
    screenshot(browser, "office-notification-campaigns", 1280)
    # the box: found by the member's full phone, masked, sent
    browser.find_element(By.CSS_SELECTOR, "[data-tab=messages]").click()
    shown(browser, "#msg-phone").send_keys(phone + Keys.ENTER)
    wait(browser, lambda d: "本周洗车九折" in d.find_element(By.CSS_SELECTOR, ".office table").text)
    listed = browser.find_element(By.CSS_SELECTOR, ".office table tbody").text
    assert f"{phone[:3]}****{phone[-4:]}" in listed and "已发送" in listed and "营销" in listed


def test_the_new_back_office_screens_label_every_control_and_fit_768_to_1920(gateway, shop, browser):
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.set_window_size(1280, 900)
    for link, ready in (
        ("积分", "#rule-base_rate"),
        ("礼品", "#gift-new"),
        ("兑换记录", "#gr-store"),
        ("报表", "#report-kind"),
        ("会员等级", "#tier-new"),
        ("项目字典", "#dict-new-items"),
        ("连锁设置", "#settings-footer"),
        ("挂账与结算", "#credit-card"),
    ):
        browser.find_element(By.LINK_TEXT, link).click()
        shown(browser, ready)
        if link == "礼品":
            # how long a redemption may be cancelled: out of range refused beside it, then saved
            hours = shown(browser, "#gift-cancel_hours")
            hours.clear()
            hours.send_keys("-1" + Keys.ENTER)
            assert text_of(browser, "#gift-cancel_hours-error")
            hours.clear()
            hours.send_keys("48" + Keys.ENTER)
            wait(browser, lambda d: d.find_element(By.ID, "notice").text == "兑换设置已保存：48 小时内可取消")
            assert ok(shop.hq.get(shop.world.path("/gift-settings")))["cancel_hours"] == 48
            browser.find_element(By.ID, "gift-new").click()
            shown(browser, "#gift-name")
        if link in ("会员等级", "项目字典"):
            # the forms are checked too: a new tier, a new item
            browser.find_element(By.CSS_SELECTOR, ready).click()
            shown(browser, "#tier-code" if link == "会员等级" else "#dict-items-code")
        assert browser.execute_script(UNLABELLED) == [], link
        for width in (768, 1920):
            screenshot(browser, f"office-{ready[1:].split('-')[0]}-fit", width)
        browser.set_window_size(1280, 900)
    browser.find_element(By.LINK_TEXT, "消息通知").click()
    for tab, ready in (
        ("kinds", "#kind-consume-sms_text"),
        ("provider", "#prov-sms_provider"),
        ("campaigns", "#camp-name"),
        ("messages", "#msg-phone"),
    ):
        shown(browser, f"[data-tab={tab}]").click()
        shown(browser, ready)
        assert browser.execute_script(UNLABELLED) == [], tab
        for width in (768, 1920):
            screenshot(browser, f"office-notification-{tab}-fit", width)
        browser.set_window_size(1280, 900)


def test_hq_sets_a_provider_with_a_write_only_secret_and_retries_a_failed_message(gateway, admin, browser):
    shop = make_shop(admin)  # a chain of its own: its SMS go to a provider that refuses them
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.set_window_size(1280, 900)
    browser.find_element(By.LINK_TEXT, "消息通知").click()
    shown(browser, "[data-tab=provider]").click()
    Select(shown(browser, "#prov-sms_provider")).select_by_value("http")
    # nothing listens on the discard port of this machine: every send fails at once
    browser.find_element(By.ID, "prov-http_base_url").send_keys("http://127.0.0.1:9")
    browser.find_element(By.ID, "prov-http_account").send_keys("acct-1")
    browser.find_element(By.ID, "prov-http_secret").send_keys("s3cret-value")
    attempts = browser.find_element(By.ID, "prov-max_attempts")
    attempts.clear()
    attempts.send_keys("1")
    browser.find_element(By.ID, "prov-save").click()
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == "服务商设置已保存")
    provider = ok(shop.hq.get(shop.world.path("/notifications/provider")))
    assert provider["sms_provider"] == "http" and provider["http_secret_set"] is True
    assert "s3cret-value" not in str(provider)
    # the redrawn form shows that a secret is kept, never the secret
    secret = shown(browser, "#prov-http_secret")
    assert secret.get_attribute("value") == "" and secret.get_attribute("placeholder") == "已设置，留空不变"
    phone = phone_ending(f"{random.randint(1000, 9999)}")
    sent = ok(shop.hq.post(shop.world.path("/notifications/test-sends"), {"kind": "consume", "phone": phone}), 201)
    message_path = shop.world.path(f"/notifications/messages/{sent['items'][0]['id']}")
    wait_for(lambda: ok(shop.hq.get(message_path))["status"] == "failed", 20)
    browser.find_element(By.CSS_SELECTOR, "[data-tab=messages]").click()
    shown(browser, "#msg-phone").send_keys(phone + Keys.ENTER)
    retry = wait(browser, lambda d: next(iter(d.find_elements(By.XPATH, "//table//button[text()='重发']")), None))
    assert "失败" in browser.find_element(By.CSS_SELECTOR, ".office table tbody").text
    screenshot(browser, "office-notification-failed", 1280)
    browser.set_window_size(1280, 900)
    retry.click()
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == "已重新放入发送队列")
    # one more attempt is made (and fails again, the provider still refusing): 2 in all
    wait_for(lambda: ok(shop.hq.get(message_path))["attempts"] == 2, 20)


# ---- what HQ sets the chain up with --------------------------------------------------------------


def test_hq_makes_a_tier_its_refusal_beside_the_field_and_the_desk_consumes_at_its_discount(gateway, shop, browser):
    code = f"GOLD{random.randint(1000, 9999)}"
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.find_element(By.LINK_TEXT, "会员等级").click()
    shown(browser, "#tier-new").click()
    shown(browser, "#tier-code").send_keys(code)
    browser.find_element(By.ID, "tier-name").send_keys("金卡")
    browser.find_element(By.ID, "tier-rank").send_keys(str(random.randint(20, 99)))
    discount = browser.find_element(By.ID, "tier-discount")
    discount.clear()
    discount.send_keys("150")  # 150 % off: 15000 bp, beyond what a discount can be
    browser.find_element(By.ID, "tier-bonus").send_keys("500=30")
    browser.find_element(By.ID, "tier-form-save").click()
    assert text_of(browser, "#tier-discount-error")  # the API's reason, beside the field
    assert browser.find_element(By.ID, "tier-discount").get_attribute("aria-invalid") == "true"
    assert not [t for t in ok(shop.hq.get(shop.world.path("/tiers")))["items"] if t["code"] == code]
    screenshot(browser, "office-tier-refused", 1280)
    discount = browser.find_element(By.ID, "tier-discount")
    discount.clear()
    discount.send_keys("20")
    browser.find_element(By.ID, "tier-form-save").click()
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == "等级已保存：金卡，默认8折")
    # HQ edits it: washes 25 % off, everything else stays 20 % off
    shown(browser, f"button[data-tier='{code}']").click()
    wash = shown(browser, "#tier-form input[data-category='wash']")
    wash.send_keys("25")
    browser.find_element(By.ID, "tier-form-save").click()
    wait(browser, lambda d: "wash 7.5折" in d.find_element(By.CSS_SELECTOR, ".office table").text)
    [tier] = [t for t in ok(shop.hq.get(shop.world.path("/tiers")))["items"] if t["code"] == code]
    assert tier["default_discount_bp"] == 2000 and tier["category_discounts"] == {"wash": 2500}
    assert tier["recharge_bonus_rules"] == [{"threshold": 50000, "bonus_fixed": 3000, "bonus_rate_bp": None}]
    screenshot(browser, "office-tiers", 1280)

    # a member of the new tier at the desk: a wash and brake pads
    member = ok(
        shop.cashier.post(shop.world.path("/members"), {"name": unique("金卡会员"), "phone": phone_ending("7788")}), 201
    )
    card = ok(shop.cashier.post(shop.world.path(f"/members/{member['id']}/cards"), {"tier_code": code}), 201)
    recharge = {
        "card_no": card["card_no"],
        "store_id": shop.world.stores["A"]["id"],
        "amount": 50000,
        "payment_method": "cash",
    }
    ok(shop.cashier.post(shop.world.path("/wallet/recharges"), recharge), 201)  # 500 yuan, +30 by the tier's rule
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    assert text_of(browser, "#bal-bonus") == "¥30.00"
    wait(browser, lambda d: active_id(d) == "item-input")
    items = browser.switch_to.active_element
    items.send_keys("W01" + Keys.ENTER)
    items.send_keys("PAD" + Keys.ENTER)
    # wash 120 less 25 % = 90; pads 300 less 20 % = 240; 420 gross, 90 off, 330 due from cash
    wait(browser, lambda d: d.find_element(By.ID, "sum-gross").text == "¥420.00")
    assert text_of(browser, "#sum-discount") == "-¥90.00"
    assert text_of(browser, "#sum-due") == "¥330.00"
    items.send_keys(Keys.ENTER)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    assert receipt_value(browser, "应付") == "330.00"
    assert receipt_value(browser, "折扣") == "-90.00"
    assert receipt_value(browser, "会员折扣 Tier 25%") == "-30.00"
    assert receipt_value(browser, "会员折扣 Tier 20%") == "-60.00"
    assert receipt_value(browser, "本金", under="余额") == "170.00"
    assert shop.balances(card["card_no"])["cash"] == 17000


def test_hq_adds_a_dictionary_item_and_the_desk_can_pick_it(gateway, shop, browser):
    code = f"WAX{random.randint(100, 999)}"
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.find_element(By.LINK_TEXT, "项目字典").click()
    shown(browser, "#dict-new-items").click()
    shown(browser, "#dict-items-code").send_keys(code)
    browser.find_element(By.ID, "dict-items-name").send_keys("打蜡")
    Select(browser.find_element(By.ID, "dict-items-category")).select_by_value("wash")
    price = browser.find_element(By.ID, "dict-items-price")
    price.send_keys("八十八" + Keys.ENTER)  # not an amount: the API's reason beside the price
    assert text_of(browser, "#dict-items-price-error")
    assert not [i for i in ok(shop.hq.get(shop.world.path("/items")))["items"] if i["code"] == code]
    price.clear()
    price.send_keys("88.50" + Keys.ENTER)
    wait(browser, lambda d: code in d.find_element(By.CSS_SELECTOR, "#dict-items table").text)
    assert "¥88.50" in browser.find_element(By.CSS_SELECTOR, "#dict-items table").text
    [item] = [i for i in ok(shop.hq.get(shop.world.path("/items")))["items"] if i["code"] == code]
    assert item["price"] == 8850 and item["category_code"] == "wash" and item["active"]
    screenshot(browser, "office-dictionaries", 1280)

    # the desk picks it by its code: a Silver card, washes 10 % off: 88.50 less 8.85 = 79.65
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 10000)
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    wait(browser, lambda d: active_id(d) == "item-input")
    browser.switch_to.active_element.send_keys(code + Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "sum-gross").text == "¥88.50")
    assert text_of(browser, "#sum-due") == "¥79.65"

    # HQ retires it: the dictionary says so, and the desk no longer offers it
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.find_element(By.LINK_TEXT, "项目字典").click()
    shown(browser, f"button[data-toggle='items:{code}']").click()
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == "打蜡 已停用")
    [item] = [
        i
        for i in ok(shop.hq.get(shop.world.path("/items"), {"include_inactive": "true"}))["items"]
        if i["code"] == code
    ]
    assert not item["active"]
    assert code not in [i["code"] for i in ok(shop.cashier.get(shop.world.path("/items")))["items"]]


def test_the_receipt_after_a_consume_is_the_apis_with_the_chains_footer_in_80mm_and_a4(gateway, shop, browser):
    # HQ adds a hotline to the footer and sets the SMS signature; a bad time zone is refused beside it
    footer = "谢谢惠顾，欢迎再来 · 热线 400-800-1234"
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.find_element(By.LINK_TEXT, "连锁设置").click()
    zone = shown(browser, "#settings-zone")
    zone.clear()
    zone.send_keys("Mars/Olympus" + Keys.ENTER)
    assert text_of(browser, "#settings-zone-error")
    assert ok(shop.hq.get(shop.world.path("/settings")))["time_zone"] != "Mars/Olympus"
    zone.clear()
    zone.send_keys("Asia/Shanghai")
    box = browser.find_element(By.ID, "settings-footer")
    box.clear()
    box.send_keys(footer)
    signature = browser.find_element(By.ID, "settings-signature")
    signature.clear()
    signature.send_keys("惠园洗车")
    browser.find_element(By.ID, "settings-save").click()
    wait(browser, lambda d: d.find_element(By.ID, "notice").text == "连锁设置已保存")
    settings = ok(shop.hq.get(shop.world.path("/settings")))
    assert settings["receipt_footer"] == footer and settings["sms_signature"] == "惠园洗车"
    screenshot(browser, "office-settings", 1280)

    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 50000)
    # the wallet hears of the new footer from org's event: wait until its receipts print it
    [recharge] = [e for e in shop.statement(card["card_no"]) if e["kind"] == "recharge"]
    receipt_path = shop.world.path(f"/wallet/transactions/{recharge['transaction_id']}/receipt")
    wait_for(lambda: footer in shop.hq.get(receipt_path).text, timeout=30)

    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    wait(browser, lambda d: active_id(d) == "item-input")
    browser.switch_to.active_element.send_keys("W01" + Keys.ENTER)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    assert receipt_value(browser, "应付") == "108.00"
    receipt = shown(browser, "#receipt")
    assert receipt.get_attribute("data-paper") == "80mm"
    assert footer in receipt.text and "会员签名" in receipt.text and "标准洗车" in receipt.text
    # the card number is masked on paper: only its last four digits
    assert receipt_value(browser, "卡号") == "*" * (len(card["card_no"]) - 4) + card["card_no"][-4:]
    wait(browser, lambda d: active_id(d) == "print-80mm")
    screenshot(browser, "receipt-80mm", 1024)
    # A4: the page the API lays out for A4 is fetched, shown and printed with the A4 sheet
    browser.execute_script(
        "window.printed = []; window.print = () => window.printed.push(document.getElementById('print-a4').disabled);"
    )
    browser.find_element(By.ID, "print-a4-button").click()
    wait(browser, lambda d: d.find_element(By.ID, "receipt").get_attribute("data-paper") == "a4")
    wait(browser, lambda d: d.execute_script("return window.printed") == [False])
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert any("/receipt?format=a4" in name for name in fetched)
    receipt = browser.find_element(By.ID, "receipt")
    assert footer in receipt.text and "会员签名" in receipt.text
    assert receipt_value(browser, "应付") == "108.00"
    screenshot(browser, "receipt-a4", 1024)


def test_hq_grants_credit_on_a_card_and_sees_the_settlement_between_stores(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 10000)
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["hq"])
    shown(browser, "#desk-search")
    browser.find_element(By.LINK_TEXT, "挂账与结算").click()
    shown(browser, "#credit-card").send_keys(card["card_no"])
    limit = browser.find_element(By.ID, "credit-limit")
    limit.send_keys("两百" + Keys.ENTER)
    assert text_of(browser, "#credit-limit-error")
    limit.clear()
    limit.send_keys("200" + Keys.ENTER)
    assert text_of(browser, "#credit-result") == f"卡 {card['card_no']}：额度 ¥200.00，已用 ¥0.00，可用 ¥200.00"
    assert shop.balances(card["card_no"])["credit_limit"] == 20000
    # a wash at store B: the 100 yuan taken in at A pay 100 of it, credit the other 8
    # (rung up by HQ, who names the store: B's own staff are locked out or disabled by other tests)
    wash = {"item_code": "W01", "name": "标准洗车", "category": "wash", "quantity": 1, "unit_price": 12000}
    sale = {"card_no": card["card_no"], "store_id": shop.world.stores["B"]["id"], "lines": [wash], "allow_credit": True}
    assert ok(shop.hq.post(shop.world.path("/wallet/consumes"), sale), 201)["paid"]["credit"] == 800
    # the member pays the 8 yuan back at store A's counter
    shown(browser, "#settle-card").send_keys(card["card_no"])
    Select(browser.find_element(By.ID, "settle-store")).select_by_value(shop.world.stores["A"]["id"])
    amount = browser.find_element(By.ID, "settle-amount")
    amount.send_keys("9" + Keys.ENTER)  # more than is owed: refused, nothing paid
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#credit-settle-form .form-error").text)
    assert shop.balances(card["card_no"])["credit_used"] == 800
    amount.clear()
    amount.send_keys("8" + Keys.ENTER)
    wait(
        browser, lambda d: d.find_element(By.ID, "credit-result").text.startswith(f"卡 {card['card_no']} 已还款 ¥8.00")
    )
    assert text_of(browser, "#credit-result").endswith("额度 ¥200.00，已用 ¥0.00，可用 ¥200.00")
    assert shop.balances(card["card_no"])["credit_used"] == 0
    # what store B owes store A is in the settlement, as the API adds it up
    browser.find_element(By.ID, "settlement-show").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#settlement-out table"))
    since = browser.find_element(By.ID, "settlement-since").get_attribute("value")
    until = browser.find_element(By.ID, "settlement-until").get_attribute("value")
    answer = ok(shop.hq.get(shop.world.path("/wallet/settlement"), {"since": since, "until": until}))
    a_to_b = [
        r["amount"]
        for r in answer["rows"]
        if (r["received_store_id"], r["spent_store_id"]) == (shop.world.stores["A"]["id"], shop.world.stores["B"]["id"])
    ]
    assert a_to_b and a_to_b[0] >= 10000
    rows = browser.find_elements(By.CSS_SELECTOR, "#settlement-out tbody tr")
    assert [r.text.split()[-1] for r in rows if r.text.startswith("Store A Store B")] == [
        f"¥{a_to_b[0] // 100:,}.{a_to_b[0] % 100:02d}"
    ]
    screenshot(browser, "office-credit", 1280)


def test_a_sale_whose_receipt_cannot_be_fetched_still_says_it_was_made(gateway, shop, browser):
    card = shop.member_with_card(phone_ending(f"{random.randint(1000, 9999)}"), 50000)
    sign_in(browser, gateway, shop.world.code, shop.world.usernames["cashier_A"])
    shown(browser, "#desk-search").send_keys(card["card_no"] + Keys.ENTER)
    wait(browser, lambda d: active_id(d) == "item-input")
    # the receipt route answers 503 (the browser's fetch stands in for a wallet that has just gone away)
    browser.execute_script(
        """
        const real = window.fetch;
        window.fetch = (url, init) => String(url).includes('/receipt?') ? Promise.resolve(new Response(
          JSON.stringify({error: {code: 'service_unavailable', message: 'wallet is not answering'}}),
          {status: 503, headers: {'Content-Type': 'application/json'}})) : real(url, init);
        """
    )
    browser.switch_to.active_element.send_keys("W01" + Keys.ENTER)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "notice").text.startswith("收款成功：¥108.00；小票未能取得："))
    assert "wallet is not answering" in text_of(browser, "#notice")
    assert text_of(browser, "#bal-cash") == "¥392.00"  # 500 less the wash's 108: the sale stands
    assert [e["kind"] for e in shop.statement(card["card_no"])].count("consume") == 1
