"""The user documentation: links between docs resolve, and the quickstart's code runs.

Quickstart conventions (see docs/quickstart.md):

* every ```python block runs, in order, each in a fresh subprocess, in one temporary
  directory (with a timeout);
* a block whose first line is ``# file: NAME`` is also saved as NAME in that directory (the
  reader is told to save it), so later blocks and the server can use it;
* a block whose first line is ``# needs: server APP`` runs while ``python -m docsync serve
  --port 0 APP`` serves that directory's APP; ``http://localhost:5006`` in the block is
  replaced by the address the server logged.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import DocsyncServe, subprocess_env

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: Markdown files whose links are checked: every doc, the README, the gallery's README.
LINKED_FILES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md", ROOT / "examples" / "gallery" / "README.md"]
REQUIRED_DOCS = ["index", "quickstart", "apps", "models", "callbacks", "client", "server", "core",
                 "migrating", "performance", "protocol", "architecture", "catalogue"]

FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


# ---- links -------------------------------------------------------------------------------------

def prose_lines(text: str, strip_inline_code: bool = True) -> list[str]:
    """The lines of a markdown file outside fenced code blocks (inline code removed: a
    link inside backticks is not a link)."""
    out, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append(re.sub(r"`[^`]*`", "", line) if strip_inline_code else line)
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces → '-'."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)      # links keep their text
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for line in prose_lines(path.read_text(), strip_inline_code=False):
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f"{base}-{n}")
    return result


def links(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(prose_lines(path.read_text()), 1):
        for m in LINK.finditer(line):
            found.append((number, m.group(2)))
    return found


def test_required_docs_exist() -> None:
    missing = [name for name in REQUIRED_DOCS if not (DOCS / f"{name}.md").is_file()]
    assert not missing


def test_index_links_every_doc() -> None:
    index = (DOCS / "index.md").read_text()
    for doc in sorted(DOCS.glob("*.md")):
        if doc.name != "index.md":
            assert f"]({doc.name}" in index, f"docs/index.md does not link {doc.name}"


@pytest.mark.parametrize("path", LINKED_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(path: Path) -> None:
    broken = []
    for line, target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):          # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"line {line}: {target} (no such file)")
            continue
        if anchor:
            if dest.suffix != ".md":
                broken.append(f"line {line}: {target} (anchor into a non-markdown file)")
            elif anchor not in anchors(dest):
                broken.append(f"line {line}: {target} (no heading with anchor #{anchor})")
    assert not broken, f"{path.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_slug_matches_github() -> None:
    assert slug("Custom models with their own JavaScript") == "custom-models-with-their-own-javascript"
    assert slug("Coalescing rules (what one flush sends)") == "coalescing-rules-what-one-flush-sends"
    assert slug("`docsync.core` on its own") == "docsynccore-on-its-own"
    assert slug("Browser (docsync.js)") == "browser-docsyncjs"
    assert slug("`CustomJS`: callbacks in the browser") == "customjs-callbacks-in-the-browser"


def test_link_checker_catches_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title\n[ok](b.md#there) [bad](b.md#nowhere) [gone](c.md)\n"
                                   "```\n[in code](nope.md)\n```\n")
    (tmp_path / "b.md").write_text("## There\n## `Code` heading\n## There\n")
    targets = [t for _, t in links(tmp_path / "a.md")]
    assert targets == ["b.md#there", "b.md#nowhere", "c.md"]
    assert anchors(tmp_path / "b.md") == {"there", "code-heading", "there-1"}


# ---- the quickstart runs -------------------------------------------------------------------------

def python_blocks(path: Path) -> list[str]:
    blocks: list[str] = []
    current: list[str] = []
    inside = False
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not inside and stripped.startswith("```python"):
            inside, current = True, []
        elif inside and stripped.startswith("```"):
            inside = False
            blocks.append("\n".join(current) + "\n")
        elif inside:
            current.append(line)
    return blocks


class Server(DocsyncServe):
    """`python -m docsync serve --port 0 APP` in a directory (tests/support.py)."""

    def __init__(self, app: str, cwd: Path) -> None:
        super().__init__([app], cwd=cwd)
        self.url = next(iter(self.urls.values()))

    @property
    def base(self) -> str:
        m = re.match(r"http://[^/]+", self.url)
        assert m
        return m.group(0)


def run_block(code: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=subprocess_env(), capture_output=True,
                          text=True, timeout=timeout)


QUICKSTART = python_blocks(DOCS / "quickstart.md")


def test_quickstart_has_code_and_one_served_block() -> None:
    assert len(QUICKSTART) >= 3
    assert sum(b.startswith("# needs: server") for b in QUICKSTART) >= 1


def test_quickstart_blocks_run(tmp_path: Path) -> None:
    """Every python block of the quickstart runs, in order, as a reader would run it."""
    for number, block in enumerate(QUICKSTART, 1):
        first = block.splitlines()[0] if block.strip() else ""
        if first.startswith("# file:"):
            (tmp_path / first.split(":", 1)[1].strip()).write_text(block)
        server = None
        code = block
        if first.startswith("# needs: server"):
            app = first.split("server", 1)[1].strip()
            assert app, f"block {number}: '# needs: server APP' names no app"
            server = Server(app, tmp_path)
            code = block.replace("http://localhost:5006", server.base)
        try:
            proc = run_block(code, tmp_path)
        finally:
            if server is not None:
                server.stop()
        assert proc.returncode == 0, (
            f"quickstart.md python block {number} failed:\n{block}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )


def test_quickstart_client_block_sees_the_served_app(tmp_path: Path) -> None:
    """The served block really talks to the app: it prints the roots and the new value."""
    block = next(b for b in QUICKSTART if b.startswith("# needs: server"))
    for b in QUICKSTART:
        if b.startswith("# file:"):
            (tmp_path / b.splitlines()[0].split(":", 1)[1].strip()).write_text(b)
    server = Server(block.splitlines()[0].split("server", 1)[1].strip(), tmp_path)
    try:
        proc = run_block(block.replace("http://localhost:5006", server.base), tmp_path)
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    assert "roots: ['Column']" in proc.stdout
    assert "new slider value: 2.5" in proc.stdout


# ---- other docs' code runs too (blocks of one page run together, in order) -------------------

STANDALONE_PAGES = ["models.md", "callbacks.md", "core.md"]


@pytest.mark.parametrize("page", STANDALONE_PAGES)
def test_page_code_runs(page: str, tmp_path: Path) -> None:
    blocks = python_blocks(DOCS / page)
    assert blocks
    code = "\n".join(blocks)
    proc = run_block(code, tmp_path, timeout=90)
    assert proc.returncode == 0, f"docs/{page} code failed:\n--- stderr\n{proc.stderr}"


def test_callbacks_thread_example_streams_when_served(tmp_path: Path) -> None:
    """callbacks.md's thread example, served as an app: the thread's rows reach a client."""
    block = next(b for b in python_blocks(DOCS / "callbacks.md") if "threading.Thread" in b)
    (tmp_path / "threaded.py").write_text(block)
    server = Server("threaded.py", tmp_path)
    try:
        code = (
            "import time\n"
            "from docsync.client import pull_session\n"
            f"with pull_session(url={server.url!r}) as session:\n"
            "    source = session.document.roots[0].renderers[0].data_source\n"
            "    deadline = time.monotonic() + 30\n"
            "    while len(source.data['x']) < 5:\n"
            "        assert time.monotonic() < deadline, 'no rows from the thread'\n"
            "        time.sleep(0.05)\n"
            "    print('rows', len(source.data['x']))\n"
        )
        proc = run_block(code, tmp_path)
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("rows ")


def test_quickstart_json_command_prints_the_document(tmp_path: Path) -> None:
    """The quickstart's `docsync json hello.py` prints the snapshot of the app it saved."""
    text = (DOCS / "quickstart.md").read_text()
    commands = re.findall(r"^docsync json (\S+)\s*$", text, re.M)
    assert commands == ["hello.py"]
    for block in QUICKSTART:
        if block.startswith("# file:"):
            (tmp_path / block.splitlines()[0].split(":", 1)[1].strip()).write_text(block)
    proc = subprocess.run([sys.executable, "-m", "docsync", "json", commands[0]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    import json

    snapshot = json.loads(proc.stdout)
    assert snapshot["title"] == "hello"
    types = {m["type"] for m in snapshot["models"]}
    assert {"Column", "Slider", "Plot", "Line", "ColumnDataSource"} <= types


def test_server_md_names_real_metrics(tmp_path: Path) -> None:
    """Every metric named in server.md is on a running server's /metrics page."""
    import urllib.request

    named = set(re.findall(r"`(docsync_[a-z_]+)", (DOCS / "server.md").read_text()))
    assert len(named) >= 10
    (tmp_path / "empty.py").write_text("from docsync.plotting import curdoc\ncurdoc().title = 'empty'\n")
    server = Server("empty.py", tmp_path)
    try:
        text = urllib.request.urlopen(server.base + "/metrics", timeout=10).read().decode()
    finally:
        server.stop()
    exposed = set(re.findall(r"^# TYPE (docsync_[a-z_]+) ", text, re.M))
    assert named <= exposed, f"server.md names metrics the server does not expose: {sorted(named - exposed)}"


def test_server_md_documents_every_serve_option() -> None:
    """server.md's option table and `docsync serve --help` list the same options."""
    proc = subprocess.run([sys.executable, "-m", "docsync", "serve", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    cli = set(re.findall(r"(--[a-z][a-z-]+)", proc.stdout)) - {"--help"}
    table = set(re.findall(r"^\| `(--[a-z][a-z-]+)", (DOCS / "server.md").read_text(), re.M))
    assert cli == table, f"undocumented: {sorted(cli - table)}; not an option: {sorted(table - cli)}"


def test_server_md_defaults_match_the_cli() -> None:
    from docsync.command import build_parser

    defaults = vars(build_parser().parse_args(["serve"]))
    rows = re.findall(r"^\| `--([a-z-]+)[^`]*` \| `([^`]+)`", (DOCS / "server.md").read_text(), re.M)
    checked = 0
    for option, documented in rows:
        actual = defaults[option.replace("-", "_")]
        if isinstance(actual, (int, str)) and not isinstance(actual, bool):
            assert documented == str(actual), f"--{option}: server.md says {documented}, the CLI uses {actual}"
            checked += 1
    assert checked >= 8


def test_quickstart_walk_streams_when_served(tmp_path: Path) -> None:
    """The quickstart's periodic-callback app really streams once served."""
    for block in QUICKSTART:
        if block.startswith("# file:"):
            (tmp_path / block.splitlines()[0].split(":", 1)[1].strip()).write_text(block)
    assert (tmp_path / "walk.py").is_file()
    server = Server("walk.py", tmp_path)
    try:
        code = (
            "import time\n"
            "from docsync.client import pull_session\n"
            f"with pull_session(url={server.url!r}) as session:\n"
            "    source = session.document.roots[0].renderers[0].data_source\n"
            "    deadline = time.monotonic() + 30\n"
            "    while len(source.data['step']) < 6:\n"
            "        assert time.monotonic() < deadline, 'the walk does not stream'\n"
            "        time.sleep(0.05)\n"
            "    print('steps', source.data['step'][:6].tolist())\n"
        )
        proc = run_block(code, tmp_path)
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("steps [0, 1, 2, 3, 4, 5]")
