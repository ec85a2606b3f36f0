"""Every console request: CSRF on posts, security headers on answers, the audit rows of a
read kept, and the error pages (a domain error in the viewer's language, by its code)."""

from flask import g, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError

from hotline.console import bp, csrf, forms, labels
from hotline.errors import HotlineError
from hotline.extensions import db


@bp.before_request
def _protect():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.after_request
def _no_store(response):
    # Pages show callers' data: never kept by a shared browser's cache.
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.after_request
def _keep_audited_reads(response):
    """A page that read a child's ticket or a referral logged it (referrals.service.audit_read
    notes it in `g.audited_reads`): keep that log. A read changes nothing else, so this commit
    holds only the audit rows."""
    if request.method in ("GET", "HEAD") and response.status_code < 400 and g.get("audited_reads"):
        db.session.commit()
    return response


def error_page(code: int, message: str):
    return render_template("console/error.html", code=code, message=message), code


@bp.errorhandler(CSRFError)
def _csrf_failed(error):
    db.session.rollback()
    return error_page(400, gettext("页面已过期或缺少安全令牌，请刷新页面后重试。"))


@bp.errorhandler(HotlineError)
def _domain_error(error: HotlineError):
    db.session.rollback()
    return error_page(error.code, error.message)


@bp.errorhandler(forms.FormInvalid)
def _bad_arguments(error: forms.FormInvalid):
    db.session.rollback()
    return error_page(422, "；".join(f"{labels.label(labels.FIELDS, name)}：{'，'.join(messages)}"
                                    for name, messages in error.errors.items()))


@bp.errorhandler(403)
def _forbidden(error):
    return error_page(403, gettext("您的角色不能使用此页面。"))


@bp.errorhandler(404)
def _not_found(error):
    return error_page(404, gettext("页面或工单不存在。"))
