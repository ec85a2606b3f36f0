"""Signing in and out of the console, and its language."""

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user
from werkzeug.datastructures import MultiDict

from hotline import auth, signin
from hotline.console import LANG_COOKIE, LANGUAGES, bp, forms
from hotline.console.helpers import safe_next
from hotline.errors import HotlineError
from hotline.extensions import db


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The console door of the one sign-in policy (hotline.signin), with a server-side session."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("console.home"))
        return render_template("console/login.html", form=forms.FormState(values=request.args))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    state = forms.FormState(values=MultiDict({"username": username}))
    try:
        account = signin.authenticate(username, password)
    except signin.TooManyAttempts as error:
        db.session.rollback()
        state.message = error.message
        return render_template("console/login.html", form=state), 429, {
            "Retry-After": str(error.retry_after)}
    except HotlineError as error:
        db.session.commit()  # a legacy hash upgraded on the way is harmless; nothing else changed
        state.message = error.message
        if not username:
            state.errors["username"] = [gettext("此项为必填项")]
        return render_template("console/login.html", form=state), 401
    session.clear()  # a fresh session: nothing from before the login survives
    session[auth.CONSOLE_SESSION_KEY] = auth.start_session(account, auth.SessionKind.CONSOLE)
    db.session.commit()
    login_user(account)
    session.permanent = True
    return redirect(safe_next(request.args.get("next"), url_for("console.home")))


@bp.post("/logout")
def logout():
    """End this console session on the server too: a saved cookie is worthless afterwards."""
    secret = session.get(auth.CONSOLE_SESSION_KEY)
    if secret:
        auth.end_session(secret)
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    response = redirect(safe_next(request.args.get("next"), url_for("console.home")))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response
