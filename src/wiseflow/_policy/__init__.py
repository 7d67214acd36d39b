"""Who a plugin is and what it may do: identity, approval, ``wiseflow.lock``, grants,
the static audit, the broker that enforces grants, redaction and operator settings.
"""
