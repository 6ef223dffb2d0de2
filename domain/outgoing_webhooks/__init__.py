"""Outgoing webhooks for merchants: events written with the changes that cause them (an outbox),
endpoints admins register, and deliveries signed by the Standard Webhooks specification."""
