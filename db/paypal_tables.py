"""PayPal's capture ids, each with the order it captured (providers/paypal/adapter.py's CaptureBook).

Our payments know a PayPal payment by its order id; seed 002's refund path names the capture
instead, and PayPal's capture webhooks name both. The adapter writes every capture id it reads.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class PayPalCaptureRow(SQLModel, table=True):
    __tablename__ = "paypal_captures"

    capture_id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(index=True, max_length=64)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
