"""Three Parley servers behind nginx (deploy/nginx/parley.conf), under load, losing nothing while
one server is SIGKILLed, another stopped with SIGTERM and started again, and Redis restarted
(issue 21; docs/deployment.md).

On the postgres profile, then aws on DynamoDB Local: 300 websocket subscribers over 30 threads
and a steady stream of posts, all through the balancer. Clients do what docs/deployment.md tells
them to: a dropped socket reconnects through the balancer with its last cursor, a failed post is
retried with the same uuid after Retry-After. The audit then asks for zero lost, zero duplicated,
every subscriber sent its thread's every event once and in order, no answer but 2xx or 503 with
Retry-After, and nginx having taken the dead server out. `pytest -s` prints the figures.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest

from adapters.dynamodb.tables import delete_tables
from tests.support.cluster import (
    Cluster,
    Fault,
    Load,
    audit,
    balancer_took_out,
    cluster_env,
    fault_figures,
    nginx_binary,
)
from tests.support.dynamodb import admin_client
from tests.support.postgres import fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.serial]

SUBSCRIBERS, THREADS = 300, 30
SECONDS = 30.0  # of posting; the faults at 5 s, 12 s and 21 s
RATE = {"postgres": 20.0, "aws": 5.0}  # posts a second (DynamoDB Local takes far fewer writes)


@pytest.fixture
def own_database():
    """The session's database is shared with tests that post to the same thread ids."""
    with fresh_database("parley_cluster") as url:
        yield url


@pytest.fixture(params=["postgres", "aws"])
def cluster(request, own_redis, tmp_path):
    if nginx_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is required on CI (scripts/test installs it)")
        pytest.skip("nginx is not installed: apt-get install nginx")
    if request.param == "postgres":
        env = cluster_env("postgres", own_redis.url, database_url=request.getfixturevalue("own_database"))
    else:
        endpoint = request.getfixturevalue("dynamodb_endpoint")
        env = cluster_env("aws", own_redis.url, dynamodb_endpoint=endpoint)
        # The session's DynamoDB Local keeps tables in memory: drop this test's when it ends.
        prefix = env["PARLEY_DYNAMODB_TABLE_PREFIX"]
        request.addfinalizer(lambda: delete_tables(admin_client(endpoint), prefix))
    cluster = Cluster(env, own_redis, tmp_path, size=3)
    try:
        yield request.param, cluster.start()
    finally:
        cluster.close()


def _restart(cluster: Cluster, index: int) -> None:
    cluster.terminate(index)
    cluster.start_server(index)


@pytest.mark.timeout(420)  # a busy two-core machine; on a quiet one a profile takes about a minute
def test_a_cluster_loses_nothing_when_servers_die_and_redis_restarts(cluster):
    profile, cluster = cluster
    load = Load(cluster.nginx.url, cluster.nginx.ws_url, THREADS, SUBSCRIBERS, RATE[profile])
    load.open_threads()
    faults = [
        Fault("SIGKILL server 1", 5, lambda: cluster.kill(0)),
        Fault("SIGTERM server 2, then start it again", 12, lambda: _restart(cluster, 1)),
        Fault("restart Redis", 21, lambda: cluster.redis.restart(down_seconds=1.0)),
    ]
    load.run(SECONDS, faults, connect_seconds=10)
    stored = load.stored()
    load.finish(stored)
    ended_wall = time.time()

    tally = audit(load, stored)
    figures = fault_figures(load, faults)
    kill, term, _ = faults
    dead = balancer_took_out(cluster.nginx, cluster.address(0), kill.started_wall + 1, ended_wall)
    back = balancer_took_out(cluster.nginx, cluster.address(1), term.started_wall + 15, ended_wall)
    print(f"\n{profile}: {tally}\n{profile}: nginx and the dead server: {dead}; the restarted one: {back}")
    for row in figures:
        print(f"{profile}: {row}")
    odd = [(round(a.at - load.started, 1), a.status, round(a.seconds, 2)) for a in load.attempts if a.status <= 0]
    errors = sum((s.errors for s in load.subs), Counter())
    codes = Counter(code for s in load.subs for _, _, code in s.drops)
    print(f"{profile}: subscriber errors {dict(errors)}; close codes {dict(codes)}")
    print(f"{profile}: phases (s): { {k: round(v, 1) for k, v in load.phases.items()} }")
    print(f"{profile}: slowest answer to a post: {max(a.seconds for a in load.attempts):.2f} s")
    print(f"{profile}: attempts without an answer (at s, status, seconds): {odd}")

    assert tally["acked"] == int(RATE[profile] * SECONDS) + THREADS  # every post was acknowledged in the end
    assert tally["stored"] == tally["acked"]
    for count in (
        "lost",
        "duplicated",
        "never_acked_but_stored",
        "subscribers_missing_events",
        "subscribers_sent_twice",
        "subscribers_out_of_order",
        "subscribers_sent_unstored",
    ):
        assert tally[count] == 0, (count, tally)
    assert tally["bad_answers"] == {} and tally["503_without_retry_after"] == 0, tally

    killed, terminated, _ = figures
    # The killed server held about a third of the sockets; each was served again elsewhere.
    assert killed["sockets_dropped"] >= SUBSCRIBERS // 10 and killed["never_served_again"] == 0, killed
    assert terminated["sockets_dropped"] >= SUBSCRIBERS // 10 and terminated["never_served_again"] == 0, terminated
    # SIGTERM told its sockets to reconnect (1012, service restart) rather than dropping them.
    assert terminated["close_codes"].get(1012, 0) >= terminated["sockets_dropped"] * 0.9, terminated

    # Passive health checks: nginx marked the dead server down and sent it almost nothing after.
    assert dead["disabled_lines"] >= 1, dead
    assert dead["answered_by_dead"] == 0, dead
    assert dead["tried_dead"] <= max(5, dead["requests"] * 0.1), dead
    # ... and took the restarted one back.
    assert back["answered_by_dead"] > 0, back

    logs = cluster.nginx.all_logs()
    assert "token=" not in logs and "eyJ" not in logs  # no websocket token in nginx's logs
