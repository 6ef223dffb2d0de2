"""The marketplace: sellers' connected accounts and the life of their money after capture.

    held -> available -> transferred -> in transit -> paid out

  model      connected accounts, holds, transfers, reversals, payouts (plain records)
  connect    the Connect provider port (accounts, onboarding, transfers, reversals, payouts)
  ports      the repository the use cases need (MarketRepository)
  holds      delivery, holds' own state, releasing due holds, staff releasing early
  accounts   creating a seller's connected account, onboarding, its status
  transfers  moving a seller's share of a payment to their connected account; claw-backs
  payouts    paying a seller's connected balance out to their bank; provider events
  debt       a seller's debt (refund or lost dispute after their money left us)
  reconcile  our books per seller against the provider's

The ledger (domain/ledger) is the truth for every amount; the records here say what was asked of
the provider and what it answered, so each movement is booked once, before the provider call
(reserving the money), and undone when the provider refuses.
"""
