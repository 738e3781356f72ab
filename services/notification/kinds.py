"""Message kinds: what each one offers a template, and the built-in Chinese texts (N-2, N-3).

Plain data, no framework: the service, the API's kind list and the template check
all read it from here, so a kind's variables are stated once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    variables: tuple[str, ...]
    sms_text: str
    email_subject: str
    email_text: str
    automatic: bool = True
    # sent days_before a date, the days set per chain in this service's kind settings
    ahead: bool = False


_MEMBER = ("member_name", "chain_name")
_CARD = ("card_tail",)

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "consume",
            "After each consume: amount, points earned and the points total (as the points service "
            "reports them), remaining balance",
            (
                *_MEMBER,
                *_CARD,
                "store_name",
                "amount",
                "points_earned",
                "points_total",
                "balance",
                "cash_balance",
                "bonus_balance",
                "time",
            ),
            # the points sentence is optional: left out if the points service never answered
            "尊敬的{member_name}，您尾号{card_tail}的会员卡于{time}在{store_name}消费{amount}元"
            "{?，本次积分{points_earned}分，积分余额{points_total}分?}，当前余额{balance}元。",
            "{chain_name}消费提醒",
            "尊敬的{member_name}：\n\n您尾号{card_tail}的会员卡于{time}在{store_name}消费{amount}元"
            "{?，本次积分{points_earned}分，积分余额{points_total}分?}，"
            "当前余额{balance}元（本金{cash_balance}元，赠送{bonus_balance}元）。\n\n{chain_name}",
        ),
        Kind(
            "recharge",
            "After each recharge: amount paid, bonus given, balance after",
            (*_MEMBER, *_CARD, "store_name", "amount", "bonus", "balance", "time"),
            "尊敬的{member_name}，您尾号{card_tail}的会员卡于{time}在{store_name}充值{amount}元，赠送{bonus}元，"
            "当前余额{balance}元。",
            "{chain_name}充值提醒",
            "尊敬的{member_name}：\n\n您尾号{card_tail}的会员卡于{time}在{store_name}充值{amount}元，"
            "赠送{bonus}元，当前余额{balance}元。\n\n{chain_name}",
        ),
        Kind(
            "tier_change",
            "When a card's tier changes (upgrade by spend, or by staff)",
            (*_MEMBER, *_CARD, "previous_tier", "tier"),
            "尊敬的{member_name}，您尾号{card_tail}的会员卡等级已由{previous_tier}变更为{tier}。",
            "{chain_name}会员等级变更",
            "尊敬的{member_name}：\n\n您尾号{card_tail}的会员卡等级已由{previous_tier}变更为{tier}。\n\n{chain_name}",
        ),
        Kind(
            "birthday",
            "On the member's birthday, in the chain's time zone, once a year",
            _MEMBER,
            "亲爱的{member_name}，{chain_name}祝您生日快乐！",
            "{chain_name}祝您生日快乐",
            "亲爱的{member_name}：\n\n{chain_name}全体员工祝您生日快乐！\n\n{chain_name}",
        ),
        Kind(
            "points_expiring",
            "Before points expire (P-5): sent the points service's reminder days ahead, once per expiry day",
            (*_MEMBER, "expiring_points", "expire_date", "points_total"),
            "尊敬的{member_name}，您有{expiring_points}积分将于{expire_date}到期，当前积分共{points_total}分，请及时使用。",
            "{chain_name}积分到期提醒",
            "尊敬的{member_name}：\n\n您有{expiring_points}积分将于{expire_date}到期，当前积分共{points_total}分，"
            "请及时使用。\n\n{chain_name}",
        ),
        Kind(
            "points_reset",
            "Before the yearly points reset (P-5): sent the points service's reminder days ahead, once a year",
            (*_MEMBER, "expiring_points", "reset_date", "points_total"),
            "尊敬的{member_name}，您的{expiring_points}积分将于{reset_date}清零，当前积分共{points_total}分，请及时使用。",
            "{chain_name}积分清零提醒",
            "尊敬的{member_name}：\n\n您的{expiring_points}积分将于{reset_date}清零，当前积分共{points_total}分，"
            "请及时使用。\n\n{chain_name}",
        ),
        Kind(
            "package_expiring",
            "Before a package or pass expires: days_before its last day (default 7), once per package",
            (*_MEMBER, "package_name", "expire_date", "remaining_count"),
            "尊敬的{member_name}，您的{package_name}将于{expire_date}到期，剩余{remaining_count}次，请及时使用。",
            "{chain_name}套餐到期提醒",
            "尊敬的{member_name}：\n\n您的{package_name}将于{expire_date}到期，剩余{remaining_count}次，"
            "请及时使用。\n\n{chain_name}",
            ahead=True,
        ),
        Kind(
            "service_reminder",
            "Time for the next service: a service rule's days after the last visit in its category, once per visit",
            (*_MEMBER, "service_name", "last_visit_date", "days"),
            "尊敬的{member_name}，您上次{service_name}是{last_visit_date}，已经{days}天了，欢迎再次光临{chain_name}。",
            "{chain_name}服务提醒",
            "尊敬的{member_name}：\n\n您上次{service_name}是{last_visit_date}，已经{days}天了，"
            "欢迎再次光临。\n\n{chain_name}",
        ),
        Kind(
            "test",
            "A staff check of the provider settings",
            _MEMBER,
            "{chain_name}短信通道测试。",
            "{chain_name}邮件通道测试",
            "{chain_name}邮件通道测试。",
            automatic=False,
        ),
    )
}

# what a test send fills the variables with, so staff see a realistic text
SAMPLE_VALUES: dict[str, str] = {
    "member_name": "张三",
    "card_tail": "1234",
    "store_name": "示例门店",
    "amount": "120.00",
    "points_earned": "120",
    "points_total": "1520",
    "balance": "880.00",
    "cash_balance": "800.00",
    "bonus_balance": "80.00",
    "bonus": "50.00",
    "time": "2026-01-31 09:30",
    "previous_tier": "银卡",
    "tier": "金卡",
    "expiring_points": "200",
    "expire_date": "2026-02-28",
    "reset_date": "2027-01-01",
    "package_name": "洗车10次卡",
    "remaining_count": "3",
    "service_name": "洗车",
    "last_visit_date": "2026-01-01",
    "days": "30",
}


def yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals, by integer arithmetic (W-1: no floats)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
