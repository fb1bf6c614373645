"""Seeded generator of a realistic online-shop clickstream with planted personas.

The sample gives the app something to analyse before the analyst has data of their
own, and gives the tests and benchmarks a data set whose answer is known: every user
belongs to a planted persona (plus a few bots), some regular users churn near the end
of the period after their visits fade, and a separate A/B-test table carries a planted,
persona-dependent lift in conversion.

Everything is vectorised with numpy: users, sessions and events are drawn as whole
arrays, so 200,000 users (about 11 million events) take seconds, not minutes. The only
Python loops run over personas or over a handful of columns.

How the clickstream is built
----------------------------
1. Users get a persona, a preferred device and category, and an activity window in
   whole calendar days (dormant users stop early, new visitors start late).
2. Each user gets a Poisson number of sessions (the persona's rate times a per-user
   gamma activity multiplier); session start days follow a weekly rhythm and start
   hours a 24-hour profile, both tilted per persona (weekend readers, night owls).
3. Each session gets a type (bounce, browse, content, cart abandon, purchase, bot), a
   body of browsing events (starting with a ``page_view``) and, for cart sessions, a
   tail ``product_view, add_to_cart, ..., page_view /cart, checkout, [coupon_use],
   purchase``.
4. Gaps inside a session are seconds to a few minutes (at most 5 minutes); sessions of
   one user are at least an hour apart, so a 30-minute sessionizer recovers them.
5. Churn: some regular users (loyal customers, bargain hunters, cart abandoners,
   content explorers; more often the ones who abandoned more carts than is usual for
   their persona) leave for good on a churn day in the last four weeks. In the four
   weeks before it their visits get shallower (most end on the landing page) and in the
   last three the session rate falls to zero; nothing of theirs is on or after the day.
   The stage has its own random stream and only takes events away, so the users who
   stay keep exactly the events they would have without it.
6. A little tracking noise is added: exact duplicate rows and "double fires" (the same
   event again 0.1-0.9 s later).

The ground truth (persona and churn day per user) is returned separately and never
appears in the event log.

Modules
-------
``profiles``
    Persona, event, session-type, category and device vocabularies; persona profiles.
``population``
    The period's whole days and the users (step 1).
``sessions``
    Sessions per user, their start, type and shape; placement (steps 2-4).
``events``
    Event types and timing inside the sessions (steps 3-4), tracking noise (step 6).
``churn``
    Who churns, on which day, and which of their sessions survive the fade (step 5).
``pages``
    Device, category, product, page, time on page, scroll depth and order value.
``experiment``
    The A/B-test table.
``generator``
    :func:`generate_sample` and :func:`write_sample`, which run the stages in order.
``draws``
    Vectorised drawing helpers.

Only the names below are the package's public API.
"""

from core.data.sample.generator import (
    SampleData,
    SampleDataArgumentError,
    generate_sample,
    write_sample,
)
from core.data.sample.profiles import BOT, CATEGORIES, EVENT_TYPES, PERSONAS

__all__ = [
    "BOT",
    "CATEGORIES",
    "EVENT_TYPES",
    "PERSONAS",
    "SampleData",
    "SampleDataArgumentError",
    "generate_sample",
    "write_sample",
]
