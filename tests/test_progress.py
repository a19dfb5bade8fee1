"""Progress bars: text bars on stderr that end at their total; disabled bars print nothing."""

import pytest

from dbmlib.core.progress import StepBar, bar


def test_step_bar_counts_steps_and_ends_done(capsys):
    with StepBar("clean", ["read", "customers", "write"]) as b:
        b.step("read")
        b.step("customers")
        b.step("write")
        b.close()
    err = capsys.readouterr().err
    assert "clean" in err and "3/3" in err and "done" in err
    with pytest.raises(ValueError, match="unknown step"):
        StepBar("x", ["a"], enabled=False).step("b")


def test_disabled_bars_are_silent(capsys):
    with StepBar("clean", ["read"], enabled=False) as b:
        b.step("read")
        b.close()
    assert sum(1 for _ in bar(range(7), desc="loop", enabled=False)) == 7
    assert capsys.readouterr().err == ""


def test_bootstrap_progress_reaches_its_total(capsys):
    from dbmlib.demo.simulate import transaction_log
    from dbmlib.models.btyd_validation import bootstrap_params
    from dbmlib.segment.rfm import rfm_summary

    s = rfm_summary(transaction_log(800, seed=3), "customer_id", "order_ts", None, "2024-12-31")
    params = bootstrap_params(s, n_boot=4, seed=1, progress=True)
    assert len(params) == 4
    assert "bootstrap: 100%" in capsys.readouterr().err
