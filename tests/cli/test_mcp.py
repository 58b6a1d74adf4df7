"""`artifact mcp` driven by the official MCP client SDK over stdio: the tools are listed,
publishing creates an artifact the API sees, and failures are tool errors."""

import sys
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.liveserver import ROOT

TOOLS = {
    "publish_artifact",
    "list_artifacts",
    "artifact_versions",
    "artifact_views",
    "share_artifact",
    "unshare_artifact",
    "fetch_artifact_source",
}


@pytest.fixture
def mcp_session(cli_env, tmp_path):
    """mcp_session(scenario): runs `async scenario(session)` against `artifact mcp`."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "artifact_cli", "mcp"],
        env={k: cli_env[k] for k in ("PYTHONPATH", "ARTIFACT_URL", "ARTIFACT_TOKEN")},
        cwd=str(ROOT),
    )

    def run(scenario):
        async def main():
            with open(tmp_path / "mcp-stderr.log", "w") as errlog:
                async with (
                    stdio_client(params, errlog=errlog) as (read, write),
                    ClientSession(read, write) as session,
                ):
                    await session.initialize()
                    return await scenario(session)

        # A thread of its own: a session-scoped Playwright may own this thread's event loop.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(anyio.run, main).result()

    return run


def test_mcp_tools_publish_list_share_and_fetch(mcp_session, api, server):
    page = "<!doctype html><h1>From an agent ✓</h1>"

    async def scenario(session):
        tools = {tool.name for tool in (await session.list_tools()).tools}
        published = await session.call_tool(
            "publish_artifact", {"content": page, "name": "agent.html", "title": "By agent"}
        )
        artifact_id = published.structured_content["id"]
        listed = await session.call_tool("list_artifacts", {})
        shared = await session.call_tool("share_artifact", {"artifact_id": artifact_id})
        updated = await session.call_tool(
            "publish_artifact",
            {"content": page + "<p>2</p>", "name": "agent.html", "artifact_id": artifact_id},
        )
        source = await session.call_tool(
            "fetch_artifact_source", {"artifact_id": artifact_id, "version": 1}
        )
        return tools, published, listed, shared, updated, source

    tools, published, listed, shared, updated, source = mcp_session(scenario)
    assert tools == TOOLS
    assert not published.is_error
    result = published.structured_content
    assert result["url"] == f"{server.app_url}/a/{result['id']}/"
    assert result["url"] in published.content[0].text
    detail = api.get(f"/artifacts/{result['id']}").json()
    assert (detail["title"], detail["latest_version"]) == ("By agent", 2)
    assert detail["visibility"] == "org"
    assert listed.structured_content["artifacts"][0]["id"] == result["id"]  # last updated
    assert "next_cursor" in listed.structured_content
    assert shared.structured_content["visibility"] == "org"
    assert updated.structured_content["version"] == 2
    assert source.structured_content["source"] == page
    assert source.structured_content["url"] == result["url"]


def test_mcp_failures_are_one_line_tool_errors(mcp_session, server):
    first = server.push("c.html", b"<p>1</p>")

    async def scenario(session):
        await session.call_tool(
            "publish_artifact",
            {"content": "<p>2</p>", "name": "c.html", "artifact_id": first["id"]},
        )
        return [
            await session.call_tool(name, arguments)
            for name, arguments in [
                ("artifact_versions", {"artifact_id": "nosuchartifact"}),
                ("publish_artifact", {"content": "x", "name": "notes.txt"}),
                ("publish_artifact", {"path": "/nonexistent/page.html"}),
                (
                    "publish_artifact",
                    {
                        "content": "<p>3</p>",
                        "name": "c.html",
                        "artifact_id": first["id"],
                        "base_version": 1,
                    },
                ),
            ]
        ]

    not_found, wrong_type, missing, conflict = mcp_session(scenario)
    for result in (not_found, wrong_type, missing, conflict):
        assert result.is_error
        assert "\n" not in result.content[0].text
    assert "artifact nosuchartifact not found" in not_found.content[0].text
    assert "unsupported file type '.txt'" in wrong_type.content[0].text
    assert "no such file: /nonexistent/page.html" in missing.content[0].text
    assert "version 2 of" in conflict.content[0].text
    assert "base_version=2" in conflict.content[0].text


def test_mcp_list_artifacts_pages_with_its_cursor(mcp_session, many):
    async def scenario(session):
        pages = [await session.call_tool("list_artifacts", {"query": many.tag, "limit": 2})]
        while pages[-1].structured_content["next_cursor"]:
            arguments = {"query": many.tag, "limit": 150}
            arguments["cursor"] = pages[-1].structured_content["next_cursor"]
            pages.append(await session.call_tool("list_artifacts", arguments))
        tool = next(t for t in (await session.list_tools()).tools if t.name == "list_artifacts")
        bad = await session.call_tool("list_artifacts", {"cursor": "not-a-cursor"})
        too_many = await session.call_tool("list_artifacts", {"limit": 500})
        return pages, tool, bad, too_many

    pages, tool, bad, too_many = mcp_session(scenario)
    assert [len(p.structured_content["artifacts"]) for p in pages] == [2, 150, 51]
    listed = [a["id"] for p in pages for a in p.structured_content["artifacts"]]
    assert listed == many.ids  # each exactly once, in order
    assert "next_cursor" in tool.description and {"limit", "cursor", "query"} <= set(
        tool.input_schema["properties"]
    )
    assert bad.is_error and "cursor" in bad.content[0].text
    assert too_many.is_error


def test_mcp_publishes_into_a_collection_and_lists_it(mcp_session, api):
    async def scenario(session):
        published = await session.call_tool(
            "publish_artifact",
            {"content": "<p>x</p>", "name": "a.html", "collection": "Agent Runs"},
        )
        listed = await session.call_tool("list_artifacts", {"collection": "agent-runs"})
        return published, listed

    published, listed = mcp_session(scenario)
    assert not published.is_error, published.content
    artifact_id = published.structured_content["id"]
    assert api.get(f"/artifacts/{artifact_id}").json()["collections"] == ["agent-runs"]
    assert artifact_id in [a["id"] for a in listed.structured_content["artifacts"]]


def test_mcp_artifact_views_tells_who_opened_it(mcp_session, api):
    async def scenario(session):
        published = await session.call_tool(
            "publish_artifact", {"content": "<p>x</p>", "name": "v.html"}
        )
        artifact_id = published.structured_content["id"]
        views = await session.call_tool("artifact_views", {"artifact_id": artifact_id})
        missing = await session.call_tool("artifact_views", {"artifact_id": "no-such-id"})
        return views, missing

    views, missing = mcp_session(scenario)
    assert not views.is_error, views.content
    assert views.structured_content["views"] == 0 and views.structured_content["items"] == []
    assert missing.is_error
