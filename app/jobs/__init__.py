"""Scheduled jobs (DESIGN section 5): ``scheduler.py`` lists them (``scheduler.JOBS``) and wires
them onto APScheduler; a job with work of its own is a module here exposing
``scheduled(settings) -> ScheduledJob``."""
