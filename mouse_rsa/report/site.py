"""Writing the site: Jinja2 templates rendered into a staging folder that replaces OUT whole when done.

Every asset is shipped with the package (``assets/``: the stylesheet, the page script, the vendored
Vega, Vega-Lite and vega-embed builds) or inlined (the font, as a data URI, because browsers refuse
fonts from ``file://`` URLs), so the site works opened from disk with no network.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from . import charts, content, labels, provenance
from .tables import make_table

ASSETS = Path(__file__).resolve().parent / "assets"
PAGES = {"index.html": "Leaderboard", "models.html": "Models", "compare.html": "Compare two models",
         "analysis.html": "Analyses", "about.html": "How this was made"}


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("mouse_rsa.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["json_script"] = lambda value: json.dumps(value, allow_nan=False).replace("</", "<\\/")
    env.globals.update(label=labels.label, describe=labels.describe, pages=PAGES)
    return env


def font_css() -> str:
    """@font-face rules with the Atkinson Hyperlegible regular and bold faces inlined (OFL-1.1)."""
    import fontpkg_atkinson_hyperlegible as font

    rules = []
    for weight, name in ((400, "Regular"), (700, "Bold")):
        data = base64.b64encode((font.ROOT / "files" / f"AtkinsonHyperlegible-{name}.ttf").read_bytes()).decode()
        rules.append(f"@font-face {{ font-family: 'Atkinson Hyperlegible'; font-weight: {weight}; "
                     f"src: url(data:font/ttf;base64,{data}) format('truetype'); }}")
    return "\n".join(rules) + "\n"


@contextlib.contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """A fresh folder beside ``final`` that replaces ``final`` only if the block succeeds, so a reader
    never sees a half-written site; on failure nothing changes."""
    if final.exists() and not final.is_dir():
        raise InvalidInput(f"output {final} is a file; choose a directory", argument="output")
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield stage
        stage.chmod(0o777 & ~_umask())
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=final.parent))
            os.replace(final, old / final.name)
            os.replace(stage, final)
            shutil.rmtree(old)
        else:
            os.replace(stage, final)
    finally:
        if stage.exists():
            shutil.rmtree(stage)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _copy_assets(out: Path) -> None:
    shutil.copytree(ASSETS, out / "assets", ignore=shutil.ignore_patterns("*.md", "__pycache__"))
    css = out / "assets" / "site.css"
    css.write_text(font_css() + css.read_text())


def _copy_figures(res: content.Results, out: Path) -> list[dict[str, str]]:
    """The PNG figures under DIR/figures, copied beside the pages, with their captions."""
    from ..figures import CAPTIONS

    shown = []
    for path in res.figures:
        (out / "figures").mkdir(exist_ok=True)
        shutil.copy2(path, out / "figures" / path.name)
        shown.append({"src": f"figures/{path.name}", "name": path.stem,
                      "caption": CAPTIONS.get(path.stem, path.stem.replace("_", " "))})
    return shown


def _common(res: content.Results, root: str, page: str) -> dict[str, Any]:
    return {"root": root, "page": page, "demo": res.demo, "directory": str(res.directory),
            "built": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def write_site(res: content.Results, out: Path) -> Path:
    """Render every page of ``res`` into ``out`` (replacing what was there); returns OUT/index.html."""
    env = _environment()
    with staged_directory(out) as stage:
        _copy_assets(stage)
        figures = _copy_figures(res, stage)

        def render(name: str, template: str, root: str = "", **context: Any) -> None:
            path = stage / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(env.get_template(template).render(**_common(res, root, name), **context))

        render("index.html", "leaderboard.html.j2", sections=content.leaderboard_sections(res),
               filters=content.filter_choices(res))
        render("models.html", "models.html.j2", models=content.model_index(res))
        for model in sorted(res.board["model"].unique()):
            page = content.model_page(res, model)
            render(f"models/{page.slug}.html", "model.html.j2", root="../", m=page)
        means = content.site_means(res)
        render("compare.html", "compare.html.j2", sites=means.to_dict("records"),
               area_colors=charts.area_scale(means["area"].unique()),
               scopes=list(dict.fromkeys(means["scope"])), tables=content.comparison_tables(res))
        render("analysis.html", "analysis.html.j2", sections=content.analysis_sections(res), summary=res.summary,
               figures=figures)
        render("about.html", "about.html.j2", commands=provenance.commands(res.units, str(res.directory)),
               settings=make_table(provenance.settings_table(res.units), "settings", "settings"), software=provenance.software(),
               vendored=provenance.VENDORED, datasets=sorted(res.board["dataset"].unique()),
               analyzed=bool(res.analysis), has_figures=bool(figures))
    return out / "index.html"
