"""describe.escape: any text a visitor supplies shows literally inside Markdown, as CommonMark
(markdown-it, the reference parser's port) and Streamlit's extensions would render it."""
from __future__ import annotations

import re

import pytest

from core import describe
from core.describe import escape

from .conftest import tiny_spec

NASTY = [
    "![f](http://host/x.png) [Sign in again](http://host/phish)",
    "[x]: http://host/ref and [x]",  # a link reference definition
    "<http://host/auto> <b>bold</b> <img src=x onerror=alert(1)>",
    "http://host/bare https://host/s www.host.com WWW.HOST.COM mail@host.com",
    "**bold** __b__ *it* _it_ ~~gone~~ `code` ``two``",
    "snake_case a__b _x_ a_*b*_c x_ _y é_ü_",
    ":red[coloured] :blue-background[x] :help[tip] :small[s] :abc{title=x}",
    ":material/lock: :smile: :streamlit: :+1:",
    "$E=mc^2$ and $$x$$",
    "# heading",
    "> quote",
    "- item",
    "+ item",
    "1. item",
    "12) item",
    "---",
    "a | b\n--- | ---\nc | d",
    "line\n\nnew paragraph\r\n# heading",
    "&lt;b&gt; &amp; &#91;x&#93;(http://host)",
    "back\\[slash\\] \\",
    "trailing backslash \\",
    "S&P 500 (now 10): prices.csv, 2018-01-01",
]


def plain(text: str) -> str:
    """What a reader sees of escape(text): the line breaks become spaces, the zero-width spaces that
    stop shortcodes are invisible."""
    return re.sub(r"\r\n|\r|\n", " ", text).strip()


@pytest.mark.parametrize("text", NASTY)
def test_escaped_text_renders_as_one_paragraph_of_the_same_text(text):
    markdown_it = pytest.importorskip("markdown_it")
    parser = markdown_it.MarkdownIt("commonmark").enable(["strikethrough", "table"])
    tokens = parser.parse(escape(text))
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], tokens
    children = tokens[1].children
    assert {c.type for c in children} <= {"text"}, [c.type for c in children]  # no link, image, code, emphasis, html
    assert "".join(c.content for c in children).replace("\u200b", "") == plain(text)


@pytest.mark.parametrize("text", NASTY)
def test_no_streamlit_extension_survives(text):
    """What CommonMark does not know but Streamlit adds: GFM bare links, directives, shortcodes, LaTeX."""
    out = escape(text)
    unescaped = r"(?<!\\)(?:\\\\)*"  # an even number of backslashes before it: the character is live
    assert not re.search(unescaped + r"[\[\]<>$`*~|]", out), out  # (_ between letters is inert: see above)
    assert not re.search(unescaped + r"://", out) and not re.search(r"(?i)www\.", out), out
    assert not re.search(r":(material/)?[\w+-]+:", out), out  # :material/lock: and :smile: are broken up
    assert "\n" not in out and "\r" not in out


def test_plain_words_are_left_alone():
    """Messages that quote nothing odd read the same in the Markdown source (tests and logs grep them)."""
    for text in ("Status: epoch 2 of 20 (now 10).", "S&P 500 index, daily", "prices.csv has 3 rows", "20260101-000000-abc",
                 "safe_mode, elapsed_seconds"):
        assert escape(text) == text


def test_a_spec_in_markdown_escapes_the_names_it_quotes():
    spec = tiny_spec().replace(data={"features": ["Close", "![f](http://host/x.png)"]})
    bold = describe.describe(spec, bold=True)
    assert "**" in bold and "!\\[f\\](http\\://host/x.png)" in bold
    assert "![f](http://host/x.png)" in describe.describe(spec)  # plain text (the command line) is left as it is


def test_chart_text_a_visitor_supplies_never_becomes_a_link():
    """Plotly draws <a href> in titles, legends and hover labels as a link: column and run names are
    shown as text in every figure builder."""
    import json as _json

    import pandas as pd

    from core import charts

    evil = '<a href="http://host/phish">Sign in again</a>'
    series = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2020-01-01", periods=3), name=evil)
    figures = [
        charts.series_figure(series, None),
        charts.loss_overlay_figure({evil: {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}}),
    ]
    for fig in figures:
        text = _json.dumps(fig.to_plotly_json(), default=str)
        assert "<a href" not in text and "</a>" not in text
        assert "&lt;a href" in text  # still readable
    assert charts._safe.clean("a<br>b <b>c</b>") == "a<br>b <b>c</b>"


def test_the_setup_line_says_1_epoch_not_1_epochs():
    from core import describe
    from core.spec import ExperimentSpec

    assert "· 1 epoch, batch" in describe.describe(ExperimentSpec().replace(train={"epochs": 1}))
    assert "· 20 epochs, batch" in describe.describe(ExperimentSpec().replace(train={"epochs": 20}))
