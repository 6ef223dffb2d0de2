// Disputes (chargebacks): what the bank disputes, what was withheld for it, and the evidence deadline.

import { el, fillTable, formValues, shortTime } from "./dom.js";
import { gql } from "./gql.js";

const QUERY = `query Disputes($first: Int, $filter: DisputeFilterInput) {
  disputes(first: $first, filter: $filter) {
    totalCount
    edges { node { legacyId provider providerRef status reason evidenceDueBy createdAt closedAt
                   amount { formatted } withheld { formatted } payment { number } } }
  }
}`;

export async function loadDisputes(form, table) {
  const status = formValues(form).status;
  const data = await gql(QUERY, { first: 50, filter: { status: status ? [status] : null } });
  fillTable(table, [
    ["Dispute", (d) => `${d.provider} ${d.providerRef}`],
    ["Payment", (d) => d.payment?.number ?? ""],
    ["Amount", (d) => d.amount.formatted],
    ["Withheld", (d) => d.withheld.formatted],
    ["Status", (d) => el("span", { class: `status ${d.status.toLowerCase()}` }, d.status)],
    ["Reason", (d) => d.reason ?? ""],
    ["Evidence due", (d) => shortTime(d.evidenceDueBy)],
    ["Opened", (d) => shortTime(d.createdAt)],
  ], data.disputes.edges.map((e) => e.node), "No dispute.");
  table.dataset.total = String(data.disputes.totalCount);
}
