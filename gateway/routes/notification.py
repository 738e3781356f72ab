"""HTTP operations of the `notification` service: providers, kinds and texts, boxes (N-1..N-5)."""

from __future__ import annotations

from contracts import notification as c
from contracts.auth import HQ
from contracts.base import page_of
from gateway.operations import ACTOR, BODY, KEY, QUERY, Operation, forward

BASE = "/chains/{chain_id}/notifications"
HQ_ONLY = " HQ only."

get_provider = forward("notification.get_provider", ACTOR, "chain_id")


update_provider = forward("notification.update_provider", ACTOR, "chain_id", BODY)


list_kinds = forward("notification.list_kinds", ACTOR, "chain_id")


update_kind = forward("notification.update_kind", ACTOR, "chain_id", "kind", BODY)


list_service_rules = forward("notification.list_service_rules", ACTOR, "chain_id")


create_service_rule = forward("notification.create_service_rule", ACTOR, "chain_id", BODY, KEY)


update_service_rule = forward("notification.update_service_rule", ACTOR, "chain_id", "rule_id", BODY)


search_messages = forward("notification.search_messages", ACTOR, "chain_id", QUERY)


get_message = forward("notification.get_message", ACTOR, "chain_id", "message_id")


retry_message = forward("notification.retry_message", ACTOR, "chain_id", "message_id", KEY)


test_send = forward("notification.test_send", ACTOR, "chain_id", BODY, KEY)


create_campaign = forward("notification.create_campaign", ACTOR, "chain_id", BODY, KEY)


update_campaign = forward("notification.update_campaign", ACTOR, "chain_id", "campaign_id", BODY)


list_campaigns = forward("notification.list_campaigns", ACTOR, "chain_id", QUERY)


get_campaign = forward("notification.get_campaign", ACTOR, "chain_id", "campaign_id")


send_campaign = forward("notification.send_campaign", ACTOR, "chain_id", "campaign_id", BODY, KEY)


OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        f"{BASE}/provider",
        "How the chain's SMS and e-mail are sent (secrets never shown)",
        "notifications",
        get_provider,
        response=c.ProviderView,
        roles=HQ,
        description="N-1. `record` keeps messages and shows them as sent; `http` is an SMS gateway; `smtp` "
        "is e-mail." + HQ_ONLY,
    ),
    Operation(
        "PATCH",
        f"{BASE}/provider",
        "Choose and configure the chain's providers",
        "notifications",
        update_provider,
        body=c.ProviderUpdate,
        response=c.ProviderView,
        roles=HQ,
        description="N-1. Secrets are write-only: answers say only whether one is set. A provider cannot be "
        "chosen without what it needs (422 naming the missing field)." + HQ_ONLY,
    ),
    Operation(
        "GET",
        f"{BASE}/kinds",
        "Message kinds: the variables each offers, its switch, channel and texts",
        "notifications",
        list_kinds,
        response=c.KindList,
        roles=HQ,
        description="N-2, N-3. Texts use {variable}; {{ and }} are literal braces." + HQ_ONLY,
    ),
    Operation(
        "PATCH",
        f"{BASE}/kinds/{{kind}}",
        "Switch a kind on or off, choose its channel, change its texts",
        "notifications",
        update_kind,
        body=c.KindUpdate,
        response=c.KindView,
        roles=HQ,
        description="N-2. A text using a variable the kind does not offer is refused (422 naming it). "
        "An unknown kind is 404." + HQ_ONLY,
    ),
    Operation(
        "GET",
        f"{BASE}/service-reminders",
        "Service reminder rules: category, days since the last visit, on or off",
        "notifications",
        list_service_rules,
        response=c.ServiceRuleList,
        roles=HQ,
        description='N-3 ("time for your next wash"). Sent as the service_reminder kind.' + HQ_ONLY,
    ),
    Operation(
        "POST",
        f"{BASE}/service-reminders",
        "Remind members a number of days after their last visit in a category",
        "notifications",
        create_service_rule,
        body=c.ServiceRuleCreate,
        response=c.ServiceRuleView,
        status=201,
        roles=HQ,
        needs_key=True,
        description="N-3. One rule a category (409 `already_exists` naming `category` for a second); each "
        "member is reminded once per visit gap: a new visit in the category starts a new one." + HQ_ONLY,
    ),
    Operation(
        "PATCH",
        f"{BASE}/service-reminders/{{rule_id}}",
        "Change a service reminder rule's days or name, or switch it off",
        "notifications",
        update_service_rule,
        body=c.ServiceRuleUpdate,
        response=c.ServiceRuleView,
        roles=HQ,
        description="An unknown rule is 404." + HQ_ONLY,
    ),
    Operation(
        "GET",
        f"{BASE}/messages",
        "Search every message: by member, phone (exact), kind, channel, status, date",
        "notifications",
        search_messages,
        query=c.MessageQuery,
        response=page_of(c.MessageView),
        roles=HQ,
        description="N-5. Boxes are statuses: queued and sending (outbox), sent, failed. Newest first." + HQ_ONLY,
    ),
    Operation(
        "GET",
        f"{BASE}/messages/{{message_id}}",
        "One message, with its attempts and last error",
        "notifications",
        get_message,
        response=c.MessageView,
        roles=HQ,
    ),
    Operation(
        "POST",
        f"{BASE}/messages/{{message_id}}/retries",
        "Put a failed message back in the outbox",
        "notifications",
        retry_message,
        response=c.MessageView,
        status=201,
        roles=HQ,
        needs_key=True,
        description="N-5. Only a failed message (409 otherwise); it gets max_attempts more attempts." + HQ_ONLY,
    ),
    Operation(
        "POST",
        f"{BASE}/test-sends",
        "Send a kind's text, with sample values, to a phone, an address or both",
        "notifications",
        test_send,
        body=c.TestSend,
        response=c.SentList,
        status=201,
        roles=HQ,
        needs_key=True,
        description="N-1. Checks the provider settings end to end; the message is kept like any other." + HQ_ONLY,
    ),
    Operation(
        "POST",
        f"{BASE}/campaigns",
        "Draft a marketing message to a segment",
        "notifications",
        create_campaign,
        body=c.CampaignCreate,
        response=c.CampaignView,
        status=201,
        roles=HQ,
        needs_key=True,
        description="N-4. Segment by tier, home store, tag, birthday month, no visit since, points expiring "
        "within days; only members who consented are messaged. The text may use {member_name} and "
        "{chain_name}." + HQ_ONLY,
    ),
    Operation(
        "GET",
        f"{BASE}/campaigns",
        "Campaigns, newest first, with their progress",
        "notifications",
        list_campaigns,
        query=c.CampaignQuery,
        response=page_of(c.CampaignView),
        roles=HQ,
    ),
    Operation(
        "GET",
        f"{BASE}/campaigns/{{campaign_id}}",
        "A campaign and its bulk send's progress",
        "notifications",
        get_campaign,
        response=c.CampaignView,
        roles=HQ,
    ),
    Operation(
        "PATCH",
        f"{BASE}/campaigns/{{campaign_id}}",
        "Change a draft campaign",
        "notifications",
        update_campaign,
        body=c.CampaignUpdate,
        response=c.CampaignView,
        roles=HQ,
        description="Only a draft (409 once sent)." + HQ_ONLY,
    ),
    Operation(
        "POST",
        f"{BASE}/campaigns/{{campaign_id}}/sends",
        "Send a draft campaign now or at send_at, in the background",
        "notifications",
        send_campaign,
        body=c.CampaignSend,
        response=c.CampaignView,
        status=202,
        roles=HQ,
        needs_key=True,
        description="N-4. Accepted at once (202); the campaign's progress counts its messages as they go, at "
        "the chain's marketing_per_minute, held through quiet hours. Each member is messaged once, even "
        "across a restart of the service. Only a draft (409 otherwise)." + HQ_ONLY,
    ),
]
