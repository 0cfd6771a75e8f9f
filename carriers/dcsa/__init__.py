"""Carriers that speak DCSA over HTTP (Commercial Schedules 1.0, Booking 2.0, eBL 3.0)."""

from carriers.dcsa.adapter import DcsaCarrier, DcsaSettings, build_dcsa, shipping_instructions
from carriers.dcsa.mapping import parse_booking_notification

__all__ = ["DcsaCarrier", "DcsaSettings", "build_dcsa", "parse_booking_notification", "shipping_instructions"]
