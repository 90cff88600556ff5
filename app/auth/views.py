"""Sign-in, sign-out and changing one's own password."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth import service
from app.auth.access import end_session, public, safe_next, start_session
from app.auth.forms import AccountForm, ChangePasswordForm, LoginForm
from app.extensions import limiter
from app.notify import service as notify

bp = Blueprint("auth", __name__)

GENERIC_LOGIN_ERROR = "That email and password do not match an active account."


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _submitted_email() -> str:
    # A second limit per account, so many addresses cannot share one guess budget.
    return "login-email:" + request.form.get("email", "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    _login_rate_limit, methods=["POST"], error_message="Too many sign-in attempts. Wait a minute, then try again."
)
@limiter.limit(
    _login_rate_limit,
    methods=["POST"],
    key_func=_submitted_email,
    error_message="Too many sign-in attempts for this account. Wait a minute, then try again.",
)
def login():
    """Show the sign-in form; on a good password start a session and go on."""
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("main.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    result = service.authenticate(form.email.data, form.password.data)
    if not result.ok:
        return render_template("auth/login.html", form=form, error=GENERIC_LOGIN_ERROR), 401
    # A new session (new cookie, new CSRF token), ended by QM_SESSION_MINUTES idle or QM_SESSION_MAX_HOURS in all.
    start_session(result.user)
    service.adopt_browser_time_zone(result.user.id, form.time_zone.data)
    return redirect(target or url_for("main.index"), code=303)


@bp.post("/logout")
@login_required
def logout():
    """End the session, on the server too, and go back to the sign-in page."""
    service.record_logout(current_user._get_current_object())
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account", methods=["GET", "POST"])
def account():
    """A person's own settings: their name, time zone and alert emails, and the way to change the password."""
    form = AccountForm(obj=current_user)
    if form.validate_on_submit():
        service.set_display_name(current_user.id, form.display_name.data)
        service.set_time_zone(current_user.id, form.time_zone.data)
        service.set_alert_emails(current_user.id, bool(form.alert_emails.data))
        flash("Your settings are saved.", "success")
        return redirect(url_for("auth.account"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/account.html", form=form, email_enabled=notify.email_enabled()), status


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    """Let a signed-in person replace their own password."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = service.change_own_password(current_user.id, form.current.data, form.new.data)
        except service.UserError as error:
            form.current.errors.append(str(error))
        else:
            # The password change ended every session, this one included: start a fresh one.
            start_session(user)
            flash("Your password is changed. Other sessions are signed out.", "success")
            return redirect(url_for("main.index"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status
