"""File-exchanging carriers: allocation sheets in, bookings and manifests out."""

from carriers.feed.adapter import FeedCarrier, FeedSettings, build_feed

__all__ = ["FeedCarrier", "FeedSettings", "build_feed"]
