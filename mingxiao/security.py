"""The security baseline every response gets: CSRF, cookie flags, headers and error pages.

CSRF protection covers every POST/PUT/PATCH/DELETE (Flask-WTF's CSRFProtect); views never opt
out. Headers are added in ``after_request``, which Flask also runs for error-handler
responses, so 404 and 500 pages carry them too. Error pages are short Chinese sentences that
say what to do next; nothing about the server leaks into them.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
STATIC_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000"

# code → (title, what to do next); the titles and sentences are msgids translated per request.
ERROR_TEXT: dict[int, tuple[Any, Any]] = {
    400: (_l("请求有误"), _l("提交的内容不完整或格式不对。请返回上一页检查后重试。")),
    403: (_l("没有权限"), _l("您的账号无权查看此页面。如需访问，请联系管理员。")),
    404: (_l("页面不存在"), _l("找不到您要的页面，可能已被删除或地址有误。请从首页重新进入。")),
    405: (_l("操作方式不正确"), _l("此页面不支持这种操作方式。请通过页面上的按钮操作。")),
    413: (_l("文件太大"), _l("上传的文件超过了大小限制。请压缩或拆分后重新上传。")),
    429: (_l("操作太频繁"), _l("短时间内尝试次数过多。请稍等几分钟再试。")),
    500: (
        _l("系统出错了"),
        _l("服务器处理请求时出错，错误已记录。请稍后重试；如果问题持续，请联系管理员。"),
    ),
}
CSRF_TEXT = (
    _l("页面已过期"),
    _l(
        "为保护您的账号，表单在一段时间后失效，或浏览器没有发送安全令牌。请刷新页面后重新提交；如仍失败，请确认浏览器允许本网站的 Cookie。"
    ),
)
PLAIN_500 = "500 系统出错了，请稍后重试。 / Internal error, please try again later.\n"


def init_app(app: Flask) -> None:
    """Install CSRF protection, proxy handling, security headers and the error pages."""
    CSRFProtect(app)
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )
    app.after_request(add_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)


def _user_is_authenticated() -> bool:
    if getattr(current_app, "login_manager", None) is None:
        return False
    try:
        from flask_login import current_user

        return bool(current_user.is_authenticated)
    except Exception:  # the user loader itself may be what failed; stay on the safe side
        return True


def add_security_headers(response: Response) -> Response:
    """Add the fixed headers, HSTS behind TLS, and ``no-store`` for personal responses."""
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("TLS"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    personal = session.modified or "Set-Cookie" in response.headers
    if request.endpoint != "static" and (personal or _user_is_authenticated()):
        response.headers["Cache-Control"] = "no-store"
    return response


def _wants_json() -> bool:
    """Only a client that asks for JSON first (a script, not a browser) gets a JSON error."""
    return request.accept_mimetypes.best == "application/json"


def _render_error(
    code: int, title: Any, message: Any, original: HTTPException | None = None
) -> Response:
    if _wants_json():
        response = jsonify(error=code, title=str(title), message=str(message))
    else:
        response = Response(
            render_template(
                "errors/error.html", code=code, title=title, message=message, minimal=code >= 500
            )
        )
    response.status_code = code
    if original is not None:
        # Keep headers like Allow (405) and Retry-After (429) from the original exception.
        for name, value in original.get_headers():
            if name.lower() not in {"content-type", "content-length"}:
                response.headers[name] = value
    return response


def _csrf_error(exc: CSRFError) -> Response:
    return _render_error(400, *CSRF_TEXT, original=exc)


def _http_error(exc: HTTPException) -> BaseResponse:
    code = exc.code or 500
    if code not in ERROR_TEXT:
        # Any other HTTP status keeps werkzeug's own short page: it has no user data either.
        return exc.get_response()
    return _render_error(code, *ERROR_TEXT[code], original=exc)


def _server_error(exc: InternalServerError) -> Response:
    """The 500 page. If even the page fails (a broken template), fall back to plain text."""
    try:
        return _render_error(500, *ERROR_TEXT[500])
    except Exception:
        log.exception("rendering the 500 page failed")
        return Response(PLAIN_500, status=500, mimetype="text/plain")
