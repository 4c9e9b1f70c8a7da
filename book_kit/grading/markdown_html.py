"""A submission's markdown as HTML that is safe to open: for the feedback pages (``gradebook``).

- raw HTML is escaped (mistune), and links keep only harmless protocols;
- maths, ``$...$`` inline and ``$$...$$`` displayed, becomes MathML here, in Python (latex2mathml),
  so a page shows it with no script and no network: browsers render MathML themselves;
- each heading gets an ``id`` unique in the page, so a verdict can link to its section.

The maths comes from the submission, and latex2mathml's own output is not safe (it un-escapes
``<`` in ``\\text{}`` and keeps ``\\href{javascript:...}``), so its element tree is written out
here instead: elements and attributes from a list of MathML's presentation ones, every text
escaped. TeX it cannot convert, or that yields anything else, is shown as source in a ``<code>``.

Example
-------
>>> render = Markdown()
>>> render("## 3.5 Gradients")
"<h2 id='sec-3-5-gradients'>3.5 Gradients</h2>\\n"
>>> render.section
('sec-3-5-gradients', '3.5 Gradients')
>>> render("$x$")
'<p><math display="inline"><mrow><mi>x</mi></mrow></math></p>\\n'
"""

from __future__ import annotations

import html
import re

import mistune

# MathML's presentation elements (MathML Core and the few latex2mathml also writes); not
# annotation-xml, which may hold HTML, nor maction
_TAGS = frozenset("""math mrow mi mn mo ms mtext mspace msub msup msubsup munder mover munderover
mmultiscripts mprescripts none mfrac msqrt mroot mtable mtr mtd mlabeledtr mstyle mpadded
mphantom menclose merror mfenced""".split())
# their attributes that only lay out: no href, no style, class, id or on... handler
_ATTRIBUTES = frozenset("""display displaystyle scriptlevel mathvariant mathcolor mathbackground
mathsize dir stretchy fence separator separators form largeop movablelimits accent accentunder
lspace rspace minsize maxsize symmetric width height depth voffset linethickness linebreak
notation columnalign rowalign columnspacing rowspacing columnlines rowlines columnwidth frame
framespacing equalrows equalcolumns rowspan columnspan align numalign denomalign bevelled open
close""".split())
_VALUE = re.compile(r"[\w#.,%+\- ]*")  # sizes, colours, keywords; a value with more is dropped
_CHARACTER = re.compile(r"&#x([0-9A-Fa-f]{1,6});")  # how latex2mathml writes a symbol


def _symbol(match) -> str:
    code = int(match.group(1), 16)
    # a surrogate (typed as \text{&#xD800;}) cannot be written to a UTF-8 page: left as typed
    return match.group(0) if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF else chr(code)


def _characters(text: str | None) -> str:
    """An element's text, its symbols decoded, escaped for HTML."""
    return html.escape(_CHARACTER.sub(_symbol, text or ""), quote=False)


def _write(element, out: list[str]) -> None:
    if element.tag not in _TAGS:
        raise ValueError(f"not a MathML presentation element: {element.tag!r}")
    attributes = "".join(f' {name}="{html.escape(value)}"'
                         for name, value in element.attrib.items()
                         if name in _ATTRIBUTES and _VALUE.fullmatch(value))
    out.append(f"<{element.tag}{attributes}>{_characters(element.text)}")
    for child in element:
        _write(child, out)
        out.append(_characters(child.tail))
    out.append(f"</{element.tag}>")  # an end tag even for mspace: no self-closing syntax


def mathml(tex: str, display: str = "inline") -> str:
    """``tex`` as a MathML ``<math>`` element (``display`` "inline" or "block"), or, if it
    cannot be converted, its source in a ``<code class='tex'>``; either way safe to put in a page.

    Example
    -------
    >>> mathml("x^2")
    '<math display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math>'
    >>> mathml("\\\\frac{1}{")
    "<code class='tex'>$\\\\frac{1}{$</code>"
    """
    from latex2mathml.converter import convert_to_element

    try:
        out: list[str] = []
        _write(convert_to_element(tex, display=display), out)
        return "".join(out)
    except Exception:  # noqa: BLE001 - any TeX it cannot read (RecursionError included)
        fence = "$$" if display == "block" else "$"
        return f"<code class='tex'>{html.escape(fence + tex + fence)}</code>"


def unique_id(base: str, used: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``...: the first not in ``used``, which it joins."""
    anchor, n = base, 1
    while anchor in used:
        n += 1
        anchor = f"{base}-{n}"
    used.add(anchor)
    return anchor


def _slug(rendered: str) -> str:
    """The letters and digits of a heading's text, lower case, joined by ``-``."""
    text = html.unescape(re.sub(r"<[^>]*>", "", rendered)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60] or "section"


class _Renderer(mistune.HTMLRenderer):
    """mistune's HTML, raw HTML escaped, with maths and heading anchors."""

    def __init__(self, ids: set[str]):
        super().__init__(escape=True)
        self.ids = ids
        self.section: tuple[str, str] | None = None

    def heading(self, text: str, level: int, **attrs) -> str:
        anchor = unique_id("sec-" + _slug(text), self.ids)
        self.section = (anchor, text)
        return f"<h{level} id='{anchor}'>{text}</h{level}>\n"


class Markdown:
    """Renders markdown cells one after another into one page: heading ids stay unique across
    them (and apart from ``ids``, the page's other ids), and :attr:`section` is the last heading
    rendered, as ``(id, its HTML)``, or None before the first."""

    def __init__(self, ids: set[str] | None = None):
        self._renderer = _Renderer(set() if ids is None else ids)
        self._markdown = mistune.create_markdown(
            renderer=self._renderer,
            plugins=["math", "mistune.plugins.math.math_in_quote",
                     "mistune.plugins.math.math_in_list"])
        # the math plugin registers its own rendering (TeX left for MathJax): ours replaces it
        self._renderer.register("inline_math", lambda _, tex: mathml(tex, "inline"))
        # $$...$$ may stand inside a paragraph: <math display="block"> is itself a block
        self._renderer.register("block_math", lambda _, tex: mathml(tex.strip(), "block"))

    def __call__(self, source: str) -> str:
        """``source`` as HTML."""
        return self._markdown(source)

    @property
    def section(self) -> tuple[str, str] | None:
        """The last heading rendered: ``(its id, its HTML)``; None before the first."""
        return self._renderer.section
