"""static/css/app.css: every foreground/background pair the stylesheet uses meets WCAG AA in
the light and the dark theme — 4.5:1 for text, 3:1 for control boundaries and the focus ring
(WCAG 1.4.3 / 1.4.11). axe checks the text it finds rendered (tests/browser/test_every_page.py);
this checks the palette itself, including states a page may not show at that moment."""
import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[1] / "static" / "css" / "app.css").read_text()

TEXT = 4.5
UI = 3.0
# (foreground, background, minimum ratio): the pairs the rules in app.css put together.
PAIRS = [
    *[(fg, bg, TEXT) for fg in ("text", "muted", "primary") for bg in ("bg", "surface", "surface-2", "input-bg")],
    ("on-fill", "primary-fill", TEXT), ("on-fill", "primary-fill-hover", TEXT), ("on-fill", "danger-fill", TEXT),
    ("danger", "surface", TEXT), ("danger", "danger-bg", TEXT), ("success", "success-bg", TEXT),
    ("warning", "warning-bg", TEXT), ("warning", "surface", TEXT), ("info", "info-bg", TEXT),
    ("neutral", "neutral-bg", TEXT), ("read", "read-bg", TEXT), ("write", "write-bg", TEXT),
    ("delete", "delete-bg", TEXT), ("text", "danger-bg", TEXT), ("text", "success-bg", TEXT),
    ("text", "warning-bg", TEXT), ("text", "info-bg", TEXT),
    ("border-strong", "input-bg", UI), ("border-strong", "surface", UI),
    ("focus", "bg", UI), ("focus", "surface", UI), ("focus", "input-bg", UI),
]


def _variables(block: str) -> dict[str, str]:
    found = re.findall(r"--([a-z0-9-]+):\s*#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", block)
    return {name: "#" + (value if len(value) == 6 else "".join(c * 2 for c in value)) for name, value in found}


def themes() -> dict[str, dict[str, str]]:
    light = _variables(CSS[CSS.index(":root {"):CSS.index("@media (prefers-color-scheme: dark)")])
    dark_start = CSS.index("@media (prefers-color-scheme: dark)")
    dark_block = CSS[dark_start:CSS.index("\n}\n", dark_start)]
    return {"light": light, "dark": {**light, **_variables(dark_block)}}


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_matches_wcag_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the classic AA grey


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_pair_meets_wcag_aa(theme):
    palette = themes()[theme]
    too_low = [f"--{fg} on --{bg}: {contrast(palette[fg], palette[bg]):.2f} < {minimum}"
               for fg, bg, minimum in PAIRS if contrast(palette[fg], palette[bg]) < minimum]
    assert not too_low, f"{theme} theme: " + "; ".join(too_low)


def test_the_dark_theme_redefines_every_colour_it_needs():
    light, dark = themes()["light"], _variables(CSS[CSS.index("@media (prefers-color-scheme: dark)"):])
    colours = {name for pair in PAIRS for name in pair[:2]}
    assert colours <= set(light)
    assert colours - {"on-fill", "primary-fill", "danger-fill"} <= set(dark), "a light colour leaks into the dark theme"
