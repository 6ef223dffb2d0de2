// Customers' refund requests: approve (the refund is made) or reject, each with an optional note.

import { el, fillTable, formValues, shortTime } from "./dom.js";
import { failure, gql } from "./gql.js";

const PAGE = 10; // each request's payment is one alias below: stay under the API's alias limit (15)
const QUERY = `query RefundRequests($first: Int, $filter: RefundRequestFilterInput) {
  refundRequests(first: $first, filter: $filter) {
    edges { node { id legacyId paymentId status reason decisionNote createdAt decidedAt amount { formatted } } }
  }
}`;
const PAYMENT = "{ ... on Payment { number amountRefunded { formatted } } }";
const DECIDE = (name) => `mutation Decide($input: RefundRequestDecisionInput!) {
  ${name}(input: $input) {
    __typename
    ... on RefundRequestDecision { request { id status } }
    ... on Error { code message }
  }
}`;

export class RequestsPanel {
  constructor(form, table, { onDecided, report }) {
    Object.assign(this, { form, table, onDecided, report });
  }

  async load() {
    const status = formValues(this.form).status;
    const data = await gql(QUERY, { first: PAGE, filter: { status: status ? [status] : null } });
    const requests = data.refundRequests.edges.map((e) => e.node);
    const payments = await this.payments(requests);
    fillTable(this.table, [
      ["Request", (r) => String(r.legacyId)],
      ["Payment", (r) => payments[r.paymentId]?.number ?? r.paymentId],
      ["Amount", (r) => r.amount.formatted],
      ["Refunded so far", (r) => payments[r.paymentId]?.amountRefunded.formatted ?? ""],
      ["Reason", (r) => r.reason],
      ["Status", (r) => r.status],
      ["Asked", (r) => shortTime(r.createdAt)],
      ["Decision", (r) => (r.status === "PENDING" ? this.actions(r) : (r.decisionNote ?? shortTime(r.decidedAt)))],
    ], requests, "No refund request.");
  }

  // The requests' payments in one query, one aliased `node` each.
  async payments(requests) {
    const ids = [...new Set(requests.map((r) => r.paymentId))];
    if (!ids.length) return {};
    const params = ids.map((_, i) => `$p${i}: ID!`).join(", ");
    const fields = ids.map((_, i) => `p${i}: node(id: $p${i}) ${PAYMENT}`).join("\n");
    const data = await gql(`query RequestPayments(${params}) { ${fields} }`,
      Object.fromEntries(ids.map((id, i) => [`p${i}`, id])));
    return Object.fromEntries(ids.map((id, i) => [id, data[`p${i}`]]));
  }

  actions(request) {
    const note = el("input", { name: "note", placeholder: "note (optional)", "aria-label": "Decision note" });
    const decide = (name) => async (event) => {
      event.target.disabled = true;
      try {
        const data = await gql(DECIDE(name), { input: { id: request.id, note: note.value.trim() || null } });
        const problem = failure(data[name]);
        this.report(problem ? `Refund request ${request.legacyId}: ${problem}` :
          `Refund request ${request.legacyId}: ${data[name].request.status.toLowerCase()}`, Boolean(problem));
        await this.onDecided();
      } catch (error) {
        this.report(error.message, true);
      } finally {
        event.target.disabled = false;
      }
    };
    return el("span", { class: "actions" }, note,
      el("button", { type: "button", class: "approve", onclick: decide("refundRequestApprove") }, "Approve"),
      el("button", { type: "button", class: "reject", onclick: decide("refundRequestReject") }, "Reject"));
  }
}
