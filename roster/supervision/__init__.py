"""Supervision planning: agreements, group series, a year's sessions by rule, changes,
case reviews and compliance (council supervision procedure and practice guidance).

Pure rules live in :mod:`~roster.supervision.rules` and
:mod:`~roster.supervision.workdays`; services take an injected session and a clock.
"""
