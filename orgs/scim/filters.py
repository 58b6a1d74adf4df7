"""SCIM filters (RFC 7644 §3.4.2.2) as database queries. scim2-models parses and checks
the filter against the published schema; this walks its syntax tree into a Django Q over
the columns that hold each attribute, so a lookup by userName is one indexed query, not a
scan of the org. An attribute or operator without a column here is refused (400)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

_CI = {  # case-insensitive text: userName, displayName (caseExact false in RFC 7643)
    CompareOperator.eq: "iexact",
    CompareOperator.co: "icontains",
    CompareOperator.sw: "istartswith",
    CompareOperator.ew: "iendswith",
}
_EXACT = {  # case-exact text: externalId
    CompareOperator.eq: "exact",
    CompareOperator.co: "contains",
    CompareOperator.sw: "startswith",
    CompareOperator.ew: "endswith",
}
_ORDER = {
    CompareOperator.eq: "exact",
    CompareOperator.gt: "gt",
    CompareOperator.ge: "gte",
    CompareOperator.lt: "lt",
    CompareOperator.le: "lte",
}


@dataclass(frozen=True)
class Column:
    """Where an attribute is stored. kind: "text" (case-insensitive), "exact" (case-exact
    text), "uuid", "bool", "datetime", or "custom" with `equals(value) -> Q`."""

    lookup: str
    kind: str = "text"
    equals: Callable[[str], Q] | None = None


class _QueryBuilder(FilterVisitor[Q]):
    def __init__(self, columns: dict[str, Column], schema: str):
        self.columns = columns
        self.schema = schema.lower()

    def _column(self, attr_path: AttrPath, parent: str = "") -> tuple[str, Column]:
        name = attr_path.attr + (f".{attr_path.sub_attr}" if attr_path.sub_attr else "")
        name = f"{parent}.{name}" if parent else name
        column = self.columns.get(name.lower())
        if attr_path.uri and attr_path.uri.lower() != self.schema:
            column = None  # an extension's attribute: none is stored
        if column is None:
            raise InvalidFilterException(detail=f"Filtering on {name} is not supported.")
        return name, column

    def visit_comparison(self, node: Comparison, parent: str = "") -> Q:
        name, column = self._column(node.attr_path, parent)
        op, value = node.op, node.value
        if op == CompareOperator.ne:
            return ~self.visit_comparison(
                Comparison(node.attr_path, CompareOperator.eq, value), parent
            )
        if column.kind in ("text", "exact"):
            lookup = (_CI if column.kind == "text" else _EXACT).get(op)
            if lookup and isinstance(value, str):
                return Q(**{f"{column.lookup}__{lookup}": value})
        elif column.kind == "datetime" and op in _ORDER:
            try:
                when = parse_datetime(value) if isinstance(value, str) else value
            except ValueError:  # a date of no calendar (month 13)
                when = None
            # Within a day of the calendar's ends, a time zone's offset overflows it.
            if isinstance(when, datetime) and datetime.min.year < when.year < datetime.max.year:
                return Q(**{f"{column.lookup}__{_ORDER[op]}": when})
        elif column.kind == "bool" and op == CompareOperator.eq and isinstance(value, bool):
            return Q(**{column.lookup: value})
        elif column.kind == "uuid" and op == CompareOperator.eq and isinstance(value, str):
            try:
                return Q(**{column.lookup: uuid.UUID(value)})
            except ValueError:
                return Q(pk__in=[])  # not an id of ours: matches nothing
        elif column.kind == "custom" and op == CompareOperator.eq and isinstance(value, str):
            return column.equals(value)
        raise InvalidFilterException(detail=f"The operator {op} is not supported on {name}.")

    def visit_present(self, node: Present, parent: str = "") -> Q:
        _, column = self._column(node.attr_path, parent)
        if column.kind in ("text", "exact"):
            return ~Q(**{column.lookup: ""})
        if column.kind == "bool":
            return Q(**{f"{column.lookup}__isnull": False})
        return Q()  # ids, dates and members: always there when the resource is

    def visit_not(self, node: Not, parent: str = "") -> Q:
        return ~self._visit(node.expr, parent)

    def visit_logical_expr(self, node: LogicalExpr, parent: str = "") -> Q:
        terms = [self._visit(term, parent) for term in node.terms]
        query = terms[0]
        for term in terms[1:]:
            query = query & term if node.op == LogicalOperator.and_ else query | term
        return query

    def visit_value_path(self, node: ValuePath, parent: str = "") -> Q:
        # emails[value eq "x"] reads as emails.value eq "x": one value per resource here.
        return self._visit(node.val_filter, node.attr_path.attr)

    def _visit(self, node, parent: str) -> Q:
        if isinstance(node, Comparison):
            return self.visit_comparison(node, parent)
        if isinstance(node, Present):
            return self.visit_present(node, parent)
        if isinstance(node, Not):
            return self.visit_not(node, parent)
        if isinstance(node, LogicalExpr):
            return self.visit_logical_expr(node, parent)
        return self.visit_value_path(node, parent)


def filter_query(scim_filter: ScimFilter, columns: dict[str, Column], schema: str) -> Q:
    """The Q selecting what the (already parsed and checked) filter selects, for the
    resource of core `schema`; raises InvalidFilterException for what has no column here."""
    return _QueryBuilder(columns, schema)._visit(scim_filter.ast, "")
