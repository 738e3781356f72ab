"""Contracts of the `notification` service: providers, templates, switches, boxes (N-1..N-5)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.base import (
    EMAIL_CHECKS,
    NOT_BLANK,
    PHONE_CHECKS,
    Code,
    Contract,
    Day,
    Flag,
    Id,
    Page,
    Pattern,
    Text,
    Timestamp,
    not_before,
)
from contracts.events import event

# message kinds with what starts them (N-3); `test` is a staff check of the provider settings
# before a date (P-5 points, packages) and after a visit gap (service reminders)
REMINDER_KINDS = ("points_expiring", "points_reset", "package_expiring", "service_reminder")
KINDS = ("consume", "recharge", "tier_change", "birthday", *REMINDER_KINDS, "test", "marketing")
AUTOMATIC_KINDS = ("consume", "recharge", "tier_change", "birthday", *REMINDER_KINDS)
# what a kind sent ahead of a date waits for when the chain has not said (package_expiring)
DEFAULT_DAYS_BEFORE = 7
CHANNELS = ("sms", "email")
# what a kind goes by: a member-bound message to the member's phone, e-mail address, or both
KIND_CHANNELS = ("sms", "email", "both")
SMS_PROVIDERS = ("record", "http")
EMAIL_PROVIDERS = ("record", "smtp")
SMTP_SECURITY = ("none", "starttls", "ssl")
# draft: not to be sent yet; waiting: a consume's message until its points are known (N-3);
# queued and sending: the outbox; then sent or failed (N-5)
STATUSES = ("draft", "waiting", "queued", "sending", "sent", "failed")
CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "done")
# what a marketing text may use (N-4)
MARKETING_VARIABLES = ("member_name", "chain_name")

TEMPLATE_MAX = 1000
# an http(s) URL without spaces; the provider client calls `<base>/sms/send`
URL_PATTERN = r"^https?://[^\s/\u0000]+(/[^\s\u0000]*)?$"
HOST_PATTERN = r"^[A-Za-z0-9.-]{1,253}$"
CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _template(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=TEMPLATE_MAX), **kwargs)


# ---- message kinds: switches and templates (N-2, N-3) ------------------------------


class KindView(Contract):
    kind = fields.String(required=True)
    description = fields.String(required=True)
    # the names a template of this kind may use, as {name}
    variables = fields.List(fields.String(), required=True)
    automatic = Flag(required=True)
    enabled = Flag(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(KIND_CHANNELS))
    sms_text = fields.String(required=True)
    email_subject = fields.String(required=True)
    email_text = fields.String(required=True)
    # False while the chain uses the built-in Chinese texts
    customised = Flag(required=True)
    # a kind sent ahead of a date (package_expiring): how many days before; null for the others
    # (points reminders follow the points rules' remind_days)
    days_before = fields.Integer(required=True, allow_none=True)


class KindList(Contract):
    items = fields.List(fields.Nested(KindView), required=True)


class KindUpdate(Contract):
    """A kind's switch, channel and texts. By e-mail, a member without an address gets the
    message failed with that reason (and by SMS too, with `both`)."""

    enabled = Flag()
    channel = fields.String(validate=validate.OneOf(KIND_CHANNELS))
    sms_text = _template()
    email_subject = fields.String(validate=validate.Length(min=1, max=200))
    email_text = _template()
    # true: forget the chain's own texts and use the built-in ones again
    reset_texts = Flag()
    # only for a kind sent ahead of a date (package_expiring; 422 naming it for another kind)
    days_before = fields.Integer(strict=True, validate=validate.Range(min=0, max=90))


# ---- service reminders (N-3: "time for your next wash") ----------------------------


class ServiceRuleCreate(Contract):
    """Remind members `days` after their last visit with an item of `category` (one rule a category)."""

    category = Code(required=True)
    # what the text calls the service ({service_name}: "洗车")
    service_name = Text(40, required=True)
    days = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=365))
    enabled = Flag(load_default=True)


class ServiceRuleUpdate(Contract):
    service_name = fields.String(validate=[validate.Length(min=1, max=40), Pattern(NOT_BLANK, "Must not be blank.")])
    days = fields.Integer(strict=True, validate=validate.Range(min=1, max=365))
    enabled = Flag()


class ServiceRuleView(Contract):
    id = Id(required=True)
    category = fields.String(required=True)
    service_name = fields.String(required=True)
    days = fields.Integer(required=True)
    enabled = Flag(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)


class ServiceRuleList(Contract):
    items = fields.List(fields.Nested(ServiceRuleView), required=True)


# ---- provider settings (N-1; HQ only, secrets write-only) -------------------------


class ProviderView(Contract):
    sms_provider = fields.String(required=True, validate=validate.OneOf(SMS_PROVIDERS))
    http_base_url = fields.String(required=True, allow_none=True)
    http_account = fields.String(required=True, allow_none=True)
    http_secret_set = Flag(required=True)
    http_timeout_ms = fields.Integer(required=True)
    email_provider = fields.String(required=True, validate=validate.OneOf(EMAIL_PROVIDERS))
    smtp_host = fields.String(required=True, allow_none=True)
    smtp_port = fields.Integer(required=True)
    smtp_security = fields.String(required=True, validate=validate.OneOf(SMTP_SECURITY))
    smtp_username = fields.String(required=True, allow_none=True)
    smtp_password_set = Flag(required=True)
    email_from = fields.String(required=True, allow_none=True)
    max_attempts = fields.Integer(required=True)
    retry_base_ms = fields.Integer(required=True)
    quiet_start = fields.String(required=True, allow_none=True)
    quiet_end = fields.String(required=True, allow_none=True)
    marketing_per_minute = fields.Integer(required=True)


class ProviderUpdate(Contract):
    sms_provider = fields.String(validate=validate.OneOf(SMS_PROVIDERS))
    http_base_url = fields.String(validate=[validate.Length(max=300), Pattern(URL_PATTERN, "An http(s) URL.")])
    http_account = fields.String(validate=[validate.Length(min=1, max=100), Pattern(NOT_BLANK, "Must not be blank.")])
    http_secret = fields.String(validate=validate.Length(min=1, max=200))
    # how long one send may take, HTTP or SMTP
    http_timeout_ms = fields.Integer(strict=True, validate=validate.Range(min=100, max=30000))
    email_provider = fields.String(validate=validate.OneOf(EMAIL_PROVIDERS))
    smtp_host = fields.String(validate=Pattern(HOST_PATTERN, "A host name or address."))
    smtp_port = fields.Integer(strict=True, validate=validate.Range(min=1, max=65535))
    smtp_security = fields.String(validate=validate.OneOf(SMTP_SECURITY))
    smtp_username = Text(200)
    smtp_password = fields.String(validate=validate.Length(min=1, max=200))
    email_from = fields.String(validate=EMAIL_CHECKS)
    # attempts in all before a message is failed; retried after retry_base_ms, doubling
    max_attempts = fields.Integer(strict=True, validate=validate.Range(min=1, max=10))
    retry_base_ms = fields.Integer(strict=True, validate=validate.Range(min=100, max=600000))
    # N-4: marketing waits from quiet_start to quiet_end (HH:MM, the chain's time; may run over
    # midnight); null in both: no quiet hours
    quiet_start = fields.String(allow_none=True, validate=Pattern(CLOCK_PATTERN, "A time as HH:MM."))
    quiet_end = fields.String(allow_none=True, validate=Pattern(CLOCK_PATTERN, "A time as HH:MM."))
    marketing_per_minute = fields.Integer(strict=True, validate=validate.Range(min=1, max=60000))


# ---- messages and boxes (N-5) -------------------------------------------------------


class MessageView(Contract):
    id = Id(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True)
    member_id = fields.String(required=True, allow_none=True)
    recipient = fields.String(required=True, allow_none=True)  # masked
    subject = fields.String(required=True, allow_none=True)
    body = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    attempts = fields.Integer(required=True)
    last_error = fields.String(required=True, allow_none=True)
    provider = fields.String(required=True, allow_none=True)
    provider_message_id = fields.String(required=True, allow_none=True)
    provider_status = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True)
    next_attempt_at = fields.String(required=True, allow_none=True)
    sent_at = fields.String(required=True, allow_none=True)


class MessageQuery(Page):
    member_id = Id()
    phone = fields.String(validate=PHONE_CHECKS)
    kind = fields.String(validate=validate.OneOf(KINDS))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    since = Timestamp()
    until = Timestamp()

    _order = not_before("since", "until")


class TestSend(Contract):
    """Send a kind's current text, filled with sample values, to a phone, an address, or both
    (at least one: 422 naming `phone` otherwise)."""

    kind = fields.String(required=True, validate=validate.OneOf(AUTOMATIC_KINDS))
    # judged by the service as the member service judges a member's phone (422 naming it)
    phone = fields.String(validate=PHONE_CHECKS)
    email = fields.String(validate=EMAIL_CHECKS)

    @validates_schema
    def _somewhere(self, data: dict, **kwargs) -> None:
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("Give a phone, an e-mail address, or both.", "phone")


class SentList(Contract):
    items = fields.List(fields.Nested(MessageView), required=True)


# ---- marketing: campaigns and their bulk sends (N-4) ------------------------------------


class Segment(Contract):
    """Who a campaign goes to: every criterion given must hold (a list: any of its values);
    only members who consented to marketing are ever messaged."""

    tier_codes = fields.List(Code(), validate=validate.Length(max=20))
    store_ids = fields.List(Id(), validate=validate.Length(max=50))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=40)), validate=validate.Length(max=20))
    birthday_month = fields.Integer(strict=True, validate=validate.Range(min=1, max=12))
    # no consume since this day (the chain's time), or never
    inactive_since = Day()
    # points going (expiring or the yearly reset) within this many days, as the points service
    # counts them for its reminders (P-5)
    points_expiring_within_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=365))


class CampaignCreate(Contract):
    name = Text(200, required=True)
    text = _template(required=True)
    segment = fields.Nested(Segment, load_default=dict)


class CampaignUpdate(Contract):
    name = Text(200)
    text = _template()
    segment = fields.Nested(Segment)


class CampaignSend(Contract):
    # when to start (null or absent: now); held still by quiet hours
    send_at = Timestamp(load_default=None, allow_none=True)


class Progress(Contract):
    queued = fields.Integer(required=True)
    sending = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)


class CampaignView(Contract):
    id = Id(required=True)
    name = fields.String(required=True)
    text = fields.String(required=True)
    segment = fields.Nested(Segment, required=True)
    status = fields.String(required=True, validate=validate.OneOf(CAMPAIGN_STATUSES))
    send_at = fields.String(required=True, allow_none=True)
    # consenting members in the segment when sending began (null before)
    total = fields.Integer(required=True, allow_none=True)
    progress = fields.Nested(Progress, required=True)
    created_at = fields.String(required=True)


class CampaignQuery(Page):
    status = fields.String(validate=validate.OneOf(CAMPAIGN_STATUSES))


# ---- for other services ------------------------------------------------------------------


class Contact(Contract):
    """`member.contacts`: how to reach a member. The phone and e-mail address leave the member
    service in clear only for sending; the notification schema keeps their keyed hash and
    masked form."""

    member_id = Id(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)
    masked_phone = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    masked_email = fields.String(required=True, allow_none=True)
    marketing_consent = Flag(required=True)
    birthday = fields.String(required=True, allow_none=True)


# ---- events ---------------------------------------------------------------------------------


class _MessageOutcome(Contract):
    message_id = Id(required=True)
    chain_id = Id(required=True)
    member_id = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True)
    provider = fields.String(required=True)
    attempts = fields.Integer(required=True)


@event("notification", "sent")
class MessageSent(_MessageOutcome):
    provider_message_id = fields.String(required=True, allow_none=True)


@event("notification", "failed")
class MessageFailed(_MessageOutcome):
    reason = fields.String(required=True)
