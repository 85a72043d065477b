"""Visit events: what happened to a visit (started, named, ended), kept in a dated log that clients read
from a cursor (`GET /api/events`) and queued for delivery to webhooks (webhooks.py: the subscriptions,
deliveries.py: their delivery)."""
