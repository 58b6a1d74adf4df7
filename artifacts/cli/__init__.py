"""The `artifact` command: a terminal and MCP client of the HTTP API.

It talks to the server over HTTP only and imports no Django (nor anything else of the
`artifacts` package), so it runs from any machine that can reach `/api/v1/`.
"""
