"""Outgoing webhooks (docs/integration.md Additions): subscriptions, delivery log, retries, a test send."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import subscriptions
from hotline.api import committed
from hotline.auth import current_user
from hotline.subscriptions import DeliveryStatus

blp = Blueprint("subscriptions", __name__, url_prefix="/api/v1/subscriptions",
                description="Outgoing webhooks to county and provincial systems (Standard Webhooks)")
SECURITY = [{"bearer": []}]
URL = {"schemes": {"http", "https"}, "require_tld": False, "validate": validate.Length(max=2000)}
EVENT = fields.String(validate=validate.Length(min=1, max=64))
EVENTS = {"description": "event types wanted (ticket.dispatched, timer.overdue, ...) or [\"*\"] for all"}
SECRET = {"description": "whsec_ + base64 of 24-64 bytes; generated when absent; shown only once"}


def refusals(view):
    """The refusals every route may answer, with their stable `error` codes (the default
    error schema does not list `error`)."""
    view = blp.alt_response(403, description="Not an admin (subscription.forbidden)")(view)
    view = blp.alt_response(404, description="No such subscription or delivery")(view)
    view = blp.alt_response(409, description="Inactive subscription, or the delivery has not failed")(view)
    return blp.alt_response(422, description="Unknown unit or event type, or a bad secret")(view)


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


@blp.route("", methods=["POST"])
@blp.arguments(SubscriptionIn())
@blp.response(201, SubscriptionCreatedOut)
@blp.doc(security=SECURITY)
@refusals
@committed
def create_subscription(body):
    """A new subscription (admin); the secret is in this answer only."""
    return subscriptions.create(current_user(), body)


@blp.route("", methods=["GET"])
@blp.response(200, SubscriptionOut(many=True))
@blp.doc(security=SECURITY)
@refusals
@committed
def list_subscriptions():
    return subscriptions.visible(current_user())


@blp.route("/<int(max=2147483647):sub_id>", methods=["GET"])
@blp.response(200, SubscriptionOut)
@blp.doc(security=SECURITY)
@refusals
@committed
def get_subscription(sub_id):
    return subscriptions.get(current_user(), sub_id)


@blp.route("/<int(max=2147483647):sub_id>", methods=["PATCH"])
@blp.arguments(SubscriptionPatch())
@blp.response(200, SubscriptionOut)
@blp.doc(security=SECURITY)
@refusals
@committed
def update_subscription(body, sub_id):
    """URL, events, secret, description; `active: true` again after a 410 ended it."""
    return subscriptions.update(current_user(), sub_id, body)


@blp.route("/<int(max=2147483647):sub_id>", methods=["DELETE"])
@blp.response(204)
@blp.doc(security=SECURITY)
@refusals
@committed
def delete_subscription(sub_id):
    subscriptions.delete(current_user(), sub_id)


@blp.route("/<int(max=2147483647):sub_id>/deliveries", methods=["GET"])
@blp.arguments(DeliveryArgs(), location="query")
@blp.response(200, DeliveryOut(many=True))
@blp.doc(security=SECURITY)
@refusals
@committed
def list_deliveries(args, sub_id):
    """The delivery log, newest first: status, attempts, last response code and body, time."""
    return subscriptions.deliveries(current_user(), sub_id, args["status"], args["limit"])


@blp.route("/<int(max=2147483647):sub_id>/deliveries/retry", methods=["POST"])
@blp.response(200, DeliveryOut(many=True))
@blp.doc(security=SECURITY)
@refusals
@committed
def retry_failed(sub_id):
    """Every failed delivery of the subscription goes out again (in order, fresh schedule)."""
    return subscriptions.retry(current_user(), sub_id)


@blp.route("/<int(max=2147483647):sub_id>/deliveries/<int(max=2147483647):delivery_id>/retry",
           methods=["POST"])
@blp.response(200, DeliveryOut)
@blp.doc(security=SECURITY)
@refusals
@committed
def retry_one(sub_id, delivery_id):
    """One failed (or cancelled) delivery goes out again now."""
    return subscriptions.retry(current_user(), sub_id, delivery_id)[0]


@blp.route("/<int(max=2147483647):sub_id>/test", methods=["POST"])
@blp.response(202, DeliveryOut)
@blp.doc(security=SECURITY)
@refusals
@committed
def test_send(sub_id):
    """Send a signed `webhook.test` event (see the delivery log for the answer)."""
    return subscriptions.send_test(current_user(), sub_id)
