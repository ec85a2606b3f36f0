"""Channels: Twilio voice and SMS, in and out."""
