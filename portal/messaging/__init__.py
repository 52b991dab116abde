"""Outbound text messages for every capability: outbox, delivery loop, gateway, segment maths."""
