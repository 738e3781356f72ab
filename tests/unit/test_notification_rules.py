"""Notification rules without the framework: templates (N-2), money as text (W-1), birthdays
and catch-up days (N-3), request signing and outcome sorting of the providers (N-1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.notification import providers, quiet, scheduled, templates
from services.notification.kinds import KINDS, yuan


def test_a_template_fills_its_variables_and_keeps_literal_braces():
    text = templates.render(
        "{{会员}} {member_name}消费{amount}元 {{amount}}", {"member_name": "张三", "amount": "108.00"}
    )
    assert text == "{会员} 张三消费108.00元 {amount}"


def test_an_unknown_variable_is_refused_by_name():
    with pytest.raises(templates.TemplateError, match=r"Unknown variable \{password\}, \{x\}; this kind offers: a, b"):
        templates.check("hi {a} {password} {x} {b}", ("a", "b"))


@pytest.mark.parametrize("template", ["{member_name", "a } b", "{0}", "{a.__class__}", "{a[0]}", "{a!r}", "{}"])
def test_anything_but_a_plain_name_in_braces_is_refused(template):
    # no attribute, index, conversion or position: a template cannot reach into anything
    with pytest.raises(templates.TemplateError):
        templates.check(template, ("a", "member_name"))


def test_rendering_never_evaluates_a_value():
    assert templates.render("{a}", {"a": "{b}"}) == "{b}"  # a value is text, not a template


def test_an_optional_part_shows_only_when_every_variable_in_it_has_a_value():
    template = "消费{amount}元{?，本次积分{points_earned}分，积分余额{points_total}分?}，余额{balance}元"
    values = {"amount": "108.00", "balance": "942.00"}
    assert templates.render(template, values) == "消费108.00元，余额942.00元"
    both = {**values, "points_earned": "324", "points_total": "424"}
    assert templates.render(template, both) == "消费108.00元，本次积分324分，积分余额424分，余额942.00元"
    assert templates.render(template, {**both, "points_total": None}) == "消费108.00元，余额942.00元"
    assert templates.render(template, {**both, "points_earned": "0"}) == (
        "消费108.00元，本次积分0分，积分余额424分，余额942.00元"  # 0 is a value: said, not left out
    )
    assert templates.variables_used(template) == ["amount", "points_earned", "points_total", "balance"]


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("a{?b{x}", "An optional part {?... is not closed with ?}."),
        ("a{x}?}", "'?}' at character 5 closes no optional part: write one as {?...?}."),
        ("{?a{?{x}?}?}", "An optional part cannot hold another ('{?' at character 4)."),
    ],
)
def test_an_optional_part_must_be_closed_and_not_nested(template, reason):
    with pytest.raises(templates.TemplateError) as refused:
        templates.check(template, ("x",))
    assert str(refused.value) == reason


def test_the_consume_text_says_the_points_when_known_and_leaves_them_out_when_not():
    kind = KINDS["consume"]
    assert {"points_earned", "points_total"} <= set(kind.variables)
    facts = {"member_name": "张三", "card_tail": "1234", "time": "2026-01-31 09:30", "store_name": "一店"}
    facts |= {"amount": "108.00", "balance": "942.00"}
    assert templates.render(kind.sms_text, {**facts, "points_earned": "324", "points_total": "424"}) == (
        "尊敬的张三，您尾号1234的会员卡于2026-01-31 09:30在一店消费108.00元，本次积分324分，积分余额424分，"
        "当前余额942.00元。"
    )
    assert templates.render(kind.sms_text, facts) == (
        "尊敬的张三，您尾号1234的会员卡于2026-01-31 09:30在一店消费108.00元，当前余额942.00元。"
    )


def test_every_built_in_text_uses_only_its_kinds_variables():
    for kind in KINDS.values():
        for text in (kind.sms_text, kind.email_subject, kind.email_text):
            templates.check(text, kind.variables)


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (10800, "108.00"), (94200, "942.00"), (-150, "-1.50")]
)
def test_fen_are_shown_as_yuan_with_two_decimals(fen, text):
    assert yuan(fen) == text


def test_birthdays_on_29_february_are_the_28th_in_other_years():
    assert scheduled.celebrated_on(date(2004, 2, 29), 2027) == date(2027, 2, 28)
    assert scheduled.celebrated_on(date(2004, 2, 29), 2028) == date(2028, 2, 29)


def test_days_missed_while_down_are_caught_up_at_most_three_back():
    today = date(2026, 11, 25)
    assert scheduled.days_to_do(None, today) == [today]
    assert scheduled.days_to_do(today, today) == []
    assert scheduled.days_to_do(date(2026, 11, 23), today) == [date(2026, 11, 24), today]
    assert scheduled.days_to_do(date(2026, 10, 1), today) == [date(2026, 11, d) for d in (22, 23, 24, 25)]


def test_an_http_request_is_signed_over_account_time_and_body():
    gateway = providers.HttpGateway("https://sms.example.com/api/", "acct", "s3cret", 2.0)
    request = gateway.signed_request(providers.Sms("ref-1", "13800000000", "【洗车宝】hi"), now=1_700_000_000)
    assert request.full_url == "https://sms.example.com/api/sms/send"
    body = request.data
    assert body == '{"account":"acct","to":"13800000000","text":"【洗车宝】hi","reference":"ref-1"}'.encode()
    assert request.get_header("X-timestamp") == "1700000000"
    assert request.get_header("X-signature") == providers.sign("s3cret", "acct", "1700000000", body)
    assert providers.sign("other", "acct", "1700000000", body) != request.get_header("X-signature")
    assert "s3cret" not in repr(request.header_items())


def test_an_unreachable_gateway_is_retried_not_refused():
    outcome = providers.HttpGateway("http://127.0.0.1:9", "a", "s", 0.5).send(providers.Sms("r", "1", "t"))
    assert isinstance(outcome, providers.Retry) and outcome.reason.startswith("cannot reach the SMS gateway")


SHANGHAI = "Asia/Shanghai"


def _at(hour: int, minute: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(SHANGHAI))


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (_at(20, 59), None),  # before the window
        (_at(21, 0), _at(8, 0, day=26)),  # from 21:00 to tomorrow 08:00
        (_at(23, 30), _at(8, 0, day=26)),
        (_at(3, 0), _at(8, 0)),  # after midnight: this morning
        (_at(8, 0), None),  # open again at 08:00 sharp
    ],
)
def test_quiet_hours_over_midnight_hold_marketing_until_the_window_opens(now, until):
    assert quiet.held_until(now, SHANGHAI, time(21, 0), time(8, 0)) == until


def test_quiet_hours_are_the_chains_local_time_and_a_daytime_window_works_too():
    utc_noon = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    assert quiet.held_until(utc_noon, SHANGHAI, time(12, 0), time(14, 0)) == _at(14, 0)
    assert quiet.held_until(utc_noon, "Europe/London", time(12, 0), time(14, 0)) is None  # 04:00 there
    assert quiet.held_until(utc_noon, SHANGHAI, None, None) is None
