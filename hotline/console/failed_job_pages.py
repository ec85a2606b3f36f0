"""The failed-job list (失败任务) for supervisors and admins: what could not be done, why, and
that the sweep retries it (see hotline/failed_jobs.py). Read-only: fixing the cause is the
operator's part, the retry is automatic."""

from flask import render_template
from flask_babel import lazy_gettext as _l

from hotline import failed_jobs, permissions
from hotline.console import bp
from hotline.console.guard import allowed

# What each job does, as the duty supervisor knows it.
KINDS = {
    "process_inbound_sms": _l("市民短信"),
    "process_survey_key": _l("电话回访按键"),
    "callback_survey": _l("短信回访"),
    "callback_followup": _l("回访跟进"),
    "deliver_message": _l("发送短信/外呼"),
    "fire_timer": _l("时限提醒"),
    "reapply_status": _l("Twilio 状态回执"),
    "voice_survey": _l("电话回访"),
}




@bp.route("/failed-jobs")
@allowed(permissions.sees_failed_job_list)
def failed_jobs_page():
    try:
        jobs, error = failed_jobs.listed(), None
    except Exception as exc:  # Redis down: say so instead of failing the page
        jobs, error = [], f"{type(exc).__name__}: {exc}"
    return render_template("console/failed_jobs.html", jobs=jobs, kinds=KINDS, error=error,
                           retry_minutes=failed_jobs.RETRY_AFTER.seconds // 60)
