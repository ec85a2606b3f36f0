"""Outgoing webhooks (docs/integration.md Additions): subscriptions, delivery log, retries, a test send."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import subscriptions
from hotline.api import route
from hotline.auth import current_user
from hotline.subscriptions import DeliveryStatus

blp = Blueprint("subscriptions", __name__, url_prefix="/api/v1/subscriptions",
                description="Outgoing webhooks to county and provincial systems (Standard Webhooks)")
URL = {"schemes": {"http", "https"}, "require_tld": False, "validate": validate.Length(max=2000)}
EVENT = fields.String(validate=validate.Length(min=1, max=64))
EVENTS = {"description": "event types wanted (ticket.dispatched, timer.overdue, ...) or [\"*\"] for all"}
SECRET = {"description": "whsec_ + base64 of 24-64 bytes; generated when absent; shown only once"}


# The refusals every route may answer, with their stable `error` codes (the default error
# schema does not list `error`).
REFUSALS = {403: "Not an admin (subscription.forbidden)", 404: "No such subscription or delivery",
            409: "Inactive subscription, or the delivery has not failed",
            422: "Unknown unit or event type, or a bad secret"}
SUBSCRIPTION = "/<int(max=2147483647):sub_id>"


class SubscriptionIn(ma.Schema):
    url = fields.Url(required=True, **URL)
    unit = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                         metadata={"description": "the unit whose subtree is pushed; null: centre-wide"})
    events = fields.List(EVENT, load_default=lambda: ["*"], validate=validate.Length(min=1),
                         metadata=EVENTS)
    secret = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                           metadata=SECRET)
    description = fields.String(load_default="", validate=validate.Length(max=200))


class SubscriptionPatch(ma.Schema):
    url = fields.Url(**URL)
    unit = fields.String(allow_none=True, validate=validate.Length(max=64))
    events = fields.List(EVENT, validate=validate.Length(min=1), metadata=EVENTS)
    secret = fields.String(validate=validate.Length(max=200), metadata=SECRET)
    description = fields.String(validate=validate.Length(max=200))
    active = fields.Boolean()


class SubscriptionOut(ma.Schema):
    id = fields.Integer()
    url = fields.String()
    unit = fields.Function(lambda s: s.unit.code if s.unit else None)
    events = fields.List(fields.String())
    description = fields.String()
    active = fields.Boolean()
    ended_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


class SubscriptionCreatedOut(SubscriptionOut):
    secret = fields.String(metadata={"description": "shown in this answer only"})


class DeliveryOut(ma.Schema):
    id = fields.Integer()
    subscription = fields.Integer(attribute="subscription_id")
    ticket = fields.Integer(attribute="ticket_id", allow_none=True)
    msg_id = fields.String(metadata={"description": "the webhook-id header (the same on every attempt)"})
    type = fields.String(attribute="event_type")
    status = fields.Function(lambda d: d.status.value)
    attempts = fields.Integer()
    response_code = fields.Integer(allow_none=True)
    response_body = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    body = fields.String(attribute="payload")


class DeliveryArgs(ma.Schema):
    status = fields.Enum(DeliveryStatus, by_value=True, load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


@route(blp, "", "POST", body=SubscriptionIn(), out=SubscriptionCreatedOut, status=201, refusals=REFUSALS,
       commit=True)
def create_subscription(body):
    """A new subscription (admin); the secret is in this answer only."""
    return subscriptions.create(current_user(), body)


@route(blp, "", out=SubscriptionOut(many=True), refusals=REFUSALS, commit=True)
def list_subscriptions():
    return subscriptions.visible(current_user())


@route(blp, SUBSCRIPTION, out=SubscriptionOut, refusals=REFUSALS, commit=True)
def get_subscription(sub_id):
    return subscriptions.get(current_user(), sub_id)


@route(blp, SUBSCRIPTION, "PATCH", body=SubscriptionPatch(), out=SubscriptionOut, refusals=REFUSALS,
       commit=True)
def update_subscription(body, sub_id):
    """URL, events, secret, description; `active: true` again after a 410 ended it."""
    return subscriptions.update(current_user(), sub_id, body)


@route(blp, SUBSCRIPTION, "DELETE", status=204, refusals=REFUSALS, commit=True)
def delete_subscription(sub_id):
    subscriptions.delete(current_user(), sub_id)


@route(blp, f"{SUBSCRIPTION}/deliveries", query=DeliveryArgs(), out=DeliveryOut(many=True), refusals=REFUSALS,
       commit=True)
def list_deliveries(args, sub_id):
    """The delivery log, newest first: status, attempts, last response code and body, time."""
    return subscriptions.deliveries(current_user(), sub_id, args["status"], args["limit"])


@route(blp, f"{SUBSCRIPTION}/deliveries/retry", "POST", out=DeliveryOut(many=True), refusals=REFUSALS,
       commit=True)
def retry_failed(sub_id):
    """Every failed delivery of the subscription goes out again (in order, fresh schedule)."""
    return subscriptions.retry(current_user(), sub_id)


@route(blp, f"{SUBSCRIPTION}/deliveries/<int(max=2147483647):delivery_id>/retry", "POST", out=DeliveryOut,
       refusals=REFUSALS, commit=True)
def retry_one(sub_id, delivery_id):
    """One failed (or cancelled) delivery goes out again now."""
    return subscriptions.retry(current_user(), sub_id, delivery_id)[0]


@route(blp, f"{SUBSCRIPTION}/test", "POST", out=DeliveryOut, status=202, refusals=REFUSALS, commit=True)
def test_send(sub_id):
    """Send a signed `webhook.test` event (see the delivery log for the answer)."""
    return subscriptions.send_test(current_user(), sub_id)
