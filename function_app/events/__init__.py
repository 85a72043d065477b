"""Visit events out of the service: webhooks (webhooks.py: subscriptions, deliveries.py: their delivery)."""
