"""Disputes (chargebacks and inquiries): the model and its one use case, `record_dispute`, which
every provider's webhook calls with a `DisputeNews` (service.py)."""
from domain.disputes.model import Dispute, DisputeStatus
from domain.disputes.service import DisputeNews, LostDisputes, record_dispute

__all__ = ["Dispute", "DisputeNews", "DisputeStatus", "LostDisputes", "record_dispute"]
