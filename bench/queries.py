"""The GraphQL documents the benchmarks send (all within the production limits: depth 10,
15 aliases, 2,000 tokens)."""
from __future__ import annotations

PAGE_SIZE = 100

_MONEY = "{ amount currency decimal formatted }"

# (1) A staff member's list of the newest payments with what a back-office table shows of each:
# the payment, its buyer, its order with lines, and its refunds. bench/baseline.py answers the
# same JSON from one hand-written SQL query.
PAYMENTS_PAGE = f"""
query PaymentsPage($first: Int!) {{
  payments(first: $first) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{
      cursor
      node {{
        id legacyId number status displayStatus provider createdAt
        amount {_MONEY}
        amountRefunded {_MONEY}
        card {{ brand last4 }}
        buyer {{ id email name }}
        order {{
          id number status
          total {_MONEY}
          lines {{ sku name quantity unitPrice {_MONEY} total {_MONEY} }}
        }}
        refunds {{ id number status createdAt amount {_MONEY} }}
      }}
    }}
  }}
}}
"""

# (3) The smallest authenticated read: the caller. One primary-key lookup behind it.
ME = "query Me { me { id email name roles } }"

# (2) A customer's purchase: add one item, check out, pay with the dummy gateway's Visa test card.
CART_SET_ITEM = """
mutation AddItem($productId: ID!) {
  cartSetItem(input: {productId: $productId, quantity: 1}) {
    __typename
    ... on Cart { itemCount }
    ... on Error { code message }
  }
}
"""

CHECKOUT = """
mutation CheckOut {
  checkout {
    __typename
    ... on CheckoutSuccess { order { id number total { amount currency } } }
    ... on Error { code message }
  }
}
"""

PROCESS_PAYMENT = """
mutation Pay($orderId: ID!, $card: CardInput!) {
  processPayment(input: {orderId: $orderId, provider: "dummy", card: $card}) {
    __typename
    ... on Payment { id number status }
    ... on Error { code message }
  }
}
"""

VISA = {"number": "4242 4242 4242 4242", "expMonth": 12, "expYear": 2034, "cvc": "123"}
