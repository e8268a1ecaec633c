"""The documentation holds together: the README stays a short front door, every relative link in
README.md and docs/*.md reaches a file (and, for a link into a page, a heading of it), and every
RNNLAB_ environment variable the code reads is documented in docs/. Plain text checks, no app."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
README_LIMIT = 12_000  # bytes: issue 23 asks for a README a newcomer reads in two minutes
# Pages other helpers write (issues 24 and 25); links to them are checked once they exist.
PENDING = {"explore.md", "scorecard.md"}

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
HTML_ID = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


def prose(text: str) -> str:
    """The page without code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text lower-cased, punctuation dropped (letters,
    digits, `_` and `-` kept), spaces turned into hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = re.sub(r"[*_]{1,2}([^*_]+)[*_]{1,2}", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor a link may name in `page`: its headings' slugs (repeats numbered as GitHub does)
    and explicit `<a id=...>` tags."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set(HTML_ID.findall(text))
    for heading in HEADING.findall(text):
        base = slug(heading)
        found.add(base if base not in seen else f"{base}-{seen[base]}")
        seen[base] = seen.get(base, 0) + 1
    return found


def links(page: Path) -> list[str]:
    return LINK.findall(prose(page.read_text(encoding="utf-8")))


def broken_links(page: Path) -> list[str]:
    """The relative links of `page` that reach no file, or no heading of a page."""
    bad = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            if dest.name not in PENDING or dest.parent != DOCS:
                bad.append(f"{target} (no such file)")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target} (no heading #{anchor} in {dest.name})")
    return bad


def test_readme_is_a_short_front_door_with_its_two_screenshots():
    readme = ROOT / "README.md"
    assert readme.stat().st_size < README_LIMIT, f"README.md is {readme.stat().st_size} bytes; move detail into docs/"
    images = [t for t in links(readme) if t.endswith(".png")]
    assert images == ["docs/images/train-live.png", "docs/images/gates.png"], images
    assert all((ROOT / image).stat().st_size > 20_000 for image in images)  # a real screenshot, not a stub
    text = readme.read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_every_docs_page_is_reachable_from_the_index():
    listed = {(DOCS / t.partition("#")[0]).resolve() for t in links(DOCS / "README.md")}
    missing = [p.name for p in DOCS.glob("*.md") if p.name != "README.md" and p.resolve() not in listed]
    assert missing == []


def test_the_link_check_catches_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Top\n\n[ok](#top) [gone](nowhere.md) [bad anchor](#bottom) `[code](skipped.md)`\n")
    assert broken_links(page) == ["nowhere.md (no such file)", "#bottom (no heading #bottom in page.md)"]


def test_every_environment_variable_the_code_reads_is_documented():
    names = set()
    for folder in ("core", "ui"):
        for source in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"RNNLAB_[A-Z0-9_]+", source.read_text(encoding="utf-8")))
    documented = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    assert names, "no RNNLAB_ variables found: the scan is broken"
    assert sorted(n for n in names if n not in documented) == []
