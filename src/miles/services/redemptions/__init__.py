"""Award redemptions: quote, request (a pending hold and the booking saga), read, cancel, sweep.

Importing this package registers its background jobs (miles.redemptions.*).
"""

from miles.services.redemptions import cancellation, saga, sweeper  # noqa: F401  (they register jobs)
