"""Report injection: an analyzer's figures, tables and texts are data in every report.

A sandboxed analyzer plugin (written by the fixture) returns hostile SVG figures, text
figures, table titles, column names and cells from ``render()`` and ``result()``; a real
``wiseflow run`` writes its reports as HTML, Markdown and JSON. Every payload asks the
browser to fetch ``http://127.0.0.1:<port>/v/<variant>`` from a server the test runs.

Positive controls: the JSON report carries each payload verbatim (the plugin really sent
it), inlining a payload puts a live element or attribute in the DOM (the path main took),
CommonMark turns the Markdown payloads into live HTML, links and headings, and Chromium
loading the inlined payloads fetches every variant from the server. Then: the HTML report
parses to the host's own elements only (plugin SVG only inside ``data:`` images), the
Markdown report renders to no plugin HTML, link or section, and Chromium loading both
fetches nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from sandbox_kit import require_layers

_NS = (
    'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'width="40" height="20"'
)
# variant -> SVG figure body; "{B}" is the recording server's base URL
SVG_VARIANTS = {
    "script": '<svg {NS}><script>fetch("{B}/script")</script><rect width="4" height="4"/></svg>',
    "foreign": (
        '<svg {NS}><foreignObject width="10" height="10"><img '
        'xmlns="http://www.w3.org/1999/xhtml" src="{B}/foreign"/></foreignObject></svg>'
    ),
    "xlink": '<svg {NS}><image xlink:href="{B}/xlink" width="10" height="10"/></svg>',
    "import": '<svg {NS}><style>@import url("{B}/import");</style></svg>',
    "escape": "<svg {NS}><style>header{{background:\\75 rl({B}/escape)}}</style></svg>",
    "imageset": (
        '<svg {NS}><style>main{{background-image:image-set("{B}/imageset" 1x)}}</style></svg>'
    ),
    "fontface": (
        "<svg {NS}><style>@font-face{{font-family:evil;src:\\75 rl({B}/fontface)}} "
        "h1{{font-family:evil}}</style></svg>"
    ),
    "fill": '<svg {NS}><rect width="10" height="10" fill="url({B}/fill#p)"/></svg>',
    "mask": '<svg {NS}><rect width="10" height="10" mask="url({B}/mask#m)"/></svg>',
    "onload": "<svg {NS} onload=\"fetch('{B}/onload')\"><rect width='4' height='4'/></svg>",
    "onerror": '<svg {NS}><image href="x:" onerror="fetch(\'{B}/onerror\')"/></svg>',
    "datacss": (
        '<svg {NS}><style>@import url("data:text/css,nav%7Bbackground:url({B}/datacss)%7D");'
        "</style></svg>"
    ),
    "restyle": (
        "<svg {NS}><style>#run{{display:none}} .status-ok::after{{content:'status ok'}}"
        "</style><a href=\"javascript:fetch('{B}/jshref')\"><text y='9'>run ok</text></a></svg>"
    ),
}
# Strings that are HTML or Markdown structure when printed verbatim
TEXT_VARIANTS = {
    "html": '<img src="{B}/textimg"><script>fetch("{B}/textscript")</script>',
    "close": '</pre></figure></section><img src="{B}/close">',
    "attr": 'x" onerror="fetch(\'{B}/attr\')" y="',
    "heading": "# Run details\n\n## Forged section\n\nstatus **ok**",
    "link": "[click me](javascript:fetch('{B}/mdlink'))",
    "image": "![x]({B}/mdimage)",
    "autolink": "<javascript:fetch('{B}/autolink')>",
    "table": "| a | b |\n|---|---|\n| </table><img src={B}/cell> | x |",
    "fence": "```\n<img src={B}/fence>\n```",
}
# What inlining a variant puts in the DOM: a live tag or attribute
LIVE = {
    "script": ("tag", "script"),
    "foreign": ("tag", "foreignobject"),
    "xlink": ("attr", "xlink:href"),
    "import": ("tag", "style"),
    "escape": ("tag", "style"),
    "imageset": ("tag", "style"),
    "fontface": ("tag", "style"),
    "fill": ("attr", "fill"),
    "mask": ("attr", "mask"),
    "onload": ("attr", "onload"),
    "onerror": ("attr", "onerror"),
    "datacss": ("tag", "style"),
    "restyle": ("attr", "href"),
}

PLUGIN = """
import json
from wiseflow import AnalyzerPlugin, Figure

SVG = json.loads(@SVG@)
TEXT = json.loads(@TEXT@)


class Evil(AnalyzerPlugin):
    def analyze(self, batch):
        pass

    def result(self):
        names = list(TEXT)
        return {"tables": [{
            "title": TEXT["close"] + TEXT["heading"],
            "columns": [TEXT["html"], TEXT["link"], TEXT["attr"]],
            "rows": [[TEXT[a], TEXT[b], TEXT[a] + TEXT[b]] for a, b in zip(names, names[1:])],
        }]}

    def render(self, result):
        figs = [Figure(f"{name} {TEXT['attr']}", body) for name, body in SVG.items()]
        figs.append(Figure(TEXT["close"], TEXT["html"]))  # a Figure that is not SVG
        return figs + list(TEXT.values())
"""

PIPELINE = """\
[pipeline]
name = "reports"

[[sources]]
plugin = "hello"
name = "hi"
config = { count = 2 }

[[analyzers]]
plugin = "evil"
name = "evil"
"""

HOST_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "span",
    "main", "nav", "a", "div", "b", "section", "figure", "figcaption", "img", "pre", "table",
    "thead", "tbody", "tr", "th", "td", "footer",
}  # fmt: skip
HOST_ATTRS = {"lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "alt"}
MD_TAGS = {"h1", "h2", "h3", "p", "ul", "li", "strong", "img", "pre", "code", "table", "thead",
           "tbody", "tr", "th", "td"}  # fmt: skip


class _Dom(HTMLParser):
    """Every start tag with its attributes, style texts, and the text, as a browser parses."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    def live(self) -> set[str]:
        return {t for t, _ in self.tags} | {a for _, attrs in self.tags for a in attrs}


def _commonmark() -> MarkdownIt:
    """A CommonMark renderer at its most permissive: raw HTML on, every link target allowed."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.validateLink = lambda url: True  # markdown-it refuses javascript: by default
    return md


def _fill(template: str, base: str) -> str:
    return template.replace("{NS}", _NS).replace("{B}", base).replace("{{", "{").replace("}}", "}")


def _payloads(base: str) -> tuple[dict[str, str], dict[str, str]]:
    svg = {k: _fill(v, base) for k, v in SVG_VARIANTS.items()}
    text = {k: v.replace("{B}", base) for k, v in TEXT_VARIANTS.items()}
    return svg, text


@pytest.fixture(scope="module")
def reports(
    tmp_path_factory: pytest.TempPathFactory, module_tcp_server: tuple[int, list[bytes]]
) -> Iterator[dict[str, Any]]:
    """The hostile analyzer's run, written as report.html, report.md and report.json."""
    require_layers("rlimits", "netns", "landlock", "seccomp")
    base = f"http://127.0.0.1:{module_tcp_server[0]}/v"
    svg, text = _payloads(base)
    root = tmp_path_factory.mktemp("reports")
    folder = root / "plugins" / "evil"
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "evil"\nversion = "1.0.0"\nkind = "analyzer"\nentry = "plugin:Evil"\n'
    )
    code = PLUGIN.replace("@SVG@", repr(json.dumps(svg))).replace("@TEXT@", repr(json.dumps(text)))
    (folder / "plugin.py").write_text(textwrap.dedent(code))
    (root / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n\n[policy]\nlevel = "sandboxed"\n'
    )
    (root / "p.toml").write_text(PIPELINE)
    out: dict[str, Any] = {"svg": svg, "text": text, "root": root, "base": base}
    for suffix in ("html", "md", "json"):
        res = subprocess.run(
            [sys.executable, "-m", "wiseflow", "run", "p.toml", "--full-refresh", "--json",
             "--report", f"report.{suffix}"],
            cwd=root, capture_output=True, text=True, timeout=120, env=dict(os.environ),
            check=False,
        )  # fmt: skip
        assert res.returncode == 0, res.stdout + res.stderr
        assert json.loads(res.stdout)["status"] == "ok"
        out[suffix] = (root / f"report.{suffix}").read_text()
    yield out


def test_plugin_output_reaches_the_host_and_would_be_live_if_printed(
    reports: dict[str, Any],
) -> None:
    """Positive control: the payloads arrive verbatim and are live markup when printed raw."""
    doc = json.loads(reports["json"])
    got = doc["figures"]["evil"]
    bodies = [f["body"] for f in got]
    assert [b for b in bodies if b.startswith("<svg")] == list(reports["svg"].values())
    assert all(t in bodies for t in reports["text"].values())
    assert doc["analyzers"]["evil"]["tables"][0]["title"].startswith(reports["text"]["close"])
    for name, body in reports["svg"].items():  # main inlined the SVG into the page
        kind, what = LIVE[name]
        dom = _Dom(f"<html><body>{body}</body></html>")
        assert what in (dom.live() if kind == "attr" else {t for t, _ in dom.tags}), name
    md = _commonmark()
    rendered = {k: _Dom(md.render(v)) for k, v in reports["text"].items()}
    assert "img" in rendered["html"].live() and "script" in rendered["html"].live()
    assert {"h1", "h2", "strong"} <= rendered["heading"].live()
    assert "img" in rendered["image"].live() and "table" in rendered["table"].live()
    link = ("a", {"href": f"javascript:fetch('{reports['base']}/mdlink')"})
    assert link in rendered["link"].tags


def test_html_report_holds_no_live_element_or_attribute_from_a_plugin(
    reports: dict[str, Any],
) -> None:
    """The HTML report is the host's markup only: plugin SVG sits inside data: images."""
    html = reports["html"]
    dom = _Dom(html)
    assert {t for t, _ in dom.tags} <= HOST_TAGS
    images = []
    for tag, attrs in dom.tags:
        assert set(attrs) <= HOST_ATTRS | ({"src"} if tag == "img" else set()), (tag, attrs)
        assert (attrs.get("href") or "#").startswith("#"), attrs
        if tag == "img":
            assert (attrs["src"] or "").startswith("data:image/svg+xml;base64,"), attrs
            images.append(base64.b64decode((attrs["src"] or "").split(",", 1)[1]).decode())
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy":
            csp = attrs["content"] or ""
    assert len(images) == len(reports["svg"])  # every figure shown, as an image
    assert all(img.startswith("<svg") and "127.0.0.1" not in img for img in images)
    # the one stylesheet is the host's: the CSP names its hash and nothing else
    (style,) = dom.styles
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert csp.startswith("default-src 'none'; img-src data:; ")
    assert f"style-src 'sha256-{digest}';" in csp and "unsafe" not in csp
    # the payloads are still there, as text a reader can see
    text = "".join(dom.text)
    for payload in reports["text"].values():
        assert payload.splitlines()[0] in text


def test_markdown_report_renders_no_plugin_html_link_or_section(reports: dict[str, Any]) -> None:
    """The Markdown report has no raw HTML, no plugin link, and only the host's sections."""
    md = reports["md"]
    outside = re.sub(r"^(`{3,})\n.*?^\1$", "", md, flags=re.MULTILINE | re.DOTALL)
    assert "```" in md and "<" not in outside  # raw HTML only as text in code blocks
    headings = [ln for ln in outside.splitlines() if ln.startswith("#")]
    assert [h for h in headings if not h.startswith("### ")] == [
        "# reports",
        "## evil",
        "## Run details",
    ]
    dom = _Dom(_commonmark().render(md))
    assert {t for t, _ in dom.tags} <= MD_TAGS, {t for t, _ in dom.tags} - MD_TAGS
    assert [t for t, _ in dom.tags if t in ("h1", "h2")] == ["h1", "h2", "h2"]
    srcs = [a.get("src") or "" for t, a in dom.tags if t == "img"]
    assert len(srcs) == len(reports["svg"])
    assert all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    assert all("127.0.0.1" not in base64.b64decode(s.split(",", 1)[1]).decode() for s in srcs)
    text = "".join(dom.text)
    for payload in reports["text"].values():  # shown as text, in a cell or a code block
        assert payload.splitlines()[0] in text, payload


def _chromium(page: Path, profile: Path) -> None:
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         "--dump-dom", "--virtual-time-budget=5000", page.as_uri()],
        capture_output=True, timeout=180, check=True,
    )  # fmt: skip


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed, so the browser check (no request reaches a local "
    "server) is skipped; the parse-based report tests still run (apt-get install chromium)",
)
def test_a_browser_showing_the_reports_fetches_nothing_a_plugin_asked_for(
    reports: dict[str, Any], module_tcp_server: tuple[int, list[bytes]], tmp_path: Path
) -> None:
    """Chromium showing the reports sends no request; the report's CSP alone blocks them too."""
    port, seen = module_tcp_server
    md_page = tmp_path / "md.html"
    md_page.write_text(_commonmark().render(reports["md"]))
    _chromium(reports["root"] / "report.html", tmp_path / "profile")
    _chromium(md_page, tmp_path / "profile")
    # The CSP alone: the report with the payloads spliced in raw, as if escaping had failed.
    svg, text = _payloads(f"http://127.0.0.1:{port}/x")
    spliced = tmp_path / "spliced.html"
    raw = "".join(svg.values()) + text["html"]
    spliced.write_text(reports["html"].replace("<main>", "<main>" + raw, 1))
    _chromium(spliced, tmp_path / "profile")
    # Control: the same payloads inlined, as main did, under /c/. The server accepts in
    # the order the kernel queued connections, so once the control's requests are in,
    # any request from the report pages (loaded before) has been recorded too.
    svg, text = _payloads(f"http://127.0.0.1:{port}/c")
    control = tmp_path / "control.html"
    control.write_text(
        "<!DOCTYPE html><html><body><header>h</header><h1>t</h1><nav>n</nav><main>"
        + "".join(svg.values())
        + text["html"]
        + "</main></body></html>"
    )
    _chromium(control, tmp_path / "profile")
    expected = {f"/c/{name}" for name in svg if name != "restyle"} | {"/c/textimg"}
    deadline = time.monotonic() + 120  # a bound for a loaded machine, not a wait for luck
    paths: set[str] = set()
    while not expected <= paths and time.monotonic() < deadline:
        time.sleep(0.1)
        paths = {m.group(1).decode() for s in list(seen) if (m := re.match(rb"GET (\S+)", s))}
    assert expected <= paths, f"control: the browser fetched only {sorted(paths)}"
    assert not [p for p in paths if not p.startswith("/c/")], sorted(paths)
    assert seen[0].startswith(b"GET /c/"), seen[0]  # nothing at all came before the control
