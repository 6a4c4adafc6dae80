"""bench.session_check at toy sizes: the harness runs, and every credential's requests succeed."""

from __future__ import annotations

import pytest

from bench import session_check

pytestmark = pytest.mark.integration


def test_the_session_check_bench_runs_at_toy_sizes():
    costs = session_check.authenticate_cost(50)
    assert [name for name, _ in costs] == [
        "plain JWT, without the sessions layer", "plain JWT", "session token, cached (2 s)", "session token, no cache",
    ]
    assert all(float(us) > 0 for _, us in costs)
    rows = session_check.bench_profile("embedded", concurrency=2, seconds=0.5, repeat=1)
    assert [row[1] for row in rows] == ["plain JWT", "session token, cached (2 s)", "session token, no cache"]
    assert all(int(row[2]) > 0 and row[5] == 0 for row in rows), rows
