"""Due-date rules of the reminders without the framework (N-3, P-5): when a package's reminder
is due, which last visits fall due on the days a run does, how points expiring are summed per
member and local day, and that every kind's built-in texts use only what the kind offers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.notification import reminders, templates
from services.notification.kinds import KINDS, SAMPLE_VALUES
from services.points import rules

SHANGHAI = "Asia/Shanghai"


def test_a_package_is_reminded_from_days_before_its_last_day_until_that_day():
    last = date(2026, 3, 10)
    assert not reminders.package_due(last, date(2026, 3, 2), 7)  # 8 days ahead: not yet
    assert reminders.package_due(last, date(2026, 3, 3), 7)  # 7 days ahead: due
    assert reminders.package_due(last, date(2026, 3, 10), 7)  # its last day: still (a job that was down)
    assert not reminders.package_due(last, date(2026, 3, 11), 7)  # expired: no use reminding
    assert reminders.package_due(last, date(2026, 3, 10), 0) and not reminders.package_due(last, date(2026, 3, 9), 0)
    assert reminders.package_window(date(2026, 3, 3), 7) == (date(2026, 3, 3), date(2026, 3, 10))
    # the window and the rule agree on every day around it
    for day in range(1, 15):
        today = date(2026, 3, day)
        first, end = reminders.package_window(today, 7)
        assert (first <= last <= end) == reminders.package_due(last, today, 7)


def test_a_service_reminder_falls_due_its_days_after_the_last_visits_local_day():
    assert reminders.service_due_on(date(2026, 1, 31), 30) == date(2026, 3, 2)  # 28-day February
    # a run doing 2 and 3 March with a 30-day rule reminds visits of 31 Jan and 1 Feb (local days)
    since, until = reminders.visits_due(SHANGHAI, [date(2026, 3, 2), date(2026, 3, 3)], 30)
    assert since == datetime(2026, 1, 30, 16, 0, tzinfo=UTC)  # 31 Jan 00:00 in Shanghai
    assert until == datetime(2026, 2, 1, 16, 0, tzinfo=UTC)  # 2 Feb 00:00 in Shanghai, not included
    late_evening = datetime(2026, 1, 30, 15, 59, tzinfo=UTC)  # 30 Jan 23:59 local: due 1 March, done before
    assert not since <= late_evening < until
    assert reminders.visits_due(SHANGHAI, [], 30) is None


def test_points_expiring_are_one_reminder_per_member_and_local_day():
    lots = [
        ("m1", datetime(2026, 5, 1, 16, 0, tzinfo=UTC), 100),  # 2 May 00:00 in Shanghai
        ("m1", datetime(2026, 5, 2, 15, 59, tzinfo=UTC), 30),  # 2 May 23:59: the same local day
        ("m1", datetime(2026, 5, 2, 16, 0, tzinfo=UTC), 7),  # 3 May
        ("m2", datetime(2026, 5, 1, 16, 0, tzinfo=UTC), 5),
    ]
    assert rules.expiring_by_day(SHANGHAI, lots) == {
        ("m1", date(2026, 5, 2)): 130,
        ("m1", date(2026, 5, 3)): 7,
        ("m2", date(2026, 5, 2)): 5,
    }


def test_every_reminder_kind_has_chinese_texts_using_only_its_variables_and_samples_for_each():
    for name in ("points_expiring", "points_reset", "package_expiring", "service_reminder"):
        kind = KINDS[name]
        assert kind.automatic
        for text in (kind.sms_text, kind.email_subject, kind.email_text):
            templates.check(text, kind.variables)
        assert all(v in SAMPLE_VALUES or v in ("member_name", "chain_name") for v in kind.variables), name
    assert KINDS["package_expiring"].ahead and not KINDS["points_expiring"].ahead
    filled = templates.render(KINDS["points_expiring"].sms_text, {**SAMPLE_VALUES, "member_name": "张三"})
    assert filled == "尊敬的张三，您有200积分将于2026-02-28到期，当前积分共1520分，请及时使用。"
