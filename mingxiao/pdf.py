"""HTML → PDF with WeasyPrint, for the printable forms (《人选推荐表》) and the certificates.

WeasyPrint is imported only when a PDF is made, so the site starts (and every other page
works) on a server without it. What it needs besides the Python package — Pango through
cffi, and a font with Chinese glyphs found by fontconfig — is checked before rendering:
:func:`check` lists what is missing and :func:`html_to_pdf` raises :class:`PdfUnavailable`
with that list, which a view turns into a Chinese 503 page instead of a PDF full of empty
boxes (tofu).

Resources are never fetched over the network: the url fetcher serves the app's ``/static/``
files from disk and ``data:`` URLs, and refuses everything else (WeasyPrint then logs a
warning and leaves the resource out). So the same template that a browser shows, with its
``<link rel="stylesheet" href="/static/…">``, renders here without an HTTP round trip.
"""

from __future__ import annotations

import mimetypes
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# Font stacks for pages that are printed both from the browser and through WeasyPrint: the
# Noto CJK names are what fontconfig knows on the server (Debian ``fonts-noto-cjk``); the
# others are what Windows, WPS, macOS and common Linux desktops call their Chinese fonts.
SERIF_STACK = (
    '"Noto Serif CJK SC", "Source Han Serif SC", "Source Han Serif CN", SimSun, "宋体", '
    '"NSimSun", "新宋体", "Songti SC", STSong, "华文宋体", "AR PL UMing CN", serif'
)
SANS_STACK = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Microsoft YaHei", '
    '"微软雅黑", SimHei, "黑体", "PingFang SC", "Hiragino Sans GB", "WenQuanYi Micro Hei", '
    "sans-serif"
)
# A base for relative URLs when the caller has none: never fetched (see static_fetcher).
DEFAULT_BASE_URL = "http://mingxiao.invalid/"
DEFAULT_STATIC_URL_PATH = "/static"

MISSING_WEASYPRINT = "weasyprint"
MISSING_FONTCONFIG = "fontconfig"
MISSING_CJK_FONT = "cjk-font"
# What to install for each missing piece (Debian package names; pip for the Python package).
REMEDY: dict[str, str] = {
    MISSING_WEASYPRINT: "pip install weasyprint; apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0",
    MISSING_FONTCONFIG: "apt-get install fontconfig",
    MISSING_CJK_FONT: "apt-get install fonts-noto-cjk",
}


class PdfUnavailable(RuntimeError):
    """This server cannot make a PDF with Chinese text; ``missing`` names what it lacks
    (:data:`MISSING_WEASYPRINT`, :data:`MISSING_FONTCONFIG`, :data:`MISSING_CJK_FONT`)."""

    def __init__(self, missing: list[str], detail: str = "") -> None:
        self.missing = list(missing)
        self.detail = detail
        remedies = "; ".join(REMEDY[m] for m in self.missing if m in REMEDY)
        super().__init__(
            f"PDF output unavailable, missing: {', '.join(self.missing)}"
            + (f" ({detail})" if detail else "")
            + (f". Install: {remedies}" if remedies else "")
        )


def _import_weasyprint() -> Any:
    """The weasyprint module, or PdfUnavailable when the package or its C libraries are missing
    (a missing Pango makes the import itself fail with OSError)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise PdfUnavailable([MISSING_WEASYPRINT], f"{type(exc).__name__}: {exc}") from exc
    return weasyprint


def cjk_font_families() -> list[str] | None:
    """The font families fontconfig offers for Chinese (``fc-list :lang=zh``); None when
    fontconfig's tools are not installed. Asked each time: fonts can be installed while the
    site runs, and the call takes milliseconds."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run(
            [fc_list, ":lang=zh", "family"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families = {name.strip() for line in out.splitlines() for name in line.split(",")}
    return sorted(f for f in families if f)


def check() -> list[str]:
    """What this server lacks to make PDFs with Chinese text; an empty list when nothing."""
    missing = []
    try:
        _import_weasyprint()
    except PdfUnavailable:
        missing.append(MISSING_WEASYPRINT)
    families = cjk_font_families()
    if families is None:
        missing.append(MISSING_FONTCONFIG)
    elif not families:
        missing.append(MISSING_CJK_FONT)
    return missing


def _static_file(url: str, root: Path | None, prefix: str) -> Path | None:
    """The file under ``root`` that ``url`` names through the static prefix, else None."""
    parts = urlsplit(url)
    if (
        root is None
        or parts.scheme not in ("http", "https", "file")
        or not parts.path.startswith(prefix)
    ):
        return None
    path = (root / unquote(parts.path[len(prefix) :])).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def static_fetcher(
    static_folder: str | Path | None, static_url_path: str = DEFAULT_STATIC_URL_PATH
) -> Any:
    """A WeasyPrint url fetcher that serves ``static_url_path``/… from ``static_folder`` on
    disk (none without a folder) and ``data:`` URLs, and refuses every other URL: no
    network, no other files."""
    weasyprint = _import_weasyprint()
    root = Path(static_folder).resolve() if static_folder else None
    prefix = static_url_path.rstrip("/") + "/"
    urls = weasyprint.urls

    def resolve(url: str) -> tuple[bytes, str | None] | None:
        if url.startswith("data:"):
            return None  # the default fetcher decodes data: URLs without any I/O
        path = _static_file(url, root, prefix)
        if path is None:
            raise ValueError(f"not fetched (only {prefix} files and data: URLs are): {url}")
        return path.read_bytes(), mimetypes.guess_type(path.name)[0]

    if hasattr(urls, "URLFetcher"):  # WeasyPrint ≥ 68: a fetcher class

        class StaticFetcher(urls.URLFetcher):  # type: ignore[name-defined]
            def fetch(self, url: str, headers: Any = None) -> Any:
                found = resolve(url)
                if found is None:
                    return super().fetch(url, headers)
                body, mime = found
                return urls.URLFetcherResponse(
                    url, body, {"Content-Type": mime or "application/octet-stream"}
                )

        return StaticFetcher()

    def fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
        found = resolve(url)
        if found is None:
            return dict(weasyprint.default_url_fetcher(url))
        body, mime = found
        return {"string": body, "mime_type": mime, "redirected_url": url}

    return fetch


def _app_static() -> tuple[str | None, str]:
    """The current Flask app's static folder and URL path, if there is an app context."""
    try:
        from flask import current_app, has_app_context
    except ImportError:  # pragma: no cover - Flask is a dependency of the site
        return None, DEFAULT_STATIC_URL_PATH
    if not has_app_context():
        return None, DEFAULT_STATIC_URL_PATH
    return current_app.static_folder, current_app.static_url_path or DEFAULT_STATIC_URL_PATH


def html_to_pdf(
    html: str,
    base_url: str | None = None,
    *,
    static_folder: str | Path | None = None,
    static_url_path: str | None = None,
    fonts_check: Callable[[], list[str] | None] = cjk_font_families,
) -> bytes:
    """The PDF of ``html`` (A4 unless its CSS says otherwise), fonts embedded.

    Relative URLs resolve against ``base_url``; ``/static/…`` ones are read from
    ``static_folder`` (default: the current Flask app's), nothing else is fetched. Raises
    :class:`PdfUnavailable` when WeasyPrint or a Chinese font is missing.
    """
    weasyprint = _import_weasyprint()
    families = fonts_check()
    if families is None:
        raise PdfUnavailable([MISSING_FONTCONFIG], "fc-list not found")
    if not families:
        raise PdfUnavailable([MISSING_CJK_FONT], "fontconfig lists no font for :lang=zh")
    app_folder, app_path = _app_static()
    folder = static_folder if static_folder is not None else app_folder
    fetcher = static_fetcher(folder, static_url_path or app_path)
    document = weasyprint.HTML(
        string=html, base_url=base_url or DEFAULT_BASE_URL, url_fetcher=fetcher
    )
    pdf = document.write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
