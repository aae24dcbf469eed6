"""The cost guard's arithmetic on hand-made diffs: thresholds are strict, increases never net against decreases."""

from __future__ import annotations

from decimal import Decimal

from tiergate.costdiff import CostDiff, Money, Spend, TaskDiff, guard
from tiergate.models import CostGuard

D = Decimal


def task(name: str, before: str | None, after: str | None, direct: tuple[str, str] = ("0", "0")) -> TaskDiff:
    def side(all_in: str | None, d: str) -> Spend | None:
        return None if all_in is None else Spend("lite", "lite", 1, Money(D(d), D(all_in)))
    return TaskDiff(name, f"policy/tasks/{name}.yaml", "@a/b", side(before, direct[0]), side(after, direct[1]), ("x",))


def rules(**kwargs) -> CostGuard:
    return CostGuard.model_validate(kwargs)


def test_an_increase_exactly_at_the_threshold_is_not_above_it():
    assert guard(CostDiff([task("a", "100", "600")]), rules(monthly_increase_usd=500)) == []
    [hit] = guard(CostDiff([task("a", "100", "600.01")]), rules(monthly_increase_usd=500))
    assert hit.increase.all_in == D("500.01") and hit.over == ("all-in above $500.00 a month",) and not hit.total


def test_percent_is_of_the_base_spend_of_the_tasks_that_rose():
    diff = CostDiff([task("a", "100", "121"), task("b", "10000", "1000")])  # +21% and a large cut
    [hit] = guard(diff, rules(monthly_increase_percent=20))
    assert hit.tasks[0].task == "a" and hit.base.all_in == D("100") and "all-in above 20% of the base spend" in hit.over


def test_new_spend_is_above_any_percent():
    [hit] = guard(CostDiff([task("new", None, "5")]), rules(monthly_increase_percent=1000))
    assert hit.over == ("all-in new spend (no base to compare)",)


def test_the_total_adds_increases_only():
    diff = CostDiff([task("a", "0.5", "300.5"), task("b", "1", "301"), task("c", "5000", "100")])
    hits = guard(diff, rules(monthly_increase_usd=500))
    assert [(h.total, h.increase.all_in) for h in hits] == [(True, D("600"))]
    assert guard(CostDiff([task("a", "0", "300"), task("b", "0", "200")]), rules(monthly_increase_usd=500)) == []


def test_direct_counts_even_when_all_in_falls():
    diff = CostDiff([task("a", "1000", "900", direct=("10", "700"))])
    [hit] = guard(diff, rules(monthly_increase_usd=500))
    assert hit.over == ("direct above $500.00 a month",) and hit.increase == Money(D("690"), D("0"))


def test_no_guard_no_breach():
    assert guard(CostDiff([task("a", "0", "1e9")]), None) == []
