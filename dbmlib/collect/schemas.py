"""Declared schemas of the sources (customers, transactions, campaigns, campaign contacts and an
optional product catalogue), validated with pandera.

Raw exports are read as text (a raw table keeps what the file said); each column's check
asserts that its text can be read the way the later stages will read it. The ``error``
text of every check is the "expected" part of the error a user sees.

Columns marked required must be present; an optional column that a file lacks is added
empty, so every raw table has the same columns whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

from ..core.parsing import (
    DATE_FORMATS_HELP,
    MONEY_HELP,
    parse_dates,
    parse_flags,
    parse_integers,
    parse_money,
)
from .readers import large_text, no_edge_space

__all__ = ["SOURCES", "SOURCE_ORDER", "SourceSpec", "build_schema"]

MIN_DATE = pd.Timestamp("1900-01-01")
MAX_DATE = pd.Timestamp("2100-01-01")


def _date_check(dayfirst: bool | None, in_range: bool, date_format: str | None = None) -> pa.Check:
    def ok(s: pd.Series) -> pd.Series:
        d = parse_dates(s, dayfirst=dayfirst, date_format=date_format)
        good = d.notna()
        if in_range:
            good &= (d >= MIN_DATE) & (d < MAX_DATE)
        return good

    help_ = (f"a date in the layout {date_format!r}" if date_format else DATE_FORMATS_HELP) + (
        " between 1900 and 2099" if in_range else "")
    return pa.Check(ok, error=help_, name="date")


def _money_check(decimal: str, non_negative: bool) -> pa.Check:
    def ok(s: pd.Series) -> pd.Series:
        v = parse_money(s, decimal=decimal)
        good = v.notna() & (v.abs() < 1e12)
        return good & (v >= 0) if non_negative else good

    what = MONEY_HELP + (", not negative" if non_negative else "") + ", below 10^12"
    return pa.Check(ok, error=what, name="money")


def _share_check(decimal: str) -> pa.Check:
    def ok(s: pd.Series) -> pd.Series:
        v = parse_money(s, decimal=decimal)
        return v.notna() & (v >= 0) & (v <= 1)

    return pa.Check(ok, error="a share between 0 and 1 (0.35 for 35 %)", name="share")


def _int_check(minimum: int | None) -> pa.Check:
    def ok(s: pd.Series) -> pd.Series:
        v = parse_integers(s)
        good = v.notna()
        return (good & (v >= minimum)).fillna(False) if minimum is not None else good

    what = "a whole number" + (f" >= {minimum}" if minimum is not None else "")
    return pa.Check(ok, error=what, name="integer")


_FLAG = pa.Check(lambda s: parse_flags(s).notna(), error="a yes/no flag (Y/N, yes/no, true/false, 1/0)",
                 name="flag")


def _not_blank(s: pd.Series) -> pd.Series:
    arrow = large_text(s)
    if arrow is not None and no_edge_space(arrow):  # nothing to strip (the usual case)
        return s.str.len() > 0
    return s.astype("string").str.strip().str.len() > 0


_NOT_BLANK = pa.Check(_not_blank, error="a non-blank value", name="not_blank")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str = "text"  # text | id | date | date_any | money | money_signed | share | int | int_pos | flag
    required: bool = False
    nullable: bool = True
    unique: bool = False


@dataclass(frozen=True)
class SourceSpec:
    """One source: its raw table, its columns and its keys."""

    name: str
    table: str
    columns: tuple[ColumnSpec, ...]
    references: dict[str, str] = field(default_factory=dict)  # column -> source it refers to
    key: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _checks(kind: str, dayfirst: bool | None, decimal: str, date_format: str | None) -> list[pa.Check]:
    return {
        "text": [],
        "id": [_NOT_BLANK],
        "date": [_date_check(dayfirst, True, date_format)],
        "date_any": [_date_check(dayfirst, False, date_format)],
        "money": [_money_check(decimal, non_negative=True)],
        "money_signed": [_money_check(decimal, non_negative=False)],
        "share": [_share_check(decimal)],
        "int": [_int_check(None)],
        "int_pos": [_int_check(0)],
        "flag": [_FLAG],
    }[kind]


def _amount_or_price(df: pd.DataFrame) -> pd.Series:
    """A line needs its amount, or a quantity and a unit price to compute it from."""
    return df["amount"].notna() | (df["quantity"].notna() & df["unit_price"].notna())


SOURCES: dict[str, SourceSpec] = {
    "customers": SourceSpec(
        "customers",
        "raw_customers",
        (
            ColumnSpec("customer_id", "id", required=True, nullable=False, unique=True),
            ColumnSpec("first_name"), ColumnSpec("last_name"), ColumnSpec("email"),
            ColumnSpec("phone"), ColumnSpec("street"), ColumnSpec("postcode"),
            ColumnSpec("region"), ColumnSpec("birth_date", "date_any"), ColumnSpec("gender"),
            ColumnSpec("income_band"), ColumnSpec("signup_date", "date"),
            ColumnSpec("acquisition_channel"), ColumnSpec("email_opt_in", "flag"),
        ),
        key=("customer_id",),
    ),
    "transactions": SourceSpec(
        "transactions",
        "raw_transactions",
        (
            ColumnSpec("order_id", "id", nullable=False),
            ColumnSpec("customer_id", "id", required=True, nullable=False),
            ColumnSpec("order_ts", "date", required=True, nullable=False),
            ColumnSpec("channel"), ColumnSpec("category"),
            ColumnSpec("quantity", "int"),
            ColumnSpec("amount", "money_signed"),
            ColumnSpec("returned_order_id"),
            ColumnSpec("product_id"), ColumnSpec("product_name"),
            ColumnSpec("unit_price", "money_signed"),
            ColumnSpec("country"), ColumnSpec("region"),
        ),
        references={"customer_id": "customers"},
    ),
    "campaigns": SourceSpec(
        "campaigns",
        "raw_campaigns",
        (
            ColumnSpec("campaign_id", "id", required=True, nullable=False, unique=True),
            ColumnSpec("name"), ColumnSpec("channel", required=True),
            ColumnSpec("start_date", "date", required=True, nullable=False),
            ColumnSpec("response_window_days", "int_pos"),
            ColumnSpec("contact_cost", "money"), ColumnSpec("offer"),
        ),
        key=("campaign_id",),
    ),
    "campaign_contacts": SourceSpec(
        "campaign_contacts",
        "raw_campaign_contacts",
        (
            ColumnSpec("campaign_id", "id", required=True, nullable=False),
            ColumnSpec("customer_id", "id", required=True, nullable=False),
            ColumnSpec("group", "id", required=True, nullable=False),
            ColumnSpec("contacted", "flag"),
            ColumnSpec("contact_date", "date"),
            ColumnSpec("contact_cost", "money"),
            ColumnSpec("responded", "flag", required=True, nullable=False),
            ColumnSpec("response_revenue", "money"),
            ColumnSpec("offer"),  # what this customer was offered (a cross-sell campaign's category)
        ),
        references={"campaign_id": "campaigns", "customer_id": "customers"},
        key=("campaign_id", "customer_id"),
    ),
    "products": SourceSpec(
        "products",
        "raw_products",
        (
            ColumnSpec("product_id", "id", required=True, nullable=False, unique=True),
            ColumnSpec("product_name"), ColumnSpec("category"),
            ColumnSpec("list_price", "money"), ColumnSpec("margin_rate", "share"),
        ),
        key=("product_id",),
    ),
}
#: Load order: referenced sources first (the optional product catalogue references nothing).
SOURCE_ORDER = ["customers", "transactions", "campaigns", "campaign_contacts", "products"]


def build_schema(spec: SourceSpec, *, dayfirst: bool | None = True, decimal: str = ".",
                 date_format: str | None = None) -> pa.DataFrameSchema:
    """The pandera schema of a source, for the given date and decimal conventions."""
    cols = {
        c.name: pa.Column(
            dtype=None,
            checks=_checks(c.kind, dayfirst, decimal, date_format),
            nullable=c.nullable,
            unique=c.unique,
            report_duplicates="exclude_first",
            required=True,  # optional columns are added empty before validation
        )
        for c in spec.columns
    }
    checks = []
    if spec.name == "transactions":
        checks.append(pa.Check(_amount_or_price, name="amount_or_price",
                               error="an amount, or a quantity and a unit_price"))
    unique = list(spec.key) if len(spec.key) > 1 else None
    return pa.DataFrameSchema(cols, checks=checks, unique=unique,
                              report_duplicates="exclude_first", strict=False, coerce=False,
                              name=spec.name)
