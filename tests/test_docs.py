"""The documentation runs: every code block of README.md and docs/*.md.

How each fenced block is treated, by its info string:

* ```python: executed. The blocks of one file run in order in one shared
  namespace (``__name__ == "__main__"``), in a temporary working directory of
  that file, so files they write do not litter the checkout.
* ```bash: every line (after ``#`` comments are removed) must be a
  ``formulasearch ...`` command; each runs through the shell in the same
  directory, in order with the file's other blocks, and must exit with 0.
* ```bash setup: installation commands (venvs, pip, cmake builds); not run
  here. The README's two must be exactly the command that .ci/run executes
  and the one that installs and runs the main job.
* ```<language> file=NAME (csv, toml, json, ...): written to NAME in the
  working directory at its place in the order, for later blocks to read.
* ```toml: also checked as a configuration (formulasearch.Config; unknown keys
  are errors there).
* ```text output: the output of the block just before it (its stdout) must
  contain this text, line by line, apart from trailing spaces.
* ```text: shown as is (output excerpts, formats), not run.
* ```cpp and ```cmake: must be verbatim excerpts of the files in examples/cpp,
  which tests/test_cpp_core.py builds against the installed C++ library and
  runs.

A block with any other info string fails the test, so that nothing is left
unchecked by accident.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KNOWN = {"python", "bash", "toml", "csv", "json", "text", "cpp", "cmake"}
FENCE = re.compile(r"^```(.*)$")


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    options: dict[str, str]
    flags: set[str]
    text: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}:{self.language}"


def parse_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            assert not lines[i].lstrip().startswith("```"), f"{path}:{i + 1}: indented code fence"
            i += 1
            continue
        words = m.group(1).split()
        start = i
        i += 1
        body = []
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"{path}:{start + 1}: code fence never closed"
        i += 1
        language = words[0] if words else ""
        options = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        flags = {w for w in words[1:] if "=" not in w}
        blocks.append(Block(path, start + 1, language, options, flags, "\n".join(body) + "\n"))
    return blocks


ALL_BLOCKS = [b for path in DOCS for b in parse_blocks(path)]
SETUP = [b for b in ALL_BLOCKS if b.language == "bash" and "setup" in b.flags]


def is_runnable(block: Block) -> bool:
    """Part of its file's ordered run: executed, written, or checked against the previous output."""
    if block.language == "python" or "file" in block.options or "output" in block.flags:
        return True
    return block.language == "bash" and "setup" not in block.flags


RUNNABLE = [b for b in ALL_BLOCKS if is_runnable(b)]


# --------------------------------------------------------------------------
# running the blocks of a file in order


@dataclass
class FileRun:
    """The shared state of one documentation file's blocks."""

    workdir: Path
    namespace: dict = field(default_factory=lambda: {"__name__": "__main__"})
    done: int = 0  # blocks of the file run so far
    errors: dict[int, str] = field(default_factory=dict)  # block index -> failure
    outputs: dict[int, str] = field(default_factory=dict)  # block index -> captured stdout


_RUNS: dict[Path, FileRun] = {}


@pytest.fixture(scope="session")
def command_dir(tmp_path_factory) -> Path:
    """A folder with a `formulasearch` command for this interpreter, put first on PATH."""
    folder = tmp_path_factory.mktemp("bin")
    installed = Path(sys.executable).parent / "formulasearch"
    script = folder / "formulasearch"
    if installed.exists():
        script.symlink_to(installed)
    else:
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m formulasearch.cli "$@"\n')
        script.chmod(0o755)
    return folder


def _environment(command_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{command_dir}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    if env.get("PYTHONPATH"):  # keep relative entries valid in the temporary directory
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    return env


def bash_commands(block: Block) -> list[str]:
    """The commands of a bash block; each must be a formulasearch command."""
    commands = []
    for raw in block.text.splitlines():
        tokens = shlex.split(raw, comments=True)
        if not tokens:
            continue
        starts = [tokens[0]] + [tokens[k + 1] for k, t in enumerate(tokens[:-1]) if t == "&&"]
        assert all(s == "formulasearch" for s in starts), f"{block.name}: not a formulasearch command: {raw!r}"
        assert not any(t in (";", "|", "||", "&") for t in tokens), f"{block.name}: use && to chain: {raw!r}"
        commands.append(raw)  # bash itself drops the comment
    assert commands, f"{block.name}: a bash block without commands"
    return commands


def _execute(block: Block, index: int, state: FileRun, command_dir: Path) -> str:
    """Run one block in its file's directory; returns its stdout, raises on failure."""
    if "file" in block.options:
        target = state.workdir / block.options["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text, encoding="utf-8")
        return ""
    if "output" in block.flags:
        shown = [line.rstrip() for line in block.text.strip("\n").splitlines()]
        produced = [line.rstrip() for line in state.outputs.get(index - 1, "").splitlines()]
        for k in range(len(produced) - len(shown) + 1):
            if produced[k:k + len(shown)] == shown:
                return ""
        raise AssertionError(f"{block.name}: the output shown is not what the block before it printed:\n"
                             + "\n".join(produced))
    if block.language == "bash":
        out = []
        for command in bash_commands(block):
            proc = subprocess.run(["bash", "-c", command], cwd=state.workdir, env=_environment(command_dir),
                                  capture_output=True, text=True, timeout=300)
            out.append(proc.stdout)
            if proc.returncode != 0:
                raise AssertionError(f"{block.name}: `{command}` exited with {proc.returncode}\n"
                                     f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return "".join(out)
    code = compile(block.text, block.name, "exec")
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        exec(code, state.namespace)
    return captured.getvalue()


def run_through(block: Block, command_dir: Path, tmp_path_factory) -> None:
    """Run the file's blocks up to `block` (each once, in order); fail if `block` failed."""
    blocks = [b for b in RUNNABLE if b.path == block.path]
    state = _RUNS.get(block.path)
    if state is None:
        state = _RUNS[block.path] = FileRun(tmp_path_factory.mktemp(block.path.stem))
    target = blocks.index(block)
    old_cwd = os.getcwd()
    old_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    os.chdir(state.workdir)
    try:
        while state.done <= target:
            index = state.done
            state.done += 1
            try:
                state.outputs[index] = _execute(blocks[index], index, state, command_dir)
            except BaseException as exc:  # noqa: BLE001 -- a block may raise anything; it is reported as it was
                if isinstance(exc, KeyboardInterrupt):
                    raise
                state.errors[index] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    finally:
        os.chdir(old_cwd)
        if old_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old_backend
    if target in state.errors:
        pytest.fail(f"{block.name} failed:\n{state.errors[target]}", pytrace=False)


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.name)
def test_block_runs(block, command_dir, tmp_path_factory):
    run_through(block, command_dir, tmp_path_factory)


# --------------------------------------------------------------------------
# the blocks that are checked rather than run


def test_every_block_is_of_a_known_kind():
    for block in ALL_BLOCKS:
        assert block.language in KNOWN, f"{block.name}: unknown code block kind {block.language!r}"
        if block.language == "text" and "output" in block.flags:
            assert block.line > 1
    assert any(b.path.name == "README.md" for b in RUNNABLE)


def test_readme_setup_commands_are_the_ones_ci_runs():
    readme = [b.text.strip() for b in SETUP if b.path.name == "README.md"]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    assert len(ci) == 1, ci
    assert len(readme) == 2, readme
    main_job = 'python3 -m venv .venv && . .venv/bin/activate && pip install . && formulasearch run'
    assert readme == [main_job, ci[0]]


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.language == "toml"], ids=lambda b: b.name)
def test_toml_blocks_are_valid_configurations(block):
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    import formulasearch as fs

    fs.Config.from_dict(tomllib.loads(block.text))


def _excerpt_of(text: str, source: str) -> bool:
    """Whether the lines of `text` occur in `source` as consecutive lines (indentation aside)."""
    want = [line.strip() for line in text.strip("\n").splitlines()]
    have = [line.strip() for line in source.splitlines()]
    return any(have[k:k + len(want)] == want for k in range(len(have) - len(want) + 1))


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.language in ("cpp", "cmake")], ids=lambda b: b.name)
def test_cpp_blocks_are_excerpts_of_the_built_example(block):
    sources = [p.read_text() for p in sorted((ROOT / "examples" / "cpp").iterdir()) if p.is_file()]
    parts = re.split(r"\n(?://|#) \.\.\.\n", "\n" + block.text)
    for part in parts:
        assert any(_excerpt_of(part, s) for s in sources), \
            f"{block.name}: not an excerpt of examples/cpp (which tests/test_cpp_core.py builds):\n{part}"


# --------------------------------------------------------------------------
# links between the pages

#: Pages linked before they exist: docs/architecture.md is written on another branch of the same issue.
PENDING_PAGES: set[str] = set()  # pages linked before they are written


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_somewhere(page):
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # an external address
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        if name in PENDING_PAGES and not path.exists():
            continue
        assert path.exists(), f"{page.name}: link to a missing file: {target}"
        if anchor:
            assert anchor in _anchors(path), f"{page.name}: no heading for the anchor in {target}"
