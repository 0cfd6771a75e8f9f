"""Scheduled jobs (DESIGN section 5): ``scheduler.py`` wires them onto APScheduler; each job is
one module exposing ``scheduled(settings) -> ScheduledJob``, listed in ``scheduler.JOBS``."""
