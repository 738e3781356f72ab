"""HTTP operations of the `reporting` service: each report as JSON and as a file (CSV or Excel),
and the commission rules of R-7."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from contracts import reporting as c
from contracts.auth import CHAIN_STAFF, HQ
from gateway.exports import MEDIA_TYPES, Download, csv_chunks, xlsx_chunks
from gateway.operations import ACTOR, BODY, QUERY, Call, Literal, Operation, forward

REPORTS = "/chains/{chain_id}/reports"
SEEN_BY = (*HQ, *CHAIN_STAFF)
SCOPE = (
    " HQ sees the chain; a franchisee their stores; a store manager their store; a cashier only "
    "their own takings of today (store summary, consumption and recharge detail). A store outside "
    "one's scope is 404. `as_of` says how fresh the figures are."
)
# name, summary, rule, query, answer
REPORTS_SHOWN = (
    (c.STORE_SUMMARY, "Store summary by day or month", "R-3", c.SummaryQuery, c.StoreSummary),
    (c.CONSUMPTIONS, "Consumption detail", "R-1", c.DetailQuery, c.Consumptions),
    (c.RECHARGES, "Recharge detail", "R-2", c.DetailQuery, c.Recharges),
    (c.MEMBER_TOTALS, "Recharge and consumption per member", "R-2", c.MemberTotalsQuery, c.MemberTotals),
    (c.LIABILITY, "Stored-value liability at a date", "R-8, W-11", c.LiabilityReportQuery, c.LiabilityReport),
    (c.SETTLEMENT, "Inter-store settlement, netted per pair", "R-8", c.SettlementReportQuery, c.SettlementReport),
    (c.MEMBER_STATS, "Member statistics", "R-4", c.MemberStatsQuery, c.MemberStats),
    (c.RANKINGS, "Member rankings by consumption", "R-5", c.RankingQuery, c.Rankings),
    (c.EMPLOYEES, "Employee performance and commission", "R-7", c.EmployeeQuery, c.Employees),
    (c.POINTS_RANKINGS, "Member rankings by points earned", "R-5", c.RankingQuery, c.PointsRankings),
    (c.GIFT_REDEMPTIONS, "Gift redemption detail", "R-6", c.GiftRedemptionQuery, c.GiftRedemptions),
    (c.GIFT_STATS, "Gift redemption statistics per gift and store", "R-6", c.GiftStatsQuery, c.GiftStats),
)


def _rows(call: Call, report: str) -> tuple[str, Iterator[dict]]:
    """The report's time zone and its rows, page after page. The first page is asked for before
    anything is sent, so a refusal (scope, bad input) is still a proper error answer; a later
    page that fails ends the download short (the status is already sent), and the client sees
    a file cut off, never a complete-looking one with rows missing in the middle."""
    first = call.rpc("reporting", "export_page", call.who, call.params["chain_id"], report, call.query, None)

    def rows() -> Iterator[dict]:
        page = first
        while True:
            yield from page["rows"]
            if not page["next_cursor"]:
                return
            page = call.rpc(
                "reporting", "export_page", call.who, call.params["chain_id"], report, call.query, page["next_cursor"]
            )

    return first["time_zone"], rows()


@dataclass(frozen=True)
class Export:
    """A report as a file, streamed as its pages come."""

    report: str

    @property
    def __name__(self) -> str:  # the operation id
        return f"export_{self.report.replace('-', '_')}"

    def __call__(self, call: Call) -> Download:
        fmt = call.query.get("format", "csv")
        zone, rows = _rows(call, self.report)
        columns = c.COLUMNS[self.report]
        name = f"{self.report}.{fmt}"
        if fmt == "xlsx":
            return Download(MEDIA_TYPES[fmt], name, xlsx_chunks(columns, rows, zone, self.report))
        return Download(MEDIA_TYPES[fmt], name, csv_chunks(columns, rows, zone))


def _operations() -> list[Operation]:
    ops = []
    for report, summary, rule, query, answer in REPORTS_SHOWN:
        ops.append(
            Operation(
                "GET",
                f"{REPORTS}/{report}",
                summary,
                "reporting",
                forward("reporting.report", ACTOR, "chain_id", Literal(report), QUERY, name=report.replace("-", "_")),
                query=query,
                response=answer,
                roles=SEEN_BY,
                description=f"{rule}.{SCOPE}",
            )
        )
        ops.append(
            Operation(
                "GET",
                f"{REPORTS}/{report}/export",
                f"{summary}, as CSV or Excel",
                "reporting",
                Export(report),
                query=c.export_query(query),
                roles=SEEN_BY,
                produces=tuple(MEDIA_TYPES.values()),
                description=f"{rule}. `format=csv`: UTF-8 with a BOM, Chinese headers; `format=xlsx`: "
                "typed cells, money in yuan with two decimals, header row frozen. Every row of the "
                f"range, streamed.{SCOPE}",
            )
        )
    return ops


OPERATIONS: list[Operation] = [
    *_operations(),
    Operation(
        "GET",
        f"{REPORTS}/dashboard",
        "HQ dashboard: today, this month, by store, top members, liability",
        "reporting",
        forward("reporting.dashboard", ACTOR, "chain_id"),
        response=c.Dashboard,
        roles=HQ,
        description="R-3, R-5, R-8 at a glance, and the last 30 days for charts (the page at /dashboard).",
    ),
    Operation(
        "GET",
        "/chains/{chain_id}/commission-rules",
        "Commission rules per employee level (HQ)",
        "reporting",
        forward("reporting.commission_rules", ACTOR, "chain_id"),
        response=c.CommissionRules,
        roles=HQ,
        description="R-7, O-9.",
    ),
    Operation(
        "PUT",
        "/chains/{chain_id}/commission-rules",
        "Set the commission rule of an employee level (HQ)",
        "reporting",
        forward("reporting.set_commission_rule", ACTOR, "chain_id", BODY),
        body=c.CommissionRuleRequest,
        response=c.CommissionRule,
        roles=HQ,
        description="R-7, O-9: a percentage of sales (basis points) and a fixed amount in fen per unit "
        "of a service item. The whole rule of the level is replaced; the same request again changes "
        "nothing.",
    ),
]
