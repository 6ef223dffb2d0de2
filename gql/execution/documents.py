"""Documents already parsed and validated for a schema, by their text: what lets an HTTP view
answer a query it has seen before without Strawberry's per-request parse, validation and schema
extensions (paygate/graphql_direct.py).

A document is remembered by its schema's execution context (gql/execution/context.py) when it
builds an executor for a query operation and finds a compiled plan for it. Strawberry builds an
executor only once the document has been parsed (under MaxTokensLimiter) and has passed
validation with no errors, under every rule of the schema (gql/schema/limits.py: depth, aliases,
storable strings, no introspection in production); validation reads the document alone, never
the variables or the caller, so the same text is valid for every later request. A bounded LRU,
like Strawberry's ParserCache and ValidationCache.
"""
from __future__ import annotations

from collections import OrderedDict

from graphql import DocumentNode


class KnownDocuments:
    def __init__(self, max_documents: int = 256) -> None:
        self.max_documents = max_documents
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()

    def remember(self, document: DocumentNode) -> None:
        loc = document.loc
        if loc is None:  # built without locations: no text to know it by
            return
        text = loc.source.body
        if self._documents.get(text) is document:
            return
        self._documents[text] = document
        if len(self._documents) > self.max_documents:
            self._documents.popitem(last=False)

    def get(self, text: str) -> DocumentNode | None:
        document = self._documents.get(text)
        if document is not None:
            try:
                self._documents.move_to_end(text)
            except KeyError:  # forgotten meanwhile (another thread's remember)
                pass
        return document

    def __len__(self) -> int:
        return len(self._documents)
