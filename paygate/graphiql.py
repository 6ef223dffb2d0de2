"""GraphiQL served by paygate itself, so it works with no internet access: the page at GET /graphql
(development and test; off in production) and its scripts and styles under /graphiql/.

The assets are the npm packages Strawberry's own page loads from a CDN, at the same pinned
versions, committed gzip-compressed in paygate/static/graphiql/ (LICENSES.txt there). Each is
checked against its sha384 when the app is built, the same values as Strawberry's page's
`integrity` attributes and ours, so the browser checks them too. To move to other versions:
`npm pack <package>@<version>` (npm checks the registry's integrity), gzip -9 -n the file named
below, and put the new sha384 (`openssl dgst -sha384 -binary FILE | base64`) in ASSETS.

A browser that accepts gzip gets the committed bytes as they are; another gets them inflated.
"""
from __future__ import annotations

import base64
import functools
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static" / "graphiql"
PREFIX = "/graphiql/"
_JS, _CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Asset:
    name: str        # the file under STATIC, without .gz, and its path under PREFIX
    package: str     # npm package@version, and the file in its tarball
    sha384: str      # base64, as in an `integrity` attribute
    media_type: str


ASSETS = (
    Asset("react-18.2.0.production.min.js", "react@18.2.0 umd/react.production.min.js",
          "tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8", _JS),
    Asset("react-dom-18.2.0.production.min.js", "react-dom@18.2.0 umd/react-dom.production.min.js",
          "bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh", _JS),
    Asset("graphiql-3.8.3.min.css", "graphiql@3.8.3 graphiql.min.css",
          "Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM", _CSS),
    Asset("plugin-explorer-1.0.2.css", "@graphiql/plugin-explorer@1.0.2 dist/style.css",
          "5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi", _CSS),
    Asset("graphiql-3.8.3.min.js", "graphiql@3.8.3 graphiql.min.js",
          "HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie", _JS),
    Asset("plugin-explorer-1.0.2.umd.js", "@graphiql/plugin-explorer@1.0.2 dist/index.umd.js",
          "2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9", _JS),
)


class AssetMismatch(Exception):
    """A committed asset is not the pinned file: a broken checkout or install."""


def sha384(content: bytes) -> str:
    return base64.b64encode(hashlib.sha384(content).digest()).decode()


@dataclass(frozen=True, slots=True)
class Loaded:
    asset: Asset
    compressed: bytes
    plain: bytes


@functools.cache  # read and checked once a process, however many apps it builds
def load() -> dict[str, Loaded]:
    loaded = {}
    for asset in ASSETS:
        compressed = (STATIC / f"{asset.name}.gz").read_bytes()
        plain = gzip.decompress(compressed)
        if sha384(plain) != asset.sha384:
            raise AssetMismatch(f"{STATIC / asset.name}.gz is not {asset.package} (sha384 differs)")
        loaded[asset.name] = Loaded(asset, compressed, plain)
    return loaded


def routes() -> list[Route]:
    assets = load()

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        # Versioned names: a file under one name never changes.
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(found.compressed, media_type=found.asset.media_type,
                            headers=headers | {"Content-Encoding": "gzip"})
        return Response(found.plain, media_type=found.asset.media_type, headers=headers)

    return [Route(PREFIX + "{name}", asset, methods=["GET"])]


def _tag(asset: Asset) -> str:
    if asset.media_type == _CSS:
        return f'<link rel="stylesheet" href="{PREFIX}{asset.name}" integrity="sha384-{asset.sha384}" />'
    return f'<script src="{PREFIX}{asset.name}" integrity="sha384-{asset.sha384}"></script>'


def page() -> str:
    """Strawberry's GraphiQL page, its assets from this server (and without js-cookie, which it
    loads only for Django's CSRF cookie)."""
    head = "\n    ".join(_tag(a) for a in ASSETS if a.media_type == _CSS or "react" in a.name)
    body = "\n    ".join(_tag(a) for a in ASSETS if a.media_type == _JS and "react" not in a.name)
    return PAGE.replace("{{HEAD}}", head).replace("{{BODY}}", body)


PAGE = """<!doctype html>
<html>
  <head>
    <title>paygate GraphiQL</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <style>
      html, body { height: 100%; margin: 0; overflow: hidden; width: 100%; }
      #graphiql { height: 100vh; display: flex; }
      .docExplorerHide { display: none; }
      .doc-explorer-contents { overflow-y: hidden !important; }
      .docExplorerWrap { width: unset !important; min-width: unset !important; }
      .graphiql-explorer-actions select { margin-left: 4px; }
    </style>
    {{HEAD}}
  </head>
  <body>
    <div id="graphiql" class="graphiql-container">Loading...</div>
    {{BODY}}
    <script>
      const fetchURL = window.location.href.split("?")[0];
      const subscriptionURL = new URL(fetchURL);
      subscriptionURL.protocol = subscriptionURL.protocol === "http:" ? "ws:" : "wss:";
      subscriptionURL.hash = "";
      const fetcher = GraphiQL.createFetcher({url: fetchURL, subscriptionUrl: subscriptionURL.toString()});
      const parameters = Object.fromEntries(new URLSearchParams(window.location.search));

      function Page() {
        const [query, setQuery] = React.useState(parameters.q || "{ me { email roles } }");
        function onEditQuery(text) {
          setQuery(text);
          const search = new URLSearchParams(window.location.search);
          search.set("q", text);
          history.replaceState(null, "", "?" + search.toString());
        }
        return React.createElement(GraphiQL, {
          fetcher, query, onEditQuery, variables: parameters.variables,
          plugins: [GraphiQLPluginExplorer.explorerPlugin()], defaultEditorToolsVisibility: true,
          inputValueDeprecation: true, isHeadersEditorEnabled: true, shouldPersistHeaders: true,
        });
      }

      ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
    </script>
  </body>
</html>
"""
