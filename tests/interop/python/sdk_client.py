"""The official MCP Python SDK client (PyPI `mcp`, pinned in requirements.txt) against omnichat.

Its `OAuthClientProvider` does the whole flow by itself: RFC 9728 discovery from the server's
challenge, RFC 8414 metadata, RFC 7591 registration, the authorization request with PKCE (the
"user" below signs in and approves on the real pages), the code exchange, and the retried MCP
request with the token. Then the client calls protected tools.

The SDK starts authorization only when the server answers HTTP 401 (or 403 insufficient_scope).
omnichat answers an anonymous call of a protected tool with a tool result carrying the Apps SDK
challenge (`_meta["mcp/www_authenticate"]`, HTTP 200), which this SDK does not act on; the 401
comes when a token is presented that the server does not accept. So the authorized session
starts from a stored token the server rejects, as a client with a stale token does.

Usage: sdk_client.py MCP_URL USERNAME  (password on stdin)
Prints one JSON object per check ({"check", "ok", "detail"}); exits 1 if any check failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from html.parser import HTMLParser
from importlib.metadata import version
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
from mcp import Client
from mcp_types import Implementation
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

REDIRECT_URI = "http://127.0.0.1:33419/callback"  # loopback; the user stops at it
RESULTS: list[dict] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    RESULTS.append({"check": name, "ok": bool(ok), "detail": detail})
    print(json.dumps(RESULTS[-1]), flush=True)


class MemoryStorage:
    """TokenStorage kept in memory, counting what the provider saves."""

    def __init__(self, tokens: OAuthToken | None = None) -> None:
        self.tokens = tokens
        self.client_info: OAuthClientInformationFull | None = None
        self.registrations = 0

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info
        self.registrations += 1


class FormParser(HTMLParser):
    """Collects the forms of a page: action, method, inputs and submit buttons."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._button: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(), "inputs": [], "buttons": []})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["inputs"].append((a["name"], a.get("value", ""), a.get("type", "text").lower()))
        elif tag == "button" and self.forms:
            self._button = {"name": a.get("name"), "value": a.get("value", "")}
            self.forms[-1]["buttons"].append(self._button)


class User:
    """The person at the browser: signs in, approves, keeps cookies, follows redirects by hand."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.http = httpx2.AsyncClient(follow_redirects=False, timeout=30)
        self.pages: list[str] = []
        self.callback: dict[str, list[str]] | None = None

    async def authorize(self, url: str) -> None:
        target = urlparse(REDIRECT_URI)
        method, data = "GET", None
        for _ in range(12):
            parsed = urlparse(url)
            if method == "GET" and (parsed.scheme, parsed.netloc, parsed.path) == (target.scheme, target.netloc, target.path):
                self.callback = parse_qs(parsed.query)
                return
            headers = {"accept": "text/html"}
            response = await self.http.request(method, url, data=data, headers=headers)
            if 300 <= response.status_code < 400:
                url = urljoin(url, response.headers["location"])
                method, data = "GET", None
                continue
            parser = FormParser()
            parser.feed(response.text)
            login = next((f for f in parser.forms if any(i[0] == "password" for i in f["inputs"])), None)
            consent = next((f for f in parser.forms if any(b["name"] == "decision" for b in f["buttons"])), None)
            if response.status_code == 200 and login:
                self.pages.append("login")
                values = {"username": self.username, "password": self.password}
                data = {name: values.get(name, value) for name, value, kind in login["inputs"] if kind not in ("submit", "button")}
                url, method = urljoin(url, login["action"] or url), login["method"].upper()
                continue
            if response.status_code == 200 and consent:
                self.pages.append("consent")
                data = {name: value for name, value, kind in consent["inputs"] if kind not in ("submit", "button")}
                data["decision"] = "approve"
                url, method = urljoin(url, consent["action"] or url), consent["method"].upper()
                continue
            raise RuntimeError(f"unexpected page {response.status_code} at {parsed.path}: {response.text[:300]}")
        raise RuntimeError("too many steps before the redirect to the client")

    async def callback_result(self) -> AuthorizationCodeResult:
        if not self.callback:
            raise RuntimeError("the user never reached the redirect URI")
        one = lambda key: (self.callback.get(key) or [None])[0]  # noqa: E731
        return AuthorizationCodeResult(code=one("code"), state=one("state"), iss=one("iss"))


def describe(error: BaseException) -> str:
    """The innermost exceptions of an exception group, as `Type: message` lines."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe(e) for e in error.exceptions)
    return f"{type(error).__name__}: {error}"


def tool_json(result) -> dict:
    if result.is_error:
        raise AssertionError(f"tool error: {result.content}")
    return result.structured_content or {}


async def main(mcp_url: str, username: str, password: str) -> None:
    issuer = mcp_url.rsplit("/mcp", 1)[0]
    client_info = Implementation(name="omnichat-interop-python", version=version("mcp"))

    # 1. Anonymous: what the SDK makes of the Apps SDK challenge.
    try:
        async with Client(mcp_url, client_info=client_info) as anonymous:
            tools = await anonymous.list_tools()
            names = {t.name for t in tools.tools}
            check("anonymous tools/list", "public_search" in names and "private_files_read" in names, f"{sorted(names)}")
            result = await anonymous.call_tool("private_files_list", {"path": ""})
            meta = result.meta or {}
            challenges = meta.get("mcp/www_authenticate") or []
            check(
                "anonymous protected call carries the mcp/www_authenticate challenge",
                result.is_error and len(challenges) == 1 and f'resource_metadata="{issuer}/.well-known/oauth-protected-resource/mcp"' in challenges[0],
                f"isError={result.is_error} _meta={meta}",
            )
    except Exception as error:  # noqa: BLE001
        check("anonymous session", False, describe(error))

    # 2. The OAuthClientProvider's own flow.
    storage = MemoryStorage(tokens=OAuthToken(access_token="stale-token-from-an-earlier-session"))
    user = User(username, password)
    redirects: list[str] = []

    async def redirect_handler(url: str) -> None:
        redirects.append(url)
        await user.authorize(url)

    provider = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="omnichat interop (Python SDK)",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=user.callback_result,
    )
    try:
        async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
            async with Client(streamable_http_client(mcp_url, http_client=http), client_info=client_info) as client:
                check("OAuthClientProvider registered one client dynamically", storage.registrations == 1 and storage.client_info is not None,
                      f"registrations={storage.registrations}")
                check("the user saw the login and consent pages", user.pages == ["login", "consent"], f"pages={user.pages}")
                auth_url = urlparse(redirects[0]) if redirects else None
                query = parse_qs(auth_url.query) if auth_url else {}
                check(
                    "authorization request: PKCE S256 and resource",
                    auth_url is not None and query.get("code_challenge_method") == ["S256"] and query.get("resource") == [mcp_url],
                    f"{redirects[:1]}",
                )
                check("authorization response carried iss", (user.callback or {}).get("iss") == [issuer], f"{user.callback}")
                tokens = storage.tokens
                check(
                    "tokens from the code exchange",
                    tokens is not None and tokens.access_token != "stale-token-from-an-earlier-session" and bool(tokens.refresh_token),
                    f"scope={tokens.scope if tokens else None}",
                )
                written = tool_json(await client.call_tool("private_files_write", {"path": "python/hello.txt", "content": "hello from the Python SDK"}))
                read = tool_json(await client.call_tool("private_files_read", {"path": "python/hello.txt"}))
                check("protected tools: private_files_write then private_files_read", read.get("content") == "hello from the Python SDK",
                      f"write={written} read={read}")
                message = tool_json(await client.call_tool("private_chat_write", {"content": "hello from Python"}))
                check("protected tool: private_chat_write returns ids", bool(message.get("conversation_id")) and bool(message.get("message_id")), f"{message}")
    except Exception as error:  # noqa: BLE001
        check("authorized session", False, describe(error))
    finally:
        await user.http.aclose()


if __name__ == "__main__":
    password = sys.stdin.readline().rstrip("\n")
    asyncio.run(main(sys.argv[1], sys.argv[2], password))
    sys.exit(0 if RESULTS and all(r["ok"] for r in RESULTS) else 1)
