"""What every model family shares: results and status, noise laws, schedules, input validation, caching.

Nothing in ``core`` knows about a particular model family or optimizer.
"""
