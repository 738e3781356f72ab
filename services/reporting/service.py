"""The `reporting` service: the reports (R-1..R-8) from a read model of its own.

It never reads another service's schema: org's, member's, wallet's, points' and gift's events
are applied to its read model (`apply`), each once (the inbox), in any order;
a rebuild replays their history (`rebuild`). Report RPCs only read, so heavy
reports never touch the money path.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from contracts import gift as _gift  # noqa: F401 - registers gift's events for the handlers
from contracts import member as _member  # noqa: F401 - registers member's events for the handlers
from contracts import org as _org  # noqa: F401 - registers org's events
from contracts import points as _points  # noqa: F401 - registers points' events
from contracts import reporting as c
from contracts import wallet as _wallet  # noqa: F401 - registers wallet's events
from contracts.auth import HQ, Actor
from contracts.base import load
from contracts.errors import NotFound
from contracts.events import Event
from services.kit import clock
from services.kit.config import SettingsDependency
from services.kit.db import Database
from services.kit.handlers import handles
from services.kit.health import HealthCheck
from services.kit.logs import CorrelationId
from services.kit.rpc import rpc
from services.reporting import apply, books, common, dashboard, detail, gifts, summary
from services.reporting.models import CommissionRule, kit
from services.reporting.scope import scope_of

EXPORT_PAGE = 2000  # rows per RPC while an export streams
PAGED = {
    c.CONSUMPTIONS: detail.consumptions,
    c.RECHARGES: detail.recharges,
    c.MEMBER_TOTALS: detail.member_totals,
    c.GIFT_REDEMPTIONS: gifts.redemptions,
}
WHOLE = {
    c.STORE_SUMMARY: summary.store_summary,
    c.SETTLEMENT: books.settlement,
    c.MEMBER_STATS: summary.member_stats,
    c.RANKINGS: summary.rankings,
    c.POINTS_RANKINGS: summary.points_rankings,
    c.EMPLOYEES: summary.employees,
    c.GIFT_STATS: gifts.statistics,
}
QUERIES = {
    c.STORE_SUMMARY: c.SummaryQuery,
    c.CONSUMPTIONS: c.DetailQuery,
    c.RECHARGES: c.DetailQuery,
    c.MEMBER_TOTALS: c.MemberTotalsQuery,
    c.LIABILITY: c.LiabilityReportQuery,
    c.SETTLEMENT: c.SettlementReportQuery,
    c.MEMBER_STATS: c.MemberStatsQuery,
    c.RANKINGS: c.RankingQuery,
    c.POINTS_RANKINGS: c.RankingQuery,
    c.EMPLOYEES: c.EmployeeQuery,
    c.GIFT_REDEMPTIONS: c.GiftRedemptionQuery,
    c.GIFT_STATS: c.GiftStatsQuery,
}
# where an export's rows are in each report's answer
ROWS = {
    c.STORE_SUMMARY: "rows",
    c.CONSUMPTIONS: "items",
    c.RECHARGES: "items",
    c.MEMBER_TOTALS: "items",
    c.LIABILITY: "stores",
    c.SETTLEMENT: "rows",
    c.MEMBER_STATS: "by_store_and_tier",
    c.RANKINGS: "by_consumption",
    c.POINTS_RANKINGS: "by_points",
    c.EMPLOYEES: "rows",
    c.GIFT_REDEMPTIONS: "items",
    c.GIFT_STATS: "rows",
}


def _rule(rule: CommissionRule) -> dict:
    return {"level": rule.level, "sales_bp": rule.sales_bp, "item_fixed": dict(rule.item_fixed)}


class ReportingService(HealthCheck):
    name = "reporting"

    db = Database()
    correlation_id = CorrelationId()
    settings = SettingsDependency()
    kit_tables = kit

    def _run(self, actor: dict, chain_id: str, name: str, query: dict, page: tuple[int, str | None] | None) -> dict:
        if name not in QUERIES:
            raise NotFound("No such report.")
        who = Actor.from_dict(actor)
        days = (query["since"], query["until"]) if "since" in query else None
        today = clock.today(common.time_zone(self.db, chain_id))
        scope = scope_of(who, chain_id, name, query.get("store_id"), days, today)
        if name == c.LIABILITY:
            return books.liability(self.db, chain_id, query["as_of"], scope)
        if name in PAGED:
            limit, after = page or (query["limit"], query["after"])
            return PAGED[name](self.db, chain_id, query, scope, limit, after)
        return WHOLE[name](self.db, chain_id, query, scope)

    @rpc
    def report(self, actor: dict, chain_id: str, name: str, query: dict) -> dict:
        """One report as JSON (a page of it, for the detail reports)."""
        loaded = load(QUERIES.get(name, c.LiabilityReportQuery), query)
        return self._run(actor, chain_id, name, loaded, None)

    @rpc
    def export_page(self, actor: dict, chain_id: str, name: str, query: dict, after: str | None) -> dict:
        """The rows of a report for a file: `{"rows", "next_cursor"}`, a large page at a time."""
        loaded = load(c.export_query(QUERIES.get(name, c.LiabilityReportQuery)), query)
        answer = self._run(actor, chain_id, name, loaded, (EXPORT_PAGE, after))
        return {"rows": answer[ROWS[name]], "next_cursor": answer.get("next_cursor"), "time_zone": answer["time_zone"]}

    @rpc
    def dashboard(self, actor: dict, chain_id: str) -> dict:
        """HQ's summary of the chain (the dashboard page's data)."""
        self._hq(actor, chain_id)
        return dashboard.dashboard(self.db, chain_id)

    # ---- commission rules (R-7) -----------------------------------------------------------

    def events_applied(self) -> None:
        """After a transaction's events (services.kit.handlers): each chain's freshness, once."""
        apply.freshen(self.db)

    def _hq(self, actor: dict, chain_id: str) -> None:
        who = Actor.from_dict(actor)
        who.require_chain(chain_id)
        who.require_role(*HQ)

    @rpc
    def commission_rules(self, actor: dict, chain_id: str) -> dict:
        self._hq(actor, chain_id)
        rules = self.db.execute(
            select(CommissionRule).where(CommissionRule.chain_id == chain_id).order_by(CommissionRule.level)
        ).scalars()
        return {"items": [_rule(r) for r in rules]}

    @rpc
    def set_commission_rule(self, actor: dict, chain_id: str, data: dict) -> dict:
        """HQ sets a level's whole rule; setting it again to the same is no change (PUT)."""
        data = load(c.CommissionRuleRequest, data)
        self._hq(actor, chain_id)
        values = {"sales_bp": data["sales_bp"], "item_fixed": data["item_fixed"]}
        with self.db.begin():
            statement = insert(CommissionRule.__table__).values(chain_id=chain_id, level=data["level"], **values)
            self.db.execute(
                statement.on_conflict_do_update(
                    index_elements=[CommissionRule.chain_id, CommissionRule.level],
                    set_={**values, "updated_at": statement.excluded.updated_at},
                )
            )
        return {"level": data["level"], **values}


def _handler(source: str, event_type: str) -> Callable:
    def handle(self: ReportingService, event: Event) -> None:
        apply.apply(self.db, event)

    handle.__name__ = handle.__qualname__ = f"on_{source}_{event_type}"
    return handles(source, event_type)(handle)


# one handler (and durable queue) per event the read model is fed by
for _source, _type in apply.APPLIERS:
    setattr(ReportingService, f"on_{_source}_{_type}", _handler(_source, _type))

SERVICE = ReportingService
