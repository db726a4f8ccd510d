"""Figure style: sizes for a page and a column, a minimum font size, and a palette that holds
for colour-blind readers and in greyscale.

* Sizes: :data:`PAGE_WIDTH_IN` = 6.48 in (468.3 pt) is just below ``\\textwidth`` of a two-column
  ``article`` on letter paper (469 pt, measured with pdflatex), where ``tex/figure-<id>.tex``
  places a page figure (``figure*``, full text width), so it prints at 100.1 %;
  :data:`COLUMN_WIDTH_IN` = 3.17 in (229.1 pt) is one column: the single-panel figures and the
  column versions of the two-panel ones (``figures/<id>-column.*``, panels stacked), just below
  the narrowest common column, the standard ``article`` class's two-column 229.5 pt, so at
  ``\\columnwidth`` it prints at 100.2 % there and larger in wider columns (ACM acmart documents
  241 pt, IEEEtran 252 pt): a 7 pt text never prints below 7 pt
  (``tests/reports/test_latex_paper.py`` measures both widths with TeX).
* Fonts: every text of a figure is at least :data:`MIN_FONT_PT` = 7 pt at the drawn size
  (``tests/reports/test_figures.py`` checks each text artist), hence at the printed size.
* Colours: the Okabe-Ito palette (M. Okabe and K. Ito, "Color Universal Design", 2002;
  B. Wong, "Points of view: Color blindness", Nature Methods 8:441, 2011), designed to stay
  distinct for protanopia, deuteranopia and tritanopia. Colour is never the only cue: each
  series also has its own line style and marker (:data:`SERIES_STYLES`,
  :data:`FORMAT_LINESTYLES`, :data:`FORMAT_MARKERS`), which survive greyscale printing.
"""

from __future__ import annotations

__all__ = ["PAGE_WIDTH_IN", "COLUMN_WIDTH_IN", "MIN_FONT_PT", "OKABE_ITO", "FORMAT_COLOURS",
           "FORMAT_LINESTYLES", "FORMAT_MARKERS", "SERIES_STYLES", "series_style"]

PAGE_WIDTH_IN = 6.48
COLUMN_WIDTH_IN = 3.17
MIN_FONT_PT = 7.0

#: Okabe-Ito (Wong 2011), as hex sRGB
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9",
             "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
             "vermillion": "#D55E00", "reddish purple": "#CC79A7"}

FORMAT_COLOURS = {"float16": OKABE_ITO["vermillion"], "bfloat16": OKABE_ITO["reddish purple"],
                  "float32": OKABE_ITO["bluish green"], "float64": OKABE_ITO["blue"]}
FORMAT_LINESTYLES = {"float16": "-", "bfloat16": (0, (5, 1.5)), "float32": (0, (1.5, 1.2)),
                     "float64": (0, (5, 1.5, 1.5, 1.5))}
FORMAT_MARKERS = {"float16": "o", "bfloat16": "s", "float32": "^", "float64": "D"}

#: (colour, line style, marker) for the n-th series of a figure
SERIES_STYLES = ((OKABE_ITO["blue"], "-", "o"), (OKABE_ITO["vermillion"], (0, (5, 1.5)), "s"),
                 (OKABE_ITO["bluish green"], (0, (1.5, 1.2)), "^"),
                 (OKABE_ITO["reddish purple"], (0, (5, 1.5, 1.5, 1.5)), "D"),
                 (OKABE_ITO["orange"], (0, (3, 1, 1, 1, 1, 1)), "v"),
                 (OKABE_ITO["sky blue"], "-", "P"))


def series_style(n: int) -> dict:
    """``plot`` keywords (color, linestyle, marker) of the n-th series; markers every few
    points (``markevery``) so that they mark the line without hiding it."""
    colour, linestyle, marker = SERIES_STYLES[n % len(SERIES_STYLES)]
    return {"color": colour, "linestyle": linestyle, "marker": marker, "markersize": 3.5,
            "markevery": 0.1, "markerfacecolor": "white", "markeredgewidth": 0.9}
