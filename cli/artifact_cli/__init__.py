"""The `artifact` command: a terminal and MCP client of the org artifact server's HTTP API.

Its own distribution (artifact-cli): it talks to the server over HTTP only and imports no
Django nor anything of the server, so it runs from any machine that can reach `/api/v1/`.
"""

__version__ = "0.2.0"
