"""Frozen assets: pagination, as-of answers, summaries converted between currencies."""

from decimal import Decimal

import pytest

from leverage_client import InvalidArgument, NotFound, values


def test_list_follows_pages_without_gaps_or_repeats(client):
    first = client.list_holdings(page_size=4)
    assert len(first.holdings) == 4
    assert first.total_size > 8, "the embedded dataset has dozens of holdings"
    assert first.next_page_token

    names, token, pages = [], "", 0
    while True:
        page = client.list_holdings(page_size=4, page_token=token)
        assert len(page.holdings) <= 4
        assert page.total_size == first.total_size
        names.extend(h.name for h in page.holdings)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert len(names) == first.total_size
    assert len(set(names)) == len(names), "a holding came twice"
    assert names == sorted(names), "the default order is by name"
    assert pages == -(-first.total_size // 4)
    # The convenience iterator walks the same pages.
    assert [h.name for h in client.holdings(page_size=7)] == names


def test_filter_and_page_token_must_agree(client):
    token = client.list_holdings(page_size=2).next_page_token
    with pytest.raises(InvalidArgument) as e:
        client.list_holdings(page_size=2, page_token=token, filter="jurisdiction = BE")
    assert "page_token" in e.value.fields


def test_euroclear_as_of_end_2024_is_eur_183_bn(client):
    holding = client.get_holding("euroclear-sanctioned-russian", as_of="2024-12-31")
    current = holding.current
    assert current.amount.currency_code == "EUR"
    assert values.money_value(current.amount) == Decimal(183_000_000_000)
    assert values.to_date(current.as_of).isoformat() == "2024-12-31"
    assert current.id == "EC-004"
    assert current.source.publisher, "every figure carries its source"
    # The full series comes with it, oldest first; a day earlier picks the previous figure.
    dates = [values.to_date(o.as_of) for o in holding.observations]
    assert dates == sorted(dates) and len(dates) > 3
    earlier = client.get_holding("holdings/euroclear-sanctioned-russian", as_of="2024-12-30")
    assert earlier.current.id != "EC-004"
    assert values.money_value(earlier.current.amount) < Decimal(183_000_000_000)


def test_observations_come_in_pages_as_the_series_of_get_holding(client):
    series = [o.id for o in client.get_holding("euroclear-sanctioned-russian").observations]
    first = client.list_observations("euroclear-sanctioned-russian", page_size=2)
    assert first.total_size == len(series) and first.next_page_token
    paged = [o.id for o in client.observations("euroclear-sanctioned-russian", page_size=2)]
    assert paged == series
    newest = client.observations("holdings/euroclear-sanctioned-russian", newest_first=True)
    assert [o.id for o in newest] == series[::-1]


def test_unknown_holding_is_not_found(client):
    with pytest.raises(NotFound) as e:
        client.get_holding("no-such-holding")
    assert e.value.reason == "RESOURCE_NOT_FOUND"


def test_summary_in_usd_shows_the_280_bn_estimate_beside_the_sum(client):
    summary = client.summarize_holdings(
        currency="USD", as_of="2025-03-18", filter="owner_kind = CENTRAL_BANK"
    )
    assert summary.currency_code == "USD"
    assert summary.located_total.currency_code == "USD"
    groups_sum = sum(values.money_value(g.total) for g in summary.groups)
    assert abs(values.money_value(summary.located_total) - groups_sum) < Decimal("0.01")
    # EUR holdings were converted at a dated EUR/USD rate, listed so the sum can be checked.
    assert any({r.base_currency, r.quote_currency} == {"EUR", "USD"} for r in summary.rates_used)
    belgium = next(g for g in summary.groups if g.key == "BE")
    assert all(o.converted.currency_code == "USD" for o in belgium.observations)

    repo = [e for e in summary.estimates if e.observation.amount.currency_code == "USD"
            and values.money_value(e.observation.amount) == Decimal(280_000_000_000)]
    assert repo, "the G7/REPO estimate of USD 280 bn is listed beside the sum"
    # ... and never inside it: no group contains an aggregate holding.
    estimate_names = {e.holding for e in summary.estimates}
    used = {o.holding for g in summary.groups for o in g.observations}
    assert not estimate_names & used
