"""The SCIM server (orgs.scim) against scim2-tester, the python-scim project's compliance
checker: a live gunicorn (tests.liveserver), a token made by the operator's command, and
every check the tester runs for what the server's ServiceProviderConfig declares (it skips
the checks of features declared unsupported). Black-box: HTTP only."""

import shutil
import tempfile

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.liveserver import app_env, free_port, gunicorn_start, install, manage, process_stop

# What scim2-tester reports for a violated MUST (ERROR) or a security risk (CRITICAL).
FAILING = {Status.ERROR, Status.CRITICAL}


@pytest.fixture(scope="module")
def scim_server():
    """The app's base URL and a SCIM token of its org "acme"."""
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="artifacts-scim-")
    proc = None
    try:
        env = app_env(data_dir, port)
        install(env)
        manage(env, "create_org", "acme")
        token = manage(env, "create_scim_token", "acme").splitlines()[-1]
        proc = gunicorn_start(env, port)
        yield f"http://localhost:{port}", token
    finally:
        process_stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)


def _describe(result) -> str:
    where = f"[{result.resource_type}] " if result.resource_type else ""
    return f"{where}{result.title}: {result.reason}"


def test_scim_server_passes_scim2_tester(scim_server):
    app_url, token = scim_server
    with httpx2.Client(
        base_url=f"{app_url}/scim/v2/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as http:
        # No models given: the tester reads them, and the features, from the discovery
        # endpoints, as an identity provider would.
        results = check_server(SyncSCIMClient(http))

    failing = [_describe(r) for r in results if r.status in FAILING]
    assert not failing, f"{len(failing)} failing SCIM checks:\n" + "\n".join(failing)
    # Not vacuous: discovery described both resource types, and their CRUD and PATCH
    # checks ran (check_server stops after discovery when it cannot describe the server).
    ran = {(r.resource_type, r.title) for r in results if r.status is not Status.SKIPPED}
    for resource_type in ("User", "Group"):
        for title in ("object_creation", "object_replacement", "check_replace_attribute"):
            assert (resource_type, title) in ran, sorted(ran, key=str)
