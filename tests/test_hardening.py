"""Safeguards: security headers, no default secret in production, data retention."""

import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hotline import create_app
from hotline.security import InsecureConfiguration

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/units", "/api/openapi.json"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_production_refuses_the_default_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTLINE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(InsecureConfiguration, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "a-long-random-secret-from-the-environment")
    # A database of its own: the suite's has demo users on the demo password (refused below).
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_retention_anonymises_old_closed_childrens_tickets_only(app, api):
    child = {"phone": "+8613900000099", "name": "张小明", "is_minor": True, "age": 15}
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=SH), tick=False):
        old = api.create(as_user="seat2", desk="children", category="psych_support",
                         content="孩子和父母吵架后离家", caller=child)
        api.act(old["id"], "answer", "seat2", {"answer": "已提供家庭教育指导"})
        api.act(old["id"], "refer", "seat2", {"partner": "xz-shegong", "service": "family_support",
                                              "need": "家庭关系辅导", "contact_route": "电话"},
                expect=409)   # closed tickets take no referrals
        recent_general = api.create(content="路灯坏了")
        api.act(recent_general["id"], "answer", "seat1", {"answer": "已转告"})
    with time_machine.travel(datetime(2026, 11, 1, 10, 0, tzinfo=SH), tick=False):
        api.forget_tokens()
        fresh = api.create(as_user="seat2", desk="children", category="psych_support",
                           content="孩子厌学", caller=child)
        api.act(fresh["id"], "answer", "seat2", {"answer": "已答复"})
    api.forget_tokens()
    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
    dry = subprocess.run([sys.executable, "-m", "hotline.cli", "retention", "--days", "365"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "would anonymise 1" in dry.stdout and old["number"] in dry.stdout
    assert api.ticket(old["id"])["caller"]["phone"] == child["phone"]       # nothing changed yet
    done = subprocess.run([sys.executable, "-m", "hotline.cli", "retention", "--days", "365", "--apply"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "anonymised 1" in done.stdout
    gone = api.ticket(old["id"])
    assert gone["caller"]["phone"] is None and gone["caller"]["name"] is None
    assert "已按保留期限匿名化" in gone["content"] and "离家" not in gone["content"]
    assert (gone["number"], gone["state"], gone["desk"]) == (old["number"], "closed", "children")
    assert api.events(old["id"])[-1]["action"] == "anonymised"
    assert api.ticket(fresh["id"])["caller"]["name"] == child["name"]
    assert api.ticket(recent_general["id"])["content"] == "路灯坏了"
    # Running it again changes nothing.
    again = subprocess.run([sys.executable, "-m", "hotline.cli", "retention", "--days", "365", "--apply"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert "anonymised 0" in again.stdout
